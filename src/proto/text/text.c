/* text: each text command's reply, exactly as memcached words it. */
#include "text.h"

#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "proto/auth.h"
#include "lib/settings.h"
#include "lib/log.h"
#include "lib/fmt.h"
#include "lib/mem.h"
#include "ops/ops.h"
#include "lib/out.h"
#include "proto.h"
#include "lib/stats.h"
#include "text_meta.h"

/* session.bits */
#define TEXT_NOREPLY 1u
#define TEXT_VALUE_END 2u /* a value went into its item: its \r\n comes next */
#define TEXT_HELD 4u      /* s->held is a meta set's line (text_meta.c) */
#define TEXT_DUMP 8u      /* s->dump is a metadump's walk (admin.c) */

/* A fixed reply line, unless the request said noreply (memcached's
 * out_string: errors are silenced by noreply too). */
static void _reply_n(struct out *out, bool noreply, const char *line, size_t n)
{
    if (noreply) {
        if (log_level > 1)
            log_noreply(line, n);
        return;
    }
    out_line(out, line, n);
}

/* A string literal's length is known when compiling: no strlen per reply. */
#define REPLY_LIT(out, noreply, lit) _reply_n((out), (noreply), "" lit, sizeof(lit) - 1)

/* The VALUE lines of an item, then "END" when end (a get's last key). */
static bool _emit_value(struct ops_ctx *ctx, struct out *out, const struct item_view *it, bool cas,
                        bool end)
{
    bool inline_value = it->nvalue < OPS_ZERO_COPY_MIN;
    size_t room = PROTO_VALUE_HEADER_MAX + (inline_value ? it->nvalue + 2 + 5 : 0);
    char *p = out_reserve(out, room);
    if (!p)
        return false;
    size_t n = proto_value_header(p, it->key, it->nkey, it->flags, it->nvalue, cas ? &it->cas : NULL);
    if (inline_value) {
        mem_copy(p + n, it->value, it->nvalue);
        memcpy(p + n + it->nvalue, "\r\nEND\r\n", 7);
        out_commit(out, n + it->nvalue + (end ? 7 : 2));
        return true;
    }
    out_commit(out, n);
    if (!ops_ref_value(ctx, out, it))
        return false;
    return end ? out_copy(out, "\r\nEND\r\n", 7) : out_copy(out, "\r\n", 2);
}

static void _get(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    bool touch = req->cmd == PROTO_GAT || req->cmd == PROTO_GATS;
    bool cas = req->cmd == PROTO_GETS || req->cmd == PROTO_GATS;
    if (req->key.len == req->keys.len) { /* "get" of one key, found by the parser */
        struct item_view it;
        if (!ops_get(ctx, req->key.p, req->key.len, &it))
            out_copy(out, "END\r\n", 5);
        else
            _emit_value(ctx, out, &it, false, true);
        return;
    }
    struct proto_token rest = req->keys, key;
    const char *keys[STORE_PREFETCH_MAX];
    size_t nkeys[STORE_PREFETCH_MAX], n;
    do { /* keys in chunks: a chunk's lookups are prefetched together */
        for (n = 0; n < STORE_PREFETCH_MAX && proto_next_key(&rest, &key); n++) {
            keys[n] = key.p;
            nkeys[n] = key.len;
        }
        if (n > 1)
            ops_prefetch(ctx, keys, nkeys, n);
        for (size_t i = 0; i < n; i++) {
            struct item_view it;
            bool hit = touch ? ops_touch(ctx, keys[i], nkeys[i], req->exptime, &it)
                             : ops_get(ctx, keys[i], nkeys[i], &it);
            if (hit && !_emit_value(ctx, out, &it, cas, false))
                return; /* out->oom: conn hangs up */
        }
    } while (n == STORE_PREFETCH_MAX);
    out_copy(out, "END\r\n", 5);
}

/* The storage commands come in the store's order of modes. */
_Static_assert(PROTO_ADD - PROTO_SET == STORE_ADD && PROTO_REPLACE - PROTO_SET == STORE_REPLACE &&
                   PROTO_APPEND - PROTO_SET == STORE_APPEND &&
                   PROTO_PREPEND - PROTO_SET == STORE_PREPEND && PROTO_CAS - PROTO_SET == STORE_CAS,
               "proto_cmd's storage commands follow store_mode");
