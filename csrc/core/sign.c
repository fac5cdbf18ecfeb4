/* The pure signer. Read sign_rpc, sign_roa and sign_v3 at the bottom first: each is the
 * algorithm of its style, step by step; everything above them is a small shared helper. */
#include "sign.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "encode.h"

typedef enum { ST_OK = 0, ST_NOMEM, ST_CRYPTO } status;

/* ---------------------------------------------------------------- small string helpers */

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Byte order of the ASCII-lower-cased names (locale independent). */
static int name_cmp_ci(const char *a, const char *b)
{
    while (*a && lower(*a) == lower(*b)) {
        a++;
        b++;
    }
    return (int)(unsigned char)lower(*a) - (int)(unsigned char)lower(*b);
}

static int prefix_ci(const char *s, const char *lower_prefix)
{
    while (*lower_prefix && lower(*s) == *lower_prefix) {
        s++;
        lower_prefix++;
    }
    return *lower_prefix == '\0';
}

static void put_lower(acs_buf *b, const char *s)
{
    while (*s)
        acs_buf_putc(b, lower(*s++));
}

static void put_upper(acs_buf *b, const char *s)
{
    while (*s)
        acs_buf_putc(b, upper(*s++));
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The value of the first header called lname (compared case-insensitively), or NULL. */
static const char *header_get(const acs_sign_input *in, const char *lname)
{
    for (size_t i = 0; i < in->nheaders; i++)
        if (name_cmp_ci(in->headers[i].name, lname) == 0)
            return in->headers[i].value;
    return NULL;
}

static status take(acs_buf *b, char **field)
{
    *field = acs_buf_steal(b);
    return *field ? ST_OK : ST_NOMEM;
}

/* ---------------------------------------------------------------- sorted parameters */

/* Parameters sort on the raw (unencoded) name in byte order, ties in input order. Byte order
 * equals the JS/Java UTF-16 order the official SDKs use except for astral characters versus
 * U+E000..U+FFFF, which no real parameter name contains. */
typedef struct {
    const acs_pair *p;
    size_t seq;
} pair_ref;

static int pair_ref_cmp(const void *a, const void *b)
{
    const pair_ref *x = a, *y = b;
    int c = strcmp(x->p->name, y->p->name); /* strcmp compares as unsigned char */
    if (c)
        return c;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* a sorted, or NULL when out of memory. Free with free(). */
static pair_ref *sort_pairs(const acs_pair *a, size_t n)
{
    if (n >= (size_t)-1 / sizeof(pair_ref))
        return NULL;
    pair_ref *r = malloc((n + 1) * sizeof *r);
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++)
        r[i] = (pair_ref){&a[i], i};
    qsort(r, n, sizeof *r, pair_ref_cmp);
    return r;
}

/* ---------------------------------------------------------------- canonical headers */

typedef struct {
    const char *name; /* as given; compared and written lower-cased */
    size_t voff;      /* offset of the normalized, NUL-terminated value in the value arena */
    const char *value;
    size_t seq;
} hdr_ref;

static int hdr_ref_cmp(const void *a, const void *b)
{
    const hdr_ref *x = a, *y = b;
    int c = name_cmp_ci(x->name, y->name);
    if (!c)
        c = strcmp(x->value, y->value);
    if (!c)
        c = (x->seq > y->seq) - (x->seq < y->seq);
    return c;
}

static int header_signed(acs_sign_style style, const char *name)
{
    if (prefix_ci(name, "x-acs-"))
        return 1;
    return style == ACS_SIGN_V3 &&
           (name_cmp_ci(name, "host") == 0 || name_cmp_ci(name, "content-type") == 0);
}

/* Appends the value trimmed of ASCII blanks (JS trim() / Go TrimSpace for ASCII input).
 * roa: \t \n \r \f inside are mapped to a space first, as the Node ROA signer does. That
 * mapping is Node only (vector roa_header_value_whitespace, flagged sdk_divergence: Java keeps
 * the TAB, Go and Python sign the raw value); we follow the vector. v3 keeps inner blanks. */
static void put_header_value(acs_buf *b, const char *v, acs_sign_style style)
{
    const char *end = v + strlen(v);
    while (v < end && is_blank(*v))
        v++;
    while (end > v && is_blank(end[-1]))
        end--;
    for (; v < end; v++) {
        int map = style == ACS_SIGN_ROA && (*v == '\t' || *v == '\n' || *v == '\r' || *v == '\f');
        acs_buf_putc(b, map ? ' ' : *v);
    }
    acs_buf_putc(b, '\0');
}

/* The signed headers, values normalized into arena, sorted by (lower name, value). */
static hdr_ref *collect_headers(const acs_sign_input *in, acs_buf *arena, size_t *count)
{
    if (in->nheaders >= (size_t)-1 / sizeof(hdr_ref))
        return NULL;
    hdr_ref *h = malloc((in->nheaders + 1) * sizeof *h);
    size_t n = 0;
    if (!h)
        return NULL;
    for (size_t i = 0; i < in->nheaders; i++) {
        if (!header_signed(in->style, in->headers[i].name))
            continue;
        h[n] = (hdr_ref){in->headers[i].name, arena->len, NULL, i};
        put_header_value(arena, in->headers[i].value, in->style);
        n++;
    }
    if (arena->oom) {
        free(h);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        h[i].value = acs_buf_cstr(arena) + h[i].voff;
    qsort(h, n, sizeof *h, hdr_ref_cmp);
    *count = n;
    return h;
}

/* lines: "name:value\n" per distinct lower-cased name, sorted; a name given more than once
 * (in any case) gets its values sorted and joined by "," (openapi-util test, §4.4 #6).
 * names (may be NULL): the same names joined by ";" (v3 SignedHeaders). */
static status canon_headers(const acs_sign_input *in, acs_buf *lines, acs_buf *names)
{
    acs_buf arena = ACS_BUF_INIT;
    size_t n = 0;
    hdr_ref *h = collect_headers(in, &arena, &n);
    if (!h) {
        acs_buf_free(&arena);
        return ST_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int same = i > 0 && name_cmp_ci(h[i - 1].name, h[i].name) == 0;
        if (same) {
            acs_buf_putc(lines, ',');
        } else {
            if (i > 0)
                acs_buf_putc(lines, '\n');
            put_lower(lines, h[i].name);
            acs_buf_putc(lines, ':');
            if (names && i > 0)
                acs_buf_putc(names, ';');
            if (names)
                put_lower(names, h[i].name);
        }
        acs_buf_puts(lines, h[i].value);
    }
    if (n > 0)
        acs_buf_putc(lines, '\n');
    free(h);
    acs_buf_free(&arena);
    return ST_OK; /* buffer oom is reported when the caller takes the result */
}

/* ---------------------------------------------------------------- HMAC finishing */

static status hmac_sha1_base64(const char *key, size_t keylen, const acs_buf *msg, acs_buf *sig)
{
    unsigned char mac[ACS_SHA1_LEN];
    if (acs_hmac_sha1(key, keylen, acs_buf_cstr(msg), msg->len, mac) != 0)
        return ST_CRYPTO;
    return acs_base64(sig, mac, sizeof mac) == 0 ? ST_OK : ST_NOMEM;
}

static status hmac_sha256_hex(const char *key, const acs_buf *msg, acs_buf *sig)
{
    unsigned char mac[ACS_SHA256_LEN];
    if (acs_hmac_sha256(key, strlen(key), acs_buf_cstr(msg), msg->len, mac) != 0)
        return ST_CRYPTO;
    return acs_hex(sig, mac, sizeof mac) == 0 ? ST_OK : ST_NOMEM;
}

/* ================================================================ RPC (signature v1) */

/* Stable sort by raw name: binary insertion, so O(n log n) strcmp and one memmove per
 * element; no allocation. Parameter lists are short and often nearly sorted already. */
static void sort_params(acs_rpc_param *p, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        acs_rpc_param x = p[i];
        size_t lo = 0, hi = i;
        while (lo < hi) { /* first slot whose name sorts after x: ties keep input order */
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(p[mid].name, x.name) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(p + lo + 1, p + lo, (i - lo) * sizeof *p);
        p[lo] = x;
    }
}

/* StringToSign = METHOD&%2F&encode(canonical), canonical being the sorted k=v joined by "&"
 * (double encoding: ':' ends up as %253A). Encodes segment by segment, "&" as "%26", so the
 * canonical string itself is never needed. */
static void rpc_string_to_sign(const char *method, const char *enc, const acs_rpc_param *p,
                               size_t n, acs_buf *sts)
{
    size_t len = strlen(method) + 5; /* worst case, so each segment is encoded in one pass */
    for (size_t i = 0; i < n; i++)
        len += 3 + 3 * p[i].len;
    if (acs_buf_reserve(sts, len) != 0)
        return;
    put_upper(sts, method);
    acs_buf_append(sts, "&%2F&", 5);
    for (size_t i = 0; i < n; i++) {
        if (i)
            acs_buf_append(sts, "%26", 3);
        acs_pct_encode(sts, enc + p[i].off, p[i].len);
    }
}

/* Signature = base64(HMAC-SHA1(secret + "&", StringToSign)). */
static status rpc_sign_encoded(const char *method, const char *secret, const char *enc,
                               acs_rpc_param *p, size_t n, acs_buf *sts, acs_buf *sig)
{
    sort_params(p, n);
    rpc_string_to_sign(method, enc, p, n, sts);
    acs_buf key = ACS_BUF_INIT;
    acs_buf_puts(&key, secret);
    acs_buf_putc(&key, '&');
    status st = key.oom || sts->oom ? ST_NOMEM
                                    : hmac_sha1_base64(acs_buf_cstr(&key), key.len, sts, sig);
    acs_wipe(key.data, key.cap);
    acs_buf_free(&key);
    return st;
}

const char *acs_sign_rpc_encoded(const char *method, const char *secret, const char *enc,
                                 acs_rpc_param *p, size_t n, acs_buf *sts, acs_buf *sig)
{
    if (!method || !secret || (n && !enc))
        return "method, secret and parameters are required";
    status st = rpc_sign_encoded(method, secret, enc, p, n, sts, sig);
    return st == ST_OK ? NULL : st == ST_NOMEM ? "out of memory" : "OpenSSL signing failed";
}

/* Each pair of query ∪ form is encoded once into enc; the canonical query (sorted
 * encode(k)=encode(v) joined by "&", "k=" when empty) is then assembled from those bytes. */
static status sign_rpc(const acs_sign_input *in, acs_sign_output *out)
{
    size_t n = in->nquery + in->nform;
    if (n >= (size_t)-1 / sizeof(acs_rpc_param))
        return ST_NOMEM;
    acs_rpc_param *p = malloc((n + 1) * sizeof *p);
    if (!p)
        return ST_NOMEM;
    acs_buf enc = ACS_BUF_INIT, q = ACS_BUF_INIT, sts = ACS_BUF_INIT, sig = ACS_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const acs_pair *pair = i < in->nquery ? &in->query[i] : &in->form[i - in->nquery];
        p[i] = (acs_rpc_param){pair->name, enc.len, 0};
        acs_pct_encode_pair(&enc, pair->name, pair->value);
        p[i].len = enc.len - p[i].off;
    }
    status st = enc.oom ? ST_NOMEM
                        : rpc_sign_encoded(in->method, in->access_key_secret, acs_buf_cstr(&enc),
                                           p, n, &sts, &sig);
    if (acs_buf_reserve(&q, enc.len + n) == 0) /* the same bytes plus n - 1 '&' */
        for (size_t i = 0; i < n; i++) {
            if (i)
                acs_buf_putc(&q, '&');
            acs_buf_append(&q, acs_buf_cstr(&enc) + p[i].off, p[i].len);
        }
    if (st == ST_OK)
        st = take(&q, &out->canonicalized_query_string);
    if (st == ST_OK)
        st = take(&sts, &out->string_to_sign);
    if (st == ST_OK)
        st = take(&sig, &out->signature);
    free(p);
    acs_buf_free(&enc);
    acs_buf_free(&q);
    acs_buf_free(&sts);
    acs_buf_free(&sig);
    return st;
}

/* ================================================================ ROA */

/* path + "?" + k=v sorted by raw key, joined by "&", keys and values NOT encoded.
 * An empty value is written as just "k": the documentation, Go, Python and Java
 * (getCanonicalizedQueryStringForROA) agree; Node writes "k=". No vector covers it. */
static status roa_resource(const acs_sign_input *in, acs_buf *res)
{
    pair_ref *r = sort_pairs(in->query, in->nquery);
    if (!r)
        return ST_NOMEM;
    acs_buf_puts(res, in->path ? in->path : "/");
    for (size_t i = 0; i < in->nquery; i++) {
        acs_buf_putc(res, i ? '&' : '?');
        acs_buf_puts(res, r[i].p->name);
        if (r[i].p->value[0]) {
            acs_buf_putc(res, '=');
            acs_buf_puts(res, r[i].p->value);
        }
    }
    free(r);
    return ST_OK;
}

/* One of the four fixed lines. An absent header gives an empty line, as the documentation
 * and Go/Python/Java do; Node alone renders a missing Accept as "undefined" (every vector
 * sends Accept, so none decides it). */
static void roa_fixed_line(acs_buf *sts, const acs_sign_input *in, const char *lname)
{
    const char *v = header_get(in, lname);
    if (v)
        acs_buf_puts(sts, v);
    acs_buf_putc(sts, '\n');
}

/* StringToSign = METHOD\nAccept\nContent-MD5\nContent-Type\nDate\n
 *              + CanonicalizedHeaders (x-acs-*) + CanonicalizedResource;
 * Signature = base64(HMAC-SHA1(secret, StringToSign)); Authorization = "acs AK:Signature". */
static status sign_roa(const acs_sign_input *in, acs_sign_output *out)
{
    acs_buf hdrs = ACS_BUF_INIT, res = ACS_BUF_INIT, sts = ACS_BUF_INIT;
    acs_buf sig = ACS_BUF_INIT, auth = ACS_BUF_INIT;
    status st = canon_headers(in, &hdrs, NULL);
    if (st == ST_OK)
        st = roa_resource(in, &res);
    put_upper(&sts, in->method);
    acs_buf_putc(&sts, '\n');
    roa_fixed_line(&sts, in, "accept");
    roa_fixed_line(&sts, in, "content-md5");
    roa_fixed_line(&sts, in, "content-type");
    roa_fixed_line(&sts, in, "date");
    acs_buf_append(&sts, acs_buf_cstr(&hdrs), hdrs.len);
    acs_buf_append(&sts, acs_buf_cstr(&res), res.len);
    const char *secret = in->access_key_secret;
    if (st == ST_OK)
        st = hmac_sha1_base64(secret, strlen(secret), &sts, &sig);
    acs_buf_printf(&auth, "acs %s:%s", in->access_key_id, acs_buf_cstr(&sig));
    if (st == ST_OK)
        st = take(&hdrs, &out->canonicalized_headers);
    if (st == ST_OK)
        st = take(&res, &out->canonicalized_resource);
    if (st == ST_OK)
        st = take(&sts, &out->string_to_sign);
    if (st == ST_OK)
        st = take(&sig, &out->signature);
    if (st == ST_OK)
        st = take(&auth, &out->authorization);
    acs_buf_free(&hdrs);
    acs_buf_free(&res);
    acs_buf_free(&sts);
    acs_buf_free(&sig);
    acs_buf_free(&auth);
    return st;
}

/* ================================================================ V3 (ACS3-HMAC-SHA256) */

/* k=encode(v) sorted by raw key, joined by "&"; "k=" when empty. Keys are NOT encoded, as in
 * Node, Go and Python (vector v3_query_keys_need_encoding, flagged sdk_divergence: Java
 * encodes them). We follow the vector; real API parameter names never need encoding. */
static status v3_query(const acs_sign_input *in, acs_buf *q)
{
    pair_ref *r = sort_pairs(in->query, in->nquery);
    if (!r)
        return ST_NOMEM;
    for (size_t i = 0; i < in->nquery; i++) {
        if (i)
            acs_buf_putc(q, '&');
        acs_buf_puts(q, r[i].p->name);
        acs_buf_putc(q, '=');
        acs_pct_encode(q, r[i].p->value, strlen(r[i].p->value));
    }
    free(r);
    return ST_OK;
}

static status v3_payload(const acs_sign_input *in, acs_buf *payload)
{
    if (in->hashed_payload)
        return acs_buf_puts(payload, in->hashed_payload) == 0 ? ST_OK : ST_NOMEM;
    if (acs_sha256_hex(payload, in->body, in->body_len) != 0)
        return payload->oom ? ST_NOMEM : ST_CRYPTO;
    return ST_OK;
}

/* The canonical URI is the path as given (already encoded by the caller). Node additionally
 * replaces the FIRST "+", "*", "%7E" in it; Java and Python do not, and an encoded path never
 * contains them, so we do not either. */
static void v3_canonical_request(const acs_sign_input *in, const acs_buf *q, const acs_buf *hdrs,
                                 const acs_buf *names, const acs_buf *payload, acs_buf *creq)
{
    put_upper(creq, in->method);
    acs_buf_putc(creq, '\n');
    acs_buf_puts(creq, in->path && in->path[0] ? in->path : "/");
    acs_buf_printf(creq, "\n%s\n%s\n%s\n%s", acs_buf_cstr(q), acs_buf_cstr(hdrs),
                   acs_buf_cstr(names), acs_buf_cstr(payload));
}

/* CanonicalRequest = METHOD\nURI\nQuery\nCanonicalHeaders\n SignedHeaders\nHashedPayload
 * (CanonicalHeaders ends in "\n"; only host, content-type and x-acs-* are signed);
 * StringToSign = "ACS3-HMAC-SHA256\n" + hex(sha256(CanonicalRequest));
 * Signature = hex(HMAC-SHA256(secret, StringToSign)). */
static status sign_v3(const acs_sign_input *in, acs_sign_output *out)
{
    acs_buf q = ACS_BUF_INIT, hdrs = ACS_BUF_INIT, names = ACS_BUF_INIT, pay = ACS_BUF_INIT;
    acs_buf creq = ACS_BUF_INIT, sts = ACS_BUF_INIT, sig = ACS_BUF_INIT, auth = ACS_BUF_INIT;
    status st = v3_query(in, &q);
    if (st == ST_OK)
        st = canon_headers(in, &hdrs, &names);
    if (st == ST_OK)
        st = v3_payload(in, &pay);
    v3_canonical_request(in, &q, &hdrs, &names, &pay, &creq);
    acs_buf_puts(&sts, "ACS3-HMAC-SHA256\n");
    if (st == ST_OK && acs_sha256_hex(&sts, acs_buf_cstr(&creq), creq.len) != 0)
        st = creq.oom || sts.oom ? ST_NOMEM : ST_CRYPTO;
    if (st == ST_OK)
        st = hmac_sha256_hex(in->access_key_secret, &sts, &sig);
    acs_buf_printf(&auth, "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s",
                   in->access_key_id, acs_buf_cstr(&names), acs_buf_cstr(&sig));
    if (st == ST_OK)
        st = take(&creq, &out->canonical_request);
    if (st == ST_OK)
        st = take(&pay, &out->hashed_payload);
    if (st == ST_OK)
        st = take(&names, &out->signed_headers);
    if (st == ST_OK)
        st = take(&sts, &out->string_to_sign);
    if (st == ST_OK)
        st = take(&sig, &out->signature);
    if (st == ST_OK)
        st = take(&auth, &out->authorization);
    acs_buf *all[] = {&q, &hdrs, &names, &pay, &creq, &sts, &sig, &auth};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        acs_buf_free(all[i]);
    return st;
}

/* ================================================================ entry points */

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int check_pairs(const acs_pair *p, size_t n, const char *what, char *err, size_t errlen)
{
    if (n && !p)
        return fail(err, errlen, "%s: NULL array with %zu entries", what, n);
    for (size_t i = 0; i < n; i++)
        if (!p[i].name || !p[i].value)
            return fail(err, errlen, "%s[%zu]: NULL name or value", what, i);
    return 0;
}

static int check_input(const acs_sign_input *in, char *err, size_t errlen)
{
    if (in->style != ACS_SIGN_RPC && in->style != ACS_SIGN_ROA && in->style != ACS_SIGN_V3)
        return fail(err, errlen, "unknown signature style %d", (int)in->style);
    if (!in->method)
        return fail(err, errlen, "method is required");
    if (!in->access_key_secret)
        return fail(err, errlen, "access_key_secret is required");
    if (in->style != ACS_SIGN_RPC && !in->access_key_id)
        return fail(err, errlen, "access_key_id is required");
    if (in->body_len && !in->body)
        return fail(err, errlen, "body is NULL but body_len is %zu", in->body_len);
    if (check_pairs(in->query, in->nquery, "query", err, errlen) ||
        check_pairs(in->form, in->nform, "form", err, errlen) ||
        check_pairs(in->headers, in->nheaders, "headers", err, errlen))
        return -1;
    return 0;
}

int acs_sign(const acs_sign_input *in, acs_sign_output *out, char *err, size_t errlen)
{
    if (!in || !out)
        return fail(err, errlen, "NULL input or output");
    memset(out, 0, sizeof *out);
    if (check_input(in, err, errlen) != 0)
        return -1;
    status st = in->style == ACS_SIGN_RPC   ? sign_rpc(in, out)
                : in->style == ACS_SIGN_ROA ? sign_roa(in, out)
                                            : sign_v3(in, out);
    if (st == ST_OK)
        return 0;
    acs_sign_output_free(out);
    return fail(err, errlen, "%s", st == ST_NOMEM ? "out of memory" : "OpenSSL signing failed");
}

void acs_sign_output_free(acs_sign_output *out)
{
    if (!out)
        return;
    char **f[] = {&out->canonicalized_query_string, &out->canonicalized_headers,
                  &out->canonicalized_resource, &out->canonical_request, &out->hashed_payload,
                  &out->signed_headers, &out->string_to_sign, &out->signature,
                  &out->authorization};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
}
