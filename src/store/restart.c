/* restart: -e, item memory in a file that outlives the process (docs/RESTART.md).
 * Segment i lives at offset i * seg_size of FILE; index 0 is never a
 * segment, so the file starts with a header instead (format, settings, a
 * token drawn at every start). A graceful stop writes FILE.meta: the same
 * header, the segments and their queues, the table's slots, the cas
 * counter, the clock, a checksum. The next start with the same FILE and
 * settings maps the segments back, puts the slots back (no rehashing),
 * walks every record: each must be whole, and the slots must be the live
 * records (the checksum does not prove that of a crafted file); then what
 * expired meanwhile leaves the table. Anything doubtful starts the cache
 * empty instead. */
#define _FILE_OFFSET_BITS 64 /* 32-bit glibc: offsets beyond 2 GB */
#include "seg.h"
#include "lib/fmt.h"
#include "hash.h"
#include "ht.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h> /* rename only: no stdio is used */
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The format: its number, and the size of what it copies whole. */
#define RESTART_FORMAT (4u << 16 | (uint32_t)sizeof(struct seg))
#define HEAD_SETTINGS 40 /* bytes of meta_head a start must match */
#define HEAD_FILE 48     /* bytes of meta_head FILE starts with */
#define MODE_NO_CAS 1u      /* -C: records hold cas 0 in one byte, or real ones */
#define MODE_LARGE_FLAGS 2u /* -o large_client_flags: flags past 32 bits are served */
/* The queue fields of struct store, fifo_head through nfree, kept whole. */
#define QUEUES_AT offsetof(struct store, fifo_head)
#define QUEUES_LEN (offsetof(struct store, nfree) + 4 - QUEUES_AT)
static_assert(QUEUES_LEN == 9 * sizeof(uint32_t), "queue fields are nine uint32_t");

/* FILE.meta, native byte order: this head, struct seg of segments 1 to
 * hiwater - 1 as they were, the table's ht_level_cap(ht_level) slots, and a checksum
 * (_sum). FILE starts with the head's first HEAD_FILE bytes. */
struct meta_head {
    char magic[8]; /* "memgmeta" */
    uint32_t format;
    uint32_t seg_size;
    uint64_t mem_limit; /* -m as started, bytes */
    uint64_t item_max;  /* -I */
    uint64_t modes;     /* MODE_*: settings that change what a record means */
    uint64_t token;     /* drawn at every start */
    uint64_t cas;
    uint64_t seed; /* the table's hash seed: its slots are kept */
    uint64_t ht_count;
    int64_t saved_at; /* unix time of the save: access times count from it */
    int64_t flush_at; /* a delayed flush_all still to come, 0 none */
    uint32_t hiwater, ht_level;
    uint32_t queues[9]; /* struct store's fifo_head ... nfree */
};
static_assert(offsetof(struct meta_head, token) == HEAD_SETTINGS, "settings end at the token");
static_assert(offsetof(struct meta_head, cas) == HEAD_FILE, "FILE's header ends after the token");

/* The head this start writes and expects: magic, format, settings, token. */
static void _head(const struct store *st, struct meta_head *h)
{
    memcpy(h->magic, "memgmeta", 8);
    h->format = RESTART_FORMAT;
    h->seg_size = st->seg_size;
    h->mem_limit = st->mfile_limit;
    h->item_max = st->item_max;
    h->modes = (st->no_cas ? MODE_NO_CAS : 0) | (st->large_flags ? MODE_LARGE_FLAGS : 0);
    h->token = st->token;
}

/* Length of the record at p when it is whole within avail bytes, else 0;
 * *exp its exptime (0 none). */
static uint32_t _rec_check(const unsigned char *p, uint32_t avail, int64_t *exp)
{
    uint32_t at = REC_KEY + p[REC_NKEY] + REC_META_LEN;
    unsigned fields = 1 + !!(p[REC_BITS] & R_FLAGS) + !!(p[REC_BITS] & R_EXP);
    uint64_t v = 0, prev = 0;
    if (avail <= at || p[REC_NKEY] == 0)
        return 0;
    at += rec_cvwidth(p[at]); /* the cas, its width in its first byte */
    while (fields--) { /* [flags], [exp], nval: LEB128 of at most 10 bytes */
        unsigned shift = 0;
        uint64_t b;
        prev = v;
        v = 0;
        do {
            if (at >= avail || shift == 70)
                return 0;
            b = p[at++];
            v |= (b & 0x7f) << shift;
            shift += 7;
        } while (b & 0x80);
    }
    *exp = (p[REC_BITS] & R_EXP) ? (int64_t)prev : 0;
    return v <= avail - at ? at + (uint32_t)v : 0;
}

