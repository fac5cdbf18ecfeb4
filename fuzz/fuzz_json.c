/* libFuzzer target: the worker's JSON parser. Any input either is refused or yields a tape
 * whose records are well formed and stay inside it, as json_tree.c walks it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Walks one value; returns the position after it, or NULL when the tape is malformed. */
static const unsigned char *walk(const unsigned char *p, const unsigned char *end, int depth)
{
    uint32_t n;
    if (p >= end || depth > 100000)
        return NULL;
    switch (*p++) {
    case ACS_TAPE_OBJECT:
    case ACS_TAPE_ARRAY: {
        int object = p[-1] == ACS_TAPE_OBJECT;
        if ((size_t)(end - p) < sizeof n)
            return NULL;
        memcpy(&n, p, sizeof n);
        p += sizeof n;
        for (uint32_t i = 0; i < n && p; i++) {
            if (object && (p >= end || (*p != ACS_TAPE_STRING && *p != ACS_TAPE_SHORT_STRING)))
                return NULL;
            if (object)
                p = walk(p, end, depth + 1);
            if (p)
                p = walk(p, end, depth + 1);
        }
        return p;
    }
    case ACS_TAPE_STRING:
    case ACS_TAPE_SHORT_STRING: {
        int hashed = p[-1] == ACS_TAPE_SHORT_STRING;
        uint32_t h;
        if ((size_t)(end - p) < (hashed ? 1 + sizeof h : sizeof n))
            return NULL;
        if (hashed) {
            n = *p++; /* one byte of length */
            memcpy(&h, p, sizeof h);
            p += sizeof h;
            if (n > ACS_JSON_SHORT || (size_t)(end - p) < n || h != acs_json_hash((const char *)p, n))
                return NULL;
        } else {
            memcpy(&n, p, sizeof n);
            p += sizeof n;
            if (n <= ACS_JSON_SHORT)
                return NULL; /* short strings always carry their hash */
        }
        return (size_t)(end - p) < n ? NULL : p + n;
    }
    case ACS_TAPE_INT:
    case ACS_TAPE_DOUBLE:
        return (size_t)(end - p) < 8 ? NULL : p + 8;
    case ACS_TAPE_TRUE:
    case ACS_TAPE_FALSE:
    case ACS_TAPE_NULL:
        return p;
    default:
        return NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* both ways in: parsed in place with room after it, and copied by the parser */
    char *room = malloc(size + ACS_JSON_PADDING);
    if (!room)
        return 0;
    memcpy(room, data, size);
    memset(room + size, 0, ACS_JSON_PADDING);
    acs_json *a = acs_json_parse(room, size, size + ACS_JSON_PADDING);
    acs_json *b = acs_json_parse((const char *)data, size, size);
    if (!a != !b)
        abort(); /* the same text must get the same verdict */
    if (a) {
        if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
            abort();
        if (walk(a->data, a->data + a->len, 0) != a->data + a->len)
            abort();
    }
    acs_json_free(a);
    acs_json_free(b);
    free(room);
    return 0;
}
