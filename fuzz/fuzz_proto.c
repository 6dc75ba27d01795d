/* fuzz_proto: the parser alone over random bytes (libFuzzer).
 *
 * Invariants checked on every input:
 *  - proto_parse returns PROTO_AGAIN, PROTO_CLOSE or 1..len;
 *  - every token (key, keys, arg, arg2, value) lies inside the buffer, and
 *    proto_next_key only hands out keys inside req->keys, none empty;
 *  - a complete storage request consumes line + data + 2, its value starts
 *    right after the line; a PROTO_AGAIN after a complete storage line has a
 *    line_len inside the buffer;
 *  - feeding the stream whole and feeding it in pieces (two split points
 *    drawn from the input's hash, then one byte at a time for short inputs)
 *    gives the same requests. The one allowed difference is memcached's own:
 *    a line without newline past PROTO_LINE_SOFT_MAX bytes closes the
 *    connection when it is seen in pieces, not when it arrives whole; then
 *    the pieces' sequence must be a prefix of the whole one.
 * Buffers are malloc'ed at their exact size so ASan catches any over-read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/text/meta.h"
#include "proto/text/proto.h"

#define MAX_REQS 4096

#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "fuzz_proto: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* One parsed request, position-independent: tokens as offsets from the
 * start of the request. */
struct rec {
    ssize_t rc; /* > 0 consumed, or PROTO_CLOSE as the final entry */
    enum proto_cmd cmd;
    enum proto_error error;
    bool noreply, bad_chunk;
    int ntokens;
    uint64_t flags;
    uint32_t vlen, level;
    int32_t exptime;
    uint64_t cas, delta;
    size_t line_len;
    long key[2], keys[2], arg[2], arg2[2], value;
    uint64_t keys_hash; /* of the keys proto_next_key hands out */
};

struct seq {
    struct rec r[MAX_REQS];
    int n;
    bool closed;
    bool soft_close; /* closed on a newline-less line past the soft limit */
};

static void _tok_in(const struct proto_token *t, const char *buf, size_t len)
{
    if (!t->p) {
        CHECK(t->len == 0);
        return;
    }
    CHECK(t->p >= buf && t->p <= buf + len);
    CHECK(t->len <= (size_t)(buf + len - t->p));
}

static void _tok_rel(long out[2], const struct proto_token *t, const char *base)
{
    out[0] = t->p ? (long)(t->p - base) : -1;
    out[1] = (long)t->len;
}

static uint64_t _fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}

/* Requests followed by a data block: the storage commands and ms. */
static bool _has_data(enum proto_cmd c)
{
    return proto_is_storage(c) || c == PROTO_MS;
}

/* A meta line's flags (meta.c): tokens inside the line, none empty or with
 * a space, the key (decoded or not) at most 250 bytes, an error text when
 * refused. */
static void _check_meta(const struct request *req, const char *buf, size_t len)
{
    _tok_in(&req->keys, buf, len);
    static struct meta_req m;
    meta_tokenize(&m, req->keys.p, req->keys.len);
    CHECK(m.ntok >= 1 && m.ntok <= META_TOK_MAX);
    for (int i = 0; i < m.ntok; i++) {
        _tok_in(&m.tok[i], req->keys.p, req->keys.len);
        CHECK(m.tok[i].len > 0 && !memchr(m.tok[i].p, ' ', m.tok[i].len));
    }
    if (m.ntok < 2 || m.tok[1].len > PROTO_KEY_MAX)
        return;
    int first = req->cmd == PROTO_MS ? 3 : 2;
    if (meta_parse_flags(&m, first)) {
        CHECK(m.nkey > 0 && m.nkey <= PROTO_KEY_MAX);
        CHECK(m.key == m.keybuf ? meta_has(&m, 'b') : m.key == m.tok[1].p);
    } else {
        CHECK(m.err && strncmp(m.err, "CLIENT_ERROR ", 13) == 0);
    }
}

