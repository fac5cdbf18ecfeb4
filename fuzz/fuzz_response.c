/* libFuzzer target: response parsing in the core — header lines as libcurl hands them over,
 * the retry hints read from them, and the error code scanned out of a body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "headers.h"
#include "retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    acs_buf headers = ACS_BUF_INIT, body = ACS_BUF_INIT;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        if (acs_headers_add_line(&headers, p, len) != 0)
            break;
        p += len;
    }
    (void)acs_headers_get(&headers, "retry-after");
    double hint = acs_retry_hint(&headers);
    if (hint < 0)
        abort();
    acs_buf_append(&body, data, size);
    char code[64];
    acs_error_code_of(&body, code, sizeof code);
    if (strlen(code) >= sizeof code)
        abort();
    acs_buf_free(&headers);
    acs_buf_free(&body);
    return 0;
}
