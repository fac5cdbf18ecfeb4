/* The task description: the one Lua<->C contract for a call. Lua describes a call in named
 * fields; C copies them into an acs_request (csrc/core/request.h) that a worker can run
 * without the Lua state. The callers are lua/alicloud/request.lua (client calls) and
 * lua/alicloud/plain_http.lua (unsigned one-off requests).
 *
 *   core.template(common) -> template    the common fields, copied into C once per client
 *                                        and credential snapshot
 *   core.task(template, call) -> task    a call borrowing the template's common fields
 *   core.task(description) -> task       a one-off call: common and call fields in one table
 *
 * Common fields (all optional but scheme and host; strings unless said otherwise):
 *   signature_version   "v1" (default) | "v3" | "none" (unsigned: nothing is added)
 *   scheme, host        "https" | "http"; host[:port]
 *   version             the API version (a call's own version overrides it)
 *   user_agent, ca_file, proxy, no_proxy
 *   access_key_id, access_key_secret, security_token, bearer_token
 *   insecure            boolean: skip TLS verification
 *   connect_timeout, read_timeout, timeout    seconds (numbers); nil or 0: no limit
 *   max_attempts        number; nil: core.defaults.max_attempts (ACS_RETRY_MAX_ATTEMPTS)
 *   backoff_base, backoff_cap   seconds; nil: core.defaults (ACS_RETRY_BACKOFF_*)
 *   retry_unsafe        boolean: retry 5xx and read timeouts of calls that change state
 *   max_response_bytes  number; nil or 0: no limit
 *
 * Call fields:
 *   style               "rpc" (default) | "roa"
 *   action, version, method (required), path
 *   query, form, headers   lists of {name, value} string pairs
 *   body                a string (bytes), sent when form is empty
 *   content_type        the body's; nil: the default
 *   read_only           boolean: safe to retry after the request was sent
 *   raw                 boolean: deliver the body as received (no JSON parse on the worker)
 *
 * Misuse (a wrong type, a NUL byte in a string, a missing scheme, host or method) raises.
 * Descriptions are plain tables: read raw, their metatables ignored. */
#ifndef LACS_TASK_DESCRIPTION_H
#define LACS_TASK_DESCRIPTION_H

#include <lua.h>

#include "lua_compat.h"

#include "request.h"

/* Every field name above, once: the readers find them by these ids. */
#define LACS_TASK_FIELDS(X)                                                                  \
    X(SIGNATURE_VERSION, "signature_version") X(SCHEME, "scheme") X(HOST, "host")           \
    X(VERSION, "version") X(USER_AGENT, "user_agent") X(CA_FILE, "ca_file")                 \
    X(PROXY, "proxy") X(NO_PROXY, "no_proxy") X(ACCESS_KEY_ID, "access_key_id")             \
    X(ACCESS_KEY_SECRET, "access_key_secret") X(SECURITY_TOKEN, "security_token")           \
    X(BEARER_TOKEN, "bearer_token") X(INSECURE, "insecure")                                 \
    X(CONNECT_TIMEOUT, "connect_timeout") X(READ_TIMEOUT, "read_timeout")                   \
    X(TIMEOUT, "timeout") X(MAX_ATTEMPTS, "max_attempts") X(BACKOFF_BASE, "backoff_base")   \
    X(BACKOFF_CAP, "backoff_cap") X(RETRY_UNSAFE, "retry_unsafe")                           \
    X(MAX_RESPONSE_BYTES, "max_response_bytes") X(STYLE, "style") X(ACTION, "action")       \
    X(METHOD, "method") X(PATH, "path") X(QUERY, "query") X(FORM, "form")                   \
    X(HEADERS, "headers") X(BODY, "body") X(CONTENT_TYPE, "content_type")                   \
    X(READ_ONLY, "read_only") X(RAW, "raw")

#define LACS_FIELD_ID(id, name) LACS_FIELD_##id,
enum { LACS_TASK_FIELDS(LACS_FIELD_ID) LACS_FIELD_COUNT };
#undef LACS_FIELD_ID

/* Pushes the field names as LACS_FIELD_COUNT strings, in id order. core.task and
 * core.template carry them as upvalues: reading a field is then a raw look-up by an interned
 * string, cheaper than lua_getfield with a C string (docs/PERFORMANCE.md). */
void lacs_push_task_fields(lua_State *L);

/* Inside a C function with those upvalues: the common fields of the table at stack index t
 * into r. */
void lacs_read_common(lua_State *L, int t, acs_request *r);

/* Likewise the call fields (a version replaces r's). */
void lacs_read_call(lua_State *L, int t, acs_request *r);

#endif
