/* test_restart: -e, the store in a memory file saved by store_save and
 * restored by the next store_create (src/restart.c, docs/RESTART.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "store/hash.h"
#include "store/ht.h"
#include "store/seg.h" /* internal: segment counts */
#include "lib/stats.h"
#include "store/store.h"

#define MB (1024u * 1024u)

struct fx {
    char dir[64];
    char path[96];
    char note[512];
    struct stats stats;
    struct store *st;
};

static struct store *_open(struct fx *f, uint64_t mb)
{
    struct store_config c = {.mem_limit = mb * MB, .item_size_max = MB, .evict = true,
                             .memory_file = f->path, .note = f->note,
                             .note_len = sizeof f->note};
    memset(&f->stats, 0, sizeof f->stats);
    f->note[0] = '\0';
    return f->st = store_create(&c, &f->stats);
}

static struct fx *_fx(void)
{
    struct fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/memg-test-restart-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/cache", f->dir);
    assert_non_null(_open(f, 16));
    return f;
}

static void _done(struct fx *f)
{
    char meta[128];
    store_destroy(f->st);
    snprintf(meta, sizeof meta, "%s.meta", f->path);
    unlink(meta);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
}

/* Save, close, open again with -m mb: the note of the start. */
static const char *_restart(struct fx *f, uint64_t mb)
{
    char err[256];
    assert_true(store_save(f->st, err, sizeof err));
    store_destroy(f->st);
    assert_non_null(_open(f, mb));
    return f->note;
}

static void _set(struct fx *f, const char *key, const char *val, uint32_t flags, int64_t exp)
{
    struct store_txn txn;
    size_t n = strlen(val);
    assert_int_equal(store_reserve(f->st, key, strlen(key), flags, exp, n, &txn), STORE_OK);
    memcpy(txn.value, val, n);
    assert_int_equal(store_commit(f->st, &txn, STORE_SET, 0), STORE_OK);
}

static bool _get(struct fx *f, const char *key, struct item_view *it)
{
    return store_lookup(f->st, key, strlen(key), false, it);
}

/* Items, flags, CAS, exptimes and the counter come back; what expired
 * while the store was closed does not; stats say what was restored. */
static void test_round_trip(void **state)
{
    (void)state;
    struct fx *f = _fx();
    assert_non_null(strstr(f->note, "starting empty: no saved state"));
    int64_t now = (int64_t)time(NULL);
    store_set_time(f->st, now - 100); /* so that exptime 10 has passed by the restart */
    _set(f, "gone", "x", 0, 10);
    store_set_time(f->st, now);
    char key[16], val[64];
    struct item_view it;
    uint64_t cas[500];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "value-%d-%0*d", i, i % 40, 0);
        _set(f, key, val, (uint32_t)i * 2654435761u, i % 3 ? 3600 : 0);
        assert_true(_get(f, key, &it));
        cas[i] = it.cas;
    }
    uint64_t last = store_last_cas(f->st);
    assert_non_null(strstr(_restart(f, 16), "restored 500 items"));
    assert_int_equal(f->stats.restored_items, 500);
    assert_int_equal(f->stats.curr_items, 500);
    assert_false(_get(f, "gone", &it));
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "value-%d-%0*d", i, i % 40, 0);
        assert_true(_get(f, key, &it));
        assert_int_equal(it.nvalue, strlen(val));
        assert_memory_equal(it.value, val, it.nvalue);
        assert_int_equal(it.flags, (uint32_t)i * 2654435761u);
        assert_int_equal(it.cas, cas[i]);
        assert_true(i % 3 ? it.exp >= now + 3599 && it.exp <= now + 3601 : it.exp == 0);
    }
    _set(f, "new", "n", 0, 0);
    assert_true(store_last_cas(f->st) == last + 1);
    _done(f);
}

/* A record longer than half a segment has a segment of its own (evict.c);
 * it comes back from the file as it was, and its overwrite still frees
 * that segment whole. */
