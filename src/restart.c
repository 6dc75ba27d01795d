/* restart: -e, item memory in a file that outlives the process (docs/RESTART.md).
 * Segment i lives at offset i * seg_size of FILE; index 0 is never a
 * segment, so the file starts with a header instead (format, settings, a
 * token drawn at every start). A graceful stop writes FILE.meta: the same
 * header, the segments in queue order, the cas counter, the clock, a
 * checksum. The next start with the same FILE and settings maps the
 * segments back and rebuilds the table by scanning their records; anything
 * doubtful starts the cache empty instead. */
#define _FILE_OFFSET_BITS 64 /* 32-bit glibc: offsets beyond 2 GB */
#include "seg.h"
#include "fmt.h"
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
#define RESTART_FORMAT (1u << 16 | (uint32_t)sizeof(struct seg))
#define HEAD_SETTINGS 32 /* bytes of meta_head a start must match */
#define HEAD_FILE 40     /* bytes of meta_head FILE starts with */
/* The queue fields of struct store, fifo_head through nfree, kept whole. */
#define QUEUES_AT offsetof(struct store, fifo_head)
#define QUEUES_LEN (offsetof(struct store, nfree) + 4 - QUEUES_AT)
static_assert(QUEUES_LEN == 9 * sizeof(uint32_t), "queue fields are nine uint32_t");

/* FILE.meta, native byte order: this head, struct seg of segments 1 to
 * hiwater - 1 as they were, and a hash64 (seed 0) of all that. FILE starts
 * with the head's first HEAD_FILE bytes. */
struct meta_head {
    char magic[8]; /* "memgmeta" */
    uint32_t format;
    uint32_t seg_size;
    uint64_t mem_limit; /* -m as started, bytes */
    uint64_t item_max;  /* -I */
    uint64_t token;     /* drawn at every start */
    uint64_t cas;
    int64_t saved_at; /* unix time of the save: access times count from it */
    int64_t flush_at; /* a delayed flush_all still to come, 0 none */
    uint32_t hiwater, ht_power;
    uint32_t queues[9]; /* struct store's fifo_head ... nfree */
};

void *seg_file_map(const struct store *st, uint32_t idx, bool populate)
{
    return mmap(NULL, st->seg_size, PROT_READ | PROT_WRITE,
                MAP_SHARED | (populate ? MAP_POPULATE : 0), st->mfd,
                (off_t)idx * st->seg_size);
}

/* The head this start writes and expects: magic, format, settings, token. */
static void _head(const struct store *st, struct meta_head *h)
{
    memcpy(h->magic, "memgmeta", 8);
    h->format = RESTART_FORMAT;
    h->seg_size = st->seg_size;
    h->mem_limit = st->mfile_limit;
    h->item_max = st->item_max;
    h->token = st->token;
}

/* Length of the record at p when it is whole within avail bytes, else 0;
 * *exp its exptime (0 none). */
static uint32_t _rec_check(const unsigned char *p, uint32_t avail, int64_t *exp)
{
    uint32_t at = REC_KEY + p[REC_NKEY] + REC_META_LEN;
    unsigned fields = 2 + !!(p[REC_BITS] & R_FLAGS) + !!(p[REC_BITS] & R_EXP);
    uint64_t v = 0, prev = 0;
    if (avail < at || p[REC_NKEY] == 0)
        return 0;
    while (fields--) { /* cas, [flags], [exp], nval: varints of at most 10 bytes */
        unsigned n = 0;
        prev = v;
        v = 0;
        do {
            if (at >= avail || n == 10)
                return 0;
            v |= (uint64_t)(p[at] & 0x7f) << (7 * n++);
        } while (p[at++] & 0x80);
    }
    *exp = (p[REC_BITS] & R_EXP) ? (int64_t)prev : 0;
    return v <= avail - at ? at + (uint32_t)v : 0;
}

/* Link the live records of segment idx into the table (expired ones die)
 * and count them; access times, counted from the save, move to the unit
 * that holds their age now. False when a record is not whole. */
