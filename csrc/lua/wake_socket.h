/* The Lua side of wake.h: runtime:wake_listen() and runtime:wake_shutdown(). */
#ifndef LACS_WAKE_SOCKET_H
#define LACS_WAKE_SOCKET_H

#include <lua.h>

#include "lua_compat.h"

#include "notify.h"

/* The runtime's notify at index i (raises when closed or forked); in runtime_class.c. */
acs_notify *lacs_check_notify(lua_State *L, int i);

int lacs_wake_listen(lua_State *L);
int lacs_wake_shutdown(lua_State *L);

#endif
