/* The bytes of one attempt (acs_wire): the parts every builder shares, the unsigned
 * request, and acs_wire_build, which picks the builder for the request's signature. */
#include "wire_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int acs_pair_view_of(acs_pair_view *v, const acs_kvlist *l)
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

int acs_wire_sign(const acs_sign_input *in, acs_sign_output *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    return acs_sign(in, out, err, errlen);
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
