/* test_solo: a record longer than half a segment gets a segment of its own
 * (src/store/evict.c, _solo): no other record joins it, and its overwrite,
 * delete, expiry or eviction frees the segment whole, with nothing copied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/seg.h" /* internal: segments */
#include "lib/stats.h"
#include "store/store.h"

#define T0 1700000000
#define MB (1024u * 1024u)
#define BIG (600u * 1024u) /* past half of a 1 MiB segment */

struct fx {
    struct store *st;
    struct stats stats;
};

static struct fx *_fx(uint64_t limit)
{
    struct fx *f = calloc(1, sizeof *f);
    struct store_config cfg = {.mem_limit = limit, .item_size_max = MB, .evict = true};
    f->st = store_create(&cfg, &f->stats);
    assert_non_null(f->st);
    store_set_time(f->st, T0);
    return f;
}

static void _done(struct fx *f)
{
    store_destroy(f->st);
    free(f);
}

/* Sets key to n bytes of c, with exptime exp. */
static void _set(struct fx *f, const char *key, size_t n, char c, int64_t exp)
{
    struct store_txn txn;
    assert_int_equal(store_reserve(f->st, key, strlen(key), 0, exp, n, &txn), STORE_OK);
    memset(txn.value, c, n);
    assert_int_equal(store_commit(f->st, &txn, STORE_SET, 0), STORE_OK);
}

/* The segment key's value lies in (0: missing), and checks the value is n bytes of c. */
static uint32_t _seg_of(struct fx *f, const char *key, size_t n, char c)
{
    struct item_view it;
    if (!store_lookup(f->st, key, strlen(key), false, &it))
        return 0;
    assert_int_equal(it.nvalue, n);
    for (size_t i = 0; i < n; i += 4093)
        assert_int_equal(it.value[i], c);
    assert_int_equal(it.value[n - 1], c);
    struct store *st = f->st;
    for (uint32_t i = 1; i < st->nsegs; i++)
        if (st->segs[i].mem && it.value >= st->segs[i].mem &&
            it.value < st->segs[i].mem + st->seg_size)
            return i;
    fail_msg("value outside every segment");
    return 0;
}

/* Segment idx holds one record, at its start, and nothing is written after it. */
static void _alone(struct fx *f, uint32_t idx)
{
    const struct seg *s = &f->st->segs[idx];
    assert_int_equal(s->state, SEG_USED);
    assert_false(seg_is_open(f->st, idx));
    struct rec r;
    rec_decode(s->mem, &r, s->cas_base);
    assert_true(r.bits & R_LIVE);
    assert_int_equal(s->wpos, seg_span(f->st, r.len));
    assert_int_equal(s->live, s->wpos);
}

static void test_large_record_gets_own_segment(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB);
    _set(f, "small:1", 100, 'a', 0);
    _set(f, "big", BIG, 'b', 0);
    _set(f, "small:2", 100, 'c', 0);
    uint32_t b = _seg_of(f, "big", BIG, 'b');
    _alone(f, b);
    /* small records still share the head, the big one went beside it */
    assert_int_equal(_seg_of(f, "small:1", 100, 'a'), _seg_of(f, "small:2", 100, 'c'));
    assert_int_not_equal(_seg_of(f, "small:1", 100, 'a'), b);
    /* half a segment or less is written to the head as before */
    _set(f, "half", 400u * 1024u, 'h', 0);
    assert_int_equal(_seg_of(f, "half", 400u * 1024u, 'h'), _seg_of(f, "small:1", 100, 'a'));
    _done(f);
}

/* 2,000 overwrites of 20 keys of 600 KB to 1 MB: each frees its old segment
 * whole; nothing is compacted (no generation moves but the releases), the
 * store stays at the live segments plus the head, nothing is evicted. */
static void test_overwrite_frees_whole(void **state)
{
    (void)state;
    struct fx *f = _fx(256 * MB);
    char key[16], last[20] = {0};
    uint32_t rnd = 7;
    for (int i = 0; i < 2000; i++) {
        rnd = rnd * 1103515245u + 12345u;
        unsigned k = i < 20 ? (unsigned)i : (rnd >> 8) % 20;
        size_t n = BIG + k * 20000u;
        char c = (char)('a' + i % 26);
        snprintf(key, sizeof key, "k%u", k);
        uint32_t old = last[k] ? _seg_of(f, key, n, last[k]) : 0;
        _set(f, key, n, c, 0);
        last[k] = c;
        if (old)
            assert_int_equal(f->st->segs[old].state, SEG_FREE); /* freed whole at once */
        _alone(f, _seg_of(f, key, n, c));
    }
    assert_int_equal(f->stats.evictions, 0);
    assert_int_equal(f->stats.curr_items, 20);
    assert_true(f->st->used <= 20 + 1);
    /* the freed segments were taken again: the store never grew past them */
    assert_true(f->st->hiwater <= 20 + 3);
    _done(f);
}

static void test_delete_and_expiry_free_whole(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB);
    _set(f, "del", BIG, 'd', 0);
    _set(f, "exp", BIG, 'e', 10);
    uint32_t d = _seg_of(f, "del", BIG, 'd'), e = _seg_of(f, "exp", BIG, 'e');
    _alone(f, d);
    _alone(f, e);
    assert_int_not_equal(d, e);
    assert_int_equal(store_delete(f->st, "del", 3, 0), STORE_OK);
    assert_int_equal(f->st->segs[d].state, SEG_FREE);
    store_set_time(f->st, T0 + 11);
    assert_int_equal(_seg_of(f, "exp", BIG, 'e'), 0); /* met expired: unlinked */
    assert_int_equal(f->st->segs[e].state, SEG_FREE);
    /* the tick frees a wholly expired one without anyone meeting it */
    _set(f, "exp2", BIG, 'x', 5);
    uint32_t x = _seg_of(f, "exp2", BIG, 'x');
    store_set_time(f->st, T0 + 20);
    store_tick(f->st);
    assert_int_equal(f->st->segs[x].state, SEG_FREE);
    assert_int_equal(f->stats.curr_items, 0);
    _done(f);
}

/* A small limit: big items evict each other a segment at a time; one read
 * on probation is promoted into a segment of its own in the main queue. */
static void test_eviction_and_promotion(void **state)
{
    (void)state;
    struct fx *f = _fx(12 * MB);
    char key[16];
    _set(f, "keep", BIG, 'K', 0);
    assert_int_not_equal(_seg_of(f, "keep", BIG, 'K'), 0);
    struct item_view it;
    assert_true(store_get(f->st, "keep", 4, &it)); /* read: promoted, not evicted */
    for (int i = 0; i < 60; i++) {
        snprintf(key, sizeof key, "n%d", i);
        _set(f, key, BIG, (char)('a' + i % 26), 0);
        _alone(f, _seg_of(f, key, BIG, (char)('a' + i % 26)));
        assert_true(f->st->used <= seg_budget(f->st));
    }
    assert_true(f->stats.evictions > 40);
    uint32_t k = _seg_of(f, "keep", BIG, 'K');
    assert_int_not_equal(k, 0);
    assert_false(f->st->segs[k].small); /* in the main queue now */
    _alone(f, k);
    /* the newest are there, the oldest unread gone */
    assert_int_not_equal(_seg_of(f, "n59", BIG, (char)('a' + 59 % 26)), 0);
    assert_int_equal(_seg_of(f, "n0", BIG, 'a'), 0);
    _done(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_record_gets_own_segment),
        cmocka_unit_test(test_overwrite_frees_whole),
        cmocka_unit_test(test_delete_and_expiry_free_whole),
        cmocka_unit_test(test_eviction_and_promotion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
