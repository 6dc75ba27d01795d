/* bin: the binary protocol's requests and replies. Requests are checked in
 * memcached 1.6.18's order (body shorter than key and extras, login, key
 * length, then each opcode's own shape); replies echo the request's opcode
 * and opaque. Quiet commands are silent on success and speak on error. */
#include "bin.h"

#include <string.h>

#include "proto/auth.h"
#include "lib/settings.h"
#include "lib/mem.h"
#include "ops/ops.h"
#include "lib/out.h"
#include "lib/stats.h"

#define BIN_KEY_MAX 250            /* memcached's KEY_MAX_LENGTH */
#define BIN_SASL_MECH_MAX 32       /* memcached's MAX_SASL_MECH_LEN */
#define BIN_HEAD_MAX 16384         /* header, extras and key: memcached's read buffer */

/* The request at the head of the buffer. */
struct bin_req {
    struct bin_header h;
    const unsigned char *ext;
    const char *key;
    uint8_t op;  /* opcode, quiet ones mapped to their loud form */
    bool quiet;
};

static uint32_t _be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t _be64(const unsigned char *p)
{
    return (uint64_t)_be32(p) << 32 | _be32(p + 4);
}

static void _put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void _put64(unsigned char *p, uint64_t v)
{
    _put32(p, (uint32_t)(v >> 32));
    _put32(p + 4, (uint32_t)v);
}

void bin_header_decode(const unsigned char *p, struct bin_header *h)
{
    h->magic = p[0];
    h->opcode = p[1];
    h->keylen = (uint16_t)(p[2] << 8 | p[3]);
    h->extlen = p[4];
    h->datatype = p[5];
    h->vbucket = (uint16_t)(p[6] << 8 | p[7]);
    h->bodylen = _be32(p + 8);
    h->opaque = _be32(p + 12);
    h->cas = _be64(p + 16);
}

uint8_t bin_unquiet(uint8_t opcode, bool *quiet)
{
    static const uint8_t loud[][2] = {
        {BIN_SETQ, BIN_SET},       {BIN_ADDQ, BIN_ADD},           {BIN_REPLACEQ, BIN_REPLACE},
        {BIN_DELETEQ, BIN_DELETE}, {BIN_INCREMENTQ, BIN_INCREMENT}, {BIN_DECREMENTQ, BIN_DECREMENT},
        {BIN_QUITQ, BIN_QUIT},     {BIN_FLUSHQ, BIN_FLUSH},       {BIN_APPENDQ, BIN_APPEND},
        {BIN_PREPENDQ, BIN_PREPEND}, {BIN_GATQ, BIN_GAT},         {BIN_GATKQ, BIN_GATK},
        {BIN_GETQ, BIN_GET},       {BIN_GETKQ, BIN_GETK},
    };
    for (size_t i = 0; i < sizeof(loud) / sizeof(loud[0]); i++) {
        if (loud[i][0] == opcode) {
            *quiet = true;
            return loud[i][1];
        }
    }
    *quiet = false;
    return opcode;
}

const char *bin_status_text(enum bin_status st)
{
    switch (st) {
    case BIN_ENOMEM:
        return "Out of memory";
    case BIN_UNKNOWN_COMMAND:
        return "Unknown command";
    case BIN_KEY_ENOENT:
        return "Not found";
    case BIN_EINVAL:
        return "Invalid arguments";
    case BIN_KEY_EEXISTS:
        return "Data exists for key.";
    case BIN_E2BIG:
        return "Too large.";
    case BIN_DELTA_BADVAL:
        return "Non-numeric server-side value for incr or decr";
    case BIN_NOT_STORED:
        return "Not stored.";
    case BIN_AUTH_ERROR:
        return "Auth failure.";
    default:
        return "";
    }
}

/* --- replies --------------------------------------------------------------------- */