/* A multiset of refs as a count and a keyed sum: the table's slots and
 * the live records give equal ones exactly when each slot holds a live
 * record's ref and each live record one slot (but for odds of 2^-64; the
 * key is drawn at each start, so a crafted file cannot aim at it). Both
 * sides are read in order: no lookup per item. */
struct refset {
    uint64_t key, sum, n;
    uint64_t expired; /* live records whose time ran out while memg was down */
};

static void _refset_add(struct refset *rs, uint32_t ref)
{
    rs->sum += hash64(&ref, sizeof ref, rs->key);
    rs->n++;
}

/* Walk the records of segment idx: each must be whole. With rs, before
 * the table is trusted: live ones go into rs, and are counted unless
 * expired (those are only counted in rs). Access times are kept modulo
 * 8192 units and the sweep moves one to the next unit once it is 4096 old:
 * after more than an hour down they move here, to the unit that holds
 * their age. Without rs, once the table is: expired ones leave it. False
 * when a record is not whole. */
static bool _walk(struct store *st, uint32_t idx, int64_t saved, struct refset *rs)
{
    struct seg *s = &st->segs[idx];
    uint32_t len;
    for (uint32_t off = 0; off < s->wpos; off += seg_span(st, len)) {
        unsigned char *p = (unsigned char *)s->mem + off;
        int64_t exp;
        if (!(len = _rec_check(p, s->wpos - off, &exp)))
            return false;
        if (!(p[REC_BITS] & R_LIVE)) /* dead, or a reservation never committed */
            continue;
        bool expired = exp && exp <= st->now;
        if (!rs && expired) {
            p[REC_BITS] &= (unsigned char)~(R_LIVE | R_ACC);
            if (!ht_remove_ref(st->ht, store_key_hash(st, (char *)p + REC_KEY, p[REC_NKEY]),
                               seg_ref(st, idx, off)))
                return false;
        }
        if (!rs)
            continue;
        _refset_add(rs, seg_ref(st, idx, off));
        rs->expired += expired;
        if (expired)
            continue;
        if (st->now - saved >= 4000) {
            uint16_t meta;
            memcpy(&meta, p + REC_KEY + p[REC_NKEY], REC_META_LEN);
            int64_t t = la_time(meta, saved);
            unsigned u = 0;
            while (u < 3 && st->now / la_unit_secs[u] - t / la_unit_secs[u] >= 4096)
                u++;
            meta = (uint16_t)((meta & LA_BINKEY) | la_encode(t, u));
            memcpy(p + REC_KEY + p[REC_NKEY], &meta, REC_META_LEN);
        }
        s->live += seg_span(st, len);
        struct rec r;
        rec_decode((char *)p, &r, s->cas_base);
        seg_sizes_note(st, &r, 1);
        st->stats->curr_items++;
        st->stats->bytes += len;
    }
    return true;
}

/* The saved slots into rs: each a ref into a segment in use, below what it
 * holds, with at least one slot empty (a probe ends). False otherwise. */
static bool _slots_check(const struct store *st, const uint32_t *slots, uint64_t nslot,
                         struct refset *rs)
{
    for (uint64_t i = 0; i < nslot; i++) {
        uint32_t r = slots[i], idx = seg_idx(st, r);
        if (r == HT_EMPTY)
            continue;
        if (idx == 0 || idx >= st->hiwater || st->segs[idx].state != SEG_USED ||
            ((r & st->off_mask) << st->unit_shift) >= st->segs[idx].wpos)
            return false;
        _refset_add(rs, r);
    }
    return rs->n < nslot;
}

static int64_t _now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The checksum of a save: hash64 of the head, seeded with that of the
 * segments, seeded with that of the slots. */
static uint64_t _sum(const struct meta_head *m, const void *segs, size_t nseg,
                     const void *slots, size_t nslot)
{
    return hash64(m, sizeof *m, hash64(segs, nseg, hash64(slots, nslot, 0)));
}

/* What a save left in FILE.meta (fd, at its start) back into st: NULL, or
 * why not. The format is checked before all else (a later one may differ
 * in anything), then size and checksum, then what they describe. Segments
 * come back pinned, so that those left empty (all their items expired)
 * are released by the unpin that follows. */
