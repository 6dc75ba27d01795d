/* seg: segments of the store. New items are appended to the head segment
 * (a log) of a probation queue (a quarter of the segments); segments
 * form a FIFO, oldest first, the main queue's then the probation queue's.
 * When the limit is reached the oldest probation segment is emptied: items
 * read since they were written (R_ACC) are copied to the main queue's head
 * (mhead), the rest are evicted, and it becomes the new head. When the main
 * queue needs room its oldest segment is compacted in place: items read
 * since its last pass slide down and stay (CLOCK), the rest are evicted.
 * That is S3-FIFO (Yang et al., SOSP 2023) at segment granularity: items
 * read once and never again leave after a quarter of the memory, not a whole
 * lap. Empty segments go back to the kernel (MADV_DONTNEED) and wait on a
 * free list. */
#include "seg.h"
#include "ht.h"
#include "thp.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- FIFO and free list ---------------------------------------------------- */

static void _fifo_remove(struct store *st, uint32_t idx)
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
static void _push_small(struct store *st, uint32_t idx)
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
static void _push_main(struct store *st, uint32_t idx)
{
    _link(st, idx, st->small_first);
    st->segs[idx].small = 0;
}

/* Probation segments wanted: a quarter of what the limit allows, at least
 * 1. S3-FIFO uses a tenth of the items; with 1 MiB segments and no ghost
 * queue that was 2 segments at -m 16, too short a look for keys read every
 * few thousand misses (churn-1.0 at -m 16: 0.41 miss ratio, a quarter 0.35). */
static uint32_t _small_target(const struct store *st);

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
 * otherwise pay a page fault per 4 KB of every new segment. */
#define SEG_WARM_SPARES 2

/* An empty segment goes on the free list; its pages go back to the kernel
 * unless it is one of the few warm spares (flush gives everything back). */
static void _release(struct store *st, uint32_t idx, bool give_back)
{
    struct seg *s = &st->segs[idx];
    _fifo_remove(st, idx);
    if (st->head == idx)
        st->head = 0;
    if (st->mhead == idx)
        st->mhead = 0;
    if (give_back || st->nfree >= SEG_WARM_SPARES) /* a file's pages are freed, not dropped */
        madvise(s->mem, st->seg_size, st->mfd >= 0 ? MADV_REMOVE : MADV_DONTNEED);
    s->state = SEG_FREE;
    s->wpos = s->live = 0;
    s->gen++;
    s->next = st->free_head;
    st->free_head = idx;
    st->used--;
    st->nfree++;
    seg_gauges(st);
}

/* Segments the limit allows next to the table now; at least two so that a
 * tiny -m still works (the table may then push slightly past it). */
