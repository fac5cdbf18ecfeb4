/* Response bodies parsed on the worker (cJSON), so the Lua thread only builds tables. The
 * tree is opaque to the rest of the core; the binding walks it. */
#ifndef ACS_JSON_H
#define ACS_JSON_H

#include <stddef.h>

typedef struct cJSON acs_json;

/* The parsed document, or NULL when the text is not JSON (or memory ran out). */
acs_json *acs_json_parse(const char *text, size_t len);
void acs_json_free(acs_json *doc);

#endif
