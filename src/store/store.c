/* store: the commands on items (see store.h). Segments and sweeping live in
 * seg.c, the eviction policy in evict.c, -e in restart.c; the record format
 * is described in seg.h, private to src/store. */
#include "store.h"
#include "hash.h"
#include "lib/mem.h"
#include "ht.h"
#include "seg.h"
#include "lib/stats.h"

#include <stdlib.h>
#include <time.h>

#define REL_MAX 2592000 /* memcached: exptimes up to 30 days are relative */
/* Records the expiry sweep visits per tick: enough to pass over every item
 * about once a minute at 10 ticks a second, never less than a floor. */
#define SWEEP_FLOOR 1024
#define SWEEP_TICKS_PER_PASS 600
/* Records of wholly expired segments freed per tick: all of the store's
 * items within 32 ticks (3.2 s), at least a floor. */
#define EXP_FLOOR 16384
#define EXP_TICKS_PER_PASS 32
#define TICK_HT_STEP 65536

static uint64_t _ht_hash(void *ctx, uint32_t ref)
{
    struct store *st = ctx;
    const char *p = seg_ptr(st, ref);
    return store_key_hash(st, p + REC_KEY, (unsigned char)p[REC_NKEY]);
}

static void _ht_touch(void *ctx, uint32_t ref)
{
    __builtin_prefetch(seg_ptr(ctx, ref) + REC_NKEY); /* nkey and the key: one line, mostly */
}

static bool _ht_match(void *ctx, uint32_t ref, const char *key, size_t nkey)
{
    const char *p = seg_ptr(ctx, ref);
    return (unsigned char)p[REC_NKEY] == nkey && mem_equal(p + REC_KEY, key, nkey);
}

struct store *store_create(const struct store_config *cfg, struct stats *stats)
{
    struct store *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->stats = stats ? stats : &st->own_stats;
    st->evict = cfg->evict;
    st->no_cas = cfg->no_cas;
    st->cas = cfg->no_cas ? 0 : 1; /* 1.6.45's counter starts at 1 and gives the next: first cas 2 */
    st->large_flags = cfg->large_flags;
    st->large_pages = cfg->large_pages && !cfg->memory_file; /* -e: the file's pages */
    st->now = (int64_t)time(NULL); /* a default until the loop sets the clock */
    st->seed = 0x6d656d67u ^ ((uint64_t)(uintptr_t)st << 16) ^ (uint64_t)st->now;
    uint64_t item_max = cfg->item_size_max ? cfg->item_size_max : 1024 * 1024;
    st->ht_level0 = cfg->ht_power ? 2 * cfg->ht_power : STORE_HT_LEVEL; /* 2^N slots: level 2N */
    st->no_expand = cfg->no_ht_expand;
    if (!seg_setup(st, cfg->mem_limit, item_max) ||
        (cfg->track_sizes && !seg_sizes_setup(st)) ||
        !(st->ht = ht_create(st->ht_level0, _ht_hash, _ht_match, st)) ||
        (cfg->memory_file && !seg_file_open(st, cfg->memory_file, cfg->note, cfg->note_len))) {
        store_destroy(st);
        return NULL;
    }
    ht_set_touch(st->ht, _ht_touch);
    seg_gauges(st);
    return st;
}

void store_destroy(struct store *st)
{
    if (!st)
        return;
    ht_destroy(st->ht);
    free(st->sizes);
    ghost_free(&st->ghost);
    seg_teardown(st);
    free(st);
}

void store_set_time(struct store *st, int64_t unix_now)
{
    if (st->clock_paused)
        return; /* memcached's clock_handler returns early while paused */
    unix_now += st->clock_delta;
    st->now = unix_now < 1 ? 1 : unix_now; /* exp == now means expired; 0 means never */
}

void store_debug_pause(struct store *st, bool paused)
{
    st->clock_paused = paused;
}

