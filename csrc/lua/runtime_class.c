/* alicloud.Runtime: a Lua state's completion channel (the fd an event loop watches and the
 * finished async calls it pops) and its sync path, calls performed on the Lua thread. */
#include <string.h>

#include "binding.h"
#include "wake_socket.h"
#include "exec.h"

lacs_runtime *lacs_check_runtime(lua_State *L, int i)
{
    lacs_runtime *rt = luaL_checkudata(L, i, RUNTIME_MT);
    if (!rt->notify)
        luaL_error(L, "alicloud runtime is closed");
    if (acs_notify_forked(rt->notify))
        luaL_error(L, "alicloud runtime belongs to the parent process");
    return rt;
}

acs_notify *lacs_check_notify(lua_State *L, int i)
{
    return lacs_check_runtime(L, i)->notify;
}

static int runtime_forked(lua_State *L)
{
    lacs_runtime *rt = luaL_checkudata(L, 1, RUNTIME_MT);
    lua_pushboolean(L, rt->notify && acs_notify_forked(rt->notify));
    return 1;
}

int lacs_runtime_new(lua_State *L)
{
    lacs_runtime *rt = lua_newuserdatauv(L, sizeof *rt, 0);
    memset(rt, 0, sizeof *rt);
    luaL_setmetatable(L, RUNTIME_MT);
    char err[256];
    if (!(rt->notify = acs_notify_new(err, sizeof err)))
        return luaL_error(L, "%s", err);
    return 1;
}

static int runtime_close(lua_State *L)
{
    lacs_runtime *rt = luaL_checkudata(L, 1, RUNTIME_MT);
    acs_json_parser_free(rt->sync_json); /* plain memory: the child's copy is its own */
    rt->sync_json = NULL;
    if (rt->notify && acs_notify_forked(rt->notify)) {
        /* The parent's runtime in a forked child: its connections are the parent's. */
        rt->sync_http = NULL;
        rt->notify = NULL;
        return 0;
    }
    acs_http_free(rt->sync_http);
    rt->sync_http = NULL;
    acs_notify_release(rt->notify);
    rt->notify = NULL;
    return 0;
}

static int runtime_fd(lua_State *L)
{
    lua_pushinteger(L, acs_notify_fd(lacs_check_runtime(L, 1)->notify));
    return 1;
}

static int runtime_wake(lua_State *L)
{
    lacs_runtime *rt = luaL_checkudata(L, 1, RUNTIME_MT);
    if (rt->notify && !acs_notify_forked(rt->notify)) /* the parent's pipe is not ours */
        acs_notify_wake(rt->notify);
    return 0;
}

static int runtime_wait(lua_State *L)
{
    lacs_runtime *rt = lacs_check_runtime(L, 1);
    double timeout = luaL_optnumber(L, 2, -1);
    lua_pushboolean(L, acs_notify_wait(rt->notify, timeout));
    return 1;
}

/* runtime:pop([max [, into]]) -> list, n: the n finished async calls as triples:
 * list[3i-2] the call's slot, list[3i-1] its value and list[3i] `plain`: true when the value
 * is the decoded body of a plain success (is_plain_success, result_push.c), false when it is
 * the raw result table. With `into`, the list is that table, reused (the entry after the
 * last is set to nil): no new list per delivery. */
static int runtime_pop(lua_State *L)
{
    lacs_runtime *rt = lacs_check_runtime(L, 1);
    lua_Integer max = luaL_optinteger(L, 2, 256);
    if (max < 1)
        max = 1;
    if (max > 256)
        max = 256;
    acs_task *done[256];
    size_t n = acs_notify_pop(rt->notify, done, (size_t)max);
    if (lua_istable(L, 3)) {
        lua_settop(L, 3);
        lua_pushnil(L);
        lua_rawseti(L, 3, 3 * (lua_Integer)n + 1);
    } else {
        lua_createtable(L, 3 * (int)n, 0);
    }
    for (size_t i = 0; i < n; i++) {
        acs_task *t = done[i];
        lua_Integer at = 3 * (lua_Integer)i;
        lua_pushinteger(L, (lua_Integer)t->tag);
        lua_rawseti(L, -2, at + 1);
        int plain = lacs_push_delivered(L, t);
        lua_rawseti(L, -2, at + 2);
        lua_pushboolean(L, plain);
        lua_rawseti(L, -2, at + 3);
        acs_task_release(t);
    }
    lua_pushinteger(L, (lua_Integer)n);
    return 2;
}

/* runtime:perform(task) -> value, plain: a sync call on this thread. A plain success
 * (is_plain_success) is its decoded body, its metadata kept in the task; anything else is the
 * raw result table. */
static int runtime_perform(lua_State *L)
{
    lacs_runtime *rt = lacs_check_runtime(L, 1);
    lacs_task *box = luaL_checkudata(L, 2, TASK_MT);
    if (!box->task || box->task->state != ACS_TASK_NEW)
        return luaL_error(L, "task already used");
    char err[256];
    if (!rt->sync_http && !(rt->sync_http = acs_http_new(err, sizeof err)))
        return luaL_error(L, "%s", err);
    box->task->state = ACS_TASK_RUNNING;
    box->task->submitted_at = acs_now();
    if (!rt->sync_json)
        rt->sync_json = acs_json_parser_new(); /* NULL: a parser per call instead */
    acs_json_use_parser(rt->sync_json);
    acs_exec(rt->sync_http, box->task);
    acs_json_use_parser(NULL); /* another runtime may run on this thread */
    box->task->state = ACS_TASK_DONE;
    lua_pushboolean(L, lacs_push_delivered(L, box->task));
    return 2;
}

void lacs_runtime_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"fd", runtime_fd},     {"pop", runtime_pop},         {"wake", runtime_wake},
        {"wait", runtime_wait}, {"perform", runtime_perform}, {"close", runtime_close},
        {"forked", runtime_forked},
        {"wake_listen", lacs_wake_listen}, {"wake_shutdown", lacs_wake_shutdown},
        {NULL, NULL}};
    lacs_new_class(L, RUNTIME_MT, methods, runtime_close);
}
