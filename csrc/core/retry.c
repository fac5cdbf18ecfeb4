#include "retry.h"

#include "headers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Finds `"Code"` then its string value; good enough for the flat error bodies the gateway
 * sends, and falls back to an XML <Code> element. */
void acs_error_code_of(const acs_buf *body, char *out, size_t outlen)
{
    out[0] = '\0';
    const char *s = acs_buf_cstr(body);
    const char *p = strstr(s, "\"Code\"");
    if (!p)
        p = strstr(s, "\"code\"");
    if (p) {
        p += 6;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ':')
            p++;
        if (*p != '"')
            return;
        p++;
    } else if ((p = strstr(s, "<Code>")) != NULL) {
        p += 6;
    } else {
        return;
    }
    size_t n = 0;
    while (p[n] && p[n] != '"' && p[n] != '<' && n + 1 < outlen)
        n++;
    memcpy(out, p, n);
    out[n] = '\0';
}

static int is_throttling(const char *code)
{
    return strcmp(code, "Throttling") == 0 || strcmp(code, "Throttling.User") == 0 ||
           strcmp(code, "Throttling.Api") == 0;
}

acs_retry_verdict acs_retry_decide(const acs_request *req, const acs_result *res)
{
    int unsafe_ok = req->read_only || req->retry.unsafe;
    switch (res->error) {
    case ACS_OK:
        break;
    case ACS_E_UNREACHABLE:
        return !res->sent || unsafe_ok ? ACS_RETRY_YES : ACS_RETRY_NO;
    case ACS_E_INVALID_RESPONSE:
        /* a reply cut short or garbled on the way (or junk a reused connection carried over):
         * asking again is safe only where sending twice is */
        return unsafe_ok ? ACS_RETRY_YES : ACS_RETRY_NO;
    case ACS_E_TIMEOUT:
        if (res->timeout_kind == ACS_TIMEOUT_CONNECT)
            return ACS_RETRY_YES;
        return res->timeout_kind == ACS_TIMEOUT_READ && unsafe_ok ? ACS_RETRY_YES : ACS_RETRY_NO;
    default:
        return ACS_RETRY_NO;
    }
    if (res->http_status < 400)
        return ACS_RETRY_NO;
    char code[64];
    acs_error_code_of(&res->body, code, sizeof code);
    if (is_throttling(code))
        return ACS_RETRY_THROTTLED;
    if (strcmp(code, "ServiceUnavailable") == 0 || res->http_status == 503)
        return ACS_RETRY_YES;
    /* libcurl resent the same bytes on a fresh connection after the first one died: the
     * server had seen that nonce. A re-signed attempt is safe for read-only calls. */
    if (strcmp(code, "SignatureNonceUsed") == 0 && unsafe_ok)
        return ACS_RETRY_YES;
    if (res->http_status >= 500 && unsafe_ok)
        return ACS_RETRY_YES;
    return ACS_RETRY_NO;
}

double acs_retry_backoff(const acs_retry_policy *p, acs_retry_verdict v, int next_attempt,
                         double server_hint, double unit_random)
{
    double base = p->backoff_base > 0 ? p->backoff_base : ACS_RETRY_BACKOFF_BASE;
    double cap = p->backoff_cap > 0 ? p->backoff_cap : ACS_RETRY_BACKOFF_CAP;
    if (v == ACS_RETRY_THROTTLED) {
        base *= 5; /* throttling clears slower than a dropped connection */
        cap *= 2;
    }
    int shift = next_attempt - 2;
    if (shift > 30)
        shift = 30;
    double ceiling = fmin(cap, base * ldexp(1.0, shift));
    double wait = ceiling * unit_random;
    return server_hint > wait ? server_hint : wait;
}

static double time_left_ms(const char *v)
{
    const char *t = v ? strstr(v, "TimeLeft:") : NULL;
    return t ? strtod(t + 9, NULL) / 1000.0 : 0;
}

double acs_retry_hint(const acs_buf *headers)
{
    const char *ra = acs_headers_get(headers, "retry-after");
    if (ra) {
        double s = strtod(ra, NULL);
        if (s > 0)
            return s;
    }
    double a = time_left_ms(acs_headers_get(headers, "x-ratelimit-user-api"));
    double b = time_left_ms(acs_headers_get(headers, "x-ratelimit-user"));
    return a > b ? a : b;
}