/* memcached adds the whole sum to current_time at once (current_time +=
 * delta) and its next tick takes the excess back; here now moves by secs
 * only, as the tick will have it: a clock stepping back would bring back
 * the items stored already expired (exp == now), where memcached's keep
 * exptime 1 (expirations.t tests 10 and 36 then failed now and then). */
void store_debug_shift(struct store *st, int64_t secs)
{
    st->clock_delta = (int64_t)((uint64_t)st->clock_delta + (uint64_t)secs);
    int64_t t = (int64_t)((uint64_t)st->now + (uint64_t)secs);
    st->now = t < 1 ? 1 : t;
}

int64_t store_time(const struct store *st)
{
    return st->now;
}

/* Protocol exptime -> unix time; 0 never; "now" is already expired. */
static int64_t _exptime(const struct store *st, int64_t e)
{
    if (e == 0)
        return 0;
    if (e < 0)
        return st->now;
    int64_t t = e <= REL_MAX ? st->now + e : e;
    return t <= st->now ? st->now : t;
}

int64_t store_exptime(const struct store *st, int64_t exptime)
{
    return _exptime(st, exptime);
}

/* A delayed flush_all is due: memcached invalidates from one second early. */
static void _begin(struct store *st)
{
    if (st->flush_at && st->now >= st->flush_at) {
        st->flush_at = 0;
        seg_flush(st);
    }
}

/* Live, unexpired item for key, or NULL; an expired one is unlinked. */
static uint32_t *_find(struct store *st, const char *key, size_t nkey, uint64_t h, struct rec *r,
                       bool *expired)
{
    if (nkey == 0 || nkey > 255)
        return NULL;
    uint32_t *slot = ht_find(st->ht, h, key, nkey);
    if (!slot)
        return NULL;
    seg_rec(st, *slot, r);
    if (!rec_expired(st, r))
        return slot;
    seg_unlink(st, *slot, r, h, UNLINK_EXPIRED);
    if (expired)
        *expired = true;
    return NULL;
}

/* The slot of key's live item after a due flush (r decoded, *h its hash). */
static uint32_t *_lookup(struct store *st, const char *key, size_t nkey, uint64_t *h,
                         struct rec *r)
{
    _begin(st);
    *h = store_key_hash(st, key, nkey);
    return _find(st, key, nkey, *h, r, NULL);
}

static void _view(const struct store *st, uint32_t ref, const struct rec *r, struct item_view *out)
{
    out->key = r->p + REC_KEY;
    out->nkey = r->nkey;
    out->value = r->val;
    out->nvalue = r->nval;
    out->flags = r->flags;
    out->cas = r->cas;
    out->pin = seg_idx(st, ref);
    out->exp = r->exp;
    out->atime = la_time(r->meta, st->now);
    out->mbits = (uint8_t)(((r->bits & R_FETCH) ? ITEM_FETCHED : 0) |
                           ((r->bits & R_STALE) ? ITEM_STALE : 0) |
                           ((r->bits & R_WON) ? ITEM_WON : 0) |
                           ((r->meta & LA_BINKEY) ? ITEM_BINKEY : 0));
}

bool store_lookup(struct store *st, const char *key, size_t nkey, bool bump,
                  struct item_view *out)
{
    _begin(st);
    struct rec r;
    bool expired = false;
    uint32_t *slot = _find(st, key, nkey, store_key_hash(st, key, nkey), &r, &expired);
    if (!slot) {
        st->stats->get_expired += expired;
        return false;
    }
    _view(st, *slot, &r, out); /* as before this access */
    if (!bump)
        return true;
    if ((r.bits & (R_ACC | R_FETCH)) != (R_ACC | R_FETCH)) /* keep hot lines clean */
        r.p[REC_BITS] = (char)(r.bits | R_ACC | R_FETCH);
    uint16_t meta = la_stamp(r.meta, st->now);
    if (meta != r.meta) /* at most once a second per item */
        rec_set_meta(&r, meta);
    return true;
}

bool store_get(struct store *st, const char *key, size_t nkey, struct item_view *out)
{
    return store_lookup(st, key, nkey, true, out);
}

