/* test_store: item commands, expiry with an injected clock, flush, eviction
 * under a small limit, reservations, pins and the bytes an item costs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/ht.h"
#include "store/seg.h" /* internal: header layout and segment counts */
#include "lib/stats.h"
#include "store/store.h"
#include "store/thp.h"

#define T0 1700000000 /* unix time the tests start at */
#define MB (1024u * 1024u)

static_assert(REC_FIXED == 2, "bits and nkey; the cas is a varint after the key");

struct fx {
    struct store *st;
    struct stats stats;
};

static struct fx *_fx_cfg(struct store_config cfg)
{
    struct fx *f = calloc(1, sizeof *f);
    f->st = store_create(&cfg, &f->stats);
    assert_non_null(f->st);
    store_set_time(f->st, T0);
    return f;
}

static struct fx *_fx(uint64_t limit, bool evict)
{
    return _fx_cfg((struct store_config){.mem_limit = limit, .item_size_max = MB, .evict = evict});
}

static void _done(struct fx *f)
{
    store_destroy(f->st);
    free(f);
}

static enum store_status _store(struct fx *f, enum store_mode mode, const char *key,
                                const char *val, uint64_t flags, int64_t exp, uint64_t cas)
{
    struct store_txn txn;
    size_t n = strlen(val);
    enum store_status rc = store_reserve(f->st, key, strlen(key), flags, exp, n, &txn);
    if (rc != STORE_OK)
        return rc;
    memcpy(txn.value, val, n);
    return store_commit(f->st, &txn, mode, cas);
}

static enum store_status _set(struct fx *f, const char *key, const char *val)
{
    return _store(f, STORE_SET, key, val, 0, 0, 0);
}

/* Value of key as a string ("" when missing: tests use non-empty values). */
static const char *_get(struct fx *f, const char *key)
{
    static char buf[4096];
    struct item_view it;
    if (!store_get(f->st, key, strlen(key), &it))
        return "";
    assert_true(it.nvalue < sizeof buf);
    memcpy(buf, it.value, it.nvalue);
    buf[it.nvalue] = 0;
    return buf;
}

static uint64_t _cas(struct fx *f, const char *key)
{
    struct item_view it;
    assert_true(store_get(f->st, key, strlen(key), &it));
    return it.cas;
}

static void test_set_get(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    struct item_view it;
    assert_false(store_get(f->st, "a", 1, &it));
    assert_int_equal(_store(f, STORE_SET, "a", "hello", 123456, 0, 0), STORE_OK);
    assert_true(store_get(f->st, "a", 1, &it));
    assert_memory_equal(it.key, "a", 1);
    assert_int_equal(it.nvalue, 5);
    assert_memory_equal(it.value, "hello", 5);
    assert_int_equal(it.flags, 123456);
    assert_int_equal(f->stats.curr_items, 1);
    assert_int_equal(f->stats.total_items, 1);
    /* cas 1 (1 more than its segment's base, zigzagged: 2), flags 3 */
    assert_int_equal(f->stats.bytes, REC_FIXED + 1 + REC_META_LEN + 1 + 3 + 1 + 5);
    uint64_t c1 = it.cas;
    assert_int_equal(_set(f, "a", "world!"), STORE_OK);
    assert_string_equal(_get(f, "a"), "world!");
    assert_true(_cas(f, "a") > c1);
    assert_int_equal(f->stats.curr_items, 1);
    assert_int_equal(_set(f, "b", ""), STORE_OK); /* empty value */
    assert_true(store_get(f->st, "b", 1, &it));
    assert_int_equal(it.nvalue, 0);
    assert_int_equal(store_delete(f->st, "a", 1, 0), STORE_OK);
    assert_int_equal(store_delete(f->st, "a", 1, 0), STORE_NOT_FOUND);
    assert_string_equal(_get(f, "a"), "");
    assert_int_equal(f->stats.curr_items, 1);
    _done(f);
}

static void test_add_replace(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    assert_int_equal(_store(f, STORE_REPLACE, "k", "v1", 0, 0, 0), STORE_NOT_STORED);
    assert_int_equal(_store(f, STORE_ADD, "k", "v1", 0, 0, 0), STORE_OK);
    assert_int_equal(_store(f, STORE_ADD, "k", "v2", 0, 0, 0), STORE_NOT_STORED);
    assert_string_equal(_get(f, "k"), "v1");
    assert_int_equal(_store(f, STORE_REPLACE, "k", "v3", 0, 0, 0), STORE_OK);
    assert_string_equal(_get(f, "k"), "v3");
    /* an expired item counts as absent for add */
    assert_int_equal(_store(f, STORE_SET, "e", "old", 0, 5, 0), STORE_OK);
    store_set_time(f->st, T0 + 5);
    assert_int_equal(_store(f, STORE_ADD, "e", "new", 0, 0, 0), STORE_OK);
    assert_string_equal(_get(f, "e"), "new");
    /* failed modes leave no bytes behind */
    struct store_usage u;
    store_usage(f->st, &u);
    assert_int_equal(u.bytes_live, f->stats.bytes);
    _done(f);
}

static void test_append_prepend(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    assert_int_equal(_store(f, STORE_APPEND, "k", "x", 0, 0, 0), STORE_NOT_STORED);
    assert_int_equal(_store(f, STORE_PREPEND, "k", "x", 0, 0, 0), STORE_NOT_STORED);
    assert_int_equal(_store(f, STORE_SET, "k", "mid", 7, 100, 0), STORE_OK);
    uint64_t c1 = _cas(f, "k");
    assert_int_equal(_store(f, STORE_APPEND, "k", "_end", 99, 0, 0), STORE_OK);
    assert_int_equal(_store(f, STORE_PREPEND, "k", "start_", 99, 0, 0), STORE_OK);
    struct item_view it;
    assert_true(store_get(f->st, "k", 1, &it));
    assert_int_equal(it.nvalue, 13);
    assert_memory_equal(it.value, "start_mid_end", 13);
    assert_int_equal(it.flags, 7); /* old flags kept */
    assert_true(it.cas > c1);
    assert_int_equal(f->stats.curr_items, 1);
    store_set_time(f->st, T0 + 100); /* old exptime kept */
    assert_string_equal(_get(f, "k"), "");
    /* the combined item too large: out of memory, old value untouched */
    char *big = malloc(MB);
    memset(big, 'x', 700000);
    big[700000] = 0;
    assert_int_equal(_set(f, "b", big), STORE_OK);
    assert_int_equal(_store(f, STORE_APPEND, "b", big, 0, 0, 0), STORE_NO_MEMORY);
    assert_true(store_get(f->st, "b", 1, &it));
    assert_int_equal(it.nvalue, 700000);
    free(big);
    _done(f);
}

static void test_cas(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    assert_int_equal(_store(f, STORE_CAS, "k", "v", 0, 0, 1), STORE_NOT_FOUND);
    assert_int_equal(_set(f, "k", "v"), STORE_OK);
    uint64_t c = _cas(f, "k");
    assert_int_equal(_store(f, STORE_CAS, "k", "w", 0, 0, c + 1), STORE_EXISTS);
    assert_string_equal(_get(f, "k"), "v");
    assert_int_equal(_store(f, STORE_CAS, "k", "w", 0, 0, c), STORE_OK);
    assert_string_equal(_get(f, "k"), "w");
    assert_int_equal(_store(f, STORE_CAS, "k", "x", 0, 0, c), STORE_EXISTS);
    /* every modification gets a CAS never seen before; touch keeps it */
    uint64_t last = _cas(f, "k"), v;
    for (int i = 0; i < 1000; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i % 10);
        assert_int_equal(_set(f, key, "7"), STORE_OK);
        uint64_t now = _cas(f, key);
        assert_true(now > last);
        last = now;
        assert_int_equal(store_incr(f->st, key, strlen(key), true, 1, 0, &v), STORE_OK);
        assert_true(_cas(f, key) > last);
        last = _cas(f, key);
        assert_true(store_touch(f->st, key, strlen(key), 1000, NULL));
        assert_true(_cas(f, key) == last);
    }
    _done(f);
}

