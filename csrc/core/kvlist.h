/* A list of name/value string pairs (query and form parameters, headers), in insertion
 * order: what a request carries and what the wire builders fill. */
#ifndef ACS_KVLIST_H
#define ACS_KVLIST_H

#include <stddef.h>

typedef struct {
    char *name;
    char *value; /* shares name's allocation (after its NUL): only name is freed */
} acs_kv;

typedef struct {
    acs_kv *items;
    size_t n, cap;
} acs_kvlist;

int acs_kvlist_add(acs_kvlist *l, const char *name, size_t nlen, const char *value, size_t vlen);
int acs_kvlist_adds(acs_kvlist *l, const char *name, const char *value); /* NUL-terminated */
const char *acs_kvlist_get(const acs_kvlist *l, const char *name); /* case-insensitive */
void acs_kvlist_free(acs_kvlist *l);

#endif
