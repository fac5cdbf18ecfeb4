#include "ops.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "ratelimit.h"
#include "trace.h"

#define RATELIMIT_MT "alicloud.RateLimit"

/* core.ratelimit(rate [, burst]) -> a token bucket the calls of a client share. */
static int ratelimit_new(lua_State *L)
{
    double rate = luaL_checknumber(L, 1);
    double burst = luaL_optnumber(L, 2, 1);
    luaL_argcheck(L, rate > 0, 1, "rate must be > 0");
    luaL_argcheck(L, burst >= 1, 2, "burst must be >= 1");
    acs_ratelimit **box = lua_newuserdata(L, sizeof *box);
    *box = NULL;
    luaL_setmetatable(L, RATELIMIT_MT);
    if (!(*box = acs_ratelimit_new(rate, burst)))
        return luaL_error(L, "out of memory");
    return 1;
}

static int ratelimit_gc(lua_State *L)
{
    acs_ratelimit **box = luaL_checkudata(L, 1, RATELIMIT_MT);
    acs_ratelimit_release(*box); /* tasks in flight keep theirs */
    *box = NULL;
    return 0;
}

/* core.observe(task, trace_level, ratelimit|nil): before the task is submitted or performed,
 * asks for its attempts to be recorded (level 1 or 2; 0: not) and puts it under a limit. */
static int observe(lua_State *L)
{
    acs_task *t = lacs_task_of(L, 1);
    lua_Integer level = luaL_optinteger(L, 2, 0);
    if (t->state != ACS_TASK_NEW)
        return luaL_error(L, "task already submitted");
    if (level > 0 && !t->trace && !(t->trace = acs_trace_new((int)level)))
        return luaL_error(L, "out of memory");
    if (!lua_isnoneornil(L, 3)) {
        acs_ratelimit **box = luaL_checkudata(L, 3, RATELIMIT_MT);
        if (*box && !t->ratelimit) {
            acs_ratelimit_retain(*box);
            t->ratelimit = *box;
        }
    }
    return 0;
}

/* core.attempts(task) -> list of { time, ms, status, code, request_id, detail }, with
 * fields method, host and dropped; nil when nothing was recorded. Only after delivery: the
 * worker is done with the task then. */
static int attempts(lua_State *L)
{
    const acs_trace *t = lacs_task_of(L, 1)->trace;
    if (!t) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, t->n, 3);
    for (int i = 0; i < t->n; i++) {
        const acs_trace_attempt *a = &t->a[i];
        lua_createtable(L, 0, 6);
        lua_pushnumber(L, a->wall);
        lua_setfield(L, -2, "time");
        lua_pushnumber(L, a->ms);
        lua_setfield(L, -2, "ms");
        if (a->http_status) {
            lua_pushinteger(L, a->http_status);
            lua_setfield(L, -2, "status");
        }
        if (a->code[0]) {
            lua_pushstring(L, a->code);
            lua_setfield(L, -2, "code");
        }
        if (a->request_id[0]) {
            lua_pushstring(L, a->request_id);
            lua_setfield(L, -2, "request_id");
        }
        if (a->detail) {
            lua_pushstring(L, a->detail);
            lua_setfield(L, -2, "detail");
        }
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushstring(L, t->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, t->host);
    lua_setfield(L, -2, "host");
    lua_pushinteger(L, t->dropped);
    lua_setfield(L, -2, "dropped");
    return 1;
}

/* SIGINT for the command line: plain Lua cannot catch it, so a handler sets a flag that
 * the bulk loop polls between deliveries (a blocked wait wakes up with EINTR or within its
 * poll interval). */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* core.sigint_catch(): from now on SIGINT sets the flag instead of ending the process. */
static int sigint_catch(lua_State *L)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    lua_pushboolean(L, sigaction(SIGINT, &sa, NULL) == 0);
    return 1;
}

/* core.sigint_caught() -> true once SIGINT arrived since sigint_catch. */
static int sigint_caught(lua_State *L)
{
    lua_pushboolean(L, interrupted != 0);
    return 1;
}

void lacs_ops_open(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"ratelimit", ratelimit_new}, {"observe", observe},           {"attempts", attempts},
        {"sigint_catch", sigint_catch}, {"sigint_caught", sigint_caught}, {NULL, NULL}};
    if (luaL_newmetatable(L, RATELIMIT_MT)) {
        lua_pushcfunction(L, ratelimit_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    luaL_setfuncs(L, functions, 0);
}
