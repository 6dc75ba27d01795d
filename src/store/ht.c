/* ht: see ht.h. Tables are mmap'ed so that a freed big table really goes
 * back to the kernel (malloc's dynamic mmap threshold would keep it). */
#include "ht.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HT_STEP 16 /* old slots migrated per insert: >= 2 finishes in time */
#define HT_AHEAD 8 /* entries whose items are touched before they are hashed */

struct ht {
    uint32_t *tab;
    size_t cap;
    unsigned level; /* cap is ht_level_cap(level) */
    uint32_t *old; /* non-NULL while expanding */
    size_t old_cap;
    size_t cursor; /* old slots below it were moved (their copies are stale) */
    size_t count;  /* entries in both tables */
    ht_hash_fn *hash;
    ht_match_fn *match;
    ht_touch_fn *touch; /* or NULL */
    void *ctx;
};

size_t ht_level_cap(unsigned level)
{
    /* 2^(l/2) slots in 1/256ths: every growth is sqrt(2)x (362 / 256) */
    size_t m = level & 1 ? 362 : 256;
    unsigned p = level / 2;
    if (level < 2 || level > HT_LEVEL_MAX)
        return 0;
    return p >= 8 ? m << (p - 8) : m >> (8 - p);
}

/* The slot a hash starts at: the top 32 bits scaled to cap (no power of
 * two needed, so the table grows by sqrt(2)x steps, not 2x). */
static inline size_t _home(size_t cap, uint64_t hash)
{
    return (size_t)(((hash >> 32) * (uint64_t)cap) >> 32);
}

static inline size_t _next(size_t i, size_t cap)
{
    return ++i == cap ? 0 : i;
}

