/* evict: the store's eviction policy in one place, S3-FIFO at segment
 * granularity (Yang et al., SOSP 2023). New items are appended to the head
 * of a probation queue (a tenth of the segments); when the limit is
 * reached the oldest probation segment is emptied: items read since they
 * were written (R_ACC) are copied to the main queue's head (mhead), the
 * rest are evicted, and it becomes the new head. When the main queue needs
 * room its oldest segment is compacted in place: items read since its last
 * pass slide down and stay (CLOCK), the rest are evicted. Items read once
 * and never again leave after a tenth of the memory, not a whole lap.
 * Keys evicted unread from probation are remembered (ghost.c); such a key
 * set again goes straight to the main queue (seg_alloc_key), a key larger
 * than the mean only if it comes back soon (_ghost_window).
 * Two questions, each answered once: which segment goes next (_victim,
 * _new_mhead for the main queue's side) and which of its items stay
 * (_kept). The mechanics (lists, mapping, unlinking) are seg.c's. */
#include "seg.h"
#include "ht.h"

static char *_main_alloc(struct store *st, uint32_t size, uint64_t cas, int64_t exp, uint32_t *ref,
                         unsigned *cas_w);

/* What a compaction keeps of the live, unexpired items. */
enum keep {
    KEEP_READ,    /* items read since the last pass slide down (bit cleared) */
    KEEP_ALL,     /* garbage collection: every live item slides down */
    KEEP_PROMOTE, /* probation: items read move to the main queue's head */
    KEEP_FILL,    /* probation taken by the main queue while it is short of its
                   * share: items read, and unread ones up to the mean size,
                   * slide down and stay */
};

/* A record no longer than the items' mean size (bytes / curr_items). */
static bool _at_most_mean(const struct store *st, uint32_t size)
{
    return (uint64_t)size * st->stats->curr_items <= st->stats->bytes;
}

/* Whether an unexpired live item (its record r) stays when its segment is
 * emptied or compacted: read since it was written or last kept, or every
 * item when collecting garbage; when filling, also an unread one up to the
 * items' mean size. Evict-ahead asks the same question early. */
static bool _kept(const struct store *st, const struct rec *r, enum keep how)
{
    if (how == KEEP_ALL || (r->bits & R_ACC))
        return true;
    return how == KEEP_FILL && _at_most_mean(st, r->len);
}

/* An item evicted from probation is remembered in the ghost queue (once
 * the store has started evicting: _ghost_start). */
static void _remember(struct store *st, const struct seg *s, uint64_t h)
{
    if (s->small && ghost_on(&st->ghost))
        ghost_add(&st->ghost, h);
}

static bool _give_back_oldest(struct store *st);

/* What the limit counts: segments, and the table(s) (extra bytes more) and
 * ghost queue beyond their share (seg_meta_over). */
static uint64_t _in_use(const struct store *st, uint64_t extra)
{
    return (uint64_t)st->used * st->seg_size + seg_meta_over(st, extra);
}

/* The ghost queue is made when the store first fills up (its item count
 * sizes it), in the room kept for it (seg_ghost_room): nothing is evicted
 * for it, unless the limit was lowered meanwhile. */
