/* seg: the segments of the store, as mechanics: the FIFO of used segments
 * (main queue, then probation), the free list, mapping (anonymous, huge-page
 * blocks with -L, the memory file with -e), taking and releasing a segment,
 * killing and unlinking records, pins, flush and the expiry sweep. Which
 * segment is emptied and which of its items stay is policy: evict.c. Empty
 * segments go back to the kernel (MADV_DONTNEED, MADV_REMOVE for a file) and
 * wait on the free list. */
#define _FILE_OFFSET_BITS 64 /* -e: 32-bit glibc's mmap reaches past 2 GB of file */
#include "seg.h"
#include "ht.h"
#include "thp.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- FIFO and free list ---------------------------------------------------- */

void seg_fifo_remove(struct store *st, uint32_t idx)
{
    struct seg *s = &st->segs[idx];
    if (st->small_first == idx)
        st->small_first = s->next;
    if (s->small)
        st->nsmall--;
    s->small = 0;
    if (s->prev)
        st->segs[s->prev].next = s->next;
    else
        st->fifo_head = s->next;
    if (s->next)
        st->segs[s->next].prev = s->prev;
    else
        st->fifo_tail = s->prev;
    s->prev = s->next = 0;
}

/* Link idx into the list before at (0: at the end). */
static void _link(struct store *st, uint32_t idx, uint32_t at)
{
    struct seg *s = &st->segs[idx];
    s->next = at;
    s->prev = at ? st->segs[at].prev : st->fifo_tail;
    if (s->prev)
        st->segs[s->prev].next = idx;
    else
        st->fifo_head = idx;
    if (at)
        st->segs[at].prev = idx;
    else
        st->fifo_tail = idx;
}

/* The newest of the probation queue (the end of the list). */
void seg_push_small(struct store *st, uint32_t idx)
{
    _link(st, idx, 0);
    st->segs[idx].small = 1;
    st->nsmall++;
    if (!st->small_first)
        st->small_first = idx;
    if (st->mhead == idx)
        st->mhead = 0;
}

/* The newest of the main queue (just before the probation queue). */
void seg_push_main(struct store *st, uint32_t idx)
{
    _link(st, idx, st->small_first);
    st->segs[idx].small = 0;
}

void seg_gauges(struct store *st)
{
    struct stats *s = st->stats;
    s->hash_bytes = ht_bytes(st->ht);
    s->hash_power_level = ht_power(st->ht);
    s->hash_is_expanding = ht_expanding(st->ht);
    s->segments_total = st->used + st->nfree;
    s->segments_free = st->nfree;
    s->segment_size = st->seg_size;
}

/* Empty segments kept resident for reuse: churn (overwrites, deletes) would
 * otherwise pay a page fault per 4 KB of every new segment (large values
 * churn a segment a set: the faults were a third to half of a set's CPU).
 * While segments are being taken, every emptied one stays as long as the
 * segments in use and the free ones together fit the limit; when idle, two. */
#define SEG_WARM_SPARES 2

/* A segment's pages back to the kernel (a file's are freed, not dropped). */
static void _drop(struct store *st, uint32_t idx)
{
    madvise(st->segs[idx].mem, st->seg_size, st->mfd >= 0 ? MADV_REMOVE : MADV_DONTNEED);
    st->segs[idx].warm = 0;
}

void seg_cool_step(struct store *st)
{
    bool idle = st->taken == 0;
    st->taken = 0;
    if (!idle || !st->warm_extra)
        return;
    st->warm_extra = false;
    uint32_t n = 0;
    for (uint32_t idx = st->free_head; idx; idx = st->segs[idx].next)
        if (++n > SEG_WARM_SPARES) /* dropping pages already dropped costs a walk, no fault */
            _drop(st, idx);
}

/* An empty segment goes on the free list; its pages go back to the kernel
 * unless it is one of the few warm spares (flush gives everything back). */
void seg_release(struct store *st, uint32_t idx, bool give_back)
{
    struct seg *s = &st->segs[idx];
    seg_fifo_remove(st, idx);
    seg_close(st, idx);
    st->taken++; /* churn, even where compaction rather than seg_take opens the heads */
    /* used still counts idx: resident segments stay within what -m allows */
    if (give_back || st->used + st->nfree > seg_budget(st)) /* a file's are freed, not dropped */
        _drop(st, idx);
    else if (st->nfree >= SEG_WARM_SPARES)
        st->warm_extra = true;
    s->state = SEG_FREE;
    s->exp_max = 0;
    s->wpos = s->live = 0;
    s->gen++;
    s->next = st->free_head;
    st->free_head = idx;
    st->used--;
    st->nfree++;
    seg_gauges(st);
}