/* --- linking ----------------------------------------------------------------- */

static bool _table_insert(struct store *st, uint64_t h, uint32_t ref)
{
    size_t extra = st->no_expand ? 0 : ht_grow_bytes(st->ht);
    if (extra && seg_table_room(st, extra) && !ht_grow(st->ht))
        st->stats->malloc_fails++;
    bool ok = ht_insert(st->ht, h, ref);
    seg_gauges(st);
    return ok;
}

/* The one place a cas is given: hint (meta E) or the next unique, which
 * _cas_take then counts; with -C always 0 and the counter stays 0. */
static uint64_t _cas_give(const struct store *st, uint64_t hint)
{
    return st->no_cas ? 0 : hint ? hint : st->cas + 1;
}

static void _cas_take(struct store *st, uint64_t hint, uint64_t given)
{
    if (!hint && given)
        st->cas = given;
}

/* Make the record at ref (r) the item for its key, replacing *slot's item
 * when slot is set. cas 0 means a fresh one. */
static enum store_status _link(struct store *st, uint32_t ref, struct rec *r, uint64_t h,
                               uint32_t *slot, uint64_t cas)
{
    struct stats *s = st->stats;
    uint64_t c = _cas_give(st, cas);
    if (!rec_cas_fits(r, c)) { /* the caller checked (store_commit_ex rewrites) */
        seg_kill(st, ref, r);
        return STORE_NO_MEMORY;
    }
    rec_set_cas(r, c);
    _cas_take(st, cas, c);
    r->bits = (uint8_t)((r->bits & ~R_RESV) | R_LIVE);
    r->p[REC_BITS] = (char)r->bits;
    if (slot) {
        struct rec old;
        uint32_t oref = *slot;
        seg_rec(st, oref, &old);
        *slot = ref;
        s->bytes -= old.len;
        seg_sizes_note(st, &old, -1);
        seg_kill(st, oref, &old);
    } else {
        uint32_t idx = seg_idx(st, ref);
        seg_pin(st, idx); /* growing the table may evict: not this record */
        bool ok = _table_insert(st, h, ref);
        seg_unpin(st, idx);
        if (!ok) {
            seg_kill(st, ref, r);
            return STORE_NO_MEMORY;
        }
        s->curr_items++;
    }
    seg_sizes_note(st, r, 1);
    s->bytes += r->len;
    s->total_items++;
    return STORE_OK;
}

/* Write a new version of the item of src's key (live in the table) from
 * src, the record at sref: src's key and flags, exptime exp, meta, extra bits and value pieces a+b; src's
 * bytes stay pinned while the new ones are allocated (allocation may compact
 * segments). *src becomes the new record. */
static enum store_status _rewrite(struct store *st, uint64_t h, uint32_t sref, struct rec *src,
                                  int64_t exp, uint16_t meta, uint8_t bits, const char *a,
                                  size_t na, const char *b, size_t nb, uint64_t cas)
{
    unsigned cas_w;
    uint64_t size = rec_size(src->nkey, 0, src->flags, exp, (uint64_t)na + nb);
    uint32_t sidx = seg_idx(st, sref), ref;
    if (size > st->seg_size)
        return STORE_NO_MEMORY;
    seg_pin(st, sidx);
    char *p = seg_alloc(st, (uint32_t)size, _cas_give(st, cas), exp, &ref, &cas_w);
    enum store_status rc = STORE_NO_MEMORY;
    if (p) {
        seg_rec(st, sref, src); /* pinned: still there */
        char *v = rec_write(p, R_RESV | bits, src->p + REC_KEY, src->nkey, meta, cas_w,
                            src->flags, exp, (uint32_t)(na + nb), 0);
        memcpy(v, a, na);
        if (nb)
            memcpy(v + na, b, nb);
        struct rec r;
        seg_rec(st, ref, &r);
        uint32_t *slot = ht_find(st->ht, h, src->p + REC_KEY, src->nkey);
        rc = _link(st, ref, &r, h, slot, cas);
        *src = r;
    }
    seg_unpin(st, sidx);
    return rc;
}

