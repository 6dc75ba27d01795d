/* ops_observe: what `stats detail` and `watch` see of each operation. Only
 * called when one of them is on (OPS_OBSERVED): off the request path. */
#include <string.h>

#include "lib/fmt.h"
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

/* Keys in watch lines as memcached's logger writes them: uri-encoded
 * (t/watcher.t), into this buffer (one line at a time). */
static char ukey[OPS_KEY_MAX * 3];

static int _ukey(const char *key, size_t nkey)
{
    return (int)fmt_uri(ukey, key, nkey < OPS_KEY_MAX ? nkey : OPS_KEY_MAX);
}

/* A lookup's line: found with the value's size, or not found. */
static void _log_get(const char *key, size_t nkey, bool hit, size_t size)
{
    log_event(LOG_W_FETCHERS, "type=item_get key=%.*s status=%s clsid=%u cfd=%d size=%u",
              _ukey(key, nkey), ukey, hit ? "found" : "not_found", hit ? 1u : 0u, log_fd,
              hit ? (unsigned)size : 0u);
}

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
    if (!(log_watching & LOG_W_FETCHERS))
        return;
    struct item_view v; /* touch has no view: memcached shows the item found */
    if (hit && !view && store_lookup(ctx->store, key, nkey, false, &v))
        view = &v;
    _log_get(key, nkey, hit && view, view ? view->nvalue : 0);
}

void ops_observe_set(struct ops_ctx *ctx, const char *key, size_t nkey)
{
    _prefix(ctx, key, nkey, PREFIX_SET, false);
}

void ops_observe_begin(struct ops_ctx *ctx, const char *key, size_t nkey, int64_t exptime,
                       const struct store_txn *txn, enum store_status st)
{
    if (!(log_watching & (LOG_W_MUTATIONS | LOG_W_FETCHERS)))
        return;
    int64_t exp = exptime ? store_exptime(ctx->store, exptime) : 0;
    int32_t ttl = exp ? (int32_t)(exp - store_time(ctx->store)) : 0;
    if (st != STORE_OK) {
        if (log_watching & LOG_W_MUTATIONS)
            log_event(LOG_W_MUTATIONS,
                      "type=item_store key=%.*s status=%s cmd=set ttl=%d clsid=0 cfd=%d size=0",
                      _ukey(key, nkey), ukey, st == STORE_TOO_LARGE ? "too_large" : "no_memory",
                      (int)ttl, log_fd);
        return;
    }
    unsigned i = pending_next++ % PENDING_KEYS;
    pending[i].ref = txn->ref;
    pending[i].ttl = ttl;
    pending[i].size = (uint32_t)txn->nvalue;
    pending[i].nkey = (uint8_t)(nkey < sizeof(pending[i].key) ? nkey : sizeof(pending[i].key));
    memcpy(pending[i].key, key, pending[i].nkey);
}

static int _pending(uint32_t ref)
{
    for (int i = 0; i < PENDING_KEYS; i++) {
        if (pending[i].ref == ref && pending[i].nkey)
            return i;
    }
    return -1;
}

/* memcached's do_store_item fetches the key before storing, for every
 * storage command: with fetchers watched, an item_get line (found or not)
 * comes before each item_store (t/watcher_connid.t). */
void ops_observe_commit(struct ops_ctx *ctx, uint32_t ref)
{
    int i = _pending(ref);
    if (i < 0 || !(log_watching & LOG_W_FETCHERS))
        return;
    struct item_view view;
    bool hit = store_lookup(ctx->store, pending[i].key, pending[i].nkey, false, &view);
    _log_get(pending[i].key, pending[i].nkey, hit, hit ? view.nvalue : 0);
}

void ops_observe_end(struct ops_ctx *ctx, uint32_t ref, enum store_mode mode,
                     enum store_status st)
{
    static const char *const cmds[] = {"set", "add", "replace", "append", "prepend", "cas"};
    static const char *const status[] = {"stored", "not_stored", "exists", "not_found",
                                         "too_large", "no_memory", "non_numeric"};
    int i = _pending(ref);
    struct item_view v; /* appended: memcached shows the joined item, its ttl kept */
    if (i >= 0 && st == STORE_OK && (mode == STORE_APPEND || mode == STORE_PREPEND) &&
        store_lookup(ctx->store, pending[i].key, pending[i].nkey, false, &v)) {
        pending[i].size = (uint32_t)v.nvalue;
        pending[i].ttl = v.exp ? (int32_t)(v.exp - store_time(ctx->store)) : 0;
    }
    if (i >= 0 && (log_watching & LOG_W_MUTATIONS))
        log_event(LOG_W_MUTATIONS, "type=item_store key=%.*s status=%s cmd=%s ttl=%d clsid=%u cfd=%d size=%u",
                  _ukey(pending[i].key, pending[i].nkey), ukey, status[st], cmds[mode],
                  (int)pending[i].ttl, 1u, log_fd, /* an item was made: its class */
                  (unsigned)pending[i].size);
    if (i >= 0)
        pending[i].nkey = 0;
}

void ops_observe_fetch(struct ops_ctx *ctx, const char *key, size_t nkey)
{
    struct item_view v;
    bool hit = store_lookup(ctx->store, key, nkey, false, &v);
    _log_get(key, nkey, hit, hit ? v.nvalue : 0);
}

void ops_observe_delete(struct ops_ctx *ctx, const char *key, size_t nkey)
{
    _prefix(ctx, key, nkey, PREFIX_DEL, false);
}

void ops_observe_deleted(const struct item_view *it, const char *cmd)
{
    if (log_watching & LOG_W_DELETIONS)
        log_event(LOG_W_DELETIONS, "type=deleted key=%.*s cmd=%s clsid=1 size=%u",
                  _ukey(it->key, it->nkey), ukey, cmd, (unsigned)it->nvalue);
}

void ops_observe_evicted(void *arg, const struct item_view *it)
{
    struct ops_ctx *ctx = arg;
    if (!(log_watching & LOG_W_EVICTIONS))
        return;
    int64_t now = store_time(ctx->store);
    log_event(LOG_W_EVICTIONS, "type=eviction key=%.*s fetch=%s ttl=%lld la=%lld clsid=%u",
              _ukey(it->key, it->nkey), ukey, (it->mbits & ITEM_FETCHED) ? "yes" : "no",
              (long long)(it->exp ? it->exp - now : -1), (long long)(now - it->atime), 1u);
}