static unsigned char *_header(unsigned char *p, uint8_t opcode, uint16_t status, uint16_t keylen,
                              uint8_t extlen, uint32_t bodylen, uint32_t opaque, uint64_t cas)
{
    p[0] = BIN_RES_MAGIC;
    p[1] = opcode;
    p[2] = (unsigned char)(keylen >> 8);
    p[3] = (unsigned char)keylen;
    p[4] = extlen;
    p[5] = 0;
    p[6] = (unsigned char)(status >> 8);
    p[7] = (unsigned char)status;
    _put32(p + 8, bodylen);
    _put32(p + 12, opaque);
    _put64(p + 16, cas);
    return p + BIN_HEADER_LEN;
}

/* A reply with a plain body (no extras, no key). */
static void _send(struct out *out, uint8_t opcode, uint32_t opaque, uint16_t status,
                  const void *body, size_t n, uint64_t cas)
{
    unsigned char *p = (unsigned char *)out_reserve(out, BIN_HEADER_LEN + n);
    if (!p)
        return;
    p = _header(p, opcode, status, 0, 0, (uint32_t)n, opaque, cas);
    if (n)
        mem_copy(p, body, n);
    out_commit(out, BIN_HEADER_LEN + n);
}

/* Errors are sent whether the request was quiet or not. */
static void _error(struct out *out, const struct bin_req *r, enum bin_status st)
{
    const char *text = bin_status_text(st);
    _send(out, r->h.opcode, r->h.opaque, (uint16_t)st, text, strlen(text), 0);
}

/* Success: silent for quiet requests. */
static void _ok(struct out *out, const struct bin_req *r, const void *body, size_t n, uint64_t cas)
{
    if (!r->quiet)
        _send(out, r->h.opcode, r->h.opaque, BIN_OK, body, n, cas);
}

/* --- operations -------------------------------------------------------------------- */

static void _get(struct ops_ctx *ctx, const struct bin_req *r, struct out *out)
{
    uint8_t op = r->op;
    bool touch = op == BIN_TOUCH || op == BIN_GAT || op == BIN_GATK;
    bool with_key = op == BIN_GETK || op == BIN_GATK;
    bool with_value = op != BIN_TOUCH;
    size_t nkey = r->h.keylen;
    struct item_view it;
    bool hit = touch ? ops_touch(ctx, r->key, nkey, (int64_t)_be32(r->ext), &it)
                     : ops_get(ctx, r->key, nkey, &it);
    if (!hit) {
        if (r->quiet)
            return;
        if (!with_key) {
            _error(out, r, BIN_KEY_ENOENT);
            return;
        }
        unsigned char *p = (unsigned char *)out_reserve(out, BIN_HEADER_LEN + nkey);
        if (!p)
            return;
        p = _header(p, r->h.opcode, BIN_KEY_ENOENT, (uint16_t)nkey, 0, (uint32_t)nkey,
                    r->h.opaque, 0);
        mem_copy(p, r->key, nkey);
        out_commit(out, BIN_HEADER_LEN + nkey);
        return;
    }
    size_t keylen = with_key ? it.nkey : 0, nvalue = with_value ? it.nvalue : 0;
    bool inline_value = nvalue < OPS_ZERO_COPY_MIN;
    size_t room = BIN_HEADER_LEN + 4 + keylen + (inline_value ? nvalue : 0);
    unsigned char *p = (unsigned char *)out_reserve(out, room);
    if (!p)
        return;
    unsigned char *q = _header(p, r->h.opcode, BIN_OK, (uint16_t)keylen, 4,
                               (uint32_t)(4 + keylen + nvalue), r->h.opaque, it.cas);
    _put32(q, (uint32_t)it.flags); /* 32 bits on the wire: large flags keep their low half, as memcached */
    mem_copy(q + 4, it.key, keylen);
    if (inline_value) {
        mem_copy(q + 4 + keylen, it.value, nvalue);
        out_commit(out, room);
        return;
    }
    out_commit(out, room);
    ops_ref_value(ctx, out, &it);
}

