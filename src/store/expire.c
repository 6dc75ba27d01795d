/* expire: memory of expired items comes back a whole segment at a time,
 * without looking at live items (after Segcache, Yang et al., NSDI 2021).
 * New records are written to a head per expiry class (TTLs within a
 * quarter of an octave, exact below 8 s), so the items of a segment expire
 * together; each segment knows the latest exptime it holds (exp_max). Once
 * that has passed, every item in it is expired: the tick walks such a
 * segment freeing its items (and only those: the walk touches no live item)
 * and the segment goes back, and an allocation that would evict takes one
 * first. Which segments those are is found over the segments, not the
 * items, and only once one may be due (exp_due). */
#include "seg.h"
#include "ht.h"

unsigned seg_exp_class(const struct store *st, int64_t exp)
{
    if (!exp)
        return 0;
    uint64_t t = exp > st->now ? (uint64_t)(exp - st->now) : 0;
    if (t < 8)
        return 1 + (unsigned)t;
    unsigned k = 63u - (unsigned)__builtin_clzll(t); /* t in [2^k, 2^(k+1)), k >= 3 */
    unsigned c = 9 + (k - 3) * 4 + (unsigned)((t >> (k - 2)) & 3);
    return c < EXP_CLASSES ? c : EXP_CLASSES - 1;
}

void seg_note_exp(struct store *st, uint32_t idx, int64_t exp)
{
    struct seg *s = &st->segs[idx];
    int64_t e = exp ? exp : SEG_NEVER;
    if (s->exp_max == 0 && e < st->exp_due) /* a segment's first: it may be the soonest */
        st->exp_due = e;
    if (e > s->exp_max)
        s->exp_max = e;
}

uint32_t *seg_headp(struct store *st, bool main, unsigned cls)
{
    if (cls == 0)
        return main ? &st->mhead : &st->head;
    return &st->theads[main][cls];
}

void seg_open(struct store *st, uint32_t idx, bool main, unsigned cls)
{
    uint32_t *h = seg_headp(st, main, cls);
    if (cls && !*h)
        st->nopen++;
    *h = idx;
    st->segs[idx].cls = (uint8_t)cls;
}

static bool _gone(const struct seg *s, int64_t now)
{
    return s->state == SEG_USED && s->pins == 0 && s->exp_max && s->exp_max <= now;
}

uint32_t seg_exp_pick(struct store *st)
{
    uint32_t c = st->exp_cand;
    if (c && _gone(&st->segs[c], st->now) && st->segs[c].gen == st->exp_cgen)
        return c;
    st->exp_cand = 0;
    if (st->exp_due > st->now)
        return 0;
    int64_t next = INT64_MAX;
    for (uint32_t i = st->fifo_head; i; i = st->segs[i].next) {
        const struct seg *s = &st->segs[i];
        if (_gone(s, st->now)) {
            st->exp_cand = i;
            st->exp_cgen = s->gen;
            return i; /* exp_due stays: there may be more */
        }
        if (s->exp_max > st->now && s->exp_max < next)
            next = s->exp_max;
        else if (s->exp_max && s->exp_max <= st->now) /* pinned: look again in a second */
            next = next < st->now + 1 ? next : st->now + 1;
    }
    st->exp_due = next;
    return 0;
}

/* Free the expired items of segment idx from *off on, looking at up to
 * *budget records. Items found live (a touch moved their exptime) stay and
 * set the segment's new bound. True when the segment went back. */
static bool _drain(struct store *st, uint32_t idx, uint32_t *off, unsigned *budget)
{
    struct seg *s = &st->segs[idx];
    uint32_t gen = s->gen;
    while (*off < s->wpos && *budget) {
        struct rec r;
        rec_decode(s->mem + *off, &r, s->cas_base);
        uint32_t ref = seg_ref(st, idx, *off);
        *off += seg_span(st, r.len);
        (*budget)--;
        if (!(r.bits & R_LIVE))
            continue;
        st->exp_walked++;
        if (!rec_expired(st, &r))
            continue; /* the walk's end sets the bound from what stays */
        seg_unlink(st, ref, &r, store_key_hash(st, r.p + REC_KEY, r.nkey), UNLINK_EXPIRED);
        if (s->state != SEG_USED || s->gen != gen)
            return true;
    }
    if (*off < s->wpos)
        return false;
    if (s->live == 0 && s->pins == 0) {
        seg_release(st, idx, false);
        return true;
    }
    return false;
}

/* A segment whose walk ended with items still live: its bound from them. */
static void _rebound(struct store *st, uint32_t idx)
{
    struct seg *s = &st->segs[idx];
    int64_t m = 0;
    for (uint32_t off = 0; off < s->wpos;) {
        struct rec r;
        rec_decode(s->mem + off, &r, s->cas_base);
        if ((r.bits & (R_LIVE | R_RESV)) && (r.exp ? r.exp : SEG_NEVER) > m)
            m = r.exp ? r.exp : SEG_NEVER;
        off += seg_span(st, r.len);
    }
    s->exp_max = m;
}

unsigned seg_exp_reclaim(struct store *st, unsigned budget)
{
    unsigned start = budget;
    struct seg_cursor *c = &st->exp_cur;
    while (budget) {
        if (!c->seg || !_gone(&st->segs[c->seg], st->now) || st->segs[c->seg].gen != c->gen) {
            if (!(c->seg = seg_exp_pick(st)))
                break;
            seg_close(st, c->seg); /* no more writes into it */
            c->gen = st->segs[c->seg].gen;
            c->off = 0;
        }
        uint32_t idx = c->seg;
        if (_drain(st, idx, &c->off, &budget)) {
            c->seg = 0;
        } else if (c->off >= st->segs[idx].wpos) {
            _rebound(st, idx);
            c->seg = 0;
        }
    }
    return start - budget;
}

bool seg_exp_free_one(struct store *st)
{
    uint32_t idx = seg_exp_pick(st), off = 0;
    unsigned budget = UINT32_MAX;
    if (!idx)
        return false;
    seg_close(st, idx);
    if (st->exp_cur.seg == idx)
        st->exp_cur.seg = 0;
    if (_drain(st, idx, &off, &budget))
        return true;
    _rebound(st, idx);
    return false;
}
