/* meta: tokenizing a meta command line and reading its flags, with
 * memcached's rules for which error a bad line earns. */
#include "meta.h"

#include <string.h>

#include "base64.h"

void meta_tokenize(struct meta_req *m, const char *p, size_t n)
{
    const char *end = p + n;
    m->ntok = 0;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        if (m->ntok == META_TOK_MAX)
            break; /* memcached's terminal token holds the rest: counted, not read */
        const char *s = p;
        while (p < end && *p != ' ')
            p++;
        m->tok[m->ntok++] = (struct proto_token){s, (size_t)(p - s)};
    }
    m->key = m->ntok > 1 ? m->tok[1].p : NULL;
    m->nkey = m->ntok > 1 ? m->tok[1].len : 0;
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
    uint8_t seen[127] = {0}; /* any first byte, letter or not, once */
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
        if (c >= 127 || seen[c]) {
            m->err = "CLIENT_ERROR duplicate flag";
            return false;
        }
        seen[c] = 1;
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