static enum store_mode _mode(const struct ops_ctx *ctx, uint8_t op, uint64_t cas)
{
    if (op == BIN_APPEND)
        return STORE_APPEND;
    if (op == BIN_PREPEND)
        return STORE_PREPEND;
    if (cas && ops_has_cas(ctx)) /* set, add and replace with a cas are compare-and-swap */
        return STORE_CAS;
    return op == BIN_ADD ? STORE_ADD : op == BIN_REPLACE ? STORE_REPLACE : STORE_SET;
}

/* The value is in its item: commit and answer. */
static void _store_end(struct ops_ctx *ctx, const struct bin_req *r, struct store_txn *txn,
                       struct out *out)
{
    uint64_t cas = 0;
    enum store_status st = ops_store_end(ctx, txn, _mode(ctx, r->op, r->h.cas), r->h.cas, &cas);
    switch (st) {
    case STORE_OK:
        _ok(out, r, NULL, 0, cas);
        break;
    case STORE_EXISTS:
        _error(out, r, BIN_KEY_EEXISTS);
        break;
    case STORE_NOT_FOUND:
        _error(out, r, BIN_KEY_ENOENT);
        break;
    default: /* not stored: memcached words it by command */
        _error(out, r, r->op == BIN_ADD       ? BIN_KEY_EEXISTS
                       : r->op == BIN_REPLACE ? BIN_KEY_ENOENT
                                              : BIN_NOT_STORED);
        break;
    }
}

/* Reserve the item; on refusal answer and return false (its value is then
 * discarded). A refused set deletes the old value, as memcached's does: no
 * stale value may outlive a set the client believes it sent. */
static bool _store_begin(struct ops_ctx *ctx, const struct bin_req *r, size_t nvalue,
                         struct store_txn *txn, enum bin_status *refused)
{
    bool with_extras = r->h.extlen == 8;
    uint32_t flags = with_extras ? _be32(r->ext) : 0;
    int64_t exptime = with_extras ? (int64_t)_be32(r->ext + 4) : 0;
    enum store_status st =
        ops_store_begin(ctx, r->key, r->h.keylen, flags, exptime, nvalue, r->op == BIN_SET, txn);
    if (st == STORE_OK)
        return true;
    *refused = st == STORE_TOO_LARGE ? BIN_E2BIG : BIN_ENOMEM;
    return false;
}

/* A refused request whose body is discarded: memcached answers once the
 * body is gone, so the answer waits for received(). */
static void _discard(struct session *s, const struct bin_req *r, enum bin_status st)
{
    s->recv_dst = NULL;
    s->op = r->h.opcode;
    s->opaque = r->h.opaque;
    s->cas = st; /* the status to answer, for received() */
}

/* set/add/replace/append/prepend. The whole request is in the buffer when
 * it fits there; a larger value is received straight into its item. */
static enum feed_status _store(struct session *s, struct ops_ctx *ctx, const struct bin_req *r,
                               size_t len, size_t cap, size_t *used, struct out *out)
{
    size_t head = BIN_HEADER_LEN + r->h.extlen + r->h.keylen;
    size_t nvalue = r->h.bodylen - r->h.extlen - r->h.keylen;
    uint64_t whole = BIN_HEADER_LEN + (uint64_t)r->h.bodylen; /* no wrap with 32-bit size_t */
    if (whole <= cap) {
        if (len < whole) {
            *used = 0; /* the head stays: the whole request is read again */
            return FEED_AGAIN;
        }
        *used = (size_t)whole;
        struct store_txn txn;
        enum bin_status refused;
        if (_store_begin(ctx, r, nvalue, &txn, &refused)) {
            mem_copy(txn.value, r->key + r->h.keylen, nvalue);
            _store_end(ctx, r, &txn, out);
        } else {
            _error(out, r, refused);
        }
        return FEED_DONE;
    }
    *used = head;
    enum bin_status refused;
    if (_store_begin(ctx, r, nvalue, &s->txn, &refused)) {
        s->txn_open = true;
        s->recv_dst = s->txn.value;
        s->op = r->h.opcode; /* as sent: the reply echoes it */
        s->opaque = r->h.opaque;
        s->cas = r->h.cas;
    } else {
        _discard(s, r, refused);
    }
    s->recv_left = nvalue;
    return FEED_RECEIVE;
}

