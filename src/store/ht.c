/* ht: see ht.h. Tables are mmap'ed so that a freed big table really goes
 * back to the kernel (malloc's dynamic mmap threshold would keep it). */
#include "ht.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HT_STEP 16 /* old slots migrated per insert: >= 2 finishes in time */

struct ht {
    uint32_t *tab;
    size_t mask;
    unsigned power;
    uint32_t *old; /* non-NULL while expanding */
    size_t old_mask;
    size_t cursor; /* old slots below it were moved (their copies are stale) */
    size_t count;  /* entries in both tables */
    ht_hash_fn *hash;
    ht_match_fn *match;
    void *ctx;
};

static uint32_t *_tab_alloc(unsigned power)
{
    if (power >= sizeof(size_t) * 8 - 2)
        return NULL;
    void *p = mmap(NULL, (size_t)4 << power, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void _tab_free(uint32_t *tab, size_t mask)
{
    if (tab)
        munmap(tab, (mask + 1) * 4);
}

struct ht *ht_create(unsigned power, ht_hash_fn *hash, ht_match_fn *match, void *ctx)
{
    struct ht *ht = calloc(1, sizeof *ht);
    if (!ht)
        return NULL;
    ht->tab = _tab_alloc(power);
    if (!ht->tab) {
        free(ht);
        return NULL;
    }
    ht->mask = ((size_t)1 << power) - 1;
    ht->power = power;
    ht->hash = hash;
    ht->match = match;
    ht->ctx = ctx;
    return ht;
}

void ht_destroy(struct ht *ht)
{
    if (!ht)
        return;
    _tab_free(ht->tab, ht->mask);
    _tab_free(ht->old, ht->old_mask);
    free(ht);
}

static bool _in_old(const struct ht *ht, const uint32_t *slot)
{
    uintptr_t s = (uintptr_t)slot, o = (uintptr_t)ht->old;
    return ht->old && s >= o && s <= (uintptr_t)(ht->old + ht->old_mask);
}

/* Old-table slot of ref, skipping moved (stale) slots and tombstones. */
static uint32_t *_old_ref(struct ht *ht, uint64_t hash, uint32_t ref)
{
    for (size_t i = (size_t)hash & ht->old_mask;; i = (i + 1) & ht->old_mask) {
        uint32_t r = ht->old[i];
        if (r == HT_EMPTY)
            return NULL;
        if (i >= ht->cursor && r == ref)
            return &ht->old[i];
    }
}

static uint32_t *_find_ref(struct ht *ht, uint64_t hash, uint32_t ref)
{
    for (size_t i = (size_t)hash & ht->mask; ht->tab[i] != HT_EMPTY; i = (i + 1) & ht->mask)
        if (ht->tab[i] == ref)
            return &ht->tab[i];
    return ht->old ? _old_ref(ht, hash, ref) : NULL;
}

void ht_prefetch(const struct ht *ht, uint64_t hash)
{
    __builtin_prefetch(&ht->tab[(size_t)hash & ht->mask], 1);
}

uint32_t ht_first(const struct ht *ht, uint64_t hash, uint32_t *second)
{
    size_t i = (size_t)hash & ht->mask;
    *second = ht->tab[(i + 1) & ht->mask];
    return ht->tab[i];
}

uint32_t *ht_find(struct ht *ht, uint64_t hash, const char *key, size_t nkey)
{
    for (size_t i = (size_t)hash & ht->mask;; i = (i + 1) & ht->mask) {
        uint32_t r = ht->tab[i];
        if (r == HT_EMPTY)
            break;
        if (ht->match(ht->ctx, r, key, nkey))
            return &ht->tab[i];
    }
    if (!ht->old)
        return NULL;
    for (size_t i = (size_t)hash & ht->old_mask;; i = (i + 1) & ht->old_mask) {
        uint32_t r = ht->old[i];
        if (r == HT_EMPTY)
            return NULL;
        if (i >= ht->cursor && r != HT_TOMB && ht->match(ht->ctx, r, key, nkey))
            return &ht->old[i];
    }
}

static void _put(struct ht *ht, uint64_t hash, uint32_t ref)
{
    size_t i = (size_t)hash & ht->mask;
    while (ht->tab[i] != HT_EMPTY)
        i = (i + 1) & ht->mask;
    ht->tab[i] = ref;
}

void ht_step(struct ht *ht, size_t nslots)
{
    if (!ht->old)
        return;
    size_t cap = ht->old_mask + 1;
    for (; nslots > 0 && ht->cursor < cap; nslots--, ht->cursor++) {
        uint32_t r = ht->old[ht->cursor];
        if (r != HT_EMPTY && r != HT_TOMB)
            _put(ht, ht->hash(ht->ctx, r), r);
    }
    if (ht->cursor == cap) {
        _tab_free(ht->old, ht->old_mask);
        ht->old = NULL;
        ht->old_mask = 0;
        ht->cursor = 0;
    }
}

bool ht_insert(struct ht *ht, uint64_t hash, uint32_t ref)
{
    size_t cap = ht->mask + 1;
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
    size_t mask = ht->mask;
    for (size_t j = (hole + 1) & mask; ht->tab[j] != HT_EMPTY; j = (j + 1) & mask) {
        size_t home = (size_t)ht->hash(ht->ctx, ht->tab[j]) & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
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
    size_t cap = ht->mask + 1;
    if (ht->old || ht->count + 1 <= cap - cap / 4)
        return 0;
    return cap * 2 * 4;
}

bool ht_grow(struct ht *ht)
{
    if (ht->old)
        ht_step(ht, (size_t)-1); /* never two migrations at once */
    uint32_t *tab = _tab_alloc(ht->power + 1);
    if (!tab)
        return false;
    ht->old = ht->tab;
    ht->old_mask = ht->mask;
    ht->cursor = 0;
    ht->tab = tab;
    ht->power++;
    ht->mask = ht->mask * 2 + 1;
    return true;
}

bool ht_clear(struct ht *ht, unsigned power)
{
    uint32_t *tab = _tab_alloc(power);
    _tab_free(ht->old, ht->old_mask);
    ht->old = NULL;
    ht->old_mask = 0;
    ht->cursor = 0;
    ht->count = 0;
    if (!tab) { /* keep the current table, emptied */
        memset(ht->tab, 0, (ht->mask + 1) * 4);
        return false;
    }
    _tab_free(ht->tab, ht->mask);
    ht->tab = tab;
    ht->power = power;
    ht->mask = ((size_t)1 << power) - 1;
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
    return ht->mask + 1;
}

size_t ht_bytes(const struct ht *ht)
{
    return (ht->mask + 1 + (ht->old ? ht->old_mask + 1 : 0)) * 4;
}

unsigned ht_power(const struct ht *ht)
{
    return ht->power;
}

bool ht_expanding(const struct ht *ht)
{
    return ht->old != NULL;
}