/* Check one proto_parse result on buf[0..len) and record it. */
static void _check(struct rec *out, const struct request *req, ssize_t rc, const char *buf,
                   size_t len)
{
    CHECK(rc == PROTO_AGAIN || rc == PROTO_CLOSE || (rc > 0 && (size_t)rc <= len));
    if (rc == PROTO_CLOSE) {
        /* soft limit (no newline), or an HTTP request line */
        CHECK(memchr(buf, '\n', len) || len > PROTO_LINE_SOFT_MAX);
        return;
    }
    if (rc == PROTO_AGAIN) {
        if (req->line_len) { /* storage line known, data still coming */
            CHECK(req->line_len <= len);
            CHECK(buf[req->line_len - 1] == '\n');
            CHECK(_has_data(req->cmd));
            CHECK(req->line_len + (size_t)req->vlen + 2 > len);
            _tok_in(&req->key, buf, len);
            CHECK(req->key.len <= PROTO_KEY_MAX);
        }
        return;
    }
    CHECK(req->line_len > 0 && req->line_len <= (size_t)rc);
    CHECK(buf[req->line_len - 1] == '\n');
    CHECK(!memchr(buf, '\n', req->line_len - 1)); /* the first newline ends the line */
    _tok_in(&req->key, buf, len);
    _tok_in(&req->keys, buf, len);
    _tok_in(&req->arg, buf, len);
    _tok_in(&req->arg2, buf, len);
    if (req->cmd == PROTO_ERROR)
        CHECK(req->error != PROTO_ERR_NONE);
    /* ma's over-long key is handed on: 1.6.45 answers it as a flag error */
    if (req->cmd != PROTO_ERROR && req->cmd != PROTO_MA && req->key.p)
        CHECK(req->key.len <= PROTO_KEY_MAX);
    if (req->cmd >= PROTO_MG && req->cmd <= PROTO_ME)
        _check_meta(req, buf, len);
    if (_has_data(req->cmd)) {
        CHECK((size_t)rc == req->line_len + (size_t)req->vlen + 2);
        CHECK(req->value == buf + req->line_len);
        bool ok = req->value[req->vlen] == '\r' && req->value[req->vlen + 1] == '\n';
        CHECK(req->bad_chunk == !ok);
        CHECK(req->key.len > 0);
    } else {
        CHECK((size_t)rc == req->line_len);
    }
    memset(out, 0, sizeof(*out));
    if (req->cmd >= PROTO_GET && req->cmd <= PROTO_GATS) {
        struct proto_token keys = req->keys, k;
        const char *kend = req->keys.p + req->keys.len;
        uint64_t h = 0xcbf29ce484222325ull;
        int guard = 0;
        while (proto_next_key(&keys, &k)) {
            CHECK(k.len > 0 && k.len <= PROTO_KEY_MAX);
            CHECK(k.p >= req->keys.p && k.p + k.len <= kend);
            CHECK(!memchr(k.p, ' ', k.len));
            h = _fnv(k.p, k.len, h) * 31 + k.len;
            CHECK(++guard <= (int)len);
        }
        out->keys_hash = h;
    }
    out->rc = rc;
    out->cmd = req->cmd;
    out->error = req->error;
    out->noreply = req->noreply;
    out->bad_chunk = req->bad_chunk;
    out->ntokens = req->ntokens;
    out->flags = req->flags;
    out->vlen = req->vlen;
    out->level = req->level;
    out->exptime = req->exptime;
    out->cas = req->cas;
    out->delta = req->delta;
    out->line_len = req->line_len;
    _tok_rel(out->key, &req->key, buf);
    _tok_rel(out->keys, &req->keys, buf);
    _tok_rel(out->arg, &req->arg, buf);
    _tok_rel(out->arg2, &req->arg2, buf);
    out->value = req->value ? (long)(req->value - buf) : -1;
}

/* A stream reader: the input arrives in pieces ending at cuts[]; requests
 * are parsed from what has arrived, as conn does (without its read-into-item
 * path, which is conn's business). */
static void _feed(struct seq *s, const uint8_t *data, const size_t *cuts, int ncuts)
{
    s->n = 0;
    s->closed = s->soft_close = false;
    size_t start = 0; /* first byte not consumed */
    for (int c = 0; c < ncuts && !s->closed; c++) {
        size_t have = cuts[c];
        for (;;) {
            size_t len = have - start;
            if (len == 0)
                break;
            char *buf = malloc(len); /* exact size: ASan sees any over-read */
            CHECK(buf);
            memcpy(buf, data + start, len);
            struct request req;
            ssize_t rc = proto_parse(&req, buf, len);
            struct rec r;
            _check(&r, &req, rc, buf, len);
            free(buf);
            if (rc == PROTO_AGAIN)
                break;
            if (rc == PROTO_CLOSE) {
                s->closed = true;
                s->soft_close = len > PROTO_LINE_SOFT_MAX && !memchr(data + start, '\n', len);
                break;
            }
            if (s->n < MAX_REQS)
                s->r[s->n++] = r;
            start += (size_t)rc;
        }
    }
}

static bool _same(const struct rec *a, const struct rec *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

static void _compare(const struct seq *whole, const struct seq *part)
{
    if (part->closed && part->soft_close) { /* stopped early, or at the same place */
        CHECK(part->n <= whole->n);
    } else {
        CHECK(part->n == whole->n);
        CHECK(part->closed == whole->closed);
    }
    for (int i = 0; i < part->n && i < whole->n; i++)
        CHECK(_same(&part->r[i], &whole->r[i]));
}

static struct seq whole, part;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t all[1] = {size};
    _feed(&whole, data, all, 1);

    /* Two split points from the input's hash. */
    uint64_t h = _fnv(data, size, 0xcbf29ce484222325ull);
    size_t a = (size_t)(h % (size + 1)), b = (size_t)((h >> 32) % (size + 1));
    if (a > b) {
        size_t t = a;
        a = b;
        b = t;
    }
    size_t cuts[3] = {a, b, size};
    _feed(&part, data, cuts, 3);
    _compare(&whole, &part);

    /* Every prefix: one byte at a time (bounded: quadratic). */
    if (size <= 600) {
        size_t *each = malloc(size * sizeof(*each));
        CHECK(each);
        for (size_t i = 0; i < size; i++)
            each[i] = i + 1;
        _feed(&part, data, each, (int)size);
        free(each);
        _compare(&whole, &part);
    }
    return 0;
}
