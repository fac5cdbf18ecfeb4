/* Signature V3 (ACS3-HMAC-SHA256), for RPC and ROA alike: a canonical request over the
 * signed headers and the body's SHA-256; the URL is the path and the query. */
#include "wire_build.h"

#include "crypto.h"
#include "dates.h"

int acs_wire_build_v3(const acs_request *r, long long now, acs_wire *w, char *err, size_t errlen)
{
    char date[32], nonce[33];
    acs_fmt_iso8601(now, date);
    if (acs_wire_begin_signed(r, w, nonce, err, errlen) != 0)
        return -1;
    acs_buf sha = ACS_BUF_INIT;
    int rc = acs_sha256_hex(&sha, (const unsigned char *)acs_buf_cstr(&w->body), w->body.len);
    acs_kvlist *h = &w->headers;
    rc |= acs_wire_common_headers(r, h);
    rc |= acs_kvlist_adds(h, "host", r->host);
    rc |= acs_kvlist_adds(h, "x-acs-date", date);
    rc |= acs_kvlist_adds(h, "x-acs-signature-nonce", nonce);
    rc |= acs_kvlist_adds(h, "x-acs-content-sha256", acs_buf_cstr(&sha));
    const char *ct = acs_wire_content_type(r);
    if (ct)
        rc |= acs_kvlist_adds(h, "Content-Type", ct);
    acs_buf_free(&sha);
    acs_sign_input in = {
        .style = ACS_SIGN_V3, .path = r->style == ACS_STYLE_ROA && r->path ? r->path : "/",
        .body = (const unsigned char *)acs_buf_cstr(&w->body), .body_len = w->body.len,
    };
    return acs_wire_finish_signed(r, &in, rc, w, err, errlen);
}
