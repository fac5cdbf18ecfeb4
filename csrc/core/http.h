/* One HTTP transfer context per thread: a libcurl multi handle driving one reused easy
 * handle, so connections stay alive between calls, waits can be woken from another thread
 * (cancel, shutdown) and read timeouts are measured precisely. */
#ifndef ACS_HTTP_H
#define ACS_HTTP_H

#include <stdatomic.h>

#include "request.h"
#include "task.h"

typedef struct acs_http acs_http;

/* curl_global_init once per process, thread-safely; tolerates a host that did it already. */
int acs_http_global_init(char *err, size_t errlen);

acs_http *acs_http_new(char *err, size_t errlen);
void acs_http_free(acs_http *h);

/* Thread-safe: interrupts a wait inside acs_http_perform or acs_http_sleep. */
void acs_http_wakeup(acs_http *h);

/* Performs one attempt. `deadline` is the monotonic time at which the whole call ends
 * (0: none). Fills status, headers, body or an error in res. */
void acs_http_perform(acs_http *h, const acs_request *req, const acs_wire *w, double deadline,
                      atomic_int *cancelled, acs_result *res);

/* Sleeps up to `seconds`, returning early on cancellation (used for retry backoff). */
void acs_http_sleep(acs_http *h, double seconds, atomic_int *cancelled);

/* Takes back a result's body buffer once nothing needs its bytes (the body was parsed): the
 * next attempt reads into it. Frees it, or the smaller of it and the one h has. */
void acs_http_keep_body(acs_http *h, acs_buf *body);

#endif