/* The bits a new version of the same item keeps. */
#define SAME_ITEM (R_ACC | R_FETCH | R_STALE | R_WON)

/* --- touch ----------------------------------------------------------------------- */

/* The record r (at ref) gets exptime exp: in place when the varint holds
 * it, else as a new version. */
static bool _set_exp(struct store *st, uint64_t h, uint32_t ref, struct rec *r, int64_t exp)
{
    if (exp == 0 && !(r->bits & R_EXP))
        return true;
    if ((r->bits & R_EXP) && rec_vlen((uint64_t)exp) <= r->exp_len) {
        rec_vput((unsigned char *)r->p + r->exp_off, (uint64_t)exp, r->exp_len);
        r->exp = exp;
        seg_note_exp(st, seg_idx(st, ref), exp); /* its segment's bound may move out */
        return true;
    }
    return _rewrite(st, h, ref, r, exp, r->meta, r->bits & SAME_ITEM, r->val, r->nval, NULL, 0,
                    r->cas) == STORE_OK;
}

bool store_touch(struct store *st, const char *key, size_t nkey, int64_t exptime,
                 struct item_view *out)
{
    struct rec r;
    uint64_t h;
    uint32_t *slot = _lookup(st, key, nkey, &h, &r);
    if (!slot || !_set_exp(st, h, *slot, &r, _exptime(st, exptime)))
        return false;
    slot = ht_find(st->ht, h, key, nkey);
    if (out)
        _view(st, *slot, &r, out);
    r.p[REC_BITS] = (char)(r.bits | R_ACC | (out ? R_FETCH : 0));
    rec_set_meta(&r, la_stamp(r.meta, st->now));
    return true;
}

enum store_status store_update(struct store *st, const char *key, size_t nkey,
                               const struct store_update *u)
{
    struct rec r;
    uint64_t h;
    uint32_t *slot = _lookup(st, key, nkey, &h, &r);
    if (!slot)
        return STORE_NOT_FOUND;
    uint8_t bits = r.bits;
    bits = (uint8_t)(bits | ((u->set & ITEM_STALE) ? R_STALE : 0) | ((u->set & ITEM_WON) ? R_WON : 0));
    bits = (uint8_t)(bits & ~(((u->clear & ITEM_STALE) ? R_STALE : 0) |
                              ((u->clear & ITEM_WON) ? R_WON : 0)));
    r.bits = bits;
    r.p[REC_BITS] = (char)bits;
    if (u->set_cas) {
        uint64_t cas = _cas_give(st, u->cas);
        if (rec_cas_fits(&r, cas)) {
            rec_set_cas(&r, cas);
            _cas_take(st, u->cas, cas);
        } else if (_rewrite(st, h, *slot, &r, r.exp, r.meta, r.bits & SAME_ITEM, r.val, r.nval,
                            NULL, 0, u->cas) != STORE_OK) {
            return STORE_NO_MEMORY;
        }
    }
    if (u->set_exp) {
        slot = ht_find(st->ht, h, key, nkey);
        if (!_set_exp(st, h, *slot, &r, _exptime(st, u->exptime)))
            return STORE_NO_MEMORY;
    }
    return STORE_OK;
}

/* --- reserve / commit ------------------------------------------------------------- */

/* What is "too large" is decided by memcached's (64-bit) accounting, so that
 * memg refuses exactly the values memcached refuses: a 48-byte item header,
 * the key and its NUL, flags when set, the value with \r\n, an 8-byte cas
 * (none with -C). memg's own record is always smaller, so it fits a segment. */
uint64_t store_item_total(const struct store *st, size_t nkey, uint64_t flags, uint64_t nvalue)
{
    uint64_t fw = flags ? (st->large_flags ? 8 : 4) : 0; /* memcached's sizeof(client_flags_t) */
    return 48 + (uint64_t)nkey + 1 + fw + nvalue + 2 + (st->no_cas ? 0 : 8);
}

