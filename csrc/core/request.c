#include "request.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <time.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "encode.h"
#include "sign.h"

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int acs_kvlist_add(acs_kvlist *l, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        acs_kv *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    char *n = dup_n(name, nlen);
    char *v = dup_n(value, vlen);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    l->items[l->n].name = n;
    l->items[l->n].value = v;
    l->n++;
    return 0;
}

static int kv_add(acs_kvlist *l, const char *name, const char *value)
{
    return acs_kvlist_add(l, name, strlen(name), value, strlen(value));
}

const char *acs_kvlist_get(const acs_kvlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->items[i].name, name) == 0)
            return l->items[i].value;
    return NULL;
}

void acs_kvlist_free(acs_kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].name);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

void acs_request_init(acs_request *r)
{
    memset(r, 0, sizeof *r);
    r->retry.max_attempts = 1;
}

static void free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void acs_request_free(acs_request *r)
{
    free(r->scheme);
    free(r->host);
    free(r->method);
    free(r->path);
    free(r->action);
    free(r->version);
    acs_kvlist_free(&r->query);
    acs_kvlist_free(&r->form);
    acs_kvlist_free(&r->headers);
    free(r->body);
    free(r->content_type);
    free(r->creds.access_key_id);
    free_secret(r->creds.access_key_secret);
    free_secret(r->creds.security_token);
    free_secret(r->creds.bearer_token);
    free(r->user_agent);
    free(r->ca_file);
    free(r->proxy);
    free(r->no_proxy);
    memset(r, 0, sizeof *r);
}

void acs_wire_free(acs_wire *w)
{
    acs_buf_free(&w->url);
    acs_buf_free(&w->body);
    acs_kvlist_free(&w->headers);
    free(w->string_to_sign);
    w->string_to_sign = NULL;
}

/* ---- time formats (locale-independent) ---- */

static void fmt_iso8601(long long now, char out[32])
{
    /* gmtime_r fields are bounded; the cast keeps gcc's truncation check quiet. */
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100);
}

static void fmt_http_date(long long now, char out[40])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
             tm.tm_mday % 100, months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000,
             tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100);
}

/* ---- helpers ---- */

/* "k=v&k=v" with both sides percent-encoded, in list order. */
static void encode_pairs(acs_buf *b, const acs_kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            acs_buf_putc(b, '&');
        acs_pct_encode(b, l->items[i].name, strlen(l->items[i].name));
        acs_buf_putc(b, '=');
        acs_pct_encode(b, l->items[i].value, strlen(l->items[i].value));
    }
}

static int copy_list(acs_kvlist *dst, const acs_kvlist *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (kv_add(dst, src->items[i].name, src->items[i].value) != 0)
            return -1;
    return 0;
}

/* The signer takes borrowed pairs; these views point into kvlists. */
typedef struct {
    acs_pair *items;
    size_t n;
} pair_view;

static int view_of(pair_view *v, const acs_kvlist *l)
{
    v->n = l->n;
    v->items = NULL;
    if (!l->n)
        return 0;
    v->items = malloc(l->n * sizeof *v->items);
    if (!v->items)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        v->items[i].name = l->items[i].name;
        v->items[i].value = l->items[i].value;
    }
    return 0;
}

static const char *body_content_type(const acs_request *r)
{
    if (r->form.n)
        return "application/x-www-form-urlencoded";
    if (r->content_type)
        return r->content_type;
    return r->body_len ? "application/octet-stream" : NULL;
}

static int add_common_headers(const acs_request *r, acs_kvlist *h)
{
    int rc = 0;
    if (r->user_agent)
        rc |= kv_add(h, "User-Agent", r->user_agent);
    rc |= kv_add(h, "Accept", "application/json");
    if (r->action)
        rc |= kv_add(h, "x-acs-action", r->action);
    if (r->version)
        rc |= kv_add(h, "x-acs-version", r->version);
    rc |= copy_list(h, &r->headers);
    return rc;
}

/* Body bytes: the encoded form when there is one, otherwise the raw body. */
static int build_body(const acs_request *r, acs_wire *w)
{
    if (r->form.n)
        encode_pairs(&w->body, &r->form);
    else if (r->body_len)
        acs_buf_append(&w->body, r->body, r->body_len);
    return w->body.oom ? -1 : 0;
}

static int sign_into(const acs_sign_input *in, acs_sign_output *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    return acs_sign(in, out, err, errlen);
}

/* ---- RPC, signature v1: everything signed travels in the query; form in the body ---- */

