/* text_meta: the meta commands' replies, exactly as memcached words them.
 * Return flags come back in the order the request named them, and the
 * flags that change the item (T, N) act in that order too, as memcached's
 * do: "mg k t T30" answers the old TTL, "mg k T30 t" the new one. */
#include "text_meta.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "lib/fmt.h"
#include "lib/mem.h"
#include "meta.h"
#include "ops/ops.h"
#include "lib/out.h"

/* A reply line: the longest is a base64 key (340) with every flag. Only n
 * is set on the stack: an initializer would clear all of buf per request. */
struct reply {
    size_t n;
    char buf[1024];
};

static inline __attribute__((always_inline)) void _put(struct reply *r, const char *p, size_t n)
{
    memcpy(r->buf + r->n, p, n);
    r->n += n;
}

static void _num(struct reply *r, char flag, uint64_t v)
{
    r->buf[r->n++] = ' ';
    r->buf[r->n++] = flag;
    r->n += fmt_u64(r->buf + r->n, v);
}

static void _ttl(struct reply *r, const struct ops_ctx *ctx, int64_t exp)
{
    if (exp == 0)
        _put(r, " t-1", 4);
    else
        _num(r, 't', (uint64_t)(exp - ops_now(ctx)));
}

/* " k<key>", base64 with " b" after it when the key is binary. */
static void _key(struct reply *r, const char *key, size_t nkey, bool binary)
{
    _put(r, " k", 2);
    if (!binary) {
        _put(r, key, nkey);
        return;
    }
    r->n += base64_encode(key, nkey, r->buf + r->n);
    _put(r, " b", 2);
}

/* The O token comes back whole ("Oabc"); false when over 32 bytes. */
static bool _opaque(struct reply *r, const struct proto_token *t)
{
    if (t->len > META_OPAQUE_MAX)
        return false;
    r->buf[r->n++] = ' ';
    _put(r, t->p, t->len);
    return true;
}

/* Errors are answered whatever q says. */
static void _err(struct out *out, const char *text)
{
    out_line(out, text, strlen(text));
}

static const char opaque_too_long[] = "CLIENT_ERROR opaque token too long";

/* The O and k flags of a reply without an item (EN, NF, EX, NS); false
 * after the error reply. */
static bool _echo(struct reply *r, const struct meta_req *m, struct out *out)
{
    for (int i = m->first; i < m->ntok; i++) {
        if (m->tok[i].p[0] == 'O' && !_opaque(r, &m->tok[i])) {
            _err(out, opaque_too_long);
            return false;
        }
        if (m->tok[i].p[0] == 'k')
            _key(r, m->key, m->nkey, meta_has(m, 'b'));
    }
    return true;
}

/* Tokens and flags of a meta line; false after the error reply. */
static bool _read(struct meta_req *m, const struct request *req, int first, const char *flag_err,
                  struct out *out)
{
    meta_tokenize_from_key(m, req->keys.p, req->keys.len, req->key);
    if (m->bad_start) { /* what 1.6.45's tokenizer refuses comes first, ma's too */
        _err(out, "CLIENT_ERROR bad command line format");
        return false;
    }
    if (m->tok[1].len > PROTO_KEY_MAX) {
        _err(out, flag_err ? flag_err : "CLIENT_ERROR bad command line format");
        return false;
    }
    if (m->ntok > META_OPT_MAX) { /* 1.6.45 counts the real tokens */
        _err(out, flag_err ? flag_err : "CLIENT_ERROR options flags are too long");
        return false;
    }
    if (!meta_parse_flags(m, first)) {
        _err(out, flag_err ? flag_err : m->err);
        return false;
    }
    return true;
}

static const char bad_flag[] = "CLIENT_ERROR invalid or duplicate flag";

/* The reply line, then the value when asked (large ones sent from the
 * item, pinned). */
