/* alicloud.Pool: a pool of worker threads and its bounded queue, the async path. */
#include <limits.h>

#include "binding.h"

static lacs_pool *check_pool(lua_State *L, int i)
{
    lacs_pool *p = luaL_checkudata(L, i, POOL_MT);
    if (!p->pool)
        luaL_error(L, "alicloud pool is released");
    return p;
}

/* core.pool(runtime, workers, max_queue) */
int lacs_pool_new(lua_State *L)
{
    lacs_runtime *rt = lacs_check_runtime(L, 1);
    lua_Integer workers = luaL_checkinteger(L, 2);
    lua_Integer max_queue = luaL_checkinteger(L, 3);
    /* the most calls in flight (a connection each), not threads: the pool picks those */
    luaL_argcheck(L, workers >= 1 && workers <= 65536, 2, "pool_size must be 1..65536");
    luaL_argcheck(L, max_queue >= 1, 3, "max_task_queue_size must be at least 1");
    lacs_pool *p = lua_newuserdatauv(L, sizeof *p, 0);
    p->pool = NULL;
    luaL_setmetatable(L, POOL_MT);
    char err[256];
    if (!(p->pool = acs_pool_new(rt->notify, (int)workers, (size_t)max_queue, err, sizeof err)))
        return luaL_error(L, "%s", err);
    return 1;
}

/* pool:submit(task [, wait [, bound [, slot]]]) -> "ok" | "full" | "closed" | "busy" | "forked":
 * "busy" when the pool already holds `bound` undelivered calls, "forked" in a forked child
 * (the pool's threads stayed in the parent). One call for the submit path's checks. `slot`
 * comes back as the result's `slot`: the runtime's index of the call's promise. */
static int pool_submit(lua_State *L)
{
    lacs_pool *p = check_pool(L, 1);
    lacs_task *box = lacs_check_task(L, 2);
    double wait = luaL_optnumber(L, 3, 0);
    lua_Integer bound = luaL_optinteger(L, 4, 0);
    lua_Integer slot = luaL_optinteger(L, 5, 0);
    if (box->pool || box->task->state != ACS_TASK_NEW)
        return luaL_error(L, "task already submitted");
    luaL_argcheck(L, slot >= 0 && slot <= LONG_MAX, 5, "slot out of range");
    box->task->tag = (long)slot;
    if (acs_pool_forked(p->pool)) {
        lua_pushliteral(L, "forked");
        return 1;
    }
    if (bound > 0 && acs_pool_undelivered(p->pool) >= (size_t)bound) {
        lua_pushliteral(L, "busy");
        return 1;
    }
    box->task->submitted_at = acs_now();
    acs_submit_status st = acs_pool_submit(p->pool, box->task, wait);
    if (st == ACS_SUBMIT_OK) {
        box->pool = p->pool;
        acs_pool_retain(p->pool);
    }
    lua_pushstring(L, st == ACS_SUBMIT_OK ? "ok" : st == ACS_SUBMIT_FULL ? "full" : "closed");
    return 1;
}

/* pool:shutdown("drain" | "cancel") */
static int pool_shutdown(lua_State *L)
{
    lacs_pool *p = check_pool(L, 1);
    if (acs_pool_forked(p->pool))
        return 0; /* the parent's pool, copied by fork: its workers are not here */
    static const char *const modes[] = {"drain", "cancel", NULL};
    int mode = luaL_checkoption(L, 2, "drain", modes);
    acs_pool_shutdown(p->pool, mode == 0 ? ACS_SHUTDOWN_DRAIN : ACS_SHUTDOWN_CANCEL);
    return 0;
}

static int pool_closed(lua_State *L)
{
    lacs_pool *p = check_pool(L, 1);
    if (acs_pool_forked(p->pool)) {
        lua_pushboolean(L, 1); /* nothing runs it in this process */
        return 1;
    }
    lua_pushboolean(L, acs_pool_is_closed(p->pool));
    return 1;
}

/* pool:forked() -> true in a forked child: the pool's threads stayed in the parent. */
static int pool_forked(lua_State *L)
{
    lua_pushboolean(L, acs_pool_forked(check_pool(L, 1)->pool));
    return 1;
}

/* pool:undelivered() -> calls submitted and not yet delivered (queued, running, finished) */
static int pool_undelivered(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)acs_pool_undelivered(check_pool(L, 1)->pool));
    return 1;
}

static int pool_queued(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)acs_pool_queued(check_pool(L, 1)->pool));
    return 1;
}

static int pool_gc(lua_State *L)
{
    lacs_pool *p = luaL_checkudata(L, 1, POOL_MT);
    acs_pool_release(p->pool);
    p->pool = NULL;
    return 0;
}

void lacs_pool_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"submit", pool_submit}, {"shutdown", pool_shutdown}, {"closed", pool_closed},
        {"queued", pool_queued}, {"forked", pool_forked},
        {"undelivered", pool_undelivered}, {NULL, NULL}};
    lacs_new_class(L, POOL_MT, methods, pool_gc);
}