static const char *_restore(struct store *st, int fd, struct meta_head *m)
{
    struct meta_head e, fh;
    struct stat sb;
    struct seg *segs = NULL;
    uint64_t sum;
    uint32_t i, *slots;
    const char *why = "the metadata is truncated or corrupt";
    _head(st, &e);
    if (read(fd, m, sizeof *m) != (ssize_t)sizeof *m || fstat(fd, &sb) != 0)
        return why;
    if (memcmp(m, &e, 12) != 0)
        return "the metadata is from another memg version";
    size_t nseg = (size_t)(m->hiwater - 1) * sizeof *segs;
    size_t nslot = 4 * ht_level_cap(m->ht_level & 63); /* the level is checked below */
    if (!m->hiwater || m->hiwater > st->nsegs || m->ht_level > 57 || !nslot ||
        sb.st_size != (off_t)(sizeof *m + nseg + nslot + 8) || !(segs = malloc(nseg + 1)) ||
        !ht_clear(st->ht, m->ht_level) || read(fd, segs, nseg) != (ssize_t)nseg ||
        read(fd, slots = ht_slots(st->ht), nslot) != (ssize_t)nslot ||
        read(fd, &sum, 8) != 8 || _sum(m, segs, nseg, slots, nslot) != sum)
        goto out;
    why = "it was saved with another -m, -I, -C or -o large_client_flags";
    if (memcmp(m, &e, HEAD_SETTINGS) != 0)
        goto out;
    why = "the file is not the one saved (replaced, truncated or resized)";
    if (fstat(st->mfd, &sb) != 0 || sb.st_size != (off_t)st->nsegs * st->seg_size ||
        pread(st->mfd, &fh, HEAD_FILE, 0) != HEAD_FILE || memcmp(&fh, m, HEAD_FILE) != 0)
        goto out;
    why = "inconsistent metadata";
    for (i = 0; i < 9; i++)
        if (m->queues[i] >= m->hiwater)
            goto out;
    memcpy(st->segs + 1, segs, nseg);
    st->seed = m->seed;
    ht_recount(st->ht, m->ht_count);
    for (i = 1; i < m->hiwater; i++) {
        struct seg *s = &st->segs[i];
        bool used = s->state == SEG_USED;
        s->mem = NULL;
        if ((!used && s->state != SEG_FREE) || s->wpos > st->seg_size ||
            s->prev >= m->hiwater || s->next >= m->hiwater)
            goto out;
        why = "cannot map the file";
        if ((s->mem = seg_file_map(st, i)) == MAP_FAILED) {
            s->mem = NULL;
            goto out;
        }
        st->hiwater = i + 1;
        s->pins = used;
        s->live = 0;
        if (!used)
            madvise(s->mem, st->seg_size, MADV_REMOVE);
        why = "inconsistent metadata";
    }
    int64_t t0 = _now_us();
    struct refset table = {hash64(&t0, sizeof t0, (uint64_t)getpid()), 0, 0, 0}, live = table;
    why = "a table slot points outside the segments, or none is empty";
    if (!_slots_check(st, slots, nslot / 4, &table) || table.n != m->ht_count)
        goto out;
    why = "a record in the file is not whole";
    for (i = 1; i < st->hiwater; i++)
        if (st->segs[i].pins && !_walk(st, i, m->saved_at, &live))
            goto out;
    why = "the table's slots are not the live records";
    if (live.n != table.n || live.sum != table.sum)
        goto out;
    for (i = 1; live.expired && i < st->hiwater; i++) /* all mapped: the table may look anywhere */
        if (st->segs[i].pins && !_walk(st, i, m->saved_at, NULL))
            goto out;
    memcpy((char *)st + QUEUES_AT, m->queues, QUEUES_LEN);
    for (i = 1; i < st->hiwater; i++)
        seg_unpin(st, i);
    st->cas = m->cas;
    st->flush_at = m->flush_at;
    why = NULL;
out:
    free(segs);
    return why;
}

/* Back to a store that never had a segment: a restore gave up. */
static void _reset(struct store *st)
{
    for (uint32_t i = 1; i < st->hiwater; i++)
        munmap(st->segs[i].mem, st->seg_size);
    memset(st->segs, 0, (size_t)st->nsegs * sizeof *st->segs);
    memset((char *)st + QUEUES_AT, 0, QUEUES_LEN);
    st->hiwater = 1;
    st->stats->curr_items = st->stats->bytes = 0;
    seg_sizes_clear(st);
    ht_clear(st->ht, st->ht_level0);
}