static void test_incr_decr(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    uint64_t v = 0;
    assert_int_equal(store_incr(f->st, "n", 1, true, 1, 0, &v), STORE_NOT_FOUND);
    const char *ok[][2] = {{"12 ", "13"}, {" 12", "13"}, {"0", "1"}, {"+4", "5"},
                           {"18446744073709551615", "0"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(_set(f, "n", ok[i][0]), STORE_OK);
        assert_int_equal(store_incr(f->st, "n", 1, true, 1, 0, &v), STORE_OK);
        assert_int_equal(v, strtoull(ok[i][1], NULL, 10));
    }
    const char *bad[] = {"-12", "", " ", "\r", "\t\n\r", "abc", "12abc", "18446744073709551616", "1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(_set(f, "n", bad[i]), STORE_OK);
        assert_int_equal(store_incr(f->st, "n", 1, true, 1, 0, &v), STORE_NON_NUMERIC);
    }
    /* decr floors at 0; a shorter number keeps the length, padded */
    assert_int_equal(_set(f, "n", "100"), STORE_OK);
    assert_int_equal(store_incr(f->st, "n", 1, false, 95, 0, &v), STORE_OK);
    assert_int_equal(v, 5);
    assert_string_equal(_get(f, "n"), "5  ");
    assert_int_equal(store_incr(f->st, "n", 1, false, 10, 0, &v), STORE_OK);
    assert_int_equal(v, 0);
    assert_string_equal(_get(f, "n"), "0  ");
    /* a longer number is a new item of exactly its length */
    assert_int_equal(_store(f, STORE_SET, "m", "99", 5, 0, 0), STORE_OK);
    assert_int_equal(store_incr(f->st, "m", 1, true, 1, 0, &v), STORE_OK);
    assert_string_equal(_get(f, "m"), "100");
    struct item_view it;
    assert_true(store_get(f->st, "m", 1, &it));
    assert_int_equal(it.flags, 5);
    assert_int_equal(store_incr(f->st, "m", 1, true, UINT64_MAX, 0, &v), STORE_OK);
    assert_int_equal(v, 99); /* wraps mod 2^64 */
    /* pinned by a reply: not changed under the writer's feet */
    assert_true(store_get(f->st, "m", 1, &it));
    store_pin(f->st, it.pin);
    const char *seen = it.value;
    assert_int_equal(store_incr(f->st, "m", 1, true, 1, 0, &v), STORE_OK);
    assert_memory_equal(seen, "99 ", 3);
    assert_string_equal(_get(f, "m"), "100");
    store_unpin(f->st, it.pin);
    _done(f);
}

static void test_touch(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    struct item_view it;
    assert_false(store_touch(f->st, "k", 1, 10, NULL));
    assert_int_equal(_set(f, "k", "val"), STORE_OK); /* no exptime yet: rewrite */
    uint64_t c = _cas(f, "k");
    assert_true(store_touch(f->st, "k", 1, 10, &it));
    assert_memory_equal(it.value, "val", 3);
    assert_true(it.cas == c);
    assert_true(store_touch(f->st, "k", 1, 20, NULL)); /* in place */
    store_set_time(f->st, T0 + 19);
    assert_string_equal(_get(f, "k"), "val");
    assert_true(store_touch(f->st, "k", 1, 0, NULL)); /* never */
    store_set_time(f->st, T0 + 100000);
    assert_string_equal(_get(f, "k"), "val");
    assert_true(store_touch(f->st, "k", 1, -1, &it)); /* gat -1 returns, then gone */
    assert_memory_equal(it.value, "val", 3);
    assert_string_equal(_get(f, "k"), "");
    assert_int_equal(f->stats.curr_items, 0);
    _done(f);
}

static void test_expiry(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    assert_int_equal(_store(f, STORE_SET, "rel", "v", 0, 10, 0), STORE_OK);
    assert_int_equal(_store(f, STORE_SET, "abs", "v", 0, T0 + 100, 0), STORE_OK);
    assert_int_equal(_store(f, STORE_SET, "past", "v", 0, T0 - 1, 0), STORE_OK);
    assert_int_equal(_store(f, STORE_SET, "30d", "v", 0, 2592000, 0), STORE_OK);
    /* kept, as memcached keeps it: the get that meets it counts get_expired */
    assert_int_equal(f->stats.curr_items, 4);
    assert_string_equal(_get(f, "past"), "");
    assert_int_equal(f->stats.get_expired, 1);
    assert_int_equal(f->stats.curr_items, 3);
    store_set_time(f->st, T0 + 9);
    assert_string_equal(_get(f, "rel"), "v");
    store_set_time(f->st, T0 + 10);
    assert_string_equal(_get(f, "rel"), "");
    assert_int_equal(f->stats.get_expired, 2);
    store_set_time(f->st, T0 + 99);
    assert_string_equal(_get(f, "abs"), "v");
    store_set_time(f->st, T0 + 100);
    assert_string_equal(_get(f, "abs"), "");
    store_set_time(f->st, T0 + 2591999);
    assert_string_equal(_get(f, "30d"), "v");
    /* negative: STORED, invisible, and the older version is gone too */
    assert_int_equal(_set(f, "neg", "old"), STORE_OK);
    assert_int_equal(_store(f, STORE_SET, "neg", "new", 0, -1, 0), STORE_OK);
    assert_string_equal(_get(f, "neg"), "");
    assert_int_equal(f->stats.get_expired, 4); /* past, rel, abs, neg */
    assert_int_equal(f->stats.curr_items, 1);
    _done(f);
}

static void test_tick_reclaim(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    char key[32];
    for (int i = 0; i < 40000; i++) {
        snprintf(key, sizeof key, "key:%d", i);
        assert_int_equal(_store(f, STORE_SET, key, "some value", 0, i % 2 ? 5 : 0, 0), STORE_OK);
    }
    assert_string_equal(_get(f, "key:1"), "some value"); /* fetched */
    store_set_time(f->st, T0 + 5);
    store_tick(f->st); /* bounded: one tick visits a slice, not everything */
    /* the sweep's work is memcached's crawler's: crawler_reclaimed, not reclaimed */
    assert_true(f->stats.crawler_reclaimed > 0 && f->stats.crawler_reclaimed < 20000);
    assert_true(f->stats.crawler_items_checked >= f->stats.crawler_reclaimed);
    for (int i = 0; i < 40; i++)
        store_tick(f->st);
    assert_int_equal(f->stats.curr_items, 20000);
    assert_int_equal(f->stats.crawler_reclaimed, 20000);
    assert_int_equal(f->stats.reclaimed, 0);
    assert_true(f->stats.crawler_items_checked >= 40000);
    assert_int_equal(f->stats.expired_unfetched, 19999);
    assert_int_equal(f->stats.get_expired, 0);
    struct store_usage u;
    store_usage(f->st, &u);
    assert_int_equal(u.items, 20000);
    assert_int_equal(u.bytes_live, f->stats.bytes);
    _done(f);
}

/* Overwrites leave dead bytes; they are collected before the store grows,
 * so memory follows the live data, not -m, and nothing is evicted. */
static void test_gc_keeps_memory_near_live(void **state)
{
    (void)state;
    struct fx *f = _fx(512 * MB, true);
    static char val[3001];
    char key[32];
    memset(val, 'v', 3000);
    uint32_t rnd = 12345;
    for (int i = 0; i < 200000; i++) { /* 20000 x 3 KB, then random overwrites: 600 MB */
        rnd = rnd * 1103515245u + 12345u;
        snprintf(key, sizeof key, "gc:%u", i < 20000 ? (unsigned)i : (rnd >> 8) % 20000);
        assert_int_equal(_set(f, key, val), STORE_OK);
    }
    assert_int_equal(f->stats.evictions, 0);
    assert_int_equal(f->stats.curr_items, 20000);
    for (int i = 0; i < 20000; i += 997) {
        snprintf(key, sizeof key, "gc:%d", i);
        assert_string_equal(_get(f, key), val);
    }
    struct store_usage u;
    store_usage(f->st, &u);
    /* collection starts at 1.5x live and takes segments at least half dead:
     * memory settles below twice the live bytes plus the slack (without it:
     * all 512 segments) */
    if (u.segments_used > 2 * u.bytes_live / MB + 8 + 2)
        fail_msg("segments %llu for %llu live bytes", (unsigned long long)u.segments_used,
                 (unsigned long long)u.bytes_live);
    _done(f);
}

/* The segment key's record lies in (0: missing). */
static uint32_t _seg_of(struct fx *f, const char *key)
{
    struct item_view it;
    if (!store_lookup(f->st, key, strlen(key), false, &it))
        return 0;
    struct store *st = f->st;
    for (uint32_t i = 1; i < st->hiwater; i++)
        if (st->segs[i].mem && it.value >= st->segs[i].mem &&
            it.value < st->segs[i].mem + st->seg_size)
            return i;
    fail_msg("%s outside every segment", key);
    return 0;
}

/* Collection takes the emptiest segment at least half dead, wherever it
 * lies: here the newest closed one, while an older one is a candidate too. */
static void test_gc_takes_the_emptiest(void **state)
{
    (void)state;
    enum { VLEN = 100 * 1024, N = 1000 }; /* ten to a segment: 100 segments */
    struct fx *f = _fx(512 * MB, true);
    static char val[VLEN + 1];
    char key[32];
    memset(val, 'g', VLEN);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "g%04d", i);
        assert_int_equal(_set(f, key, val), STORE_OK);
    }
    struct store *st = f->st;
    uint32_t head = _seg_of(f, "g0999"), newest = _seg_of(f, "g0989"), older = _seg_of(f, "g0050");
    assert_true(newest != head && older != newest && older != head);
    assert_int_equal(newest, st->hiwater - 2);
    uint32_t kept = 0, older_wpos = st->segs[older].wpos;
    for (int i = 0; i < N; i++) { /* dead: 9 of 10 in newest, 6 in older, 4 elsewhere */
        snprintf(key, sizeof key, "g%04d", i);
        uint32_t idx = _seg_of(f, key), nth = (uint32_t)(i % 10);
        if (idx == head || (idx == newest ? nth == 9 : nth >= (idx == older ? 6u : 4u))) {
            kept += idx == newest;
            continue;
        }
        assert_int_equal(store_delete(st, key, strlen(key), 0), STORE_OK);
    }
    assert_int_equal(kept, 1);
    assert_int_equal(_set(f, "next", val), STORE_OK); /* the head is full: a new one */
    assert_int_equal(_seg_of(f, "next"), newest);
    assert_int_equal(_seg_of(f, "g0999"), head);
    assert_int_equal(st->segs[older].wpos, older_wpos); /* not compacted */
    assert_int_equal(f->stats.evictions, 0);
    for (int i = 980; i < N; i++) { /* what newest kept moved down, intact */
        snprintf(key, sizeof key, "g%04d", i);
        struct item_view it;
        if (store_lookup(st, key, strlen(key), false, &it)) {
            assert_int_equal(it.nvalue, VLEN);
            assert_memory_equal(it.value, val, VLEN);
        }
    }
    _done(f);
}

static void _fill(struct fx *f, const char *prefix, int n, size_t vlen)
{
    char key[40], val[2048];
    memset(val, 'v', vlen);
    val[vlen] = 0;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s:%d", prefix, i);
        assert_int_equal(_set(f, key, val), STORE_OK);
    }
}

static void test_flush(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    _fill(f, "a", 50000, 200);
    struct store_usage u;
    store_usage(f->st, &u);
    assert_true(u.segments_used >= 10);
    store_flush(f->st, 0);
    store_usage(f->st, &u);
    assert_int_equal(u.segments_used, 0);
    assert_int_equal(u.items, 0);
    assert_int_equal(f->stats.curr_items, 0);
    assert_int_equal(f->stats.bytes, 0);
    assert_int_equal(u.table_capacity, ht_level_cap(STORE_HT_LEVEL));
    assert_string_equal(_get(f, "a:1"), "");
    /* refill reuses the freed segments: nothing ratchets */
    uint64_t total = u.segments_used + u.segments_free;
    _fill(f, "a", 50000, 200);
    store_usage(f->st, &u);
    assert_int_equal(u.segments_used + u.segments_free, total);
    assert_int_equal(f->stats.curr_items, 50000);
    /* delayed: memcached's flush_all N acts one second early */
    store_flush(f->st, 10);
    store_set_time(f->st, T0 + 8);
    store_tick(f->st);
    assert_int_equal(strlen(_get(f, "a:1")), 200);
    assert_int_equal(f->stats.curr_items, 50000);
    store_set_time(f->st, T0 + 9);
    store_tick(f->st);
    assert_int_equal(f->stats.curr_items, 0);
    assert_int_equal(_set(f, "after", "x"), STORE_OK);
    store_set_time(f->st, T0 + 20);
    assert_string_equal(_get(f, "after"), "x"); /* a flush happens once */
    _done(f);
}

/* -o hashpower and no_hashexpand: the table's first size, kept after a
 * flush; fixed, it takes new keys up to 7/8 of its slots, then refuses
 * them (replacing a key takes no slot). */
static void test_table_power_and_no_expand(void **state)
{
    (void)state;
    struct fx *f = _fx_cfg((struct store_config){.mem_limit = 64 * MB, .item_size_max = MB,
                                                 .evict = true, .ht_power = 14});
    assert_int_equal(f->stats.hash_power_level, 14);
    _fill(f, "a", 15000, 10); /* past 3/4 of 2^14: grows (to 1.414 x 2^14) */
    struct store_usage u;
    store_usage(f->st, &u);
    assert_true(u.table_capacity > 1u << 14);
    store_flush(f->st, 0);
    store_usage(f->st, &u);
    assert_int_equal(u.table_capacity, 1u << 14);
    _done(f);
    f = _fx_cfg((struct store_config){.mem_limit = 64 * MB, .item_size_max = MB,
                                      .evict = true, .ht_power = 12, .no_ht_expand = true});
    char key[32];
    for (int i = 0; i < 4096 - 512; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(_set(f, key, "v"), STORE_OK);
    }
    assert_int_equal(_set(f, "one-more", "v"), STORE_NO_MEMORY);
    assert_int_equal(_set(f, "k7", "w"), STORE_OK);
    assert_string_equal(_get(f, "k7"), "w");
    assert_int_equal(f->stats.hash_power_level, 12);
    assert_int_equal(f->stats.curr_items, 4096 - 512);
    _done(f);
}

/* -o track_sizes: live items per 32 bytes of memcached's size. */
static void _size(void *arg, uint32_t size, uint32_t count)
{
    uint32_t *seen = arg;
    assert_true(size / 32 < 64);
    seen[size / 32] = count;
}

