/* Thin OpenSSL 3 wrappers. Each returns 0 on success and -1 on failure (out of memory, or the
 * algorithm is unavailable, e.g. MD5 under a FIPS-only provider). None keeps global mutable
 * state: worker threads call them concurrently. */
#ifndef ACS_CRYPTO_H
#define ACS_CRYPTO_H

#include <stddef.h>

#include "buf.h"

#define ACS_SHA1_LEN 20
#define ACS_SHA256_LEN 32

int acs_hmac_sha1(const void *key, size_t keylen, const void *data, size_t n,
                  unsigned char out[ACS_SHA1_LEN]);
int acs_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                    unsigned char out[ACS_SHA256_LEN]);

/* Appends lower-case hex(sha256(data)), 64 characters. */
int acs_sha256_hex(acs_buf *out, const void *data, size_t n);

/* Appends base64(md5(data)), 24 characters (the ROA Content-MD5 header). */
int acs_md5_base64(acs_buf *out, const void *data, size_t n);

/* 16 bytes from RAND_bytes as 32 lower-case hex characters plus a NUL (signature nonces). */
int acs_random_hex(char out[33]);

/* Overwrites n bytes so the compiler cannot drop the store (for key material). */
void acs_wipe(void *p, size_t n);

#endif
