/* cuts: the boundaries of a client's byte stream, found as each protocol
 * frames it (independently of memg's own parsers, so that a framing bug
 * there cannot hide the cut that shows it). */
#include "cuts.h"

#include <string.h>

#define LINE_SOFT_MAX 2048 /* memcached: past this without a newline only get/gets go on */

struct marks {
    uint8_t *at;
    size_t n;
    unsigned kinds;
};

static void _mark(struct marks *m, size_t off, unsigned kind)
{
    if ((m->kinds & kind) && off > 0 && off < m->n)
        m->at[off] = 1;
}

/* The number in p[0..n) when it is all digits (at most 10), else -1. */
static long long _number(const uint8_t *p, size_t n)
{
    if (n == 0 || n > 10)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static bool _is(const uint8_t *p, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(p, word, n) == 0;
}

/* Case-insensitive search for a lowercase needle in p[0..n). */
static const uint8_t *_find_ci(const uint8_t *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        size_t j = 0;
        while (j < k && (p[i + j] | 0x20) == (uint8_t)needle[j])
            j++;
        if (j == k)
            return p + i;
    }
    return NULL;
}

/* One text line at p[pos..]: returns where the next request starts. */
static size_t _text_request(struct marks *m, const uint8_t *p, size_t pos, bool *det)
{
    const uint8_t *nl = memchr(p + pos, '\n', m->n - pos);
    size_t end = nl ? (size_t)(nl - p) + 1 : m->n;
    if (end - pos > LINE_SOFT_MAX)
        *det = false;
    _mark(m, pos + 1, CUT_FIRST);
    _mark(m, pos + (end - pos) / 2, CUT_MID);
    if (nl) {
        size_t cr = nl > p + pos && nl[-1] == '\r' ? (size_t)(nl - p) - 1 : (size_t)(nl - p);
        _mark(m, cr, CUT_HEAD);
        _mark(m, (size_t)(nl - p), CUT_CRLF);
    }
    /* tokens split on spaces, as memcached's tokenizer does */
    const uint8_t *tok[8];
    size_t ntok[8], k = 0, i = pos, stop = nl ? (size_t)(nl - p) : m->n;
    if (stop > pos && p[stop - 1] == '\r')
        stop--;
    while (i < stop && k < 8) {
        while (i < stop && p[i] == ' ')
            i++;
        size_t s = i;
        while (i < stop && p[i] != ' ')
            i++;
        if (i > s) {
            tok[k] = p + s;
            ntok[k++] = i - s;
        }
    }
    if (k >= 2) /* the key */
        _mark(m, (size_t)(tok[1] - p) + ntok[1] / 2 + (ntok[1] > 1), CUT_KEY);
    if (k >= 1 && (_is(tok[0], ntok[0], "stats") || _is(tok[0], ntok[0], "watch")))
        *det = false;
    long long vlen = -1;
    if (k >= 5 && (_is(tok[0], ntok[0], "set") || _is(tok[0], ntok[0], "add") ||
                   _is(tok[0], ntok[0], "replace") || _is(tok[0], ntok[0], "append") ||
                   _is(tok[0], ntok[0], "prepend") || _is(tok[0], ntok[0], "cas")))
        vlen = _number(tok[4], ntok[4]);
    else if (k >= 3 && _is(tok[0], ntok[0], "ms"))
        vlen = _number(tok[2], ntok[2]);
    if (!nl || vlen < 0 || (size_t)vlen > m->n - end)
        return end;
    size_t v = end, vend = end + (size_t)vlen; /* the data block and its \r\n */
    _mark(m, v, CUT_BODY);
    _mark(m, v + (size_t)vlen / 2, CUT_VMID);
    _mark(m, vend, CUT_HEAD);
    _mark(m, vend + 1, CUT_CRLF);
    _mark(m, vend + 1, CUT_LAST);
    return vend + 2 < m->n ? vend + 2 : m->n;
}

