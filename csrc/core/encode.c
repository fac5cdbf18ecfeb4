#include "encode.h"

#include <limits.h>

#include <openssl/evp.h>

static const char HEX_UPPER[] = "0123456789ABCDEF";
static const char HEX_LOWER[] = "0123456789abcdef";

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

/* Writes straight into reserved room: this runs for every parameter of every attempt. */
int acs_pct_encode(acs_buf *b, const char *s, size_t n)
{
    size_t escaped = 0; /* exact room: over-reserving makes buffers grow more often */
    for (size_t i = 0; i < n; i++)
        escaped += !is_unreserved((unsigned char)s[i]);
    if (n > ((size_t)-1 - 1) / 3 || acs_buf_reserve(b, n + 2 * escaped) != 0) {
        b->oom = 1;
        return -1;
    }
    char *out = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c)) {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = HEX_UPPER[c >> 4];
            *out++ = HEX_UPPER[c & 15];
        }
    }
    b->len = (size_t)(out - b->data);
    b->data[b->len] = '\0';
    return 0;
}

int acs_pct_encode_path(acs_buf *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '/') {
            acs_pct_encode(b, s + start, i - start);
            if (i < n)
                acs_buf_putc(b, '/');
            start = i + 1;
        }
    }
    return b->oom ? -1 : 0;
}

int acs_base64(acs_buf *b, const unsigned char *p, size_t n)
{
    if (n > (size_t)INT_MAX / 4 * 3) { /* EVP_EncodeBlock takes an int length */
        b->oom = 1;
        return -1;
    }
    size_t out = 4 * ((n + 2) / 3);
    if (acs_buf_reserve(b, out) != 0) /* reserves out + 1: room for the NUL it writes */
        return -1;
    int w = EVP_EncodeBlock((unsigned char *)b->data + b->len, p, (int)n);
    if (w < 0 || (size_t)w != out) {
        b->data[b->len] = '\0';
        return -1;
    }
    b->len += out;
    return 0;
}

int acs_hex(acs_buf *b, const unsigned char *p, size_t n)
{
    if (n > ((size_t)-1 >> 2) || acs_buf_reserve(b, 2 * n) != 0) {
        b->oom = 1;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        b->data[b->len++] = HEX_LOWER[p[i] >> 4];
        b->data[b->len++] = HEX_LOWER[p[i] & 15];
    }
    b->data[b->len] = '\0';
    return 0;
}
