/* A pool with a bounded task queue, one per async-enabled client. It carries at most
 * `max_in_flight` calls at once (the Go SDK's pool size) on a few threads, one per core and
 * never more than max_in_flight, each an engine driving its share of the transfers (engine.h).
 * A call backing off before a retry is parked here and holds no transfer. Finished tasks go
 * to the runtime's completion queue (notify). Reference-counted: the Lua handle and every
 * task submitted to it hold one, so a task can be cancelled after its client is gone. */
#ifndef ACS_POOL_H
#define ACS_POOL_H

#include <stddef.h>

#include "notify.h"
#include "task.h"

typedef struct acs_pool acs_pool;

typedef enum { ACS_SUBMIT_OK, ACS_SUBMIT_FULL, ACS_SUBMIT_CLOSED } acs_submit_status;
typedef enum { ACS_SHUTDOWN_DRAIN, ACS_SHUTDOWN_CANCEL } acs_shutdown_mode;

acs_pool *acs_pool_new(acs_notify *done, int max_in_flight, size_t max_queue, char *err,
                       size_t errlen);
void acs_pool_retain(acs_pool *p);
void acs_pool_release(acs_pool *p);

/* Queues t (taking a reference of its own). When the queue is full, waits up to `wait`
 * seconds for room (0: not at all). */
acs_submit_status acs_pool_submit(acs_pool *p, acs_task *t, double wait);

/* Cancels t: a queued task leaves the queue and completes at once; a running one has its
 * transfer aborted. Returns 1 if t had not finished yet. */
int acs_pool_cancel(acs_pool *p, acs_task *t);

/* Stops accepting work; idempotent. DRAIN lets queued work run and returns at once (idle
 * threads stay parked until acs_pool_join);
 * CANCEL completes queued tasks as cancelled, aborts running ones and joins the workers.
 * A later CANCEL upgrades an earlier DRAIN. */
void acs_pool_shutdown(acs_pool *p, acs_shutdown_mode mode);

/* Joins the threads (after a shutdown); the pool then runs nothing. */
void acs_pool_join(acs_pool *p);

int acs_pool_is_closed(acs_pool *p);
size_t acs_pool_queued(acs_pool *p);
int acs_pool_forked(const acs_pool *p);       /* 1 in a forked child: the workers stayed behind */
size_t acs_pool_undelivered(const acs_pool *p); /* submitted, not yet delivered to Lua */

#endif
