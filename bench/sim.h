/* sim: offline caches over a known request trace, with a byte budget.
 * Each request names a key (0..nspace-1) whose item costs size[key] bytes;
 * every request is a get, and a miss brings the item in (read-through).
 * hit[i] is set to 1 when request i hits, 0 when it misses. */
#ifndef MEMG_BENCH_SIM_H
#define MEMG_BENCH_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Least recently used: a miss inserts at the top, the bottom goes until the
 * items fit the budget. An item larger than the budget is never kept.
 * False when out of memory. */
bool sim_lru(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
             uint64_t budget, uint8_t *hit);

/* Belady's optimum, size-blind variant with a byte budget: keep what is
 * needed soonest. A miss brings the item in, then while the items exceed
 * the budget, the one whose next request is furthest away goes (it may be
 * the item just fetched: bypassing is allowed, as for any offline policy).
 * Exactly optimal when all items cost the same; with sizes it is the usual
 * approximation (the true optimum is NP-hard), not a proven bound. */
bool sim_opt(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
             uint64_t budget, uint8_t *hit);

/* S3-FIFO (Yang et al., SOSP 2023) per item, the policy memg runs per
 * segment: a miss goes to a small FIFO (a tenth of the budget) or, when its
 * key is in the ghost queue (keys lately evicted from the small FIFO, as
 * many as the main FIFO holds items), to the main FIFO. A hit adds to a
 * 2-bit count. Past the budget: while the small FIFO holds more than its
 * tenth, its oldest moves to main if it was read (count reset), else it
 * goes (and into the ghost); otherwise main's oldest goes back to main's
 * head with its count less one if it was read, else it goes. An online
 * policy: what memg's would reach without segments, 1-bit marks or the
 * bytes of a ghost (all free here). */
bool sim_s3fifo(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                uint64_t budget, uint8_t *hit);

/* Size-aware candidates (bench/README.md, "Size-aware policies"):
 * S3-FIFO whose main queue keeps an item only while its reads times the
 * mean item size reach its size; and GDSF (Cherkasova 1998): every item has
 * a priority L + reads / size, the lowest goes and L becomes its priority
 * (an online policy with a heap: no segment could run it as it is). */
bool sim_s3size(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                uint64_t budget, uint8_t *hit);
bool sim_gdsf(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
              uint64_t budget, uint8_t *hit);

/* What is reachable (sim_oracle.c). The compulsory floor: every first
 * request of a key misses and nothing else does (an infinite cache: a
 * lower bound for any policy, whatever the sizes). The future-requests-
 * per-byte oracle: keep the items with the most requests still to come
 * per byte (offline; with Belady's, the best offline figure found, not a
 * proven bound). LFU per byte with the whole past: requests seen so far
 * per byte, of every key, cached or not (what an online policy with exact
 * counts and no memory limit on them would do on a stationary stream). */
bool sim_inf(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
             uint64_t budget, uint8_t *hit);
bool sim_fpb(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
             uint64_t budget, uint8_t *hit);
bool sim_lfu(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
             uint64_t budget, uint8_t *hit);

/* Sketch candidates (sim_cand.c): S3-FIFO with memg's 1-bit mark (s3bit);
 * with a count-min sketch of every request (4 rows, halved as it ages; its
 * memory is not charged to the budget), an item leaving probation unread
 * still goes to main when its count per byte beats main's next victim's
 * (s3adm); every item leaving probation admitted only that way (s3tlfu,
 * TinyLFU's admission); main keeps what the sketch counts at two requests
 * of a mean-sized item per byte or more (s3fb: frequency per byte). */
bool sim_s3bit(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
               uint64_t budget, uint8_t *hit);
bool sim_s3adm(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
               uint64_t budget, uint8_t *hit);
bool sim_s3tlfu(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                uint64_t budget, uint8_t *hit);
bool sim_s3fb(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
               uint64_t budget, uint8_t *hit);

/* Size-aware ghost candidates (sim_cand.c), S3-FIFO with memg's 1-bit mark:
 * the ghost remembers only keys up to the mean size (s3gcut); a key larger
 * than the mean is sent to main from the ghost only if it comes back
 * within (mean / size)^3 of the ghost's window (s3gwin: memg's policy). */
bool sim_s3gcut(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                uint64_t budget, uint8_t *hit);
bool sim_s3gwin(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                uint64_t budget, uint8_t *hit);
/* s3gwin, and until main first evicts (the cache is filling), an unread
 * item up to the mean size leaving probation goes to main too (s3gfill). */
bool sim_s3gfill(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                 uint64_t budget, uint8_t *hit);

/* What one item of nkey + nval bytes (flags non-zero when flags) costs:
 * in memg, its record (bits, nkey, key, 5-byte cas, varints of flags and
 * length, value) and 8 bytes of table (a 4-byte ref at load about 1/2);
 * in memcached 1.6 (64-bit), its slab chunk (48-byte header, key + NUL,
 * 8-byte cas, 4 bytes of flags, value + \r\n, rounded up to the slab class
 * of factor 1.25, plus its share of the 1 MB page's unused tail). */
uint32_t sim_cost_memg(unsigned nkey, uint32_t nval, uint32_t flags);
uint32_t sim_cost_memcached(unsigned nkey, uint32_t nval, uint32_t flags);

#endif
