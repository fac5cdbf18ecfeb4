/* alicloud.signer.sign(req) -> table
 *
 * req fields (see shared DESIGN.md, "Signing and protocol"):
 *   style              "rpc" | "roa" | "v3"                                  (required)
 *   method             string, upper-cased for signing (may be "")          (required)
 *   path               string: roa path as signed / v3 canonical (encoded) URI; ignored by rpc
 *   host               string: v3 only, signed as the `host` header when `headers` has none
 *   query, form, headers
 *                      each a list of {name, value} pairs or a plain name -> value table;
 *                      names are strings, values strings, numbers or booleans (tostring'd).
 *                      form is signed by rpc only (with the query); roa / v3 raise on a
 *                      non-empty form: put the encoded form in body instead.
 *   body               string (bytes; v3 hashes it)
 *   hashed_payload     string, v3: used instead of hex(sha256(body))
 *   access_key_id      string (required for roa / v3)
 *   access_key_secret  string (required)
 *   security_token     string, accepted and IGNORED: the signer is pure and adds nothing. To
 *                      sign it, put SecurityToken in query (rpc) or x-acs-security-token in
 *                      headers (roa / v3) yourself.
 * Returns string_to_sign, signature and, where the style has them,
 * canonicalized_query_string (rpc), canonicalized_headers + canonicalized_resource (roa),
 * canonical_request + hashed_payload + signed_headers (v3), authorization (roa, v3).
 * Misuse raises. The secret never appears in the result or in an error message.
 *
 * Memory: the C arrays live in a to-be-closed userdata (__gc before 5.4), so a Lua error raised
 * half-way through collecting frees them; every collected string is anchored in a table on
 * the stack, so the pointers stay valid until acs_sign has run. */
#include "signer.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_compat.h"

#include "sign.h"

#define ARENA_MT "alicloud.signer.arena"

enum { L_QUERY, L_FORM, L_HEADERS, L_COUNT };

typedef struct {
    acs_pair *p;
    size_t n, cap;
} pair_list;

typedef struct {
    pair_list lists[L_COUNT];
    acs_sign_output out;
} arena;

typedef struct {
    lua_State *L;
    arena *a;
    int anchor;           /* stack index of the anchor table */
    lua_Integer nanchor;
} ctx;

static void arena_free(arena *a)
{
    for (int i = 0; i < L_COUNT; i++) {
        free(a->lists[i].p);
        a->lists[i] = (pair_list){NULL, 0, 0};
    }
    acs_sign_output_free(&a->out);
}

static int arena_close(lua_State *L)
{
    arena_free(luaL_checkudata(L, 1, ARENA_MT));
    return 0;
}

static arena *push_arena(lua_State *L)
{
    arena *a = lua_newuserdatauv(L, sizeof *a, 0);
    memset(a, 0, sizeof *a);
    if (luaL_newmetatable(L, ARENA_MT)) {
        lua_pushcfunction(L, arena_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, arena_close);
        lua_setfield(L, -2, "__close");
    }
    lua_setmetatable(L, -2);
    lua_toclose(L, -1);
    return a;
}

static int misuse(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    return luaL_argerror(L, 1, lua_tostring(L, -1));
}

/* Where a value came from, spelt out only for an error message: "field 'method'",
 * "query[3] value", "headers['x-acs-foo'] value". */
typedef struct {
    const char *field;
    lua_Integer index; /* > 0: list element */
    const char *key;   /* map entry */
    const char *part;  /* "name", "value" or NULL */
} label;

static const char *push_label(lua_State *L, const label *lb)
{
    if (lb->index > 0)
        lua_pushfstring(L, "%s[%d] %s", lb->field, (int)lb->index, lb->part); /* %I: 5.3+ */
    else if (lb->key)
        lua_pushfstring(L, "%s['%s'] %s", lb->field, lb->key, lb->part);
    else if (lb->part)
        lua_pushfstring(L, "%s: %s", lb->field, lb->part);
    else
        lua_pushfstring(L, "field '%s'", lb->field);
    return lua_tostring(L, -1);
}

/* Pops the value on top (a string, or with scalars a number/boolean turned into one),
 * anchors it and returns it as a C string. */