static void _arith(struct ops_ctx *ctx, const struct bin_req *r, struct out *out)
{
    bool incr = r->op == BIN_INCREMENT;
    uint64_t delta = _be64(r->ext), initial = _be64(r->ext + 8), value = 0, cas = 0;
    uint32_t exptime = _be32(r->ext + 16);
    enum store_status st = ops_arith(ctx, r->key, r->h.keylen, incr, delta, r->h.cas, &value, &cas);
    if (st == STORE_NOT_FOUND && exptime != 0xffffffffu) {
        /* memcached counts no miss here: the item is created */
        if (incr)
            ctx->stats->incr_misses--;
        else
            ctx->stats->decr_misses--;
        st = ops_arith_create(ctx, r->key, r->h.keylen, initial, (int64_t)exptime, &cas);
        value = initial;
        if (st == STORE_NOT_STORED) {
            _error(out, r, BIN_NOT_STORED);
            return;
        }
    }
    unsigned char body[8];
    switch (st) {
    case STORE_OK:
        _put64(body, value);
        _ok(out, r, body, 8, cas);
        break;
    case STORE_NOT_FOUND:
        _error(out, r, BIN_KEY_ENOENT);
        break;
    case STORE_EXISTS:
        _error(out, r, BIN_KEY_EEXISTS);
        break;
    case STORE_NON_NUMERIC:
        _error(out, r, BIN_DELTA_BADVAL);
        break;
    default:
        _error(out, r, BIN_ENOMEM);
        break;
    }
}

static void _delete(struct ops_ctx *ctx, const struct bin_req *r, struct out *out)
{
    enum store_status st = ops_delete(ctx, r->key, r->h.keylen, r->h.cas);
    if (st == STORE_OK)
        _ok(out, r, NULL, 0, 0);
    else
        _error(out, r, st == STORE_EXISTS ? BIN_KEY_EEXISTS : BIN_KEY_ENOENT);
}

/* One STAT packet per pair; the arg carries the request. */
struct stat_sink {
    struct out *out;
    const struct bin_req *r;
};

static void _stat_packet(void *arg, const char *name, size_t nname, const char *value,
                         size_t nvalue)
{
    struct stat_sink *k = arg;
    size_t n = BIN_HEADER_LEN + nname + nvalue;
    unsigned char *p = (unsigned char *)out_reserve(k->out, n);
    if (!p)
        return;
    p = _header(p, BIN_STAT, BIN_OK, (uint16_t)nname, 0, (uint32_t)(nname + nvalue),
                k->r->h.opaque, 0);
    memcpy(p, name, nname);
    memcpy(p + nname, value, nvalue);
    out_commit(k->out, n);
}

static bool _prefix(const char *key, size_t n, const char *word)
{
    size_t w = strlen(word);
    return n >= w && memcmp(key, word, w) == 0;
}

/* memcached matches the group by prefix for reset, settings and detail,
 * and exactly for the others. */
static void _stat(struct ops_ctx *ctx, const struct bin_req *r, struct out *out)
{
    struct stat_sink k = {out, r};
    size_t n = r->h.keylen;
    if (n && _prefix(r->key, n, "detail")) {
        const char *sub = r->key + 6;
        size_t m = n - 6;
        if (_prefix(sub, m, " dump"))
            _stat_packet(&k, "detailed", 8, "END\r\n", 5);
        else if (!_prefix(sub, m, " on") && !_prefix(sub, m, " off")) {
            _error(out, r, BIN_KEY_ENOENT);
            return;
        }
    } else if (n && _prefix(r->key, n, "reset"))
        ops_stats(ctx, "reset", 5, _stat_packet, &k);
    else if (n && _prefix(r->key, n, "settings"))
        ops_stats(ctx, "settings", 8, _stat_packet, &k);
    else if (n == 0)
        ops_stats(ctx, NULL, 0, _stat_packet, &k);
    else if ((n == 5 && memcmp(r->key, "conns", 5) == 0) || /* text-only in memcached */
             ops_stats(ctx, r->key, n, _stat_packet, &k) == OPS_STATS_UNKNOWN) {
        _error(out, r, BIN_KEY_ENOENT);
        return;
    }
    _send(out, BIN_STAT, r->h.opaque, BIN_OK, NULL, 0, 0); /* the empty packet ends it */
}