static enum store_mode _mode(enum proto_cmd c) { return (enum store_mode)(c - PROTO_SET); }

/* Reserve the item for a storage line; false after the error reply. */
static bool _value_begin(struct ops_ctx *ctx, const struct request *req, struct store_txn *txn,
                         struct out *out)
{
    enum store_status st = ops_store_begin(ctx, req->key.p, req->key.len, req->flags, req->exptime,
                                           req->vlen, req->cmd == PROTO_SET, txn);
    if (st == STORE_OK)
        return true;
    if (st == STORE_TOO_LARGE)
        REPLY_LIT(out, req->noreply, "SERVER_ERROR object too large for cache");
    else
        REPLY_LIT(out, req->noreply, "SERVER_ERROR out of memory storing object");
    return false;
}

static void _value_end(struct ops_ctx *ctx, enum proto_cmd cmd, bool noreply, uint64_t cas,
                       struct store_txn *txn, bool chunk_ok, struct out *out)
{
    if (!chunk_ok) {
        ops_store_abort(ctx, txn);
        REPLY_LIT(out, noreply, "CLIENT_ERROR bad data chunk");
        return;
    }
    switch (ops_store_end(ctx, txn, _mode(cmd), cmd == PROTO_CAS ? cas : 0, NULL)) {
    case STORE_OK:
        REPLY_LIT(out, noreply, "STORED");
        break;
    case STORE_EXISTS:
        REPLY_LIT(out, noreply, "EXISTS");
        break;
    case STORE_NOT_FOUND:
        REPLY_LIT(out, noreply, "NOT_FOUND");
        break;
    case STORE_NOT_STORED:
        REPLY_LIT(out, noreply, "NOT_STORED");
        break;
    default:
        REPLY_LIT(out, noreply, "SERVER_ERROR out of memory storing object");
        break;
    }
}

static void _storage(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    struct store_txn txn;
    if (!_value_begin(ctx, req, &txn, out))
        return;
    mem_copy(txn.value, req->value, req->vlen);
    _value_end(ctx, req->cmd, req->noreply, req->cas, &txn, !req->bad_chunk, out);
}

static void _arith(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    uint64_t v = 0;
    switch (ops_arith(ctx, req->key.p, req->key.len, req->cmd == PROTO_INCR, req->delta, 0, &v,
                      NULL)) {
    case STORE_OK: {
        char num[24];
        _reply_n(out, req->noreply, num, fmt_u64(num, v));
        break;
    }
    case STORE_NOT_FOUND:
        REPLY_LIT(out, req->noreply, "NOT_FOUND");
        break;
    case STORE_NON_NUMERIC:
        REPLY_LIT(out, req->noreply, "CLIENT_ERROR cannot increment or decrement non-numeric value");
        break;
    default:
        REPLY_LIT(out, req->noreply, "SERVER_ERROR out of memory");
        break;
    }
}

static void _memlimit(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    const struct proto_token *a = &req->arg;
    uint64_t mb = 0;
    size_t i = 0;
    for (; i < a->len && a->p[i] >= '0' && a->p[i] <= '9' && mb < 100000000000ull; i++)
        mb = mb * 10 + (uint64_t)(a->p[i] - '0');
    if (a->len == 0 || i != a->len) {
        REPLY_LIT(out, req->noreply, "ERROR");
        return;
    }
    switch (ops_memlimit(ctx, mb)) {
    case OPS_MEMLIMIT_OK:
        REPLY_LIT(out, req->noreply, "OK");
        break;
    case OPS_MEMLIMIT_TOO_SMALL:
        REPLY_LIT(out, req->noreply, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m");
        break;
    case OPS_MEMLIMIT_NOT_MB:
        REPLY_LIT(out, req->noreply, "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes");
        break;
    default:
        REPLY_LIT(out, req->noreply, "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust");
        break;
    }
}

/* memcached's answer: OK, or the error line that names the file. */
static void _refresh_certs(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    char err[512];
    if (ctx->refresh_certs(err, sizeof(err))) {
        REPLY_LIT(out, req->noreply, "OK");
        return;
    }
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == '\r'))
        n--;
    _reply_n(out, req->noreply, err, n);
}