static const char *pop_cstr(ctx *c, int scalars, const label *lb)
{
    lua_State *L = c->L;
    int t = lua_type(L, -1);
    if (scalars && t == LUA_TNUMBER) {
        lua_pushvalue(L, -1);
        lua_tolstring(L, -1, NULL); /* converts the copy only */
        lua_remove(L, -2);
    } else if (scalars && t == LUA_TBOOLEAN) {
        lua_pushstring(L, lua_toboolean(L, -1) ? "true" : "false");
        lua_remove(L, -2);
    } else if (t != LUA_TSTRING) {
        const char *tn = luaL_typename(L, -1);
        misuse(L, "%s must be a string%s (got %s)", push_label(L, lb),
               scalars ? ", number or boolean" : "", tn);
    }
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len)
        misuse(L, "%s contains an embedded NUL", push_label(L, lb));
    lua_rawseti(L, c->anchor, ++c->nanchor);
    return s;
}

/* req[field] as an anchored string, or NULL when nil (raises when required). With len, the
 * value is bytes and may contain NULs. */
static const char *opt_field(ctx *c, const char *field, int required, size_t *len)
{
    lua_State *L = c->L;
    label lb = {field, 0, NULL, NULL};
    if (lua_getfield(L, 1, field) == LUA_TNIL && !required) {
        lua_pop(L, 1);
        return NULL;
    }
    if (!len)
        return pop_cstr(c, 0, &lb);
    if (lua_type(L, -1) != LUA_TSTRING)
        misuse(L, "field '%s' must be a string (got %s)", field, luaL_typename(L, -1));
    const char *s = lua_tolstring(L, -1, len);
    lua_rawseti(L, c->anchor, ++c->nanchor);
    return s;
}

static void list_alloc(ctx *c, pair_list *pl, size_t n)
{
    if (n >= (size_t)-1 / sizeof(acs_pair))
        luaL_error(c->L, "alicloud.signer.sign: too many entries");
    pl->p = malloc((n + 1) * sizeof(acs_pair));
    if (!pl->p)
        luaL_error(c->L, "alicloud.signer.sign: out of memory");
    pl->cap = n + 1;
    pl->n = 0;
}

/* Element i of the list at index t: a {name, value} pair. */
static void add_list_entry(ctx *c, pair_list *pl, const char *field, int t, lua_Integer i)
{
    lua_State *L = c->L;
    label lb = {field, i, NULL, "name"};
    if (lua_rawgeti(L, t, i) != LUA_TTABLE) {
        const char *tn = luaL_typename(L, -1);
        lb.part = "element";
        misuse(L, "%s must be a {name, value} pair (got %s)", push_label(L, &lb), tn);
    }
    lua_rawgeti(L, -1, 1);
    const char *name = pop_cstr(c, 0, &lb);
    lua_rawgeti(L, -1, 2);
    lb.part = "value";
    const char *value = pop_cstr(c, 1, &lb);
    pl->p[pl->n++] = (acs_pair){name, value};
    lua_pop(L, 1);
}

/* The name -> value entries of the table at index t. */
static void add_map_entries(ctx *c, pair_list *pl, const char *field, int t)
{
    lua_State *L = c->L;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            misuse(L, "%s: names must be strings (got a %s key)", field, luaL_typename(L, -2));
        lua_pushvalue(L, -2);
        label lb = {field, 0, NULL, "name"};
        const char *name = pop_cstr(c, 0, &lb);
        lb = (label){field, 0, name, "value"};
        const char *value = pop_cstr(c, 1, &lb);
        pl->p[pl->n++] = (acs_pair){name, value};
    }
}

static size_t count_entries(lua_State *L, int t)
{
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        n++;
    }
    return n;
}

/* req[field] (nil, a list of pairs or a map) into pl, with room for `extra` more pairs. */
static void collect(ctx *c, const char *field, pair_list *pl, size_t extra)
{
    lua_State *L = c->L;
    int type = lua_getfield(L, 1, field);
    if (type != LUA_TNIL && type != LUA_TTABLE)
        misuse(L, "field '%s' must be a table (got %s)", field, luaL_typename(L, -1));
    int t = lua_gettop(L);
    size_t total = type == LUA_TTABLE ? count_entries(L, t) : 0;
    int is_list = type == LUA_TTABLE && lua_rawgeti(L, t, 1) == LUA_TTABLE;
    if (type == LUA_TTABLE)
        lua_pop(L, 1);
    if (is_list && total != lua_rawlen(L, t))
        misuse(L, "field '%s' mixes {name, value} pairs and name = value entries", field);
    list_alloc(c, pl, total + extra);
    for (lua_Integer i = 1; is_list && (size_t)i <= total; i++)
        add_list_entry(c, pl, field, t, i);
    if (type == LUA_TTABLE && !is_list)
        add_map_entries(c, pl, field, t);
    lua_pop(L, 1);
}

