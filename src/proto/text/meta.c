/* meta: tokenizing a meta command line and reading its flags, with
 * memcached's rules for which error a bad line earns. */
#include "meta.h"

#include <string.h>

#include "base64.h"

/* 1.6.45's meta tokenizer refuses a flag token that starts with neither a
 * digit nor a byte from 'A' to 'z'. */
static bool _bad_start(unsigned char c)
{
    return !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'z');
}

/* Tokens of [p, end) from number i on. */
static void _split(struct meta_req *m, const char *p, const char *end, int i)
{
    bool bad = false;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        if (i == META_TOK_MAX)
            break; /* memcached's terminal token holds the rest: counted, not read */
        const char *s = p;
        bad |= i >= 2 && _bad_start((unsigned char)*s);
        while (p < end && *p != ' ')
            p++;
        m->tok[i++] = (struct proto_token){s, (size_t)(p - s)};
    }
    m->ntok = i;
    m->bad_start = bad;
    m->key = i > 1 ? m->tok[1].p : NULL;
    m->nkey = i > 1 ? m->tok[1].len : 0;
}

void meta_tokenize(struct meta_req *m, const char *p, size_t n)
{
    _split(m, p, p + n, 0);
}

void meta_tokenize_from_key(struct meta_req *m, const char *line, size_t n, struct proto_token key)
{
    if (key.len == 0) {
        meta_tokenize(m, line, n);
        return;
    }
    m->tok[0] = (struct proto_token){line, 2};
    m->tok[1] = key;
    _split(m, key.p + key.len, line + n, 2);
}

/* The digits after the flag letter, 1.6.45's mcmc_tokto* rules: at least
 * one, nothing else (a '-' first where signed), at most 11 characters (22
 * for 64 bits), in range. */
static bool _number(const struct proto_token *t, bool sign, uint64_t lim, uint64_t *v, bool *neg)
{
    return t->len > 1 &&
           proto_digits(t->p + 1, t->len - 1, lim > UINT32_MAX ? 22 : 11, sign, lim, v, neg);
}

static bool _u64(const struct proto_token *t, uint64_t *out)
{
    bool neg;
    return _number(t, false, UINT64_MAX, out, &neg);
}

static bool _ttl(const struct proto_token *t, int32_t *out)
{
    uint64_t v;
    bool neg;
    if (!_number(t, true, (uint64_t)INT32_MAX + 1, &v, &neg) || (!neg && v > INT32_MAX))
        return false;
    *out = neg ? (int32_t)(0 - v) : (int32_t)v;
    return true;
}

bool meta_parse_flags(struct meta_req *m, int first)
{
    static const char bad_token[] = "CLIENT_ERROR bad token in command line format";
    bool failed = false;
    uint64_t seen[2] = {0, 0}; /* any first byte below 128, letter or not, once */
    m->first = first;
    m->seen = 0;
    m->mode = 0;
    m->ttl = m->vivify_ttl = m->recache_ttl = 0;
    m->client_flags = 0;
    m->cas_cmp = m->cas_new = m->initial = 0;
    m->delta = 1;
    m->err = "CLIENT_ERROR bad command line format";
    for (int i = first; i < m->ntok; i++) {
        const struct proto_token *t = &m->tok[i];
        unsigned char c = (unsigned char)t->p[0];
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        uint64_t bit = (uint64_t)1 << (c & 63);
        if (c >= 127 || (seen[c >> 6] & bit)) {
            m->err = "CLIENT_ERROR duplicate flag";
            return false;
        }
        seen[c >> 6] |= bit;
        if (letter)
            m->seen |= META_F(c);
        switch (c) {
        case 'b': {
            size_t n = base64_decode(m->tok[1].p, m->tok[1].len, m->keybuf, sizeof m->keybuf);
            if (n == 0) {
                m->err = "CLIENT_ERROR error decoding key";
                failed = true;
            }
            m->key = m->keybuf;
            m->nkey = n;
            break;
        }
        case 'N':
            if (!_ttl(t, &m->vivify_ttl)) {
                m->err = bad_token;
                failed = true;
            }
            break;
        case 'T':
            if (!_ttl(t, &m->ttl)) {
                m->err = bad_token;
                failed = true;
            }
            break;
        case 'R':
            if (!_ttl(t, &m->recache_ttl)) {
                m->err = bad_token;
                failed = true;
            }
            break;
        case 'F':
            if (!_number(t, false, proto_flags_max, &m->client_flags, &(bool){false}))
                failed = true; /* memcached keeps the error it had */
            break;
        case 'C':
            if (!_u64(t, &m->cas_cmp)) {
                m->err = bad_token;
                failed = true;
            }
            break;
        case 'E':
            if (!_u64(t, &m->cas_new)) {
                m->err = bad_token;
                failed = true;
            }
            break;
        case 'M': /* the byte after M, whatever the length (a lone M: no mode) */
            m->mode = t->len > 1 ? t->p[1] : ' ';
            break;
        case 'J':
            if (!_u64(t, &m->initial)) {
                m->err = "CLIENT_ERROR invalid numeric initial value";
                failed = true;
            }
            break;
        case 'D':
            if (!_u64(t, &m->delta)) {
                m->err = "CLIENT_ERROR invalid numeric delta value";
                failed = true;
            }
            break;
        case 'O': case 'P': case 'L': case 'k': case 's': case 't': case 'c': case 'f':
        case 'v': case 'h': case 'l': case 'u': case 'q': case 'I': case 'x':
            break;
        default:
            m->err = "CLIENT_ERROR invalid flag";
            return false;
        }
    }
    return !failed;
}
