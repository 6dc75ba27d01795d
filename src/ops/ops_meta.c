/* ops_meta: what the meta commands' operations mean beyond the classic
 * ones (vivify, stale marks, emptying a value, arithmetic that creates),
 * and the counters they move as memcached moves them. */
#include "ops.h"

#include "lib/log.h"
#include "lib/stats.h"
#include "store/store.h"

void ops_count_lookup(struct ops_ctx *ctx, bool touch, bool hit)
{
    struct stats *s = ctx->stats;
    if (touch) {
        s->cmd_touch++;
        s->touch_hits += hit;
        s->touch_misses += !hit;
    } else {
        s->cmd_get++;
        s->get_hits += hit;
        s->get_misses += !hit;
    }
}

bool ops_vivify(struct ops_ctx *ctx, const char *key, size_t nkey, uint8_t mbits,
                uint64_t cas_new)
{
    struct store_txn txn;
    if (store_reserve_ex(ctx->store, key, nkey, 0, 0, 0, cas_new, &txn) != STORE_OK)
        return false;
    struct store_cond c = {.cas_new = cas_new, .mbits = mbits};
    return store_commit_ex(ctx->store, &txn, STORE_ADD, &c, NULL) == STORE_OK;
}

bool ops_mlookup(struct ops_ctx *ctx, const char *key, size_t nkey, bool bump, bool vivify,
                 uint8_t mbits, uint64_t cas_new, struct item_view *it, bool *created)
{
    *created = false;
    OPS_WATCH_FETCH(ctx, key, nkey);
    if (store_lookup(ctx->store, key, nkey, bump, it))
        return true;
    if (!vivify || !ops_vivify(ctx, key, nkey, mbits, cas_new))
        return false;
    *created = true; /* an empty item: this client recaches, others see Z */
    return store_lookup(ctx->store, key, nkey, bump, it);
}

int64_t ops_set_ttl(struct ops_ctx *ctx, const char *key, size_t nkey, int64_t ttl)
{
    struct store_update u = {.set_exp = true, .exptime = ttl};
    struct item_view v;
    if (store_update(ctx->store, key, nkey, &u) != STORE_OK ||
        !store_lookup(ctx->store, key, nkey, false, &v))
        return 0;
    return v.exp;
}

bool ops_recache_due(const struct ops_ctx *ctx, const struct item_view *it, bool created,
                     int64_t ttl)
{
    return !(it->mbits & ITEM_WON) && !created && it->exp != 0 &&
           it->exp < store_exptime(ctx->store, ttl);
}

bool ops_win(struct ops_ctx *ctx, const char *key, size_t nkey, const struct item_view *it,
             bool won)
{
    won |= (it->mbits & ITEM_STALE) && !(it->mbits & ITEM_WON); /* a stale item's first reader */
    if (won) {
        struct store_update u = {.set = ITEM_WON};
        store_update(ctx->store, key, nkey, &u);
    }
    return won;
}

