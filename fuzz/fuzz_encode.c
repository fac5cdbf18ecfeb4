/* libFuzzer target: RFC 3986 percent-encoding. Every output byte is unreserved or part of a
 * %XX triple, and decoding gives the input back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void check_roundtrip(const acs_buf *b, const uint8_t *data, size_t size, int keep_slash)
{
    size_t j = 0;
    for (size_t i = 0; i < b->len; j++) {
        char c = b->data[i];
        int v;
        if (c == '%') {
            if (i + 2 >= b->len)
                abort();
            int hi = hexval(b->data[i + 1]), lo = hexval(b->data[i + 2]);
            if (hi < 0 || lo < 0)
                abort();
            v = hi * 16 + lo;
            i += 3;
        } else {
            int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
            if (!ok)
                abort();
            v = (unsigned char)c;
            i++;
        }
        if (j >= size || data[j] != (uint8_t)v)
            abort();
    }
    if (j != size)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    acs_buf b = ACS_BUF_INIT;
    if (acs_pct_encode(&b, (const char *)data, size) == 0)
        check_roundtrip(&b, data, size, 0);
    acs_buf_free(&b);
    if (acs_pct_encode_path(&b, (const char *)data, size) == 0)
        check_roundtrip(&b, data, size, 1);
    acs_buf_free(&b);
    return 0;
}
