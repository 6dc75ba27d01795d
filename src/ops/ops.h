/* ops: what each operation means, whatever the wire. It calls the store and
 * counts in stats; it writes no bytes. The protocols (text.c, bin.c) decode
 * requests into these calls and encode their answers. */
#ifndef MEMG_OPS_H
#define MEMG_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/stats.h"
#include "store/store.h"

struct auth;
struct config;
struct out;
struct prefix_stats;

/* Values at least this long are sent from the item itself (pinned). */
#define OPS_ZERO_COPY_MIN 4096

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
};

/* What the hooks below watch for: detail or a watcher (ops_observe.c). */
extern unsigned log_watching;
#define OPS_OBSERVED(ctx) __builtin_expect((ctx)->detail || log_watching, 0)
/* A lookup (get, gat, touch) and its outcome. */
void ops_observe_get(struct ops_ctx *ctx, const char *key, size_t nkey, bool hit,
                     const struct item_view *view, bool is_touch);
/* A storage request reserved (or refused: st) ... and then committed. */
void ops_observe_begin(struct ops_ctx *ctx, const char *key, size_t nkey, int64_t exptime,
                       const struct store_txn *txn, enum store_status st);
void ops_observe_end(struct ops_ctx *ctx, uint32_t ref, enum store_mode mode,
                     enum store_status st);
void ops_observe_delete(struct ops_ctx *ctx, const char *key, size_t nkey);
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
                                  uint32_t flags, int64_t exptime, size_t nvalue, bool is_set,
                                  struct store_txn *txn);
enum store_status ops_store_end(struct ops_ctx *ctx, struct store_txn *txn, enum store_mode mode,
                                uint64_t cas_in, uint64_t *cas_out);
void ops_store_abort(struct ops_ctx *ctx, struct store_txn *txn);

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
                                     uint32_t flags, int64_t exptime, size_t nvalue, bool is_set,
                                     uint64_t cas_hint, struct store_txn *txn);
enum store_status ops_store_end_ex(struct ops_ctx *ctx, struct store_txn *txn,
                                   enum store_mode mode, const struct store_cond *c,
                                   struct store_result *res);

/* md: delete, or (x) empty the value, or (I) mark stale. */
struct ops_mdel {
    bool has_cas, remove_value, stale, has_ttl;
    uint32_t flags;   /* x: the emptied item's flags */
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

enum ops_memlimit { OPS_MEMLIMIT_OK, OPS_MEMLIMIT_TOO_SMALL, OPS_MEMLIMIT_NOT_MB,
                    OPS_MEMLIMIT_FAILED };
enum ops_memlimit ops_memlimit(struct ops_ctx *ctx, uint64_t mb);

/* `stats [group]`: group NULL (ngroup 0) is the general one. Pairs go to
 * emit; the wire writes the terminator. */
enum ops_stats_result { OPS_STATS_DONE, OPS_STATS_RESET, OPS_STATS_UNKNOWN };
enum ops_stats_result ops_stats(struct ops_ctx *ctx, const char *group, size_t ngroup,
                                stats_emit_fn *emit, void *arg);

#endif
