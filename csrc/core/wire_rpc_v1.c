/* RPC, signature v1: everything signed travels in the query; the form in the body. */
#include "wire_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dates.h"
#include "encode.h"

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

int acs_wire_build_rpc_v1(const acs_request *r, long long now, acs_wire *w, char *err, size_t errlen)
{
    char ts[32], nonce[33];
    acs_fmt_iso8601(now, ts);
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
        int rc = acs_wire_common_headers(r, &w->headers);
        const char *ct = acs_wire_content_type(r);
        if (ct)
            rc |= acs_kvlist_adds(&w->headers, "Content-Type", ct);
        if (rc)
            msg = "out of memory";
    }
    if (msg)
        snprintf(err, errlen, "%s", msg);
    return msg ? -1 : 0;
}
