/* http_route: memg's URL space: the request target into a route, and for
 * /k/<key>?ttl=S&flags=N the percent-decoded key and its query. */
#include "http.h"

#include <string.h>

static int _hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

long http_unescape(char *dst, const char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] != '%') {
            dst[o++] = src[i];
            continue;
        }
        int hi = i + 2 < n ? _hex(src[i + 1]) : -1, lo = hi >= 0 ? _hex(src[i + 2]) : -1;
        if (lo < 0)
            return -1;
        dst[o++] = (char)(hi << 4 | lo);
        i += 2;
    }
    return (long)o;
}

bool http_digits(const char *p, const char *end, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    if (p == end)
        return false;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || x > (max - (uint64_t)(*p - '0')) / 10)
            return false;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *v = x;
    return true;
}

/* ?ttl=S&flags=N of a key's URL; false on anything else. */
static bool _query(struct http_req *r, const char *p, const char *end)
{
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        uint64_t v;
        if (e - p > 4 && memcmp(p, "ttl=", 4) == 0) {
            bool neg = p[4] == '-';
            if (!http_digits(p + 4 + neg, e, (uint64_t)INT64_MAX, &v))
                return false;
            r->ttl = neg ? -(int64_t)v : (int64_t)v;
            r->has_ttl = true;
        } else if (e - p > 6 && memcmp(p, "flags=", 6) == 0) {
            if (!http_digits(p + 6, e, proto_flags_max, &v))
                return false;
            r->flags = v;
        } else if (e != p) {
            return false;
        }
        p = amp ? amp + 1 : end;
    }
    return true;
}

/* The key after /k/: percent-decoded, 1..250 bytes, no space or control. */
static bool _key(struct http_req *r, const char *p, const char *end)
{
    if ((size_t)(end - p) > HTTP_KEY_MAX * 3)
        return false;
    char tmp[HTTP_KEY_MAX * 3];
    long n = http_unescape(tmp, p, (size_t)(end - p));
    if (n <= 0 || n > HTTP_KEY_MAX)
        return false;
    for (long i = 0; i < n; i++)
        if ((unsigned char)tmp[i] <= ' ' || tmp[i] == 0x7f)
            return false;
    memcpy(r->key, tmp, (size_t)n);
    r->nkey = (size_t)n;
    return true;
}

long http_route(struct http_req *r, const char *p, const char *end)
{
    if (p == end || *p != '/')
        return -400;
    for (const char *q = p; q < end; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return -400;
    const char *qm = memchr(p, '?', (size_t)(end - p));
    const char *pe = qm ? qm : end;
    size_t n = (size_t)(pe - p);
    if (n > 3 && memcmp(p, "/k/", 3) == 0) {
        r->route = HTTP_R_KEY;
        if (!_key(r, p + 3, pe) || (qm && !_query(r, qm + 1, end)))
            return -400;
        return 0;
    }
    static const struct {
        const char *path;
        uint8_t route;
    } routes[] = {
        {"/", HTTP_R_ROOT},           {"/metrics", HTTP_R_METRICS}, {"/healthz", HTTP_R_HEALTHZ},
        {"/stats.json", HTTP_R_JSON}, {"/k/", HTTP_R_KEY},
    };
    r->route = HTTP_R_NONE;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strlen(routes[i].path) == n && memcmp(routes[i].path, p, n) == 0)
            r->route = routes[i].route;
    return r->route == HTTP_R_KEY ? -400 : 0; /* "/k/": no key */
}