static acs_sign_style get_style(ctx *c)
{
    static const char *const names[] = {"rpc", "roa", "v3"};
    static const acs_sign_style styles[] = {ACS_SIGN_RPC, ACS_SIGN_ROA, ACS_SIGN_V3};
    const char *s = opt_field(c, "style", 1, NULL);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i]) == 0)
            return styles[i];
    misuse(c->L, "field 'style' must be 'rpc', 'roa' or 'v3' (got '%s')", s);
    return ACS_SIGN_RPC;
}

static int is_host(const char *name)
{
    static const char host[] = "host";
    for (size_t i = 0; i < sizeof host; i++) {
        char ch = name[i];
        if ((ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch) != host[i])
            return 0;
    }
    return 1;
}

/* v3: sign `host` as the host header unless the headers already carry one. */
static void add_host_header(ctx *c, const acs_sign_input *in, pair_list *h)
{
    const char *host = opt_field(c, "host", 0, NULL);
    if (!host || in->style != ACS_SIGN_V3)
        return;
    for (size_t i = 0; i < h->n; i++)
        if (is_host(h->p[i].name))
            return;
    h->p[h->n++] = (acs_pair){"host", host};
}

static void read_request(ctx *c, acs_sign_input *in)
{
    arena *a = c->a;
    memset(in, 0, sizeof *in);
    in->style = get_style(c);
    in->method = opt_field(c, "method", 1, NULL);
    in->path = opt_field(c, "path", 0, NULL);
    in->access_key_id = opt_field(c, "access_key_id", in->style != ACS_SIGN_RPC, NULL);
    in->access_key_secret = opt_field(c, "access_key_secret", 1, NULL);
    in->hashed_payload = opt_field(c, "hashed_payload", 0, NULL);
    (void)opt_field(c, "security_token", 0, NULL); /* type-checked, then ignored (pure) */
    in->body = (const unsigned char *)opt_field(c, "body", 0, &in->body_len);
    collect(c, "query", &a->lists[L_QUERY], 0);
    collect(c, "form", &a->lists[L_FORM], 0);
    collect(c, "headers", &a->lists[L_HEADERS], 1);
    if (in->style != ACS_SIGN_RPC && a->lists[L_FORM].n)
        misuse(c->L, "field 'form' is signed by rpc only; %s requests carry it in body",
               in->style == ACS_SIGN_ROA ? "roa" : "v3");
    add_host_header(c, in, &a->lists[L_HEADERS]);
    in->query = a->lists[L_QUERY].p;
    in->nquery = a->lists[L_QUERY].n;
    in->form = a->lists[L_FORM].p;
    in->nform = a->lists[L_FORM].n;
    in->headers = a->lists[L_HEADERS].p;
    in->nheaders = a->lists[L_HEADERS].n;
}

static void set_field(lua_State *L, const char *k, const char *v)
{
    if (v) {
        lua_pushstring(L, v);
        lua_setfield(L, -2, k);
    }
}

static void push_result(lua_State *L, const acs_sign_output *o)
{
    lua_createtable(L, 0, 6);
    set_field(L, "canonicalized_query_string", o->canonicalized_query_string);
    set_field(L, "canonicalized_headers", o->canonicalized_headers);
    set_field(L, "canonicalized_resource", o->canonicalized_resource);
    set_field(L, "canonical_request", o->canonical_request);
    set_field(L, "hashed_payload", o->hashed_payload);
    set_field(L, "signed_headers", o->signed_headers);
    set_field(L, "string_to_sign", o->string_to_sign);
    set_field(L, "signature", o->signature);
    set_field(L, "authorization", o->authorization);
}

int lacs_signer_sign(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    ctx c = {L, push_arena(L), 0, 0}; /* index 2: to-be-closed arena */
    lua_newtable(L);                  /* index 3: anchors every collected string */
    c.anchor = lua_gettop(L);
    acs_sign_input in;
    read_request(&c, &in);
    char err[256];
    if (acs_sign(&in, &c.a->out, err, sizeof err) != 0)
        return luaL_error(L, "alicloud.signer.sign: %s", err);
    push_result(L, &c.a->out);
    arena_free(c.a); /* now on every version: before 5.4 there is no __close */
    return 1;
}
