/* cmd: the meaning of each command, memcached's replies and counters. */
#include "cmd.h"

#include <string.h>

#include "config.h"
#include "mem.h"
#include "out.h"
#include "proto.h"
#include "stats.h"
#include "store.h"

#define MAX_VERBOSITY 2

/* A fixed reply line, unless the request said noreply (memcached's
 * out_string: errors are silenced by noreply too). */
static void _reply_n(struct out *out, const struct request *req, const char *line, size_t n)
{
    if (req->noreply)
        return;
    char *p = out_reserve(out, n + 2);
    if (!p)
        return;
    mem_copy(p, line, n);
    memcpy(p + n, "\r\n", 2);
    out_commit(out, n + 2);
}

/* A string literal's length is known when compiling: no strlen per reply. */
#define REPLY_LIT(out, req, lit) _reply_n((out), (req), "" lit, sizeof(lit) - 1)

static void _reply(struct out *out, const struct request *req, const char *line)
{
    _reply_n(out, req, line, strlen(line));
}

static bool _emit_value(struct cmd_ctx *ctx, struct out *out, const struct item_view *it, bool cas)
{
    bool inline_value = it->nvalue < CMD_ZERO_COPY_MIN;
    size_t room = PROTO_VALUE_HEADER_MAX + (inline_value ? it->nvalue + 2 : 0);
    char *p = out_reserve(out, room);
    if (!p)
        return false;
    size_t n = proto_value_header(p, it->key, it->nkey, it->flags, it->nvalue, cas ? &it->cas : NULL);
    if (inline_value) {
        mem_copy(p + n, it->value, it->nvalue);
        memcpy(p + n + it->nvalue, "\r\n", 2);
        out_commit(out, n + it->nvalue + 2);
        return true;
    }
    out_commit(out, n);
    store_pin(ctx->store, it->pin);
    if (!out_ref(out, it->value, it->nvalue, it->pin)) {
        store_unpin(ctx->store, it->pin);
        return false;
    }
    return out_copy(out, "\r\n", 2);
}

static enum cmd_result _get(struct cmd_ctx *ctx, const struct request *req, struct out *out)
{
    bool touch = req->cmd == PROTO_GAT || req->cmd == PROTO_GATS;
    bool cas = req->cmd == PROTO_GETS || req->cmd == PROTO_GATS;
    struct stats *s = ctx->stats;
    struct proto_token keys = req->keys, key;
    while (proto_next_key(&keys, &key)) {
        struct item_view it;
        bool hit;
        if (touch) {
            hit = store_touch(ctx->store, key.p, key.len, req->exptime, &it);
            s->cmd_touch++;
            if (hit)
                s->touch_hits++;
            else
                s->touch_misses++;
        } else {
            hit = store_get(ctx->store, key.p, key.len, &it);
            s->cmd_get++;
            if (hit)
                s->get_hits++;
            else
                s->get_misses++;
        }
        if (hit && !_emit_value(ctx, out, &it, cas))
            return CMD_NOMEM;
    }
    return out_copy(out, "END\r\n", 5) ? CMD_OK : CMD_NOMEM;
}

static enum store_mode _mode(enum proto_cmd c)
{
    switch (c) {
    case PROTO_ADD:
        return STORE_ADD;
    case PROTO_REPLACE:
        return STORE_REPLACE;
    case PROTO_APPEND:
        return STORE_APPEND;
    case PROTO_PREPEND:
        return STORE_PREPEND;
    case PROTO_CAS:
        return STORE_CAS;
    default:
        return STORE_SET;
    }
}

bool cmd_value_begin(struct cmd_ctx *ctx, const struct request *req, struct store_txn *txn,
                     struct out *out)
{
    enum store_status st = store_reserve(ctx->store, req->key.p, req->key.len, req->flags,
                                         req->exptime, req->vlen, txn);
    if (st == STORE_OK)
        return true;
    if (st == STORE_TOO_LARGE) {
        ctx->stats->store_too_large++;
        REPLY_LIT(out, req, "SERVER_ERROR object too large for cache");
    } else {
        ctx->stats->store_no_memory++;
        REPLY_LIT(out, req, "SERVER_ERROR out of memory storing object");
    }
    if (req->cmd == PROTO_SET) /* no stale value may survive a failed set */
        store_delete(ctx->store, req->key.p, req->key.len);
    return false;
}

void cmd_value_end(struct cmd_ctx *ctx, const struct request *req, struct store_txn *txn,
                   bool chunk_ok, struct out *out)
{
    struct stats *s = ctx->stats;
    s->cmd_set++;
    if (!chunk_ok) {
        store_abort(ctx->store, txn);
        REPLY_LIT(out, req, "CLIENT_ERROR bad data chunk");
        return;
    }
    enum store_status st = store_commit(ctx->store, txn, _mode(req->cmd), req->cas);
    if (req->cmd == PROTO_CAS) {
        if (st == STORE_OK)
            s->cas_hits++;
        else if (st == STORE_EXISTS)
            s->cas_badval++;
        else if (st == STORE_NOT_FOUND)
            s->cas_misses++;
    }
    switch (st) {
    case STORE_OK:
        REPLY_LIT(out, req, "STORED");
        break;
    case STORE_EXISTS:
        REPLY_LIT(out, req, "EXISTS");
        break;
    case STORE_NOT_FOUND:
        REPLY_LIT(out, req, "NOT_FOUND");
        break;
    case STORE_NOT_STORED:
        REPLY_LIT(out, req, "NOT_STORED");
        break;
    default:
        s->store_no_memory++;
        REPLY_LIT(out, req, "SERVER_ERROR out of memory storing object");
        break;
    }
}

