#include "crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "encode.h"
#include "fork.h"

/* Digests are fetched once: OpenSSL 3 otherwise looks the algorithm up by name on every
 * call, which costs more than hashing a request. Fetched objects are shareable by threads. */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha1, *md_sha256, *md_md5;

static void fetch_digests(void)
{
    md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
}

static const EVP_MD *digest_md(int which)
{
    pthread_once(&fetch_once, fetch_digests);
    return which == 1 ? md_sha1 : which == 256 ? md_sha256 : md_md5;
}

__attribute__((destructor)) static void free_digests(void)
{
    EVP_MD_free(md_sha1);
    EVP_MD_free(md_sha256);
    EVP_MD_free(md_md5);
}

/* H(a || b) with ctx, which the caller owns: HMAC runs two digests on one context. */
static int digest_ctx(EVP_MD_CTX *ctx, const EVP_MD *md, const void *a, size_t an, const void *b,
                      size_t bn, unsigned char *out, unsigned int want)
{
    unsigned int len = 0;
    int ok = ctx && md && EVP_DigestInit_ex2(ctx, md, NULL) &&
             EVP_DigestUpdate(ctx, a ? a : "", an) && (!bn || EVP_DigestUpdate(ctx, b, bn)) &&
             EVP_DigestFinal_ex(ctx, out, &len) && len == want;
    return ok ? 0 : -1;
}

static int digest(const EVP_MD *md, const void *a, size_t an, const void *b, size_t bn,
                  unsigned char *out, unsigned int want)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = digest_ctx(ctx, md, a, an, b, bn, out, want);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* HMAC (RFC 2104) over a pre-fetched digest: H((K ^ opad) || H((K ^ ipad) || m)). */
static int hmac(const EVP_MD *md, const void *key, size_t keylen, const void *data, size_t n,
                unsigned char *out, unsigned int want)
{
    enum { BLOCK = 64 }; /* SHA-1 and SHA-256 block size */
    unsigned char k[BLOCK] = {0}, pad[BLOCK], inner[EVP_MAX_MD_SIZE];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new(); /* one context for all the digests: a malloc less */
    int rc = 0;
    if (keylen > BLOCK)
        rc = digest_ctx(ctx, md, key, keylen, NULL, 0, k, want); /* fails on a NULL ctx */
    else if (keylen)
        memcpy(k, key, keylen);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    if (rc == 0)
        rc = digest_ctx(ctx, md, pad, BLOCK, data, n, inner, want);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    if (rc == 0)
        rc = digest_ctx(ctx, md, pad, BLOCK, inner, want, out, want);
    EVP_MD_CTX_free(ctx);
    acs_wipe(k, sizeof k);
    acs_wipe(pad, sizeof pad);
    return rc;
}

int acs_hmac_sha1(const void *key, size_t keylen, const void *data, size_t n,
                  unsigned char out[ACS_SHA1_LEN])
{
    return hmac(digest_md(1), key, keylen, data, n, out, ACS_SHA1_LEN);
}

int acs_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                    unsigned char out[ACS_SHA256_LEN])
{
    return hmac(digest_md(256), key, keylen, data, n, out, ACS_SHA256_LEN);
}

int acs_sha256_hex(acs_buf *out, const void *data, size_t n)
{
    unsigned char md[ACS_SHA256_LEN];
    if (digest(digest_md(256), data, n, NULL, 0, md, sizeof md) != 0)
        return -1;
    return acs_hex(out, md, sizeof md);
}

int acs_md5_base64(acs_buf *out, const void *data, size_t n)
{
    unsigned char md[16];
    if (digest(digest_md(5), data, n, NULL, 0, md, sizeof md) != 0)
        return -1;
    return acs_base64(out, md, sizeof md);
}

/* Nonces must never repeat; they need not be secret. So: 16 random bytes drawn once per
 * process (again after a fork), plus a counter mixed into the second half. RAND_bytes on
 * every attempt cost more than the HMAC. */
static pthread_mutex_t nonce_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char nonce_seed[16];
static int nonce_generation = -1;
static atomic_uint_fast64_t nonce_counter;

int acs_random_hex(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    int gen = acs_fork_generation();
    unsigned char r[16];
    pthread_mutex_lock(&nonce_lock);
    if (nonce_generation != gen) {
        if (RAND_bytes(nonce_seed, (int)sizeof nonce_seed) != 1) {
            pthread_mutex_unlock(&nonce_lock);
            return -1;
        }
        nonce_generation = gen;
    }
    memcpy(r, nonce_seed, sizeof r);
    pthread_mutex_unlock(&nonce_lock);
    uint64_t n = atomic_fetch_add(&nonce_counter, 1), mixed;
    memcpy(&mixed, r + 8, sizeof mixed);
    mixed ^= n * 0x9E3779B97F4A7C15ULL; /* odd multiplier: distinct counters stay distinct */
    memcpy(r + 8, &mixed, sizeof mixed);
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
