/* alicloud.Template and alicloud.Task: a call copied from Lua into C memory, so a worker
 * can run it without the Lua state. A template holds the fields every call of a client
 * shares; a task borrows them and adds its own. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

/* The string at stack index i, or NULL for nil; `what` names it in errors. */
static const char *string_at(lua_State *L, int i, const char *what, size_t *len)
{
    int type = lua_type(L, i);
    if (type == LUA_TNIL || type == LUA_TNONE)
        return NULL;
    if (type != LUA_TSTRING)
        luaL_error(L, "task field '%s' must be a string", what);
    return lua_tolstring(L, i, len); /* stays alive: the caller's stack holds it */
}

/* A C copy of the string at stack index i, or NULL for nil. */
static char *copy_string_at(lua_State *L, int i, const char *what)
{
    size_t len = 0;
    const char *s = string_at(L, i, what, &len);
    if (!s)
        return NULL;
    if (strlen(s) != len)
        luaL_error(L, "task field '%s' contains a NUL byte", what);
    char *p = malloc(len + 1);
    if (!p)
        luaL_error(L, "out of memory");
    memcpy(p, s, len + 1);
    return p;
}

static const char *opt_string(lua_State *L, int t, const char *key, size_t *len)
{
    lua_getfield(L, t, key);
    const char *s = string_at(L, -1, key, len);
    lua_pop(L, 1); /* the string stays alive: the spec table holds it */
    return s;
}

static char *copy_field(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    char *p = copy_string_at(L, -1, key);
    lua_pop(L, 1);
    return p;
}

static double opt_number(lua_State *L, int t, const char *key, double def)
{
    lua_getfield(L, t, key);
    double v = luaL_optnumber(L, -1, def);
    lua_pop(L, 1);
    return v;
}

