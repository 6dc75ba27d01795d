/* fmt: the small printf subset memg uses, without stdio or floating point,
 * so that the static server links none of libc's printf machinery (on
 * aarch64 musl that is ~20 KB with 128-bit long double arithmetic).
 *
 * Conversions: %d %i %u %o %c %s %%, with the length modifiers l, ll and z
 * on the integer ones; the flag 0 and a decimal width on any conversion
 * (zeros pad only integers); a precision .N or .* on %s only. Anything else
 * (%x, %f, %p, flags - + space #, a width *, an integer precision) prints
 * '?' and ends the output there, since its argument's type is unknown. */
#ifndef MEMG_FMT_H
#define MEMG_FMT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Like snprintf: writes at most cap bytes, NUL included, always
 * NUL-terminated when cap > 0; returns the length the whole output has (a
 * result >= cap means it was truncated). */
size_t fmt_buf(char *dst, size_t cap, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
size_t fmt_vbuf(char *dst, size_t cap, const char *format, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Formatted text to a file descriptor (stdout, stderr, a file): staged in a
 * 512-byte stack buffer; longer output is written in several pieces, never
 * truncated. Write errors are ignored and errno is left as it was. */
void fmt_fd(int fd, const char *format, ...) __attribute__((format(printf, 2, 3)));
void fmt_vfd(int fd, const char *format, va_list ap) __attribute__((format(printf, 2, 0)));
/* All of text to fd, through EINTR and short writes; false on error. */
bool fmt_write(int fd, const char *text, size_t len);

/* v in decimal at out (room for 20 digits), no terminator; returns the
 * length. The replies' numbers: inline, as it was beside the VALUE header
 * that writes three per item. Two digits a step from a table of the hundred
 * pairs, written from the end once the count is known: half the divisions
 * and no reversal. */
static inline size_t fmt_u64(char *out, uint64_t v)
{
    static const char pairs[] = "0001020304050607080910111213141516171819"
                                "2021222324252627282930313233343536373839"
                                "4041424344454647484950515253545556575859"
                                "6061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    static const uint64_t pow10[20] = {
        1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u, 1000000000u,
        10000000000u, 100000000000u, 1000000000000u, 10000000000000u, 100000000000000u,
        1000000000000000u, 10000000000000000u, 100000000000000000u, 1000000000000000000u,
        10000000000000000000u};
    /* digits from the bit length (1233/4096 ~ log10(2)), then one compare;
     * v | 1 has v's digits and makes 0 one digit long */
    unsigned t = ((unsigned)(64 - __builtin_clzll(v | 1)) * 1233u) >> 12;
    size_t n = t + ((v | 1) >= pow10[t]);
    char *p = out + n;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, pairs + 2 * r, 2);
    }
    if (v >= 10)
        memcpy(p - 2, pairs + 2 * v, 2);
    else
        p[-1] = (char)('0' + v);
    return n;
}

/* Text of an address as inet_ntop writes it, without libc's inet_ntop (in
 * musl it uses snprintf). family is AF_INET or AF_INET6, addr a struct
 * in_addr or in6_addr; dst holds FMT_INET_LEN bytes. IPv6 is in RFC 5952
 * form: lowercase, no leading zeros, the first longest run of two or more
 * zero groups as "::", and ::ffff:a.b.c.d for v4-mapped addresses. Returns
 * the length; 0 and "" for another family. */
#define FMT_INET_LEN 46 /* INET6_ADDRSTRLEN */
size_t fmt_inet(char *dst, int family, const void *addr);

/* memcached's uriencode of a key for metadump and watch lines: unreserved
 * characters (alphanumerics and -._~) as they are, others %XX. dst holds
 * 3 * n bytes; returns the length written (no terminator). */
size_t fmt_uri(char *dst, const char *key, size_t n);

#endif
