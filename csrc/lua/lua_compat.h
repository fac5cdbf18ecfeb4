/* The part of the Lua 5.4 C API the binding uses, on Lua 5.3, 5.1 and LuaJIT too: one source
 * for every interpreter. Every file of csrc/lua includes this instead of lua.h and lauxlib.h,
 * and the version differences stay here (Lua-side ones are in lua/alicloud/compat.lua).
 * Not Debian's lua-compat53: a luarocks build elsewhere would not find its header. */
#ifndef LACS_LUA_COMPAT_H
#define LACS_LUA_COMPAT_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include <lauxlib.h>
#include <lua.h>

#if LUA_VERSION_NUM < 504
/* One user value at most before 5.4: 5.3's uservalue, 5.1's environment table. */
#define lua_newuserdatauv(L, size, nuv) ((void)(nuv), lua_newuserdata((L), (size)))
/* No to-be-closed slots: callers free on their normal path and in __gc as well. */
#define lua_toclose(L, idx) ((void)(L), (void)(idx))
#endif

#if LUA_VERSION_NUM == 503
static inline int lacs_setiuservalue(lua_State *L, int idx, int n)
{
    (void)n;
    lua_setuservalue(L, idx);
    return 1;
}
static inline int lacs_getiuservalue(lua_State *L, int idx, int n)
{
    (void)n;
    return lua_getuservalue(L, idx);
}
#define lua_setiuservalue lacs_setiuservalue
#define lua_getiuservalue lacs_getiuservalue
#endif

#if LUA_VERSION_NUM == 501 /* Lua 5.1 and LuaJIT */
static inline int lacs_absindex(lua_State *L, int i)
{
    return i > 0 || i <= LUA_REGISTRYINDEX ? i : lua_gettop(L) + i + 1;
}

/* 5.1's reads and pushes return nothing; 5.3's return the type or the string they pushed. */
static inline int lacs_getfield(lua_State *L, int i, const char *k)
{
    lua_getfield(L, i, k);
    return lua_type(L, -1);
}
static inline int lacs_rawgeti(lua_State *L, int i, lua_Integer n)
{
    lua_rawgeti(L, i, (int)n);
    return lua_type(L, -1);
}
static inline const char *lacs_pushlstring(lua_State *L, const char *s, size_t n)
{
    lua_pushlstring(L, s, n);
    return lua_tostring(L, -1);
}
static inline int lacs_rawgetp(lua_State *L, int i, const void *p)
{
    i = lacs_absindex(L, i);
    lua_pushlightuserdata(L, (void *)p);
    lua_rawget(L, i);
    return lua_type(L, -1);
}
static inline void lacs_rawsetp(lua_State *L, int i, const void *p)
{
    i = lacs_absindex(L, i);
    lua_pushlightuserdata(L, (void *)p);
    lua_insert(L, -2);
    lua_rawset(L, i);
}

/* One user value, the userdata's environment table (5.1 wants a table there). */
static inline int lacs_setiuservalue(lua_State *L, int idx, int n)
{
    (void)n;
    return lua_setfenv(L, idx);
}
static inline int lacs_getiuservalue(lua_State *L, int idx, int n)
{
    (void)n;
    lua_getfenv(L, idx);
    return lua_type(L, -1);
}

/* 5.2+ names metatables (__name): generic __tostring reads it. */
static inline int lacs_newmetatable(lua_State *L, const char *name)
{
    if (!luaL_newmetatable(L, name))
        return 0;
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
    return 1;
}
static inline void lacs_setmetatable(lua_State *L, const char *name)
{
    luaL_getmetatable(L, name);
    lua_setmetatable(L, -2);
}
static inline void lacs_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    luaL_checkstack(L, nup, "too many upvalues");
    for (; l->name; l++) {
        for (int i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}

#define lua_absindex lacs_absindex
#define lua_getfield lacs_getfield
#define lua_rawgeti lacs_rawgeti
#define lua_rawgetp lacs_rawgetp
#define lua_pushlstring lacs_pushlstring
#define lua_rawsetp lacs_rawsetp
#define lua_rawlen(L, i) lua_objlen((L), (i))
#define lua_setiuservalue lacs_setiuservalue
#define lua_getiuservalue lacs_getiuservalue
#define luaL_newmetatable lacs_newmetatable
#define luaL_setmetatable lacs_setmetatable
#define luaL_setfuncs lacs_setfuncs
#ifndef luaL_newlib
#define luaL_newlib(L, l) \
    (lua_createtable((L), 0, (int)(sizeof(l) / sizeof((l)[0]) - 1)), luaL_setfuncs((L), (l), 0))
#endif
#endif

/* A JSON integer: a Lua integer on 5.3+. 5.1 and LuaJIT have only doubles: whole numbers
 * within +-2^53 (exact there) are numbers, larger ones their decimal string, never rounded. */
static inline void lacs_push_int64(lua_State *L, int64_t v)
{
#if LUA_VERSION_NUM >= 503
    lua_pushinteger(L, (lua_Integer)v);
#else
    const int64_t exact = (int64_t)1 << 53;
    if (v >= -exact && v <= exact) {
        lua_pushnumber(L, (lua_Number)v);
    } else {
        char buf[24];
        lua_pushstring(L, (snprintf(buf, sizeof buf, "%" PRId64, v), buf));
    }
#endif
}

#endif