static void _shutdown(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    if (!ctx->cfg->enable_shutdown) {
        REPLY_LIT(out, req->noreply, "SERVER_ERROR: shutdown not enabled");
        return;
    }
    if (req->ntokens == 2 ||
        (req->ntokens == 3 && req->arg.len == 8 && memcmp(req->arg.p, "graceful", 8) == 0))
        ctx->shutdown = (uint8_t)(req->ntokens - 1);
    else
        REPLY_LIT(out, req->noreply, "CLIENT_ERROR invalid shutdown mode");
}

static void _stat_line(void *arg, const char *name, size_t nname, const char *value, size_t nvalue)
{
    struct out *out = arg;
    char *p = out_reserve(out, 5 + nname + 1 + nvalue + 2);
    if (!p)
        return;
    memcpy(p, "STAT ", 5);
    memcpy(p + 5, name, nname);
    p[5 + nname] = ' ';
    memcpy(p + 6 + nname, value, nvalue);
    memcpy(p + 6 + nname + nvalue, "\r\n", 2);
    out_commit(out, 5 + nname + 1 + nvalue + 2);
}

static bool _is(struct proto_token t, const char *word)
{
    size_t n = strlen(word);
    return t.len == n && memcmp(t.p, word, n) == 0;
}

static void _stats(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    if (req->ntokens > 2 && admin_stats(ctx, req, out))
        return; /* detail, cachedump */
    size_t n = req->ntokens == 2 ? 0 : req->arg.len;
    switch (ops_stats(ctx, req->arg.p, n, _stat_line, out)) {
    case OPS_STATS_DONE:
        out_copy(out, "END\r\n", 5);
        break;
    case OPS_STATS_RESET:
        out_copy(out, "RESET\r\n", 7);
        break;
    default:
        out_copy(out, "ERROR\r\n", 7);
        break;
    }
}

/* Everything but the storage and retrieval commands. */
static enum feed_status _misc(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    switch (req->cmd) {
    case PROTO_DELETE:
        if (ops_delete(ctx, req->key.p, req->key.len, 0) == STORE_OK)
            REPLY_LIT(out, req->noreply, "DELETED");
        else
            REPLY_LIT(out, req->noreply, "NOT_FOUND");
        break;
    case PROTO_TOUCH:
        if (ops_touch(ctx, req->key.p, req->key.len, req->exptime, NULL))
            REPLY_LIT(out, req->noreply, "TOUCHED");
        else
            REPLY_LIT(out, req->noreply, "NOT_FOUND");
        break;
    case PROTO_FLUSH_ALL:
        if (!ctx->cfg->flush_enabled) {
            REPLY_LIT(out, req->noreply, "CLIENT_ERROR flush_all not allowed");
            break;
        }
        ops_flush(ctx, req->exptime);
        REPLY_LIT(out, req->noreply, "OK");
        break;
    case PROTO_VERSION:
        REPLY_LIT(out, req->noreply, "VERSION " MEMG_VERSION);
        break;
    case PROTO_VERBOSITY:
        ops_verbosity(ctx, req->level);
        REPLY_LIT(out, req->noreply, "OK");
        break;
    case PROTO_QUIT:
        return FEED_QUIT;
    case PROTO_SHUTDOWN:
        _shutdown(ctx, req, out);
        return ctx->shutdown ? FEED_QUIT : FEED_DONE;
    case PROTO_STATS:
        _stats(ctx, req, out);
        break;
    case PROTO_CACHE_MEMLIMIT:
        _memlimit(ctx, req, out);
        break;
    case PROTO_REFRESH_CERTS:
        if (ctx->refresh_certs) {
            _refresh_certs(ctx, req, out);
            break;
        }
        /* a build without TLS knows no such command */
        /* fall through */
    default: {
        const char *e = proto_error_text(req->error ? req->error : PROTO_ERR_UNKNOWN);
        _reply_n(out, req->noreply, e, strlen(e));
        break;
    }
    }
    return FEED_DONE;
}

