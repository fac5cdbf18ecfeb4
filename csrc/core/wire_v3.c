/* Signature V3 (ACS3-HMAC-SHA256), for RPC and ROA alike: a canonical request over the
 * signed headers and the body's SHA-256; the URL is the path and the query. */
#include "wire_build.h"

#include <stdio.h>
#include <stdlib.h>

#include "crypto.h"
#include "dates.h"

int acs_wire_build_v3(const acs_request *r, long long now, acs_wire *w, char *err, size_t errlen)
{
    char date[32], nonce[33];
    acs_fmt_iso8601(now, date);
    if (acs_random_hex(nonce) != 0 || acs_wire_body(r, w) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    acs_buf sha = ACS_BUF_INIT;
    acs_sha256_hex(&sha, (const unsigned char *)acs_buf_cstr(&w->body), w->body.len);
    acs_kvlist *h = &w->headers;
    int rc = acs_wire_common_headers(r, h);
    rc |= acs_kvlist_adds(h, "host", r->host);
    rc |= acs_kvlist_adds(h, "x-acs-date", date);
    rc |= acs_kvlist_adds(h, "x-acs-signature-nonce", nonce);
    rc |= acs_kvlist_adds(h, "x-acs-content-sha256", acs_buf_cstr(&sha));
    const char *ct = acs_wire_content_type(r);
    if (ct)
        rc |= acs_kvlist_adds(h, "Content-Type", ct);
    if (r->creds.bearer_token) {
        rc |= acs_kvlist_adds(h, "x-acs-bearer-token", r->creds.bearer_token);
        rc |= acs_kvlist_adds(h, "x-acs-signature-type", "BEARERTOKEN");
    } else if (r->creds.security_token) {
        rc |= acs_kvlist_adds(h, "x-acs-security-token", r->creds.security_token);
        rc |= acs_kvlist_adds(h, "x-acs-accesskey-id", r->creds.access_key_id ? r->creds.access_key_id : "");
    }
    acs_buf_free(&sha);
    acs_pair_view qv = {0}, hv = {0};
    if (rc || sha.oom || acs_pair_view_of(&qv, &r->query) || acs_pair_view_of(&hv, h)) {
        free(qv.items);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    acs_sign_input in = {
        .style = ACS_SIGN_V3, .method = r->method,
        .path = r->style == ACS_STYLE_ROA && r->path ? r->path : "/",
        .query = qv.items, .nquery = qv.n, .headers = hv.items, .nheaders = hv.n,
        .body = (const unsigned char *)acs_buf_cstr(&w->body), .body_len = w->body.len,
        .access_key_id = r->creds.access_key_id ? r->creds.access_key_id : "",
        .access_key_secret = r->creds.access_key_secret ? r->creds.access_key_secret : "",
    };
    acs_sign_output out;
    rc = acs_wire_sign(&in, &out, err, errlen);
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
