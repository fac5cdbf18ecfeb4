/* Encodings used by the signers: RFC 3986 percent-encoding, base64 and hex.
 * All functions append to an acs_buf and return 0, or -1 when the buffer ran out of memory
 * (the buffer's sticky oom flag is then set). */
#ifndef ACS_ENCODE_H
#define ACS_ENCODE_H

#include <stddef.h>

#include "buf.h"

/* RFC 3986, as Alibaba Cloud signs it: A-Z a-z 0-9 - _ . ~ stay literal; every other byte
 * becomes %XX with upper-case hex (space -> %20, '*' -> %2A, '+' -> %2B, '/' -> %2F).
 * Works on bytes: UTF-8 text comes out as one %XX per byte. */
int acs_pct_encode(acs_buf *b, const char *s, size_t n);

/* encode(name) "=" encode(value), for NUL-terminated name and value. */
int acs_pct_encode_pair(acs_buf *b, const char *name, const char *value);

/* Same, per path segment: '/' is kept, everything between slashes is encoded as above. */
int acs_pct_encode_path(acs_buf *b, const char *s, size_t n);

/* Standard base64 with '=' padding. */
int acs_base64(acs_buf *b, const unsigned char *p, size_t n);

/* Lower-case hexadecimal, two characters per byte. */
int acs_hex(acs_buf *b, const unsigned char *p, size_t n);

#endif
