/* buf: a contiguous byte buffer with read and write positions, compaction,
 * growth up to a cap, and a small pool so idle connections hold no buffer. */
#ifndef MEMG_BUF_H
#define MEMG_BUF_H

#include <stddef.h>
#include <stdbool.h>

struct buf {
    char *data;
    size_t rpos;  /* first unread byte */
    size_t wpos;  /* first free byte */
    size_t cap;   /* bytes allocated at data */
};

/* Bytes waiting to be read, and free room after them. */
static inline size_t buf_len(const struct buf *b) { return b->wpos - b->rpos; }
static inline size_t buf_room(const struct buf *b) { return b->cap - b->wpos; }
static inline char *buf_rptr(const struct buf *b) { return b->data + b->rpos; }
static inline char *buf_wptr(const struct buf *b) { return b->data + b->wpos; }

/* Pool of equal-sized blocks (the default buffer size); returned blocks are
 * kept up to a limit so a burst of connections does not churn malloc. */
void buf_pool_setup(size_t block_size, size_t max_free);
void buf_pool_teardown(void);
/* Blocks in use, blocks kept idle in the pool, and their size (`stats`). */
void buf_pool_usage(size_t *in_use, size_t *idle, size_t *block);

/* Attach a pooled block to an empty buffer, or move a parked buffer's bytes
 * back into one. False when out of memory. */
bool buf_acquire(struct buf *b);
/* Park: when a pool block holds at most max unread bytes (a request not all
 * here yet), keep them in an allocation of their own size and give the block
 * back, so that a slow client holds its bytes rather than a whole block. */
void buf_park(struct buf *b, size_t max);
/* The most a read can fill it to: a parked or empty buffer gets a whole
 * block back first (what a protocol may wait for in it, whatever it holds). */
size_t buf_capacity(const struct buf *b);
/* Give the storage back (to the pool when it is a pool block). */
void buf_release(struct buf *b);

/* Make room for at least n more bytes after wpos: compact first, then grow
 * (doubling) as long as cap stays <= max_cap. False when that is impossible. */
bool buf_reserve(struct buf *b, size_t n, size_t max_cap);
/* Append n bytes (after buf_reserve). */
bool buf_append(struct buf *b, const void *p, size_t n, size_t max_cap);
/* Mark n bytes read; resets positions to 0 when the buffer becomes empty. */
void buf_consume(struct buf *b, size_t n);
/* Move unread bytes to the start. */
void buf_compact(struct buf *b);
/* Give a grown buffer back to the pool size when it is empty. */
void buf_shrink(struct buf *b);

#endif
