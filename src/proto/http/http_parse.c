/* http_parse: an HTTP/1.x request head into a struct http_req, a pure
 * function over (buffer, length) in the manner of picohttpparser: complete,
 * incomplete, or the status to answer before hanging up. */
#include "http.h"

#include <string.h>

/* RFC 9110 tchar: what a method and a header name are made of. */
static bool _tchar(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        return true;
    if (c >= 'A' && c <= 'Z')
        return true;
    if (c >= '0' && c <= '9')
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Case-insensitive equality of a[0..n) and the lower-case word w. */
static bool _ieq(const char *a, size_t n, const char *w)
{
    size_t i = 0;
    for (; i < n && w[i]; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c != (unsigned char)w[i])
            return false;
    }
    return i == n && w[i] == '\0';
}

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

/* Decimal digits [p, end) into *v (at most max); false when not that. */
static bool _u64(const char *p, const char *end, uint64_t max, uint64_t *v)
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
            if (!_u64(p + 4 + neg, e, (uint64_t)INT64_MAX, &v))
                return false;
            r->ttl = neg ? -(int64_t)v : (int64_t)v;
            r->has_ttl = true;
        } else if (e - p > 6 && memcmp(p, "flags=", 6) == 0) {
            if (!_u64(p + 6, e, UINT32_MAX, &v))
                return false;
            r->flags = (uint32_t)v;
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

/* Route the request target; 0 or minus the status to answer. */
static long _target(struct http_req *r, const char *p, const char *end)
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
    static const struct { const char *path; uint8_t route; } routes[] = {
        {"/", HTTP_R_ROOT}, {"/metrics", HTTP_R_METRICS}, {"/healthz", HTTP_R_HEALTHZ},
        {"/stats.json", HTTP_R_JSON}, {"/k/", HTTP_R_KEY},
    };
    r->route = HTTP_R_NONE;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strlen(routes[i].path) == n && memcmp(routes[i].path, p, n) == 0)
            r->route = routes[i].route;
    return r->route == HTTP_R_KEY ? -400 : 0; /* "/k/": no key */
}

static uint8_t _method(const char *p, size_t n)
{
    static const char *const names[] = {"GET", "HEAD", "PUT", "DELETE", "POST"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && memcmp(names[i], p, n) == 0)
            return (uint8_t)(HTTP_GET + i);
    return HTTP_OTHER;
}

/* "METHOD target HTTP/1.x" (no line end); 0 or minus a status. */
static long _request_line(struct http_req *r, const char *p, const char *end)
{
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (!sp || sp == p)
        return -400;
    for (const char *q = p; q < sp; q++)
        if (!_tchar((unsigned char)*q))
            return -400;
    r->method = _method(p, (size_t)(sp - p));
    const char *t = sp + 1;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2)
        return -400;
    const char *v = sp2 + 1;
    if (end - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9')
        return -400;
    if (v[5] != '1')
        return -505;
    r->http10 = v[7] == '0';
    r->keep_alive = !r->http10;
    return _target(r, t, sp2);
}

/* An entity tag: "N" (W/ allowed when weak) or *; false when malformed. */
static bool _etag(const char *p, const char *end, bool weak, bool *any, uint64_t *cas)
{
    if (end - p == 1 && *p == '*') {
        *any = true;
        return true;
    }
    if (weak && end - p > 2 && p[0] == 'W' && p[1] == '/')
        p += 2;
    return end - p >= 3 && *p == '"' && end[-1] == '"' && _u64(p + 1, end - 1, UINT64_MAX, cas);
}

/* The next element of a comma-separated list at *p, blanks trimmed, as
 * [*s, *e); *p moves past it. False at the end of the list. */
static bool _list_next(const char **p, const char *end, const char **s, const char **e)
{
    if (*p >= end)
        return false;
    const char *c = memchr(*p, ',', (size_t)(end - *p));
    *e = c ? c : end;
    *s = *p;
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
    *p = c ? c + 1 : end;
    return true;
}

/* Connection: comma-separated options, close and keep-alive. */
static void _connection(struct http_req *r, const char *p, const char *end)
{
    const char *s, *e;
    while (_list_next(&p, end, &s, &e)) {
        if (_ieq(s, (size_t)(e - s), "close"))
            r->keep_alive = false;
        else if (_ieq(s, (size_t)(e - s), "keep-alive") && r->http10)
            r->keep_alive = true;
    }
}

/* A coding's weight in [s, e) after its name: HTTP_AE_NO when a q
 * parameter is zero (0, 0., 0.000), else HTTP_AE_YES (RFC 9110 12.4.2). */
