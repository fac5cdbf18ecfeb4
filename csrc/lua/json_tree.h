#ifndef LACS_JSON_TREE_H
#define LACS_JSON_TREE_H

#include <lua.h>

#include "json.h"

/* Pushes the Lua value of a JSON tape: objects and arrays become tables, integers Lua
 * integers, null lua-cjson's null (a NULL light userdata). */
void lacs_push_json(lua_State *L, const acs_json *doc);

#endif
