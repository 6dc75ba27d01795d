/* mem: inline copy and compare for the short byte strings of the hot path
 * (keys, small values, reply headers). A libc call costs more than copying
 * 14 bytes, and musl's memcpy/memcmp (rep movs, a byte loop) are slow at
 * that size; long strings still go to libc. Loads and stores go through
 * fixed-size memcpy, which compilers turn into plain unaligned moves, so
 * any alignment works (armhf included). */
#ifndef MEMG_MEM_H
#define MEMG_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Above this, libc's copy loops win. */
#define MEM_SHORT_MAX 256

/* memcpy for buffers that do not overlap. */
static inline void mem_copy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n > MEM_SHORT_MAX) {
        memcpy(d, s, n);
    } else if (n >= 16) {
        /* 16-byte steps; the last one overlaps what was already copied */
        for (size_t i = 0; i + 16 < n; i += 16)
            memcpy(d + i, s + i, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

/* memcmp(a, b, n) == 0. */
static inline bool mem_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    if (n > MEM_SHORT_MAX)
        return memcmp(p, q, n) == 0;
    if (n >= 8) {
        uint64_t x, y;
        for (size_t i = 0; i + 8 < n; i += 8) {
            memcpy(&x, p + i, 8);
            memcpy(&y, q + i, 8);
            if (x != y)
                return false;
        }
        memcpy(&x, p + n - 8, 8);
        memcpy(&y, q + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t x, y, u, v;
        memcpy(&x, p, 4);
        memcpy(&y, q, 4);
        memcpy(&u, p + n - 4, 4);
        memcpy(&v, q + n - 4, 4);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    for (size_t i = 0; i < n; i++)
        if (p[i] != q[i])
            return false;
    return true;
}

#endif
