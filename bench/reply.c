/* reply: derived keys and values, the reply parser and the value check. */
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAT_SHIFTS 64

static unsigned _digits(uint32_t v)
{
    unsigned d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

bool kv_setup(struct kv_spec *s, uint32_t nkeys, unsigned kmin, unsigned kmax, uint32_t vmin,
              uint32_t vmax, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    unsigned need = 1 + _digits(nkeys ? nkeys - 1 : 0);
    if (nkeys == 0 || kmax < kmin || vmax < vmin) {
        snprintf(err, errlen, "empty key space or size range");
        return false;
    }
    if (kmin < need || kmax > KV_KEY_MAX) {
        snprintf(err, errlen, "keys must be %u..%d bytes for %u keys", need, KV_KEY_MAX, nkeys);
        return false;
    }
    s->nkeys = nkeys;
    s->kmin = kmin;
    s->kmax = kmax;
    s->vmin = vmin;
    s->vmax = vmax;
    s->pat = malloc((size_t)vmax + PAT_SHIFTS);
    if (!s->pat) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    for (size_t i = 0; i < (size_t)vmax + PAT_SHIFTS; i++)
        s->pat[i] = (char)('!' + i % 89); /* printable, period prime to 64 */
    return true;
}

void kv_teardown(struct kv_spec *s)
{
    free(s->pat);
    s->pat = NULL;
}

uint64_t kv_hash(uint32_t idx)
{
    uint64_t z = (uint64_t)idx + 0x9e3779b97f4a7c15ull; /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned _klen(const struct kv_spec *s, uint64_t h)
{
    return s->kmin + (unsigned)((h >> 8) % (s->kmax - s->kmin + 1));
}

unsigned kv_key(const struct kv_spec *s, uint32_t idx, char *out)
{
    unsigned len = _klen(s, kv_hash(idx));
    out[0] = 'k';
    for (unsigned i = len - 1; i >= 1; i--) {
        out[i] = (char)('0' + idx % 10);
        idx /= 10;
    }
    return len;
}

uint32_t kv_vlen(const struct kv_spec *s, uint32_t idx)
{
    uint64_t h = kv_hash(idx);
    if (s->heavy) { /* per mille of keys: 2 of 100 KB, 20 of 1-10 KB, the rest 100-1000 B */
        unsigned pm = (unsigned)((h >> 20) % 1000);
        uint32_t x = (uint32_t)(h >> 32);
        return pm < 2 ? KV_HEAVY_BIG : pm < 22 ? 1000 + x % 9001 : 100 + x % 901;
    }
    return s->vmin + (uint32_t)((h >> 20) % ((uint64_t)s->vmax - s->vmin + 1));
}

int64_t kv_flags_fixed = -1;

uint32_t kv_flags(uint32_t idx)
{
    return kv_flags_fixed >= 0 ? (uint32_t)kv_flags_fixed : (uint32_t)(kv_hash(idx) >> 16);
}

static const char *_vpat(const struct kv_spec *s, uint32_t idx)
{
    return s->pat + (kv_hash(idx) >> 40) % PAT_SHIFTS;
}

void kv_value(const struct kv_spec *s, uint32_t idx, char *out)
{
    char key[KV_KEY_MAX];
    unsigned klen = kv_key(s, idx, key);
    uint32_t vlen = kv_vlen(s, idx);
    unsigned n = klen < vlen ? klen : vlen;
    memcpy(out, key, n);
    memcpy(out + n, _vpat(s, idx) + n, vlen - n);
}

bool kv_parse_key(const struct kv_spec *s, const char *key, size_t klen, uint32_t *idx)
{
    if (klen < 2 || klen > s->kmax || key[0] != 'k')
        return false;
    uint64_t v = 0;
    for (size_t i = 1; i < klen; i++) {
        if (key[i] < '0' || key[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(key[i] - '0');
        if (v >= s->nkeys)
            return false;
    }
    if (_klen(s, kv_hash((uint32_t)v)) != klen)
        return false;
    *idx = (uint32_t)v;
    return true;
}

/* ---- reply parser ---- */

static bool _is(const char *line, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len == n && memcmp(line, word, n) == 0;
}

static bool _starts(const char *line, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len >= n && memcmp(line, word, n) == 0;
}

/* Decimal number at *p (before end), at least one digit, up to max. */
static bool _number(const char **p, const char *end, uint64_t max, uint64_t *out)
{
    const char *q = *p;
    uint64_t v = 0;
    while (q < end && *q >= '0' && *q <= '9') {
        uint64_t d = (uint64_t)(*q - '0');
        if (v > (max - d) / 10)
            return false; /* past max, overflow included */
        v = v * 10 + d;
        q++;
    }
    if (q == *p)
        return false;
    *p = q;
    *out = v;
    return true;
}

static enum reply_kind _bad(struct reply *r, const char *why)
{
    r->kind = REPLY_BAD;
    r->why = why;
    return REPLY_BAD;
}

static enum reply_kind _value(struct reply *r, const char *buf, size_t len, size_t max_value)
{
    const char *p = r->line + 6, *end = r->line + r->line_len;
    const char *k = p;
    while (p < end && *p != ' ' && (unsigned char)*p > ' ' && *p != 0x7f)
        p++;
    if (p == k || p - k > KV_KEY_MAX || p == end)
        return _bad(r, "VALUE: bad key");
    r->key = k;
    r->key_len = (size_t)(p - k);
    uint64_t flags, bytes, cas;
    p++;
    if (!_number(&p, end, UINT32_MAX, &flags) || p == end || *p++ != ' ')
        return _bad(r, "VALUE: bad flags");
    if (!_number(&p, end, UINT64_MAX / 2, &bytes))
        return _bad(r, "VALUE: bad length");
    if (p < end && (*p++ != ' ' || !_number(&p, end, UINT64_MAX, &cas) || p != end))
        return _bad(r, "VALUE: bad cas or trailing bytes");
    if (bytes > max_value)
        return _bad(r, "VALUE: longer than any value stored");
    r->flags = (uint32_t)flags;
    r->data_len = (size_t)bytes;
    r->data = end + 2;
    size_t total = r->line_len + 2 + r->data_len + 2;
    if (len < total) {
        r->kind = REPLY_AGAIN;
        return REPLY_AGAIN;
    }
    if (buf[total - 2] != '\r' || buf[total - 1] != '\n')
        return _bad(r, "VALUE: data not followed by \\r\\n");
    r->consumed = total;
    r->kind = REPLY_VALUE;
    return REPLY_VALUE;
}

enum reply_kind reply_parse(struct reply *r, const char *buf, size_t len, size_t max_line,
                            size_t max_value)
{
    memset(r, 0, sizeof(*r));
    size_t scan = len < max_line + 2 ? len : max_line + 2;
    const char *nl = memchr(buf, '\n', scan);
    if (!nl) {
        if (len >= max_line + 2)
            return _bad(r, "line too long");
        return REPLY_AGAIN;
    }
    if (nl == buf || nl[-1] != '\r')
        return _bad(r, "line not ended by \\r\\n");
    r->line = buf;
    r->line_len = (size_t)(nl - 1 - buf);
    r->consumed = r->line_len + 2;
    const char *l = r->line;
    size_t n = r->line_len;
    if (_starts(l, n, "VALUE "))
        return _value(r, buf, len, max_value);
    if (_is(l, n, "END"))
        r->kind = REPLY_END;
    else if (_is(l, n, "STORED"))
        r->kind = REPLY_STORED;
    else if (_is(l, n, "DELETED") || (n > 0 && n <= 20 && strspn(l, "0123456789") == n))
        r->kind = REPLY_DONE;
    else if (_is(l, n, "NOT_STORED") || _is(l, n, "EXISTS") || _is(l, n, "NOT_FOUND"))
        r->kind = REPLY_NOT_STORED;
    else if (_is(l, n, "ERROR") || _starts(l, n, "ERROR ") || _starts(l, n, "CLIENT_ERROR ") ||
             _starts(l, n, "SERVER_ERROR "))
        r->kind = REPLY_ERROR;
    else
        return _bad(r, "unexpected line");
    return r->kind;
}

enum check reply_check_value(const struct kv_spec *s, const struct reply *r,
                             const uint32_t *keys, unsigned n, unsigned *cursor)
{
    uint32_t idx;
    if (!kv_parse_key(s, r->key, r->key_len, &idx))
        return CHECK_WRONG_KEY;
    unsigned j = *cursor;
    while (j < n && keys[j] != idx)
        j++;
    if (j == n)
        return CHECK_WRONG_KEY;
    *cursor = j + 1;
    if (r->flags != kv_flags(idx) || r->data_len != kv_vlen(s, idx))
        return CHECK_WRONG_VALUE;
    size_t kn = r->key_len < r->data_len ? r->key_len : r->data_len;
    if (memcmp(r->data, r->key, kn) != 0 ||
        memcmp(r->data + kn, _vpat(s, idx) + kn, r->data_len - kn) != 0)
        return CHECK_WRONG_VALUE;
    return CHECK_OK;
}

/* ---- the binary protocol ---- */

static void _be16(char *p, uint16_t v)
{
    p[0] = (char)(v >> 8);
    p[1] = (char)v;
}

static void _be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

static uint16_t _get16(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint16_t)(u[0] << 8 | u[1]);
}

static uint32_t _get32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static void _bin_header(char *out, uint8_t op, uint16_t klen, uint8_t elen, uint32_t body,
                        uint32_t opaque)
{
    memset(out, 0, BIN_HDR); /* data type, vbucket and cas: 0 */
    out[0] = (char)BIN_REQ_MAGIC;
    out[1] = (char)op;
    _be16(out + 2, klen);
    out[4] = (char)elen;
    _be32(out + 8, body);
    _be32(out + 12, opaque);
}

size_t bin_set(const struct kv_spec *s, uint32_t idx, uint32_t opaque, char *out)
{
    char *p = out + BIN_HDR;
    _be32(p, kv_flags(idx));
    _be32(p + 4, 0); /* exptime */
    unsigned klen = kv_key(s, idx, p + 8);
    uint32_t vlen = kv_vlen(s, idx);
    kv_value(s, idx, p + 8 + klen);
    _bin_header(out, BIN_SET, (uint16_t)klen, 8, 8 + klen + vlen, opaque);
    return BIN_HDR + 8 + klen + vlen;
}

size_t bin_get(const struct kv_spec *s, uint32_t idx, uint8_t op, uint32_t opaque, char *out)
{
    unsigned klen = kv_key(s, idx, out + BIN_HDR);
    _bin_header(out, op, (uint16_t)klen, 0, klen, opaque);
    return BIN_HDR + klen;
}

size_t bin_simple(uint8_t op, uint32_t opaque, char *out)
{
    _bin_header(out, op, 0, 0, 0, opaque);
    return BIN_HDR;
}

static enum bin_kind _bin_bad(struct bin_reply *r, const char *why)
{
    r->kind = BIN_BAD;
    r->consumed = 0;
    r->why = why;
    return BIN_BAD;
}

enum bin_kind bin_parse(struct bin_reply *r, const char *buf, size_t len, size_t max_body)
{
    memset(r, 0, sizeof(*r));
    if (len >= 1 && (unsigned char)buf[0] != BIN_RES_MAGIC)
        return _bin_bad(r, "binary reply: magic is not 0x81");
    if (len < BIN_HDR) {
        r->kind = BIN_AGAIN;
        return BIN_AGAIN;
    }
    r->opcode = (uint8_t)buf[1];
    r->keylen = _get16(buf + 2);
    r->extlen = (uint8_t)buf[4];
    r->datatype = (uint8_t)buf[5];
    r->status = _get16(buf + 6);
    r->body_len = _get32(buf + 8);
    r->opaque = _get32(buf + 12);
    r->cas = (uint64_t)_get32(buf + 16) << 32 | _get32(buf + 20);
    if ((size_t)r->extlen + r->keylen > r->body_len)
        return _bin_bad(r, "binary reply: extras and key longer than the body");
    if (r->body_len > max_body)
        return _bin_bad(r, "binary reply: body longer than any value stored");
    if (len < BIN_HDR + (size_t)r->body_len) {
        r->kind = BIN_AGAIN;
        return BIN_AGAIN;
    }
    if (r->extlen == 4)
        r->flags = _get32(buf + BIN_HDR);
    r->value = buf + BIN_HDR + r->extlen + r->keylen;
    r->value_len = r->body_len - r->extlen - r->keylen;
    r->consumed = BIN_HDR + (size_t)r->body_len;
    r->kind = BIN_UNIT;
    return BIN_UNIT;
}

static enum bin_verdict _bv_bad(const char **why, const char *what)
{
    *why = what;
    return BV_BAD;
}

enum bin_verdict bin_check(const struct kv_spec *s, const struct bin_reply *r, uint8_t op,
                           uint32_t idx, const char **why)
{
    *why = NULL;
    if (r->opcode != op)
        return _bv_bad(why, "binary reply: opcode is not the request's");
    if (r->datatype != 0)
        return _bv_bad(why, "binary reply: data type is not 0 (raw bytes)");
    if (r->status != BIN_OK) {
        if (r->extlen || r->keylen)
            return _bv_bad(why, "binary reply: extras or key in an error reply");
        if (op == BIN_GETQ && r->status == BIN_KEY_ENOENT)
            return _bv_bad(why, "binary reply: GETQ miss answered (it must say nothing)");
        if ((op == BIN_GET || op == BIN_GETQ) && r->status == BIN_KEY_ENOENT)
            return BV_MISS;
        if (op == BIN_SET && (r->status == BIN_KEY_ENOENT || r->status == BIN_KEY_EEXISTS ||
                              r->status == BIN_NOT_STORED))
            return BV_NOT_STORED;
        return BV_ERROR;
    }
    switch (op) {
    case BIN_GET:
    case BIN_GETQ: {
        if (r->extlen != 4)
            return _bv_bad(why, "binary reply: a get hit without 4 bytes of flags");
        if (r->keylen != 0)
            return _bv_bad(why, "binary reply: a key in a GET/GETQ reply");
        char key[KV_KEY_MAX];
        unsigned klen = kv_key(s, idx, key);
        if (r->flags != kv_flags(idx) || r->value_len != kv_vlen(s, idx))
            return BV_WRONG_VALUE;
        size_t kn = klen < r->value_len ? klen : r->value_len;
        if (memcmp(r->value, key, kn) != 0 ||
            memcmp(r->value + kn, _vpat(s, idx) + kn, r->value_len - kn) != 0)
            return BV_WRONG_VALUE;
        return BV_HIT;
    }
    case BIN_VERSION:
        if (r->extlen || r->keylen || r->value_len == 0)
            return _bv_bad(why, "binary reply: VERSION without a version");
        return BV_OK;
    default: /* SET, NOOP, FLUSH: an empty body */
        if (r->body_len)
            return _bv_bad(why, "binary reply: a body where none belongs");
        return BV_OK;
    }
}

/* ---- meta ---- */

size_t meta_get(const struct kv_spec *s, uint32_t idx, bool quiet, char *out)
{
    char *p = out;
    memcpy(p, "mg ", 3);
    p += 3;
    p += kv_key(s, idx, p);
    memcpy(p, quiet ? " v q k\r\n" : " v k\r\n", quiet ? 8 : 6);
    return (size_t)(p - out) + (quiet ? 8 : 6);
}

size_t meta_set(const struct kv_spec *s, uint32_t idx, char *out)
{
    char *p = out;
    uint32_t vlen = kv_vlen(s, idx);
    memcpy(p, "ms ", 3);
    p += 3;
    p += kv_key(s, idx, p);
    p += sprintf(p, " %u F%u\r\n", vlen, kv_flags(idx));
    kv_value(s, idx, p);
    p += vlen;
    memcpy(p, "\r\n", 2);
    return (size_t)(p - out) + 2;
}

static enum meta_kind _meta_bad(struct reply *v, const char *why)
{
    v->why = why;
    return META_BAD;
}

enum meta_kind meta_parse(struct reply *v, const char *buf, size_t len, size_t max_line,
                          size_t max_value)
{
    memset(v, 0, sizeof(*v));
    const char *nl = memchr(buf, '\n', len < max_line ? len : max_line);
    if (!nl)
        return len >= max_line ? _meta_bad(v, "meta reply line too long") : META_AGAIN;
    if (nl == buf || nl[-1] != '\r')
        return _meta_bad(v, "meta reply line not ended by \\r\\n");
    v->line = buf;
    v->line_len = (size_t)(nl - 1 - buf);
    v->consumed = v->line_len + 2;
    const char *l = buf;
    size_t n = v->line_len;
    if (n >= 5 && (memcmp(l, "ERROR", 5) == 0 || memcmp(l, "CLIENT_ERROR", n < 12 ? n : 12) == 0 ||
                   memcmp(l, "SERVER_ERROR", n < 12 ? n : 12) == 0))
        return META_ERROR;
    if (n == 2 || (n > 2 && l[2] == ' ')) { /* a code, then its flags (k, O, ...) */
        if (memcmp(l, "HD", 2) == 0)
            return META_HD;
        if (memcmp(l, "EN", 2) == 0)
            return META_EN;
        if (memcmp(l, "MN", 2) == 0)
            return META_MN;
        if (memcmp(l, "NS", 2) == 0 || memcmp(l, "EX", 2) == 0 || memcmp(l, "NF", 2) == 0)
            return META_NOT;
    }
    if (n < 4 || memcmp(l, "VA ", 3) != 0)
        return _meta_bad(v, "not a meta reply");
    char *end;
    unsigned long dlen = strtoul(l + 3, &end, 10);
    if (end == l + 3 || dlen > max_value)
        return _meta_bad(v, "VA length");
    const char *k = memchr(end, 'k', (size_t)(l + n - end));
    if (!k || k[-1] != ' ')
        return _meta_bad(v, "VA without its key");
    v->key = k + 1;
    const char *kend = memchr(v->key, ' ', (size_t)(l + n - v->key));
    v->key_len = (size_t)((kend ? kend : l + n) - v->key);
    if (len < v->consumed + dlen + 2)
        return META_AGAIN;
    v->data = buf + v->consumed;
    v->data_len = dlen;
    if (v->data[dlen] != '\r' || v->data[dlen + 1] != '\n')
        return _meta_bad(v, "VA data not ended by \\r\\n");
    v->consumed += dlen + 2;
    v->kind = REPLY_VALUE;
    return META_VALUE;
}
