/* base64: RFC 4648 alphabet; decoding as memcached's (ignore what is not
 * in the alphabet, groups of four, at most two '=' ending the data). */
#include "base64.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 a digit, 64 '=', 255 not in the alphabet. */
static unsigned _digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return c == '=' ? 64 : 255;
}

size_t base64_decode(const char *src, size_t n, char *out, size_t cap)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += _digit((unsigned char)src[i]) != 255;
    if (count == 0 || count % 4 || count / 4 * 3 > cap)
        return 0;
    unsigned block[4], got = 0, pad = 0;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = _digit((unsigned char)src[i]);
        if (d == 255)
            continue;
        if (d == 64) {
            pad++;
            d = 0;
        }
        block[got++] = d;
        if (got < 4)
            continue;
        out[pos++] = (char)(block[0] << 2 | block[1] >> 4);
        out[pos++] = (char)(block[1] << 4 | block[2] >> 2);
        out[pos++] = (char)(block[2] << 6 | block[3]);
        got = 0;
        if (pad) { /* padding ends the data: one '=' drops a byte, two drop two */
            if (pad > 2)
                return 0;
            pos -= pad;
            break;
        }
    }
    return pos;
}

size_t base64_encode(const char *src, size_t n, char *out)
{
    const unsigned char *s = (const unsigned char *)src;
    char *p = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        *p++ = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *p++ = '=';
    }
    return (size_t)(p - out);
}