/* A new item holding initial in decimal (incr/decr on a missing key). */
static enum store_status _create_number(struct ops_ctx *ctx, const char *key, size_t nkey,
                                        uint64_t initial, int64_t exptime, uint64_t cas_new,
                                        uint8_t mbits, uint64_t *cas_out)
{
    char digits[24];
    size_t n = 0;
    uint64_t t = initial;
    do
        digits[sizeof(digits) - 1 - n++] = (char)('0' + t % 10);
    while ((t /= 10) != 0);
    struct store_txn txn;
    enum store_status st =
        store_reserve_ex(ctx->store, key, nkey, 0, exptime, n, cas_new, &txn);
    bool watched = log_watching & (LOG_W_MUTATIONS | LOG_W_FETCHERS); /* memcached stores it */
    if (__builtin_expect(watched, 0))
        ops_observe_begin(ctx, key, nkey, exptime, &txn, st);
    if (st != STORE_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        txn.value[i] = digits[sizeof(digits) - n + i];
    struct store_cond c = {.cas_new = cas_new, .mbits = mbits};
    struct store_result res = {0, 0};
    uint32_t ref = txn.ref; /* the commit finishes the txn */
    if (__builtin_expect(watched, 0))
        ops_observe_commit(ctx, ref);
    st = store_commit_ex(ctx->store, &txn, STORE_ADD, &c, &res);
    if (__builtin_expect(watched, 0))
        ops_observe_end(ctx, ref, STORE_ADD, st);
    if (cas_out)
        *cas_out = res.cas;
    return st;
}

enum store_status ops_arith_create(struct ops_ctx *ctx, const char *key, size_t nkey,
                                   uint64_t initial, int64_t exptime, uint64_t *cas_out)
{
    return _create_number(ctx, key, nkey, initial, exptime, 0, 0, cas_out);
}

enum store_status ops_mdelete(struct ops_ctx *ctx, const char *key, size_t nkey,
                              const struct ops_mdel *a)
{
    struct stats *s = ctx->stats;
    struct item_view v;
    OPS_WATCH_FETCH(ctx, key, nkey);
    if (!store_lookup(ctx->store, key, nkey, false, &v)) {
        s->delete_misses++;
        return STORE_NOT_FOUND;
    }
    if (a->has_cas && v.cas != a->cas_cmp) {
        s->delete_misses++;
        return STORE_EXISTS;
    }
    if (a->remove_value) { /* an empty item in its place, the cas kept unless E */
        struct store_txn txn;
        uint64_t cas = a->cas_new ? a->cas_new : v.cas;
        if (store_reserve_ex(ctx->store, key, nkey, a->flags, a->has_ttl ? a->ttl : 0, 0, cas,
                             &txn) != STORE_OK)
            return STORE_NO_MEMORY;
        struct store_cond c = {.cas_new = cas, .mbits = v.mbits & ITEM_BINKEY};
        if (store_commit_ex(ctx->store, &txn, STORE_SET, &c, NULL) != STORE_OK)
            return STORE_NOT_STORED;
    }
    if (a->stale) { /* kept, marked stale, a new cas; the next reader may win */
        struct store_update u = {.set_exp = a->has_ttl, .exptime = a->ttl, .set_cas = true,
                                 .cas = a->cas_new, .set = ITEM_STALE, .clear = ITEM_WON};
        return store_update(ctx->store, key, nkey, &u) == STORE_OK ? STORE_OK : STORE_NO_MEMORY;
    }
    s->delete_hits++;
    if (__builtin_expect(log_watching & LOG_W_DELETIONS, 0))
        ops_observe_deleted(&v, "md");
    if (!a->remove_value)
        store_delete(ctx->store, key, nkey, 0);
    return STORE_OK;
}

enum store_status ops_marith(struct ops_ctx *ctx, const char *key, size_t nkey,
                             const struct ops_marith *a, uint64_t *value, bool *created)
{
    struct stats *s = ctx->stats;
    *created = false;
    OPS_WATCH_FETCH(ctx, key, nkey);
    enum store_status st = store_incr(ctx->store, key, nkey, a->incr, a->delta, a->cas_cmp, value);
    if (st == STORE_OK) {
        if (a->incr)
            s->incr_hits++;
        else
            s->decr_hits++;
        if (a->cas_new) {
            struct store_update u = {.set_cas = true, .cas = a->cas_new};
            store_update(ctx->store, key, nkey, &u);
        }
        return STORE_OK;
    }
    if (st != STORE_NOT_FOUND)
        return st;
    if (!a->vivify) {
        if (a->incr)
            s->incr_misses++;
        else
            s->decr_misses++;
        return st;
    }
    if (_create_number(ctx, key, nkey, a->initial, 0, a->cas_new, a->mbits, NULL) != STORE_OK)
        return STORE_NOT_STORED;
    *value = a->initial;
    *created = true;
    return STORE_OK;
}
