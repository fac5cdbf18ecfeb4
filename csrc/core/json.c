#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"

static void put_u32(acs_buf *b, char tag, size_t n)
{
    uint32_t v = (uint32_t)n;
    acs_buf_putc(b, tag);
    acs_buf_append(b, &v, sizeof v);
}

static void put_value(acs_buf *b, const cJSON *j)
{
    if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
        size_t n = 0;
        for (const cJSON *c = j->child; c; c = c->next)
            n++;
        put_u32(b, cJSON_IsObject(j) ? 'o' : 'a', n);
        for (const cJSON *c = j->child; c; c = c->next) {
            if (cJSON_IsObject(j)) {
                put_u32(b, 's', strlen(c->string));
                acs_buf_puts(b, c->string);
            }
            put_value(b, c);
        }
    } else if (cJSON_IsString(j)) {
        put_u32(b, 's', strlen(j->valuestring));
        acs_buf_puts(b, j->valuestring);
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == floor(d) && fabs(d) <= 9007199254740992.0) { /* 2^53: exact as an integer */
            int64_t i = (int64_t)d;
            acs_buf_putc(b, 'i');
            acs_buf_append(b, &i, sizeof i);
        } else {
            acs_buf_putc(b, 'd');
            acs_buf_append(b, &d, sizeof d);
        }
    } else if (cJSON_IsBool(j)) {
        acs_buf_putc(b, cJSON_IsTrue(j) ? 't' : 'f');
    } else {
        acs_buf_putc(b, 'n');
    }
}

acs_json *acs_json_parse(const char *text, size_t len)
{
    if (!text || !len)
        return NULL;
    cJSON *tree = cJSON_ParseWithLength(text, len);
    if (!tree)
        return NULL;
    acs_buf tape = ACS_BUF_INIT;
    acs_buf_reserve(&tape, len); /* tapes are about as long as the text */
    put_value(&tape, tree);
    cJSON_Delete(tree);
    acs_json *doc = tape.oom ? NULL : malloc(sizeof *doc);
    if (!doc) {
        acs_buf_free(&tape);
        return NULL;
    }
    doc->len = tape.len;
    doc->data = (unsigned char *)acs_buf_steal(&tape);
    if (!doc->data) {
        free(doc);
        return NULL;
    }
    return doc;
}

void acs_json_free(acs_json *doc)
{
    if (doc) {
        free(doc->data);
        free(doc);
    }
}
