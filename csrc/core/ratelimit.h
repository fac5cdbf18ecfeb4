/* A client's rate limit: a token bucket shared by the client's calls, taken once per attempt
 * where the call leaves for the network. A call that must wait reserves its place and is
 * parked like a call waiting to retry (DELAYED in a pool, holding no worker; a sync call
 * sleeps), so a fan-out never blocks the Lua thread and waiters go out in turn. */
#ifndef ACS_RATELIMIT_H
#define ACS_RATELIMIT_H

#include "task.h"

typedef struct acs_ratelimit acs_ratelimit;

/* `rate` tokens per second, at most `burst` (>= 1) at once; NULL on out of memory. */
acs_ratelimit *acs_ratelimit_new(double rate, double burst);
void acs_ratelimit_retain(acs_ratelimit *l);
void acs_ratelimit_release(acs_ratelimit *l);

/* Reserves the next token: seconds until it may be used (0: now). Thread-safe. */
double acs_ratelimit_reserve(acs_ratelimit *l);

/* Before an attempt of `t`: 0 to go on now (its token taken), or 1 when the attempt must
 * wait *wait seconds (the caller parks or sleeps, then asks again): first for the place in
 * line it reserved, then, if calls that were late went first, for a token. Does nothing for a
 * task without a rate limit. */
int acs_ratelimit_admit(acs_task *t, double *wait);

/* A call that ends while it holds a place in line (its deadline passed, it was cancelled)
 * gives the place back, so calls that come later do not wait behind it. Nothing for a call
 * without one. The rate stays kept: the token itself is taken only at sending. */
void acs_ratelimit_forgo(acs_task *t);

#endif