/* session.bits: auth PLAIN came without data, the step brings it (any other
 * step fails: before an auth, or after one that completed) */
#define BIN_SASL_WAITING 1u

static bool _is_plain(const char *mech, size_t n)
{
    static const char plain[] = "PLAIN";
    if (n != 5)
        return false;
    for (size_t i = 0; i < 5; i++)
        if ((mech[i] & ~0x20) != plain[i]) /* memcached (libsasl) ignores case */
            return false;
    return true;
}

/* auth and step, as memcached with libsasl's PLAIN answers them. Any
 * exchange that does not succeed leaves the connection logged out. */
static void _sasl(struct session *s, struct ops_ctx *ctx, const struct bin_req *r, struct out *out)
{
    size_t nmech = r->h.keylen, ndata = r->h.bodylen - r->h.keylen;
    const char *data = r->key + nmech;
    bool ok = false;
    uint8_t state = s->bits;
    s->bits = 0;
    s->authed = false;
    if (r->op == BIN_SASL_AUTH) {
        if (_is_plain(r->key, nmech) && ndata == 0) {
            s->bits = BIN_SASL_WAITING;
            _send(out, r->h.opcode, r->h.opaque, BIN_AUTH_CONTINUE, NULL, 0, 0);
            return;
        }
        ok = _is_plain(r->key, nmech) && auth_plain(ctx->auth, data, ndata);
    } else if (state & BIN_SASL_WAITING) {
        ok = auth_plain(ctx->auth, data, ndata);
    }
    ctx->stats->auth_cmds++;
    if (ok) {
        s->authed = true;
        _ok(out, r, "Authenticated", 13, 0);
    } else {
        ctx->stats->auth_errors++;
        _error(out, r, BIN_AUTH_ERROR);
    }
}

/* --- the request at the head ---------------------------------------------------------- */

/* Commands that need no login under -S (memcached's list). */
static bool _open_command(uint8_t opcode)
{
    return opcode == BIN_SASL_LIST_MECHS || opcode == BIN_SASL_AUTH || opcode == BIN_SASL_STEP ||
           opcode == BIN_VERSION;
}

/* Answer, then hang up: memcached's reply to a malformed request. */
static enum feed_status _fatal(const struct bin_req *r, enum bin_status st, struct out *out)
{
    _error(out, r, st);
    return FEED_QUIT;
}

