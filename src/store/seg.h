/* seg: the store's private header, shared by the files of src/store only:
 * store.c (the commands), seg.c (segments: lists, mapping, unlinking,
 * flush, sweep), evict.c (the eviction policy and allocation), restart.c
 * (-e). Dependencies point one way: store.c -> evict.c -> seg.c, and
 * restart.c -> seg.c; nothing here calls back into store.c.
 *
 * Item record, one contiguous run of bytes inside a segment, no alignment:
 *   [0]      bits   R_LIVE R_RESV R_ACC R_FETCH R_FLAGS R_EXP R_STALE R_WON
 *   [1]      nkey   1..255
 *   [2..]    key    nkey bytes (fixed offset: compare/hash touch one line)
 *            meta   2 bytes: last access (la_*), and LA_BINKEY
 *            cas    the zigzagged difference from its segment's cas_base
 *                   (the counter when the segment got its first record,
 *                   plus cas_ahead), its width in its first byte
 *                   (rec_cvput): 1-3 bytes, not 8; with -C always 0 in 1
 *            flags  LEB128, only if R_FLAGS (flags != 0)
 *            exp    LEB128 unix time, only if R_EXP (may be padded)
 *            nval   LEB128
 *            value  nval bytes, no trailing \r\n
 * A ref is (segment index << off_bits) | (offset >> unit_shift); index 0 is
 * never used, so ref 0 means empty. */
#ifndef MEMG_SEG_H
#define MEMG_SEG_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ht;
struct stats;
#include "ghost.h"
#include "hash.h"
#include "lib/mem.h"
#include "lib/stats.h"
#include "store.h"

enum {
    R_LIVE = 1,   /* linked in the table */
    R_RESV = 2,   /* reserved, value still arriving (not linked) */
    R_ACC = 4,    /* read since its segment was last compacted (CLOCK bit) */
    R_FETCH = 8,  /* ever read (for *_unfetched stats) */
    R_FLAGS = 16, /* a flags varint is present */
    R_EXP = 32,   /* an exptime varint is present */
    R_STALE = 64, /* marked stale (meta md I, ms I): readers get X */
    R_WON = 128,  /* a reader was handed the recache win (meta W): others get Z */
};

/* The meta field, 16 bits after the key: bit 15 says the key arrived in
 * base64 (meta 'b'); bits 13-14 a unit (second, minute, hour, day) and bits
 * 0-12 the last access time in that unit, modulo 8192. The expiry sweep
 * passes every item about once a minute and moves a time to the next unit
 * before it could wrap, so an age reads exact to the second for its first
 * hour, to the minute for days, to the hour for months (la_age). */
#define REC_META_LEN 2
#define LA_BINKEY 0x8000u
#define LA_VALUE 0x1fffu
static const uint32_t la_unit_secs[4] = {1, 60, 3600, 86400};

static inline uint16_t la_encode(int64_t t, unsigned unit)
{
    return (uint16_t)(unit << 13 | (((uint64_t)t / la_unit_secs[unit]) & LA_VALUE));
}

/* The access time meta names, seen from now (the start of its unit). */
static inline int64_t la_time(uint16_t meta, int64_t now)
{
    unsigned unit = (meta >> 13) & 3;
    if (unit == 0) /* seconds, the common case: no division */
        return now - (int64_t)(((uint64_t)now - (meta & LA_VALUE)) & LA_VALUE);
    uint64_t secs = la_unit_secs[unit], n = (uint64_t)now / secs;
    uint64_t back = (n - (meta & LA_VALUE)) & LA_VALUE;
    return (int64_t)((n - back) * secs);
}

/* Accessed now: seconds again, the key bit kept. */
static inline uint16_t la_stamp(uint16_t meta, int64_t now)
{
    return (uint16_t)((meta & LA_BINKEY) | la_encode(now, 0));
}

/* The sweep's visit: a time past half its unit's range moves to the next
 * unit, where it cannot wrap for as long again. */
static inline uint16_t la_age_up(uint16_t meta, int64_t now)
{
    unsigned unit = (meta >> 13) & 3;
    uint64_t secs = la_unit_secs[unit];
    if (unit == 3 || (((uint64_t)now / secs - (meta & LA_VALUE)) & LA_VALUE) < 4096)
        return meta;
    return (uint16_t)((meta & LA_BINKEY) | la_encode(la_time(meta, now), unit + 1));
}

