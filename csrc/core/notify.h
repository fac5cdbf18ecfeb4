/* The completion queue of one runtime (one per Lua state) and its wake-up pipe.
 * Any thread pushes finished tasks (without a lock); only the Lua thread pops and wakes. The
 * pipe's read end is readable while results (or a wake-up) wait, and quiet once a delivery
 * has taken everything, so event loops can watch it. Reference-counted: pools and the Lua
 * handle each hold one. */
#ifndef ACS_NOTIFY_H
#define ACS_NOTIFY_H

#include <stddef.h>

#include "task.h"

typedef struct acs_notify acs_notify;

acs_notify *acs_notify_new(char *err, size_t errlen);
void acs_notify_retain(acs_notify *n);
void acs_notify_release(acs_notify *n);     /* frees undelivered tasks at zero */

int acs_notify_fd(const acs_notify *n);         /* read end: poll it for POLLIN */

/* 1 in a forked child of the process that created n: n must not be used there. */
int acs_notify_forked(const acs_notify *n);

/* Takes over the caller's reference to t. Writes one byte only when the queue goes from
 * empty to non-empty. */
void acs_notify_push(acs_notify *n, acs_task *t);

/* acs_notify_push in two steps, so the write can wait until a lock is released: link returns
 * 1 when the queue was empty, and the caller must then signal, soon, with `count` the sum of
 * those 1s. Each one is a batch the Lua thread may already have taken and owes a byte for:
 * one byte for two such links leaves it owing a byte nobody writes, and it later reads the
 * byte of a batch it has not taken, a lost wake-up. */
int acs_notify_link(acs_notify *n, acs_task *t);
void acs_notify_signal(acs_notify *n, int count);

/* Moves up to max finished tasks into out (the caller owns their references), oldest first.
 * Never blocks. A delivery pops until a pop returns 0 or max: the fd is then readable only if
 * more results wait (or, rarely, a worker's byte for what was just delivered lands late: one
 * spurious wake-up). */
size_t acs_notify_pop(acs_notify *n, acs_task **out, size_t max);

/* Makes the fd readable without a task (the Lua side has deferred work to run). */
void acs_notify_wake(acs_notify *n);

/* A connected socket that gets a copy of every byte written to the pipe (wake.h), or -1.
 * Set once, from the Lua thread, before it matters; n owns it then and closes it at release.
 * Replace it only by dup3 onto the same number: workers may be writing to it. */
int acs_notify_signal_fd(const acs_notify *n);
void acs_notify_set_signal_fd(acs_notify *n, int fd);

/* Blocks up to timeout seconds (< 0: forever) until the fd is readable; 1 readable, 0 not. */
int acs_notify_wait(acs_notify *n, double timeout);

#endif