static int build_rpc_v1(const acs_request *r, long long now, acs_wire *w, char *err, size_t errlen)
{
    char ts[32], nonce[33];
    fmt_iso8601(now, ts);
    if (acs_random_hex(nonce) != 0) {
        snprintf(err, errlen, "cannot generate a nonce");
        return -1;
    }
    acs_kvlist q = {0};
    int rc = copy_list(&q, &r->query);
    if (!acs_kvlist_get(&q, "Action") && r->action)
        rc |= kv_add(&q, "Action", r->action);
    if (!acs_kvlist_get(&q, "Version") && r->version)
        rc |= kv_add(&q, "Version", r->version);
    if (!acs_kvlist_get(&q, "Format"))
        rc |= kv_add(&q, "Format", "JSON");
    rc |= kv_add(&q, "Timestamp", ts);
    rc |= kv_add(&q, "SignatureNonce", nonce);
    rc |= kv_add(&q, "SignatureMethod", "HMAC-SHA1");
    rc |= kv_add(&q, "SignatureVersion", "1.0");
    if (r->creds.bearer_token) {
        rc |= kv_add(&q, "BearerToken", r->creds.bearer_token);
        rc |= kv_add(&q, "SignatureType", "BEARERTOKEN");
    } else {
        rc |= kv_add(&q, "AccessKeyId", r->creds.access_key_id ? r->creds.access_key_id : "");
        if (r->creds.security_token)
            rc |= kv_add(&q, "SecurityToken", r->creds.security_token);
    }
    pair_view qv = {0}, fv = {0};
    if (rc || view_of(&qv, &q) || view_of(&fv, &r->form)) {
        snprintf(err, errlen, "out of memory");
        free(qv.items);
        acs_kvlist_free(&q);
        return -1;
    }
    acs_sign_input in = {
        .style = ACS_SIGN_RPC, .method = r->method, .path = "/",
        .query = qv.items, .nquery = qv.n, .form = fv.items, .nform = fv.n,
        .access_key_secret = r->creds.access_key_secret ? r->creds.access_key_secret : "",
    };
    acs_sign_output out;
    rc = sign_into(&in, &out, err, errlen);
    free(qv.items);
    free(fv.items);
    if (rc == 0) {
        /* The URL carries the query only: form parameters are signed but travel in the body. */
        acs_buf_puts(&w->url, r->scheme);
        acs_buf_puts(&w->url, "://");
        acs_buf_puts(&w->url, r->host);
        acs_buf_puts(&w->url, "/?");
        encode_pairs(&w->url, &q);
        acs_buf_puts(&w->url, "&Signature=");
        acs_pct_encode(&w->url, out.signature, strlen(out.signature));
        w->string_to_sign = out.string_to_sign;
        out.string_to_sign = NULL;
        rc = add_common_headers(r, &w->headers);
        const char *ct = body_content_type(r);
        if (ct)
            rc |= kv_add(&w->headers, "Content-Type", ct);
        rc |= build_body(r, w);
        if (rc || w->url.oom)
            snprintf(err, errlen, "out of memory");
    }
    acs_sign_output_free(&out);
    acs_kvlist_free(&q);
    return rc ? -1 : 0;
}

/* ---- ROA and V3 share the URL shape: path plus percent-encoded query ---- */

static void roa_url(const acs_request *r, acs_wire *w)
{
    acs_buf_puts(&w->url, r->scheme);
    acs_buf_puts(&w->url, "://");
    acs_buf_puts(&w->url, r->host);
    acs_buf_puts(&w->url, r->path ? r->path : "/");
    if (r->query.n) {
        acs_buf_putc(&w->url, '?');
        encode_pairs(&w->url, &r->query);
    }
}

