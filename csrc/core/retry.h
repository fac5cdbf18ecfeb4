/* Retry decisions and backoff maths: pure functions of an attempt's result. */
#ifndef ACS_RETRY_H
#define ACS_RETRY_H

#include <stddef.h>

#include "request.h"
#include "task.h"

/* The retry policy's defaults, for calls that do not set their own: the one home of these
 * numbers (the Lua side reads them as core.defaults). */
#define ACS_RETRY_MAX_ATTEMPTS 3   /* attempts in all, the first included */
#define ACS_RETRY_BACKOFF_BASE 0.1 /* seconds: the first wait's ceiling */
#define ACS_RETRY_BACKOFF_CAP 5.0  /* seconds: no wait's ceiling is higher */

typedef enum { ACS_RETRY_NO, ACS_RETRY_YES, ACS_RETRY_THROTTLED } acs_retry_verdict;

/* The service error code in a JSON or XML error body ("Code"), or "" when there is none. */
void acs_error_code_of(const acs_buf *body, char *out, size_t outlen);

/* Whether the attempt that produced `res` may be repeated under `req`'s policy: connection
 * failures before sending, Throttling*, ServiceUnavailable and 503 always; other 5xx, read
 * timeouts and failures after sending only for read-only actions or when unsafe is set. */
acs_retry_verdict acs_retry_decide(const acs_request *req, const acs_result *res);

/* Seconds to wait before attempt number `next_attempt` (2, 3, ...): full jitter over an
 * exponential cap, slower when throttled, at least the server's hint when it gave one.
 * `unit_random` is uniform in [0, 1). */
double acs_retry_backoff(const acs_retry_policy *p, acs_retry_verdict v, int next_attempt,
                         double server_hint, double unit_random);

/* The server's hint in seconds from Retry-After or x-ratelimit-* TimeLeft (ms), else 0. */
double acs_retry_hint(const acs_buf *headers);

#endif
