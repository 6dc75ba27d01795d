/* item: the words every layer uses to speak of items: a found item's view,
 * a value being received, the outcomes of an operation. Types only; the
 * store (store/store.h) makes them, ops (ops/ops.h) hands them up. */
#ifndef MEMG_ITEM_H
#define MEMG_ITEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_status {
    STORE_OK = 0,      /* stored / deleted / touched / found */
    STORE_NOT_STORED,  /* add on a present key, replace/append/prepend on a missing one */
    STORE_EXISTS,      /* cas: the item changed since gets */
    STORE_NOT_FOUND,   /* cas/delete/incr/touch on a missing key */
    STORE_TOO_LARGE,   /* item bigger than item_size_max */
    STORE_NO_MEMORY,   /* full and eviction impossible or disabled */
    STORE_NON_NUMERIC, /* incr/decr on a value that is not a number */
};

enum store_mode { STORE_SET, STORE_ADD, STORE_REPLACE, STORE_APPEND, STORE_PREPEND, STORE_CAS };

/* What a lookup tells of an item besides its data (item_view.mbits). */
#define ITEM_FETCHED 1u /* read before this lookup */
#define ITEM_STALE 2u   /* marked stale (meta md I / ms I): to be recached */
#define ITEM_WON 4u     /* a reader was handed the right to recache it */
#define ITEM_BINKEY 8u  /* its key arrived base64-encoded (meta 'b') */

/* A found item. Pointers stay valid until the next store call, or until
 * store_unpin when the caller pinned it to write the value out later. */
struct item_view {
    const char *key;
    size_t nkey;
    const char *value;
    size_t nvalue;
    uint64_t flags; /* client flags: 32 bits unless -o large_client_flags */
    uint64_t cas;
    uint32_t pin;  /* opaque handle for store_pin */
    uint8_t mbits; /* ITEM_*, as before this lookup */
    int64_t exp;   /* unix time it expires, 0 never */
    int64_t atime; /* unix time of its last access before this lookup */
};

/* A value being received: the caller writes nvalue bytes at value (possibly
 * over many reads, with other store calls in between) and then commits or
 * aborts. Until then the item is invisible and its memory cannot move. */
struct store_txn {
    char *value;
    size_t nvalue;
    uint32_t ref; /* opaque: where the reserved item lives */
    uint32_t pin; /* opaque: what the reservation holds */
};

/* Memory picture for `stats`, `stats slabs` and `stats items`. */
struct store_usage {
    uint64_t mem_limit;
    uint64_t segment_size;
    uint64_t segments_max; /* how many segments the limit allows now */
    uint64_t segments_used;
    uint64_t segments_free; /* allocated but empty, ready for reuse */
    uint64_t items;
    uint64_t bytes_live; /* header + key + value of live items */
    uint64_t bytes_dead; /* overwritten/deleted/expired, not yet reclaimed */
    uint64_t table_bytes;
    uint64_t table_capacity;
    uint64_t item_header_bytes; /* fixed part of an item header */
    int64_t oldest_age;         /* seconds since the oldest live item was written */
};

/* Change a live item in place where it can (meta T, E, I, W). */
struct store_update {
    bool set_exp;
    bool set_cas;
    uint8_t set, clear; /* ITEM_STALE, ITEM_WON */
    int64_t exptime;    /* protocol form */
    uint64_t cas;       /* 0: a fresh unique */
};

/* The meta protocol's conditions on a commit. */
struct store_cond {
    uint64_t cas_in;  /* as store_commit's */
    uint64_t cas_new; /* the cas to give the item (E); 0: a fresh unique */
    bool allow_stale; /* cas: an older cas_in stores, marked stale (ms I) */
    bool vivify;      /* append/prepend on a missing key stores it (ms N) */
    uint8_t mbits;    /* ITEM_BINKEY to record */
};
struct store_result {
    uint64_t cas;  /* of the stored item */
    size_t nvalue; /* its value's length (after append/prepend) */
};

/* Keys a store_prefetch takes at most. */
#define STORE_PREFETCH_MAX 32

/* store_on_evict's callback (store/store.h). */
typedef void store_evict_fn(void *arg, const struct item_view *it);

/* Where a walk over the items is (store_walk, store/store.h); zero it to
 * start. */
struct store_cursor {
    uint32_t seg, gen, off;
    uint8_t reread; /* seg was read again from its start */
};
/* store_walk's callback: false stops the walk. */
typedef bool store_walk_fn(void *arg, const struct item_view *it);

#endif
