/* ops: the meaning of each operation and the counters it moves, shared by
 * every protocol: a get_hits is a get_hits whichever wire asked. */
#include "ops.h"

#include "lib/settings.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "store/store.h"

#define MAX_VERBOSITY 2

bool ops_get(struct ops_ctx *ctx, const char *key, size_t nkey, struct item_view *view)
{
    struct stats *s = ctx->stats;
    bool hit = store_get(ctx->store, key, nkey, view);
    s->cmd_get++;
    if (hit)
        s->get_hits++;
    else
        s->get_misses++;
    if (OPS_OBSERVED(ctx))
        ops_observe_get(ctx, key, nkey, hit, view, false);
    return hit;
}

bool ops_touch(struct ops_ctx *ctx, const char *key, size_t nkey, int64_t exptime,
               struct item_view *view)
{
    struct stats *s = ctx->stats;
    bool hit = store_touch(ctx->store, key, nkey, exptime, view);
    s->cmd_touch++;
    if (hit)
        s->touch_hits++;
    else
        s->touch_misses++;
    if (OPS_OBSERVED(ctx))
        ops_observe_get(ctx, key, nkey, hit, view, view == NULL);
    return hit;
}

/* The store path every protocol's storage takes (the meta commands' with
 * their cas hint and conditions; the classic ones below pass none). */
static enum store_status _store_begin(struct ops_ctx *ctx, const char *key, size_t nkey,
                                      uint64_t flags, int64_t exptime, size_t nvalue, bool is_set,
                                      uint64_t cas_hint, struct store_txn *txn, bool classic)
{
    enum store_status st =
        store_reserve_ex(ctx->store, key, nkey, flags, exptime, nvalue, cas_hint, txn);
    if (OPS_OBSERVED(ctx)) {
        if (classic)
            ops_observe_set(ctx, key, nkey);
        ops_observe_begin(ctx, key, nkey, exptime, txn, st);
    }
    if (st == STORE_OK)
        return st;
    if (st == STORE_TOO_LARGE)
        ctx->stats->store_too_large++;
    else
        ctx->stats->store_no_memory++;
    if (is_set) /* no stale value may survive a failed set */
        store_delete(ctx->store, key, nkey, 0);
    return st;
}

enum store_status ops_store_begin_ex(struct ops_ctx *ctx, const char *key, size_t nkey,
                                     uint64_t flags, int64_t exptime, size_t nvalue, bool is_set,
                                     uint64_t cas_hint, struct store_txn *txn)
{
    return _store_begin(ctx, key, nkey, flags, exptime, nvalue, is_set, cas_hint, txn, false);
}

enum store_status ops_store_end_ex(struct ops_ctx *ctx, struct store_txn *txn,
                                   enum store_mode mode, const struct store_cond *c,
                                   struct store_result *res)
{
    struct stats *s = ctx->stats;
    s->cmd_set++;
    uint32_t ref = txn->ref; /* the commit finishes the txn */
    if (OPS_OBSERVED(ctx))
        ops_observe_commit(ctx, ref);
    enum store_status st = store_commit_ex(ctx->store, txn, mode, c, res);
    if (OPS_OBSERVED(ctx))
        ops_observe_end(ctx, ref, mode, st);
    if (mode == STORE_CAS) {
        if (st == STORE_OK)
            s->cas_hits++;
        else if (st == STORE_EXISTS)
            s->cas_badval++;
        else if (st == STORE_NOT_FOUND)
            s->cas_misses++;
    }
    if (st == STORE_NO_MEMORY)
        s->store_no_memory++;
    return st;
}

enum store_status ops_store_begin(struct ops_ctx *ctx, const char *key, size_t nkey,
                                  uint64_t flags, int64_t exptime, size_t nvalue, bool is_set,
                                  struct store_txn *txn)
{
    return _store_begin(ctx, key, nkey, flags, exptime, nvalue, is_set, 0, txn, true);
}

enum store_status ops_store_end(struct ops_ctx *ctx, struct store_txn *txn, enum store_mode mode,
                                uint64_t cas_in, uint64_t *cas_out)
{
    struct store_cond c = {.cas_in = cas_in};
    struct store_result res = {0, 0};
    enum store_status st = ops_store_end_ex(ctx, txn, mode, &c, &res);
    if (cas_out)
        *cas_out = st == STORE_OK ? res.cas : 0;
    return st;
}

void ops_store_abort(struct ops_ctx *ctx, struct store_txn *txn)
{
    ctx->stats->cmd_set++; /* memcached counts a set whose data was bad */
    store_abort(ctx->store, txn);
}

enum store_status ops_arith(struct ops_ctx *ctx, const char *key, size_t nkey, bool incr,
                            uint64_t delta, uint64_t cas_in, uint64_t *value, uint64_t *cas_out)
{
    struct stats *s = ctx->stats;
    OPS_WATCH_FETCH(ctx, key, nkey);
    enum store_status st = store_incr(ctx->store, key, nkey, incr, delta, cas_in, value);
    if (st == STORE_OK) {
        if (incr)
            s->incr_hits++;
        else
            s->decr_hits++;
        if (cas_out)
            *cas_out = store_last_cas(ctx->store);
    } else if (st == STORE_NOT_FOUND) {
        if (incr)
            s->incr_misses++;
        else
            s->decr_misses++;
    }
    return st;
}

enum store_status ops_delete(struct ops_ctx *ctx, const char *key, size_t nkey, uint64_t cas_in)
{
    struct item_view v;
    OPS_WATCH_FETCH(ctx, key, nkey);
    if (__builtin_expect(log_watching & LOG_W_DELETIONS, 0) &&
        store_lookup(ctx->store, key, nkey, false, &v) && (!cas_in || v.cas == cas_in))
        ops_observe_deleted(&v, "delete");
    enum store_status st = store_delete(ctx->store, key, nkey, cas_in);
    if (OPS_OBSERVED(ctx))
        ops_observe_delete(ctx, key, nkey);
    if (st == STORE_OK)
        ctx->stats->delete_hits++;
    else if (st == STORE_NOT_FOUND)
        ctx->stats->delete_misses++;
    return st;
}

void ops_flush(struct ops_ctx *ctx, int64_t exptime)
{
    ctx->stats->cmd_flush++;
    store_flush(ctx->store, exptime);
}

void ops_verbosity(struct ops_ctx *ctx, uint32_t level)
{
    ctx->verbose = level > MAX_VERBOSITY ? MAX_VERBOSITY : (int)level;
    log_level = ctx->verbose; /* as memcached: -vv's lines start or stop */
}

void ops_clock_pause(struct ops_ctx *ctx, bool paused) { store_debug_pause(ctx->store, paused); }

void ops_clock_shift(struct ops_ctx *ctx, int64_t secs) { store_debug_shift(ctx->store, secs); }

enum ops_memlimit ops_memlimit(struct ops_ctx *ctx, uint64_t mb)
{
    if (mb < 8)
        return OPS_MEMLIMIT_TOO_SMALL;
    if (mb > 1000000000)
        return OPS_MEMLIMIT_NOT_MB;
    return store_set_limit(ctx->store, mb << 20) ? OPS_MEMLIMIT_OK : OPS_MEMLIMIT_FAILED;
}
