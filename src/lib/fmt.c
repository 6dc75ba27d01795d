/* fmt: a printf subset (see fmt.h) writing into a sink that is either the
 * caller's buffer, with snprintf's semantics, or a stack buffer flushed to
 * a file descriptor whenever it fills. */
#include "fmt.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FD_STAGE 512 /* stack bytes fmt_fd formats into between writes */

struct sink {
    char *dst;    /* output goes here */
    size_t room;  /* bytes of dst for output (a buffer's NUL excluded) */
    size_t used;  /* bytes of dst filled */
    size_t total; /* bytes of the whole output, kept or not */
    int fd;       /* < 0: a caller's buffer, output past room is dropped */
};

/* One directive: %[0][width][.prec][l|ll|z]conv. */
struct spec {
    bool zero;    /* flag 0: pad integers with zeros */
    size_t width; /* minimum field width */
    int prec;     /* %s: at most this many bytes; -1 when absent */
    char size;    /* 0 int, 'l' long, 'L' long long, 'z' size_t */
    char conv;    /* the conversion character, NUL if the format ended */
};

bool fmt_write(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        text += n;
        len -= (size_t)n;
    }
    return true;
}

static void _put(struct sink *s, const char *p, size_t n)
{
    s->total += n;
    while (n > 0) {
        if (s->used == s->room) {
            if (s->fd < 0)
                return;
            fmt_write(s->fd, s->dst, s->used);
            s->used = 0;
        }
        size_t k = s->room - s->used < n ? s->room - s->used : n;
        memcpy(s->dst + s->used, p, k);
        s->used += k;
        p += k;
        n -= k;
    }
}

static void _pad(struct sink *s, char c, size_t n)
{
    for (; n > 0; n--)
        _put(s, &c, 1);
}

/* Digits of v in base (8, 10 or 16), written backwards ending at end;
 * returns where they start. */
static char *_digits(char *end, unsigned long long v, unsigned base)
{
    static const char digit[] = "0123456789abcdef";
    char *p = end;
    do {
        *--p = digit[v % base];
        v /= base;
    } while (v != 0);
    return p;
}

/* Text right-aligned in the field width, padded with spaces. */
static void _field(struct sink *s, const struct spec *sp, const char *text, size_t len)
{
    _pad(s, ' ', sp->width > len ? sp->width - len : 0);
    _put(s, text, len);
}

static void _integer(struct sink *s, const struct spec *sp, bool negative,
                     unsigned long long magnitude, unsigned base)
{
    char text[24]; /* 22 octal digits hold 64 bits */
    char *end = text + sizeof(text);
    char *start = _digits(end, magnitude, base);
    size_t len = (size_t)(end - start) + negative;
    size_t pad = sp->width > len ? sp->width - len : 0;
    if (!sp->zero)
        _pad(s, ' ', pad);
    if (negative)
        _put(s, "-", 1);
    if (sp->zero)
        _pad(s, '0', pad); /* zeros go between the sign and the digits */
    _put(s, start, (size_t)(end - start));
}

static unsigned long long _unsigned_arg(const struct spec *sp, va_list *ap)
{
    switch (sp->size) {
    case 'l': return va_arg(*ap, unsigned long);
    case 'L': return va_arg(*ap, unsigned long long);
    case 'z': return va_arg(*ap, size_t);
    default: return va_arg(*ap, unsigned);
    }
}

static long long _signed_arg(const struct spec *sp, va_list *ap)
{
    switch (sp->size) {
    case 'l': return va_arg(*ap, long);
    case 'L': return va_arg(*ap, long long);
    case 'z': return va_arg(*ap, ptrdiff_t); /* ssize_t's width on Linux ABIs */
    default: return va_arg(*ap, int);
    }
}

static size_t _number(const char **f)
{
    size_t v = 0;
    for (; **f >= '0' && **f <= '9'; (*f)++)
        v = v < INT_MAX / 10 ? v * 10 + (size_t)(**f - '0') : INT_MAX; /* saturates */
    return v;
}

/* Reads the directive that follows a '%'; returns where it ends. */
static const char *_parse(const char *f, struct spec *sp, va_list *ap)
{
    *sp = (struct spec){.prec = -1};
    for (; *f == '0'; f++)
        sp->zero = true;
    sp->width = _number(&f);
    if (*f == '.') {
        f++;
        if (*f == '*') {
            int prec = va_arg(*ap, int);
            sp->prec = prec < 0 ? -1 : prec; /* negative: as if absent, as printf */
            f++;
        } else {
            sp->prec = (int)_number(&f);
        }
    }
    if (*f == 'l') {
        sp->size = *++f == 'l' ? 'L' : 'l';
        f += sp->size == 'L';
    } else if (*f == 'z') {
        sp->size = 'z';
        f++;
    }
    sp->conv = *f;
    return *f ? f + 1 : f;
}