bool store_has_cas(const struct store *st)
{
    return !st->no_cas;
}

enum store_status store_reserve_ex(struct store *st, const char *key, size_t nkey,
                                   uint64_t flags, int64_t exptime, size_t nvalue,
                                   uint64_t cas_hint, struct store_txn *txn)
{
    _begin(st);
    int64_t exp = _exptime(st, exptime);
    unsigned cas_w;
    if (nkey == 0 || nkey > 255 || store_item_total(st, nkey, flags, nvalue) > st->item_max)
        return STORE_TOO_LARGE;
    /* the cas varint's width: for the cas a commit now would give */
    uint32_t ref, size = (uint32_t)rec_size(nkey, 0, flags, exp, nvalue);
    char *p = seg_alloc_key(st, size, _cas_give(st, cas_hint), exp, &ref, &cas_w, key, nkey);
    if (!p)
        return STORE_NO_MEMORY;
    seg_prefault(st, ref, size);
    txn->value = rec_write(p, R_RESV, key, nkey, la_stamp(0, st->now), cas_w, flags, exp,
                           (uint32_t)nvalue, 0);
    txn->nvalue = nvalue;
    txn->ref = ref;
    txn->pin = seg_idx(st, ref);
    seg_pin(st, txn->pin);
    return STORE_OK;
}

enum store_status store_reserve(struct store *st, const char *key, size_t nkey, uint64_t flags,
                                int64_t exptime, size_t nvalue, struct store_txn *txn)
{
    return store_reserve_ex(st, key, nkey, flags, exptime, nvalue, 0, txn);
}

static void _txn_end(struct store *st, struct store_txn *txn, bool kill)
{
    if (kill) {
        struct rec r;
        seg_rec(st, txn->ref, &r);
        seg_kill(st, txn->ref, &r);
    }
    seg_unpin(st, txn->pin);
    txn->ref = txn->pin = 0;
    txn->value = NULL;
}

void store_abort(struct store *st, struct store_txn *txn)
{
    if (txn->ref)
        _txn_end(st, txn, true);
}

/* append/prepend: a new record old+new or new+old with the old flags and
 * exptime; memcached answers "out of memory" when it is too big. */
static enum store_status _concat(struct store *st, struct store_txn *txn, struct rec *n,
                                 struct rec *o, uint64_t h, bool append, uint64_t cas)
{
    enum store_status rc = STORE_NO_MEMORY;
    if (store_item_total(st, o->nkey, o->flags, (uint64_t)o->nval + n->nval) <= st->item_max) {
        const char *a = append ? o->val : n->val, *b = append ? n->val : o->val;
        size_t na = append ? o->nval : n->nval, nb = append ? n->nval : o->nval;
        uint32_t *slot = ht_find(st->ht, h, o->p + REC_KEY, o->nkey);
        rc = _rewrite(st, h, *slot, o, o->exp, la_stamp(o->meta, st->now),
                      o->bits & (R_ACC | R_FETCH), a, na, b, nb, cas);
    }
    _txn_end(st, txn, true);
    return rc;
}

