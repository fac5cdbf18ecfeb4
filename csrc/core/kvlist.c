#include "kvlist.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* name and value share one allocation (value follows name's NUL): half the mallocs, and
 * freeing the name frees both. */
int acs_kvlist_add(acs_kvlist *l, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        acs_kv *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    if (nlen > (size_t)-1 / 2 - 2 || vlen > (size_t)-1 / 2)
        return -1;
    char *n = malloc(nlen + vlen + 2);
    if (!n)
        return -1;
    memcpy(n, name, nlen);
    n[nlen] = '\0';
    memcpy(n + nlen + 1, value, vlen);
    n[nlen + 1 + vlen] = '\0';
    l->items[l->n].name = n;
    l->items[l->n].value = n + nlen + 1;
    l->n++;
    return 0;
}

int acs_kvlist_adds(acs_kvlist *l, const char *name, const char *value)
{
    return acs_kvlist_add(l, name, strlen(name), value, strlen(value));
}

const char *acs_kvlist_get(const acs_kvlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->items[i].name, name) == 0)
            return l->items[i].value;
    return NULL;
}

void acs_kvlist_free(acs_kvlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].name); /* the value lives in the same block */
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}