static enum feed_status _execute(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    if (proto_is_storage(req->cmd)) {
        _storage(ctx, req, out);
        return FEED_DONE;
    }
    switch (req->cmd) {
    case PROTO_GET:
    case PROTO_GETS:
    case PROTO_GAT:
    case PROTO_GATS:
        _get(ctx, req, out);
        return FEED_DONE;
    case PROTO_INCR:
    case PROTO_DECR:
        _arith(ctx, req, out);
        return FEED_DONE;
    case PROTO_MG:
    case PROTO_MS:
    case PROTO_MD:
    case PROTO_MA:
    case PROTO_MN:
    case PROTO_ME:
        text_meta(ctx, req, out);
        return FEED_DONE;
    default:
        return _misc(ctx, req, out);
    }
}

/* A storage line whose data cannot wait in the read buffer: received into
 * its item, or discarded after the error reply. */
static enum feed_status _receive(struct session *s, struct ops_ctx *ctx, const struct request *req,
                                 struct out *out)
{
    bool meta = req->cmd == PROTO_MS;
    if (meta ? text_meta_set_begin(s, ctx, req, out) : _value_begin(ctx, req, &s->txn, out)) {
        s->recv_dst = s->txn.value;
        s->recv_left = req->vlen;
        if (!meta)
            s->cas = req->cas; /* held, for a meta set, shares its place */
        s->op = (uint8_t)req->cmd;
        s->bits = meta ? TEXT_HELD : req->noreply ? TEXT_NOREPLY : 0;
        s->txn_open = true;
    } else {
        s->recv_dst = NULL;
        s->recv_left = (uint64_t)req->vlen + 2;
    }
    return FEED_RECEIVE;
}

/* Split on single spaces as memcached's tokenizer does; returns the count
 * (at most max). */
static int _split(const char *p, const char *end, struct proto_token *tok, int max)
{
    int n = 0;
    while (p < end && n < max) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        const char *s = p;
        while (p < end && *p != ' ')
            p++;
        tok[n++] = (struct proto_token){s, (size_t)(p - s)};
    }
    return n;
}

/* -Y's answers before a login succeeds. */
static const char *const login_replies[] = {
    "CLIENT_ERROR unauthenticated\r\n",
    "CLIENT_ERROR bad command line termination\r\n",
    "CLIENT_ERROR bad authentication token format\r\n",
    "CLIENT_ERROR authentication failure\r\n",
    "STORED\r\n",
    "CLIENT_ERROR auth token too long\r\n",
};
enum { LOGIN_UNAUTH, LOGIN_TERMINATION, LOGIN_FORMAT, LOGIN_FAILURE, LOGIN_STORED, LOGIN_TOO_LONG };

/* memcached answers a login attempt in one reply object that the next
 * attempt overwrites until it is written: of the attempts that arrive
 * together, only the last one's answer reaches the client. */
static void _login_reply(struct session *s, struct out *out, unsigned which)
{
    if (s->op) {
        const char *prev = login_replies[s->op - 1];
        out_drop_tail(out, prev, strlen(prev));
    }
    s->op = (uint8_t)(which + 1);
    out_copy(out, login_replies[which], strlen(login_replies[which]));
}

/* -Y: until logged in, the only request is "set <key> <flags> <exptime>
 * <bytes>\r\nuser password\r\n" (key, flags and exptime ignored). */