static int build_roa_v1(const acs_request *r, long long now, acs_wire *w, char *err, size_t errlen)
{
    char date[40], nonce[33];
    fmt_http_date(now, date);
    if (acs_random_hex(nonce) != 0 || build_body(r, w) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    acs_buf md5 = ACS_BUF_INIT;
    acs_md5_base64(&md5, (const unsigned char *)acs_buf_cstr(&w->body), w->body.len);
    acs_kvlist *h = &w->headers;
    int rc = add_common_headers(r, h);
    rc |= kv_add(h, "Date", date);
    rc |= kv_add(h, "Content-MD5", acs_buf_cstr(&md5));
    const char *ct = body_content_type(r);
    rc |= kv_add(h, "Content-Type", ct ? ct : "application/octet-stream");
    rc |= kv_add(h, "x-acs-signature-method", "HMAC-SHA1");
    rc |= kv_add(h, "x-acs-signature-version", "1.0");
    rc |= kv_add(h, "x-acs-signature-nonce", nonce);
    if (r->creds.bearer_token) {
        rc |= kv_add(h, "x-acs-bearer-token", r->creds.bearer_token);
        rc |= kv_add(h, "x-acs-signature-type", "BEARERTOKEN");
    } else if (r->creds.security_token) {
        rc |= kv_add(h, "x-acs-security-token", r->creds.security_token);
        rc |= kv_add(h, "x-acs-accesskey-id", r->creds.access_key_id ? r->creds.access_key_id : "");
    }
    acs_buf_free(&md5);
    pair_view qv = {0}, hv = {0};
    if (rc || md5.oom || view_of(&qv, &r->query) || view_of(&hv, h)) {
        free(qv.items);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    acs_sign_input in = {
        .style = ACS_SIGN_ROA, .method = r->method, .path = r->path ? r->path : "/",
        .query = qv.items, .nquery = qv.n, .headers = hv.items, .nheaders = hv.n,
        .access_key_id = r->creds.access_key_id ? r->creds.access_key_id : "",
        .access_key_secret = r->creds.access_key_secret ? r->creds.access_key_secret : "",
    };
    acs_sign_output out;
    rc = sign_into(&in, &out, err, errlen);
    free(qv.items);
    free(hv.items);
    if (rc == 0) {
        rc = kv_add(h, "Authorization", out.authorization);
        w->string_to_sign = out.string_to_sign;
        out.string_to_sign = NULL;
        roa_url(r, w);
        if (rc || w->url.oom)
            snprintf(err, errlen, "out of memory");
    }
    acs_sign_output_free(&out);
    return rc ? -1 : 0;
}

static int build_v3(const acs_request *r, long long now, acs_wire *w, char *err, size_t errlen)
{
    char date[32], nonce[33];
    fmt_iso8601(now, date);
    if (acs_random_hex(nonce) != 0 || build_body(r, w) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    acs_buf sha = ACS_BUF_INIT;
    acs_sha256_hex(&sha, (const unsigned char *)acs_buf_cstr(&w->body), w->body.len);
    acs_kvlist *h = &w->headers;
    int rc = add_common_headers(r, h);
    rc |= kv_add(h, "host", r->host);
    rc |= kv_add(h, "x-acs-date", date);
    rc |= kv_add(h, "x-acs-signature-nonce", nonce);
    rc |= kv_add(h, "x-acs-content-sha256", acs_buf_cstr(&sha));
    const char *ct = body_content_type(r);
    if (ct)
        rc |= kv_add(h, "Content-Type", ct);
    if (r->creds.bearer_token) {
        rc |= kv_add(h, "x-acs-bearer-token", r->creds.bearer_token);
        rc |= kv_add(h, "x-acs-signature-type", "BEARERTOKEN");
    } else if (r->creds.security_token) {
        rc |= kv_add(h, "x-acs-security-token", r->creds.security_token);
        rc |= kv_add(h, "x-acs-accesskey-id", r->creds.access_key_id ? r->creds.access_key_id : "");
    }
    acs_buf_free(&sha);
    pair_view qv = {0}, hv = {0};
    if (rc || sha.oom || view_of(&qv, &r->query) || view_of(&hv, h)) {
        free(qv.items);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    acs_sign_input in = {
        .style = ACS_SIGN_V3, .method = r->method,
        .path = r->style == ACS_STYLE_ROA && r->path ? r->path : "/",
        .query = qv.items, .nquery = qv.n, .headers = hv.items, .nheaders = hv.n,
        .body = (const unsigned char *)acs_buf_cstr(&w->body), .body_len = w->body.len,
        .access_key_id = r->creds.access_key_id ? r->creds.access_key_id : "",
        .access_key_secret = r->creds.access_key_secret ? r->creds.access_key_secret : "",
    };
    acs_sign_output out;
    rc = sign_into(&in, &out, err, errlen);
    free(qv.items);
    free(hv.items);
    if (rc == 0) {
        rc = kv_add(h, "Authorization", out.authorization);
        w->string_to_sign = out.string_to_sign;
        out.string_to_sign = NULL;
        roa_url(r, w);
        if (rc || w->url.oom)
            snprintf(err, errlen, "out of memory");
    }
    acs_sign_output_free(&out);
    return rc ? -1 : 0;
}

static int build_unsigned(const acs_request *r, acs_wire *w, char *err, size_t errlen)
{
    int rc = build_body(r, w);
    if (r->user_agent)
        rc |= kv_add(&w->headers, "User-Agent", r->user_agent);
    rc |= copy_list(&w->headers, &r->headers);
    const char *ct = body_content_type(r);
    if (ct && !acs_kvlist_get(&r->headers, "Content-Type"))
        rc |= kv_add(&w->headers, "Content-Type", ct);
    roa_url(r, w);
    if (rc || w->url.oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int acs_wire_build(const acs_request *r, long long now, acs_wire *w, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    int rc;
    if (r->sig == ACS_SIG_NONE)
        rc = build_unsigned(r, w, err, errlen);
    else if (r->sig == ACS_SIG_V3)
        rc = build_v3(r, now, w, err, errlen);
    else if (r->style == ACS_STYLE_ROA)
        rc = build_roa_v1(r, now, w, err, errlen);
    else
        rc = build_rpc_v1(r, now, w, err, errlen);
    if (rc != 0)
        acs_wire_free(w);
    return rc;
}
