/* Runs a call's attempts: sign, send, decide whether to retry. The pool's engines run one
 * attempt of a call at a time and park the task while it backs off, so a waiting retry holds
 * no transfer slot; sync calls run every attempt on the calling thread. */
#ifndef ACS_EXEC_H
#define ACS_EXEC_H

#include "http.h"
#include "task.h"

/* An attempt's two ends, the one place for what happens before and after each attempt on
 * every path (sync calls, acs_exec_attempt, the engine's transfers).
 *
 * begin: the call's cancellation and deadline, its rate limit, the count, signing: SEND with
 * *w built (send it with h, then call acs_attempt_end), OVER when the call ended without
 * another attempt (t->res is final), or WAIT when its rate limit's token is due only after
 * *wait seconds (park it like a retry, then begin again). */
typedef enum { ACS_ATTEMPT_SEND, ACS_ATTEMPT_OVER, ACS_ATTEMPT_WAIT } acs_attempt_step;
acs_attempt_step acs_attempt_begin(acs_http *h, acs_task *t, acs_wire *w, double *wait);

/* end: after the transfer (t->res holds its outcome); frees *w and decides. Returns 1 when
 * the call is finished (t->res is final), or 0 when another attempt is due after *retry_in
 * seconds. */
int acs_attempt_end(acs_http *h, acs_task *t, acs_wire *w, double *retry_in);

/* The monotonic time the call's total deadline ends (0: none). */
double acs_exec_deadline(const acs_task *t);

/* One attempt, performed on h's own multi handle. Returns as acs_attempt_end. */
int acs_exec_attempt(acs_http *h, acs_task *t, double *retry_in);

/* Every attempt, sleeping between them (sync calls). */
void acs_exec(acs_http *h, acs_task *t);

#endif
