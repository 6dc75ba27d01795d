/* base64: the meta protocol's binary keys ('b' flag), with memcached's
 * decoding rules: characters outside the alphabet are skipped, the rest
 * must come in groups of four. */
#ifndef MEMG_BASE64_H
#define MEMG_BASE64_H

#include <stddef.h>

/* Decode src into out (room for cap bytes); 0 when invalid or too long. */
size_t base64_decode(const char *src, size_t n, char *out, size_t cap);
/* Encode with '=' padding, no line breaks; returns bytes written
 * (4 * ceil(n / 3)). */
size_t base64_encode(const char *src, size_t n, char *out);
#define BASE64_LEN(n) (((n) + 2) / 3 * 4)

#endif