static void _emit(struct ops_ctx *ctx, struct out *out, struct reply *r,
                  const struct item_view *it, bool value)
{
    _put(r, "\r\n", 2);
    bool inline_value = value && it->nvalue < OPS_ZERO_COPY_MIN;
    size_t room = r->n + (inline_value ? it->nvalue + 2 : 0);
    char *p = out_reserve(out, room);
    if (!p)
        return;
    /* the bound spelled out: at -O2 gcc's -Warray-bounds cannot see it */
    mem_copy(p, r->buf, r->n <= sizeof(r->buf) ? r->n : sizeof(r->buf));
    if (inline_value) {
        mem_copy(p + r->n, it->value, it->nvalue);
        memcpy(p + r->n + it->nvalue, "\r\n", 2);
    }
    out_commit(out, room);
    if (!value || inline_value)
        return;
    if (!ops_ref_value(ctx, out, it))
        return;
    out_copy(out, "\r\n", 2);
}

static void _mg(struct ops_ctx *ctx, const struct meta_req *m, struct out *out)
{
    bool bump = !meta_has(m, 'u'), value = meta_has(m, 'v');
    struct item_view it;
    bool created;
    bool hit = ops_mlookup(ctx, m->key, m->nkey, bump, meta_has(m, 'N'),
                           meta_has(m, 'b') ? ITEM_BINKEY : 0, m->cas_new, &it, &created);
    struct reply r;
    r.n = 0;
    if (!hit) {
        ops_count_lookup(ctx, false, false);
        _put(&r, "EN", 2);
        if (_echo(&r, m, out) && !meta_has(m, 'q'))
            out_line(out, r.buf, r.n);
        return;
    }
    if (value && meta_has(m, 'C') && it.cas == m->cas_cmp)
        value = false; /* 1.6.40: the value only if it changed since that cas */
    if (value) {
        _put(&r, "VA ", 3);
        r.n += fmt_u64(r.buf + r.n, it.nvalue);
    } else {
        _put(&r, "HD", 2);
    }
    bool won = false, touched = false, moved = false;
    int64_t now = ops_now(ctx);
    for (int i = m->first; i < m->ntok; i++) {
        const struct proto_token *t = &m->tok[i];
        switch (t->p[0]) {
        case 'T':
            touched = moved = true;
            it.exp = ops_set_ttl(ctx, m->key, m->nkey, m->ttl);
            break;
        case 'N':
            if (created) {
                moved = won = true;
                it.exp = ops_set_ttl(ctx, m->key, m->nkey, m->vivify_ttl);
            }
            break;
        case 'R': /* expiring sooner than the token: one client recaches early */
            won |= ops_recache_due(ctx, &it, created, m->recache_ttl);
            break;
        case 's':
            _num(&r, 's', it.nvalue);
            break;
        case 't':
            _ttl(&r, ctx, it.exp);
            break;
        case 'c':
            _num(&r, 'c', it.cas);
            break;
        case 'f':
            _num(&r, 'f', it.flags);
            break;
        case 'l':
            _num(&r, 'l', (uint64_t)(now > it.atime ? now - it.atime : 0));
            break;
        case 'h':
            _put(&r, (it.mbits & ITEM_FETCHED) ? " h1" : " h0", 3);
            break;
        case 'O':
            if (!_opaque(&r, t)) {
                _err(out, opaque_too_long);
                return;
            }
            break;
        case 'k':
            _key(&r, m->key, m->nkey, (it.mbits & ITEM_BINKEY) != 0);
            break;
        default:
            break;
        }
    }
    if (it.mbits & ITEM_WON)
        _put(&r, " Z", 2);
    if (it.mbits & ITEM_STALE)
        _put(&r, " X", 2);
    if (ops_win(ctx, m->key, m->nkey, &it, won)) {
        _put(&r, " W", 2);
        moved = true;
    }
    ops_count_lookup(ctx, touched, true);
    if (moved && value && !ops_peek(ctx, m->key, m->nkey, &it))
        return;
    _emit(ctx, out, &r, &it, value);
}

/* --- ms ------------------------------------------------------------------- */

struct mset {
    struct meta_req m;
    enum store_mode mode;
};

