/* The bytes of one attempt (acs_wire): the parts every builder shares, the unsigned
 * request, and acs_wire_build, which picks the builder for the request's signature. */
#include "wire_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encode.h"

void acs_wire_free(acs_wire *w)
{
    acs_buf_free(&w->url);
    acs_buf_free(&w->body);
    acs_kvlist_free(&w->headers);
    free(w->string_to_sign);
    w->string_to_sign = NULL;
}

void acs_wire_encode_pairs(acs_buf *b, const acs_kvlist *l)
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
        if (acs_kvlist_adds(dst, src->items[i].name, src->items[i].value) != 0)
            return -1;
    return 0;
}

/* The signer takes borrowed pairs; a view points into a kvlist. */
typedef struct {
    acs_pair *items;
    size_t n;
} pair_view;

static int pair_view_of(pair_view *v, const acs_kvlist *l)
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

const char *acs_wire_content_type(const acs_request *r)
{
    if (r->form.n)
        return "application/x-www-form-urlencoded";
    if (r->content_type)
        return r->content_type;
    return r->body_len ? "application/octet-stream" : NULL;
}

int acs_wire_common_headers(const acs_request *r, acs_kvlist *h)
{
    int rc = 0;
    if (r->user_agent)
        rc |= acs_kvlist_adds(h, "User-Agent", r->user_agent);
    rc |= acs_kvlist_adds(h, "Accept", "application/json");
    if (r->action)
        rc |= acs_kvlist_adds(h, "x-acs-action", r->action);
    if (r->version)
        rc |= acs_kvlist_adds(h, "x-acs-version", r->version);
    rc |= copy_list(h, &r->headers);
    return rc;
}

int acs_wire_body(const acs_request *r, acs_wire *w)
{
    if (r->form.n)
        acs_wire_encode_pairs(&w->body, &r->form);
    else if (r->body_len)
        acs_buf_append(&w->body, r->body, r->body_len);
    return w->body.oom ? -1 : 0;
}

void acs_wire_path_url(const acs_request *r, acs_wire *w)
{
    acs_buf_puts(&w->url, r->scheme);
    acs_buf_puts(&w->url, "://");
    acs_buf_puts(&w->url, r->host);
    acs_buf_puts(&w->url, r->path ? r->path : "/");
    if (r->query.n) {
        acs_buf_putc(&w->url, '?');
        acs_wire_encode_pairs(&w->url, &r->query);
    }
}

int acs_wire_begin_signed(const acs_request *r, acs_wire *w, char nonce[33], char *err,
                          size_t errlen)
{
    if (acs_random_hex(nonce) != 0 || acs_wire_body(r, w) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Last among the signed headers, in this order, as the official SDKs send them. */
static int credential_headers(const acs_request *r, acs_kvlist *h)
{
    int rc = 0;
    if (r->creds.bearer_token) {
        rc |= acs_kvlist_adds(h, "x-acs-bearer-token", r->creds.bearer_token);
        rc |= acs_kvlist_adds(h, "x-acs-signature-type", "BEARERTOKEN");
    } else if (r->creds.security_token) {
        rc |= acs_kvlist_adds(h, "x-acs-security-token", r->creds.security_token);
        rc |= acs_kvlist_adds(h, "x-acs-accesskey-id",
                              r->creds.access_key_id ? r->creds.access_key_id : "");
    }
    return rc;
}

int acs_wire_finish_signed(const acs_request *r, acs_sign_input *in, int rc, acs_wire *w,
                           char *err, size_t errlen)
{
    acs_kvlist *h = &w->headers;
    rc |= credential_headers(r, h);
    pair_view qv = {0}, hv = {0};
    if (rc || pair_view_of(&qv, &r->query) || pair_view_of(&hv, h)) {
        free(qv.items);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    in->method = r->method;
    in->query = qv.items;
    in->nquery = qv.n;
    in->headers = hv.items;
    in->nheaders = hv.n;
    in->access_key_id = r->creds.access_key_id ? r->creds.access_key_id : "";
    in->access_key_secret = r->creds.access_key_secret ? r->creds.access_key_secret : "";
    acs_sign_output out;
    memset(&out, 0, sizeof out);
    rc = acs_sign(in, &out, err, errlen);
    free(qv.items);
    free(hv.items);
    if (rc == 0) {
        rc = acs_kvlist_adds(h, "Authorization", out.authorization);
        w->string_to_sign = out.string_to_sign;
        out.string_to_sign = NULL;
        acs_wire_path_url(r, w);
        if (rc || w->url.oom)
            snprintf(err, errlen, "out of memory");
    }
    acs_sign_output_free(&out);
    return rc ? -1 : 0;
}

/* Unsigned (instance metadata, credential URIs): the URL, the caller's headers and the body,
 * nothing added but the User-Agent and the body's type. */
static int build_unsigned(const acs_request *r, acs_wire *w, char *err, size_t errlen)
{
    int rc = acs_wire_body(r, w);
    if (r->user_agent)
        rc |= acs_kvlist_adds(&w->headers, "User-Agent", r->user_agent);
    rc |= copy_list(&w->headers, &r->headers);
    const char *ct = acs_wire_content_type(r);
    if (ct && !acs_kvlist_get(&r->headers, "Content-Type"))
        rc |= acs_kvlist_adds(&w->headers, "Content-Type", ct);
    acs_wire_path_url(r, w);
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
        rc = acs_wire_build_v3(r, now, w, err, errlen);
    else if (r->style == ACS_STYLE_ROA)
        rc = acs_wire_build_roa_v1(r, now, w, err, errlen);
    else
        rc = acs_wire_build_rpc_v1(r, now, w, err, errlen);
    if (rc != 0)
        acs_wire_free(w);
    return rc;
}