static void test_track_sizes(void **state)
{
    (void)state;
    struct fx *f = _fx_cfg((struct store_config){.mem_limit = 64 * MB, .item_size_max = MB,
                                                 .evict = true, .track_sizes = true});
    uint32_t seen[64] = {0};
    assert_true(store_sizes(f->st, _size, seen));
    assert_int_equal(_set(f, "a", "v"), STORE_OK);          /* 48+1+1+1+2+8 = 61: 64 */
    assert_int_equal(_set(f, "b", "v"), STORE_OK);
    assert_int_equal(_store(f, STORE_SET, "c", "0123456789012345678901234567890123456789", 5, 0,
                            0), STORE_OK);                   /* 48+1+1+4+40+2+8 = 104: 128 */
    assert_true(store_sizes(f->st, _size, seen));
    assert_int_equal(seen[2], 2);
    assert_int_equal(seen[4], 1);
    assert_int_equal(_set(f, "b", "0123456789012345678901234567890123456789"), STORE_OK);
    assert_int_equal(store_delete(f->st, "a", 1, 0), STORE_OK);
    memset(seen, 0, sizeof seen);
    store_sizes(f->st, _size, seen);
    assert_int_equal(seen[2], 0); /* a deleted, b replaced: gone from 64 */
    assert_int_equal(seen[4], 2);
    store_flush(f->st, 0);
    memset(seen, 0, sizeof seen);
    store_sizes(f->st, _size, seen);
    for (int i = 0; i < 64; i++)
        assert_int_equal(seen[i], 0);
    _done(f);
    f = _fx(64 * MB, true);
    assert_false(store_sizes(f->st, _size, seen)); /* not tracking */
    _done(f);
}

/* Segments, table(s) and ghost: all the store holds. */
static uint64_t _total(struct fx *f)
{
    struct store_usage u;
    store_usage(f->st, &u);
    return u.segments_used * u.segment_size + u.table_bytes + ghost_bytes(&f->st->ghost);
}

/* What -m counts: segments, and table and ghost beyond their eighth. */
static uint64_t _mem(struct fx *f)
{
    struct store_usage u;
    store_usage(f->st, &u);
    uint64_t meta = u.table_bytes + ghost_bytes(&f->st->ghost), share = u.mem_limit / 8;
    return u.segments_used * u.segment_size + (meta > share ? meta - share : 0);
}

static void test_eviction(void **state)
{
    (void)state;
    struct fx *f = _fx(4 * MB, true);
    char key[32], val[1001];
    memset(val, 'x', 1000);
    val[1000] = 0;
    uint64_t peak = 0;
    for (int i = 0; i < 50000; i++) {
        snprintf(key, sizeof key, "key:%d", i);
        assert_int_equal(_set(f, key, val + (i % 900)), STORE_OK);
        if (_mem(f) > peak)
            peak = _mem(f);
    }
    printf("    4 MB limit: peak %.2f MB, %lu items, %lu evictions\n", peak / 1048576.0,
           (unsigned long)f->stats.curr_items, (unsigned long)f->stats.evictions);
    assert_true(peak <= 4 * MB);
    assert_true(f->stats.evictions > 40000);
    assert_int_equal(f->stats.evictions, f->stats.evicted_unfetched);
    assert_int_equal(f->stats.curr_items + f->stats.evictions, 50000);
    assert_string_equal(_get(f, "key:49999"), val + (49999 % 900));
    assert_string_equal(_get(f, "key:0"), "");
    _done(f);
}

/* Eviction is spread over allocations: no single set evicts a segment's
 * worth of items at once (each unlinks about twice what it allocates). */
static void test_eviction_is_incremental(void **state)
{
    (void)state;
    struct fx *f = _fx(4 * MB, true);
    char key[32], val[101];
    memset(val, 'x', 100);
    val[100] = 0;
    uint64_t worst = 0;
    for (int i = 0; i < 200000; i++) { /* ~25 segments of 100-byte items */
        snprintf(key, sizeof key, "inc:%d", i);
        uint64_t before = f->stats.evictions;
        assert_int_equal(_set(f, key, val), STORE_OK);
        if (f->stats.evictions - before > worst)
            worst = f->stats.evictions - before;
    }
    assert_true(f->stats.evictions > 150000);
    if (worst > 64) /* a whole segment holds ~8000 of these */
        fail_msg("one set evicted %llu items", (unsigned long long)worst);
    _done(f);
}

/* The small-item case: the table outgrows its eighth of the limit, and what
 * it takes beyond that is charged to the segments (fewer of them allowed):
 * segments, table and ghost together stay within 9/8 of -m. */
static void test_limit_includes_table(void **state)
{
    (void)state;
    struct fx *f = _fx(8 * MB, true);
    char key[32];
    uint64_t peak = 0, peak_total = 0;
    uint32_t fewest = UINT32_MAX;
    for (int i = 0; i < 1000000; i++) {
        snprintf(key, sizeof key, "%d", i);
        assert_int_equal(_set(f, key, "1"), STORE_OK);
        if (i % 64 == 0) {
            peak = _mem(f) > peak ? _mem(f) : peak;
            peak_total = _total(f) > peak_total ? _total(f) : peak_total;
            fewest = seg_budget(f->st) < fewest ? seg_budget(f->st) : fewest;
        }
    }
    printf("    8 MB limit, 1M tiny items: peak %.2f MB charged, %.2f MB held, table %.2f MB\n",
           peak / 1048576.0, peak_total / 1048576.0, f->stats.hash_bytes / 1048576.0);
    assert_true(peak <= 8 * MB);
    assert_true(peak_total <= 9 * MB);
    assert_true(peak_total > 8 * MB); /* the share is used, not only counted */
    assert_true(f->stats.hash_bytes > MB); /* beyond its share: charged */
    assert_true(fewest < 8);
    assert_true(f->stats.evictions > 0);
    _done(f);
}

/* -m counts segments only, as memcached's counts slab pages: at -m 16 with
 * items of a few hundred bytes the store fills all 16 segments, the table and
 * ghost (inside their eighth) beside them. */
static void test_limit_counts_segments(void **state)
{
    (void)state;
    struct fx *f = _fx(16 * MB, true);
    struct store_usage u;
    store_usage(f->st, &u);
    assert_int_equal(u.segments_max, 16);
    uint32_t most = 0;
    char key[32], val[901];
    memset(val, 's', 900);
    val[900] = 0;
    for (int i = 0; i < 60000; i++) { /* ~36 MB through 16 */
        snprintf(key, sizeof key, "s:%d", i);
        assert_int_equal(_set(f, key, val + i % 600), STORE_OK);
        if (i % 3 == 0)
            _get(f, key); /* some are read: the main queue and the ghost fill */
        most = f->st->used > most ? f->st->used : most;
    }
    assert_true(ghost_on(&f->st->ghost));
    assert_true(f->stats.evictions > 20000);
    assert_int_equal(most, 16);
    assert_int_equal(seg_meta_over(f->st, 0), 0);
    assert_true(_total(f) > 16 * MB); /* table and ghost beside the segments */
    assert_true(_total(f) <= 16 * MB + 2 * MB);
    assert_true(f->stats.curr_items > 16 * MB / 1000);
    _done(f);
}

/* Read items survive eviction ahead of unread ones (CLOCK per segment). */
static void test_hot_survive(void **state)
{
    (void)state;
    struct fx *f = _fx(4 * MB, true);
    char key[32];
    _fill(f, "a", 4000, 300); /* about a third of the memory */
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 4000; i += 2) { /* even keys are hot */
            snprintf(key, sizeof key, "a:%d", i);
            _get(f, key);
        }
        snprintf(key, sizeof key, "b%d", round);
        _fill(f, key, 1000, 300); /* 20 rounds: 2x the memory */
    }
    int hot = 0, cold = 0;
    for (int i = 0; i < 4000; i++) {
        snprintf(key, sizeof key, "a:%d", i);
        if (*_get(f, key))
            *(i % 2 ? &cold : &hot) += 1;
    }
    printf("    hot kept %d/2000, cold kept %d/2000\n", hot, cold);
    assert_true(hot >= 1900);
    assert_true(cold <= 100);
    assert_true(f->stats.evictions > 0);
    _done(f);
}

/* Probation (S3-FIFO per segment): items read after they were written move
 * to the main queue and outlive any amount of keys written and never read
 * (a scan three times the memory); CLOCK alone kept them one lap only.
 * Memory stays within the limit with the two queues' heads. */
static void test_scan_resistant(void **state)
{
    (void)state;
    struct fx *f = _fx(8 * MB, true);
    char key[32], prefix[16];
    _fill(f, "hot", 3000, 500); /* about 1.6 MB */
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "hot:%d", i);
        assert_true(*_get(f, key));
    }
    uint64_t peak = 0;
    for (int round = 0; round < 10; round++) {
        snprintf(prefix, sizeof prefix, "scan%d", round);
        _fill(f, prefix, 5000, 500);
        peak = _mem(f) > peak ? _mem(f) : peak;
    }
    int kept = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "hot:%d", i);
        kept += *_get(f, key) != 0;
    }
    printf("    hot kept %d/3000 through a scan of 50000 keys\n", kept);
    assert_int_equal(kept, 3000);
    assert_true(f->stats.evictions > 40000);
    assert_int_equal(f->stats.evictions, f->stats.evicted_unfetched); /* only scan keys went */
    assert_true(peak <= 8 * MB);
    assert_true(*_get(f, "scan9:4999"));
    _done(f);
}

/* A value of n bytes of c (n < 2048). */
static const char *_val(char c, size_t n)
{
    static char buf[2048];
    memset(buf, c, n);
    buf[n] = 0;
    return buf;
}

/* Memory of expired items is taken before any live item is evicted: the
 * store is filled with items of a 2 s TTL (and a few that never expire),
 * they expire, and a memory's worth of new items then evicts nothing. The
 * segments taken back are walked item by item, and only expired items are
 * met (exp_walked counts every live item the walks look at). */
static void test_expired_reused_first(void **state)
{
    (void)state;
    struct fx *f = _fx(16 * MB, true);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "live:%d", i);
        assert_int_equal(_store(f, STORE_SET, key, _val('l', 100), 0, 0, 0), STORE_OK);
    }
    int nt = 0;
    while (f->st->used < seg_budget(f->st) || f->st->segs[f->st->theads[0][3]].wpos + 1100 <=
                                                    f->st->seg_size) {
        snprintf(key, sizeof key, "t:%d", nt++);
        assert_int_equal(_store(f, STORE_SET, key, _val('t', 1000), 0, 2, 0), STORE_OK);
    }
    assert_int_equal(f->stats.evictions, 0);
    assert_true(nt > 10000);
    store_set_time(f->st, T0 + 3); /* all expired; no tick runs */
    int nn = nt * 3 / 4;
    for (int i = 0; i < nn; i++) {
        snprintf(key, sizeof key, "n:%d", i);
        assert_int_equal(_store(f, STORE_SET, key, _val('n', 1000), 0, i % 2 ? 0 : 60, 0),
                         STORE_OK);
    }
    assert_int_equal(f->stats.evictions, 0);
    assert_true(f->stats.reclaimed >= (uint64_t)nn * 9 / 10);
    assert_int_equal(f->st->exp_walked, f->stats.reclaimed); /* no live item looked at */
    for (int i = 0; i < 2000; i += 7) {
        snprintf(key, sizeof key, "live:%d", i);
        assert_string_equal(_get(f, key), _val('l', 100));
    }
    for (int i = 0; i < nn; i += 7) {
        snprintf(key, sizeof key, "n:%d", i);
        assert_string_equal(_get(f, key), _val('n', 1000));
    }
    _done(f);
}

