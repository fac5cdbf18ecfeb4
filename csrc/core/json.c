#include "json.h"

#include <cjson/cJSON.h>

acs_json *acs_json_parse(const char *text, size_t len)
{
    if (!text || !len)
        return NULL;
    return cJSON_ParseWithLength(text, len);
}

void acs_json_free(acs_json *doc)
{
    cJSON_Delete(doc);
}