uint32_t seg_budget(const struct store *st)
{
    uint64_t tb = ht_bytes(st->ht);
    uint64_t n = st->limit > tb ? (st->limit - tb) / st->seg_size : 0;
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

static uint32_t _take(struct store *st)
{
    uint32_t idx = st->free_head;
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
    s->gen++;
    st->used++;
    return idx;
}

/* --- unlinking and killing -------------------------------------------------- */

/* Table and stats side of an item leaving: no segment accounting. */
static void _unlink_only(struct store *st, uint32_t ref, struct rec *r, uint64_t hash,
                         enum unlink_why why)
{
    struct stats *s = st->stats;
    ht_remove_ref(st->ht, hash, ref);
    r->p[REC_BITS] = (char)(r->bits & ~(R_LIVE | R_ACC));
    s->curr_items--;
    s->bytes -= r->len;
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
    if (idx == st->head || idx == st->mhead) { /* reuse a head from its start: no syscall */
        s->wpos = 0;
        s->gen++;
    } else {
        _release(st, idx, false);
    }
}

void seg_unlink(struct store *st, uint32_t ref, struct rec *r, uint64_t hash, enum unlink_why why)
{
    _unlink_only(st, ref, r, hash, why);
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
    if (idx == st->head || idx == st->mhead) {
        s->wpos = 0;
        s->gen++;
    } else {
        _release(st, idx, false);
    }
}

/* --- eviction ---------------------------------------------------------------- */

static char *_main_alloc(struct store *st, uint32_t size, uint32_t *ref);

/* What a compaction keeps of the live, unexpired items. */
enum keep {
    KEEP_READ,    /* items read since the last pass slide down (bit cleared) */
    KEEP_ALL,     /* garbage collection: every live item slides down */
    KEEP_PROMOTE, /* probation: items read move to the main queue's head */
};

/* Compact segment idx so that need bytes fit after what is kept in place:
 * expired items go, the rest as `how` says; what is not kept is evicted. */
static void _compact(struct store *st, uint32_t idx, uint32_t need, enum keep how)
{
    struct seg *s = &st->segs[idx];
    /* Hashes of the next few live records are computed ahead and their table
     * slots prefetched: the walk is sequential, the table random. */
    enum { AHEAD = 8 };
    uint64_t hq[AHEAD];
    uint32_t pf = 0, nq = 0, hq_head = 0;
    uint32_t off = 0, keep = 0;
    while (off < s->wpos) {
        while (nq < AHEAD && pf < s->wpos) {
            struct rec a;
            rec_decode(s->mem + pf, &a);
            uint64_t h = (a.bits & R_LIVE) ? store_key_hash(st, a.p + REC_KEY, a.nkey) : 0;
            if (a.bits & R_LIVE)
                ht_prefetch(st->ht, h);
            hq[(hq_head + nq++) % AHEAD] = h;
            pf += seg_span(st, a.len);
        }
        uint64_t h = hq[hq_head];
        hq_head = (hq_head + 1) % AHEAD;
        nq--;
        struct rec r;
        rec_decode(s->mem + off, &r);
        uint32_t span = seg_span(st, r.len), ref = seg_ref(st, idx, off), to;
        char *dst;
        if (!(r.bits & R_LIVE)) {
        } else if (rec_expired(st, &r)) {
            _unlink_only(st, ref, &r, h, UNLINK_EXPIRED);
        } else if (how == KEEP_PROMOTE && (r.bits & R_ACC) &&
                   (dst = _main_alloc(st, span, &to)) != NULL) {
            mem_copy(dst, r.p, r.len); /* from now on a main item, not read since */
            dst[REC_BITS] = (char)(r.bits & ~R_ACC);
            ht_replace_ref(st->ht, h, ref, to);
        } else if (how != KEEP_PROMOTE && (how == KEEP_ALL || (r.bits & R_ACC)) &&
                   (uint64_t)keep + span + need <= st->seg_size) {
            if (keep != off) /* keep < off: the record slides down */
                mem_move_down(s->mem + keep, r.p, r.len);
            if (how == KEEP_READ)
                s->mem[keep + REC_BITS] = (char)(r.bits & ~R_ACC);
            ht_replace_ref(st->ht, h, ref, seg_ref(st, idx, keep));
            keep += span;
        } else {
            _unlink_only(st, ref, &r, h, UNLINK_EVICTED);
        }
        off += span;
    }
    s->wpos = s->live = keep;
    s->gen++;
}

/* The oldest unpinned segment of one queue: main from fifo_head,
 * probation from small_first. */
static uint32_t _oldest_in(const struct store *st, bool small)
{
    for (uint32_t i = small ? st->small_first : st->fifo_head; i && st->segs[i].small == small;
         i = st->segs[i].next)
        if (st->segs[i].pins == 0)
            return i;
    return 0;
}

static uint32_t _oldest_unpinned(const struct store *st)
{
    uint32_t i = _oldest_in(st, false);
    return i ? i : _oldest_in(st, true);
}

static uint32_t _small_target(const struct store *st)
{
    return (seg_budget(st) + 3) / 4;
}

/* Segments of slack before dead bytes are collected rather than grown past. */
#define GC_SLACK_SEGS 8
/* Collect once the segments in use hold this many times the live bytes. */
#define GC_RATIO_NUM 3 /* 3/2 */
#define GC_RATIO_DEN 2

/* Overwrites and deletes leave dead bytes behind. Before growing, reclaim
 * them once the segments in use hold GC_RATIO times the live bytes: the
 * emptiest unpinned segment of the queue that needs a head (greedy
 * cleaning: least to copy), if at least half dead, is compacted in place
 * keeping what lives. Cheaper than faulting in a fresh segment, and RSS
 * follows the data rather than -m. The scan is over segments, once per
 * segment filled. Returns the segment, or 0. */
static uint32_t _gc_victim(struct store *st, uint32_t need, bool small)
{
    uint64_t in_use = (uint64_t)st->used * st->seg_size;
    if (in_use * GC_RATIO_DEN <
        GC_RATIO_NUM * st->stats->bytes + (uint64_t)GC_SLACK_SEGS * st->seg_size * GC_RATIO_DEN)
        return 0;
    uint32_t best = 0, best_live = st->seg_size / 2 + 1;
    for (uint32_t i = st->fifo_head; i; i = st->segs[i].next) {
        const struct seg *s = &st->segs[i];
        if (s->pins == 0 && i != st->head && i != st->mhead && s->small == small &&
            s->live < best_live) {
            best = i;
            best_live = s->live;
        }
    }
    if (!best || (uint64_t)best_live + need > st->seg_size)
        return 0;
    return best;
}

/* The oldest unpinned segment is evicted whole and its pages given back (to
 * the table, or under a lowered limit). One segment a call: the work stays
 * bounded as for any eviction. False when every segment is pinned. */
static bool _give_back_oldest(struct store *st)
{
    uint32_t idx = _oldest_unpinned(st);
    if (!idx)
        return false;
    _compact(st, idx, st->seg_size, KEEP_READ); /* nothing fits: every item goes */
    _release(st, idx, true);
    return true;
}

void seg_shrink_step(struct store *st)
{
    if (st->evict && st->used > seg_budget(st))
        _give_back_oldest(st);
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

/* A new head for the main queue (items promoted from probation): a segment
 * with dead bytes to collect, a fresh one while the limit allows; while
 * probation holds more than its share (after filling up, all of memory),
 * its oldest, compacted in place (items read stay, the rest go): the main
 * queue grows into the room probation gives up; else the main queue's
 * oldest compacted in place (CLOCK). 0 when none can be had. */
static uint32_t _new_mhead(struct store *st, uint32_t need)
{
    uint32_t idx = _gc_victim(st, need, false);
    if (idx) {
        _compact(st, idx, need, KEEP_ALL);
        _fifo_remove(st, idx);
    } else if (st->used < seg_budget(st) && (idx = _take(st)) != 0) {
    } else if (st->evict && st->nsmall > _small_target(st) && (idx = _oldest_in(st, true))) {
        _compact(st, idx, need, KEEP_READ);
        _fifo_remove(st, idx);
    } else if (st->evict && (idx = _oldest_in(st, false)) != 0) {
        _compact(st, idx, need, KEEP_READ);
        _fifo_remove(st, idx);
    } else {
        return 0;
    }
    _push_main(st, idx);
    st->segs[idx].born = st->now;
    st->mhead = idx;
    seg_gauges(st);
    return idx;
}

/* Empty segment idx for the probation queue's head: items read since they
 * were written (or, in the main queue, since its last pass) move to the
 * main queue's head, the others are evicted. Pinned meanwhile, so that
 * finding room in the main queue does not pick it. */
static void _empty_for_head(struct store *st, uint32_t idx, uint32_t need)
{
    if (st->mhead == idx) /* promoted items must land elsewhere */
        st->mhead = 0;
    st->segs[idx].pins++;
    _compact(st, idx, need, KEEP_PROMOTE);
    st->segs[idx].pins--;
    _fifo_remove(st, idx);
    _push_small(st, idx);
}

/* A new head for new items (the probation queue): a segment with dead
 * bytes to collect, or a fresh one while the limit allows. Then the
 * probation queue's oldest is emptied (the main queue's oldest while
 * probation is short of its share). */
static uint32_t _new_head(struct store *st, uint32_t need)
{
    if (st->evict && st->used > seg_budget(st))
        _give_back_oldest(st);
    uint32_t idx = _gc_victim(st, need, true);
    if (idx) {
        _compact(st, idx, need, KEEP_ALL);
        _fifo_remove(st, idx);
        _push_small(st, idx);
    } else if (st->used < seg_budget(st) && (idx = _take(st)) != 0) {
        _push_small(st, idx);
    } else if (!st->evict) {
        return 0;
    } else {
        idx = st->nsmall >= _small_target(st) ? _oldest_in(st, true) : 0;
        if (!idx && !(idx = _oldest_unpinned(st)))
            return 0;
        _empty_for_head(st, idx, need);
    }
    st->segs[idx].born = st->now;
    st->head = idx;
    seg_gauges(st);
    return idx;
}

/* The segment the next new head will be emptied from, 0 if none. */
static uint32_t _next_victim(const struct store *st)
{
    uint32_t idx = st->nsmall >= _small_target(st) ? _oldest_in(st, true) : 0;
    if (!idx)
        idx = _oldest_in(st, false);
    return idx == st->head || idx == st->mhead ? 0 : idx;
}

/* Eviction ahead, a little per allocation. When the next head can only come
 * from evicting, the next victim's unread and expired items are unlinked a
 * few at a time while the current head fills (records worth about twice
 * each allocation), so that emptying it then only moves the survivors: no
 * single request pays for a whole segment of unlinks. */
static void _evict_ahead(struct store *st, uint32_t budget)
{
    if (!st->evict || st->free_head || st->used < seg_budget(st))
        return;
    uint32_t idx = st->ev_seg;
    if (!idx || idx == st->head || idx == st->mhead || st->segs[idx].state != SEG_USED ||
        st->segs[idx].gen != st->ev_gen) {
        if (!(idx = _next_victim(st)))
            return;
        st->ev_seg = idx;
        st->ev_gen = st->segs[idx].gen;
        st->ev_off = 0;
    }
    struct seg *s = &st->segs[idx];
    for (uint32_t done = 0; st->ev_off < s->wpos && done < budget;) {
        struct rec r;
        rec_decode(s->mem + st->ev_off, &r);
        uint32_t span = seg_span(st, r.len), ref = seg_ref(st, idx, st->ev_off);
        st->ev_off += span;
        done += span;
        if (!(r.bits & R_LIVE))
            continue;
        bool expired = rec_expired(st, &r);
        if (!expired && (r.bits & R_ACC))
            continue; /* read since: compaction keeps or promotes it */
        seg_unlink(st, ref, &r, store_key_hash(st, r.p + REC_KEY, r.nkey),
                   expired ? UNLINK_EXPIRED : UNLINK_EVICTED);
        if (s->state != SEG_USED || s->gen != st->ev_gen) { /* emptied and released */
            st->ev_seg = 0;
            return;
        }
    }
}

/* size bytes at the end of segment idx (the caller checked they fit). */
static char *_carve(struct store *st, uint32_t idx, uint32_t size, uint32_t *ref)
{
    struct seg *s = &st->segs[idx];
    *ref = seg_ref(st, idx, s->wpos);
    char *p = s->mem + s->wpos;
    s->wpos += size;
    s->live += size;
    return p;
}

/* Room in the main queue for a promoted record (size: its span). */
static char *_main_alloc(struct store *st, uint32_t size, uint32_t *ref)
{
    uint32_t idx = st->mhead;
    if (!idx || st->segs[idx].wpos + (uint64_t)size > st->seg_size)
        idx = _new_mhead(st, size);
    return idx ? _carve(st, idx, size, ref) : NULL;
}

char *seg_alloc(struct store *st, uint32_t size, uint32_t *ref)
{
    size = seg_span(st, size);
    if (size > st->seg_size)
        return NULL;
    _evict_ahead(st, 2 * size);
    uint32_t idx = st->head;
    if (!idx || st->segs[idx].wpos + (uint64_t)size > st->seg_size)
        idx = _new_head(st, size);
    return idx ? _carve(st, idx, size, ref) : NULL;
}

bool seg_table_room(struct store *st, size_t extra)
{
    while ((uint64_t)st->used * st->seg_size + ht_bytes(st->ht) + extra > st->limit)
        if (!st->evict || st->used <= 2 || !_give_back_oldest(st))
            return false; /* else the table takes that segment's memory */
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
            _release(st, idx, true);
            continue;
        }
        /* Pinned: bytes stay for the reply or reservation; items die. */
        for (uint32_t off = 0; off < s->wpos;) {
            struct rec r;
            rec_decode(s->mem + off, &r);
            if (r.bits & R_LIVE) {
                r.p[REC_BITS] = (char)(r.bits & ~(R_LIVE | R_ACC));
                s->live -= seg_span(st, r.len);
            }
            off += seg_span(st, r.len);
        }
        s->gen++;
    }
    st->head = st->mhead = 0;
    st->sw_seg = 0;
    st->ev_seg = 0;
    st->stats->curr_items = 0;
    st->stats->bytes = 0;
    ht_clear(st->ht, STORE_HT_POWER);
    seg_gauges(st);
}

/* Walk up to budget records from the cursor, unlinking expired items.
 * Returns the live records looked at. */
unsigned seg_sweep(struct store *st, unsigned budget)
{
    unsigned checked = 0;
    uint32_t idx = st->sw_seg, off = st->sw_off;
    if (!idx || st->segs[idx].state != SEG_USED) {
        idx = st->fifo_head;
        off = 0;
    } else if (st->segs[idx].gen != st->sw_gen) {
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
        rec_decode(s->mem + off, &r);
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
    st->sw_seg = idx;
    st->sw_gen = idx ? st->segs[idx].gen : 0;
    st->sw_off = off;
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
