/* ops: what each operation means, whatever the wire. It calls the store and
 * counts in stats; it writes no bytes. The protocols (text.c, bin.c) decode
 * requests into these calls and encode their answers. */
#ifndef MEMG_OPS_H
#define MEMG_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/stats.h"
#include "lib/item.h"

struct auth;
struct store;
struct config;
struct out;
struct prefix_stats;

/* Values at least this long are sent from the item itself (pinned). */
#define OPS_ZERO_COPY_MIN 4096
#define OPS_KEY_MAX 250 /* memcached's KEY_MAX_LENGTH, whatever the protocol */

/* `stats conns` lists connections through this callback, owned by conn. */
typedef void ops_conns_fn(void *arg, stats_emit_fn *emit, void *emit_arg);

struct ops_ctx {
    struct store *store;
    struct stats *stats;
    const struct config *cfg;
    const struct auth *auth; /* users of -S / -Y; NULL: no authentication */
    int verbose;             /* changed by `verbosity` */
    int64_t started;         /* unix time the server started */
    uint8_t shutdown;        /* `shutdown` when -A allows it: 1, `shutdown graceful` 2 */
    ops_conns_fn *conns;
    void *conns_arg;
    bool (*watch)(struct out *out, unsigned mask); /* conn_watch: `watch` */
    bool detail;             /* `stats detail on` (or -D): per-prefix counts */
    bool crawler;            /* lru_crawler enable|disable (-o no_lru_crawler) */
    uint32_t crawler_sleep;   /* lru_crawler sleep: microseconds per 1000 items crawled */
    uint32_t crawler_tocrawl; /* lru_crawler tocrawl: items a crawl checks, 0 all */
    struct prefix_stats *prefixes;
    /* `refresh_certs` (a build with TLS; NULL: the command is unknown):
     * false with the error line in err. cert_time: when they were loaded. */
    bool (*refresh_certs)(char *err, size_t cap);
    int64_t (*cert_time)(void);
};

/* What the hooks below watch for: detail or a watcher (ops_observe.c). */
extern unsigned log_watching;
#define OPS_OBSERVED(ctx) __builtin_expect((ctx)->detail || log_watching, 0)
/* A lookup (get, gat, touch) and its outcome. */
void ops_observe_get(struct ops_ctx *ctx, const char *key, size_t nkey, bool hit,
                     const struct item_view *view, bool is_touch);
/* A storage request reserved (or refused: st), about to commit (memcached's
 * store looks the key up first: a fetch `watch fetchers` shows), committed. */
void ops_observe_begin(struct ops_ctx *ctx, const char *key, size_t nkey, int64_t exptime,
                       const struct store_txn *txn, enum store_status st);
/* `stats detail`'s set: the classic storage commands' (memcached counts no ms). */
void ops_observe_set(struct ops_ctx *ctx, const char *key, size_t nkey);
void ops_observe_commit(struct ops_ctx *ctx, uint32_t ref);
void ops_observe_end(struct ops_ctx *ctx, uint32_t ref, enum store_mode mode,
                     enum store_status st);
void ops_observe_delete(struct ops_ctx *ctx, const char *key, size_t nkey);
/* `watch fetchers`: the item_get line memcached's delete, md, mg, ma, incr
 * and decr write as they fetch the key (found or not), before they act. */
#define OPS_WATCH_FETCH(ctx, key, nkey)                                  \
    do {                                                                 \
        if (__builtin_expect(log_watching & LOG_W_FETCHERS, 0))          \
            ops_observe_fetch(ctx, key, nkey);                           \
    } while (0)
void ops_observe_fetch(struct ops_ctx *ctx, const char *key, size_t nkey);
/* `watch deletions`: an item about to be deleted by cmd ("delete", "md"). */
void ops_observe_deleted(const struct item_view *it, const char *cmd);
/* The store's eviction hook (store_on_evict): `watch evictions` lines, in
 * memcached's words. */
void ops_observe_evicted(void *arg, const struct item_view *it);

/* Lookups: get counts cmd_get and get_hits/misses; touch (and gat) counts
 * cmd_touch and touch_hits/misses and sets a new exptime. view may be NULL
 * for touch. */
