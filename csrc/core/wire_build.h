/* What the wire builders (wire.c, wire_rpc_v1.c, wire_roa_v1.c, wire_v3.c) share: the
 * parts every signed request has, and the per-signature builders wire.c dispatches to.
 * Internal to the request builder. */
#ifndef ACS_WIRE_BUILD_H
#define ACS_WIRE_BUILD_H

#include <stddef.h>

#include "request.h"
#include "sign.h"

/* "k=v&k=v" with both sides percent-encoded, in list order. */
void acs_wire_encode_pairs(acs_buf *b, const acs_kvlist *l);

/* The body's Content-Type: form-encoded when there is a form, else the caller's, else
 * application/octet-stream for a body and NULL without one. */
const char *acs_wire_content_type(const acs_request *r);

/* User-Agent, Accept, x-acs-action and x-acs-version, then the caller's headers. */
int acs_wire_common_headers(const acs_request *r, acs_kvlist *h);

/* Body bytes: the encoded form when there is one, otherwise the raw body. */
int acs_wire_body(const acs_request *r, acs_wire *w);

/* scheme://host/path?query (ROA, V3, unsigned). */
void acs_wire_path_url(const acs_request *r, acs_wire *w);

/* The start of a signed builder (ROA v1, V3): a fresh nonce and the body bytes in w.
 * -1 with "out of memory" in err on failure. */
int acs_wire_begin_signed(const acs_request *r, acs_wire *w, char nonce[33], char *err,
                          size_t errlen);

/* The end of a signed builder, after its own headers in w->headers (rc: whether adding them
 * failed): the credential headers, the signature over r's query and those headers, the
 * Authorization header, the string to sign and the URL. in holds the builder's style, path
 * and body; the rest is filled in here. 0, or -1 with a message in err. */
int acs_wire_finish_signed(const acs_request *r, acs_sign_input *in, int rc, acs_wire *w,
                           char *err, size_t errlen);

int acs_wire_build_rpc_v1(const acs_request *r, long long now, acs_wire *w, char *err,
                          size_t errlen);
int acs_wire_build_roa_v1(const acs_request *r, long long now, acs_wire *w, char *err,
                          size_t errlen);
int acs_wire_build_v3(const acs_request *r, long long now, acs_wire *w, char *err,
                      size_t errlen);

#endif