/* The tick gives the memory of expired items back within a second of their
 * expiring (well inside 5 s), by class: items of a 5 s TTL go, those of
 * 100 s and those that never expire stay, and no live item is looked at. */
static void test_expired_back_in_ticks(void **state)
{
    (void)state;
    struct fx *f = _fx(256 * MB, true);
    char key[32];
    for (int i = 0; i < 60000; i++) {
        snprintf(key, sizeof key, "k:%d", i);
        int64_t ttl = i % 3 == 0 ? 0 : i % 3 == 1 ? 5 : 100;
        assert_int_equal(_store(f, STORE_SET, key, _val('v', 300 + i % 700), 0, ttl, 0),
                         STORE_OK);
    }
    uint64_t keep_bytes = 0;
    for (int i = 0; i < 60000; i++) {
        snprintf(key, sizeof key, "k:%d", i);
        if (i % 3 != 1) { /* the record's bytes, as the store counts them */
            struct item_view it;
            assert_true(store_get(f->st, key, strlen(key), &it));
            keep_bytes += it.nkey + it.nvalue;
        }
    }
    uint32_t used = f->st->used;
    store_set_time(f->st, T0 + 5);
    int ticks = 0;
    while (f->stats.curr_items > 40000 && ticks < 10) {
        store_tick(f->st);
        ticks++;
    }
    assert_int_equal(f->stats.curr_items, 40000);
    assert_true(ticks <= 2); /* a tick is 100 ms */
    assert_int_equal(f->st->exp_walked, 20000);
    assert_true(f->stats.bytes > keep_bytes && f->stats.bytes < keep_bytes + 40000 * 16);
    assert_true(f->st->used <= used - used / 3 + 1); /* a third of the segments went back */
    assert_string_equal(_get(f, "k:2"), _val('v', 302));
    assert_string_equal(_get(f, "k:3"), _val('v', 303));
    assert_string_equal(_get(f, "k:1"), "");
    _done(f);
}

/* lru_crawler crawl: a pass from the oldest item that frees the expired
 * (counted as the crawler's), bounded by its max, one at a time; with the
 * sweep disabled store_tick frees nothing, and disabling ends a crawl. */
static void test_crawl(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    char key[32];
    for (int i = 0; i < 3000; i++) { /* the 2000 that expire first: the oldest segment */
        snprintf(key, sizeof key, "%c%d", i < 2000 ? 'e' : 'k', i);
        assert_int_equal(_store(f, STORE_SET, key, "v", 0, i < 2000 ? 10 : 0, 0), STORE_OK);
    }
    store_set_time(f->st, T0 + 11);
    store_sweep_enable(f->st, false);
    for (int i = 0; i < 100; i++)
        store_tick(f->st);
    assert_int_equal(f->stats.curr_items, 3000);
    assert_int_equal(f->stats.crawler_items_checked, 0);

    assert_true(store_crawl(f->st, 500)); /* tocrawl 500 */
    assert_false(store_crawl(f->st, 0));  /* BUSY */
    assert_int_equal(f->stats.lru_crawler_running, 1);
    for (int i = 0; i < 10 && store_crawling(f->st); i++)
        store_crawl_step(f->st, 100);
    assert_false(store_crawling(f->st));
    assert_int_equal(f->stats.lru_crawler_running, 0);
    assert_int_equal(f->stats.crawler_items_checked, 500);
    assert_int_equal(f->stats.curr_items, 3000 - f->stats.crawler_reclaimed);
    assert_int_equal(f->stats.crawler_reclaimed, 500);

    assert_true(store_crawl(f->st, 0)); /* all */
    store_crawl_step(f->st, 7);
    assert_true(store_crawling(f->st));
    while (store_crawling(f->st))
        store_crawl_step(f->st, 1000);
    assert_int_equal(f->stats.curr_items, 1000);
    assert_int_equal(f->stats.crawler_reclaimed, 2000);
    assert_int_equal(f->stats.reclaimed, 0);
    assert_int_equal(f->stats.lru_crawler_starts, 2);
    assert_string_equal(_get(f, "k2000"), "v");

    assert_true(store_crawl(f->st, 0));
    store_sweep_enable(f->st, false); /* lru_crawler disable ends it */
    assert_false(store_crawling(f->st));
    store_sweep_enable(f->st, true);
    _done(f);
}

/* Whether key's record is in the main queue (not probation). */
static bool _in_main(struct fx *f, const char *key)
{
    uint32_t *slot = ht_find(f->st->ht, store_key_hash(f->st, key, strlen(key)), key, strlen(key));
    assert_non_null(slot);
    return !f->st->segs[seg_idx(f->st, *slot)].small;
}

/* S3-FIFO's ghost queue: a key evicted from probation unread that is set
 * again soon goes straight to the main queue (into the room its head has:
 * a set never pays for a new main head); a key never seen, or evicted long
 * before, goes to probation. The ghost's memory is kept free in the limit
 * from the start. */
static void test_ghost_readmits(void **state)
{
    (void)state;
    struct fx *f = _fx(8 * MB, true);
    f->st->seed = 42; /* the store is empty: one hash for every run */
    char val[501], key[32];
    memset(val, 'v', 500);
    val[500] = 0;
    for (int i = 0; i < 20000; i++) { /* ~10 MB; every 4th read: the main queue fills */
        snprintf(key, sizeof key, "a:%d", i);
        assert_int_equal(_set(f, key, val), STORE_OK);
        if (i % 4 == 0)
            assert_true(*_get(f, key));
    }
    assert_true(f->stats.evictions > 0);
    assert_true(ghost_on(&f->st->ghost));
    assert_true(_mem(f) <= 8 * MB);
    assert_true(f->st->mhead && f->st->segs[f->st->mhead].wpos + 8 * 600 <= f->st->seg_size);
    int back = 0; /* the first keys, evicted unread; a full bucket may have lost one */
    for (int i = 1; i <= 8; i++) {
        snprintf(key, sizeof key, "a:%d", i + (i - 1) / 3); /* 1 2 3 5 6 7 9 10: unread */
        assert_int_equal(*_get(f, key), 0);
        assert_int_equal(_set(f, key, val), STORE_OK);
        back += _in_main(f, key);
    }
    assert_true(back >= 7);
    assert_int_equal(_set(f, "fresh", val), STORE_OK);
    assert_false(_in_main(f, "fresh"));
    _fill(f, "b", 200000, 500); /* many windows of evictions later */
    assert_int_equal(*_get(f, "a:11"), 0);
    assert_int_equal(_set(f, "a:11", val), STORE_OK);
    assert_false(_in_main(f, "a:11"));
    assert_true(_mem(f) <= 8 * MB);
    store_flush(f->st, 0); /* flush forgets the ghost too */
    assert_false(ghost_on(&f->st->ghost));
    _done(f);
}

/* Value i of _fill_mixed: one of 3000 B per nine of 200 B. */
static const char *_mixed_val(int i)
{
    static char small[201], large[3001];
    memset(small, 's', 200);
    memset(large, 'l', 3000);
    return i % 10 ? small : large;
}

/* An 8 MB store given 30000 keys a:<i> of _mixed_val(i) (~14 MB), every
 * 4th read right after its set: the main queue fills. */
static struct fx *_fill_mixed(void)
{
    struct fx *f = _fx(8 * MB, true);
    f->st->seed = 42;
    char key[32];
    for (int i = 0; i < 30000; i++) {
        snprintf(key, sizeof key, "a:%d", i);
        assert_int_equal(_set(f, key, _mixed_val(i)), STORE_OK);
        if (i % 4 == 0)
            assert_true(*_get(f, key));
    }
    return f;
}

/* A key larger than the mean must come back sooner to skip probation: at
 * over 4x the mean (_fill_mixed's), a key evicted unread and set again
 * half the ghost's span later starts on probation; a small one evicted as
 * early goes to the main queue. */
static void test_ghost_large_waits(void **state)
{
    (void)state;
    struct fx *f = _fill_mixed();
    const char *small = _mixed_val(1), *large = _mixed_val(0);
    char key[32];
    assert_true(ghost_on(&f->st->ghost));
    assert_true(f->st->mhead &&
                f->st->segs[f->st->mhead].wpos + 3 * 3100 + 8 * 300 <= f->st->seg_size);
    for (int i = 15010; i <= 15050; i += 20) { /* unread, evicted half a span ago */
        snprintf(key, sizeof key, "a:%d", i);
        assert_int_equal(*_get(f, key), 0);
        assert_int_equal(_set(f, key, large), STORE_OK);
        assert_false(_in_main(f, key));
    }
    static const int unread[] = {15001, 15002, 15003, 15005, 15006, 15007, 15009, 15011};
    int back = 0;
    for (size_t i = 0; i < sizeof unread / sizeof unread[0]; i++) {
        snprintf(key, sizeof key, "a:%d", unread[i]);
        assert_int_equal(*_get(f, key), 0);
        assert_int_equal(_set(f, key, small), STORE_OK);
        back += _in_main(f, key);
    }
    assert_true(back >= 7);
    _done(f);
}

/* While the main queue is short of its share (the store is filling), the
 * probation segments it takes keep their unread items up to the mean size
 * as well as the read ones; an unread item larger than the mean goes. */
static void test_filling_keeps_small(void **state)
{
    (void)state;
    struct fx *f = _fill_mixed();
    char key[32];
    int small_kept = 0, large_kept = 0;
    for (int i = 0; i < 30000; i++) {
        snprintf(key, sizeof key, "a:%d", i);
        if (i % 4 == 0 || !ht_find(f->st->ht, store_key_hash(f->st, key, strlen(key)), key,
                                   strlen(key)) || !_in_main(f, key))
            continue; /* read, gone, or still on probation */
        small_kept += i % 10 != 0;
        large_kept += i % 10 == 0;
    }
    print_message("    unread in the main queue: %d small, %d large\n", small_kept, large_kept);
    assert_true(small_kept > 1000);
    assert_int_equal(large_kept, 0);
    assert_true(_mem(f) <= 8 * MB);
    _done(f);
}

/* Promotions, in-place passes, deletes, overwrites and limit changes (the
 * probation queue's share moves with the limit) in random order: every hit
 * returns the value last set for its key, and memory stays in the limit. */
static void test_queues_consistent(void **state)
{
    (void)state;
    enum { KEYS = 20000 };
    struct fx *f = _fx(6 * MB, true);
    uint16_t *ver = calloc(KEYS, sizeof *ver); /* 0: not set or deleted */
    char key[32], val[1200], want[1200];
    uint64_t x = 99, hits = 0, limit = 6 * MB;
    for (int i = 0; i < 400000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = (uint32_t)(x >> 33), k = (r % KEYS) * (r % KEYS) / KEYS; /* skewed */
        snprintf(key, sizeof key, "q:%u", k);
        unsigned op = (r >> 20) % 16;
        if (op < 9 && ver[k]) {
            const char *got = _get(f, key);
            if (*got) {
                snprintf(want, sizeof want, "%u.%u.", k, ver[k]);
                assert_memory_equal(got, want, strlen(want));
                hits++;
            }
        } else if (op < 15) {
            ver[k]++;
            int n = snprintf(val, sizeof val, "%u.%u.", k, ver[k]);
            size_t len = 100 + (r >> 8) % 1000;
            memset(val + n, 'p', len - (size_t)n);
            val[len] = 0;
            assert_int_equal(_set(f, key, val), STORE_OK);
        } else {
            store_delete(f->st, key, strlen(key), 0);
            ver[k] = 0;
        }
        if (i % 50000 == 49999) { /* the limit moves: 6, 12, 4, 10 ... MB */
            limit = (limit == 6 * MB ? 12 : limit == 12 * MB ? 4 : limit == 4 * MB ? 10 : 6) * MB;
            assert_true(store_set_limit(f->st, limit));
        }
        if (i % 1000 == 0)
            store_tick(f->st);
    }
    assert_true(hits > 100000);
    assert_true(f->stats.evictions > 10000);
    free(ver);
    _done(f);
}

