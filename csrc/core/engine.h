/* One pool thread's engine: many calls' attempts in flight at once on one libcurl multi
 * handle (its connection cache shared by them, keep-alive per host, no HTTP/1.1 pipelining),
 * driven with curl_multi_socket_action over epoll, so a wake-up costs the transfers that have
 * something to do, not all of them. Not thread-safe except acs_engine_wakeup: the owning
 * thread makes every other call. */
#ifndef ACS_ENGINE_H
#define ACS_ENGINE_H

#include <stddef.h>

#include "http.h"
#include "task.h"

typedef struct acs_engine acs_engine;

/* An attempt that ended: the call is over (`done`), or its next attempt is due after
 * `retry_in` seconds. */
typedef struct {
    acs_task *task;
    int done;
    double retry_in;
} acs_engine_out;

/* An engine for at most `capacity` transfers at once. */
acs_engine *acs_engine_new(int capacity, char *err, size_t errlen);
void acs_engine_free(acs_engine *e);

/* A free transfer context for a call about to start (there must be room: fewer calls
 * reserved than the capacity), or NULL when one cannot be made (out of memory). */
acs_http *acs_engine_reserve(acs_engine *e, char *err, size_t errlen);

/* Starts t's next attempt on h (from acs_engine_reserve, set as t->http). When the attempt
 * ends at once (cancelled, deadline, a request that cannot be built) it is among the next
 * acs_engine_run's outs. */
void acs_engine_start(acs_engine *e, acs_http *h, acs_task *t);

/* Drives the transfers for up to `timeout` seconds (< 0: until something happens) and returns
 * how many attempts ended, in *out (valid until the next call); each one's context is free
 * again. Returns at once when attempts ended already, or on acs_engine_wakeup. */
size_t acs_engine_run(acs_engine *e, double timeout, acs_engine_out **out);

/* Thread-safe: makes a wait in acs_engine_run return (work was queued, or shutdown). */
void acs_engine_wakeup(acs_engine *e);

#endif
