/* runtime:wake_listen() -> listener: a unix socket for a loop to connect to (listener:path()),
 * whose accepted end (listener:accept()) then gets every wake-up byte of the runtime's pipe.
 * runtime:wake_shutdown(): the connected loop reads end-of-file. See core/wake.h. */
#include "wake_socket.h"

#include <lauxlib.h>

#include "wake.h"

#define LISTENER_MT "alicloud.WakeListener"

typedef struct {
    acs_wake_listener *w;
} lacs_listener;

static lacs_listener *check_listener(lua_State *L)
{
    lacs_listener *l = luaL_checkudata(L, 1, LISTENER_MT);
    if (!l->w)
        luaL_error(L, "alicloud wake listener is closed");
    return l;
}

static int listener_path(lua_State *L)
{
    lua_pushstring(L, acs_wake_path(check_listener(L)->w));
    return 1;
}

/* listener:accept(runtime) -> true, or nil, message. Closes the listener either way. */
static int listener_accept(lua_State *L)
{
    lacs_listener *l = check_listener(L);
    acs_notify *n = lacs_check_notify(L, 2);
    char err[256];
    int rc = acs_wake_accept(l->w, n, err, sizeof err);
    acs_wake_close(l->w);
    l->w = NULL;
    if (rc != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int listener_close(lua_State *L)
{
    lacs_listener *l = luaL_checkudata(L, 1, LISTENER_MT);
    acs_wake_close(l->w);
    l->w = NULL;
    return 0;
}

int lacs_wake_listen(lua_State *L)
{
    lacs_check_notify(L, 1);
    lacs_listener *l = lua_newuserdata(L, sizeof *l);
    l->w = NULL;
    if (luaL_newmetatable(L, LISTENER_MT)) {
        static const luaL_Reg methods[] = {
            {"path", listener_path}, {"accept", listener_accept}, {"close", listener_close},
            {NULL, NULL}};
        lua_newtable(L);
        for (const luaL_Reg *m = methods; m->name; m++) {
            lua_pushcfunction(L, m->func);
            lua_setfield(L, -2, m->name);
        }
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, listener_close);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    char err[256];
    if (!(l->w = acs_wake_listen(err, sizeof err))) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    return 1;
}

int lacs_wake_shutdown(lua_State *L)
{
    acs_wake_shutdown(lacs_check_notify(L, 1));
    return 0;
}
