/* What the binding's files share: the userdata classes' metatable names and layouts, and the
 * few functions one class's file calls in another's. Userdata point at reference-counted C
 * objects, so work in flight outlives the Lua objects that started it; finalizers only drop
 * references (a pool's last reference cancels and joins its workers) and never call Lua. */
#ifndef LACS_BINDING_H
#define LACS_BINDING_H

#include <lauxlib.h>
#include <lua.h>

#include "lua_compat.h"

#include "http.h"
#include "notify.h"
#include "pool.h"
#include "task.h"

#define RUNTIME_MT "alicloud.Runtime"
#define POOL_MT "alicloud.Pool"
#define TASK_MT "alicloud.Task"
#define TEMPLATE_MT "alicloud.Template"

typedef struct {
    acs_notify *notify;
    acs_http *sync_http; /* the Lua thread's own transfer context for sync calls */
    acs_json_parser *sync_json; /* and its JSON parser, kept across them */
} lacs_runtime;

typedef struct {
    acs_pool *pool;
} lacs_pool;

typedef struct {
    acs_task *task;
    acs_pool *pool;      /* set once submitted; holds a reference */
} lacs_task;

/* core_module.c: a class's metatable (methods as __index; gc as __gc and __close). */
void lacs_new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc);

/* runtime_class.c: alicloud.Runtime, the completion channel and the sync path. */
int lacs_runtime_new(lua_State *L);
lacs_runtime *lacs_check_runtime(lua_State *L, int i); /* raises when closed or forked */
void lacs_runtime_register(lua_State *L);

/* pool_class.c: alicloud.Pool, the worker threads. */
int lacs_pool_new(lua_State *L);
void lacs_pool_register(lua_State *L);

/* task_class.c: alicloud.Template and alicloud.Task, a call copied into C. Registered as
 * closures over the description's field names (lacs_push_task_fields). */
int lacs_template_new(lua_State *L);
int lacs_task_new(lua_State *L);
lacs_task *lacs_check_task(lua_State *L, int i); /* raises when released */
void lacs_task_register(lua_State *L);

/* result_push.c: a finished call's value for Lua. */
void lacs_push_result_meta(lua_State *L, const acs_result *r);
int lacs_push_delivered(lua_State *L, acs_task *t);

#endif