enum store_status store_commit_ex(struct store *st, struct store_txn *txn, enum store_mode mode,
                                  const struct store_cond *c, struct store_result *res)
{
    _begin(st);
    struct rec n, o;
    seg_rec(st, txn->ref, &n);
    if (c->mbits & ITEM_BINKEY)
        rec_set_meta(&n, (uint16_t)(n.meta | LA_BINKEY));
    uint64_t h = store_key_hash(st, n.p + REC_KEY, n.nkey);
    uint32_t *slot = _find(st, n.p + REC_KEY, n.nkey, h, &o, NULL);
    bool concat = mode == STORE_APPEND || mode == STORE_PREPEND, stale = false;
    enum store_status rc = STORE_OK;
    if (mode == STORE_ADD && slot) {
        rec_set_meta(&o, la_stamp(o.meta, st->now)); /* memcached bumps what add met */
        rc = STORE_NOT_STORED;
    } else if ((mode == STORE_REPLACE || concat) && !slot) {
        if (concat && c->vivify)
            concat = false; /* stored as it is */
        else
            rc = STORE_NOT_STORED;
    } else if (mode == STORE_CAS && !slot) {
        rc = STORE_NOT_FOUND;
    } else if (mode == STORE_CAS && (st->no_cas || o.cas != c->cas_in)) {
        if (c->allow_stale && c->cas_in < o.cas)
            stale = true;
        else
            rc = STORE_EXISTS; /* -C: whatever the client sent, as memcached -C */
    } else if (concat && c->cas_in && !st->no_cas && o.cas != c->cas_in) {
        rc = STORE_EXISTS; /* an append may name the cas it extends (-C: ignored) */
    }
    if (rc != STORE_OK) {
        _txn_end(st, txn, true);
        return rc;
    }
    if (concat) {
        rc = _concat(st, txn, &n, &o, h, mode == STORE_APPEND, c->cas_new);
    } else if (stale) { /* the new value, the old exptime, marked stale */
        rc = _rewrite(st, h, txn->ref, &n, o.exp, n.meta, R_STALE | (o.bits & R_WON), n.val,
                      n.nval, NULL, 0, c->cas_new);
        _txn_end(st, txn, true);
        o = n;
    } else if (!rec_cas_fits(&n, _cas_give(st, c->cas_new))) {
        /* the counter moved past the width while the value arrived: a copy */
        rc = _rewrite(st, h, txn->ref, &n, n.exp, n.meta, 0, n.val, n.nval, NULL, 0, c->cas_new);
        _txn_end(st, txn, true);
        o = n;
    } else {
        rc = _link(st, txn->ref, &n, h, slot, c->cas_new);
        _txn_end(st, txn, false);
        o = n;
    }
    if (res && rc == STORE_OK) {
        res->cas = o.cas;
        res->nvalue = o.nval;
    }
    return rc;
}

enum store_status store_commit(struct store *st, struct store_txn *txn, enum store_mode mode,
                               uint64_t cas_in)
{
    struct store_cond c = {.cas_in = cas_in};
    return store_commit_ex(st, txn, mode, &c, NULL);
}

enum store_status store_delete(struct store *st, const char *key, size_t nkey, uint64_t cas_in)
{
    struct rec r;
    uint64_t h;
    uint32_t *slot = _lookup(st, key, nkey, &h, &r);
    if (!slot)
        return STORE_NOT_FOUND;
    if (cas_in && r.cas != cas_in)
        return STORE_EXISTS;
    seg_unlink(st, *slot, &r, h, UNLINK_DELETE);
    return STORE_OK;
}

/* --- incr / decr ------------------------------------------------------------------- */

static bool _space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* memcached's safe_strtoull over a value followed by "\r\n". */
static bool _parse_u64(const char *s, size_t n, uint64_t *out)
{
    size_t i = 0;
    bool neg = false, digits = false;
    uint64_t v = 0;
    if (n == 0)
        return false;
    while (i < n && _space(s[i]))
        i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits = true) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false; /* ERANGE */
        v = v * 10 + d;
    }
    if (!digits) /* strtoull's end is its start: memcached refuses */
        return false;
    if (i < n && !_space(s[i]) && s[i] != '\0') /* memcached reads a C string */
        return false;
    if (neg) {
        v = (uint64_t)0 - v;
        if (v > (uint64_t)INT64_MAX) /* memcached refuses what looks negative */
            return false;
    }
    *out = v;
    return true;
}

