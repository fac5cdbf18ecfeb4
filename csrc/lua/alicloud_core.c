/* alicloud.core: the binding between the C core and Lua. Userdata point at reference-counted
 * C objects, so work in flight outlives the Lua objects that started it; finalizers only drop
 * references (a pool's last reference cancels and joins its workers) and never call Lua. */
#include <stdatomic.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_compat.h"

#include "exec.h"
#include "http.h"
#include "notify.h"
#include "pool.h"
#include "retry.h"
#include "json_tree.h"
#include "signer.h"
#include "task.h"
#include "wake_socket.h"

#ifndef ALICLOUD_VERSION
#define ALICLOUD_VERSION "0.1.0"
#endif

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

/* ---------------------------------------------------------------- runtime */

static lacs_runtime *check_runtime(lua_State *L, int i)
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
    return check_runtime(L, i)->notify;
}

static int runtime_forked(lua_State *L)
{
    lacs_runtime *rt = luaL_checkudata(L, 1, RUNTIME_MT);
    lua_pushboolean(L, rt->notify && acs_notify_forked(rt->notify));
    return 1;
}

static int runtime_new(lua_State *L)
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
    lua_pushinteger(L, acs_notify_fd(check_runtime(L, 1)->notify));
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
    lacs_runtime *rt = check_runtime(L, 1);
    double timeout = luaL_optnumber(L, 2, -1);
    lua_pushboolean(L, acs_notify_wait(rt->notify, timeout));
    return 1;
}

/* The metadata of a result: what alicloud.meta and errors read besides the body. */
static void push_result_meta(lua_State *L, const acs_result *r)
{
    lua_pushinteger(L, r->attempts);
    lua_setfield(L, -2, "attempts");
    lua_pushnumber(L, r->queued_s);
    lua_setfield(L, -2, "queued");
    lua_pushnumber(L, r->total_s);
    lua_setfield(L, -2, "total");
    /* left only on failed calls (SignatureDoesNotMatch diagnosis): see exec.c's finish */
    if (r->string_to_sign) {
        lua_pushstring(L, r->string_to_sign);
        lua_setfield(L, -2, "string_to_sign");
    }
    if (r->error != ACS_OK) {
        lua_pushstring(L, acs_error_code(r->error));
        lua_setfield(L, -2, "error");
        lua_pushstring(L, r->message ? r->message : "out of memory");
        lua_setfield(L, -2, "message");
        if (r->timeout_kind) {
            const char *kind = r->timeout_kind == 'c' ? "connect"
                             : r->timeout_kind == 'r' ? "read" : "total";
            lua_pushstring(L, kind);
            lua_setfield(L, -2, "timeout");
        }
    }
    if (r->http_status) {
        lua_pushinteger(L, r->http_status);
        lua_setfield(L, -2, "status");
        /* headers as one "name\0value\0..." string: Lua parses it only if someone asks */
        lua_pushlstring(L, acs_buf_cstr(&r->headers), r->headers.len);
        lua_setfield(L, -2, "headers_raw");
    }
}

/* A finished call's raw result table: its metadata and its body (parsed, or as received). */
static void push_result(lua_State *L, acs_task *t)
{
    const acs_result *r = &t->res;
    lua_createtable(L, 0, 12);
    push_result_meta(L, r);
    if (r->http_status) {
        if (r->doc) {
            lacs_push_json(L, r->doc); /* parsed on the worker: no body string needed */
            lua_setfield(L, -2, "doc");
        } else {
            lua_pushlstring(L, acs_buf_cstr(&r->body), r->body.len);
            lua_setfield(L, -2, "body");
        }
    }
}

/* The common case, delivered as the decoded body alone: no error, a 2xx status, and a JSON
 * object or array parsed on the worker. Its metadata stays in the task (task:result()). */
static int is_plain_success(const acs_result *r)
{
    return r->error == ACS_OK && r->http_status >= 200 && r->http_status < 300 && r->doc &&
           r->doc->len > 0 && (r->doc->data[0] == 'o' || r->doc->data[0] == 'a');
}

/* Pushes a finished call's value for Lua and frees what Lua will not read: the decoded body of
 * a plain success (returns 1), or the raw result table (returns 0). */
static int push_delivered(lua_State *L, acs_task *t)
{
    int plain = is_plain_success(&t->res);
    if (plain)
        lacs_push_json(L, t->res.doc);
    else
        push_result(L, t);
    acs_task_delivered(t, plain);
    return plain;
}

