/* A growable byte buffer. Every append reports allocation failure instead of aborting,
 * so callers can turn it into an error result. The data is always NUL-terminated. */
#ifndef ACS_BUF_H
#define ACS_BUF_H

#include <stddef.h>

typedef struct {
    char *data;  /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    int oom;     /* sticky: set once an append failed; later appends do nothing */
} acs_buf;

#define ACS_BUF_INIT {NULL, 0, 0, 0}

int acs_buf_grow(acs_buf *b, size_t extra);                /* the slow path of reserve */

/* 0 ok, -1 out of memory. Inline: the signers call these for every byte they write. */
static inline int acs_buf_reserve(acs_buf *b, size_t extra)
{
    if (!b->oom && b->data && extra < b->cap - b->len)
        return 0;
    return acs_buf_grow(b, extra);
}

static inline int acs_buf_putc(acs_buf *b, char c)
{
    if (acs_buf_reserve(b, 1) != 0)
        return -1;
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return 0;
}

int acs_buf_append(acs_buf *b, const void *p, size_t n);
int acs_buf_puts(acs_buf *b, const char *s);
int acs_buf_printf(acs_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *acs_buf_steal(acs_buf *b);                 /* returns data ("" if empty), resets b; NULL on oom */
void acs_buf_reset(acs_buf *b);                  /* len = 0, keeps memory */
void acs_buf_free(acs_buf *b);
const char *acs_buf_cstr(const acs_buf *b);      /* "" when empty */

#endif
