/* The pure Alibaba Cloud request signer: RPC signature v1 (HMAC-SHA1), ROA (HMAC-SHA1,
 * "Authorization: acs AK:SIG") and V3 (ACS3-HMAC-SHA256).
 *
 * PURE: it adds no parameter and no header. Timestamp, nonce, AccessKeyId (rpc), SecurityToken,
 * Content-MD5, x-acs-content-sha256, ... are the caller's job; the signer only canonicalizes
 * what it is given and signs it. Exact rules: shared reference/openapi-protocol.md section 4;
 * every rule below is pinned by a vector in vectors/signatures.json (spec/signer_spec.lua).
 *
 * The secret is used only as HMAC key material. It is never copied into the output or an
 * error message (the rpc key "secret&" lives in a scratch buffer that is wiped). */
#ifndef ACS_SIGN_H
#define ACS_SIGN_H

#include <stddef.h>

#include "buf.h"

typedef enum { ACS_SIGN_RPC, ACS_SIGN_ROA, ACS_SIGN_V3 } acs_sign_style;

typedef struct {
    const char *name;  /* NUL-terminated UTF-8, decoded (not percent-encoded) */
    const char *value;
} acs_pair;

typedef struct {
    acs_sign_style style;
    const char *method;      /* required (may be ""); upper-cased (ASCII) for the string-to-sign */
    const char *path;        /* rpc: ignored (always "/").
                              * roa: the path exactly as signed (not encoded here); NULL -> "/".
                              * v3:  the canonical, already percent-encoded URI; NULL or "" -> "/". */
    const acs_pair *query;   size_t nquery;   /* decoded, any order; duplicates are kept */
    const acs_pair *form;    size_t nform;    /* rpc: signed together with the query; else ignored */
    const acs_pair *headers; size_t nheaders; /* roa / v3: the exact header set present when
                                               * signing; names are matched case-insensitively */
    const unsigned char *body; size_t body_len; /* v3: hex(sha256(body)) is the last line of the
                                                 * canonical request; NULL with 0 = empty body */
    const char *hashed_payload; /* v3, optional: used instead of hashing body when non-NULL
                                 * (streamed bodies; other signature algorithms' test vectors) */
    const char *access_key_id;     /* roa / v3: required, goes into the authorization */
    const char *access_key_secret; /* required */
} acs_sign_input;

typedef struct {
    char *canonicalized_query_string; /* rpc */
    char *canonicalized_headers;      /* roa */
    char *canonicalized_resource;     /* roa */
    char *canonical_request;          /* v3 */
    char *hashed_payload;             /* v3 */
    char *signed_headers;             /* v3 */
    char *string_to_sign;             /* all */
    char *signature;                  /* all: base64 (rpc, roa) or lower-case hex (v3) */
    char *authorization;              /* roa, v3: the Authorization header value */
} acs_sign_output;                    /* fields not produced by a style are NULL */

/* 0 on success. -1 on failure with a message in err (bad input, out of memory, OpenSSL
 * failure); out is then all NULL. out need not be initialised; free it with
 * acs_sign_output_free after success. err may be NULL or errlen 0. Thread-safe. */
int acs_sign(const acs_sign_input *in, acs_sign_output *out, char *err, size_t errlen);

/* Frees every field and sets it to NULL; safe on a zeroed or already freed output. Nothing
 * secret is in it, so nothing needs wiping. */
void acs_sign_output_free(acs_sign_output *out);

/* RPC signing for a caller that has already percent-encoded every parameter (the request
 * builder sends the same bytes in its URL and body, so each pair is encoded only once).
 * p[i].off and p[i].len locate encode(name) "=" encode(value) in enc; p[i].name is the raw
 * name, the sort key. Sorts p in place (stable), appends the string to sign to sts and the
 * base64 signature to sig. NULL on success, else a message (no secret in it). */
typedef struct {
    const char *name;
    size_t off, len;
} acs_rpc_param;

const char *acs_sign_rpc_encoded(const char *method, const char *secret, const char *enc,
                                 acs_rpc_param *p, size_t n, acs_buf *sts, acs_buf *sig);

#endif