static void test_large_record_round_trip(void **state)
{
    (void)state;
    struct fx *f = _fx();
    enum { BIG = 700 * 1024 };
    char *val = malloc(BIG + 1);
    for (int i = 0; i < BIG; i++)
        val[i] = (char)('a' + i % 23);
    val[BIG] = '\0';
    _set(f, "small", "s", 0, 0);
    _set(f, "big", val, 7, 0);
    assert_non_null(strstr(_restart(f, 16), "restored 2 items"));
    struct item_view it;
    assert_true(_get(f, "big", &it));
    assert_int_equal(it.nvalue, BIG);
    assert_memory_equal(it.value, val, BIG);
    assert_int_equal(it.flags, 7);
    struct store *st = f->st;
    uint32_t idx = 0;
    for (uint32_t i = 1; i < st->hiwater; i++)
        if (it.value >= st->segs[i].mem && it.value < st->segs[i].mem + st->seg_size)
            idx = i;
    assert_int_not_equal(idx, 0);
    assert_int_equal(st->segs[idx].live, st->segs[idx].wpos); /* nothing else in it */
    assert_true(st->segs[idx].wpos < BIG + 64);
    val[0] = 'Z';
    _set(f, "big", val, 7, 0);
    assert_int_equal(st->segs[idx].state, SEG_FREE);
    assert_true(_get(f, "small", &it));
    assert_true(_get(f, "big", &it));
    assert_memory_equal(it.value, val, BIG);
    free(val);
    _done(f);
}

/* Access times are kept modulo 8192 units: after 30 days down they are
 * moved to a unit that still holds their age. */
static void test_access_time_after_a_month(void **state)
{
    (void)state;
    struct fx *f = _fx();
    int64_t month = 30 * 86400, now = (int64_t)time(NULL);
    struct item_view it;
    store_set_time(f->st, now - month);
    _set(f, "k", "v", 0, 0);
    assert_true(store_get(f->st, "k", 1, &it)); /* stamped a month ago */
    assert_non_null(strstr(_restart(f, 16), "restored 1 items"));
    assert_true(_get(f, "k", &it));
    assert_true(it.atime <= now - month + 1 && it.atime > now - month - 3600);
    _done(f);
}

/* What a start cannot trust gives an empty store, and the note says why. */
static void test_refusals(void **state)
{
    (void)state;
    struct fx *f = _fx();
    char meta[128];
    snprintf(meta, sizeof meta, "%s.meta", f->path);
    _set(f, "k", "v", 0, 0);
    assert_non_null(strstr(_restart(f, 32), "saved with another -m, -I, -C or -o large_client_flags"));
    assert_int_equal(f->stats.curr_items, 0);
    _set(f, "k", "v", 0, 0);
    char err[256];
    assert_true(store_save(f->st, err, sizeof err));
    int fd = open(meta, O_RDWR);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, 60), 1);
    b ^= 4;
    assert_int_equal(pwrite(fd, &b, 1, 60), 1);
    close(fd);
    store_destroy(f->st);
    assert_non_null(_open(f, 32));
    assert_non_null(strstr(f->note, "truncated or corrupt"));
    assert_int_equal(f->stats.curr_items, 0);
    assert_int_equal(access(meta, F_OK), -1); /* consumed */
    _done(f);
}

/* A delayed flush_all survives; -m may be lowered but not raised past the
 * file; a second store on the same file is refused. */
static void test_flush_limit_lock(void **state)
{
    (void)state;
    struct fx *f = _fx();
    struct item_view it;
    _set(f, "k", "v", 0, 0);
    store_flush(f->st, 2000);
    assert_non_null(strstr(_restart(f, 16), "restored 1 items"));
    assert_true(_get(f, "k", &it));
    store_set_time(f->st, (int64_t)time(NULL) + 2000);
    assert_false(_get(f, "k", &it));
    assert_true(store_set_limit(f->st, 8 * MB));
    assert_false(store_set_limit(f->st, 64 * MB));
    struct fx g;
    memset(&g, 0, sizeof g);
    strcpy(g.path, f->path);
    assert_null(_open(&g, 16));
    assert_non_null(strstr(g.note, "in use by another memg"));
    _done(f);
}

/* FILE.meta as restart.c writes it: a head of META_HEAD bytes (ht_count,
 * hiwater and ht_level at these offsets), struct seg of segments 1 to
 * hiwater - 1, 4 * ht_level_cap(ht_level) bytes of slots, a checksum over all three. */
#define META_HEAD 136
#define META_HT_COUNT 64
#define META_HIWATER 88
#define META_LEVEL 92