static void test_no_evict(void **state)
{
    (void)state;
    struct fx *f = _fx(4 * MB, false);
    char key[32], val[1001];
    memset(val, 'x', 1000);
    val[1000] = 0;
    int i = 0;
    enum store_status rc;
    do {
        snprintf(key, sizeof key, "key:%d", i++);
        rc = _set(f, key, val);
    } while (rc == STORE_OK && i < 100000);
    assert_int_equal(rc, STORE_NO_MEMORY);
    assert_int_equal(f->stats.evictions, 0);
    assert_string_equal(_get(f, "key:0"), val);
    assert_true(_mem(f) <= 4 * MB);
    /* deleting frees room again */
    for (int k = 0; k < 2000; k++) {
        snprintf(key, sizeof key, "key:%d", k);
        store_delete(f->st, key, strlen(key), 0);
    }
    assert_int_equal(_set(f, "again", val), STORE_OK);
    _done(f);
}

/* -o large_client_flags: 64-bit flags kept (a 10-byte varint at most) and
 * counted as 8 bytes in memcached's item size, as its 64-bit flags build. */
static void test_large_flags(void **state)
{
    (void)state;
    struct fx *f = _fx_cfg((struct store_config){.mem_limit = 64 * MB, .item_size_max = MB,
                                                 .evict = true, .large_flags = true});
    struct item_view it;
    struct store_txn txn;
    assert_int_equal(_store(f, STORE_SET, "a", "x", 0, 0, 0), STORE_OK);
    uint64_t base = f->stats.bytes;
    assert_int_equal(store_reserve(f->st, "b", 1, UINT64_MAX, 0, 1, &txn), STORE_OK);
    txn.value[0] = 'y';
    assert_int_equal(store_commit(f->st, &txn, STORE_SET, 0), STORE_OK);
    assert_true(store_get(f->st, "b", 1, &it));
    assert_true(it.flags == UINT64_MAX);
    assert_int_equal(f->stats.bytes - base, REC_FIXED + 1 + REC_META_LEN + 1 + 10 + 1 + 1); /* cas: a 1-byte delta */
    assert_int_equal(store_reserve(f->st, "c", 1, 1ull << 32, 0, 1, &txn), STORE_OK);
    txn.value[0] = 'z';
    assert_int_equal(store_commit(f->st, &txn, STORE_SET, 0), STORE_OK);
    assert_int_equal(_store(f, STORE_APPEND, "c", "zz", 0, 0, 0), STORE_OK); /* keeps its flags */
    assert_true(store_get(f->st, "c", 1, &it));
    assert_true(it.flags == 1ull << 32);
    assert_int_equal(it.nvalue, 3);
    assert_int_equal(store_item_total(f->st, 1, 1, 10), 60 + 8 + 10);
    assert_int_equal(store_reserve(f->st, "k", 1, 7, 0, MB - 67, &txn), STORE_TOO_LARGE);
    assert_int_equal(store_reserve(f->st, "k", 1, 7, 0, MB - 68, &txn), STORE_OK);
    store_abort(f->st, &txn);
    _done(f);
}

static void test_too_large(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    struct store_txn txn;
    assert_int_equal(store_reserve(f->st, "k", 1, 0, 0, MB, &txn), STORE_TOO_LARGE);
    /* memcached's accounting: 48 + key 1 + NUL + \r\n + cas 8 = 60 bytes */
    assert_int_equal(store_reserve(f->st, "k", 1, 0, 0, MB - 59, &txn), STORE_TOO_LARGE);
    assert_int_equal(store_reserve(f->st, "k", 1, 7, 0, MB - 63, &txn), STORE_TOO_LARGE);
    assert_int_equal(store_reserve(f->st, "k", 1, 0, 0, MB - 60, &txn), STORE_OK);
    memset(txn.value, 'z', txn.nvalue);
    assert_int_equal(store_commit(f->st, &txn, STORE_SET, 0), STORE_OK);
    struct item_view it;
    assert_true(store_get(f->st, "k", 1, &it));
    assert_int_equal(it.nvalue, MB - 60);
    _done(f);
}

/* A value that arrives over many calls while others fill and evict. */
static void test_reservation(void **state)
{
    (void)state;
    struct fx *f = _fx(4 * MB, true);
    struct store_txn txn, txn2;
    size_t n = 500000;
    assert_int_equal(store_reserve(f->st, "big", 3, 9, 0, n, &txn), STORE_OK);
    memset(txn.value, 'a', n / 2);
    assert_int_equal(store_reserve(f->st, "gone", 4, 0, 0, 100, &txn2), STORE_OK);
    assert_string_equal(_get(f, "big"), ""); /* invisible until commit */
    _fill(f, "other", 20000, 500); /* 10 MB through a 4 MB store */
    assert_true(f->stats.evictions > 0);
    memset(txn.value + n / 2, 'b', n - n / 2);
    assert_int_equal(store_commit(f->st, &txn, STORE_SET, 0), STORE_OK);
    struct item_view it;
    assert_true(store_get(f->st, "big", 3, &it));
    assert_int_equal(it.nvalue, n);
    assert_int_equal(it.flags, 9);
    assert_true(it.value[0] == 'a' && it.value[n - 1] == 'b');
    store_abort(f->st, &txn2);
    assert_string_equal(_get(f, "gone"), "");
    /* a reservation survives flush_all and commits afterwards */
    assert_int_equal(store_reserve(f->st, "late", 4, 0, 0, 5, &txn), STORE_OK);
    store_flush(f->st, 0);
    memcpy(txn.value, "hello", 5);
    assert_int_equal(store_commit(f->st, &txn, STORE_SET, 0), STORE_OK);
    assert_string_equal(_get(f, "late"), "hello");
    assert_int_equal(f->stats.curr_items, 1);
    _done(f);
}

/* A pinned item's bytes stay put through eviction and flush. */
static void test_pins(void **state)
{
    (void)state;
    struct fx *f = _fx(4 * MB, true);
    char val[1001];
    memset(val, 'p', 1000);
    val[1000] = 0;
    assert_int_equal(_set(f, "pinned", val), STORE_OK);
    struct item_view it;
    assert_true(store_get(f->st, "pinned", 6, &it));
    store_pin(f->st, it.pin);
    const char *p = it.value;
    _fill(f, "x", 20000, 500);
    store_flush(f->st, 0);
    _fill(f, "y", 20000, 500);
    assert_memory_equal(p, val, 1000); /* ASan would also catch a reuse */
    assert_true(_mem(f) <= 4 * MB);
    store_unpin(f->st, it.pin);
    _fill(f, "z", 20000, 500);
    assert_true(_mem(f) <= 4 * MB);
    /* with every segment pinned nothing can be evicted */
    struct fx *g = _fx(2 * MB, true);
    struct store_txn t1, t2;
    assert_int_equal(store_reserve(g->st, "a", 1, 0, 0, 900000, &t1), STORE_OK);
    assert_int_equal(store_reserve(g->st, "b", 1, 0, 0, 900000, &t2), STORE_OK);
    struct store_txn t3;
    assert_int_equal(store_reserve(g->st, "c", 1, 0, 0, 900000, &t3), STORE_NO_MEMORY);
    store_abort(g->st, &t1);
    assert_int_equal(store_reserve(g->st, "c", 1, 0, 0, 900000, &t3), STORE_OK);
    store_abort(g->st, &t2);
    store_abort(g->st, &t3);
    _done(g);
    _done(f);
}

/* Growth from nothing is incremental; 1M 14-byte keys with 32-byte values
 * must cost at most 70 bytes each, segments and table together. */
/* The meta field's access time: exact seconds while young, moved to coarser
 * units by the sweep before it could wrap, the key bit kept. */
static void test_access_time_units(void **state)
{
    (void)state;
    int64_t t = T0 + 17;
    uint16_t m = la_stamp(LA_BINKEY, t);
    assert_true(m & LA_BINKEY);
    assert_int_equal(la_time(m, t), t);
    assert_int_equal(la_time(m, t + 4000), t); /* seconds: exact for 8192 s */
    assert_int_equal(la_age_up(m, t + 4000), m);
    uint16_t m2 = la_age_up(m, t + 5000); /* past half the range: minutes */
    assert_int_not_equal(m2, m);
    assert_true(m2 & LA_BINKEY);
    assert_true(t - la_time(m2, t + 5000) < 60 && la_time(m2, t + 5000) <= t);
    int64_t later = t + 5 * 86400; /* the sweep keeps moving it along */
    for (int64_t now = t + 5000; now <= later; now += 60)
        m2 = la_age_up(m2, now);
    assert_true(t - la_time(m2, later) < 3600 && la_time(m2, later) <= t);
    for (int64_t now = later; now <= t + 400 * 86400; now += 3600)
        m2 = la_age_up(m2, now);
    assert_true(t - la_time(m2, t + 400 * 86400) < 86400);
}

/* Lookups report what was before them: fetched, last access; u (no bump)
 * changes neither. */
static void test_lookup_reports_before(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    struct item_view it;
    assert_int_equal(_set(f, "k", "v"), STORE_OK);
    store_set_time(f->st, T0 + 5);
    assert_true(store_lookup(f->st, "k", 1, false, &it));
    assert_int_equal(it.mbits & ITEM_FETCHED, 0);
    assert_int_equal(it.atime, T0);
    assert_true(store_lookup(f->st, "k", 1, true, &it));
    assert_int_equal(it.mbits & ITEM_FETCHED, 0);
    assert_int_equal(it.atime, T0);
    store_set_time(f->st, T0 + 9);
    assert_true(store_lookup(f->st, "k", 1, true, &it));
    assert_true(it.mbits & ITEM_FETCHED);
    assert_int_equal(it.atime, T0 + 5);
    _done(f);
}

/* store_update: stale and win bits, a new cas (fresh or given, also wider
 * than the field), a new exptime; the value stays. */
static void test_update_bits_cas_exp(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    struct item_view it;
    assert_int_equal(_set(f, "k", "value"), STORE_OK);
    uint64_t cas = _cas(f, "k");
    struct store_update u = {.set = ITEM_STALE, .set_cas = true};
    assert_int_equal(store_update(f->st, "k", 1, &u), STORE_OK);
    assert_true(store_lookup(f->st, "k", 1, false, &it));
    assert_true(it.mbits & ITEM_STALE);
    assert_true(it.cas > cas);
    u = (struct store_update){.set = ITEM_WON, .set_cas = true, .cas = (uint64_t)1 << 62};
    assert_int_equal(store_update(f->st, "k", 1, &u), STORE_OK);
    assert_true(store_lookup(f->st, "k", 1, false, &it));
    assert_true((it.mbits & (ITEM_STALE | ITEM_WON)) == (ITEM_STALE | ITEM_WON));
    assert_true(it.cas == (uint64_t)1 << 62);
    assert_string_equal(_get(f, "k"), "value");
    u = (struct store_update){.clear = ITEM_STALE | ITEM_WON, .set_exp = true, .exptime = 100};
    assert_int_equal(store_update(f->st, "k", 1, &u), STORE_OK);
    assert_true(store_lookup(f->st, "k", 1, false, &it));
    assert_int_equal(it.mbits & (ITEM_STALE | ITEM_WON), 0);
    assert_int_equal(it.exp, T0 + 100);
    assert_int_equal(store_update(f->st, "nope", 4, &u), STORE_NOT_FOUND);
    _done(f);
}