/* runtime:pop([max [, into]]) -> list, n: the n finished async calls as pairs, list[2i-1] the
 * call's slot and list[2i] its value. A plain success (is_plain_success) has its slot negated
 * and its decoded body as the value; any other result comes as the raw result table. With
 * `into`, the list is that table, reused (the entry after the last is set to nil): a new
 * list per delivery was a large allocation each time. */
static int runtime_pop(lua_State *L)
{
    lacs_runtime *rt = check_runtime(L, 1);
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
        lua_rawseti(L, 3, 2 * (lua_Integer)n + 1);
    } else {
        lua_createtable(L, 2 * (int)n, 0);
    }
    for (size_t i = 0; i < n; i++) {
        acs_task *t = done[i];
        int plain = push_delivered(L, t);
        lua_rawseti(L, -2, 2 * (lua_Integer)i + 2);
        lua_pushinteger(L, plain ? -(lua_Integer)t->tag : (lua_Integer)t->tag);
        lua_rawseti(L, -2, 2 * (lua_Integer)i + 1);
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
    lacs_runtime *rt = check_runtime(L, 1);
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
    lua_pushboolean(L, push_delivered(L, box->task));
    return 2;
}

/* ---------------------------------------------------------------- task */

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
static int template_new(lua_State *L)
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
static int task_new(lua_State *L)
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

static lacs_task *check_task(lua_State *L, int i)
{
    lacs_task *box = luaL_checkudata(L, i, TASK_MT);
    if (!box->task)
        luaL_error(L, "task is released");
    return box;
}

/* task:result() -> the raw result table of a delivered plain success, without its body. */
static int task_result(lua_State *L)
{
    lacs_task *box = check_task(L, 1);
    lua_createtable(L, 0, 8);
    push_result_meta(L, &box->task->res);
    return 1;
}

/* task:cancel() -> true if the call had not finished. */
static int task_cancel(lua_State *L)
{
    lacs_task *box = check_task(L, 1);
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

/* ---------------------------------------------------------------- pool */

static lacs_pool *check_pool(lua_State *L, int i)
{
    lacs_pool *p = luaL_checkudata(L, i, POOL_MT);
    if (!p->pool)
        luaL_error(L, "alicloud pool is released");
    return p;
}

/* core.pool(runtime, workers, max_queue) */
static int pool_new(lua_State *L)
{
    lacs_runtime *rt = check_runtime(L, 1);
    lua_Integer workers = luaL_checkinteger(L, 2);
    lua_Integer max_queue = luaL_checkinteger(L, 3);
    luaL_argcheck(L, workers >= 1 && workers <= 1024, 2, "pool_size must be 1..1024");
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
    lacs_task *box = check_task(L, 2);
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

/* ---------------------------------------------------------------- module */

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

static int generic_tostring(lua_State *L)
{
    void *p = lua_touserdata(L, 1);
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "__name");
    lua_pushfstring(L, "%s: %p", lua_tostring(L, -1), p);
    return 1;
}

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc)
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
    static const luaL_Reg runtime_methods[] = {
        {"fd", runtime_fd},     {"pop", runtime_pop},         {"wake", runtime_wake},
        {"wait", runtime_wait}, {"perform", runtime_perform}, {"close", runtime_close},
        {"forked", runtime_forked},
        {"wake_listen", lacs_wake_listen}, {"wake_shutdown", lacs_wake_shutdown},
        {NULL, NULL}};
    static const luaL_Reg pool_methods[] = {
        {"submit", pool_submit}, {"shutdown", pool_shutdown}, {"closed", pool_closed},
        {"queued", pool_queued}, {"forked", pool_forked},
        {"undelivered", pool_undelivered}, {NULL, NULL}};
    static const luaL_Reg task_methods[] = {{"cancel", task_cancel}, {"result", task_result}, {NULL, NULL}};
    static const luaL_Reg template_methods[] = {{NULL, NULL}};
    static const luaL_Reg functions[] = {
        {"runtime", runtime_new}, {"pool", pool_new}, {"task", task_new},
        {"template", template_new},
        {"sign", lacs_signer_sign}, {"now", core_now}, {"platform", core_platform},
        {"backoff", core_backoff},
        {NULL, NULL}};

    char err[256];
    if (acs_http_global_init(err, sizeof err) != 0)
        return luaL_error(L, "%s", err);
    new_class(L, RUNTIME_MT, runtime_methods, runtime_close);
    new_class(L, POOL_MT, pool_methods, pool_gc);
    new_class(L, TASK_MT, task_methods, task_gc);
    new_class(L, TEMPLATE_MT, template_methods, template_gc);
    luaL_newlib(L, functions);
    lua_pushliteral(L, ALICLOUD_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