bool seg_file_open(struct store *st, const char *path, char *note, size_t len)
{
    char mpath[PATH_MAX], own[8];
    int64_t t0 = _now_us();
    struct stat sb;
    if (!note) {
        note = own;
        len = sizeof own;
    }
    st->mfile = path;
    st->mfile_limit = st->limit;
    st->mfile_segs = st->nsegs;
    fmt_buf(mpath, sizeof mpath, "%s.meta", path);
    st->mfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->mfd < 0 || fstat(st->mfd, &sb) != 0 || flock(st->mfd, LOCK_EX | LOCK_NB) != 0 ||
        (errno = EINVAL, !S_ISREG(sb.st_mode))) {
        fmt_buf(note, len, "-e %s: %s", path,
                errno == EWOULDBLOCK ? "in use by another memg" : strerror(errno));
        return false;
    }
    const char *why = "no saved state (the last stop was not SIGUSR1)";
    struct meta_head m;
    int fd = open(mpath, O_RDONLY | O_CLOEXEC);
    unlink(mpath); /* from here on, a crash leaves no metadata that claims a save */
    if (fd >= 0 && (why = _restore(st, fd, &m)) != NULL)
        _reset(st);
    if (fd >= 0)
        close(fd);
    off_t size = (off_t)st->nsegs * st->seg_size;
    if (why && (ftruncate(st->mfd, 0) != 0 || ftruncate(st->mfd, size) != 0)) {
        fmt_buf(note, len, "-e %s: %s", path, strerror(errno));
        return false;
    }
    int64_t seed[2] = {t0, getpid()};
    st->token = hash64(seed, sizeof seed, (uint64_t)time(NULL));
    struct meta_head h;
    _head(st, &h);
    if (why) {
        fmt_buf(note, len, "-e %s: starting empty: %s", path, why);
    } else {
        st->stats->restored_items = st->stats->curr_items;
        st->stats->restore_time_us = (uint64_t)(_now_us() - t0);
        fmt_buf(note, len, "-e %s: restored %llu items in %llu ms, saved %lld s ago", path,
                (unsigned long long)st->stats->curr_items,
                (unsigned long long)st->stats->restore_time_us / 1000,
                (long long)(st->now - m.saved_at));
    }
    return pwrite(st->mfd, &h, HEAD_FILE, 0) == HEAD_FILE;
}

bool store_save(struct store *st, char *err, size_t errlen)
{
    char mpath[PATH_MAX], tmp[PATH_MAX];
    struct meta_head m;
    size_t nseg = (size_t)(st->hiwater - 1) * sizeof(struct seg);
    size_t nslot = ht_capacity(st->ht) * 4;
    uint32_t *slots = ht_slots(st->ht);
    memset(&m, 0, sizeof m);
    _head(st, &m);
    m.cas = st->cas;
    m.seed = st->seed;
    m.ht_count = ht_count(st->ht);
    m.saved_at = st->now;
    m.flush_at = st->flush_at;
    m.hiwater = st->hiwater;
    m.ht_level = ht_level(st->ht);
    memcpy(m.queues, (char *)st + QUEUES_AT, QUEUES_LEN);
    uint64_t sum = _sum(&m, st->segs + 1, nseg, slots, nslot);
    fmt_buf(mpath, sizeof mpath, "%s.meta", st->mfile);
    fmt_buf(tmp, sizeof tmp, "%s.tmp", mpath);
    /* The items first (nothing to do on tmpfs), then the metadata whole,
     * then its name: an interrupted save leaves no FILE.meta. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && fsync(st->mfd) == 0 && fmt_write(fd, (const char *)&m, sizeof m) &&
              fmt_write(fd, (const char *)(st->segs + 1), nseg) &&
              fmt_write(fd, (const char *)slots, nslot) &&
              fmt_write(fd, (const char *)&sum, 8) && fsync(fd) == 0;
    if ((fd >= 0 && close(fd) != 0) || !ok || rename(tmp, mpath) != 0) {
        fmt_buf(err, errlen, "-e %s: cannot save: %s", st->mfile, strerror(errno));
        return false;
    }
    return true;
}
