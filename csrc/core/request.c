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

/* name and value share one allocation (value follows name's NUL): half the mallocs, and
 * freeing the name frees both. */
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
    if (nlen > (size_t)-1 / 2 - 2 || vlen > (size_t)-1 / 2)
        return -1;
    char *n = malloc(nlen + vlen + 2);
    if (!n)
        return -1;
    memcpy(n, name, nlen);
    n[nlen] = '\0';
    memcpy(n + nlen + 1, value, vlen);
    n[nlen + 1 + vlen] = '\0';
    l->items[l->n].name = n;
    l->items[l->n].value = n + nlen + 1;
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
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].name); /* the value lives in the same block */
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
    free(r->method);
    free(r->path);
    free(r->action);
    acs_kvlist_free(&r->query);
    acs_kvlist_free(&r->form);
    acs_kvlist_free(&r->headers);
    free(r->body);
    free(r->content_type);
    if (r->shared) { /* the common strings are borrowed: only a version of its own is ours */
        if (r->version != r->shared->common.version)
            free(r->version);
        acs_request_shared_release(r->shared);
    } else {
        free(r->scheme);
        free(r->host);
        free(r->version);
        free(r->creds.access_key_id);
        free_secret(r->creds.access_key_secret);
        free_secret(r->creds.security_token);
        free_secret(r->creds.bearer_token);
        free(r->user_agent);
        free(r->ca_file);
        free(r->proxy);
        free(r->no_proxy);
    }
    memset(r, 0, sizeof *r);
}

acs_request_shared *acs_request_shared_new(void)
{
    static atomic_ullong next_serial = 1;
    acs_request_shared *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    s->serial = atomic_fetch_add(&next_serial, 1);
    acs_request_init(&s->common);
    return s;
}

void acs_request_shared_release(acs_request_shared *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    acs_request_free(&s->common);
    free(s);
}

void acs_request_borrow(acs_request *r, acs_request_shared *s)
{
    const acs_request *c = &s->common;
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    r->shared = s;
    r->sig = c->sig;
    r->scheme = c->scheme;
    r->host = c->host;
    r->version = c->version;
    r->user_agent = c->user_agent;
    r->ca_file = c->ca_file;
    r->proxy = c->proxy;
    r->no_proxy = c->no_proxy;
    r->creds = c->creds;
    r->insecure = c->insecure;
    r->connect_timeout_ms = c->connect_timeout_ms;
    r->read_timeout_ms = c->read_timeout_ms;
    r->timeout_ms = c->timeout_ms;
    r->retry = c->retry;
    r->max_response_bytes = c->max_response_bytes;
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

/* UTC calendar fields from seconds since the epoch, without gmtime_r and snprintf: those
 * cost more than signing the rest of the request. Days to civil date: H. Hinnant's algorithm
 * (proleptic Gregorian, exact for any day count). */
typedef struct {
    long long year;
    int mon, mday, hour, min, sec, wday; /* mon 1..12, wday 0 = Sunday */
} utc_fields;

static utc_fields utc_of(long long now)
{
    long long days = now / 86400, secs = now % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    utc_fields t = {.hour = (int)(secs / 3600), .min = (int)(secs / 60 % 60),
                    .sec = (int)(secs % 60), .wday = (int)((days % 7 + 11) % 7)}; /* 1970-01-01: Thu */
    long long z = days + 719468; /* days since 0000-03-01 */
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;                                      /* [0, 146096] */
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365], from March */
    long long mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    t.mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    t.mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    t.year = yoe + era * 400 + (t.mon <= 2);
    return t;
}

/* width decimal digits of v, zero-padded; returns the end */
static char *put_digits(char *p, long long v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

static void fmt_iso8601(long long now, char out[32])
{
    utc_fields t = utc_of(now);
    char *p = put_digits(out, (t.year % 10000 + 10000) % 10000, 4); /* YYYY-MM-DDTHH:MM:SSZ */
    *p++ = '-';
    p = put_digits(p, t.mon, 2);
    *p++ = '-';
    p = put_digits(p, t.mday, 2);
    *p++ = 'T';
    p = put_digits(p, t.hour, 2);
    *p++ = ':';
    p = put_digits(p, t.min, 2);
    *p++ = ':';
    p = put_digits(p, t.sec, 2);
    memcpy(p, "Z", 2);
}

static void fmt_http_date(long long now, char out[40])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    utc_fields t = utc_of(now); /* Www, DD Mon YYYY HH:MM:SS GMT */
    memcpy(out, days[t.wday], 3);
    memcpy(out + 3, ", ", 2);
    char *p = put_digits(out + 5, t.mday, 2);
    *p++ = ' ';
    memcpy(p, months[t.mon - 1], 3);
    p[3] = ' ';
    p = put_digits(p + 4, (t.year % 10000 + 10000) % 10000, 4);
    *p++ = ' ';
    p = put_digits(p, t.hour, 2);
    *p++ = ':';
    p = put_digits(p, t.min, 2);
    *p++ = ':';
    p = put_digits(p, t.sec, 2);
    memcpy(p, " GMT", 5);
}

/* ---- helpers ---- */