enum store_status store_incr(struct store *st, const char *key, size_t nkey, bool incr,
                             uint64_t delta, uint64_t cas_in, uint64_t *result)
{
    struct rec r;
    uint64_t h, v;
    uint32_t *slot = _lookup(st, key, nkey, &h, &r);
    if (!slot)
        return STORE_NOT_FOUND;
    if (cas_in && r.cas != cas_in)
        return STORE_EXISTS;
    if (!_parse_u64(r.val, r.nval, &v))
        return STORE_NON_NUMERIC;
    v = incr ? v + delta : (delta > v ? 0 : v - delta);
    char buf[24];
    int n = 0;
    uint64_t t = v;
    do
        buf[sizeof buf - 1 - n++] = (char)('0' + t % 10);
    while ((t /= 10) != 0);
    const char *digits = buf + sizeof buf - n;
    *result = v;
    uint64_t cas = _cas_give(st, 0);
    if ((uint32_t)n <= r.nval && st->segs[seg_idx(st, *slot)].pins == 0) {
        if (rec_cas_fits(&r, cas)) {
            rec_set_cas(&r, cas); /* the same item: stale and win marks stay */
            _cas_take(st, 0, cas);
        } else if (_rewrite(st, h, *slot, &r, r.exp, r.meta, r.bits & SAME_ITEM, r.val, r.nval,
                            NULL, 0, 0) != STORE_OK) { /* the cas outgrew its field: a copy */
            return STORE_NO_MEMORY;
        }
        memcpy(r.val, digits, (size_t)n); /* memcached pads a shorter number */
        memset(r.val + n, ' ', r.nval - (uint32_t)n);
        return STORE_OK;
    }
    /* a new item, as memcached makes when the number grows: no marks */
    return _rewrite(st, h, *slot, &r, r.exp, r.meta, r.bits & (R_ACC | R_FETCH), digits, (size_t)n,
                    NULL, 0, 0);
}

void store_prefetch(const struct store *st, const char *const *keys, const size_t *nkeys,
                    size_t n)
{
    uint64_t h[STORE_PREFETCH_MAX];
    if (n > STORE_PREFETCH_MAX)
        n = STORE_PREFETCH_MAX;
    for (size_t i = 0; i < n; i++) { /* the slots, all loads in flight at once */
        h[i] = store_key_hash(st, keys[i], nkeys[i]);
        ht_prefetch(st->ht, h[i]);
    }
    for (size_t i = 0; i < n; i++) { /* then the records the slots name */
        uint32_t next, ref = ht_first(st->ht, h[i], &next);
        if (ref == HT_EMPTY)
            continue;
        const char *rec = seg_ptr(st, ref);
        __builtin_prefetch(rec);
        __builtin_prefetch(rec + 63); /* a small record's value, when it spans two lines */
        if (next != HT_EMPTY)
            __builtin_prefetch(seg_ptr(st, next));
    }
}

uint64_t store_last_cas(const struct store *st)
{
    return st->cas;
}

/* --- flush, tick, pins, usage --------------------------------------------------------- */

void store_flush(struct store *st, int64_t exptime)
{
    st->flush_at = 0;
    if (exptime > 0) {
        int64_t t = _exptime(st, exptime) - 1;
        if (t > st->now) {
            st->flush_at = t;
            return;
        }
    }
    seg_flush(st);
}

/* One sweep step from cursor c (0: the walk over wholly expired segments),
 * counted as memcached counts its crawler's work: what it frees apart from
 * `reclaimed`. Returns the items checked. */
static unsigned _sweep(struct store *st, struct seg_cursor *c, unsigned n)
{
    uint64_t reclaimed = st->stats->reclaimed, walked = st->exp_walked;
    unsigned checked = c ? seg_sweep(st, c, n) : 0;
    if (!c) {
        seg_exp_reclaim(st, n);
        checked = (unsigned)(st->exp_walked - walked);
    }
    st->stats->crawler_items_checked += checked;
    st->stats->crawler_reclaimed += st->stats->reclaimed - reclaimed;
    st->stats->reclaimed = reclaimed;
    return checked;
}

