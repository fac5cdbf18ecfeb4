/* ROA, signature v1: signed headers (Date, Content-MD5, x-acs-*) and an Authorization
 * header; the URL is the path and the query. */
#include "wire_build.h"

#include "crypto.h"
#include "dates.h"

int acs_wire_build_roa_v1(const acs_request *r, long long now, acs_wire *w, char *err, size_t errlen)
{
    char date[40], nonce[33];
    acs_fmt_http_date(now, date);
    if (acs_wire_begin_signed(r, w, nonce, err, errlen) != 0)
        return -1;
    acs_buf md5 = ACS_BUF_INIT;
    int rc = acs_md5_base64(&md5, (const unsigned char *)acs_buf_cstr(&w->body), w->body.len);
    acs_kvlist *h = &w->headers;
    rc |= acs_wire_common_headers(r, h);
    rc |= acs_kvlist_adds(h, "Date", date);
    rc |= acs_kvlist_adds(h, "Content-MD5", acs_buf_cstr(&md5));
    const char *ct = acs_wire_content_type(r);
    rc |= acs_kvlist_adds(h, "Content-Type", ct ? ct : "application/octet-stream");
    rc |= acs_kvlist_adds(h, "x-acs-signature-method", "HMAC-SHA1");
    rc |= acs_kvlist_adds(h, "x-acs-signature-version", "1.0");
    rc |= acs_kvlist_adds(h, "x-acs-signature-nonce", nonce);
    acs_buf_free(&md5);
    acs_sign_input in = {.style = ACS_SIGN_ROA, .path = r->path ? r->path : "/"};
    return acs_wire_finish_signed(r, &in, rc, w, err, errlen);
}
