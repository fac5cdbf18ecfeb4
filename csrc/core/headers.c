#include "headers.h"

#include <ctype.h>
#include <string.h>

int acs_headers_add_line(acs_buf *h, const char *p, size_t len)
{
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        acs_buf_reset(h);
        return 0;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon || colon == p)
        return 0;
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    /* NUL bytes inside would split a pair: drop such lines rather than mis-parse them */
    if (memchr(p, '\0', nlen) || memchr(v, '\0', (size_t)(end - v)))
        return 0;
    if (acs_buf_reserve(h, nlen + (size_t)(end - v) + 2) != 0)
        return -1;
    for (size_t i = 0; i < nlen; i++)
        acs_buf_putc(h, (char)tolower((unsigned char)p[i]));
    acs_buf_putc(h, '\0');
    acs_buf_append(h, v, (size_t)(end - v));
    acs_buf_putc(h, '\0');
    return h->oom ? -1 : 0;
}

const char *acs_headers_get(const acs_buf *h, const char *name)
{
    const char *p = h->data, *end = h->data ? h->data + h->len : NULL;
    while (p && p < end) {
        const char *v = p + strlen(p) + 1;
        if (v >= end)
            break;
        if (strcmp(p, name) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}