/* Requests whose body is exactly extras and key, answered at once. */
static enum feed_status _simple(struct session *s, struct ops_ctx *ctx, const struct bin_req *r,
                                struct out *out)
{
    const struct bin_header *h = &r->h;
    uint32_t ek = (uint32_t)h->extlen + h->keylen;
    switch (r->op) {
    case BIN_GET:
    case BIN_GETK:
        if (h->extlen || h->keylen == 0 || h->bodylen != h->keylen)
            return _fatal(r, BIN_EINVAL, out);
        _get(ctx, r, out);
        return FEED_DONE;
    case BIN_TOUCH:
    case BIN_GAT:
    case BIN_GATK:
        if (h->extlen != 4 || h->keylen == 0)
            return _fatal(r, BIN_EINVAL, out);
        _get(ctx, r, out);
        return FEED_DONE;
    case BIN_DELETE:
        if (h->keylen == 0 || h->extlen || h->bodylen != h->keylen)
            return _fatal(r, BIN_EINVAL, out);
        _delete(ctx, r, out);
        return FEED_DONE;
    case BIN_INCREMENT:
    case BIN_DECREMENT:
        if (h->keylen == 0 || h->extlen != 20 || h->bodylen != ek)
            return _fatal(r, BIN_EINVAL, out);
        _arith(ctx, r, out);
        return FEED_DONE;
    case BIN_NOOP:
    case BIN_VERSION:
    case BIN_QUIT:
    case BIN_SASL_LIST_MECHS:
        if (h->extlen || h->keylen || h->bodylen)
            return _fatal(r, BIN_EINVAL, out);
        break;
    case BIN_FLUSH:
        if (h->keylen || h->bodylen != h->extlen || (h->extlen != 0 && h->extlen != 4))
            return _fatal(r, BIN_EINVAL, out);
        if (!ctx->cfg->flush_enabled) { /* -F: memcached answers an auth error */
            _error(out, r, BIN_AUTH_ERROR);
            return FEED_DONE;
        }
        ops_flush(ctx, h->extlen ? (int64_t)_be32(r->ext) : 0);
        _ok(out, r, NULL, 0, 0);
        return FEED_DONE;
    case BIN_STAT:
        if (h->extlen)
            return _fatal(r, BIN_EINVAL, out);
        _stat(ctx, r, out);
        return FEED_DONE;
    default:
        break;
    }
    switch (r->op) {
    case BIN_NOOP:
        _ok(out, r, NULL, 0, 0);
        return FEED_DONE;
    case BIN_VERSION:
        _ok(out, r, MEMG_VERSION, sizeof(MEMG_VERSION) - 1, 0);
        return FEED_DONE;
    case BIN_QUIT:
        _ok(out, r, NULL, 0, 0);
        return FEED_QUIT;
    default: /* BIN_SASL_LIST_MECHS */
        if (!ctx->cfg->sasl) {
            _error(out, r, BIN_UNKNOWN_COMMAND);
            return FEED_DONE;
        }
        s->authed = false; /* memcached starts a new exchange here */
        s->bits = 0;
        _ok(out, r, "PLAIN", 5, 0);
        return FEED_DONE;
    }
}

static enum feed_status _feed(struct session *s, struct ops_ctx *ctx, const char *buf, size_t len,
                              size_t cap, size_t *used, struct out *out)
{
    *used = 0;
    if (len < BIN_HEADER_LEN)
        return FEED_AGAIN;
    struct bin_req r;
    const unsigned char *p = (const unsigned char *)buf;
    bin_header_decode(p, &r.h);
    if (r.h.magic != BIN_REQ_MAGIC)
        return FEED_CLOSE;
    size_t head = BIN_HEADER_LEN + r.h.extlen + (size_t)r.h.keylen;
    if (head > BIN_HEAD_MAX)
        return FEED_CLOSE; /* memcached cannot read it into its buffer: closed, no answer */
    if (len < head)
        return FEED_AGAIN; /* memcached reads extras and key before judging */
    r.ext = p + BIN_HEADER_LEN;
    r.key = buf + BIN_HEADER_LEN + r.h.extlen;
    r.op = bin_unquiet(r.h.opcode, &r.quiet);
    *used = head;
    if (r.h.keylen > r.h.bodylen || (uint32_t)r.h.keylen + r.h.extlen > r.h.bodylen)
        return _fatal(&r, BIN_UNKNOWN_COMMAND, out);
    if (ctx->cfg->sasl && !s->authed && !_open_command(r.h.opcode))
        return _fatal(&r, BIN_AUTH_ERROR, out);
    if (r.h.keylen > BIN_KEY_MAX)
        return _fatal(&r, BIN_EINVAL, out);
    switch (r.op) {
    case BIN_SET:
    case BIN_ADD:
    case BIN_REPLACE:
        if (r.h.extlen != 8 || r.h.keylen == 0)
            return _fatal(&r, BIN_EINVAL, out);
        return _store(s, ctx, &r, len, cap, used, out);
    case BIN_APPEND:
    case BIN_PREPEND:
        if (r.h.extlen || r.h.keylen == 0)
            return _fatal(&r, BIN_EINVAL, out);
        return _store(s, ctx, &r, len, cap, used, out);
    case BIN_SASL_AUTH:
    case BIN_SASL_STEP: {
        if (r.h.extlen || r.h.keylen == 0)
            return _fatal(&r, BIN_EINVAL, out);
        size_t ndata = r.h.bodylen - r.h.keylen;
        enum bin_status refuse = !ctx->cfg->sasl                    ? BIN_UNKNOWN_COMMAND
                                 : r.h.keylen > BIN_SASL_MECH_MAX   ? BIN_EINVAL
                                 : BIN_HEADER_LEN + (uint64_t)r.h.bodylen > cap ? BIN_ENOMEM
                                                                    : BIN_OK;
        if (refuse != BIN_OK) { /* the data discarded, then answered */
            _discard(s, &r, refuse);
            s->recv_left = ndata;
            return FEED_RECEIVE;
        }
        if (len < BIN_HEADER_LEN + (size_t)r.h.bodylen) {
            *used = 0;
            return FEED_AGAIN;
        }
        *used = BIN_HEADER_LEN + (size_t)r.h.bodylen;
        _sasl(s, ctx, &r, out);
        return FEED_DONE;
    }
    case BIN_GET: case BIN_GETK: case BIN_TOUCH: case BIN_GAT: case BIN_GATK: case BIN_DELETE:
    case BIN_INCREMENT: case BIN_DECREMENT: case BIN_NOOP: case BIN_VERSION: case BIN_QUIT:
    case BIN_SASL_LIST_MECHS: case BIN_FLUSH: case BIN_STAT:
        return _simple(s, ctx, &r, out);
    default: /* verbosity too: memcached 1.6.18 no longer answers it in binary */
        /* memcached swallows the whole body length after extras and key */
        _discard(s, &r, BIN_UNKNOWN_COMMAND);
        s->recv_left = r.h.bodylen;
        return FEED_RECEIVE;
    }
}

