/* The binding of what operating the module needs: rate limits and attempt traces
 * (csrc/core/ratelimit.h, trace.h) and the SIGINT flag of the command line. */
#ifndef LACS_OPS_H
#define LACS_OPS_H

#include <lua.h>

#include "lua_compat.h"

#include "task.h"

/* The C task of the task userdata at stack index i (task_class.c; raises if released). */
acs_task *lacs_task_of(lua_State *L, int i);

/* Adds ratelimit, observe, attempts, sigint_* to the module table at the top of the stack. */
void lacs_ops_open(lua_State *L);

#endif