static bool _scan(struct store *st, uint32_t idx, int64_t saved)
{
    enum { AHEAD = 8 }; /* table slots prefetched ahead of their insert */
    uint64_t qh[AHEAD];
    uint32_t qref[AHEAD], n = 0, len, k;
    struct seg *s = &st->segs[idx];
    for (uint32_t off = 0; off < s->wpos; off += seg_span(st, len)) {
        unsigned char *p = (unsigned char *)s->mem + off;
        int64_t exp;
        if (!(len = _rec_check(p, s->wpos - off, &exp)))
            return false;
        p[REC_BITS] &= (unsigned char)~R_RESV;
        if (!(p[REC_BITS] & R_LIVE) || (exp && exp <= st->now)) {
            p[REC_BITS] &= (unsigned char)~(R_LIVE | R_ACC);
            continue;
        }
        uint16_t meta;
        memcpy(&meta, p + REC_KEY + p[REC_NKEY], REC_META_LEN);
        int64_t t = la_time(meta, saved);
        unsigned u = 0;
        while (u < 3 && st->now / la_unit_secs[u] - t / la_unit_secs[u] >= 4096)
            u++;
        meta = (uint16_t)((meta & LA_BINKEY) | la_encode(t, u));
        memcpy(p + REC_KEY + p[REC_NKEY], &meta, REC_META_LEN);
        s->live += seg_span(st, len);
        st->stats->curr_items++;
        st->stats->bytes += len;
        k = n++ % AHEAD;
        if (n > AHEAD && !ht_insert(st->ht, qh[k], qref[k]))
            return false;
        qh[k] = store_key_hash(st, (char *)p + REC_KEY, p[REC_NKEY]);
        qref[k] = seg_ref(st, idx, off);
        ht_prefetch(st->ht, qh[k]);
    }
    for (k = n > AHEAD ? n - AHEAD : 0; k < n; k++)
        if (!ht_insert(st->ht, qh[k % AHEAD], qref[k % AHEAD]))
            return false;
    return true;
}

/* The saved state m (size and checksum checked) back into st: NULL, or
 * why not. Segments come back pinned, so that those left empty (all their
 * items expired) are released by the unpin that follows. */
static const char *_restore(struct store *st, const struct meta_head *m)
{
    struct seg *segs = (void *)(m + 1);
    struct meta_head e, fh;
    struct stat sb;
    uint32_t i;
    _head(st, &e);
    if (memcmp(m, &e, HEAD_SETTINGS) != 0)
        return "it was saved with another -m or -I";
    if (fstat(st->mfd, &sb) != 0 || sb.st_size != (off_t)st->nsegs * st->seg_size ||
        pread(st->mfd, &fh, HEAD_FILE, 0) != HEAD_FILE || memcmp(&fh, m, HEAD_FILE) != 0)
        return "the file is not the one saved (replaced, truncated or resized)";
    for (i = 0; i < 9; i++)
        if (m->queues[i] >= m->hiwater)
            return "inconsistent metadata";
    if (m->hiwater > st->nsegs || m->ht_power > 30 || !ht_clear(st->ht, m->ht_power))
        return "inconsistent metadata";
    memcpy(st->segs + 1, segs, (m->hiwater - 1) * sizeof *segs);
    for (i = 1; i < m->hiwater; i++) {
        struct seg *s = &st->segs[i];
        bool used = s->state == SEG_USED;
        s->mem = NULL;
        if ((!used && s->state != SEG_FREE) || s->wpos > st->seg_size ||
            s->prev >= m->hiwater || s->next >= m->hiwater)
            return "inconsistent metadata";
        if ((s->mem = seg_file_map(st, i, used)) == MAP_FAILED) {
            s->mem = NULL;
            return "cannot map the file";
        }
        st->hiwater = i + 1;
        s->pins = used;
        s->live = 0;
        if (!used)
            madvise(s->mem, st->seg_size, MADV_REMOVE);
        else if (!_scan(st, i, m->saved_at))
            return "a record in the file is not whole";
    }
    memcpy((char *)st + QUEUES_AT, m->queues, QUEUES_LEN);
    for (i = 1; i < st->hiwater; i++)
        seg_unpin(st, i);
    st->cas = m->cas;
    st->flush_at = m->flush_at;
    return NULL;
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
    ht_clear(st->ht, STORE_HT_POWER);
}