/* One binary request at p[pos..]; 0 when the stream cannot go on. */
static size_t _bin_request(struct marks *m, const uint8_t *p, size_t pos, bool *det)
{
    if (m->n - pos < 24 || p[pos] != 0x80)
        return 0; /* memg hangs up on a bad magic */
    const uint8_t *h = p + pos;
    size_t keylen = (size_t)h[2] << 8 | h[3], extlen = h[4];
    size_t body = (size_t)h[8] << 24 | (size_t)h[9] << 16 | (size_t)h[10] << 8 | h[11];
    if (h[1] == 0x10) /* stat */
        *det = false;
    _mark(m, pos + 1, CUT_FIRST);
    _mark(m, pos + 12, CUT_MID);
    _mark(m, pos + 24, CUT_HEAD);
    _mark(m, pos + 24 + extlen / 2, CUT_KEY);
    _mark(m, pos + 24 + extlen + keylen / 2 + (keylen > 1), CUT_KEY);
    size_t v = pos + 24 + extlen + keylen, end = pos + 24 + body;
    if (end > m->n || end < v)
        return 0;
    _mark(m, v, CUT_BODY);
    _mark(m, v + (end - v) / 2, CUT_VMID);
    _mark(m, end - 1, CUT_LAST);
    return end;
}

/* One HTTP request at p[pos..]: its head up to the blank line, then a
 * Content-Length body; 0 when the stream cannot go on. */
static size_t _http_request(struct marks *m, const uint8_t *p, size_t pos, bool *det)
{
    size_t n = m->n;
    const uint8_t *line = memchr(p + pos, '\n', n - pos);
    _mark(m, pos + 1, CUT_FIRST);
    size_t lend = line ? (size_t)(line - p) : n;
    _mark(m, pos + (lend - pos) / 2, CUT_MID);
    const uint8_t *sp = memchr(p + pos, ' ', lend - pos);
    if (sp)
        _mark(m, (size_t)(sp - p) + 3, CUT_KEY); /* inside the path, past "/k" */
    if (sp && (size_t)(sp - p) + 1 < lend) {
        const uint8_t *path = sp + 1;
        size_t left = lend - (size_t)(path - p);
        if (_find_ci(path, left < 12 ? left : 12, "/metrics") ||
            _find_ci(path, left < 12 ? left : 12, "/stats.json"))
            *det = false;
    }
    size_t head = 0; /* the head's length, its blank line included */
    for (size_t i = pos; i < n; i++) {
        if (p[i] != '\n')
            continue;
        _mark(m, i > pos && p[i - 1] == '\r' ? i - 1 : i, CUT_HEAD);
        _mark(m, i, CUT_CRLF);
        bool blank = (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n') ||
                     (i >= 1 && p[i - 1] == '\n');
        if (i > pos + 1 && blank) {
            head = i + 1 - pos;
            break;
        }
    }
    if (!head)
        return 0;
    const uint8_t *h = p + pos;
    if (_find_ci(h, head, "100-continue"))
        *det = false;
    long long clen = 0;
    const uint8_t *cl = _find_ci(h, head, "\ncontent-length:");
    if (cl) {
        const uint8_t *d = cl + 16, *e = h + head;
        while (d < e && *d == ' ')
            d++;
        const uint8_t *s = d;
        while (d < e && *d >= '0' && *d <= '9')
            d++;
        clen = _number(s, (size_t)(d - s));
    }
    size_t body = pos + head;
    if (clen < 0 || (size_t)clen > n - body)
        return 0;
    _mark(m, body, CUT_BODY);
    _mark(m, body + (size_t)clen / 2, CUT_VMID);
    _mark(m, body + (size_t)clen - 1, CUT_LAST);
    return body + (size_t)clen;
}

bool cuts_mark(enum cut_wire w, const uint8_t *p, size_t n, unsigned kinds, uint8_t *at)
{
    struct marks m = {at, n, kinds};
    bool det = true;
    size_t pos = 0;
    while (pos < n) {
        size_t next = w == CUT_TEXT  ? _text_request(&m, p, pos, &det)
                      : w == CUT_BIN ? _bin_request(&m, p, pos, &det)
                                     : _http_request(&m, p, pos, &det);
        if (next <= pos)
            break;
        pos = next;
    }
    return det;
}