uint64_t seg_meta_over(const struct store *st, uint64_t extra)
{
    uint64_t meta = ht_bytes(st->ht) + seg_ghost_room(st) + extra;
    uint64_t allowed = st->limit / SEG_META_SHARE;
    return meta > allowed ? meta - allowed : 0;
}

/* Segments the limit allows now: all of -m, less what the table and ghost
 * take beyond their share; at least two so that a tiny -m still works (the
 * table may then push slightly past it). */
uint32_t seg_budget(const struct store *st)
{
    uint64_t over = seg_meta_over(st, 0);
    uint64_t n = st->limit > over ? (st->limit - over) / st->seg_size : 0;
    if (n < 2)
        n = 2;
    if (n > st->nsegs - 1)
        n = st->nsegs - 1;
    if (n > st->mmap_cap)
        n = st->mmap_cap;
    return (uint32_t)n;
}

/* Address space for len bytes (a multiple of THP_BLOCK) starting on a block
 * boundary, where the kernel can put huge pages. */
static char *_map_blocks(size_t len)
{
    char *m = mmap(NULL, len + THP_BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    size_t head = (THP_BLOCK - ((uintptr_t)m & (THP_BLOCK - 1))) & (THP_BLOCK - 1);
    if (head)
        munmap(m, head);
    if (THP_BLOCK - head)
        munmap(m + head + len, THP_BLOCK - head);
    return m + head;
}

void *seg_file_map(const struct store *st, uint32_t idx)
{
    return mmap(NULL, st->seg_size, PROT_READ | PROT_WRITE, MAP_SHARED, st->mfd,
                (off_t)idx * st->seg_size);
}

/* Memory for a never-used segment idx. With -L segments come in huge-page
 * blocks (two of 1 MiB to a block), advised huge; with -e its place in the
 * memory file; else one mapping each. */
static char *_map(struct store *st, uint32_t idx)
{
    if (!st->large_pages) {
        void *m = st->mfd >= 0 ? seg_file_map(st, idx)
                               : mmap(NULL, st->seg_size, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return m == MAP_FAILED ? NULL : m;
    }
    char *m = st->spare_mem;
    if (m) {
        st->spare_mem = NULL;
        return m;
    }
    size_t len = st->seg_size < THP_BLOCK ? THP_BLOCK : st->seg_size;
    if (!(m = _map_blocks(len)))
        return NULL;
    thp_advise(m, len);
    if (len > st->seg_size)
        st->spare_mem = m + st->seg_size;
    return m;
}

uint32_t seg_take(struct store *st)
{
    uint32_t idx = st->free_head;
    st->taken++;
    if (idx) {
        st->free_head = st->segs[idx].next;
        st->nfree--;
    } else {
        if (st->hiwater >= st->nsegs)
            return 0;
        char *m = _map(st, st->hiwater);
        if (!m) { /* 32-bit address space or overcommit: live with fewer */
            st->stats->malloc_fails++;
            st->mmap_cap = st->used > 2 ? st->used : 2;
            return 0;
        }
        idx = st->hiwater++;
        st->segs[idx].mem = m;
    }
    struct seg *s = &st->segs[idx];
    s->state = SEG_USED;
    s->wpos = s->live = s->pins = 0;
    s->exp_max = 0;
    s->cls = 0;
    s->gen++;
    st->used++;
    return idx;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels answer EINVAL: faults as before */
#endif
/* Records this long or longer get their pages in one call before the value
 * arrives: segment tails never written, and emptied segments given back,
 * would otherwise fault a page at a time under recv (a fault costs more
 * than a populated page; row L: up to 24 faults a request). */
#define SEG_PREFAULT_MIN (64u << 10)

void seg_prefault(struct store *st, uint32_t ref, uint32_t len)
{
    struct seg *s = &st->segs[seg_idx(st, ref)];
    uint32_t off = (uint32_t)(seg_ptr(st, ref) - s->mem);
    if (s->warm < off) /* what lies before a record was written once */
        s->warm = off;
    if (len < SEG_PREFAULT_MIN || off + len <= s->warm)
        return; /* short, or resident already: no call */
    uintptr_t a = (uintptr_t)(s->mem + s->warm) & ~(uintptr_t)4095;
    madvise((void *)a, (uintptr_t)(s->mem + off + len) - a, MADV_POPULATE_WRITE);
    s->warm = off + len;
}

/* --- unlinking and killing -------------------------------------------------- */

/* Table and stats side of an item leaving: no segment accounting. */
void seg_unlink_only(struct store *st, uint32_t ref, struct rec *r, uint64_t hash,
                         enum unlink_why why)
{
    struct stats *s = st->stats;
    ht_remove_ref(st->ht, hash, ref);
    r->p[REC_BITS] = (char)(r->bits & ~(R_LIVE | R_ACC));
    s->curr_items--;
    s->bytes -= r->len;
    seg_sizes_note(st, r, -1);
    bool unfetched = !(r->bits & R_FETCH);
    if (why == UNLINK_EXPIRED) {
        s->reclaimed++;
        s->expired_unfetched += unfetched;
    } else if (why == UNLINK_EVICTED) {
        s->evictions++;
        s->evicted_unfetched += unfetched;
        if (st->on_evict) {
            struct item_view v = {.key = r->p + REC_KEY, .nkey = r->nkey, .flags = r->flags,
                                  .cas = r->cas, .exp = r->exp,
                                  .atime = la_time(r->meta, st->now),
                                  .mbits = unfetched ? 0 : ITEM_FETCHED};
            st->on_evict(st->on_evict_arg, &v);
        }
    }
}

void seg_kill(struct store *st, uint32_t ref, const struct rec *r)
{
    uint32_t idx = seg_idx(st, ref);
    struct seg *s = &st->segs[idx];
    r->p[REC_BITS] = (char)(r->bits & ~(R_LIVE | R_RESV | R_ACC));
    s->live -= seg_span(st, r->len);
    if (s->live || s->pins)
        return;
    if (seg_is_open(st, idx)) { /* reuse a head from its start: no syscall */
        s->wpos = 0;
        s->exp_max = 0;
        s->gen++;
    } else {
        seg_release(st, idx, false);
    }
}

void seg_unlink(struct store *st, uint32_t ref, struct rec *r, uint64_t hash, enum unlink_why why)
{
    seg_unlink_only(st, ref, r, hash, why);
    seg_kill(st, ref, r);
}

void seg_pin(struct store *st, uint32_t idx)
{
    st->segs[idx].pins++;
}

void seg_unpin(struct store *st, uint32_t idx)
{
    struct seg *s = &st->segs[idx];
    if (s->pins == 0 || --s->pins || s->live || s->state != SEG_USED)
        return;
    if (seg_is_open(st, idx)) {
        s->wpos = 0;
        s->exp_max = 0;
        s->gen++;
    } else {
        seg_release(st, idx, false);
    }
}

bool seg_set_limit(struct store *st, uint64_t limit)
{
    uint64_t want = limit / st->seg_size + 2;
    uint64_t maxn = ((uint64_t)1 << (32 - st->off_bits)) - 2;
    if (want > maxn) /* refs were sized at start for -m; beyond them: refuse */
        return false;
    if (st->mfd >= 0 && want + 1 > st->mfile_segs) /* -e: the file was sized for -m */
        return false;
    if (want + 1 > st->nsegs) {
        if (want + 1 > SIZE_MAX / sizeof(struct seg))
            return false;
        struct seg *segs = realloc(st->segs, (size_t)(want + 1) * sizeof *segs);
        if (!segs)
            return false;
        memset(segs + st->nsegs, 0, (size_t)(want + 1 - st->nsegs) * sizeof *segs);
        st->segs = segs;
        st->nsegs = (uint32_t)want + 1;
    }
    st->limit = limit;
    seg_gauges(st);
    return true;
}

/* --- flush and sweep ------------------------------------------------------------ */

void seg_flush(struct store *st)
{
    uint32_t next;
    for (uint32_t idx = st->fifo_head; idx; idx = next) {
        struct seg *s = &st->segs[idx];
        next = s->next;
        if (s->pins == 0) {
            seg_release(st, idx, true);
            continue;
        }
        /* Pinned: bytes stay for the reply or reservation; items die. */
        for (uint32_t off = 0; off < s->wpos;) {
            struct rec r;
            rec_decode(s->mem + off, &r, s->cas_base);
            if (r.bits & R_LIVE) {
                r.p[REC_BITS] = (char)(r.bits & ~(R_LIVE | R_ACC));
                s->live -= seg_span(st, r.len);
            }
            off += seg_span(st, r.len);
        }
        s->gen++;
    }
    st->head = st->mhead = 0;
    memset(st->theads, 0, sizeof st->theads);
    st->nopen = 0;
    st->exp_due = 0;
    st->exp_cand = 0;
    st->exp_cur.seg = 0;
    st->sweep.seg = st->crawl.seg = 0;
    st->ev_seg = 0;
    st->stats->curr_items = 0;
    seg_sizes_clear(st);
    st->stats->bytes = 0;
    ht_clear(st->ht, st->ht_level0);
    ghost_free(&st->ghost);
    seg_gauges(st);
}

unsigned seg_sweep(struct store *st, struct seg_cursor *c, unsigned budget)
{
    unsigned checked = 0;
    uint32_t idx = c->seg, off = c->off;
    if (!idx || st->segs[idx].state != SEG_USED) {
        idx = st->fifo_head;
        off = 0;
    } else if (st->segs[idx].gen != c->gen) {
        off = 0;
    }
    while (idx && budget--) {
        struct seg *s = &st->segs[idx];
        if (off >= s->wpos) {
            idx = s->next; /* 0 at the end: the next call starts a new pass */
            off = 0;
            continue;
        }
        struct rec r;
        rec_decode(s->mem + off, &r, s->cas_base);
        uint32_t next = s->next, gen = s->gen;
        checked += (r.bits & R_LIVE) != 0;
        if ((r.bits & R_LIVE) && rec_expired(st, &r)) {
            uint64_t h = store_key_hash(st, r.p + REC_KEY, r.nkey);
            seg_unlink(st, seg_ref(st, idx, off), &r, h, UNLINK_EXPIRED);
            if (s->state != SEG_USED || s->gen != gen) { /* released or reset */
                idx = s->state == SEG_USED ? idx : next;
                off = s->state == SEG_USED ? s->wpos : 0;
                continue;
            }
        } else if (r.bits & R_LIVE) {
            uint16_t meta = la_age_up(r.meta, st->now);
            if (meta != r.meta)
                rec_set_meta(&r, meta);
        }
        off += seg_span(st, r.len);
    }
    c->seg = idx;
    c->gen = idx ? st->segs[idx].gen : 0;
    c->off = off;
    return checked;
}

/* --- setup --------------------------------------------------------------------- */

bool seg_setup(struct store *st, uint64_t limit, uint64_t item_max)
{
    unsigned shift = 20; /* 1 MiB at least */
    while (((uint64_t)1 << shift) < item_max)
        shift++;
    if (shift > 31)
        return false;
    uint64_t want = limit / ((uint64_t)1 << shift) + 2;
    /* Smallest record alignment whose refs still reach every segment. */
    unsigned unit = 0;
    while (unit < 8 && ((uint64_t)1 << (32 - (shift - unit))) - 2 < want)
        unit++;
    st->seg_shift = shift;
    st->seg_size = (uint32_t)1 << shift;
    st->unit_shift = unit;
    st->off_bits = shift - unit;
    st->off_mask = ((uint32_t)1 << st->off_bits) - 1;
    uint64_t maxn = ((uint64_t)1 << (32 - st->off_bits)) - 2;
    if (want > maxn)
        want = maxn; /* beyond what 32-bit refs reach: the limit is capped */
    if (want + 1 > SIZE_MAX / sizeof(struct seg))
        return false;
    st->nsegs = (uint32_t)want + 1;
    st->segs = calloc(st->nsegs, sizeof *st->segs);
    st->hiwater = 1;
    st->mmap_cap = UINT32_MAX;
    st->mfd = -1;
    st->limit = limit;
    st->item_max = item_max;
    return st->segs != NULL;
}

void seg_teardown(struct store *st)
{
    if (!st->segs)
        return;
    for (uint32_t i = 1; i < st->hiwater; i++)
        if (st->segs[i].mem)
            munmap(st->segs[i].mem, st->seg_size);
    if (st->spare_mem)
        munmap(st->spare_mem, st->seg_size);
    if (st->mfd >= 0)
        close(st->mfd);
    free(st->segs);
    st->segs = NULL;
}

/* A segment stops being a write head of any expiry class (expire.c opens them). */
void seg_close(struct store *st, uint32_t idx)
{
    unsigned c = st->segs[idx].cls;
    if (st->head == idx)
        st->head = 0;
    if (st->mhead == idx)
        st->mhead = 0;
    for (int m = 0; m < 2 && c; m++)
        if (st->theads[m][c] == idx) {
            st->theads[m][c] = 0;
            st->nopen--;
        }
}

bool seg_is_open(const struct store *st, uint32_t idx)
{
    unsigned c = st->segs[idx].cls;
    return idx == st->head || idx == st->mhead ||
           (c && (st->theads[0][c] == idx || st->theads[1][c] == idx));
}