void store_tick(struct store *st)
{
    _begin(st);
    ht_step(st->ht, TICK_HT_STEP);
    uint64_t budget = st->stats->curr_items / SWEEP_TICKS_PER_PASS;
    uint64_t exp_budget = st->stats->curr_items / EXP_TICKS_PER_PASS;
    if (!st->sweep_off) {
        _sweep(st, NULL, exp_budget > EXP_FLOOR ? (unsigned)exp_budget : EXP_FLOOR);
        _sweep(st, &st->sweep, budget > SWEEP_FLOOR ? (unsigned)budget : SWEEP_FLOOR);
    }
    seg_shrink_step(st);
    seg_cool_step(st);
    seg_gauges(st);
}

void store_sweep_enable(struct store *st, bool on)
{
    st->sweep_off = !on;
    st->crawling = st->crawling && on; /* the crawler stops: its crawl too */
    st->stats->lru_crawler_running = st->crawling;
}

bool store_crawl(struct store *st, uint64_t max)
{
    if (st->crawling)
        return false;
    st->crawling = true;
    st->crawl = (struct seg_cursor){0, 0, 0};
    st->crawl_left = max ? max : UINT64_MAX;
    st->stats->lru_crawler_starts++;
    st->stats->lru_crawler_running = 1;
    return true;
}

bool store_crawling(const struct store *st)
{
    return st->crawling;
}

void store_crawl_step(struct store *st, unsigned n)
{
    if (!st->crawling)
        return;
    _begin(st);
    if (n > st->crawl_left)
        n = (unsigned)st->crawl_left;
    st->crawl_left -= _sweep(st, &st->crawl, n);
    if (st->crawl.seg == 0 || st->crawl_left == 0) /* the FIFO's end, or tocrawl reached */
        st->crawling = false;
    st->stats->lru_crawler_running = st->crawling;
}

bool store_set_limit(struct store *st, uint64_t limit)
{
    return seg_set_limit(st, limit);
}

void store_on_evict(struct store *st, store_evict_fn *fn, void *arg)
{
    st->on_evict = fn;
    st->on_evict_arg = arg;
}

void store_pin(struct store *st, uint32_t pin)
{
    if (pin && pin < st->hiwater)
        seg_pin(st, pin);
}

void store_unpin(struct store *st, uint32_t pin)
{
    if (pin && pin < st->hiwater)
        seg_unpin(st, pin);
}

bool store_walk(struct store *st, struct store_cursor *cur, uint32_t budget, store_walk_fn *fn,
                void *arg)
{
    _begin(st);
    for (; cur->seg < st->hiwater; cur->seg++, cur->off = 0, cur->reread = 0) {
        const struct seg *s = &st->segs[cur->seg]; /* index 0: never used */
        if (s->state != SEG_USED)
            continue;
        if (cur->off && s->gen != cur->gen) { /* records moved under the cursor */
            if (cur->reread++)
                continue;
            cur->off = 0;
        }
        cur->gen = s->gen;
        while (cur->off < s->wpos) {
            if (!budget--)
                return true;
            struct rec r;
            uint32_t at = cur->off;
            rec_decode(s->mem + at, &r, s->cas_base);
            cur->off += seg_span(st, r.len);
            if (!(r.bits & R_LIVE) || rec_expired(st, &r))
                continue;
            struct item_view v;
            _view(st, seg_ref(st, cur->seg, at), &r, &v);
            if (!fn(arg, &v))
                return true;
        }
    }
    return false;
}

void store_usage(const struct store *st, struct store_usage *u)
{
    memset(u, 0, sizeof *u);
    u->mem_limit = st->limit;
    u->segment_size = st->seg_size;
    u->segments_max = seg_budget(st);
    u->segments_used = st->used;
    u->segments_free = st->nfree;
    u->items = ht_count(st->ht);
    for (uint32_t i = st->fifo_head; i; i = st->segs[i].next)
        u->bytes_dead += st->segs[i].wpos - st->segs[i].live;
    u->bytes_live = st->stats->bytes;
    u->table_bytes = ht_bytes(st->ht);
    u->table_capacity = ht_capacity(st->ht);
    u->item_header_bytes = REC_FIXED;
    u->oldest_age = st->fifo_head ? st->now - st->segs[st->fifo_head].born : 0;
}