/* Prints one directive; false when it is not one fmt supports. */
static bool _convert(struct sink *s, const struct spec *sp, va_list *ap)
{
    bool integer = sp->conv != '\0' && strchr("diuo", sp->conv) != NULL;
    if ((sp->prec >= 0 && sp->conv != 's') || (sp->size && !integer))
        return false;
    switch (sp->conv) {
    case '%':
        _put(s, "%", 1);
        return true;
    case 'c': {
        char c = (char)va_arg(*ap, int);
        _field(s, sp, &c, 1);
        return true;
    }
    case 's': {
        const char *str = va_arg(*ap, const char *);
        if (str == NULL)
            str = "(null)";
        _field(s, sp, str, sp->prec >= 0 ? strnlen(str, (size_t)sp->prec) : strlen(str));
        return true;
    }
    case 'd':
    case 'i': {
        long long v = _signed_arg(sp, ap);
        /* 0 - v in unsigned arithmetic: LLONG_MIN has no positive twin */
        _integer(s, sp, v < 0, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, 10);
        return true;
    }
    case 'u':
        _integer(s, sp, false, _unsigned_arg(sp, ap), 10);
        return true;
    case 'o':
        _integer(s, sp, false, _unsigned_arg(sp, ap), 8);
        return true;
    default:
        return false;
    }
}

static void _format(struct sink *s, const char *f, va_list args)
{
    va_list ap; /* a copy, so helpers can share it through a pointer */
    va_copy(ap, args);
    for (;;) {
        const char *pct = strchr(f, '%');
        if (pct == NULL) {
            _put(s, f, strlen(f));
            break;
        }
        _put(s, f, (size_t)(pct - f));
        struct spec sp;
        f = _parse(pct + 1, &sp, &ap);
        if (!_convert(s, &sp, &ap)) {
            _put(s, "?", 1); /* the arguments after it cannot be located */
            break;
        }
    }
    va_end(ap);
}

size_t fmt_vbuf(char *dst, size_t cap, const char *format, va_list ap)
{
    struct sink s = {.dst = dst, .room = cap ? cap - 1 : 0, .fd = -1};
    _format(&s, format, ap);
    if (cap > 0)
        dst[s.used] = '\0';
    return s.total;
}

size_t fmt_buf(char *dst, size_t cap, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    size_t n = fmt_vbuf(dst, cap, format, ap);
    va_end(ap);
    return n;
}

void fmt_vfd(int fd, const char *format, va_list ap)
{
    int saved_errno = errno;
    char stage[FD_STAGE];
    struct sink s = {.dst = stage, .room = sizeof(stage), .fd = fd};
    _format(&s, format, ap);
    fmt_write(fd, stage, s.used);
    errno = saved_errno;
}

void fmt_fd(int fd, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fmt_vfd(fd, format, ap);
    va_end(ap);
}

static size_t _inet4(char *dst, size_t cap, const unsigned char *b)
{
    return fmt_buf(dst, cap, "%u.%u.%u.%u", (unsigned)b[0], (unsigned)b[1], (unsigned)b[2],
                   (unsigned)b[3]);
}

/* Start of the first longest run of two or more zero words, -1 if none. */
static int _zero_run(const unsigned *word, int *run_len)
{
    int best = -1;
    *run_len = 1;
    for (int i = 0; i < 8; i++) {
        int j = i;
        while (j < 8 && word[j] == 0)
            j++;
        if (j - i > *run_len) {
            best = i;
            *run_len = j - i;
        }
        if (j > i)
            i = j;
    }
    return best;
}

static size_t _inet6(char *dst, const unsigned char *b)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, v4mapped, sizeof(v4mapped)) == 0) {
        memcpy(dst, "::ffff:", 7);
        return 7 + _inet4(dst + 7, FMT_INET_LEN - 7, b + 12);
    }
    unsigned word[8];
    for (int i = 0; i < 8; i++)
        word[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
    int run_len;
    int run = _zero_run(word, &run_len);
    char *p = dst;
    for (int i = 0; i < 8; i++) {
        if (i == run) {
            *p++ = ':';
            *p++ = ':';
            i += run_len - 1;
            continue;
        }
        if (i > 0 && i != run + run_len)
            *p++ = ':';
        char hex[4];
        char *start = _digits(hex + sizeof(hex), word[i], 16);
        size_t n = (size_t)(hex + sizeof(hex) - start);
        memcpy(p, start, n);
        p += n;
    }
    *p = '\0';
    return (size_t)(p - dst);
}

size_t fmt_inet(char *dst, int family, const void *addr)
{
    if (family == AF_INET)
        return _inet4(dst, FMT_INET_LEN, addr);
    if (family == AF_INET6)
        return _inet6(dst, addr);
    dst[0] = '\0';
    return 0;
}
