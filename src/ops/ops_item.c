/* ops_item: the store calls the protocols make besides the operations
 * themselves (pins, prefetch, clock, walks, the crawl), so that no protocol includes
 * the store. Each is the store's call and nothing more. */
#include "ops.h"

#include "lib/out.h"
#include "store/store.h"

void ops_store_drop(struct ops_ctx *ctx, struct store_txn *txn)
{
    store_abort(ctx->store, txn);
}

bool ops_ref_value(struct ops_ctx *ctx, struct out *out, const struct item_view *it)
{
    store_pin(ctx->store, it->pin);
    if (out_ref(out, it->value, it->nvalue, it->pin))
        return true;
    store_unpin(ctx->store, it->pin);
    return false;
}

void ops_unpin(struct ops_ctx *ctx, uint32_t pin)
{
    store_unpin(ctx->store, pin);
}

void ops_prefetch(struct ops_ctx *ctx, const char *const *keys, const size_t *nkeys, size_t n)
{
    store_prefetch(ctx->store, keys, nkeys, n);
}

bool ops_has_cas(const struct ops_ctx *ctx)
{
    return store_has_cas(ctx->store);
}

int64_t ops_now(const struct ops_ctx *ctx)
{
    return store_time(ctx->store);
}

int64_t ops_exptime(const struct ops_ctx *ctx, int64_t exptime)
{
    return store_exptime(ctx->store, exptime);
}

uint64_t ops_item_total(const struct ops_ctx *ctx, const struct item_view *it)
{
    return store_item_total(ctx->store, it->nkey, it->flags, it->nvalue);
}

bool ops_peek(struct ops_ctx *ctx, const char *key, size_t nkey, struct item_view *it)
{
    return store_lookup(ctx->store, key, nkey, false, it);
}

void ops_usage(const struct ops_ctx *ctx, struct store_usage *u)
{
    store_usage(ctx->store, u);
}

bool ops_walk(struct ops_ctx *ctx, struct store_cursor *cur, uint32_t budget, store_walk_fn *fn,
              void *arg)
{
    return store_walk(ctx->store, cur, budget, fn, arg);
}

void ops_crawler_enable(struct ops_ctx *ctx, bool on)
{
    store_sweep_enable(ctx->store, on);
}

bool ops_crawl(struct ops_ctx *ctx, uint64_t max)
{
    return store_crawl(ctx->store, max);
}

void ops_crawl_tick(struct ops_ctx *ctx, unsigned tick_ms)
{
    enum { CRAWL_TICK_MAX = 16384, CRAWL_PER_SLEEP = 1000 };
    if (!store_crawling(ctx->store))
        return;
    uint64_t n = ctx->crawler_sleep
                     ? (uint64_t)CRAWL_PER_SLEEP * tick_ms * 1000 / ctx->crawler_sleep
                     : CRAWL_TICK_MAX;
    store_crawl_step(ctx->store, n > CRAWL_TICK_MAX ? CRAWL_TICK_MAX : n ? (unsigned)n : 1);
}