static void _storage(struct cmd_ctx *ctx, const struct request *req, struct out *out)
{
    struct store_txn txn;
    if (!cmd_value_begin(ctx, req, &txn, out))
        return;
    mem_copy(txn.value, req->value, req->vlen);
    cmd_value_end(ctx, req, &txn, !req->bad_chunk, out);
}

static void _arith(struct cmd_ctx *ctx, const struct request *req, struct out *out)
{
    bool incr = req->cmd == PROTO_INCR;
    uint64_t v = 0;
    enum store_status st = store_incr(ctx->store, req->key.p, req->key.len, incr, req->delta, &v);
    struct stats *s = ctx->stats;
    switch (st) {
    case STORE_OK: {
        if (incr)
            s->incr_hits++;
        else
            s->decr_hits++;
        char num[24];
        num[proto_u64(num, v)] = '\0';
        _reply(out, req, num);
        break;
    }
    case STORE_NOT_FOUND:
        if (incr)
            s->incr_misses++;
        else
            s->decr_misses++;
        REPLY_LIT(out, req, "NOT_FOUND");
        break;
    case STORE_NON_NUMERIC:
        REPLY_LIT(out, req, "CLIENT_ERROR cannot increment or decrement non-numeric value");
        break;
    default:
        REPLY_LIT(out, req, "SERVER_ERROR out of memory");
        break;
    }
}

static void _delete(struct cmd_ctx *ctx, const struct request *req, struct out *out)
{
    if (store_delete(ctx->store, req->key.p, req->key.len) == STORE_OK) {
        ctx->stats->delete_hits++;
        REPLY_LIT(out, req, "DELETED");
    } else {
        ctx->stats->delete_misses++;
        REPLY_LIT(out, req, "NOT_FOUND");
    }
}

static void _touch(struct cmd_ctx *ctx, const struct request *req, struct out *out)
{
    ctx->stats->cmd_touch++;
    if (store_touch(ctx->store, req->key.p, req->key.len, req->exptime, NULL)) {
        ctx->stats->touch_hits++;
        REPLY_LIT(out, req, "TOUCHED");
    } else {
        ctx->stats->touch_misses++;
        REPLY_LIT(out, req, "NOT_FOUND");
    }
}

static void _memlimit(struct cmd_ctx *ctx, const struct request *req, struct out *out)
{
    const struct proto_token *a = &req->arg;
    uint64_t mb = 0;
    size_t i = 0;
    for (; i < a->len && a->p[i] >= '0' && a->p[i] <= '9' && mb < 100000000000ull; i++)
        mb = mb * 10 + (uint64_t)(a->p[i] - '0');
    if (a->len == 0 || i != a->len)
        REPLY_LIT(out, req, "ERROR");
    else if (mb < 8)
        REPLY_LIT(out, req, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m");
    else if (mb > 1000000000)
        REPLY_LIT(out, req, "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes");
    else if (store_set_limit(ctx->store, mb << 20))
        REPLY_LIT(out, req, "OK");
    else
        REPLY_LIT(out, req, "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust");
}

static void _shutdown(struct cmd_ctx *ctx, const struct request *req, struct out *out)
{
    if (!ctx->cfg->enable_shutdown) {
        REPLY_LIT(out, req, "ERROR: shutdown not enabled");
        return;
    }
    if (req->ntokens == 2 ||
        (req->ntokens == 3 && req->arg.len == 8 && memcmp(req->arg.p, "graceful", 8) == 0))
        ctx->shutdown = true;
    else
        REPLY_LIT(out, req, "CLIENT_ERROR invalid shutdown mode");
}

static enum cmd_result _misc(struct cmd_ctx *ctx, const struct request *req, struct out *out)
{
    switch (req->cmd) {
    case PROTO_FLUSH_ALL:
        ctx->stats->cmd_flush++;
        store_flush(ctx->store, req->exptime);
        REPLY_LIT(out, req, "OK");
        break;
    case PROTO_VERSION:
        REPLY_LIT(out, req, "VERSION " MEMG_VERSION);
        break;
    case PROTO_VERBOSITY:
        ctx->verbose = req->level > MAX_VERBOSITY ? MAX_VERBOSITY : (int)req->level;
        REPLY_LIT(out, req, "OK");
        break;
    case PROTO_QUIT:
        return CMD_CLOSE;
    case PROTO_SHUTDOWN:
        _shutdown(ctx, req, out);
        return ctx->shutdown ? CMD_CLOSE : CMD_OK;
    case PROTO_STATS:
        cmd_stats(ctx, req, out);
        break;
    case PROTO_CACHE_MEMLIMIT:
        _memlimit(ctx, req, out);
        break;
    default:
        _reply(out, req, proto_error_text(req->error ? req->error : PROTO_ERR_UNKNOWN));
        break;
    }
    return CMD_OK;
}

enum cmd_result cmd_execute(struct cmd_ctx *ctx, const struct request *req, struct out *out)
{
    switch (req->cmd) {
    case PROTO_GET:
    case PROTO_GETS:
    case PROTO_GAT:
    case PROTO_GATS:
        return _get(ctx, req, out);
    case PROTO_SET:
    case PROTO_ADD:
    case PROTO_REPLACE:
    case PROTO_APPEND:
    case PROTO_PREPEND:
    case PROTO_CAS:
        _storage(ctx, req, out);
        break;
    case PROTO_INCR:
    case PROTO_DECR:
        _arith(ctx, req, out);
        break;
    case PROTO_DELETE:
        _delete(ctx, req, out);
        break;
    case PROTO_TOUCH:
        _touch(ctx, req, out);
        break;
    default:
        return _misc(ctx, req, out);
    }
    return CMD_OK;
}
