/* Response bodies parsed on the worker (cJSON), then flattened into a "tape": one buffer of
 * typed records in document order. The Lua thread walks it to build tables, without chasing
 * the parser's pointers or paying for its frees. */
#ifndef ACS_JSON_H
#define ACS_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Records: 'o' count (object: count key/value pairs follow, keys as 's'), 'a' count (array),
 * 's' len bytes, 'i' int64 (integral numbers within 2^53), 'd' double, 't', 'f', 'n'.
 * Counts and lengths are uint32, numbers native-endian: the tape never leaves the process. */
typedef struct {
    unsigned char *data;
    size_t len;
} acs_json;

/* The tape of a JSON text, or NULL when it is not JSON (or memory ran out). */
acs_json *acs_json_parse(const char *text, size_t len);
void acs_json_free(acs_json *doc);

#endif