/* Flags and mode of an ms line; false after the error reply. */
static bool _ms_read(struct mset *ms, const char *line, size_t n, struct proto_token key,
                     struct out *out)
{
    struct meta_req *m = &ms->m;
    meta_tokenize_from_key(m, line, n, key);
    if (m->ntok > META_OPT_MAX) {
        _err(out, "CLIENT_ERROR options flags are too long");
        return false;
    }
    if (!meta_parse_flags(m, 3)) {
        _err(out, m->err);
        return false;
    }
    switch (m->mode) {
    case 0:
    case 'S':
        ms->mode = STORE_SET;
        break;
    case 'E':
        ms->mode = STORE_ADD;
        break;
    case 'A':
        ms->mode = STORE_APPEND;
        break;
    case 'P':
        ms->mode = STORE_PREPEND;
        break;
    case 'R':
        ms->mode = STORE_REPLACE;
        break;
    default:
        _err(out, "CLIENT_ERROR invalid mode for ms M token");
        return false;
    }
    if (meta_has(m, 'C') && (ms->mode == STORE_SET || ms->mode == STORE_REPLACE))
        ms->mode = STORE_CAS; /* replace with a cas is a cas */
    for (int i = 3; i < m->ntok; i++)
        if (m->tok[i].p[0] == 'O' && m->tok[i].len > META_OPAQUE_MAX) {
            _err(out, opaque_too_long);
            return false;
        }
    return true;
}

static bool _ms_vivify(const struct mset *ms)
{
    return meta_has(&ms->m, 'N') && (ms->mode == STORE_APPEND || ms->mode == STORE_PREPEND);
}

/* Reserve the item; false after the error reply. */
static bool _ms_begin(struct ops_ctx *ctx, const struct mset *ms, uint32_t vlen,
                      struct store_txn *txn, struct out *out)
{
    const struct meta_req *m = &ms->m;
    int32_t ttl = _ms_vivify(ms) ? m->vivify_ttl : m->ttl;
    enum store_status st = ops_store_begin_ex(ctx, m->key, m->nkey, m->client_flags, ttl, vlen,
                                              true, m->cas_new, txn);
    if (st == STORE_OK)
        return true;
    _err(out, st == STORE_TOO_LARGE ? "SERVER_ERROR object too large for cache"
                                    : "SERVER_ERROR out of memory storing object");
    return false;
}

static void _ms_end(struct ops_ctx *ctx, const struct mset *ms, struct store_txn *txn,
                    bool chunk_ok, struct out *out)
{
    const struct meta_req *m = &ms->m;
    size_t vlen = txn->nvalue;
    if (!chunk_ok) {
        ops_store_abort(ctx, txn);
        _err(out, "CLIENT_ERROR bad data chunk");
        return;
    }
    struct store_cond c = {.cas_in = m->cas_cmp, .cas_new = m->cas_new,
                           .allow_stale = meta_has(m, 'I') && ms->mode == STORE_CAS,
                           .vivify = _ms_vivify(ms), .mbits = meta_has(m, 'b') ? ITEM_BINKEY : 0};
    struct store_result res = {0, vlen};
    enum store_status st = ops_store_end_ex(ctx, txn, ms->mode, &c, &res);
    if (st == STORE_OK && meta_has(m, 'q'))
        return;
    struct reply r;
    r.n = 0;
    _put(&r, st == STORE_OK ? "HD" : st == STORE_EXISTS ? "EX" : st == STORE_NOT_FOUND ? "NF" : "NS",
         2);
    for (int i = 3; i < m->ntok; i++) {
        switch (m->tok[i].p[0]) {
        case 'O':
            _opaque(&r, &m->tok[i]);
            break;
        case 'k':
            _key(&r, m->key, m->nkey, meta_has(m, 'b'));
            break;
        case 'c':
            _num(&r, 'c', st == STORE_OK ? res.cas : 0);
            break;
        case 's':
            _num(&r, 's', st == STORE_OK ? res.nvalue : vlen);
            break;
        default:
            break;
        }
    }
    out_line(out, r.buf, r.n);
}

static void _ms(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    struct mset ms;
    struct store_txn txn;
    if (!_ms_read(&ms, req->keys.p, req->keys.len, req->key, out) ||
        !_ms_begin(ctx, &ms, req->vlen, &txn, out))
        return;
    mem_copy(txn.value, req->value, req->vlen);
    _ms_end(ctx, &ms, &txn, !req->bad_chunk, out);
}