/* "k=v&k=v" with both sides percent-encoded, in list order. */
static void encode_pairs(acs_buf *b, const acs_kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            acs_buf_putc(b, '&');
        acs_pct_encode_pair(b, l->items[i].name, l->items[i].value);
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

/* Appends "&"(unless first) encode(name)=encode(value) and records where the pair landed. */
static void encode_param(acs_buf *enc, int first, const char *name, const char *value,
                         acs_rpc_param *p)
{
    if (!first)
        acs_buf_putc(enc, '&');
    *p = (acs_rpc_param){name, enc->len, 0};
    acs_pct_encode_pair(enc, name, value);
    p->len = enc->len - p->off;
}

/* URL query, then form, each pair encoded once into enc: the signer sorts the recorded
 * pairs, and the URL and body take their halves of enc as they are. */
static const char *rpc_sign_and_send(const acs_request *r, const acs_pair *add, size_t na,
                                     acs_rpc_param *p, acs_buf *enc, acs_buf *sts, acs_wire *w)
{
    const acs_kvlist *q = &r->query, *f = &r->form;
    size_t i = 0, worst = 0; /* 3 bytes per byte and a separator: one allocation */
    for (size_t j = 0; j < q->n; j++)
        worst += 3 * (strlen(q->items[j].name) + strlen(q->items[j].value)) + 2;
    for (size_t j = 0; j < na; j++)
        worst += 3 * (strlen(add[j].name) + strlen(add[j].value)) + 2;
    for (size_t j = 0; j < f->n; j++)
        worst += 3 * (strlen(f->items[j].name) + strlen(f->items[j].value)) + 2;
    acs_buf_reserve(enc, worst);
    for (size_t j = 0; j < q->n; j++, i++)
        encode_param(enc, i == 0, q->items[j].name, q->items[j].value, &p[i]);
    for (size_t j = 0; j < na; j++, i++)
        encode_param(enc, i == 0, add[j].name, add[j].value, &p[i]);
    size_t qlen = enc->len; /* the form follows, its pairs joined by '&' again */
    for (size_t j = 0; j < f->n; j++, i++)
        encode_param(enc, j == 0, f->items[j].name, f->items[j].value, &p[i]);
    if (enc->oom)
        return "out of memory";
    acs_buf sig = ACS_BUF_INIT;
    const char *secret = r->creds.access_key_secret ? r->creds.access_key_secret : "";
    const char *msg = acs_sign_rpc_encoded(r->method, secret, enc->data, p, i, sts, &sig);
    if (!msg) {
        acs_buf *u = &w->url;
        size_t slen = strlen(r->scheme), hlen = strlen(r->host);
        acs_buf_reserve(u, slen + 3 + hlen + 2 + qlen + 11 + 3 * sig.len);
        acs_buf_append(u, r->scheme, slen);
        acs_buf_append(u, "://", 3);
        acs_buf_append(u, r->host, hlen);
        acs_buf_append(u, "/?", 2);
        acs_buf_append(u, enc->data, qlen);
        acs_buf_append(u, "&Signature=", 11);
        acs_pct_encode(u, sig.data, sig.len);
        if (f->n)
            acs_buf_append(&w->body, enc->data + qlen, enc->len - qlen);
        else if (r->body_len)
            acs_buf_append(&w->body, r->body, r->body_len);
        w->string_to_sign = acs_buf_steal(sts);
        if (u->oom || w->body.oom || !w->string_to_sign)
            msg = "out of memory";
    }
    acs_buf_free(&sig);
    return msg;
}

static int build_rpc_v1(const acs_request *r, long long now, acs_wire *w, char *err, size_t errlen)
{
    char ts[32], nonce[33];
    fmt_iso8601(now, ts);
    if (acs_random_hex(nonce) != 0) {
        snprintf(err, errlen, "cannot generate a nonce");
        return -1;
    }
    /* What signing adds, after the caller's parameters (the URL keeps this order). */
    acs_pair add[9];
    size_t na = 0;
    if (!acs_kvlist_get(&r->query, "Action") && r->action)
        add[na++] = (acs_pair){"Action", r->action};
    if (!acs_kvlist_get(&r->query, "Version") && r->version)
        add[na++] = (acs_pair){"Version", r->version};
    if (!acs_kvlist_get(&r->query, "Format"))
        add[na++] = (acs_pair){"Format", "JSON"};
    add[na++] = (acs_pair){"Timestamp", ts};
    add[na++] = (acs_pair){"SignatureNonce", nonce};
    add[na++] = (acs_pair){"SignatureMethod", "HMAC-SHA1"};
    add[na++] = (acs_pair){"SignatureVersion", "1.0"};
    if (r->creds.bearer_token) {
        add[na++] = (acs_pair){"BearerToken", r->creds.bearer_token};
        add[na++] = (acs_pair){"SignatureType", "BEARERTOKEN"};
    } else {
        add[na++] = (acs_pair){"AccessKeyId", r->creds.access_key_id ? r->creds.access_key_id : ""};
        if (r->creds.security_token)
            add[na++] = (acs_pair){"SecurityToken", r->creds.security_token};
    }
    size_t n = r->query.n + na + r->form.n;
    acs_rpc_param *p = n < (size_t)-1 / sizeof *p ? malloc(n * sizeof *p) : NULL;
    acs_buf enc = ACS_BUF_INIT, sts = ACS_BUF_INIT;
    const char *msg = p ? rpc_sign_and_send(r, add, na, p, &enc, &sts, w) : "out of memory";
    free(p);
    acs_buf_free(&enc);
    acs_buf_free(&sts);
    if (!msg) {
        int rc = add_common_headers(r, &w->headers);
        const char *ct = body_content_type(r);
        if (ct)
            rc |= kv_add(&w->headers, "Content-Type", ct);
        if (rc)
            msg = "out of memory";
    }
    if (msg)
        snprintf(err, errlen, "%s", msg);
    return msg ? -1 : 0;
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
