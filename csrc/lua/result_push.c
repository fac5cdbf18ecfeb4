/* A finished call's value for Lua: its decoded body alone (a plain success) or the raw
 * result table (metadata and body), and what the task frees once Lua has it. */
#include "binding.h"
#include "json_tree.h"

/* The metadata of a result: what alicloud.meta and errors read besides the body. */
void lacs_push_result_meta(lua_State *L, const acs_result *r)
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
        if (r->timeout_kind != ACS_TIMEOUT_NONE) {
            static const char *const kinds[] = {
                [ACS_TIMEOUT_CONNECT] = "connect",
                [ACS_TIMEOUT_READ] = "read",
                [ACS_TIMEOUT_TOTAL] = "total",
            };
            lua_pushstring(L, kinds[r->timeout_kind]);
            lua_setfield(L, -2, "timeout");
        }
    }
    if (r->retryable) { /* the core's verdict: errors.lua makes it the error's `retryable` */
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "retryable");
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
    lacs_push_result_meta(L, r);
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
           r->doc->len > 0 && (r->doc->data[0] == ACS_TAPE_OBJECT || r->doc->data[0] == ACS_TAPE_ARRAY);
}

/* Pushes a finished call's value for Lua and frees what Lua will not read: the decoded body of
 * a plain success (returns 1), or the raw result table (returns 0). */
int lacs_push_delivered(lua_State *L, acs_task *t)
{
    int plain = is_plain_success(&t->res);
    if (plain)
        lacs_push_json(L, t->res.doc);
    else
        push_result(L, t);
    acs_task_delivered(t, plain);
    return plain;
}
