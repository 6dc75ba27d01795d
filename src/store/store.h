/* store: item layout, CAS, expiry, the memory limit and eviction. It owns
 * the hash table; callers see items only through item_view and store_txn. */
#ifndef MEMG_STORE_H
#define MEMG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/item.h"

struct stats;
struct store;

struct store_config {
    uint64_t mem_limit;     /* item bytes, -m (the table beside them: seg_meta_over) */
    uint64_t item_size_max; /* largest item, header + key + value (-I) */
    bool evict;             /* false (-M): refuse with STORE_NO_MEMORY when full */
    bool large_pages;       /* -L: segments in transparent huge pages (thp.h) */
    bool no_cas;            /* -C: every cas is 0 (one byte per item, not 5) and a
                             * compare on a present item fails, as memcached -C */
    /* -e: item memory in this file (docs/RESTART.md); what a graceful stop
     * saved is restored. note (note_len bytes, may be NULL) gets one line
     * saying what was restored, or why the cache starts empty; when the
     * file cannot be used at all, store_create fails and note says why. */
    const char *memory_file;
    char *note;
    size_t note_len;
    unsigned ht_power;  /* -o hashpower: the table's first 2^N slots (0: 12) */
    bool no_ht_expand;  /* -o no_hashexpand: it never grows; a new key past 7/8
                         * full is refused (STORE_NO_MEMORY) */
    bool track_sizes;   /* -o track_sizes: store_sizes counts */
    bool large_flags;   /* -o large_client_flags: flags take 8 bytes in memcached's
                         * item size (-I), not 4 */
};

struct store *store_create(const struct store_config *cfg, struct stats *stats);
void store_destroy(struct store *st);
/* -e: write what a restart needs beside the memory file (FILE.meta, written
 * whole and renamed into place). Call with no reservation or pin open (the
 * connections closed). False with a one-line reason in err. */
bool store_save(struct store *st, char *err, size_t errlen);

/* The clock: the loop sets unix time every tick; tests set it by hand.
 * Protocol exptimes are converted inside: 0 never, <= 30 days relative,
 * larger an absolute unix time, negative already expired. */
void store_set_time(struct store *st, int64_t unix_now);
int64_t store_time(const struct store *st);
/* memcached's debug build's `debugtime` (-o debug_time): pause or resume the
 * clock; shift moves now by secs and keeps the offset on every later tick. */
void store_debug_pause(struct store *st, bool paused);
void store_debug_shift(struct store *st, int64_t secs);
/* A protocol exptime as unix time (0 never; already passed: now). */
int64_t store_exptime(const struct store *st, int64_t exptime);
/* An item's size as memcached counts it (its -I limit, `me` size=): 8 bytes
 * less with -C, which drops memcached's cas too. */
uint64_t store_item_total(const struct store *st, size_t nkey, uint64_t flags, uint64_t nvalue);
/* -o track_sizes, memcached's `stats sizes`: fn(arg, size, count) for each
 * 32-byte size that live items have, smallest first; false when not
 * tracking. */
typedef void store_size_fn(void *arg, uint32_t size, uint32_t count);
bool store_sizes(const struct store *st, store_size_fn *fn, void *arg);
/* False with -C: a binary set's cas then makes no compare (memcached reads
 * it back from an item that has no room for it). */
bool store_has_cas(const struct store *st);

/* Lookup; counts get_expired/get_flushed when a dead item is met. Marks the
 * item as read (it survives eviction ahead of unread items). */
bool store_get(struct store *st, const char *key, size_t nkey, struct item_view *out);
/* The same, bump false: the item is not marked read, its access time kept
 * (meta 'u', `me`). */
bool store_lookup(struct store *st, const char *key, size_t nkey, bool bump,
                  struct item_view *out);

/* Change a live item in place where it can (meta T, E, I, W). */
enum store_status store_update(struct store *st, const char *key, size_t nkey,
                               const struct store_update *u);
/* touch / gat: new exptime (protocol form); out may be NULL. */
bool store_touch(struct store *st, const char *key, size_t nkey, int64_t exptime,
                 struct item_view *out);

/* Storage in two steps so that a large value is received straight into its
 * item. STORE_OK, STORE_TOO_LARGE or STORE_NO_MEMORY. */
enum store_status store_reserve(struct store *st, const char *key, size_t nkey, uint64_t flags,
                                int64_t exptime, size_t nvalue, struct store_txn *txn);
