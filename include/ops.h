/* ops: what each operation means, whatever the wire. It calls the store and
 * counts in stats; it writes no bytes. The protocols (text.c, bin.c) decode
 * requests into these calls and encode their answers. */
#ifndef MEMG_OPS_H
#define MEMG_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"
#include "store.h"

struct auth;
struct config;

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
    bool shutdown;           /* set by `shutdown` when -A allows it */
    ops_conns_fn *conns;
    void *conns_arg;
};

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
