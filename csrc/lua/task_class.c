/* alicloud.Template and alicloud.Task: a call copied from Lua into C memory, so a worker
 * can run it without the Lua state. A template holds the fields every call of a client
 * shares; a task borrows them and adds its own. */
#include <stdatomic.h>
#include <string.h>

#include "binding.h"
#include "ops.h"
#include "task_description.h"

/* core.template(common) -> template: the common fields of a description, copied into C once;
 * the calls of a client borrow them (see lacs_task_new) and copy only their own fields. */
int lacs_template_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    acs_request_shared **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, TEMPLATE_MT);
    if (!(*box = acs_request_shared_new()))
        return luaL_error(L, "out of memory");
    lacs_read_common(L, 1, &(*box)->common);
    return 1;
}

static int template_gc(lua_State *L)
{
    acs_request_shared **box = luaL_checkudata(L, 1, TEMPLATE_MT);
    acs_request_shared_release(*box); /* the last of it and its calls wipes the secrets */
    *box = NULL;
    return 0;
}

/* core.task(template, call) or core.task(description) -> task: copies everything a worker
 * needs into C memory (the fields: task_description.h). A client's calls name only their own
 * fields and borrow the rest from its template. */
int lacs_task_new(lua_State *L)
{
    acs_request_shared *tmpl = NULL;
    int call = 1;
    if (lua_type(L, 1) != LUA_TTABLE) {
        tmpl = *(acs_request_shared **)luaL_checkudata(L, 1, TEMPLATE_MT);
        if (!tmpl)
            return luaL_error(L, "template is released");
        luaL_checktype(L, 2, LUA_TTABLE);
        call = 2;
    }
    lacs_task *box = lua_newuserdatauv(L, sizeof *box, 1);
    memset(box, 0, sizeof *box);
    luaL_setmetatable(L, TASK_MT);
    if (!(box->task = acs_task_new()))
        return luaL_error(L, "out of memory");
    acs_request *r = &box->task->req;
    if (tmpl)
        acs_request_borrow(r, tmpl);
    else
        lacs_read_common(L, 1, r);
    lacs_read_call(L, call, r);
    if (!r->scheme || !r->host || !r->method)
        return luaL_error(L, "task needs scheme, host and method");
    return 1;
}

lacs_task *lacs_check_task(lua_State *L, int i)
{
    lacs_task *box = luaL_checkudata(L, i, TASK_MT);
    if (!box->task)
        luaL_error(L, "task is released");
    return box;
}

acs_task *lacs_task_of(lua_State *L, int i)
{
    return lacs_check_task(L, i)->task;
}

/* task:result() -> the raw result table of a delivered plain success, without its body. */
static int task_result(lua_State *L)
{
    lacs_task *box = lacs_check_task(L, 1);
    lua_createtable(L, 0, 8);
    lacs_push_result_meta(L, &box->task->res);
    return 1;
}

/* task:cancel() -> true if the call had not finished. */
static int task_cancel(lua_State *L)
{
    lacs_task *box = lacs_check_task(L, 1);
    int pending = 0;
    if (box->pool && acs_pool_forked(box->pool))
        pending = 0; /* a parent's call seen from a forked child: not ours to touch */
    else if (box->pool)
        pending = acs_pool_cancel(box->pool, box->task);
    else
        atomic_store(&box->task->cancelled, 1);
    lua_pushboolean(L, pending);
    return 1;
}

static int task_gc(lua_State *L)
{
    lacs_task *box = luaL_checkudata(L, 1, TASK_MT);
    acs_task_release(box->task);
    box->task = NULL;
    acs_pool_release(box->pool);
    box->pool = NULL;
    return 0;
}

void lacs_task_register(lua_State *L)
{
    static const luaL_Reg task_methods[] = {{"cancel", task_cancel}, {"result", task_result}, {NULL, NULL}};
    static const luaL_Reg template_methods[] = {{NULL, NULL}};
    lacs_new_class(L, TASK_MT, task_methods, task_gc);
    lacs_new_class(L, TEMPLATE_MT, template_methods, template_gc);
}
