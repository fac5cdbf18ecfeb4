/* A Lua 5.4 interpreter linked with Debian's static liblua5.4.a, which keeps its internal
 * symbols: under callgrind or perf, Lua's own functions (luaH_resize, internshrstr, the
 * collector's steps) show by name, where /usr/bin/lua5.4 is stripped. For profiling only:
 *
 *   gcc -O2 -g -o /tmp/lua-symbols bench/lua_symbols.c /usr/lib/x86_64-linux-gnu/liblua5.4.a \
 *       -I/usr/include/lua5.4 -lm -ldl -Wl,-E
 *   /tmp/lua-symbols SCRIPT ARGS...     (arg[0] is SCRIPT, as with lua5.4) */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lua-symbols SCRIPT [ARGS...]\n");
        return 2;
    }
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_createtable(L, argc, 0);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");
    int rc = luaL_dofile(L, argv[1]);
    if (rc != LUA_OK)
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return rc == LUA_OK ? 0 : 1;
}