static void _ghost_start(struct store *st)
{
    if (ghost_on(&st->ghost) || st->ghost.refused ||
        !ghost_init(&st->ghost, st->stats->curr_items, st->limit / GHOST_SHARE))
        return;
    while (_in_use(st, 0) > st->limit && st->used > 2 && _give_back_oldest(st)) {
    }
}

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
            rec_decode(s->mem + pf, &a, s->cas_base);
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
        rec_decode(s->mem + off, &r, s->cas_base);
        uint32_t span = seg_span(st, r.len), ref = seg_ref(st, idx, off), to;
        unsigned cas_w;
        char *dst;
        if (!(r.bits & R_LIVE)) {
        } else if (rec_expired(st, &r)) {
            seg_unlink_only(st, ref, &r, h, UNLINK_EXPIRED);
        } else if (how == KEEP_PROMOTE && _kept(st, &r, how) &&
                   (dst = _main_alloc(st, r.len - r.cas_len, r.cas, r.exp, &to, &cas_w)) != NULL) {
            /* its cas from its new segment's base; from now on a main item, not read since */
            rec_copy(dst, &r, cas_w, st->segs[seg_idx(st, to)].cas_base);
            dst[REC_BITS] = (char)(r.bits & ~R_ACC);
            ht_replace_ref(st->ht, h, ref, to);
        } else if (how != KEEP_PROMOTE && _kept(st, &r, how) &&
                   (uint64_t)keep + span + need <= st->seg_size) {
            if (keep != off) /* keep < off: the record slides down */
                mem_move_down(s->mem + keep, r.p, r.len);
            if (how != KEEP_ALL)
                s->mem[keep + REC_BITS] = (char)(r.bits & ~R_ACC);
            ht_replace_ref(st->ht, h, ref, seg_ref(st, idx, keep));
            keep += span;
        } else {
            seg_unlink_only(st, ref, &r, h, UNLINK_EVICTED);
            _remember(st, s, h);
        }
        off += span;
    }
    s->wpos = s->live = keep;
    if (keep == 0)
        s->exp_max = 0;
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

/* Probation segments wanted: a tenth of what the limit allows (S3-FIFO's
 * share), at least 1. Without the ghost queue a quarter did better (a key
 * read every few thousand misses needs a long look); with it, a key pushed
 * out too early comes back to main on its next set (bench/quality.py,
 * -m 16: churn-1.0 0.351 -> 0.345, zipf-0.8 0.596 -> 0.591). */
static uint32_t _small_target(const struct store *st)
{
    return (seg_budget(st) + 9) / 10;
}

/* The segment a new probation head is emptied from: probation's oldest
 * once probation holds its share, else the main queue's oldest (probation's
 * when the main queue has none). 0 when every segment is pinned. */
static uint32_t _victim(const struct store *st)
{
    uint32_t idx = st->nsmall >= _small_target(st) ? _oldest_in(st, true) : 0;
    return idx ? idx : _oldest_unpinned(st);
}

/* A record longer than half a segment gets a segment of its own (solo):
 * no other record is written after it, so its overwrite, delete or expiry
 * frees the segment whole (seg_kill), with nothing to copy out of it. In
 * a shared segment such a record left dead holes that compaction paid for
 * by moving the live records beside them (row L, 4 KB-1 MB values and 90%
 * overwrites: _compact took a seventh of the server's CPU). Past half a
 * segment the room it leaves is less than itself, so little is lost. */
#define CLS_SOLO EXP_CLASSES /* a "class" for _new_head/_new_mhead: not opened as a head */

static bool _solo(const struct store *st, uint32_t span)
{
    return span > st->seg_size / 2;
}

static unsigned _cls(struct store *st, int64_t exp, bool main);

/* The head class a record of this span and exptime is written to. */
static unsigned _place(struct store *st, uint32_t span, int64_t exp, bool main)
{
    return _solo(st, span) ? CLS_SOLO : _cls(st, exp, main);
}

/* An emptied segment whose pages are still resident (seg_release kept
 * them), taken before compacting another: it costs no copy, no fault and
 * no more memory than the store already holds. */
static uint32_t _take_warm(struct store *st)
{
    if (!st->free_head || !st->segs[st->free_head].warm || st->used >= seg_budget(st))
        return 0;
    return seg_take(st);
}

