/* sizes: -o track_sizes, memcached's `stats sizes` histogram: live items
 * counted by their size as memcached counts it (store_item_total), rounded
 * up to 32 bytes (a chunked one whole, as 1.6.45 counts it). Kept where
 * items are linked (_link), unlinked (seg_unlink_only), restored (-e) and
 * all dropped. */
#include <stdlib.h>

#include "seg.h"

bool seg_sizes_setup(struct store *st)
{
    st->nsizes = (uint32_t)(st->item_max / 32 + 1); /* memcached's bucket count */
    st->sizes = calloc(st->nsizes, sizeof *st->sizes);
    return st->sizes != NULL;
}

void seg_sizes_note(struct store *st, const struct rec *r, int delta)
{
    if (!st->sizes)
        return;
    uint64_t b = (store_item_total(st, r->nkey, r->flags, r->nval) + 31) / 32;
    if (b < st->nsizes)
        st->sizes[b] += (uint32_t)delta;
}

void seg_sizes_clear(struct store *st)
{
    if (st->sizes)
        memset(st->sizes, 0, st->nsizes * sizeof *st->sizes);
}

bool store_sizes(const struct store *st, store_size_fn *fn, void *arg)
{
    if (!st->sizes)
        return false;
    for (uint32_t i = 0; i < st->nsizes; i++)
        if (st->sizes[i])
            fn(arg, i * 32, st->sizes[i]);
    return true;
}
