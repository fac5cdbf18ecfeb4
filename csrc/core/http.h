/* An HTTP transfer context: one reused libcurl easy handle and the buffers of its attempts.
 * Either with a multi handle of its own, which acs_http_perform drives on the calling thread
 * (sync calls: connections stay alive between calls, a wait can be woken from another thread),
 * or attached to an engine's multi handle (engine.c), which drives many contexts at once
 * through acs_http_start / acs_http_check / acs_http_end and shares their connections. */
#ifndef ACS_HTTP_H
#define ACS_HTTP_H

#include <stdatomic.h>

#include "request.h"
#include "task.h"

typedef struct acs_http acs_http;

/* curl_global_init once per process, thread-safely; tolerates a host that did it already. */
int acs_http_global_init(char *err, size_t errlen);
/* Releases what acs_http_global_init made; idempotent. Runs at the module's unload, or at
 * exit before OpenSSL's own clean-up once the module stays loaded (pool.c), and only when no
 * transfer is left. */
void acs_http_global_cleanup(void);

acs_http *acs_http_new(char *err, size_t errlen);
/* A context whose transfers join `multi` (a CURLM *, not owned). acs_http_wakeup then raises
 * *attention and writes to wake_fd (an eventfd the engine waits on); `tag` is the engine's. */
acs_http *acs_http_new_attached(void *multi, int wake_fd, atomic_int *attention, int tag,
                                char *err, size_t errlen);
int acs_http_tag(const acs_http *h);
void acs_http_free(acs_http *h);

/* Thread-safe: interrupts a wait inside acs_http_perform or acs_http_sleep, or tells the
 * engine driving h to look at its transfers (a cancellation). */
void acs_http_wakeup(acs_http *h);

/* Performs one attempt. `deadline` is the monotonic time at which the whole call ends
 * (0: none). Fills status, headers, body or an error in res. */
void acs_http_perform(acs_http *h, const acs_request *req, const acs_wire *w, double deadline,
                      atomic_int *cancelled, acs_result *res);

/* acs_http_perform in steps, for a driver of many transfers. start sets up the attempt and
 * adds it to the multi handle: 0, or -1 when it failed at once (res says why; do not end it).
 * `req`, `w` and `res` must stay until acs_http_end. */
int acs_http_start(acs_http *h, const acs_request *req, const acs_wire *w, double deadline,
                   atomic_int *cancelled, acs_result *res);
/* What libcurl does not watch: cancellation and the read timeout. Returns 1 when the attempt
 * must stop now (res says why: then end it unfinished); else sets *next to the monotonic time
 * it must be checked again (0: only when woken). */
int acs_http_check(acs_http *h, double now, double *next);
/* Ends the attempt: `finished` with libcurl's result code (a CURLcode) when libcurl reported
 * it done, 0 when it was stopped. Fills the result and takes the handle out of the multi.
 * A connection left readable after a complete reply is not reused by this context's next
 * attempt, unless `conn_taken`: it already carries another transfer's request (whose reply
 * is what is readable; junk would then fail that transfer as a broken reply, retried). */
void acs_http_end(acs_http *h, int finished, int code, int conn_taken);

/* Sleeps up to `seconds`, returning early on cancellation (used for retry backoff). */
void acs_http_sleep(acs_http *h, double seconds, atomic_int *cancelled);

/* Takes back a result's body buffer once nothing needs its bytes (the body was parsed): the
 * next attempt reads into it. Frees it, or the smaller of it and the one h has. */
void acs_http_keep_body(acs_http *h, acs_buf *body);

#endif
