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

/* Text of an address as inet_ntop writes it, without libc's inet_ntop (in
 * musl it uses snprintf). family is AF_INET or AF_INET6, addr a struct
 * in_addr or in6_addr; dst holds FMT_INET_LEN bytes. IPv6 is in RFC 5952
 * form: lowercase, no leading zeros, the first longest run of two or more
 * zero groups as "::", and ::ffff:a.b.c.d for v4-mapped addresses. Returns
 * the length; 0 and "" for another family. */
#define FMT_INET_LEN 46 /* INET6_ADDRSTRLEN */
size_t fmt_inet(char *dst, int family, const void *addr);

#endif