static enum store_status _commit_ex(struct fx *f, enum store_mode mode, const char *key,
                                    const char *val, const struct store_cond *c,
                                    struct store_result *res)
{
    struct store_txn txn;
    size_t n = strlen(val);
    enum store_status rc =
        store_reserve_ex(f->st, key, strlen(key), 0, 0, n, c->cas_new, &txn);
    if (rc != STORE_OK)
        return rc;
    memcpy(txn.value, val, n);
    return store_commit_ex(f->st, &txn, mode, c, res);
}

/* The meta set's conditions: an older cas stores stale (I), a given cas
 * (E), append on a missing key (N), the binary-key mark. */
static void test_commit_conditions(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    struct store_result res;
    struct item_view it;
    assert_true(store_has_cas(f->st));
    assert_int_equal(store_item_total(f->st, 1, 0, 1), 48 + 2 + 1 + 2 + 8);
    assert_int_equal(_store(f, STORE_SET, "k", "one", 0, 300, 0), STORE_OK);
    uint64_t old = _cas(f, "k");
    assert_int_equal(_set(f, "k", "two"), STORE_OK);
    assert_int_equal(_store(f, STORE_SET, "k", "two", 0, 300, 0), STORE_OK);
    struct store_cond c = {.cas_in = old};
    assert_int_equal(_commit_ex(f, STORE_CAS, "k", "bad", &c, &res), STORE_EXISTS);
    c.allow_stale = true;
    assert_int_equal(_commit_ex(f, STORE_CAS, "k", "three", &c, &res), STORE_OK);
    assert_true(store_lookup(f->st, "k", 1, false, &it));
    assert_true(it.mbits & ITEM_STALE);
    assert_int_equal(it.exp, T0 + 300); /* the old exptime stays */
    assert_int_equal(res.cas, it.cas);
    assert_string_equal(_get(f, "k"), "three");
    c = (struct store_cond){.cas_in = it.cas + 1000, .allow_stale = true};
    assert_int_equal(_commit_ex(f, STORE_CAS, "k", "x", &c, &res), STORE_EXISTS);
    c = (struct store_cond){.cas_new = 99999999999ull, .mbits = ITEM_BINKEY};
    assert_int_equal(_commit_ex(f, STORE_SET, "b", "bin", &c, &res), STORE_OK);
    assert_true(res.cas == 99999999999ull);
    assert_true(store_lookup(f->st, "b", 1, false, &it));
    assert_true(it.mbits & ITEM_BINKEY);
    assert_true(it.cas == 99999999999ull);
    c = (struct store_cond){0};
    assert_int_equal(_commit_ex(f, STORE_APPEND, "n", "xy", &c, &res), STORE_NOT_STORED);
    c.vivify = true;
    assert_int_equal(_commit_ex(f, STORE_APPEND, "n", "xy", &c, &res), STORE_OK);
    assert_int_equal(_commit_ex(f, STORE_PREPEND, "n", "<", &c, &res), STORE_OK);
    assert_int_equal(res.nvalue, 3);
    assert_string_equal(_get(f, "n"), "<xy");
    _done(f);
}

/* -C (memcached's "disable CAS"): every cas is 0 (E and update hints too),
 * the counter never moves, a compare on a present item fails whatever
 * unique was sent (0 included), a missing one is not found, an append's
 * cas is ignored, memcached -C's item is 8 bytes smaller. */
static void test_no_cas(void **state)
{
    (void)state;
    struct fx *f = _fx_cfg((struct store_config){.mem_limit = 64 * MB, .item_size_max = MB,
                                                 .evict = true, .no_cas = true});
    struct store_result res;
    struct item_view it;
    uint64_t v;
    assert_false(store_has_cas(f->st));
    assert_int_equal(store_item_total(f->st, 1, 0, 1), 48 + 2 + 1 + 2);
    assert_int_equal(_set(f, "k", "1"), STORE_OK);
    assert_int_equal(_cas(f, "k"), 0);
    for (uint64_t c = 0; c < 3; c++)
        assert_int_equal(_store(f, STORE_CAS, "k", "2", 0, 0, c), STORE_EXISTS);
    assert_int_equal(_store(f, STORE_CAS, "nope", "2", 0, 0, 0), STORE_NOT_FOUND);
    struct store_cond c = {.cas_in = 5, .allow_stale = true};
    assert_int_equal(_commit_ex(f, STORE_CAS, "k", "3", &c, &res), STORE_EXISTS);
    assert_int_equal(_store(f, STORE_APPEND, "k", "0", 0, 0, 5), STORE_OK);
    assert_string_equal(_get(f, "k"), "10");
    assert_int_equal(store_incr(f->st, "k", 1, true, 1, 0, &v), STORE_OK);
    assert_int_equal(store_incr(f->st, "k", 1, true, 1, 5, &v), STORE_EXISTS);
    assert_int_equal(store_incr(f->st, "k", 1, true, 1000, 0, &v), STORE_OK); /* rewritten */
    assert_int_equal(v, 1011);
    assert_int_equal(_cas(f, "k"), 0);
    c = (struct store_cond){.cas_new = 77};
    assert_int_equal(_commit_ex(f, STORE_SET, "e", "x", &c, &res), STORE_OK);
    assert_int_equal(res.cas, 0);
    struct store_update u = {.set_cas = true, .cas = 99, .set = ITEM_STALE};
    assert_int_equal(store_update(f->st, "e", 1, &u), STORE_OK);
    u = (struct store_update){.set_cas = true};
    assert_int_equal(store_update(f->st, "e", 1, &u), STORE_OK);
    assert_true(store_touch(f->st, "e", 1, 1000, &it)); /* exptime grows: a new record */
    assert_int_equal(it.cas, 0);
    assert_true(it.mbits & ITEM_STALE);
    assert_int_equal(_store(f, STORE_SET, "neg", "x", 0, -1, 0), STORE_OK);
    assert_int_equal(store_last_cas(f->st), 0);
    assert_int_equal(store_delete(f->st, "k", 1, 5), STORE_EXISTS);
    assert_int_equal(store_delete(f->st, "k", 1, 0), STORE_OK);
    struct rec r; /* the record's cas: one byte */
    assert_int_equal(_set(f, "k", "1"), STORE_OK);
    seg_rec(f->st, *ht_find(f->st->ht, store_key_hash(f->st, "k", 1), "k", 1), &r);
    assert_int_equal(r.cas_len, 1);
    _done(f);
}

/* The record of key (live). */
static void _rec_of(struct fx *f, const char *key, struct rec *r, uint32_t *ref)
{
    uint32_t *slot = ht_find(f->st->ht, store_key_hash(f->st, key, strlen(key)), key, strlen(key));
    assert_non_null(slot);
    *ref = *slot;
    seg_rec(f->st, *ref, r);
}

/* The cas varint: each width's first and last code, written at its own
 * width and wider (in place), read back with the width its first byte tells. */
static void test_cas_varint(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        unsigned w;
    } cases[] = {{0, 1}, {63, 1}, {64, 2}, {40959, 2}, {40960, 3}, {1572863, 3},
                 {1572864, 4}, {(1u << 24) - 1, 4}, {1u << 24, 5}, {UINT32_MAX, 5},
                 {1ull << 32, 6}, {(1ull << 56) - 1, 8}, {1ull << 56, 9}, {UINT64_MAX, 9}};
    unsigned char b[16];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(rec_cvlen(cases[i].v), cases[i].w);
        for (unsigned w = cases[i].w; w <= REC_CAS_MAX; w++) {
            uint64_t v = 1;
            memset(b, 0xee, sizeof b);
            assert_ptr_equal(rec_cvput(b, cases[i].v, w), b + w);
            assert_int_equal(rec_cvwidth(b[0]), w);
            assert_ptr_equal(rec_cvget(b, &v), b + w);
            assert_true(v == cases[i].v);
            assert_int_equal(b[w], 0xee);
        }
    }
    /* zigzag around a base ahead of the counter: both sides fit 2 bytes */
    assert_int_equal(rec_cvlen(rec_cas_code(1000, 1000 + CV_HALF)), 2);
    assert_int_equal(rec_cvlen(rec_cas_code(1000 + 2 * CV_HALF - 1, 1000 + CV_HALF)), 2);
    assert_int_equal(rec_cvlen(rec_cas_code(1000 + 2 * CV_HALF, 1000 + CV_HALF)), 3);
    assert_true(rec_cas_value(rec_cas_code(5, 1u << 20), 1u << 20) == 5);
}

/* The cas varint holds the difference from its segment's base: 1 byte for
 * the first records, wider as the counter moves on; a commit, an incr or a
 * promotion whose cas no longer fits the width writes a new record; a
 * meta E cas of any size is kept. */
static void test_cas_in_segments(void **state)
{
    (void)state;
    struct fx *f = _fx(4 * MB, true);
    struct rec r;
    uint32_t ref, ref2;
    assert_int_equal(_set(f, "first", "1"), STORE_OK);
    _rec_of(f, "first", &r, &ref);
    assert_int_equal(r.cas_len, 1);
    assert_int_equal(r.cas, store_last_cas(f->st));
    /* reserved with a 1-byte width, committed 100 modifications later */
    struct store_txn txn;
    assert_int_equal(store_reserve(f->st, "late", 4, 0, 0, 3, &txn), STORE_OK);
    memcpy(txn.value, "abc", 3);
    _fill(f, "x", 100, 10);
    assert_int_equal(store_commit(f->st, &txn, STORE_SET, 0), STORE_OK);
    assert_string_equal(_get(f, "late"), "abc");
    _rec_of(f, "late", &r, &ref);
    assert_int_equal(r.cas, store_last_cas(f->st));
    assert_int_equal(r.cas_len, 2);
    assert_int_equal(f->stats.curr_items, 102);
    /* incr: in place while the new cas fits, a new record when it does not */
    assert_int_equal(_set(f, "n", "10"), STORE_OK);
    uint64_t v;
    assert_int_equal(store_incr(f->st, "n", 1, true, 1, 0, &v), STORE_OK);
    _rec_of(f, "n", &r, &ref2);
    _rec_of(f, "n", &r, &ref);
    assert_int_equal(ref, ref2);
    _fill(f, "y", 30000, 10); /* past 2 bytes of difference (rec_cvlen) */
    assert_int_equal(store_incr(f->st, "n", 1, true, 1, 0, &v), STORE_OK);
    assert_int_equal(v, 12);
    _rec_of(f, "n", &r, &ref2);
    assert_int_not_equal(ref, ref2);
    assert_int_equal(r.cas, store_last_cas(f->st));
    assert_string_equal(_get(f, "n"), "12");
    /* a shorter number in a copy is padded as in place (memcached's length) */
    struct fx *g = _fx(4 * MB, true);
    assert_int_equal(_set(g, "n", "10"), STORE_OK); /* 1 byte of cas */
    _rec_of(g, "n", &r, &ref);
    _fill(g, "w", 100, 10);
    assert_int_equal(store_incr(g->st, "n", 1, false, 5, 0, &v), STORE_OK);
    _rec_of(g, "n", &r, &ref2);
    assert_int_not_equal(ref, ref2);
    assert_int_equal(r.cas, store_last_cas(g->st));
    assert_string_equal(_get(g, "n"), "5 ");
    _done(g);
    /* a given cas far from the base (meta E), either side */
    struct store_cond c = {.cas_new = (uint64_t)1 << 62};
    struct store_result res;
    assert_int_equal(store_reserve(f->st, "e", 1, 0, 0, 1, &txn), STORE_OK);
    txn.value[0] = 'e';
    assert_int_equal(store_commit_ex(f->st, &txn, STORE_SET, &c, &res), STORE_OK);
    assert_true(res.cas == (uint64_t)1 << 62 && _cas(f, "e") == res.cas);
    c.cas_new = 1;
    assert_int_equal(store_reserve_ex(f->st, "e", 1, 0, 0, 1, 1, &txn), STORE_OK);
    txn.value[0] = 'f';
    assert_int_equal(store_commit_ex(f->st, &txn, STORE_SET, &c, &res), STORE_OK);
    assert_int_equal(_cas(f, "e"), 1);
    /* read items move to the main queue through 3x the memory: their cas
     * comes with them, told from the new segment's base */
    uint64_t cas_hot = _cas(f, "late");
    _rec_of(f, "late", &r, &ref);
    for (int round = 0; round < 12; round++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "z%d", round);
        _fill(f, prefix, 1000, 1000);
        assert_string_equal(_get(f, "late"), "abc");
    }
    assert_true(f->stats.evictions > 0);
    _rec_of(f, "late", &r, &ref2);
    assert_int_not_equal(seg_idx(f->st, ref), seg_idx(f->st, ref2));
    assert_true(_cas(f, "late") == cas_hot);
    assert_int_equal(_store(f, STORE_CAS, "late", "new", 0, 0, cas_hot), STORE_OK);
    _done(f);
}