static enum feed_status _login(struct session *s, struct ops_ctx *ctx, const char *buf, size_t len,
                               size_t cap, size_t *used, struct out *out)
{
    if (len < 2) /* memcached waits for two bytes before it looks */
        return FEED_AGAIN;
    const char *nl = memchr(buf, '\n', len);
    if (!nl)
        return len > TEXT_AUTH_LINE_MAX ? FEED_CLOSE : FEED_AGAIN;
    size_t line = (size_t)(nl - buf) + 1;
    const char *end = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
    struct proto_token tok[6];
    int n = _split(buf, end, tok, 6);
    uint64_t size = 0;
    bool ok = n >= 5 && _is(tok[0], "set") && tok[4].len > 0 && tok[4].len <= 10;
    for (size_t i = 0; ok && i < tok[4].len; i++) {
        ok = tok[4].p[i] >= '0' && tok[4].p[i] <= '9';
        size = size * 10 + (uint64_t)(tok[4].p[i] - '0');
    }
    if (!ok || size > UINT32_MAX - 2) {
        *used = line;
        _login_reply(s, out, LOGIN_UNAUTH);
        return FEED_DONE;
    }
    if (size > TEXT_AUTH_TOKEN_MAX) { /* 1.6.45 answers and reads on; 1.6.18 hung up */
        *used = line;
        _login_reply(s, out, LOGIN_TOO_LONG);
        return FEED_DONE;
    }
    if (line + size + 2 > cap)
        return FEED_CLOSE; /* a token no buffer holds: memory stays bounded */
    if (len < line + size + 2)
        return FEED_AGAIN;
    *used = line + size + 2;
    const char *data = buf + line;
    if (data[size] != '\r' || data[size + 1] != '\n') {
        _login_reply(s, out, LOGIN_TERMINATION);
        return FEED_DONE;
    }
    struct proto_token cred[2];
    if (_split(data, data + size, cred, 2) < 2) {
        _login_reply(s, out, LOGIN_FORMAT);
        return FEED_DONE;
    }
    ctx->stats->auth_cmds++;
    if (auth_check(ctx->auth, cred[0].p, cred[0].len, cred[1].p, cred[1].len)) {
        s->authed = true;
        _login_reply(s, out, LOGIN_STORED);
        s->op = 0;
    } else {
        ctx->stats->auth_errors++;
        _login_reply(s, out, LOGIN_FAILURE);
    }
    return FEED_DONE;
}

static enum feed_status _feed(struct session *s, struct ops_ctx *ctx, const char *buf, size_t len,
                              size_t cap, size_t *used, struct out *out)
{
    *used = 0;
    if (s->bits & TEXT_VALUE_END) { /* the two bytes after a value received into its item */
        if (len < 2)
            return FEED_AGAIN;
        bool ok = buf[0] == '\r' && buf[1] == '\n';
        s->bits &= (uint8_t)~TEXT_VALUE_END;
        s->txn_open = false;
        if (s->op == PROTO_MS) {
            text_meta_set_end(s, ctx, ok, out);
            s->bits &= (uint8_t)~TEXT_HELD;
        }
        else
            _value_end(ctx, (enum proto_cmd)s->op, s->bits & TEXT_NOREPLY, s->cas, &s->txn, ok, out);
        *used = 2;
        return FEED_DONE;
    }
    if (ctx->auth && !s->authed)
        return _login(s, ctx, buf, len, cap, used, out);
    struct request req;
    ssize_t n = proto_parse(&req, buf, len);
    s->bits &= (uint8_t)~SESSION_AWAITING_VALUE;
    if (n == PROTO_CLOSE)
        return FEED_CLOSE;
    if (n == PROTO_AGAIN) {
        if (req.line_len && req.line_len + (size_t)req.vlen + 2 > cap) {
            *used = req.line_len;
            return _receive(s, ctx, &req, out);
        }
        if (req.line_len)
            s->bits |= SESSION_AWAITING_VALUE;
        return FEED_AGAIN;
    }
    *used = (size_t)n;
    if (req.swallow) { /* a refused storage line: its data is skipped */
        _execute(ctx, &req, out);
        s->recv_dst = NULL;
        s->recv_left = req.swallow;
        return FEED_RECEIVE;
    }
    if (req.cmd != PROTO_ADMIN)
        return _execute(ctx, &req, out);
    if (!(s->bits & TEXT_DUMP))
        s->dump = NULL; /* the union held the last value's cas or line */
    if (!admin_command(ctx, &req, out, &s->dump)) {
        s->bits &= (uint8_t)~TEXT_DUMP;
        return FEED_DONE;
    }
    s->bits |= TEXT_DUMP;
    *used = 0; /* the line stays at the head until the dump's END */
    return FEED_MORE;
}

static enum feed_status _received(struct session *s, struct ops_ctx *ctx, struct out *out)
{
    (void)ctx;
    (void)out;
    if (s->recv_dst) { /* the value is in its item; its \r\n is checked next */
        s->recv_dst = NULL;
        s->bits |= TEXT_VALUE_END;
    }
    return FEED_DONE;
}

/* The bytes a storage line ("set k f e n", "ms k n": the data length is
 * token `at`) and its data take from p, the line's start; 0 when it cannot
 * say (the parser decides then). A wrong step costs only wasted hints. */