bool text_meta_set_begin(struct session *s, struct ops_ctx *ctx, const struct request *req,
                         struct out *out)
{
    struct mset ms;
    if (!_ms_read(&ms, req->keys.p, req->keys.len, req->key, out) ||
        !_ms_begin(ctx, &ms, req->vlen, &s->txn, out))
        return false;
    s->held = malloc(req->keys.len + 1);
    if (!s->held) {
        ops_store_abort(ctx, &s->txn);
        _err(out, "SERVER_ERROR out of memory storing object");
        return false;
    }
    memcpy(s->held, req->keys.p, req->keys.len);
    s->held[req->keys.len] = '\0';
    return true;
}

void text_meta_set_end(struct session *s, struct ops_ctx *ctx, bool chunk_ok, struct out *out)
{
    struct mset ms;
    struct proto_token no_key = {NULL, 0}; /* the held line is split whole */
    if (_ms_read(&ms, s->held, strlen(s->held), no_key, out)) /* read before: it cannot fail now */
        _ms_end(ctx, &ms, &s->txn, chunk_ok, out);
    free(s->held);
    s->held = NULL;
}

/* --- md, ma, me -------------------------------------------------------------- */

static void _md(struct ops_ctx *ctx, const struct meta_req *m, struct out *out)
{
    struct reply r;
    r.n = 2; /* the status, written last */
    if (!_echo(&r, m, out))
        return;
    struct ops_mdel a = {.has_cas = meta_has(m, 'C'), .remove_value = meta_has(m, 'x'),
                         .stale = meta_has(m, 'I'), .has_ttl = meta_has(m, 'T'),
                         .flags = m->client_flags, .ttl = m->ttl, .cas_cmp = m->cas_cmp,
                         .cas_new = m->cas_new};
    enum store_status st = ops_mdelete(ctx, m->key, m->nkey, &a);
    if (st == STORE_NO_MEMORY) {
        _err(out, "SERVER_ERROR out of memory");
        return;
    }
    if (st == STORE_OK && meta_has(m, 'q'))
        return; /* quiet: HD is not sent (1.6.45 sends NF) */
    memcpy(r.buf, st == STORE_OK ? "HD" : st == STORE_NOT_FOUND ? "NF" : st == STORE_EXISTS ? "EX" : "NS", 2);
    out_line(out, r.buf, r.n);
}

static void _ma(struct ops_ctx *ctx, const struct meta_req *m, struct out *out)
{
    struct ops_marith a = {.incr = true, .vivify = meta_has(m, 'N'),
                           .mbits = meta_has(m, 'b') ? ITEM_BINKEY : 0, .delta = m->delta,
                           .initial = m->initial, .cas_cmp = m->cas_cmp, .cas_new = m->cas_new};
    switch (m->mode) {
    case 0: case 'I': case '+':
        break;
    case 'D': case '-':
        a.incr = false;
        break;
    default:
        _err(out, "CLIENT_ERROR invalid mode for ma M token");
        return;
    }
    uint64_t value = 0;
    bool created = false;
    enum store_status st = ops_marith(ctx, m->key, m->nkey, &a, &value, &created);
    struct reply r;
    r.n = 0;
    struct item_view it;
    if (st == STORE_NON_NUMERIC) {
        _err(out, "CLIENT_ERROR cannot increment or decrement non-numeric value");
        return;
    }
    if (st == STORE_NO_MEMORY) {
        _err(out, created ? "SERVER_ERROR Out of memory allocating new item" : "SERVER_ERROR out of memory");
        return;
    }
    if (st != STORE_OK || !ops_peek(ctx, m->key, m->nkey, &it)) {
        _put(&r, st == STORE_EXISTS ? "EX" : st == STORE_NOT_STORED ? "NS" : "NF", 2);
        if (_echo(&r, m, out))
            out_line(out, r.buf, r.n);
        return;
    }
    char digits[20];
    size_t nd = fmt_u64(digits, value);
    if (meta_has(m, 'v')) {
        _put(&r, "VA ", 3);
        r.n += fmt_u64(r.buf + r.n, nd);
    } else {
        _put(&r, "HD", 2);
    }
    for (int i = m->first; i < m->ntok; i++) {
        const struct proto_token *t = &m->tok[i];
        switch (t->p[0]) {
        case 'c':
            _num(&r, 'c', it.cas);
            break;
        case 't':
            _ttl(&r, ctx, it.exp);
            break;
        case 'T':
            it.exp = ops_set_ttl(ctx, m->key, m->nkey, m->ttl);
            break;
        case 'N':
            if (created)
                it.exp = ops_set_ttl(ctx, m->key, m->nkey, m->vivify_ttl);
            break;
        case 'O':
            if (!_opaque(&r, t)) {
                _err(out, opaque_too_long);
                return;
            }
            break;
        case 'k':
            _key(&r, m->key, m->nkey, meta_has(m, 'b'));
            break;
        default:
            break;
        }
    }
    if (meta_has(m, 'q'))
        return;
    if (meta_has(m, 'v')) {
        _put(&r, "\r\n", 2);
        _put(&r, digits, nd);
    }
    out_line(out, r.buf, r.n);
}