enum { REC_BITS = 0, REC_NKEY = 1, REC_KEY = 2 };
#define REC_FIXED 2 /* bits + nkey; the cas follows the key */
static_assert(REC_FIXED == REC_KEY, "fixed header ends where the key starts");

struct rec {
    char *p;
    char *val;
    uint64_t cas;
    uint64_t flags;
    int64_t exp; /* unix time, 0 never */
    uint32_t len; /* whole record */
    uint32_t nval;
    uint32_t exp_off; /* offset of the exp varint when R_EXP */
    uint8_t exp_len;
    uint16_t cas_off; /* the cas varint: right after the meta field (up to 259) */
    uint8_t cas_len;
    uint64_t base;    /* its segment's cas_base: the cas varint holds cas - base */
    uint8_t bits;
    uint8_t nkey;
    uint16_t meta;    /* la_* and LA_BINKEY */
};

enum { SEG_NEW = 0, SEG_FREE, SEG_USED };

struct seg {
    char *mem;      /* mapping, NULL until first use */
    int64_t born;   /* unix time it became head */
    uint32_t wpos;  /* bytes written */
    uint32_t live;  /* bytes of live and reserved records */
    uint32_t pins;  /* replies and reservations that need the bytes in place */
    uint32_t prev, next; /* FIFO (oldest first) when used, free list when free */
    uint32_t gen;   /* bumped when records move or vanish: sweep cursors check it */
    int64_t exp_max; /* latest exptime of what it holds: 0 nothing yet, SEG_NEVER some never expire */
    uint64_t cas_base; /* the cas counter, plus cas_ahead, when its first record was written: records hold cas - it */
    uint8_t state;
    uint8_t small;  /* in the probation queue (new items), not the main one */
    uint8_t cls;    /* the expiry class it was opened as a head for (expire.c) */
    uint32_t warm;  /* its first bytes known resident (seg_prefault), in the padding */
};
static_assert(sizeof(void *) != 8 || sizeof(struct seg) == 64, "struct seg is -e's format");

#define SEG_NEVER INT64_MAX
/* Expiry classes: 0 no exptime, then TTLs by a quarter of an octave (expire.c). */
#define EXP_CLASSES 96

/* A place in the FIFO for walks over many calls; a segment whose generation
 * moved (records moved or died) is walked again from its start. */
struct seg_cursor {
    uint32_t seg, gen, off;
};

struct store {
    struct stats *stats;
    struct stats own_stats; /* when the caller gives none */
    struct ht *ht;
    struct seg *segs;
    uint32_t nsegs;     /* array size; index 0 unused */
    uint32_t hiwater;   /* next never-mapped index */
    /* One list of used segments, oldest first: the main queue, then from
     * small_first the probation queue. head: where new items go (probation);
     * mhead: where items read on probation move to (main). */
    uint32_t fifo_head, fifo_tail, head, free_head;
    uint32_t small_first, nsmall, mhead;
    uint32_t used, nfree;
    /* Heads for items that expire, by class (expire.c): [0] probation, [1]
     * main; class 0 is head and mhead. nopen: how many are open. */
    uint32_t theads[2][EXP_CLASSES];
    uint32_t nopen;
    int64_t exp_due;              /* no segment wholly expires before (a lower bound) */
    uint32_t exp_cand, exp_cgen;  /* a wholly expired segment found, and its generation */
    struct seg_cursor exp_cur;    /* the tick's walk over one */
    uint64_t exp_walked;          /* items the walks over wholly expired segments touched */
    uint32_t taken;     /* segments taken or released since the last tick (seg_cool_step) */
    bool warm_extra;    /* more than SEG_WARM_SPARES empty segments kept resident */
    struct ghost ghost; /* keys lately evicted from probation (evict.c); not saved by -e */
    uint32_t mmap_cap;  /* lowered after an mmap failure */
    bool large_pages;   /* -L: segments mapped in huge-page blocks */
    char *spare_mem;    /* -L: the unused second segment of the last block */
    uint32_t seg_size;
    unsigned seg_shift, unit_shift, off_bits;
    uint32_t off_mask;
    uint64_t limit, item_max;
    bool evict;
    bool no_cas;        /* -C: cas 0 everywhere, the counter stays 0 */
    unsigned ht_level0; /* the table's size at start and after a flush (-o hashpower) */
    bool no_expand;     /* -o no_hashexpand: the table never grows */
    uint32_t *sizes;    /* -o track_sizes: live items per 32 bytes (sizes.c), or NULL */
    uint32_t nsizes;
    bool large_flags;   /* -o large_client_flags: memcached counts 8 bytes of flags */
    uint64_t cas;
    uint64_t cas_ahead; /* the next segment's cas_base is cas + it (evict.c) */
    int64_t now;
    int64_t clock_delta; /* -o debug_time: `debugtime N`'s summed offset */
    bool clock_paused;   /* -o debug_time: `debugtime p` until `debugtime r` */
    int64_t flush_at;
    uint64_t seed;
    struct seg_cursor sweep;         /* the background expiry sweep */
    struct seg_cursor crawl;         /* lru_crawler crawl's pass */
    uint64_t crawl_left;             /* records the crawl may still check */
    bool crawling, sweep_off;        /* a crawl runs; lru_crawler disable */
    uint32_t ev_seg, ev_gen, ev_off; /* evict-ahead cursor (next victim) */
    store_evict_fn *on_evict;        /* store_on_evict */
    void *on_evict_arg;
    /* -e (restart.c): segment i lives at i * seg_size in the memory file mfd
     * (-1: anonymous memory); mfile_segs: the segments the file holds. */
    int mfd;
    uint32_t mfile_segs;
    uint64_t mfile_limit; /* -m as started: what the metadata records */
    uint64_t token;       /* in the file's header and the metadata */
    const char *mfile;
};