static uint32_t *_tab_alloc(size_t cap)
{
    if (!cap)
        return NULL;
    void *p = mmap(NULL, cap * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void _tab_free(uint32_t *tab, size_t cap)
{
    if (tab)
        munmap(tab, cap * 4);
}

struct ht *ht_create(unsigned level, ht_hash_fn *hash, ht_match_fn *match, void *ctx)
{
    struct ht *ht = calloc(1, sizeof *ht);
    if (!ht)
        return NULL;
    ht->tab = _tab_alloc(ht_level_cap(level));
    if (!ht->tab) {
        free(ht);
        return NULL;
    }
    ht->cap = ht_level_cap(level);
    ht->level = level;
    ht->hash = hash;
    ht->match = match;
    ht->ctx = ctx;
    return ht;
}

void ht_set_touch(struct ht *ht, ht_touch_fn *touch)
{
    ht->touch = touch;
}

void ht_destroy(struct ht *ht)
{
    if (!ht)
        return;
    _tab_free(ht->tab, ht->cap);
    _tab_free(ht->old, ht->old_cap);
    free(ht);
}

static bool _in_old(const struct ht *ht, const uint32_t *slot)
{
    uintptr_t s = (uintptr_t)slot, o = (uintptr_t)ht->old;
    return ht->old && s >= o && s < (uintptr_t)(ht->old + ht->old_cap);
}

/* Old-table slot of ref, skipping moved (stale) slots and tombstones. */
static uint32_t *_old_ref(struct ht *ht, uint64_t hash, uint32_t ref)
{
    for (size_t i = _home(ht->old_cap, hash);; i = _next(i, ht->old_cap)) {
        uint32_t r = ht->old[i];
        if (r == HT_EMPTY)
            return NULL;
        if (i >= ht->cursor && r == ref)
            return &ht->old[i];
    }
}

static uint32_t *_find_ref(struct ht *ht, uint64_t hash, uint32_t ref)
{
    for (size_t i = _home(ht->cap, hash); ht->tab[i] != HT_EMPTY; i = _next(i, ht->cap))
        if (ht->tab[i] == ref)
            return &ht->tab[i];
    return ht->old ? _old_ref(ht, hash, ref) : NULL;
}

void ht_prefetch(const struct ht *ht, uint64_t hash)
{
    __builtin_prefetch(&ht->tab[_home(ht->cap, hash)], 1);
}

uint32_t ht_first(const struct ht *ht, uint64_t hash, uint32_t *second)
{
    size_t i = _home(ht->cap, hash);
    *second = ht->tab[_next(i, ht->cap)];
    return ht->tab[i];
}

uint32_t *ht_find(struct ht *ht, uint64_t hash, const char *key, size_t nkey)
{
    for (size_t i = _home(ht->cap, hash);; i = _next(i, ht->cap)) {
        uint32_t r = ht->tab[i];
        if (r == HT_EMPTY)
            break;
        if (ht->match(ht->ctx, r, key, nkey))
            return &ht->tab[i];
    }
    if (!ht->old)
        return NULL;
    for (size_t i = _home(ht->old_cap, hash);; i = _next(i, ht->old_cap)) {
        uint32_t r = ht->old[i];
        if (r == HT_EMPTY)
            return NULL;
        if (i >= ht->cursor && r != HT_TOMB && ht->match(ht->ctx, r, key, nkey))
            return &ht->old[i];
    }
}

static void _put(struct ht *ht, uint64_t hash, uint32_t ref)
{
    size_t i = _home(ht->cap, hash);
    while (ht->tab[i] != HT_EMPTY)
        i = _next(i, ht->cap);
    ht->tab[i] = ref;
}

void ht_step(struct ht *ht, size_t nslots)
{
    if (!ht->old)
        return;
    size_t cap = ht->old_cap;
    for (; nslots > 0 && ht->cursor < cap; nslots--, ht->cursor++) {
        /* the item HT_AHEAD slots on starts loading: the hashes wait on one miss at a time less */
        uint32_t a = ht->cursor + HT_AHEAD < cap ? ht->old[ht->cursor + HT_AHEAD] : HT_EMPTY;
        if (ht->touch && a != HT_EMPTY && a != HT_TOMB)
            ht->touch(ht->ctx, a);
        uint32_t r = ht->old[ht->cursor];
        if (r != HT_EMPTY && r != HT_TOMB)
            _put(ht, ht->hash(ht->ctx, r), r);
    }
    if (ht->cursor == cap) {
        _tab_free(ht->old, ht->old_cap);
        ht->old = NULL;
        ht->old_cap = 0;
        ht->cursor = 0;
    }
}

bool ht_insert(struct ht *ht, uint64_t hash, uint32_t ref)
{
    size_t cap = ht->cap;
    if (ht->old)
        ht_step(ht, HT_STEP);
    if (ht->count + 1 > cap - cap / 8) /* past 7/8 probes get long: refuse */
        return false;
    _put(ht, hash, ref);
    ht->count++;
    return true;
}

/* Backward shift: pull later entries of the cluster into the hole when the
 * hole lies between their home slot and where they sit. */
static void _shift_out(struct ht *ht, size_t hole)
{
    size_t cap = ht->cap;
    if (ht->touch) /* the cluster's items load together, not one miss per entry */
        for (size_t j = _next(hole, cap), k = 0; k < HT_AHEAD && ht->tab[j] != HT_EMPTY;
             j = _next(j, cap), k++)
            ht->touch(ht->ctx, ht->tab[j]);
    for (size_t j = _next(hole, cap); ht->tab[j] != HT_EMPTY; j = _next(j, cap)) {
        size_t home = _home(cap, ht->hash(ht->ctx, ht->tab[j]));
        /* distances back from j, around the end */
        size_t dh = j >= home ? j - home : j + cap - home;
        size_t dj = j >= hole ? j - hole : j + cap - hole;
        if (dh >= dj) {
            ht->tab[hole] = ht->tab[j];
            hole = j;
        }
    }
    ht->tab[hole] = HT_EMPTY;
}

void ht_remove(struct ht *ht, uint32_t *slot)
{
    if (_in_old(ht, slot))
        *slot = HT_TOMB; /* the old table is discarded after migration */
    else
        _shift_out(ht, (size_t)(slot - ht->tab));
    ht->count--;
}

bool ht_remove_ref(struct ht *ht, uint64_t hash, uint32_t ref)
{
    uint32_t *slot = _find_ref(ht, hash, ref);
    if (slot)
        ht_remove(ht, slot);
    return slot != NULL;
}

bool ht_replace_ref(struct ht *ht, uint64_t hash, uint32_t old_ref, uint32_t new_ref)
{
    uint32_t *slot = _find_ref(ht, hash, old_ref);
    if (slot)
        *slot = new_ref;
    return slot != NULL;
}

size_t ht_grow_bytes(const struct ht *ht)
{
    size_t cap = ht->cap;
    if (ht->old || ht->count + 1 <= cap - cap / 4)
        return 0;
    return ht_level_cap(ht->level + 1) * 4;
}

bool ht_grow(struct ht *ht)
{
    if (ht->old)
        ht_step(ht, (size_t)-1); /* never two migrations at once */
    uint32_t *tab = _tab_alloc(ht_level_cap(ht->level + 1));
    if (!tab)
        return false;
    ht->old = ht->tab;
    ht->old_cap = ht->cap;
    ht->cursor = 0;
    ht->tab = tab;
    ht->level++;
    ht->cap = ht_level_cap(ht->level);
    return true;
}

bool ht_clear(struct ht *ht, unsigned level)
{
    uint32_t *tab = _tab_alloc(ht_level_cap(level));
    _tab_free(ht->old, ht->old_cap);
    ht->old = NULL;
    ht->old_cap = 0;
    ht->cursor = 0;
    ht->count = 0;
    if (!tab) { /* keep the current table, emptied */
        memset(ht->tab, 0, ht->cap * 4);
        return false;
    }
    _tab_free(ht->tab, ht->cap);
    ht->tab = tab;
    ht->level = level;
    ht->cap = ht_level_cap(level);
    return true;
}

uint32_t *ht_slots(struct ht *ht)
{
    ht_step(ht, (size_t)-1);
    return ht->tab;
}

void ht_recount(struct ht *ht, size_t count)
{
    ht->count = count;
}

size_t ht_count(const struct ht *ht)
{
    return ht->count;
}

size_t ht_capacity(const struct ht *ht)
{
    return ht->cap;
}

size_t ht_bytes(const struct ht *ht)
{
    return (ht->cap + ht->old_cap) * 4;
}

unsigned ht_level(const struct ht *ht)
{
    return ht->level;
}

unsigned ht_power(const struct ht *ht)
{
    return ht->level / 2;
}

bool ht_expanding(const struct ht *ht)
{
    return ht->old != NULL;
}