enum craft { SLOT_OUT_OF_RANGE, SLOT_INTO_A_VALUE, SLOT_DROPPED, TABLE_FULL };

/* Rewrite the slots of the saved metadata as `how` says, with a checksum
 * that matches: what a crafted (or unluckily damaged) file looks like. */
static void _craft(const char *meta, enum craft how, uint32_t off_bits)
{
    int fd = open(meta, O_RDWR);
    assert_true(fd >= 0);
    static unsigned char b[64 << 20];
    ssize_t len = read(fd, b, sizeof b);
    assert_true(len > META_HEAD);
    uint32_t hiwater, level;
    uint64_t count;
    memcpy(&hiwater, b + META_HIWATER, 4);
    memcpy(&level, b + META_LEVEL, 4);
    memcpy(&count, b + META_HT_COUNT, 8);
    size_t nseg = (size_t)(hiwater - 1) * sizeof(struct seg), nslot = ht_level_cap(level);
    assert_int_equal((size_t)len, META_HEAD + nseg + nslot * 4 + 8);
    uint32_t *slots = (uint32_t *)(void *)(b + META_HEAD + nseg);
    size_t used = 0, empty = 0;
    while (slots[used] == 0)
        used++;
    while (slots[empty] != 0)
        empty++;
    uint32_t r = slots[used];
    switch (how) {
    case SLOT_OUT_OF_RANGE: /* a segment that is not there: its memory is not mapped */
        slots[used] = (hiwater + 3) << off_bits | (r & ((1u << off_bits) - 1));
        break;
    case SLOT_INTO_A_VALUE: /* one slot more, into the record's value */
        slots[empty] = r + 1;
        count++;
        break;
    case SLOT_DROPPED: /* a live record the table no longer has */
        slots[used] = 0;
        count--;
        break;
    case TABLE_FULL: /* no empty slot: a probe for a missing key never ends */
        for (size_t i = 0; i < nslot; i++)
            if (!slots[i]) {
                slots[i] = r;
                count++;
            }
        break;
    }
    memcpy(b + META_HT_COUNT, &count, 8);
    uint64_t sum = hash64(b, META_HEAD, hash64(b + META_HEAD, nseg, hash64(slots, nslot * 4, 0)));
    memcpy(b + len - 8, &sum, 8);
    assert_int_equal(pwrite(fd, b, (size_t)len, 0), len);
    close(fd);
}

/* Slots that a checksum does not catch (a crafted file, or damage that
 * keeps it): each is checked against the segments before the table is
 * used, and the start is empty and says why instead of crashing later. */
static void test_crafted_slots(void **state)
{
    (void)state;
    static const struct {
        enum craft how;
        const char *why;
    } cases[] = {
        {SLOT_OUT_OF_RANGE, "a table slot points outside the segments, or none is empty"},
        {SLOT_INTO_A_VALUE, "the table's slots are not the live records"},
        {SLOT_DROPPED, "the table's slots are not the live records"},
        {TABLE_FULL, "a table slot points outside the segments, or none is empty"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct fx *f = _fx();
        char meta[128], err[256], key[16];
        struct item_view it;
        snprintf(meta, sizeof meta, "%s.meta", f->path);
        for (int i = 0; i < 20; i++) {
            snprintf(key, sizeof key, "key%d", i);
            _set(f, key, "a value of some length", 0, 0);
        }
        uint32_t off_bits = f->st->off_bits;
        assert_true(store_save(f->st, err, sizeof err));
        store_destroy(f->st);
        _craft(meta, cases[c].how, off_bits);
        assert_non_null(_open(f, 16));
        if (!strstr(f->note, "starting empty") || !strstr(f->note, cases[c].why))
            fail_msg("case %zu: %s", c, f->note);
        assert_int_equal(f->stats.curr_items, 0);
        for (int i = 0; i < 20; i++) { /* every lookup is safe, and misses */
            snprintf(key, sizeof key, "key%d", i);
            assert_false(_get(f, key, &it));
        }
        _set(f, "k", "v", 0, 0);
        assert_true(_get(f, "k", &it));
        _done(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_large_record_round_trip),
        cmocka_unit_test(test_access_time_after_a_month),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_flush_limit_lock),
        cmocka_unit_test(test_crafted_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
