/* ht: open-addressing hash table of 32-bit item references. Linear probing,
 * capacities 2^n and 1.414 * 2^n (a level each: see ht_level_cap), deletion by
 * backward shift (no tombstones), and incremental growth: the next level's
 * table is filled a few old slots per insert while lookups look in both. The table stores only refs; hashing and key
 * comparison go through callbacks into the owner (the store). */
#ifndef MEMG_HT_H
#define MEMG_HT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HT_EMPTY 0u          /* never a valid ref */
#define HT_TOMB 0xffffffffu  /* never a valid ref; used only in the old table */

/* Hash of the key of the item at ref (must equal the hash given at insert). */
typedef uint64_t ht_hash_fn(void *ctx, uint32_t ref);
/* Whether the item at ref has this key. */
typedef bool ht_match_fn(void *ctx, uint32_t ref, const char *key, size_t nkey);

/* Start loading the item at ref (a prefetch): the table calls it for the
 * entries it is about to hash, so that their loads overlap (optional). */
typedef void ht_touch_fn(void *ctx, uint32_t ref);

struct ht;

/* Level l holds 2^(l/2) slots, to 1/256 (362/256 for odd l); 0 outside
 * 2..HT_LEVEL_MAX. Growing one level is sqrt(2)x. */
#define HT_LEVEL_MAX 61
size_t ht_level_cap(unsigned level);

struct ht *ht_create(unsigned level, ht_hash_fn *hash, ht_match_fn *match, void *ctx);
void ht_destroy(struct ht *ht);
void ht_set_touch(struct ht *ht, ht_touch_fn *touch);

/* The slot holding key, or NULL. The pointer may be written (same key, new
 * ref) or passed to ht_remove, until the next insert/remove/grow/step. */
uint32_t *ht_find(struct ht *ht, uint64_t hash, const char *key, size_t nkey);
/* Insert a ref whose key is absent. False when the table is too full and
 * was not grown (see ht_grow_bytes). */
bool ht_insert(struct ht *ht, uint64_t hash, uint32_t ref);
void ht_remove(struct ht *ht, uint32_t *slot);
/* Same by ref, for an owner walking its items (eviction, expiry, moves). */
bool ht_remove_ref(struct ht *ht, uint64_t hash, uint32_t ref);
bool ht_replace_ref(struct ht *ht, uint64_t hash, uint32_t old_ref, uint32_t new_ref);

/* Start loading the slot a hash maps to (walks over many items). */
void ht_prefetch(const struct ht *ht, uint64_t hash);
/* The refs in that slot and the next (HT_EMPTY, or the first two
 * candidates: a quarter of lookups probe twice at 0.4 load), for
 * prefetching what they refer to. */
uint32_t ht_first(const struct ht *ht, uint64_t hash, uint32_t *second);

/* Bytes a growth would add now, 0 if none is wanted; the owner makes room
 * under its memory limit and then calls ht_grow. */
size_t ht_grow_bytes(const struct ht *ht);
bool ht_grow(struct ht *ht);
/* Migrate up to nslots old slots (the loop's idle work). */
void ht_step(struct ht *ht, size_t nslots);
/* Drop every entry and go back to level's slots, returning the memory. */
bool ht_clear(struct ht *ht, unsigned level);

/* The slots, ht_capacity() refs in one array, a migration finished first:
 * -e saves them whole and reads them back (then ht_recount). */
uint32_t *ht_slots(struct ht *ht);
void ht_recount(struct ht *ht, size_t count);

size_t ht_count(const struct ht *ht);
size_t ht_capacity(const struct ht *ht);
size_t ht_bytes(const struct ht *ht); /* both tables while expanding */
unsigned ht_level(const struct ht *ht);
unsigned ht_power(const struct ht *ht); /* floor(log2(capacity)): memcached's hash_power_level */
bool ht_expanding(const struct ht *ht);

#endif
