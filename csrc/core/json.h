/* Response bodies parsed on the worker (simdjson, in json.cc) into a "tape": one buffer of
 * typed records in document order. The Lua thread walks it to build tables, without chasing
 * a parser's pointers or paying for its frees. */
#ifndef ACS_JSON_H
#define ACS_JSON_H

#include <stddef.h>
#include <stdint.h>

/* A record is a one-byte tag and what the tag says follows. Counts and lengths are uint32
 * (len8: one byte), numbers native-endian: the tape never leaves the process. The tags are
 * letters so that a tape reads in a debugger. */
typedef enum {
    ACS_TAPE_OBJECT = 'o',       /* count, then count key/value pairs (keys as strings) */
    ACS_TAPE_ARRAY = 'a',        /* count, then count values */
    ACS_TAPE_STRING = 's',       /* len, bytes */
    ACS_TAPE_SHORT_STRING = 'h', /* len8, hash (uint32), bytes: see ACS_JSON_SHORT */
    ACS_TAPE_INT = 'i',          /* int64: integers that fit, integral numbers within 2^53 */
    ACS_TAPE_DOUBLE = 'd',       /* double */
    ACS_TAPE_TRUE = 't',
    ACS_TAPE_FALSE = 'f',
    ACS_TAPE_NULL = 'n'
} acs_tape_tag;

typedef struct {
    unsigned char *data;
    size_t len;
} acs_json;

#ifdef __cplusplus
extern "C" {
#endif

/* Strings up to this long (Lua's own limit for the strings it interns) carry a hash computed
 * on the worker, so the Lua thread can find a string it already made for an earlier answer
 * instead of hashing and interning the bytes again (keys and values repeat across calls). */
#define ACS_JSON_SHORT 40

/* The hash in ACS_TAPE_SHORT_STRING records (32 bits; the same in every process of one build). */
uint32_t acs_json_hash(const char *s, size_t len);

/* The parser reads this far past the end of a text: parsing in place needs the bytes there
 * readable and set (zero them: what they hold does not change the result, but valgrind would
 * see decisions made on unset bytes); otherwise the text is copied. */
#define ACS_JSON_PADDING 64

/* The tape of a JSON text, or NULL when it is not JSON (or memory ran out). `readable`: how
 * many set bytes from `text` may be read (at least len). */
acs_json *acs_json_parse(const char *text, size_t len, size_t readable);
void acs_json_free(acs_json *doc);

/* A parser (and its buffers) kept for all the calls of one thread instead of one per call.
 * A pool owns one per worker, so the memory stays reachable from the pool whatever the
 * thread does; the worker makes it its thread's parser while it runs. */
typedef struct acs_json_parser acs_json_parser;
acs_json_parser *acs_json_parser_new(void); /* NULL on out of memory: parse without */
void acs_json_parser_free(acs_json_parser *p);
void acs_json_use_parser(acs_json_parser *p); /* this thread's from now; NULL: none */

#ifdef __cplusplus
}
#endif

#endif
