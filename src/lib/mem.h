/* mem: inline copy and compare for the byte strings of the hot path (keys,
 * values, records moved by compaction). A libc call costs more than copying
 * 14 bytes, and musl's x86-64 memcpy (rep movsq after aligning the
 * destination) runs at a quarter to half speed when source and destination
 * are mutually misaligned, as records in segments are; musl's memcmp is a
 * byte loop. Loads and stores go through fixed-size memcpy, which compilers
 * turn into plain unaligned moves, so any alignment works (armhf included). */
#ifndef MEMG_MEM_H
#define MEMG_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Copies up to this long run an inline 16-byte loop; longer ones go to
 * mem_copy_long. Compares this long and shorter run inline. */
#define MEM_SHORT_MAX 2048

/* AddressSanitizer sees libc's memcpy but not an asm copy: keep libc then. */
#if defined(__SANITIZE_ADDRESS__)
#define MEM_ASM_COPY 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_ASM_COPY 0
#endif
#endif
#ifndef MEM_ASM_COPY
#if defined(__x86_64__)
#define MEM_ASM_COPY 1
#else
#define MEM_ASM_COPY 0
#endif
#endif

/* A long forward copy: rep movsb on x86-64 (fast on every CPU with ERMS,
 * since 2012, whatever the alignment), libc's memcpy elsewhere. Its forward
 * byte order also makes it a memmove for dst < src (mem_move_down). */
static inline void mem_copy_long(void *dst, const void *src, size_t n)
{
#if MEM_ASM_COPY
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#else
    memcpy(dst, src, n);
#endif
}

/* memcpy for buffers that do not overlap. */
static inline void mem_copy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n > MEM_SHORT_MAX) {
        mem_copy_long(d, s, n);
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

/* memmove for dst below src (compaction slides records and partial requests
 * down). */
static inline void mem_move_down(void *dst, const void *src, size_t n)
{
    if (n <= MEM_SHORT_MAX && (size_t)((const char *)src - (char *)dst) >= n) {
        mem_copy(dst, src, n); /* apart: the short copy */
        return;
    }
#if MEM_ASM_COPY
    mem_copy_long(dst, src, n);
#else
    memmove(dst, src, n);
#endif
}

/* memcmp(a, b, n) == 0. */
static inline bool mem_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    if (n > MEM_SHORT_MAX)
        return memcmp(p, q, n) == 0; /* never on the hot path: keys are short */
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

/* memchr for a byte usually found near the start (a request line's end):
 * the first MEM_FIND_INLINE bytes are scanned 8 at a time inline (musl's
 * memchr spends longer aligning than that takes), the rest by libc. */
#define MEM_FIND_INLINE 64
static inline const char *mem_find(const char *p, char c, size_t n)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    const uint64_t pattern = ones * (unsigned char)c;
    size_t head = n < MEM_FIND_INLINE ? n : MEM_FIND_INLINE, i = 0;
    for (; i + 8 <= head; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= pattern; /* a zero byte where c is */
        uint64_t hit = (w - ones) & ~w & highs;
        if (hit) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* the lowest flag is the first c (a false one only follows a true one) */
            return p + i + ((unsigned)__builtin_ctzll(hit) >> 3);
#else
            break;
#endif
        }
    }
    for (; i < head; i++)
        if (p[i] == c)
            return p + i;
    return n > head ? memchr(p + head, c, n - head) : NULL;
}

#endif