bool ops_get(struct ops_ctx *ctx, const char *key, size_t nkey, struct item_view *view);
bool ops_touch(struct ops_ctx *ctx, const char *key, size_t nkey, int64_t exptime,
               struct item_view *view);

/* Storage in two steps, so that a large value is received straight into its
 * item. begin: STORE_OK (txn filled) or why not (counted; a failed set also
 * deletes the key: no stale value may survive it). end: the value is all in
 * txn->value; commits with mode and answers as store_commit. abort: the data
 * was malformed or cut off. *cas_out (may be NULL) gets the stored cas. */
enum store_status ops_store_begin(struct ops_ctx *ctx, const char *key, size_t nkey,
                                  uint64_t flags, int64_t exptime, size_t nvalue, bool is_set,
                                  struct store_txn *txn);
enum store_status ops_store_end(struct ops_ctx *ctx, struct store_txn *txn, enum store_mode mode,
                                uint64_t cas_in, uint64_t *cas_out);
void ops_store_abort(struct ops_ctx *ctx, struct store_txn *txn);

/* The connection closed with a value half received: it is never stored
 * (and not counted: the request never completed). */
void ops_store_drop(struct ops_ctx *ctx, struct store_txn *txn);

/* --- what the protocols reach the store through (ops_item.c) --- */

/* A large value leaves from its item: pin it and queue a reference to it in
 * out; out's unpin callback (ops_unpin) lets go once it is sent. False, and
 * nothing pinned, when out could not take it. */
bool ops_ref_value(struct ops_ctx *ctx, struct out *out, const struct item_view *it);
void ops_unpin(struct ops_ctx *ctx, uint32_t pin);
/* Start loading what the lookups of a pipelined batch will touch (a hint;
 * at most STORE_PREFETCH_MAX keys). */
void ops_prefetch(struct ops_ctx *ctx, const char *const *keys, const size_t *nkeys, size_t n);
/* False with -C: a binary set's cas then makes no compare. */
bool ops_has_cas(const struct ops_ctx *ctx);
/* Unix time now as the store counts it, and a protocol exptime as unix time. */
int64_t ops_now(const struct ops_ctx *ctx);
int64_t ops_exptime(const struct ops_ctx *ctx, int64_t exptime);
/* An item's size as memcached counts it (`me` size=, metadump). */
uint64_t ops_item_total(const struct ops_ctx *ctx, const struct item_view *it);
/* A lookup that leaves the item as it was: not marked read, its access time
 * kept (meta 'u', `me`, a re-read after a change). */
bool ops_peek(struct ops_ctx *ctx, const char *key, size_t nkey, struct item_view *it);
/* The memory picture for `stats` and the HTTP front's page. */
void ops_usage(const struct ops_ctx *ctx, struct store_usage *u);
/* `stats cachedump` and `lru_crawler metadump`: up to budget records from cur
 * to fn (store_walk's rules); true while records remain. */
bool ops_walk(struct ops_ctx *ctx, struct store_cursor *cur, uint32_t budget, store_walk_fn *fn,
              void *arg);
/* lru_crawler enable|disable, and crawl [tocrawl] (false: one is running). */
void ops_crawler_enable(struct ops_ctx *ctx, bool on);
bool ops_crawl(struct ops_ctx *ctx, uint64_t max);
/* The loop's timer, every tick_ms: a running `lru_crawler crawl` goes on at
 * 1000 items per `lru_crawler sleep` microseconds, at most 16384 a tick. */
void ops_crawl_tick(struct ops_ctx *ctx, unsigned tick_ms);

/* incr/decr (cas_in 0: any). Counts incr/decr hits and misses. */
enum store_status ops_arith(struct ops_ctx *ctx, const char *key, size_t nkey, bool incr,
                            uint64_t delta, uint64_t cas_in, uint64_t *value, uint64_t *cas_out);
/* The binary protocol's incr on a missing key: store `initial` as the value. */
enum store_status ops_arith_create(struct ops_ctx *ctx, const char *key, size_t nkey,
                                   uint64_t initial, int64_t exptime, uint64_t *cas_out);

enum store_status ops_delete(struct ops_ctx *ctx, const char *key, size_t nkey, uint64_t cas_in);

/* --- the meta commands' operations (ops_meta.c) --- */

