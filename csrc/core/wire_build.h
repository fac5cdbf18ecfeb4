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

/* The signer takes borrowed pairs; these views point into kvlists. */
typedef struct {
    acs_pair *items;
    size_t n;
} acs_pair_view;

int acs_pair_view_of(acs_pair_view *v, const acs_kvlist *l);

/* The body's Content-Type: form-encoded when there is a form, else the caller's, else
 * application/octet-stream for a body and NULL without one. */
const char *acs_wire_content_type(const acs_request *r);

/* User-Agent, Accept, x-acs-action and x-acs-version, then the caller's headers. */
int acs_wire_common_headers(const acs_request *r, acs_kvlist *h);

/* Body bytes: the encoded form when there is one, otherwise the raw body. */
int acs_wire_body(const acs_request *r, acs_wire *w);

/* scheme://host/path?query (ROA, V3, unsigned). */
void acs_wire_path_url(const acs_request *r, acs_wire *w);

int acs_wire_sign(const acs_sign_input *in, acs_sign_output *out, char *err, size_t errlen);

int acs_wire_build_rpc_v1(const acs_request *r, long long now, acs_wire *w, char *err,
                          size_t errlen);
int acs_wire_build_roa_v1(const acs_request *r, long long now, acs_wire *w, char *err,
                          size_t errlen);
int acs_wire_build_v3(const acs_request *r, long long now, acs_wire *w, char *err,
                      size_t errlen);

#endif