/* FILE.meta read whole, its format (before all else: a later one may
 * differ in anything), size and checksum checked; NULL, *why set. */
static struct meta_head *_read_meta(const struct store *st, const char *path, const char **why)
{
    struct stat sb;
    struct meta_head *m = NULL, e;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    _head(st, &e);
    *why = "no saved state (the last stop was not SIGUSR1)";
    if (fd < 0)
        return NULL;
    *why = "the metadata is truncated or corrupt";
    if (fstat(fd, &sb) == 0 && sb.st_size >= (off_t)sizeof *m + 8 && sb.st_size < (1 << 28) &&
        (m = malloc((size_t)sb.st_size)) != NULL &&
        read(fd, m, (size_t)sb.st_size) == (ssize_t)sb.st_size) {
        size_t n = (size_t)sb.st_size - 8;
        uint64_t sum;
        memcpy(&sum, (char *)m + n, 8);
        if (memcmp(m, &e, 12) != 0)
            *why = "the metadata is from another memg version";
        else if (m->hiwater && n == sizeof *m + (uint64_t)(m->hiwater - 1) * sizeof(struct seg) &&
            hash64(m, n, 0) == sum)
            *why = NULL;
    }
    close(fd);
    if (*why) {
        free(m);
        m = NULL;
    }
    return m;
}

static int64_t _now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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
    const char *why;
    struct meta_head *m = _read_meta(st, mpath, &why);
    unlink(mpath); /* from here on, a crash leaves no metadata that claims a save */
    if (m && (why = _restore(st, m)) != NULL)
        _reset(st);
    off_t size = (off_t)st->nsegs * st->seg_size;
    if (why && (ftruncate(st->mfd, 0) != 0 || ftruncate(st->mfd, size) != 0)) {
        fmt_buf(note, len, "-e %s: %s", path, strerror(errno));
        free(m);
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
                (long long)(st->now - m->saved_at));
    }
    free(m);
    return pwrite(st->mfd, &h, HEAD_FILE, 0) == HEAD_FILE;
}

bool store_save(struct store *st, char *err, size_t errlen)
{
    char mpath[PATH_MAX], tmp[PATH_MAX];
    size_t nsegs = (size_t)(st->hiwater - 1) * sizeof(struct seg);
    size_t len = sizeof(struct meta_head) + nsegs + 8;
    struct meta_head *m = calloc(1, len);
    int fd = -1;
    bool ok = false;
    if (m) {
        _head(st, m);
        m->cas = st->cas;
        m->saved_at = st->now;
        m->flush_at = st->flush_at;
        m->hiwater = st->hiwater;
        m->ht_power = ht_power(st->ht);
        memcpy(m->queues, (char *)st + QUEUES_AT, QUEUES_LEN);
        memcpy(m + 1, st->segs + 1, nsegs);
        uint64_t sum = hash64(m, len - 8, 0);
        memcpy((char *)m + len - 8, &sum, 8);
        fmt_buf(mpath, sizeof mpath, "%s.meta", st->mfile);
        fmt_buf(tmp, sizeof tmp, "%s.tmp", mpath);
        /* The items first (nothing to do on tmpfs), then the metadata whole,
         * then its name: an interrupted save leaves no FILE.meta. */
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ok = fd >= 0 && fsync(st->mfd) == 0 && fmt_write(fd, (const char *)m, len) &&
             fsync(fd) == 0;
    }
    if ((fd >= 0 && close(fd) != 0) || !ok || rename(tmp, mpath) != 0) {
        fmt_buf(err, errlen, "-e %s: cannot save: %s", st->mfile, strerror(errno));
        ok = false;
    }
    free(m);
    return ok;
}