/* 1M items of 14+32 bytes: memory per item (segments and table, as the
 * limit counts them) and the record bytes of one item. */
static double _bytes_per_item(bool no_cas, double *record)
{
    struct fx *f = _fx_cfg((struct store_config){.mem_limit = 1024ull * MB, .item_size_max = MB,
                                                 .evict = true, .no_cas = no_cas});
    char key[16], val[33];
    memset(val, 'v', 32);
    val[32] = 0;
    bool expanding = false;
    int n = 1000000;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "key:%010d", i);
        assert_int_equal(_set(f, key, val), STORE_OK);
        expanding |= f->stats.hash_is_expanding != 0;
    }
    assert_true(expanding);
    assert_int_equal(f->stats.curr_items, n);
    assert_int_equal(f->stats.evictions, 0);
    assert_string_equal(_get(f, "key:0000123456"), val);
    double per = (double)_total(f) / n;
    *record = (double)f->stats.bytes / n;
    printf("    1M items of 14+32 bytes%s: %.2f bytes/item (record %.2f, table %lu bytes)\n",
           no_cas ? " with -C" : "", per, *record, (unsigned long)f->stats.hash_bytes);
    _done(f);
    return per;
}

/* The cas takes 2 bytes here (1 with -C; memcached -C drops its 8): each
 * segment's base sits in the middle of its records' cas, and every
 * difference fits 2 bytes; the table 5.9 (1.414 x 2^20 slots): 59.4 bytes
 * an item as the limit counts them. */
static void test_bytes_per_item(void **state)
{
    (void)state;
    double rec, rec_c;
    double per = _bytes_per_item(false, &rec), per_c = _bytes_per_item(true, &rec_c);
    assert_true(per <= 59.6);
    assert_true(rec - rec_c >= 0.9 && rec - rec_c <= 1.05);
    assert_true(per - per_c >= 0.5 && per - per_c <= 2.5); /* within a segment of that */
}