/* The counters of an mg: a touch when it had T, else a get. */
void ops_count_lookup(struct ops_ctx *ctx, bool touch, bool hit);
/* mg N: an empty item for a missing key, no exptime yet; false when it
 * could not be made. */
bool ops_vivify(struct ops_ctx *ctx, const char *key, size_t nkey, uint8_t mbits,
                uint64_t cas_new);
/* ms: ops_store_begin with room for cas_hint (E), and the commit with the
 * meta protocol's conditions. */
enum store_status ops_store_begin_ex(struct ops_ctx *ctx, const char *key, size_t nkey,
                                     uint64_t flags, int64_t exptime, size_t nvalue, bool is_set,
                                     uint64_t cas_hint, struct store_txn *txn);
enum store_status ops_store_end_ex(struct ops_ctx *ctx, struct store_txn *txn,
                                   enum store_mode mode, const struct store_cond *c,
                                   struct store_result *res);

/* mg: the lookup (bump false: 'u'), and on a miss with vivify (N) an empty
 * item this client is to recache (*created). */
bool ops_mlookup(struct ops_ctx *ctx, const char *key, size_t nkey, bool bump, bool vivify,
                 uint8_t mbits, uint64_t cas_new, struct item_view *it, bool *created);
/* mg T, N: a new exptime (protocol form); the one the item now has (0: gone). */
int64_t ops_set_ttl(struct ops_ctx *ctx, const char *key, size_t nkey, int64_t ttl);
/* mg R: this reader recaches an item expiring within ttl (protocol form),
 * unless another reader already won it or this one just created it. */
bool ops_recache_due(const struct ops_ctx *ctx, const struct item_view *it, bool created,
                     int64_t ttl);
/* mg: whether this reader recaches (won by N or R, or the first read of a
 * stale item); the winner's mark is set so that later readers see Z. */
bool ops_win(struct ops_ctx *ctx, const char *key, size_t nkey, const struct item_view *it,
             bool won);

/* md: delete, or (x) empty the value, or (I) mark stale. */
struct ops_mdel {
    bool has_cas, remove_value, stale, has_ttl;
    uint64_t flags;   /* x: the emptied item's flags */
    int64_t ttl;      /* protocol exptime: x's item, I's new one */
    uint64_t cas_cmp; /* C */
    uint64_t cas_new; /* E; 0: a fresh one (I) or the old one (x) */
};
enum store_status ops_mdelete(struct ops_ctx *ctx, const char *key, size_t nkey,
                              const struct ops_mdel *a);

/* ma: incr/decr, creating the item on a miss when vivify (N, J). */
struct ops_marith {
    bool incr, vivify;
    uint8_t mbits;    /* ITEM_BINKEY for a created item */
    uint64_t delta, initial, cas_cmp, cas_new;
};
/* STORE_OK with *value and *created; STORE_NOT_FOUND, STORE_EXISTS,
 * STORE_NON_NUMERIC, STORE_NO_MEMORY, or STORE_NOT_STORED (create failed). */
enum store_status ops_marith(struct ops_ctx *ctx, const char *key, size_t nkey,
                             const struct ops_marith *a, uint64_t *value, bool *created);
void ops_flush(struct ops_ctx *ctx, int64_t exptime);
void ops_verbosity(struct ops_ctx *ctx, uint32_t level);
/* `debugtime` (-o debug_time): pause/resume the clock, or move it by secs. */
void ops_clock_pause(struct ops_ctx *ctx, bool paused);
void ops_clock_shift(struct ops_ctx *ctx, int64_t secs);

enum ops_memlimit { OPS_MEMLIMIT_OK, OPS_MEMLIMIT_TOO_SMALL, OPS_MEMLIMIT_NOT_MB,
                    OPS_MEMLIMIT_FAILED };
enum ops_memlimit ops_memlimit(struct ops_ctx *ctx, uint64_t mb);

/* `stats [group]`: group NULL (ngroup 0) is the general one. Pairs go to
 * emit; the wire writes the terminator. */
enum ops_stats_result { OPS_STATS_DONE, OPS_STATS_RESET, OPS_STATS_UNKNOWN };
enum ops_stats_result ops_stats(struct ops_ctx *ctx, const char *group, size_t ngroup,
                                stats_emit_fn *emit, void *arg);

#endif
