/* libFuzzer target: the three signers' canonicalization. The input is split on '\n' into a
 * style byte, a method, a path, then name/value lines for query, form and headers; every
 * style must sign it or refuse it cleanly, and a signature never contains the secret. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sign.h"

#define MAX_PAIRS 64

static const char SECRET[] = "fuzz-secret-0123456789";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* the secret may only show up in the output if the caller put it in the input */
    int secret_in_input = memmem(data, size, SECRET, sizeof SECRET - 1) != NULL;

    char *lines[3 + 3 * 2 * MAX_PAIRS];
    size_t n = 0;
    for (char *p = text; n < sizeof lines / sizeof *lines;) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    acs_pair query[MAX_PAIRS], form[MAX_PAIRS], headers[MAX_PAIRS];
    size_t nq = 0, nf = 0, nh = 0;
    for (size_t i = 3; i + 1 < n; i += 2) {
        acs_pair pr = {lines[i], lines[i + 1]};
        switch ((i / 2) % 3) {
        case 0: if (nq < MAX_PAIRS) query[nq++] = pr; break;
        case 1: if (nf < MAX_PAIRS) form[nf++] = pr; break;
        default: if (nh < MAX_PAIRS) headers[nh++] = pr; break;
        }
    }
    acs_sign_input in = {
        .style = (acs_sign_style)(n > 0 ? (unsigned char)lines[0][0] % 3 : 0),
        .method = n > 1 ? lines[1] : "GET",
        .path = n > 2 ? lines[2] : "/",
        .query = query, .nquery = nq, .form = form, .nform = nf, .headers = headers,
        .nheaders = nh, .body = data, .body_len = size,
        .access_key_id = "fuzz-id", .access_key_secret = SECRET,
    };
    acs_sign_output out;
    char err[256];
    if (acs_sign(&in, &out, err, sizeof err) == 0) {
        if (!out.signature || !out.string_to_sign)
            abort();
        if (!secret_in_input && (strstr(out.signature, SECRET) ||
                                 (out.authorization && strstr(out.authorization, SECRET)) ||
                                 strstr(out.string_to_sign, SECRET)))
            abort();
        acs_sign_output_free(&out);
    }
    free(text);
    return 0;
}
