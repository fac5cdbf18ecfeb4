/* Response headers as "name\0value\0" pairs in one buffer, names lower-cased: cheap to fill
 * from libcurl's header callback and to hand to Lua. */
#ifndef ACS_HEADERS_H
#define ACS_HEADERS_H

#include <stddef.h>

#include "buf.h"

/* Adds one raw header line ("Name: value\r\n"). A status line ("HTTP/...") starts a new
 * response and clears what was collected (100 Continue, a proxy's CONNECT reply). Lines
 * without a colon are ignored. Returns 0, or -1 when out of memory. */
int acs_headers_add_line(acs_buf *h, const char *line, size_t len);

/* The value of a header by lower-case name, or NULL. */
const char *acs_headers_get(const acs_buf *h, const char *name);

#endif