static void test_create_small(void **state)
{
    (void)state;
    struct fx *f = _fx(3072ull * MB, true); /* -m 3072 fits 32-bit refs */
    struct store_usage u;
    store_usage(f->st, &u);
    assert_int_equal(u.segments_used, 0);
    assert_true(u.table_bytes <= 64 * 1024);
    /* the table and the ghost queue's room (1/64) are within their eighth */
    assert_int_equal(u.segments_max, 3072);
    assert_int_equal(u.item_header_bytes, REC_FIXED);
    assert_int_equal(_set(f, "k", "v"), STORE_OK);
    store_usage(f->st, &u);
    assert_int_equal(u.segments_used, 1);
    assert_int_equal(f->stats.segment_size, MB);
    _done(f);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A limit larger than the address space allows (a 32-bit box with -m 3072):
 * failed mmaps are counted and the store evicts instead of failing. */
static void test_address_space_short(void **state)
{
    (void)state;
#ifdef UNDER_ASAN
    skip(); /* ASan's shadow memory needs an unlimited address space */
#endif
    if (getenv("MEMG_QEMU"))
        skip(); /* fork() hangs under qemu-user on this kernel */
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {160 * MB, 160 * MB};
        setrlimit(RLIMIT_AS, &rl);
        void *probe = mmap(NULL, 512 * MB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (probe != MAP_FAILED) /* not enforced here (qemu-user): nothing to test */
            _exit(3);
        struct fx *f = _fx(1024ull * MB, true);
        static char val[600001];
        memset(val, 'q', 600000);
        char key[32];
        for (int i = 0; i < 500; i++) { /* 300 MB of values */
            snprintf(key, sizeof key, "k%d", i);
            if (_set(f, key, val) != STORE_OK)
                _exit(1);
        }
        struct item_view it;
        bool ok = f->stats.malloc_fails > 0 && f->stats.evictions > 0 &&
                  store_get(f->st, "k499", 4, &it) && it.nvalue == 600000;
        _exit(ok ? 0 : 2);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* -L: segments come two to a 2 MiB block that starts on a block boundary
 * (where huge pages can go), the items in them read back, eviction and
 * flush work as without, and destroy unmaps the block's unused half too. */
static void test_large_pages(void **state)
{
    (void)state;
    struct fx *f = _fx_cfg((struct store_config){.mem_limit = 8 * MB, .item_size_max = MB,
                                                 .evict = true, .large_pages = true});
    assert_int_equal(f->st->seg_size * 2, THP_BLOCK);
    _fill(f, "a", 2500, 1000); /* about 2.5 segments */
    assert_true(f->st->hiwater >= 4);
    const struct seg *s = f->st->segs;
    assert_int_equal((uintptr_t)s[1].mem % THP_BLOCK, 0);
    assert_ptr_equal(s[2].mem, s[1].mem + f->st->seg_size);
    assert_int_equal((uintptr_t)s[3].mem % THP_BLOCK, 0);
    assert_non_null(f->st->spare_mem); /* the second half of segment 3's block */
    struct item_view it;
    assert_true(store_get(f->st, "a:0", 3, &it));
    assert_int_equal(it.nvalue, 1000);
    assert_int_equal(it.value[999], 'v');
    _fill(f, "b", 20000, 1000); /* 20 MB through an 8 MB limit */
    assert_true(_mem(f) <= 8 * MB);
    assert_true(store_get(f->st, "b:19999", 7, &it));
    store_flush(f->st, 0);
    assert_false(store_get(f->st, "b:19999", 7, &it));
    _done(f);
}

/* cache_memlimit: raising lets more stay at once; lowering gives segments
 * back (one per tick, one per new head) down to the new limit and keeps the
 * newest items; a limit past what item refs reach is refused; with -M
 * nothing is evicted: stores fail until there is room. */
static void test_set_limit(void **state)
{
    (void)state;
    struct fx *f = _fx(8 * MB, true);
    _fill(f, "a", 20000, 1000); /* 20 MB through 8 MB */
    uint64_t ev = f->stats.evictions;
    assert_true(ev > 0);
    assert_true(store_set_limit(f->st, 64 * MB));
    struct store_usage u;
    store_usage(f->st, &u);
    assert_int_equal(u.mem_limit, 64 * MB);
    _fill(f, "b", 40000, 1000); /* 40 MB now fit */
    assert_int_equal(f->stats.evictions, ev);
    assert_true(_mem(f) > 40 * MB);
    assert_true(store_set_limit(f->st, 8 * MB));
    int ticks = 0;
    while (_mem(f) > 8 * MB && ticks < 100) {
        store_tick(f->st);
        ticks++;
    }
    assert_true(_mem(f) <= 8 * MB);
    assert_true(ticks >= 30); /* one segment a tick: the work stays bounded */
    assert_true(f->stats.evictions > ev);
    struct item_view it;
    assert_true(store_get(f->st, "b:39999", 7, &it));
    _fill(f, "c", 20000, 1000);
    assert_true(_mem(f) <= 8 * MB);
    assert_false(store_set_limit(f->st, 8192ull * MB)); /* refs sized for -m 8 reach 4 GB */
    store_usage(f->st, &u);
    assert_int_equal(u.mem_limit, 8 * MB);
    _done(f);

    struct fx *g = _fx(16 * MB, false);
    _fill(g, "a", 10000, 1000);
    assert_true(store_set_limit(g->st, 8 * MB));
    for (int i = 0; i < 50; i++)
        store_tick(g->st);
    assert_int_equal(g->stats.evictions, 0);
    assert_true(store_get(g->st, "a:0", 3, &it));
    char key[32], val[1001];
    memset(val, 'v', 1000);
    val[1000] = 0;
    enum store_status rc = STORE_OK;
    for (int i = 0; i < 2000 && rc == STORE_OK; i++) {
        snprintf(key, sizeof key, "n:%d", i);
        rc = _set(g, key, val);
    }
    assert_int_equal(rc, STORE_NO_MEMORY);
    _done(g);
}

/* --- the walk a slice at a time (lru_crawler metadump) --------------------- */

enum { WALK_KEYS = 8000, WALK_NEW = 20000 };

struct walk_seen {
    uint8_t old[WALK_KEYS], added[WALK_NEW]; /* times listed */
    unsigned calls, limit;                   /* items this slice, and its cap */
    uint64_t cas[WALK_KEYS];                 /* listed with this cas */
};

static bool _walk_note(void *arg, const struct item_view *it)
{
    struct walk_seen *w = arg;
    char key[32];
    assert_true(it->nkey < sizeof key);
    memcpy(key, it->key, it->nkey);
    key[it->nkey] = 0;
    unsigned i = (unsigned)atoi(key + 2);
    if (key[0] == 'w') {
        assert_true(i < WALK_KEYS);
        w->old[i]++;
        w->cas[i] = it->cas;
    } else if (key[0] == 'n') {
        assert_true(i < WALK_NEW);
        w->added[i]++;
    }
    return ++w->calls < w->limit;
}

/* Without changes in between, slices list what one walk lists: every item
 * once, each slice within its budget. */
static void test_walk_slices(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    _fill(f, "w", WALK_KEYS, 400); /* about 4 segments */
    struct walk_seen *w = calloc(1, sizeof *w);
    struct store_cursor cur = {0};
    unsigned slices = 0;
    w->limit = 37;
    for (bool more = true; more; slices++) {
        w->calls = 0;
        more = store_walk(f->st, &cur, 50, _walk_note, w);
        assert_true(w->calls <= 37);
        assert_true(slices < 2 * WALK_KEYS);
    }
    for (int i = 0; i < WALK_KEYS; i++)
        assert_int_equal(w->old[i], 1);
    assert_true(slices > WALK_KEYS / 37);
    w->calls = 0; /* a finished cursor stays finished */
    assert_false(store_walk(f->st, &cur, 50, _walk_note, w));
    assert_int_equal(w->calls, 0);
    free(w);
    _done(f);
}

/* Between slices items are added, deleted, overwritten and evicted (whole
 * segments emptied): an item live
 * throughout whose segment kept its generation (so never moved) is listed
 * exactly once; none is listed more than twice; the walk ends. */
static void test_walk_resumes_across_changes(void **state)
{
    (void)state;
    struct fx *f = _fx(8 * MB, true);
    _fill(f, "p", 9000, 400); /* the oldest: evicted first, as the walk passes */
    _fill(f, "w", WALK_KEYS, 400);
    struct store *st = f->st;
    uint32_t nsegs = st->nsegs;
    uint32_t *gen0 = calloc(nsegs, sizeof *gen0);
    bool *moved = calloc(nsegs, sizeof *moved); /* generation changed at some point */
    uint64_t *cas0 = calloc(WALK_KEYS, sizeof *cas0);
    uint32_t *seg0 = calloc(WALK_KEYS, sizeof *seg0);
    struct walk_seen *w = calloc(1, sizeof *w);
    char key[32], val[401];
    memset(val, 'u', 400);
    val[400] = 0;
    for (uint32_t i = 0; i < nsegs; i++)
        gen0[i] = st->segs[i].gen;
    for (int i = 0; i < WALK_KEYS; i++) {
        struct item_view v;
        snprintf(key, sizeof key, "w:%d", i);
        assert_true(store_lookup(st, key, strlen(key), false, &v));
        cas0[i] = v.cas;
        seg0[i] = v.pin; /* the segment index */
    }
    struct store_cursor cur = {0};
    unsigned slices = 0, added = 0;
    uint64_t x = 7;
    w->limit = 50;
    for (bool more = true; more; slices++) {
        w->calls = 0;
        more = store_walk(st, &cur, 100, _walk_note, w);
        for (int k = 0; k < 20 && added < WALK_NEW; k++) { /* about 8 KB of new items */
            snprintf(key, sizeof key, "n:%u", added++);
            assert_int_equal(_set(f, key, val), STORE_OK);
        }
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        snprintf(key, sizeof key, "w:%u", (unsigned)(x >> 33) % WALK_KEYS);
        if ((x >> 20) & 1)
            store_delete(st, key, strlen(key), 0);
        else
            _set(f, key, val); /* a new record: a new cas */
        for (uint32_t i = 0; i < nsegs; i++)
            moved[i] |= st->segs[i].gen != gen0[i];
        assert_true(slices < 20 * WALK_KEYS);
    }
    unsigned kept = 0;
    for (int i = 0; i < WALK_KEYS; i++) {
        struct item_view v;
        snprintf(key, sizeof key, "w:%d", i);
        assert_true(w->old[i] <= 2);
        if (!store_lookup(st, key, strlen(key), false, &v) || v.cas != cas0[i] ||
            v.pin != seg0[i] || moved[seg0[i]])
            continue;
        kept++;
        if (w->old[i] != 1)
            fail_msg("%s stayed in place but was listed %u times", key, w->old[i]);
        assert_int_equal(w->cas[i], cas0[i]);
    }
    for (unsigned i = 0; i < added; i++)
        assert_true(w->added[i] <= 2);
    /* the changes did happen (segments emptied), and most items stayed */
    assert_true(f->stats.evictions > 1000);
    assert_true(kept > WALK_KEYS / 2 && kept < WALK_KEYS);
    free(w);
    free(seg0);
    free(cas0);
    free(moved);
    free(gen0);
    _done(f);
}

static void _walk_set(struct fx *f, unsigned from, unsigned to)
{
    char key[32];
    for (unsigned i = from; i < to; i++) {
        snprintf(key, sizeof key, "n:%u", i);
        assert_int_equal(_set(f, key, "v"), STORE_OK);
    }
}

static void _walk_delete(struct fx *f, unsigned from, unsigned to)
{
    char key[32];
    for (unsigned i = from; i < to; i++) {
        snprintf(key, sizeof key, "n:%u", i);
        assert_int_equal(store_delete(f->st, key, strlen(key), 0), STORE_OK);
    }
}

/* The segment under the cursor changes generation (here the head, emptied
 * and written again from its start): it is read again from its start once;
 * a second change skips the rest of it, so that every walk ends. */
static void test_walk_rereads_a_segment_once(void **state)
{
    (void)state;
    struct fx *f = _fx(64 * MB, true);
    struct walk_seen *w = calloc(1, sizeof *w);
    struct store_cursor cur = {0};
    _walk_set(f, 0, 100);
    w->limit = 10;
    assert_true(store_walk(f->st, &cur, 1000, _walk_note, w)); /* n:0..9 */
    _walk_delete(f, 0, 100); /* the head is empty: reused from its start */
    _walk_set(f, 100, 150);
    w->calls = 0;
    assert_true(store_walk(f->st, &cur, 1000, _walk_note, w)); /* again: n:100..109 */
    for (unsigned i = 0; i < 150; i++)
        assert_int_equal(w->added[i], i < 10 || (i >= 100 && i < 110));
    _walk_delete(f, 100, 150);
    _walk_set(f, 150, 160);
    w->calls = 0;
    assert_false(store_walk(f->st, &cur, 1000, _walk_note, w)); /* skipped: the end */
    assert_int_equal(w->calls, 0);
    free(w);
    _done(f);
}

/* Empty segments on the free list whose first page is resident. */
static unsigned _warm_free(struct store *st)
{
    unsigned n = 0;
    for (uint32_t idx = st->free_head; idx; idx = st->segs[idx].next) {
        unsigned char v = 0;
        assert_int_equal(mincore(st->segs[idx].mem, 4096, &v), 0);
        n += v & 1;
    }
    return n;
}

/* Large values deleted: their emptied segments stay resident while
 * segments are being taken or emptied (no page fault per 4 KB of the next
 * set), as many as fit the limit beside those in use; a tick with none
 * taken or emptied gives all but two back. */
static void test_warm_spares_under_churn(void **state)
{
    (void)state;
    struct fx *f = _fx(256 * MB, true);
    static char val[600 * 1024 + 1];
    char key[16];
    memset(val, 'v', sizeof val - 1);
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(_set(f, key, val), STORE_OK);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(store_delete(f->st, key, strlen(key), 0), STORE_OK);
    }
    unsigned warm = _warm_free(f->st);
    assert_true(f->st->nfree >= 30); /* each value had a segment of its own */
    assert_int_equal(warm, f->st->nfree); /* 256 MB holds them all */
    store_tick(f->st); /* segments were taken since the last tick: kept */
    assert_int_equal(_warm_free(f->st), warm);
    store_tick(f->st); /* a tick with none taken */
    assert_true(_warm_free(f->st) <= 2);
    assert_int_equal(_set(f, "k0", val), STORE_OK); /* a dropped segment serves again */
    struct item_view it;
    assert_true(store_get(f->st, "k0", 2, &it));
    assert_int_equal(it.nvalue, sizeof val - 1);
    assert_int_equal(((const char *)it.value)[it.nvalue - 1], 'v');
    _done(f);
}

/* A long value's pages are resident once reserved, before it arrives: no
 * page fault per 4 KB under recv; a short one's are left alone. */
/* Whether madvise(MADV_POPULATE_WRITE) makes pages resident here (Linux
 * 5.14+; qemu-user accepts it and populates nothing). */
static bool _populate_works(void)
{
#ifdef MADV_POPULATE_WRITE
    unsigned char in = 0;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    bool ok = madvise(p, 4096, MADV_POPULATE_WRITE) == 0 && mincore(p, 4096, &in) == 0 && (in & 1);
    munmap(p, 4096);
    return ok;
#else
    return false;
#endif
}

static void test_long_value_prefaulted(void **state)
{
    (void)state;
    if (!_populate_works())
        skip(); /* the store then faults pages in as it writes, as before */
    struct fx *f = _fx(64 * MB, true);
    struct store_txn txn, small;
    size_t n = 700 * 1024, pages = n / 4096 - 1;
    assert_int_equal(store_reserve(f->st, "big", 3, 0, 0, n, &txn), STORE_OK);
    uintptr_t first = ((uintptr_t)txn.value + 4095) & ~(uintptr_t)4095;
    unsigned char *v = calloc(pages, 1);
    assert_int_equal(mincore((void *)first, pages * 4096, v), 0);
    for (size_t i = 0; i < pages; i++)
        assert_int_equal(v[i] & 1, 1);
    memset(txn.value, 'b', n);
    assert_int_equal(store_commit(f->st, &txn, STORE_SET, 0), STORE_OK);
    assert_int_equal(store_reserve(f->st, "s", 1, 0, 0, 20000, &small), STORE_OK);
    first = ((uintptr_t)small.value + 2 * 4096) & ~(uintptr_t)4095; /* past the big one's page */
    assert_int_equal(mincore((void *)first, 4096, v), 0);
    assert_int_equal(v[0] & 1, 0); /* never written, not populated */
    memset(small.value, 's', 20000);
    assert_int_equal(store_commit(f->st, &small, STORE_SET, 0), STORE_OK);
    free(v);
    _done(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warm_spares_under_churn),
        cmocka_unit_test(test_long_value_prefaulted),
        cmocka_unit_test(test_set_get),        cmocka_unit_test(test_add_replace),
        cmocka_unit_test(test_append_prepend), cmocka_unit_test(test_cas),
        cmocka_unit_test(test_incr_decr),      cmocka_unit_test(test_touch),
        cmocka_unit_test(test_expiry),         cmocka_unit_test(test_tick_reclaim),
        cmocka_unit_test(test_eviction_is_incremental),
        cmocka_unit_test(test_gc_keeps_memory_near_live),
        cmocka_unit_test(test_gc_takes_the_emptiest),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_table_power_and_no_expand),
        cmocka_unit_test(test_track_sizes),          cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_limit_includes_table),
        cmocka_unit_test(test_limit_counts_segments), cmocka_unit_test(test_hot_survive),
        cmocka_unit_test(test_scan_resistant), cmocka_unit_test(test_queues_consistent),
        cmocka_unit_test(test_ghost_readmits),
        cmocka_unit_test(test_ghost_large_waits),
        cmocka_unit_test(test_filling_keeps_small), cmocka_unit_test(test_crawl),
        cmocka_unit_test(test_expired_reused_first), cmocka_unit_test(test_expired_back_in_ticks),
        cmocka_unit_test(test_no_evict),       cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_large_flags),
        cmocka_unit_test(test_reservation),    cmocka_unit_test(test_pins),
        cmocka_unit_test(test_bytes_per_item), cmocka_unit_test(test_cas_varint),
        cmocka_unit_test(test_cas_in_segments), cmocka_unit_test(test_create_small),
        cmocka_unit_test(test_address_space_short), cmocka_unit_test(test_large_pages),
        cmocka_unit_test(test_set_limit), cmocka_unit_test(test_access_time_units),
        cmocka_unit_test(test_lookup_reports_before), cmocka_unit_test(test_update_bits_cas_exp),
        cmocka_unit_test(test_commit_conditions), cmocka_unit_test(test_no_cas),
        cmocka_unit_test(test_walk_slices), cmocka_unit_test(test_walk_resumes_across_changes),
        cmocka_unit_test(test_walk_rereads_a_segment_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
