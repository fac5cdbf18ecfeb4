/* Runs a call's attempts: sign, send, decide whether to retry. Pool workers run one attempt
 * at a time and park the task while it backs off, so a waiting retry never holds a worker;
 * sync calls run every attempt on the calling thread. */
#ifndef ACS_EXEC_H
#define ACS_EXEC_H

#include "http.h"
#include "task.h"

/* One attempt. Returns 1 when the call is finished (t->res is final), or 0 when another
 * attempt is due after *retry_in seconds. */
int acs_exec_attempt(acs_http *h, acs_task *t, double *retry_in);

/* Every attempt, sleeping between them (sync calls). */
void acs_exec(acs_http *h, acs_task *t);

#endif
