#include "encode.h"

#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

static const char HEX_UPPER[] = "0123456789ABCDEF";
static const char HEX_LOWER[] = "0123456789abcdef";

/* 1 for the bytes RFC 3986 leaves literal (A-Z a-z 0-9 - _ . ~). A table lookup instead of a
 * chain of comparisons: every signed byte goes through here two or three times. */
static const unsigned char UNRESERVED[256] = {
    /* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x20 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, /* - . */
    /* 0x30 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 0-9 */
    /* 0x40 */ 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* A-O */
    /* 0x50 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, /* P-Z _ */
    /* 0x60 */ 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* a-o */
    /* 0x70 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, /* p-z ~ */
    /* 0x80 and up: 0 */
};

/* The length acs_pct_encode appends. */
static size_t encoded_len(const char *s, size_t n)
{
    size_t len = n;
    for (size_t i = 0; i < n; i++)
        len += 2 * !UNRESERVED[(unsigned char)s[i]];
    return len;
}

/* Writes the encoding of s[0..n) at out, which has the room; returns its end. Runs of
 * literal bytes are copied whole: names and values are mostly one run. */
static char *encode_into(char *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && UNRESERVED[*p])
            p++;
        memcpy(out, run, (size_t)(p - run));
        out += p - run;
        for (; p < end && !UNRESERVED[*p]; p++) {
            *out++ = '%';
            *out++ = HEX_UPPER[*p >> 4];
            *out++ = HEX_UPPER[*p & 15];
        }
    }
    return out;
}

/* Room for `extra` more bytes (and the NUL) without growing. */
static int has_room(const acs_buf *b, size_t extra)
{
    return b->data && !b->oom && extra < b->cap - b->len;
}

/* One pass when the worst case (3 bytes per byte) already fits, as it does when the caller
 * reserved for it; otherwise count first and grow to the exact size (over-reserving here
 * would make buffers grow more often). */
int acs_pct_encode(acs_buf *b, const char *s, size_t n)
{
    if (n > ((size_t)-1 - 1) / 3) {
        b->oom = 1;
        return -1;
    }
    if (!has_room(b, 3 * n) && acs_buf_reserve(b, encoded_len(s, n)) != 0)
        return -1;
    b->len = (size_t)(encode_into(b->data + b->len, s, n) - b->data);
    b->data[b->len] = '\0';
    return 0;
}

int acs_pct_encode_pair(acs_buf *b, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (!has_room(b, 3 * (nl + vl) + 1) &&
        acs_buf_reserve(b, encoded_len(name, nl) + 1 + encoded_len(value, vl)) != 0)
        return -1;
    char *out = encode_into(b->data + b->len, name, nl);
    *out++ = '=';
    b->len = (size_t)(encode_into(out, value, vl) - b->data);
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
