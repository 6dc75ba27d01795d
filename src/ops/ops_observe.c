/* ops_observe: what `stats detail` and `watch` see of each operation. Only
 * called when one of them is on (OPS_OBSERVED): off the request path. */
#include <string.h>

#include "lib/log.h"
#include "ops.h"
#include "prefix.h"
#include "store/store.h"

/* The keys of storage requests between reserve and commit, by reservation
 * (a large value arrives over several reads, others' requests between). */
#define PENDING_KEYS 8
static struct {
    uint32_t ref;
    int32_t ttl;
    uint32_t size;
    uint8_t nkey;
    char key[250];
} pending[PENDING_KEYS];
static unsigned pending_next;

static void _prefix(struct ops_ctx *ctx, const char *key, size_t nkey, enum prefix_op op, bool hit)
{
    if (ctx->detail && ctx->prefixes)
        prefix_record(ctx->prefixes, key, nkey, op, hit);
}

void ops_observe_get(struct ops_ctx *ctx, const char *key, size_t nkey, bool hit,
                     const struct item_view *view, bool is_touch)
{
    if (!is_touch)
        _prefix(ctx, key, nkey, PREFIX_GET, hit);
    if (log_watching & LOG_W_FETCHERS)
        log_event(LOG_W_FETCHERS, "type=item_get key=%.*s status=%s clsid=%u cfd=%d size=%u",
                  (int)nkey, key, hit ? "found" : "not_found", hit ? 1u : 0u, log_fd,
                  hit && view ? (unsigned)view->nvalue : 0u);
}

void ops_observe_begin(struct ops_ctx *ctx, const char *key, size_t nkey, int64_t exptime,
                       const struct store_txn *txn, enum store_status st)
{
    _prefix(ctx, key, nkey, PREFIX_SET, false);
    if (!(log_watching & LOG_W_MUTATIONS))
        return;
    int64_t exp = exptime ? store_exptime(ctx->store, exptime) : 0;
    int32_t ttl = exp ? (int32_t)(exp - store_time(ctx->store)) : 0;
    if (st != STORE_OK) {
        log_event(LOG_W_MUTATIONS,
                  "type=item_store key=%.*s status=%s cmd=set ttl=%d clsid=0 cfd=%d size=0",
                  (int)nkey, key, st == STORE_TOO_LARGE ? "too_large" : "no_memory", (int)ttl,
                  log_fd);
        return;
    }
    unsigned i = pending_next++ % PENDING_KEYS;
    pending[i].ref = txn->ref;
    pending[i].ttl = ttl;
    pending[i].size = (uint32_t)txn->nvalue;
    pending[i].nkey = (uint8_t)(nkey < sizeof(pending[i].key) ? nkey : sizeof(pending[i].key));
    memcpy(pending[i].key, key, pending[i].nkey);
}

void ops_observe_end(struct ops_ctx *ctx, uint32_t ref, enum store_mode mode,
                     enum store_status st)
{
    static const char *const cmds[] = {"set", "add", "replace", "append", "prepend", "cas"};
    static const char *const status[] = {"stored", "not_stored", "exists", "not_found",
                                         "too_large", "no_memory", "non_numeric"};
    (void)ctx;
    if (!(log_watching & LOG_W_MUTATIONS))
        return;
    for (unsigned i = 0; i < PENDING_KEYS; i++) {
        if (pending[i].ref != ref || !pending[i].nkey)
            continue;
        log_event(LOG_W_MUTATIONS, "type=item_store key=%.*s status=%s cmd=%s ttl=%d clsid=%u cfd=%d size=%u",
                  (int)pending[i].nkey, pending[i].key, status[st], cmds[mode],
                  (int)pending[i].ttl, st == STORE_OK ? 1u : 0u, log_fd,
                  (unsigned)pending[i].size);
        pending[i].nkey = 0;
        return;
    }
}

void ops_observe_delete(struct ops_ctx *ctx, const char *key, size_t nkey)
{
    _prefix(ctx, key, nkey, PREFIX_DEL, false);
}

void ops_observe_deleted(const struct item_view *it, const char *cmd)
{
    if (log_watching & LOG_W_DELETIONS)
        log_event(LOG_W_DELETIONS, "type=deleted key=%.*s cmd=%s clsid=1 size=%u",
                  (int)it->nkey, it->key, cmd, (unsigned)it->nvalue);
}

void ops_observe_evicted(void *arg, const struct item_view *it)
{
    struct ops_ctx *ctx = arg;
    if (!(log_watching & LOG_W_EVICTIONS))
        return;
    int64_t now = store_time(ctx->store);
    log_event(LOG_W_EVICTIONS, "type=eviction key=%.*s fetch=%s ttl=%lld la=%lld clsid=%u",
              (int)it->nkey, it->key, (it->mbits & ITEM_FETCHED) ? "yes" : "no",
              (long long)(it->exp ? it->exp - now : -1), (long long)(now - it->atime), 1u);
}