static int opt_bool(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* The list of {name, value} string pairs at stack index i, if it is a table (plain tables,
 * built by the Lua side: raw access). */
static void copy_pairs_at(lua_State *L, int i, const char *what, acs_kvlist *out)
{
    if (lua_type(L, i) != LUA_TTABLE)
        return;
    i = lua_absindex(L, i);
    lua_Integer n = (lua_Integer)lua_rawlen(L, i);
    for (lua_Integer k = 1; k <= n; k++) {
        size_t nl, vl;
        if (lua_rawgeti(L, i, k) != LUA_TTABLE)
            luaL_error(L, "task field '%s' item %d must be a {name, value} pair of strings",
                       what, (int)k);
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        const char *name = lua_tolstring(L, -2, &nl);
        const char *value = lua_tolstring(L, -1, &vl);
        if (!name || !value)
            luaL_error(L, "task field '%s' item %d must be a {name, value} pair of strings",
                       what, (int)k);
        if (strlen(name) != nl || strlen(value) != vl)
            luaL_error(L, "parameter '%s' contains a NUL byte", name);
        if (acs_kvlist_add(out, name, nl, value, vl) != 0)
            luaL_error(L, "out of memory");
        lua_pop(L, 3);
    }
}

static long to_ms(double seconds)
{
    return seconds > 0 ? (long)(seconds * 1000.0 + 0.5) : 0;
}

/* The fields every call of a client shares (endpoint, credentials, transport, retry). */
static void copy_common(lua_State *L, int t, acs_request *r)
{
    const char *sig = opt_string(L, t, "signature_version", NULL);
    r->sig = !sig || strcmp(sig, "v1") == 0 ? ACS_SIG_V1
           : strcmp(sig, "v3") == 0         ? ACS_SIG_V3
           : strcmp(sig, "none") == 0       ? ACS_SIG_NONE
                                            : (luaL_error(L, "unknown signature_version '%s'", sig), ACS_SIG_V1);
    r->scheme = copy_field(L, t, "scheme");
    r->host = copy_field(L, t, "host");
    r->version = copy_field(L, t, "version");
    r->user_agent = copy_field(L, t, "user_agent");
    r->ca_file = copy_field(L, t, "ca_file");
    r->proxy = copy_field(L, t, "proxy");
    r->no_proxy = copy_field(L, t, "no_proxy");
    r->creds.access_key_id = copy_field(L, t, "access_key_id");
    r->creds.access_key_secret = copy_field(L, t, "access_key_secret");
    r->creds.security_token = copy_field(L, t, "security_token");
    r->creds.bearer_token = copy_field(L, t, "bearer_token");
    r->insecure = opt_bool(L, t, "insecure");
    r->connect_timeout_ms = to_ms(opt_number(L, t, "connect_timeout", 0));
    r->read_timeout_ms = to_ms(opt_number(L, t, "read_timeout", 0));
    r->timeout_ms = to_ms(opt_number(L, t, "timeout", 0));
    r->retry.max_attempts = (int)opt_number(L, t, "max_attempts", 1);
    r->retry.backoff_base = opt_number(L, t, "backoff_base", 0.1);
    r->retry.backoff_cap = opt_number(L, t, "backoff_cap", 5);
    r->retry.unsafe = opt_bool(L, t, "retry_unsafe");
    double max_bytes = opt_number(L, t, "max_response_bytes", 0);
    r->max_response_bytes = max_bytes > 0 ? (size_t)max_bytes : 0;
}

/* The fields of one call, in the order core.task takes them after the template. */
static const char *const CALL_FIELDS[] = {"style", "action", "version", "method", "path",
    "query", "form", "headers", "body", "content_type", "read_only", "raw"};
#define CALL_NFIELDS ((int)(sizeof CALL_FIELDS / sizeof CALL_FIELDS[0]))

/* The call fields at stack indices 2.. (see CALL_FIELDS). A version overrides the common one. */
static void copy_call(lua_State *L, acs_request *r)
{
    const char *style = string_at(L, 2, "style", NULL);
    r->style = style && strcmp(style, "roa") == 0 ? ACS_STYLE_ROA : ACS_STYLE_RPC;
    r->action = copy_string_at(L, 3, "action");
    char *version = copy_string_at(L, 4, "version");
    if (version) {
        if (!r->shared) /* a borrowed version is the template's */
            free(r->version);
        r->version = version;
    }
    r->method = copy_string_at(L, 5, "method");
    r->path = copy_string_at(L, 6, "path");
    copy_pairs_at(L, 7, "query", &r->query);
    copy_pairs_at(L, 8, "form", &r->form);
    copy_pairs_at(L, 9, "headers", &r->headers);
    size_t body_len = 0;
    const char *body = string_at(L, 10, "body", &body_len);
    if (body && body_len) {
        if (!(r->body = malloc(body_len)))
            luaL_error(L, "out of memory");
        memcpy(r->body, body, body_len);
        r->body_len = body_len;
    }
    r->content_type = copy_string_at(L, 11, "content_type");
    r->read_only = lua_toboolean(L, 12);
    r->raw = lua_toboolean(L, 13);
}

/* core.template(common) -> template: the common fields of a spec, copied into C once; the
 * calls of a client borrow them (see task_new) and copy only their own fields. */
int lacs_template_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    acs_request_shared **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, TEMPLATE_MT);
    if (!(*box = acs_request_shared_new()))
        return luaL_error(L, "out of memory");
    copy_common(L, 1, &(*box)->common);
    return 1;
}

static int template_gc(lua_State *L)
{
    acs_request_shared **box = luaL_checkudata(L, 1, TEMPLATE_MT);
    acs_request_shared_release(*box); /* the last of it and its calls wipes the secrets */
    *box = NULL;
    return 0;
}

/* core.task(template, style, action, version, method, path, query, form, headers, body,
 * content_type, read_only, raw) -> task: copies everything a worker needs into C memory.
 * The call's own fields come as arguments (no table to build and read per call); the rest is
 * the template's. core.task(spec) takes one table with every field instead. */
int lacs_task_new(lua_State *L)
{
    acs_request_shared *tmpl = NULL;
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_settop(L, 1);
        for (int i = 0; i < CALL_NFIELDS; i++) /* to where the other form has them */
            lua_getfield(L, 1, CALL_FIELDS[i]);
    } else {
        tmpl = *(acs_request_shared **)luaL_checkudata(L, 1, TEMPLATE_MT);
        if (!tmpl)
            return luaL_error(L, "template is released");
        lua_settop(L, 1 + CALL_NFIELDS);
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
        copy_common(L, 1, r);
    copy_call(L, r);
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
