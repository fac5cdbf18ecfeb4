/* Runs one call to completion on the current thread: sign, send, retry per policy. Used by
 * pool workers and, for sync calls, by the Lua thread itself. */
#ifndef ACS_EXEC_H
#define ACS_EXEC_H

#include "http.h"
#include "task.h"

void acs_exec(acs_http *h, acs_task *t);

#endif
