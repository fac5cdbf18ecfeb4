#include "json_tree.h"

#include <math.h>

#include <cjson/cJSON.h>
#include <lauxlib.h>

static void push_number(lua_State *L, double v)
{
    if (v == floor(v) && fabs(v) <= 9007199254740992.0) /* 2^53: exact as an integer */
        lua_pushinteger(L, (lua_Integer)v);
    else
        lua_pushnumber(L, v);
}

void lacs_push_json(lua_State *L, const acs_json *j)
{
    luaL_checkstack(L, 4, "JSON document too deep");
    if (cJSON_IsObject(j)) {
        int n = 0;
        for (const cJSON *c = j->child; c; c = c->next)
            n++;
        lua_createtable(L, 0, n);
        for (const cJSON *c = j->child; c; c = c->next) {
            lua_pushstring(L, c->string);
            lacs_push_json(L, c);
            lua_rawset(L, -3);
        }
    } else if (cJSON_IsArray(j)) {
        int n = 0;
        for (const cJSON *c = j->child; c; c = c->next)
            n++;
        lua_createtable(L, n, 0);
        int i = 1;
        for (const cJSON *c = j->child; c; c = c->next) {
            lacs_push_json(L, c);
            lua_rawseti(L, -2, i++);
        }
    } else if (cJSON_IsString(j)) {
        lua_pushstring(L, j->valuestring);
    } else if (cJSON_IsNumber(j)) {
        push_number(L, j->valuedouble);
    } else if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else {
        lua_pushlightuserdata(L, NULL); /* what lua-cjson uses for null */
    }
}
