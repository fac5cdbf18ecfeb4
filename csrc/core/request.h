/* What a worker needs to perform one API call: copied into C memory at submit, immutable
 * afterwards, so any thread may read it. Per-attempt values (timestamp, nonce, signature)
 * are added when the wire request is built, never stored here. */
#ifndef ACS_REQUEST_H
#define ACS_REQUEST_H

#include <stdatomic.h>
#include <stddef.h>

#include "buf.h"
#include "kvlist.h"

typedef enum { ACS_STYLE_RPC, ACS_STYLE_ROA } acs_api_style;
/* NONE: an unsigned request to a URL made of scheme, host, path and query (instance
 * metadata, credential URIs); nothing is added but the headers given. */
typedef enum { ACS_SIG_V1, ACS_SIG_V3, ACS_SIG_NONE } acs_sig_version;

typedef struct {
    char *access_key_id;
    char *access_key_secret; /* wiped on free */
    char *security_token;
    char *bearer_token;
} acs_creds;

typedef struct {
    int max_attempts;           /* >= 1 */
    double backoff_base;        /* seconds */
    double backoff_cap;         /* seconds */
    int unsafe;                 /* retry 5xx / read timeouts even for actions that change state */
} acs_retry_policy;

typedef struct {
    acs_api_style style;
    acs_sig_version sig;
    char *scheme;               /* "https" or "http" */
    char *host;                 /* host[:port] */
    char *method;               /* upper case */
    char *path;                 /* ROA: encoded path; RPC: "/" */
    char *action;
    char *version;
    int read_only;              /* Describe*, List*, ...: safe to retry after the request was sent */
    int raw;                    /* the caller wants the body as it is: no parsing on the worker */
    acs_kvlist query;           /* business and common parameters, without signing ones */
    acs_kvlist form;            /* sent form-encoded in the body */
    acs_kvlist headers;         /* extra headers */
    char *body;                 /* raw body (ROA JSON, strings); used when form is empty */
    size_t body_len;
    char *content_type;         /* for body; NULL = default */
    acs_creds creds;
    char *user_agent;
    /* transport: all in milliseconds; 0 = no limit */
    long connect_timeout_ms;
    long read_timeout_ms;
    long timeout_ms;            /* whole call, across attempts and backoff */
    acs_retry_policy retry;
    int insecure;
    char *ca_file;
    char *proxy;                /* NULL = libcurl's environment handling */
    char *no_proxy;
    size_t max_response_bytes;  /* 0 = no limit */
    /* Non-NULL: the common strings (scheme, host, version unless the call set its own,
     * credentials, user agent, CA file, proxies) are borrowed from these shared fields,
     * which this request holds a reference to, instead of copied per call. */
    struct acs_request_shared *shared;
} acs_request;

void acs_request_init(acs_request *r);
void acs_request_free(acs_request *r);

/* The fields the calls of one client share, made once (a template) and borrowed by its
 * calls' requests. Immutable once made; reference-counted, so the last of the template and
 * its requests frees it (secrets wiped), whichever thread that is. */
typedef struct acs_request_shared {
    atomic_int refs;
    unsigned long long serial;  /* unique in the process: tells two templates apart */
    acs_request common;
} acs_request_shared;

acs_request_shared *acs_request_shared_new(void);   /* refs = 1; NULL on out of memory */
void acs_request_shared_release(acs_request_shared *s);
/* Makes `r` borrow the common fields of `s` (and hold a reference to it). */
void acs_request_borrow(acs_request *r, acs_request_shared *s);

/* The bytes that go on the wire for one attempt: built by wire.c (and, per signature,
 * wire_rpc_v1.c, wire_roa_v1.c, wire_v3.c). */
typedef struct {
    acs_buf url;
    acs_kvlist headers;
    acs_buf body;
    char *string_to_sign;       /* kept for SignatureDoesNotMatch diagnosis; holds no secret */
} acs_wire;

void acs_wire_free(acs_wire *w);

/* Builds and signs one attempt at time `now` (seconds since the epoch) with a fresh nonce. */
int acs_wire_build(const acs_request *r, long long now, acs_wire *w, char *err, size_t errlen);

#endif
