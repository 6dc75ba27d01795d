/* ghost: S3-FIFO's ghost queue, the keys lately evicted from probation
 * (Yang et al., SOSP 2023). A key that comes back while it is remembered
 * was evicted too early: its new record goes straight to the main queue.
 * Only 24-bit fingerprints with an age are kept, in buckets of 8 (one
 * 32-byte run: one cache line per look-up); memory is allocated when the
 * first item is evicted, sized by the items then held, and counted in -m. */
#ifndef MEMG_GHOST_H
#define MEMG_GHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ghost {
    uint32_t *slot; /* nbuckets * GHOST_WAYS entries: fingerprint << 8 | epoch; 0 empty */
    uint32_t mask;  /* nbuckets - 1 */
    uint32_t added; /* keys added in this epoch */
    uint32_t step;  /* keys per epoch: entries / GHOST_EPOCHS */
    uint32_t sweep; /* the next bucket cleared of aged entries */
    uint8_t epoch;
    bool refused; /* the mapping failed: not asked again until ghost_free */
};

enum { GHOST_WAYS = 8 };
#define GHOST_SHARE 64 /* the ghost's memory: at most 1/64 of the limit */

/* Ready for about `items` keys, at most `max_bytes` (rounded down to a
 * power of two, at least 1024 keys). False if the memory cannot be had
 * (then refused is set, and stays until ghost_free). */
bool ghost_init(struct ghost *g, uint64_t items, uint64_t max_bytes);
void ghost_free(struct ghost *g);
static inline bool ghost_on(const struct ghost *g)
{
    return g->slot != NULL;
}
static inline size_t ghost_bytes(const struct ghost *g)
{
    return g->slot ? ((size_t)g->mask + 1) * GHOST_WAYS * 4 : 0;
}
/* Remember the key of hash h (evicted from probation). */
void ghost_add(struct ghost *g, uint64_t h);
/* Whether the key of hash h is remembered, added less than `window`
 * 256ths of the ghost's span ago (256: the whole span); if so it is
 * forgotten. */
bool ghost_take(struct ghost *g, uint64_t h, unsigned window);

#endif
