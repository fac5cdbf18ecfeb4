#include "crypto.h"

#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "encode.h"

/* HMAC() is the non-deprecated one-shot API of OpenSSL 3; given an output buffer it uses no
 * static storage, so it is safe to call from many threads. */
static int hmac(const EVP_MD *md, const void *key, size_t keylen, const void *data, size_t n,
                unsigned char *out, unsigned int want)
{
    unsigned int len = 0;
    if (keylen > INT_MAX)
        return -1;
    /* A NULL key pointer means "reuse the previous key" in old OpenSSL: never pass one. */
    if (!key)
        key = "";
    if (!data)
        data = "";
    if (!HMAC(md, key, (int)keylen, data, n, out, &len) || len != want)
        return -1;
    return 0;
}

int acs_hmac_sha1(const void *key, size_t keylen, const void *data, size_t n,
                  unsigned char out[ACS_SHA1_LEN])
{
    return hmac(EVP_sha1(), key, keylen, data, n, out, ACS_SHA1_LEN);
}

int acs_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                    unsigned char out[ACS_SHA256_LEN])
{
    return hmac(EVP_sha256(), key, keylen, data, n, out, ACS_SHA256_LEN);
}

static int digest(const EVP_MD *md, const void *data, size_t n, unsigned char *out,
                  unsigned int want)
{
    unsigned int len = 0;
    if (!data)
        data = "";
    if (!EVP_Digest(data, n, out, &len, md, NULL) || len != want)
        return -1;
    return 0;
}

int acs_sha256_hex(acs_buf *out, const void *data, size_t n)
{
    unsigned char md[ACS_SHA256_LEN];
    if (digest(EVP_sha256(), data, n, md, sizeof md) != 0)
        return -1;
    return acs_hex(out, md, sizeof md);
}

int acs_md5_base64(acs_buf *out, const void *data, size_t n)
{
    unsigned char md[16];
    if (digest(EVP_md5(), data, n, md, sizeof md) != 0)
        return -1;
    return acs_base64(out, md, sizeof md);
}

int acs_random_hex(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    if (RAND_bytes(r, (int)sizeof r) != 1)
        return -1;
    for (size_t i = 0; i < sizeof r; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[32] = '\0';
    return 0;
}

void acs_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}