#define STORE_HT_LEVEL 24 /* 2^12 slots: 16 KB of table at start (ht_level_cap) */

/* -o track_sizes (sizes.c): the histogram made; an item linked (+1) or
 * unlinked (-1); all dropped. */
bool seg_sizes_setup(struct store *st);
void seg_sizes_note(struct store *st, const struct rec *r, int delta);
void seg_sizes_clear(struct store *st);

/* What the ghost queue takes of the limit: its bytes once made, and before
 * that the most it may take (1/64), kept free from the start so that making
 * it never has to evict a whole segment at once. Nothing without eviction. */
static inline uint64_t seg_ghost_room(const struct store *st)
{
    if (ghost_on(&st->ghost))
        return ghost_bytes(&st->ghost);
    return st->evict && !st->ghost.refused ? st->limit / GHOST_SHARE : 0;
}

/* --- records ------------------------------------------------------------ */

static inline unsigned rec_vlen(uint64_t v)
{
    unsigned n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* LEB128 in exactly width bytes (width >= rec_vlen(v)): padding keeps
 * continuation bits set on zero groups, so an exptime can shrink in place. */
static inline unsigned char *rec_vput(unsigned char *q, uint64_t v, unsigned width)
{
    for (unsigned i = 1; i < width; i++, v >>= 7)
        *q++ = (unsigned char)((v & 0x7f) | 0x80);
    *q++ = (unsigned char)v;
    return q;
}

static inline unsigned char *rec_vget(unsigned char *q, uint64_t *v)
{
    uint64_t x = 0;
    unsigned s = 0;
    unsigned char b;
    do {
        b = *q++;
        if (s < 64)
            x |= (uint64_t)(b & 0x7f) << s;
        s += 7;
    } while (b & 0x80);
    *v = x;
    return q;
}

/* The cas varint: its first byte tells its width, so a 2-byte one holds
 * 40960 codes where LEB128's holds 16384 (a segment of small items has
 * ~20,000 records, all within one 2-byte window of its base), and a 1-byte
 * one 64. b0 < 64: b0; < 224: 2 bytes, (b0 - 64) << 8 | b1; < 248: 3 bytes,
 * (b0 - 224) << 16 | b1 << 8 | b2; else b0 - 244 bytes (4..9), the code
 * big-endian after b0. Any code can be written wider (rec_set_cas in place). */
#define CV_1 64u
#define CV_2 224u
#define CV_3 248u
#define CV_HALF ((CV_2 - CV_1) << 7) /* half the 2-byte codes: zigzag -CV_HALF..CV_HALF-1 */

static inline unsigned rec_cvlen(uint64_t v)
{
    if (v < CV_1)
        return 1;
    if (v < (uint64_t)(CV_2 - CV_1) << 8)
        return 2;
    if (v < (uint64_t)(CV_3 - CV_2) << 16)
        return 3;
    unsigned n = 3; /* bytes of code after b0: 3..8 */
    while (n < 8 && v >> (8 * n))
        n++;
    return n + 1;
}

static inline unsigned char *rec_cvput(unsigned char *q, uint64_t v, unsigned width)
{
    if (width == 1) {
        *q = (unsigned char)v;
    } else if (width == 2) {
        q[0] = (unsigned char)(CV_1 + (v >> 8));
        q[1] = (unsigned char)v;
    } else if (width == 3) {
        q[0] = (unsigned char)(CV_2 + (v >> 16));
        q[1] = (unsigned char)(v >> 8);
        q[2] = (unsigned char)v;
    } else {
        q[0] = (unsigned char)(244 + width);
        for (unsigned i = width - 1; i >= 1; i--, v >>= 8)
            q[i] = (unsigned char)v;
    }
    return q + width;
}

/* The width of the cas varint whose first byte is b0. */
static inline unsigned rec_cvwidth(unsigned b0)
{
    return b0 < CV_1 ? 1 : b0 < CV_2 ? 2 : b0 < CV_3 ? 3 : b0 >= 253 ? 9 : b0 - 244;
}

static inline unsigned char *rec_cvget(unsigned char *q, uint64_t *v)
{
    unsigned b = q[0];
    if (b < CV_1) {
        *v = b;
        return q + 1;
    }
    if (b < CV_2) {
        *v = (uint64_t)(b - CV_1) << 8 | q[1];
        return q + 2;
    }
    if (b < CV_3) {
        *v = (uint64_t)(b - CV_2) << 16 | (uint64_t)q[1] << 8 | q[2];
        return q + 3;
    }
    unsigned w = rec_cvwidth(b); /* 254 and 255 are never written */
    uint64_t x = 0;
    for (unsigned i = 1; i < w; i++)
        x = x << 8 | q[i];
    *v = x;
    return q + w;
}

/* What the cas varint holds for cas in a segment of base: the difference,
 * zigzagged (a promoted record is older than its new segment, a meta E
 * cas anything), so a record written with its segment holds a small one. */
static inline uint64_t rec_cas_code(uint64_t cas, uint64_t base)
{
    uint64_t d = cas - base;
    return d << 1 ^ (uint64_t)-(int64_t)(d >> 63);
}

static inline uint64_t rec_cas_value(uint64_t code, uint64_t base)
{
    return base + ((code >> 1) ^ (uint64_t) - (int64_t)(code & 1));
}

#define REC_CAS_MAX 9 /* the widest cas varint (rec_cvput) */

static inline uint64_t rec_size(size_t nkey, unsigned cas_w, uint64_t flags, int64_t exp,
                                uint64_t nval)
{
    return REC_FIXED + nkey + REC_META_LEN + cas_w + (flags ? rec_vlen(flags) : 0) +
           (exp ? rec_vlen((uint64_t)exp) : 0) + rec_vlen(nval) + nval;
}

/* Write a header and key; returns where the value goes. code: what the cas
 * varint holds (rec_cas_code; 0 is the segment's base, a placeholder). */
static inline char *rec_write(char *p, unsigned bits, const char *key, size_t nkey,
                              uint16_t meta, unsigned cas_w, uint64_t flags, int64_t exp,
                              uint32_t nval, uint64_t code)
{
    unsigned char *q = (unsigned char *)p;
    bits |= (flags ? R_FLAGS : 0) | (exp ? R_EXP : 0);
    q[REC_BITS] = (unsigned char)bits;
    q[REC_NKEY] = (unsigned char)nkey;
    mem_copy(q + REC_KEY, key, nkey);
    q += REC_KEY + nkey;
    memcpy(q, &meta, REC_META_LEN);
    q += REC_META_LEN;
    q = rec_cvput(q, code, cas_w);
    if (flags)
        q = rec_vput(q, flags, rec_vlen(flags));
    if (exp)
        q = rec_vput(q, (uint64_t)exp, rec_vlen((uint64_t)exp));
    q = rec_vput(q, nval, rec_vlen(nval));
    return (char *)q;
}

/* The record at p in a segment whose cas_base is base. */
static inline void rec_decode(char *p, struct rec *r, uint64_t cas_base)
{
    unsigned char *base = (unsigned char *)p, *q;
    uint64_t v = 0;
    r->p = p;
    r->bits = base[REC_BITS];
    r->nkey = base[REC_NKEY];
    q = base + REC_KEY + r->nkey;
    memcpy(&r->meta, q, REC_META_LEN);
    q += REC_META_LEN;
    r->cas_off = (uint16_t)(q - base);
    q = rec_cvget(q, &v);
    r->cas_len = (uint8_t)(q - base - r->cas_off);
    r->base = cas_base;
    r->cas = rec_cas_value(v, cas_base);
    r->flags = 0;
    if (r->bits & R_FLAGS)
        q = rec_vget(q, &r->flags);
    r->exp = 0;
    r->exp_len = 0;
    r->exp_off = 0;
    if (r->bits & R_EXP) {
        r->exp_off = (uint32_t)(q - base);
        q = rec_vget(q, &v);
        r->exp = (int64_t)v;
        r->exp_len = (uint8_t)(q - base - r->exp_off);
    }
    q = rec_vget(q, &v);
    r->nval = (uint32_t)v;
    r->val = (char *)q;
    r->len = (uint32_t)(q - base) + r->nval;
}

/* Rewrite the meta field in place. */
static inline void rec_set_meta(struct rec *r, uint16_t meta)
{
    memcpy(r->p + REC_KEY + r->nkey, &meta, REC_META_LEN);
    r->meta = meta;
}

static inline bool rec_cas_fits(const struct rec *r, uint64_t cas)
{
    return rec_cvlen(rec_cas_code(cas, r->base)) <= r->cas_len;
}

/* Rewrite the cas in place (the caller checked rec_cas_fits). */
static inline void rec_set_cas(struct rec *r, uint64_t cas)
{
    rec_cvput((unsigned char *)r->p + r->cas_off, rec_cas_code(cas, r->base), r->cas_len);
    r->cas = cas;
}

/* Copy r to dst, a segment of base, its cas varint cas_w bytes there (the
 * rest as it is); returns the copy's length. */
static inline uint32_t rec_copy(char *dst, const struct rec *r, unsigned cas_w, uint64_t base)
{
    uint32_t tail = r->cas_off + r->cas_len;
    mem_copy(dst, r->p, r->cas_off);
    rec_cvput((unsigned char *)dst + r->cas_off, rec_cas_code(r->cas, base), cas_w);
    mem_copy(dst + r->cas_off + cas_w, r->p + tail, r->len - tail);
    return r->len - r->cas_len + cas_w;
}

static inline bool rec_expired(const struct store *st, const struct rec *r)
{
    return r->exp != 0 && r->exp <= st->now;
}

/* --- refs ----------------------------------------------------------------- */

static inline uint32_t seg_ref(const struct store *st, uint32_t idx, uint32_t off)
{
    return (idx << st->off_bits) | (off >> st->unit_shift);
}

static inline uint32_t seg_idx(const struct store *st, uint32_t ref)
{
    return ref >> st->off_bits;
}

static inline char *seg_ptr(const struct store *st, uint32_t ref)
{
    return st->segs[ref >> st->off_bits].mem + ((size_t)(ref & st->off_mask) << st->unit_shift);
}

/* The record at ref. */
static inline void seg_rec(const struct store *st, uint32_t ref, struct rec *r)
{
    rec_decode(seg_ptr(st, ref), r, st->segs[ref >> st->off_bits].cas_base);
}

/* Bytes a record of len takes in its segment (records start on a unit). */
static inline uint32_t seg_span(const struct store *st, uint32_t len)
{
    uint32_t u = ((uint32_t)1 << st->unit_shift) - 1;
    return (len + u) & ~u;
}

/* --- seg.c ---------------------------------------------------------------- */

static inline uint64_t store_key_hash(const struct store *st, const char *key, size_t nkey)
{
    return hash64(key, nkey, st->seed);
}

/* --- seg.c: segment mechanics ------------------------------------------------ */

enum unlink_why { UNLINK_DELETE, UNLINK_EXPIRED, UNLINK_EVICTED };

bool seg_setup(struct store *st, uint64_t limit, uint64_t item_max);
void seg_teardown(struct store *st);
/* A free or never-used segment, 0 when none may be had. */
uint32_t seg_take(struct store *st);
/* An empty segment leaves the FIFO for the free list; its pages go back
 * (give_back, or beyond the warm spares). */
void seg_release(struct store *st, uint32_t idx, bool give_back);
void seg_fifo_remove(struct store *st, uint32_t idx);
/* The newest of the probation queue (the end of the list). */
void seg_push_small(struct store *st, uint32_t idx);
/* The newest of the main queue (just before the probation queue). */
void seg_push_main(struct store *st, uint32_t idx);
/* Table and stats side of an item leaving (the eviction hook too): no
 * segment accounting. */
void seg_unlink_only(struct store *st, uint32_t ref, struct rec *r, uint64_t hash,
                     enum unlink_why why);
/* A record at ref stops being live or reserved: its bytes become dead. */
void seg_kill(struct store *st, uint32_t ref, const struct rec *r);
/* Unlink a live record from the table, count it, kill it. */
void seg_unlink(struct store *st, uint32_t ref, struct rec *r, uint64_t hash, enum unlink_why why);
void seg_pin(struct store *st, uint32_t idx);
void seg_unpin(struct store *st, uint32_t idx);
uint32_t seg_budget(const struct store *st);
/* -m counts segments, as memcached's counts slab pages: the table (with extra
 * bytes more while it grows) and the ghost queue are free up to an eighth of
 * it (memcached's table takes up to 17% at its smallest items); what they
 * take beyond that share is charged to the segments. So segments, table and
 * ghost together stay within 9/8 of -m. */
#define SEG_META_SHARE 8
uint64_t seg_meta_over(const struct store *st, uint64_t extra);
/* cache_memlimit: false when the new limit needs more segments than item
 * refs reach (their width is fixed at start by -m) or memory is short. */
bool seg_set_limit(struct store *st, uint64_t limit);
void seg_flush(struct store *st);
/* Walk up to budget records from cursor c, unlinking expired items; at the
 * FIFO's end c->seg is 0 (the next call starts over). Live records checked. */
unsigned seg_sweep(struct store *st, struct seg_cursor *c, unsigned budget);
void seg_gauges(struct store *st);
/* Segment idx's place in the memory file (-e), mapped (MAP_FAILED on
 * error). No MAP_POPULATE for a restored one: that would fill the holes past
 * what was written too; the walk over its records faults in what it holds. */
void *seg_file_map(const struct store *st, uint32_t idx);

/* --- expire.c: whole segments of expired items ------------------------------ */

/* The expiry class of a new record with exptime exp: 0 for none. */
unsigned seg_exp_class(const struct store *st, int64_t exp);
/* A record with exptime exp was written (or touched) in segment idx. */
void seg_note_exp(struct store *st, uint32_t idx, int64_t exp);
/* The head pointer of a queue (main or probation) for class cls. */
uint32_t *seg_headp(struct store *st, bool main, unsigned cls);
/* idx becomes the head of its queue for class cls. */
void seg_open(struct store *st, uint32_t idx, bool main, unsigned cls);
/* idx stops being any head. */
void seg_close(struct store *st, uint32_t idx);
bool seg_is_open(const struct store *st, uint32_t idx);
/* An unpinned segment whose items have all expired, 0 when none; looks
 * over the segments (not their items) only once one may be due. */
uint32_t seg_exp_pick(struct store *st);
/* Free the items of wholly expired segments, at most budget records;
 * returns the records looked at. */
unsigned seg_exp_reclaim(struct store *st, unsigned budget);
/* Free one wholly expired segment at once (the allocation's way, before
 * any live item is evicted): false when there is none. */
bool seg_exp_free_one(struct store *st);

/* --- evict.c: the eviction policy ----------------------------------------- */

/* Room for a record of size bytes besides its cas varint, which must hold
 * cas: *cas_w gets the varint's width in the segment found (its cas_base
 * decides). Evicts if needed; NULL when no room can be made. The caller
 * writes the record there before its next store call. */
char *seg_alloc(struct store *st, uint32_t size, uint64_t cas, int64_t exp, uint32_t *ref,
                unsigned *cas_w);
/* The same for a new record of key: at the main queue's head when the ghost
 * queue remembers the key (evict.c). */
char *seg_alloc_key(struct store *st, uint32_t size, uint64_t cas, int64_t exp, uint32_t *ref,
                    unsigned *cas_w, const char *key, size_t nkey);
/* A long record's pages made resident in one call (short ones: nothing). */
void seg_prefault(struct store *st, uint32_t ref, uint32_t len);
/* Make the limit hold the table grown by extra bytes (evicts segments). */
bool seg_table_room(struct store *st, size_t extra);
/* Above the limit: evict and give back one segment (the loop's tick). */
void seg_shrink_step(struct store *st);
/* The tick: once no segment was taken for a tick, empty segments beyond the
 * idle few go back to the kernel. */
void seg_cool_step(struct store *st);

/* --- restart.c (-e) --------------------------------------------------------- */

/* Open the memory file, restore what a graceful stop saved beside it or
 * start it empty; note gets a one-line account. False: the file cannot be
 * used at all (note says why). */
bool seg_file_open(struct store *st, const char *path, char *note, size_t len);

#endif