static size_t _storage_step(const char *p, const char *nl, int at)
{
    const char *q = p, *e = nl[-1] == '\r' ? nl - 1 : nl;
    for (int i = 0; i < at; i++) {
        while (q < e && *q != ' ')
            q++;
        while (q < e && *q == ' ')
            q++;
    }
    uint64_t n = 0;
    const char *d = q;
    for (; q < e && *q >= '0' && *q <= '9' && q - d < 10; q++)
        n = n * 10 + (uint64_t)(*q - '0');
    if (q == d || (q < e && *q != ' '))
        return 0;
    return (size_t)(nl - p) + 1 + n + 2;
}

/* Lookups of a pipelined batch: the keys of the complete get and mg
 * requests in the buffer, their cache misses overlapped before the first one
 * runs. get and mg lines are read here without the parser (the common case
 * of a batch), set and ms lines are stepped over by their data length;
 * anything else is parsed to be stepped over exactly. */
static void _prefetch(struct ops_ctx *ctx, const char *buf, size_t len)
{
    const char *nl = mem_find(buf, '\n', len);
    if (!nl || nl + 1 == buf + len)
        return; /* one line: nothing to overlap */
    const char *keys[STORE_PREFETCH_MAX];
    size_t nkeys[STORE_PREFETCH_MAX], n = 0, pos = 0;
    /* lines bounded too: a buffer of sets has no keys to find, and a read
     * that arrives in pieces would have its start walked once per piece */
    for (int lines = 0; n < STORE_PREFETCH_MAX && pos < len && lines < 2 * STORE_PREFETCH_MAX;
         lines++) {
        const char *p = buf + pos;
        if (len - pos > 3 && p[0] == 'm' && p[1] == 'g' && p[2] == ' ') {
            const char *end = mem_find(p, '\n', len - pos);
            if (!end)
                break;
            const char *k = p + 3, *e = end[-1] == '\r' ? end - 1 : end;
            const char *ke = k < e ? mem_find(k, ' ', (size_t)(e - k)) : NULL;
            ke = ke ? ke : e > k ? e : k;
            if (ke > k) { /* a 'b' key is a wasted hint, no more */
                keys[n] = k;
                nkeys[n++] = (size_t)(ke - k);
            }
            pos += (size_t)(end - p) + 1;
            continue;
        }
        if (len - pos > 4 && memcmp(p, "get ", 4) == 0) { /* B's lines: keys, no parse */
            const char *end = mem_find(p, '\n', len - pos);
            if (!end)
                break;
            const char *e = end[-1] == '\r' ? end - 1 : end;
            for (const char *k = p + 4; n < STORE_PREFETCH_MAX;) {
                while (k < e && *k == ' ')
                    k++;
                if (k == e)
                    break;
                keys[n] = k;
                k = mem_find(k, ' ', (size_t)(e - k));
                k = k ? k : e;
                nkeys[n] = (size_t)(k - keys[n]);
                n++;
            }
            pos += (size_t)(end - p) + 1;
            continue;
        }
        bool ms = len - pos > 3 && p[0] == 'm' && p[1] == 's' && p[2] == ' ';
        if (ms || (len - pos > 4 && memcmp(p, "set ", 4) == 0)) {
            const char *eol = mem_find(p, '\n', len - pos);
            if (!eol)
                break;
            size_t step = _storage_step(p, eol, ms ? 2 : 4);
            if (step) {
                pos += step;
                continue;
            }
        }
        struct request req;
        ssize_t used = proto_parse(&req, p, len - pos);
        if (used <= 0)
            break;
        if (req.cmd >= PROTO_GET && req.cmd <= PROTO_GATS) {
            struct proto_token rest = req.keys, key;
            while (n < STORE_PREFETCH_MAX && proto_next_key(&rest, &key)) {
                keys[n] = key.p;
                nkeys[n++] = key.len;
            }
        }
        pos += (size_t)used;
    }
    if (n > 1)
        ops_prefetch(ctx, keys, nkeys, n);
}

static void _closed(struct session *s)
{
    if (s->bits & TEXT_HELD) /* closed while a meta set's value was arriving */
        free(s->held);
    else if (s->bits & TEXT_DUMP) /* or in the middle of a metadump */
        free(s->dump);
}

const struct protocol text_protocol = {"ascii", _feed, _received, _prefetch, _closed};