/* memcached's slab class for an item of size bytes at its default -n 48
 * -f 1.25 (memg has no classes; `me` shows the one memcached would). */
static unsigned _mc_class(uint64_t size)
{
    unsigned cls = 1;
    uint32_t chunk = 96;
    const uint32_t largest = 512 * 1024;
    while (size > chunk) {
        if (chunk * 5 >= largest * 4) /* the last class holds the largest chunks */
            return cls + 1;
        cls++;
        chunk = chunk * 5 / 4; /* memcached's size *= 1.25, truncated */
        chunk = (chunk + 7) & ~7u;
    }
    return cls;
}

static void _me(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    struct meta_req m;
    meta_tokenize_from_key(&m, req->keys.p, req->keys.len, req->key);
    if (m.ntok < 2 || m.tok[1].len > PROTO_KEY_MAX || m.bad_start) {
        _err(out, "CLIENT_ERROR bad command line format");
        return;
    }
    /* 1.6.45 reads b only with a token after it (its count lost the terminal one) */
    if (m.ntok > 3 && m.tok[2].len == 1 && m.tok[2].p[0] == 'b') {
        m.nkey = base64_decode(m.tok[1].p, m.tok[1].len, m.keybuf, sizeof m.keybuf);
        m.key = m.keybuf;
        if (m.nkey == 0) {
            _err(out, "CLIENT_ERROR bad command line format");
            return;
        }
    }
    ctx->stats->cmd_meta++;
    struct item_view it;
    if (!ops_peek(ctx, m.key, m.nkey, &it)) {
        out_line(out, "EN", 2);
        return;
    }
    struct reply r;
    r.n = 0;
    int64_t now = ops_now(ctx);
    _put(&r, "ME ", 3);
    if (it.mbits & ITEM_BINKEY)
        r.n += base64_encode(it.key, it.nkey, r.buf + r.n);
    else
        _put(&r, it.key, it.nkey);
    _put(&r, " exp=", 5);
    if (it.exp == 0) {
        _put(&r, "-1", 2);
    } else {
        r.n += fmt_u64(r.buf + r.n, (uint64_t)(it.exp - now));
    }
    uint64_t size = ops_item_total(ctx, &it);
    _put(&r, " la=", 4);
    r.n += fmt_u64(r.buf + r.n, (uint64_t)(now > it.atime ? now - it.atime : 0));
    _put(&r, " cas=", 5);
    r.n += fmt_u64(r.buf + r.n, it.cas);
    _put(&r, (it.mbits & ITEM_FETCHED) ? " fetch=yes" : " fetch=no", (it.mbits & ITEM_FETCHED) ? 10 : 9);
    _put(&r, " cls=", 5);
    r.n += fmt_u64(r.buf + r.n, _mc_class(size));
    _put(&r, " size=", 6);
    r.n += fmt_u64(r.buf + r.n, size);
    out_line(out, r.buf, r.n);
}

void text_meta(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    struct meta_req m;
    switch (req->cmd) {
    case PROTO_MN:
        out_line(out, "MN", 2);
        return;
    case PROTO_ME:
        _me(ctx, req, out);
        return;
    case PROTO_MS:
        _ms(ctx, req, out);
        return;
    case PROTO_MG:
        if (_read(&m, req, 2, NULL, out))
            _mg(ctx, &m, out);
        return;
    case PROTO_MD:
        if (_read(&m, req, 2, NULL, out))
            _md(ctx, &m, out);
        return;
    case PROTO_MA: /* every flag error of ma says this */
        if (_read(&m, req, 2, bad_flag, out))
            _ma(ctx, &m, out);
        return;
    default:
        return;
    }
}
