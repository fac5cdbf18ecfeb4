/* A request's lifetime and that of the template its calls share (acs_request_shared). */
#include "request.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

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
