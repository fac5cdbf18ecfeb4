/* Reads a task description (task_description.h: the fields and their meaning) from Lua
 * tables into an acs_request, copying every string into C memory. */
#include "task_description.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "retry.h"

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

static const char *const FIELD_NAMES[] = {
#define LACS_FIELD_NAME(id, name) name,
    LACS_TASK_FIELDS(LACS_FIELD_NAME)
#undef LACS_FIELD_NAME
};

void lacs_push_task_fields(lua_State *L)
{
    luaL_checkstack(L, LACS_FIELD_COUNT, NULL);
    for (int i = 0; i < LACS_FIELD_COUNT; i++)
        lua_pushstring(L, FIELD_NAMES[i]);
}

/* Pushes field `f` of the description at stack index t (an absolute index). */
static void get(lua_State *L, int t, int f)
{
    lua_pushvalue(L, lua_upvalueindex(f + 1));
    lua_rawget(L, t);
}

static const char *opt_string(lua_State *L, int t, int f, size_t *len)
{
    get(L, t, f);
    const char *s = string_at(L, -1, FIELD_NAMES[f], len);
    lua_pop(L, 1); /* the string stays alive: the spec table holds it */
    return s;
}

static char *copy_field(lua_State *L, int t, int f)
{
    get(L, t, f);
    char *p = copy_string_at(L, -1, FIELD_NAMES[f]);
    lua_pop(L, 1);
    return p;
}

static double opt_number(lua_State *L, int t, int f, double def)
{
    get(L, t, f);
    double v = luaL_optnumber(L, -1, def);
    lua_pop(L, 1);
    return v;
}

static int opt_bool(lua_State *L, int t, int f)
{
    get(L, t, f);
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

static void copy_pairs_field(lua_State *L, int t, int f, acs_kvlist *out)
{
    get(L, t, f);
    copy_pairs_at(L, -1, FIELD_NAMES[f], out);
    lua_pop(L, 1);
}

static long to_ms(double seconds)
{
    return seconds > 0 ? (long)(seconds * 1000.0 + 0.5) : 0;
}

void lacs_read_common(lua_State *L, int t, acs_request *r)
{
    t = lua_absindex(L, t);
    const char *sig = opt_string(L, t, LACS_FIELD_SIGNATURE_VERSION, NULL);
    r->sig = !sig || strcmp(sig, "v1") == 0 ? ACS_SIG_V1
           : strcmp(sig, "v3") == 0         ? ACS_SIG_V3
           : strcmp(sig, "none") == 0       ? ACS_SIG_NONE
                                            : (luaL_error(L, "unknown signature_version '%s'", sig), ACS_SIG_V1);
    r->scheme = copy_field(L, t, LACS_FIELD_SCHEME);
    r->host = copy_field(L, t, LACS_FIELD_HOST);
    r->version = copy_field(L, t, LACS_FIELD_VERSION);
    r->user_agent = copy_field(L, t, LACS_FIELD_USER_AGENT);
    r->ca_file = copy_field(L, t, LACS_FIELD_CA_FILE);
    r->proxy = copy_field(L, t, LACS_FIELD_PROXY);
    r->no_proxy = copy_field(L, t, LACS_FIELD_NO_PROXY);
    r->creds.access_key_id = copy_field(L, t, LACS_FIELD_ACCESS_KEY_ID);
    r->creds.access_key_secret = copy_field(L, t, LACS_FIELD_ACCESS_KEY_SECRET);
    r->creds.security_token = copy_field(L, t, LACS_FIELD_SECURITY_TOKEN);
    r->creds.bearer_token = copy_field(L, t, LACS_FIELD_BEARER_TOKEN);
    r->insecure = opt_bool(L, t, LACS_FIELD_INSECURE);
    r->connect_timeout_ms = to_ms(opt_number(L, t, LACS_FIELD_CONNECT_TIMEOUT, 0));
    r->read_timeout_ms = to_ms(opt_number(L, t, LACS_FIELD_READ_TIMEOUT, 0));
    r->timeout_ms = to_ms(opt_number(L, t, LACS_FIELD_TIMEOUT, 0));
    r->retry.max_attempts = (int)opt_number(L, t, LACS_FIELD_MAX_ATTEMPTS, ACS_RETRY_MAX_ATTEMPTS);
    r->retry.backoff_base = opt_number(L, t, LACS_FIELD_BACKOFF_BASE, ACS_RETRY_BACKOFF_BASE);
    r->retry.backoff_cap = opt_number(L, t, LACS_FIELD_BACKOFF_CAP, ACS_RETRY_BACKOFF_CAP);
    r->retry.unsafe = opt_bool(L, t, LACS_FIELD_RETRY_UNSAFE);
    double max_bytes = opt_number(L, t, LACS_FIELD_MAX_RESPONSE_BYTES, 0);
    r->max_response_bytes = max_bytes > 0 ? (size_t)max_bytes : 0;
}

void lacs_read_call(lua_State *L, int t, acs_request *r)
{
    t = lua_absindex(L, t);
    const char *style = opt_string(L, t, LACS_FIELD_STYLE, NULL);
    r->style = style && strcmp(style, "roa") == 0 ? ACS_STYLE_ROA : ACS_STYLE_RPC;
    r->action = copy_field(L, t, LACS_FIELD_ACTION);
    char *version = copy_field(L, t, LACS_FIELD_VERSION);
    if (version) {
        if (!r->shared) /* a borrowed version is the template's */
            free(r->version);
        r->version = version;
    }
    r->method = copy_field(L, t, LACS_FIELD_METHOD);
    r->path = copy_field(L, t, LACS_FIELD_PATH);
    copy_pairs_field(L, t, LACS_FIELD_QUERY, &r->query);
    copy_pairs_field(L, t, LACS_FIELD_FORM, &r->form);
    copy_pairs_field(L, t, LACS_FIELD_HEADERS, &r->headers);
    size_t body_len = 0;
    const char *body = opt_string(L, t, LACS_FIELD_BODY, &body_len);
    if (body && body_len) {
        if (!(r->body = malloc(body_len)))
            luaL_error(L, "out of memory");
        memcpy(r->body, body, body_len);
        r->body_len = body_len;
    }
    r->content_type = copy_field(L, t, LACS_FIELD_CONTENT_TYPE);
    r->read_only = opt_bool(L, t, LACS_FIELD_READ_ONLY);
    r->raw = opt_bool(L, t, LACS_FIELD_RAW);
}
