#include "json_tree.h"

#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

typedef struct {
    const unsigned char *p, *end;
} cursor;

static uint32_t take_u32(cursor *c)
{
    uint32_t v;
    memcpy(&v, c->p, sizeof v);
    c->p += sizeof v;
    return v;
}

static void push_value(lua_State *L, cursor *c)
{
    luaL_checkstack(L, 3, "JSON document too deep");
    unsigned char tag = *c->p++;
    switch (tag) {
    case 'o': {
        uint32_t n = take_u32(c);
        lua_createtable(L, 0, (int)n);
        for (uint32_t i = 0; i < n; i++) {
            push_value(L, c); /* the key: an 's' record */
            push_value(L, c);
            lua_rawset(L, -3);
        }
        break;
    }
    case 'a': {
        uint32_t n = take_u32(c);
        lua_createtable(L, (int)n, 0);
        for (uint32_t i = 1; i <= n; i++) {
            push_value(L, c);
            lua_rawseti(L, -2, (lua_Integer)i);
        }
        break;
    }
    case 's': {
        uint32_t n = take_u32(c);
        lua_pushlstring(L, (const char *)c->p, n);
        c->p += n;
        break;
    }
    case 'i': {
        int64_t v;
        memcpy(&v, c->p, sizeof v);
        c->p += sizeof v;
        lua_pushinteger(L, (lua_Integer)v);
        break;
    }
    case 'd': {
        double v;
        memcpy(&v, c->p, sizeof v);
        c->p += sizeof v;
        lua_pushnumber(L, v);
        break;
    }
    case 't':
    case 'f':
        lua_pushboolean(L, tag == 't');
        break;
    default:
        lua_pushlightuserdata(L, NULL); /* null, as lua-cjson has it */
        break;
    }
}

void lacs_push_json(lua_State *L, const acs_json *doc)
{
    cursor c = {doc->data, doc->data + doc->len};
    push_value(L, &c);
}
