/* alicloud.core: the module's entry point. Registers the userdata classes (runtime, pool,
 * template, task: one file each) and the module's functions. */
#include <sys/utsname.h>

#include "binding.h"
#include "http.h"
#include "ops.h"
#include "retry.h"
#include "signer.h"
#include "task_description.h"

#ifndef ALICLOUD_VERSION
#define ALICLOUD_VERSION "0.1.0"
#endif

static int core_now(lua_State *L)
{
    lua_pushnumber(L, acs_now());
    return 1;
}

/* core.backoff(base, cap, throttled, next_attempt, server_hint, unit_random) -> seconds:
 * the workers' backoff maths, exposed so specs can check its bounds. */
static int core_backoff(lua_State *L)
{
    acs_retry_policy p = {.backoff_base = luaL_checknumber(L, 1),
                          .backoff_cap = luaL_checknumber(L, 2)};
    acs_retry_verdict v = lua_toboolean(L, 3) ? ACS_RETRY_THROTTLED : ACS_RETRY_YES;
    lua_Integer attempt = luaL_checkinteger(L, 4);
    double hint = luaL_optnumber(L, 5, 0);
    double r = luaL_checknumber(L, 6);
    luaL_argcheck(L, attempt >= 2 && attempt <= 1000, 4, "attempt must be 2..1000");
    luaL_argcheck(L, r >= 0 && r < 1, 6, "unit_random must be in [0, 1)");
    lua_pushnumber(L, acs_retry_backoff(&p, v, (int)attempt, hint, r));
    return 1;
}

/* core.platform() -> sysname, machine (for the User-Agent) */
static int core_platform(lua_State *L)
{
    struct utsname u;
    if (uname(&u) != 0) {
        lua_pushliteral(L, "unknown");
        lua_pushliteral(L, "unknown");
    } else {
        lua_pushstring(L, u.sysname);
        lua_pushstring(L, u.machine);
    }
    return 2;
}

/* core.defaults: the retry policy's defaults (retry.h), for the Lua side and its docs. */
static void push_defaults(lua_State *L)
{
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, ACS_RETRY_MAX_ATTEMPTS);
    lua_setfield(L, -2, "max_attempts");
    lua_pushnumber(L, ACS_RETRY_BACKOFF_BASE);
    lua_setfield(L, -2, "backoff_base");
    lua_pushnumber(L, ACS_RETRY_BACKOFF_CAP);
    lua_setfield(L, -2, "backoff_cap");
}

/* core.error_codes: name -> SDK.* code of every error the core reports (task.c's table). */
static void push_error_codes(lua_State *L)
{
    lua_createtable(L, 0, ACS_E_COUNT);
    for (int e = ACS_OK + 1; e < ACS_E_COUNT; e++) {
        lua_pushstring(L, acs_error_code((acs_error)e));
        lua_setfield(L, -2, acs_error_name((acs_error)e));
    }
}

static int generic_tostring(lua_State *L)
{
    void *p = lua_touserdata(L, 1);
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "__name");
    lua_pushfstring(L, "%s: %p", lua_tostring(L, -1), p);
    return 1;
}

void lacs_new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc)
{
    if (luaL_newmetatable(L, name)) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, generic_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
}

int luaopen_alicloud_core(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"runtime", lacs_runtime_new}, {"pool", lacs_pool_new}, {"sign", lacs_signer_sign}, {"now", core_now}, {"platform", core_platform},
        {"backoff", core_backoff},
        {NULL, NULL}};

    char err[256];
    if (acs_http_global_init(err, sizeof err) != 0)
        return luaL_error(L, "%s", err);
    lacs_runtime_register(L);
    lacs_pool_register(L);
    lacs_task_register(L);
    luaL_newlib(L, functions);
    /* the two readers of task descriptions carry the field names (task_description.h) */
    lacs_push_task_fields(L);
    lua_pushcclosure(L, lacs_task_new, LACS_FIELD_COUNT);
    lua_setfield(L, -2, "task");
    lacs_push_task_fields(L);
    lua_pushcclosure(L, lacs_template_new, LACS_FIELD_COUNT);
    lua_setfield(L, -2, "template");
    lua_pushliteral(L, ALICLOUD_VERSION);
    lua_setfield(L, -2, "version");
    push_defaults(L);
    lua_setfield(L, -2, "defaults");
    push_error_codes(L);
    lua_setfield(L, -2, "error_codes");
    lacs_ops_open(L);
    return 1;
}