static enum feed_status _received(struct session *s, struct ops_ctx *ctx, struct out *out)
{
    struct bin_req r;
    if (!s->txn_open) { /* a discarded body: now the answer */
        r.h.opcode = s->op;
        r.h.opaque = s->opaque;
        _error(out, &r, (enum bin_status)s->cas);
        return FEED_DONE;
    }
    s->txn_open = false;
    s->recv_dst = NULL;
    r.h.opcode = s->op;
    r.op = bin_unquiet(s->op, &r.quiet);
    r.h.opaque = s->opaque;
    r.h.cas = s->cas;
    _store_end(ctx, &r, &s->txn, out);
    return FEED_DONE;
}

/* Lookups of a pipelined batch (getq... noop): the keys of the complete get
 * requests in the buffer, their misses overlapped before the first runs. */
static void _prefetch(struct ops_ctx *ctx, const char *buf, size_t len)
{
    const char *keys[STORE_PREFETCH_MAX];
    size_t nkeys[STORE_PREFETCH_MAX], n = 0, pos = 0;
    const unsigned char *p = (const unsigned char *)buf;
    while (n < STORE_PREFETCH_MAX && len - pos >= BIN_HEADER_LEN && p[pos] == BIN_REQ_MAGIC) {
        uint8_t op = p[pos + 1];
        size_t keylen = (size_t)(p[pos + 2] << 8 | p[pos + 3]), extlen = p[pos + 4];
        size_t body = _be32(p + pos + 8);
        if (len - pos - BIN_HEADER_LEN < body)
            break;
        bool get = op == BIN_GET || op == BIN_GETQ || op == BIN_GETK || op == BIN_GETKQ;
        if (get && keylen && keylen + extlen <= body) {
            keys[n] = buf + pos + BIN_HEADER_LEN + extlen;
            nkeys[n++] = keylen;
        }
        pos += BIN_HEADER_LEN + body;
    }
    if (n > 1)
        ops_prefetch(ctx, keys, nkeys, n);
}

const struct protocol bin_protocol = {"binary", _feed, _received, _prefetch, NULL};