/* The same with room for cas_hint as the item's cas (meta E). */
enum store_status store_reserve_ex(struct store *st, const char *key, size_t nkey,
                                   uint64_t flags, int64_t exptime, size_t nvalue,
                                   uint64_t cas_hint, struct store_txn *txn);
/* Make the value visible according to mode (cas_in is used by STORE_CAS, and
 * when not 0 by STORE_APPEND/PREPEND, which then answer STORE_EXISTS on a
 * mismatch).
 * The txn is finished whatever the answer. */
enum store_status store_commit(struct store *st, struct store_txn *txn, enum store_mode mode,
                               uint64_t cas_in);
enum store_status store_commit_ex(struct store *st, struct store_txn *txn, enum store_mode mode,
                                  const struct store_cond *c, struct store_result *res);
void store_abort(struct store *st, struct store_txn *txn);

/* cas_in 0: whatever the item; otherwise STORE_EXISTS unless it matches. */
enum store_status store_delete(struct store *st, const char *key, size_t nkey, uint64_t cas_in);
/* incr/decr with memcached's rules: 64-bit unsigned, incr wraps, decr stops
 * at 0, a shorter result is padded with spaces to the old length. */
enum store_status store_incr(struct store *st, const char *key, size_t nkey, bool incr,
                             uint64_t delta, uint64_t cas_in, uint64_t *result);
/* Start loading the table slots and item records of keys about to be looked
 * up (a pipelined batch): their cache misses overlap instead of queueing.
 * A hint only; at most STORE_PREFETCH_MAX keys are taken. */
void store_prefetch(const struct store *st, const char *const *keys, const size_t *nkeys,
                    size_t n);

/* The cas given to the item written last (by commit, incr or touch's rewrite):
 * what the binary protocol answers after a store. */
uint64_t store_last_cas(const struct store *st);

/* flush_all [delay]: delay 0 (or <= 0) now, else at that protocol exptime. */
void store_flush(struct store *st, int64_t exptime);
/* Bounded background work for the loop's timer: expiry sweep, due flush. */
void store_tick(struct store *st);
/* lru_crawler enable|disable: the background expiry sweep (memcached's
 * crawler) on or off, a running crawl ended; expired items are still
 * dropped when met. */
void store_sweep_enable(struct store *st, bool on);
/* lru_crawler crawl: one pass over every item from the oldest, dropping the
 * expired, checking at most max items (0: all), a step at a time
 * (store_crawl_step). False when a crawl is already running. */
bool store_crawl(struct store *st, uint64_t max);
bool store_crawling(const struct store *st);
/* The running crawl looks at up to n more records. */
void store_crawl_step(struct store *st, unsigned n);

/* Keep an item's bytes in place while a reply still points at them. */
void store_pin(struct store *st, uint32_t pin);
void store_unpin(struct store *st, uint32_t pin);

void store_usage(const struct store *st, struct store_usage *u);

/* Called for each item evicted (not expired, not deleted), before its bytes
 * go: `watch evictions`. The view's value is not filled. NULL: none. */
void store_on_evict(struct store *st, store_evict_fn *fn, void *arg);

/* Live items a slice at a time (`stats cachedump`, `lru_crawler metadump`),
 * other store calls in between: segments in index order, each oldest record
 * first. The cursor is (segment, generation, offset). An item live from the
 * first slice to the last that stays in its segment is listed exactly once,
 * unless that segment changes generation (compacted, emptied, reused) while
 * the cursor is inside it: then it is read again from its start (its items
 * may be listed twice), and after a second change the rest of it is skipped
 * so that every walk ends. Items written, moved or deleted meanwhile may be
 * listed or not: no snapshot, as memcached's crawler. Zero it to start. */
/* Up to budget records from cur; each live, unexpired item goes to fn until
 * fn returns false (that item counts as seen). True while records remain.
 * fn must not call the store; the views are valid during the call only. */
bool store_walk(struct store *st, struct store_cursor *cur, uint32_t budget, store_walk_fn *fn,
                void *arg);

/* cache_memlimit: a new -m at run time. Raising takes effect at once;
 * lowering evicts down to it as segments are needed and on every tick (one
 * segment each), giving the pages back. False when out of bounds: more than
 * the item refs sized at start reach (4 GB from -m below 4 GB). */
bool store_set_limit(struct store *st, uint64_t limit);

#endif