static uint8_t _ae_weight(const char *s, const char *e)
{
    while ((s = memchr(s, ';', (size_t)(e - s))) != NULL) {
        while (++s < e && (*s == ' ' || *s == '\t'))
            ;
        if (e - s < 2 || (*s != 'q' && *s != 'Q') || s[1] != '=')
            continue;
        const char *v = s + 2;
        if (v == e || *v != '0')
            return HTTP_AE_YES;
        for (v++; v < e && (*v == '.' || *v == '0'); v++)
            ;
        return v < e && *v >= '1' && *v <= '9' ? HTTP_AE_YES : HTTP_AE_NO;
    }
    return HTTP_AE_YES;
}

/* Accept-Encoding: what it says of gzip (x-gzip is the same) and of *. */
static void _accept_encoding(struct http_req *r, const char *p, const char *end)
{
    const char *s, *e;
    while (_list_next(&p, end, &s, &e)) {
        const char *n = s;
        while (n < e && *n != ';' && *n != ' ' && *n != '\t')
            n++;
        size_t nn = (size_t)(n - s);
        if (_ieq(s, nn, "gzip") || _ieq(s, nn, "x-gzip"))
            r->ae_gzip = _ae_weight(n, e);
        else if (nn == 1 && *s == '*')
            r->ae_any = _ae_weight(n, e);
    }
}

bool http_accepts_gzip(const struct http_req *r)
{
    return r->ae_gzip == HTTP_AE_YES || (r->ae_gzip == HTTP_AE_UNSAID && r->ae_any == HTTP_AE_YES);
}

/* One "name: value" line; 0 or minus a status. */
static long _header(struct http_req *r, const char *p, const char *end, bool *host)
{
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon || colon == p)
        return -400;
    for (const char *q = p; q < colon; q++)
        if (!_tchar((unsigned char)*q))
            return -400; /* also a space before the colon, and obs-fold */
    size_t nn = (size_t)(colon - p);
    const char *v = colon + 1, *ve = end;
    while (v < ve && (*v == ' ' || *v == '\t'))
        v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    for (const char *q = v; q < ve; q++)
        if (((unsigned char)*q < ' ' && *q != '\t') || *q == 0x7f)
            return -400;
    uint64_t n;
    if (_ieq(p, nn, "content-length")) {
        if (!_u64(v, ve, (uint64_t)1 << 62, &n) || (r->has_length && n != r->content_length))
            return -400;
        r->content_length = n;
        r->has_length = true;
    } else if (_ieq(p, nn, "host")) {
        *host = true;
    } else if (_ieq(p, nn, "connection")) {
        _connection(r, v, ve);
    } else if (_ieq(p, nn, "accept-encoding")) {
        _accept_encoding(r, v, ve);
    } else if (_ieq(p, nn, "transfer-encoding")) {
        r->chunked = true;
    } else if (_ieq(p, nn, "expect")) {
        r->expect_continue = _ieq(v, (size_t)(ve - v), "100-continue");
    } else if (_ieq(p, nn, "if-match")) {
        r->if_match = true; /* a malformed tag matches nothing (cas 0) */
        if (!_etag(v, ve, false, &r->if_match_any, &r->if_match_cas))
            r->if_match_cas = 0;
    } else if (_ieq(p, nn, "if-none-match")) {
        r->if_none_match = true;
        if (!_etag(v, ve, true, &r->if_none_match_any, &r->if_none_match_cas))
            r->if_none_match_cas = 0;
    }
    return 0;
}

long http_parse(struct http_req *r, const char *buf, size_t len)
{
    size_t pos = 0;
    while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
        pos++; /* empty lines before a request are ignored (RFC 9112 2.2) */
    size_t lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
    memset(r, 0, offsetof(struct http_req, key));
    bool host = false;
    for (bool first = true;; first = false) {
        const char *nl = pos < lim ? memchr(buf + pos, '\n', lim - pos) : NULL;
        if (!nl)
            return len >= HTTP_HEAD_MAX ? -431 : 0;
        const char *p = buf + pos, *end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
        pos = (size_t)(nl - buf) + 1;
        if (end == p && !first)
            break;
        long st = first ? _request_line(r, p, end) : _header(r, p, end, &host);
        if (st)
            return st;
    }
    if (!host && !r->http10)
        return -400;
    if (r->chunked)
        return -501;
    r->head_len = pos;
    return (long)pos;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "";
    }
}
