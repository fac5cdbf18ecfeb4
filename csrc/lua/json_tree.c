#include "json_tree.h"

#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "lua_compat.h"

/* Short strings made for earlier answers, by the hash the worker computed ('h' records):
 * reusing one costs a memcmp and a table read, where lua_pushlstring hashes the bytes and
 * searches Lua's string table. Direct-mapped, so it stays this size; the strings are anchored
 * in the uservalue table (slot + 1), one cache per Lua state, in the registry. A slot also
 * keeps its string's bytes (Lua never moves a string, and this one stays anchored while the
 * slot holds it), so a miss costs no trip through the Lua stack. */
#define CACHE_SLOTS 2048

typedef struct {
    struct {
        uint64_t key;      /* FILLED | len << 32 | hash; 0 = an empty slot */
        const char *bytes; /* side by side with its key: one cache line per look-up */
    } slot[CACHE_SLOTS];
} string_cache;

#define FILLED ((uint64_t)1 << 63) /* so that no string's key is 0, the empty string's too */

static const char CACHE_REGISTRY_KEY = 0;

typedef struct {
    const unsigned char *p, *end;
    string_cache *cache;
    int anchors; /* stack index of the cache's anchor table */
} cursor;

/* Pushes the anchor table; returns the cache. */
static string_cache *push_cache(lua_State *L)
{
    string_cache *c;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &CACHE_REGISTRY_KEY) == LUA_TUSERDATA) {
        c = lua_touserdata(L, -1);
    } else {
        lua_pop(L, 1);
        c = lua_newuserdatauv(L, sizeof *c, 1);
        memset(c, 0, sizeof *c);
        lua_createtable(L, CACHE_SLOTS, 0);
        lua_setiuservalue(L, -2, 1);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &CACHE_REGISTRY_KEY);
    }
    lua_getiuservalue(L, -1, 1);
    lua_remove(L, -2);
    return c;
}

static void push_short_string(lua_State *L, cursor *c, uint32_t n, uint32_t hash)
{
    const char *bytes = (const char *)c->p;
    c->p += n;
    uint64_t key = FILLED | (uint64_t)n << 32 | hash;
    lua_Integer slot = (lua_Integer)(hash & (CACHE_SLOTS - 1)) + 1;
    string_cache *sc = c->cache;
    if (sc->slot[slot - 1].key == key && memcmp(sc->slot[slot - 1].bytes, bytes, n) == 0) {
        lua_rawgeti(L, c->anchors, slot);
        return;
    }
    sc->slot[slot - 1].bytes = lua_pushlstring(L, bytes, n);
    lua_pushvalue(L, -1);
    lua_rawseti(L, c->anchors, slot);
    sc->slot[slot - 1].key = key;
}

static uint32_t take_u32(cursor *c)
{
    uint32_t v;
    memcpy(&v, c->p, sizeof v);
    c->p += sizeof v;
    return v;
}

/* Stack room: a container's table, a key, a value and a string's cache copy. Checked once per
 * container (scalars use what their container checked). */
#define ROOM 4

static void push_value(lua_State *L, cursor *c)
{
    unsigned char tag = *c->p++;
    switch (tag) {
    case 'o': {
        luaL_checkstack(L, ROOM, "JSON document too deep");
        uint32_t n = take_u32(c);
        lua_createtable(L, 0, (int)n);
        for (uint32_t i = 0; i < n; i++) {
            push_value(L, c); /* the key: a string record */
            push_value(L, c);
            lua_rawset(L, -3);
        }
        break;
    }
    case 'a': {
        luaL_checkstack(L, ROOM, "JSON document too deep");
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
    case 'h': {
        uint32_t n = *c->p++;
        uint32_t hash = take_u32(c);
        push_short_string(L, c, n, hash);
        break;
    }
    case 'i': {
        int64_t v;
        memcpy(&v, c->p, sizeof v);
        c->p += sizeof v;
        lacs_push_int64(L, v); /* exact on every version: see lua_compat.h */
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
    cursor c = {doc->data, doc->data + doc->len, NULL, 0};
    luaL_checkstack(L, 1 + ROOM, "JSON document too deep"); /* the cache's anchors, a scalar */
    c.cache = push_cache(L);
    c.anchors = lua_gettop(L);
    push_value(L, &c);
    lua_remove(L, c.anchors);
}