/* A new head opens as the head of its class; a solo segment stays closed. */
static void _opened(struct store *st, uint32_t idx, bool main, unsigned cls)
{
    st->segs[idx].born = st->now;
    if (cls == CLS_SOLO)
        st->segs[idx].cls = 0;
    else
        seg_open(st, idx, main, cls);
    seg_gauges(st);
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
    /* In index order, not the FIFO's: the array streams through the cache,
     * the list's next hops missed it at every segment (row L: 2.6% of the
     * CPU, once per segment taken). Every used segment is in the FIFO. */
    for (uint32_t i = 1; i < st->hiwater; i++) {
        const struct seg *s = &st->segs[i];
        if (s->state == SEG_USED && s->pins == 0 && !seg_is_open(st, i) && s->small == small &&
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
    if (seg_exp_free_one(st))
        return true;
    uint32_t idx = _oldest_unpinned(st);
    if (!idx)
        return false;
    _compact(st, idx, st->seg_size, KEEP_READ); /* nothing fits: every item goes */
    seg_release(st, idx, true);
    return true;
}

void seg_shrink_step(struct store *st)
{
    if (st->evict && st->used > seg_budget(st))
        _give_back_oldest(st);
}


/* A new head for the main queue (items promoted from probation), for
 * expiry class cls: a segment with dead bytes to collect, a fresh one
 * while the limit allows, one whose items have all expired; while
 * probation holds more than its share (after filling up, all of memory),
 * its oldest, compacted in place (items read stay, the rest go): the main
 * queue grows into the room probation gives up; else the main queue's
 * oldest compacted in place (CLOCK). 0 when none can be had. */
static uint32_t _new_mhead(struct store *st, uint32_t need, unsigned cls)
{
    uint32_t idx;
    if ((idx = _take_warm(st)) != 0) {
    } else if ((idx = _gc_victim(st, need, false)) != 0) {
        _compact(st, idx, need, KEEP_ALL);
        seg_fifo_remove(st, idx);
    } else if (st->used < seg_budget(st) && (idx = seg_take(st)) != 0) {
    } else if (seg_exp_free_one(st) && (idx = seg_take(st)) != 0) {
    } else if (st->evict && st->nsmall > _small_target(st) && (idx = _oldest_in(st, true))) {
        seg_close(st, idx);
        _compact(st, idx, need, KEEP_FILL);
        seg_fifo_remove(st, idx);
    } else if (st->evict && (idx = _oldest_in(st, false)) != 0) {
        seg_close(st, idx);
        _compact(st, idx, need, KEEP_READ);
        seg_fifo_remove(st, idx);
    } else {
        return 0;
    }
    seg_push_main(st, idx);
    _opened(st, idx, true, cls);
    return idx;
}

/* Empty segment idx for a probation head: items read since they were
 * written (or, in the main queue, since its last pass) move to the main
 * queue's head, the others are evicted. Pinned meanwhile, so that finding
 * room in the main queue does not pick it. */
static void _empty_for_head(struct store *st, uint32_t idx, uint32_t need)
{
    seg_close(st, idx); /* promoted items must land elsewhere */
    st->segs[idx].pins++;
    _compact(st, idx, need, KEEP_PROMOTE);
    st->segs[idx].pins--;
    seg_fifo_remove(st, idx);
    seg_push_small(st, idx);
}

/* A new head for new items of expiry class cls (the probation queue): a
 * segment with dead bytes to collect, a fresh one while the limit allows,
 * one whose items have all expired. Then the probation queue's oldest is
 * emptied (the main queue's oldest while probation is short of its share). */
static uint32_t _new_head(struct store *st, uint32_t need, unsigned cls)
{
    if (st->evict && st->used >= seg_budget(st))
        _ghost_start(st);
    if (st->evict && st->used > seg_budget(st))
        _give_back_oldest(st);
    uint32_t idx;
    if ((idx = _take_warm(st)) != 0) {
        seg_push_small(st, idx);
    } else if ((idx = _gc_victim(st, need, true)) != 0) {
        _compact(st, idx, need, KEEP_ALL);
        seg_fifo_remove(st, idx);
        seg_push_small(st, idx);
    } else if (st->used < seg_budget(st) && (idx = seg_take(st)) != 0) {
        seg_push_small(st, idx);
    } else if (seg_exp_free_one(st) && (idx = seg_take(st)) != 0) {
        seg_push_small(st, idx);
    } else if (!st->evict) {
        return 0;
    } else {
        if (!(idx = _victim(st)))
            return 0;
        _empty_for_head(st, idx, need);
    }
    _opened(st, idx, false, cls);
    return idx;
}


/* Eviction ahead, a little per allocation. When the next head can only come
 * from evicting, the next victim's unread and expired items are unlinked a
 * few at a time while the current head fills (records worth about twice
 * each allocation), so that emptying it then only moves the survivors: no
 * single request pays for a whole segment of unlinks. Not while a segment
 * of expired items is there to take instead. */
static void _evict_ahead(struct store *st, uint32_t budget)
{
    if (!st->evict || st->free_head || st->used < seg_budget(st) || seg_exp_pick(st))
        return;
    _ghost_start(st);
    uint32_t idx = st->ev_seg;
    if (!idx || seg_is_open(st, idx) || st->segs[idx].state != SEG_USED ||
        st->segs[idx].gen != st->ev_gen) {
        if (!(idx = _victim(st)) || seg_is_open(st, idx))
            return;
        st->ev_seg = idx;
        st->ev_gen = st->segs[idx].gen;
        st->ev_off = 0;
    }
    struct seg *s = &st->segs[idx];
    for (uint32_t done = 0; st->ev_off < s->wpos && done < budget;) {
        struct rec r;
        rec_decode(s->mem + st->ev_off, &r, s->cas_base);
        uint32_t span = seg_span(st, r.len), ref = seg_ref(st, idx, st->ev_off);
        st->ev_off += span;
        done += span;
        if (!(r.bits & R_LIVE))
            continue;
        bool expired = rec_expired(st, &r);
        if (!expired && _kept(st, &r, KEEP_PROMOTE))
            continue; /* the emptying keeps or promotes it */
        uint64_t h = store_key_hash(st, r.p + REC_KEY, r.nkey);
        seg_unlink(st, ref, &r, h, expired ? UNLINK_EXPIRED : UNLINK_EVICTED);
        if (!expired)
            _remember(st, s, h);
        if (s->state != SEG_USED || s->gen != st->ev_gen) { /* emptied and released */
            st->ev_seg = 0;
            return;
        }
    }
}

/* How far ahead of the counter a segment opened next sets its cas base:
 * the middle of the cas its records will get (one each, at the items'
 * mean size), at most 20480, so that 2-byte differences (-20480..20479)
 * cover 40960 records, not the 20480 of 0..20479. Fixed until the next
 * segment opens, as _span sized the record for it. With -C every cas is
 * 0: no distance. */
static uint64_t _cas_ahead(const struct store *st)
{
    const struct stats *x = st->stats;
    if (st->no_cas || !x->bytes || !x->curr_items)
        return 0;
    uint64_t n = (uint64_t)st->seg_size * x->curr_items / x->bytes;
    return n / 2 < CV_HALF ? n / 2 : CV_HALF;
}

/* size bytes at the end of segment idx (the caller checked they fit), for
 * a record with exptime exp. */
static char *_carve(struct store *st, uint32_t idx, uint32_t size, int64_t exp, uint32_t *ref)
{
    struct seg *s = &st->segs[idx];
    if (s->wpos == 0) { /* its records' cas are told from here on (_span) */
        s->cas_base = st->cas + st->cas_ahead;
        st->cas_ahead = _cas_ahead(st);
    }
    *ref = seg_ref(st, idx, s->wpos);
    char *p = s->mem + s->wpos;
    s->wpos += size;
    s->live += size;
    seg_note_exp(st, idx, exp);
    return p;
}

/* Open heads of expiry classes: an eighth of the segments at most, so that
 * partly filled heads never take much of a small -m. */
static unsigned _cls(struct store *st, int64_t exp, bool main)
{
    unsigned c = seg_exp_class(st, exp);
    if (c && !*seg_headp(st, main, c) && st->nopen >= seg_budget(st) / 8)
        return 0;
    return c;
}

/* The width of the cas varint holding cas in segment idx, and the span of
 * a record of size bytes besides it: the base is the counter, plus
 * cas_ahead, when the segment got its first record (_carve), so a record
 * written with its segment holds a small difference. */
static uint32_t _span(const struct store *st, uint32_t idx, uint32_t size, uint64_t cas,
                      unsigned *cas_w)
{
    const struct seg *s = &st->segs[idx];
    *cas_w = rec_cvlen(rec_cas_code(cas, s->wpos ? s->cas_base : st->cas + st->cas_ahead));
    return seg_span(st, size + *cas_w);
}

/* The head of queue main for class cls when the record fits in it. */
static uint32_t _room(struct store *st, bool main, unsigned cls, uint32_t size, uint64_t cas,
                      uint32_t *span, unsigned *cas_w)
{
    if (cls == CLS_SOLO) /* never shares: always a new segment */
        return 0;
    uint32_t idx = *seg_headp(st, main, cls);
    if (!idx)
        return 0;
    *span = _span(st, idx, size, cas, cas_w);
    return st->segs[idx].wpos + (uint64_t)*span <= st->seg_size ? idx : 0;
}

/* A new head (made by next, with room for the widest cas) and the record's
 * span there. */
static uint32_t _room_new(struct store *st, uint32_t (*next)(struct store *, uint32_t, unsigned),
                          unsigned cls, uint32_t size, uint64_t cas, uint32_t *span,
                          unsigned *cas_w)
{
    uint32_t idx = next(st, seg_span(st, size + REC_CAS_MAX), cls);
    if (idx)
        *span = _span(st, idx, size, cas, cas_w);
    return idx;
}

/* Room in the main queue for a promoted record (size: its bytes besides the cas). */
static char *_main_alloc(struct store *st, uint32_t size, uint64_t cas, int64_t exp, uint32_t *ref,
                         unsigned *cas_w)
{
    unsigned cls = _place(st, seg_span(st, size + REC_CAS_MAX), exp, true);
    uint32_t span, idx = _room(st, true, cls, size, cas, &span, cas_w);
    if (!idx)
        idx = _room_new(st, _new_mhead, cls, size, cas, &span, cas_w);
    return idx ? _carve(st, idx, span, exp, ref) : NULL;
}

/* How much of the ghost's span a returning record of size bytes may have
 * been away, in 256ths: all of it up to the items' mean size, (mean /
 * size)^3 of it beyond. A remembered key skips probation's test, so a
 * large one must come back sooner, i.e. be read more often per byte, to
 * earn main's room (bench/README.md, "Size-aware policies": 1-2% fewer
 * misses at Zipf 0.8-0.9 with 100-1000 B values, none more when new keys
 * keep turning hot). */
static unsigned _ghost_window(const struct store *st, uint32_t size)
{
    if (_at_most_mean(st, size))
        return 256;
    uint64_t r = st->stats->bytes * 256 / ((uint64_t)size * st->stats->curr_items); /* mean / size */
    return (unsigned)(r * r * r >> 16);
}

/* A key the ghost queue remembers goes to the main queue's head, only into
 * the room it has: a new head may cost a whole segment's compaction, which
 * promotions pay for, a set must not (evict-ahead's promise). Without room
 * the key starts on probation as any other, and stays remembered. */
char *seg_alloc_key(struct store *st, uint32_t size, uint64_t cas, int64_t exp, uint32_t *ref,
                    unsigned *cas_w, const char *key, size_t nkey)
{
    uint32_t span, idx;
    if (!ghost_on(&st->ghost) ||
        !(idx = _room(st, true, _place(st, seg_span(st, size + REC_CAS_MAX), exp, true), size,
                      cas, &span, cas_w)) ||
        !ghost_take(&st->ghost, store_key_hash(st, key, nkey), _ghost_window(st, size)))
        return seg_alloc(st, size, cas, exp, ref, cas_w);
    _evict_ahead(st, 2 * span);
    return _carve(st, idx, span, exp, ref);
}

char *seg_alloc(struct store *st, uint32_t size, uint64_t cas, int64_t exp, uint32_t *ref,
                unsigned *cas_w)
{
    uint32_t span = seg_span(st, size + REC_CAS_MAX);
    if (span > st->seg_size)
        return NULL;
    _evict_ahead(st, 2 * span);
    unsigned cls = _place(st, span, exp, false);
    uint32_t idx = _room(st, false, cls, size, cas, &span, cas_w);
    if (!idx)
        idx = _room_new(st, _new_head, cls, size, cas, &span, cas_w);
    return idx ? _carve(st, idx, span, exp, ref) : NULL;
}

bool seg_table_room(struct store *st, size_t extra)
{
    while (_in_use(st, extra) > st->limit)
        if (!st->evict || st->used <= 2 || !_give_back_oldest(st))
            return false; /* else the table takes that segment's memory */
    return true;
}
