/* test_sim: the offline references of the read-through benchmark (bench/
 * sim.c) on small traces worked out by hand, and the stream both programs
 * share (bench/stream.c): deterministic, scan and churn where they belong,
 * Zipf frequencies as the formula gives them, scan recovery windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reply.h"
#include "sim.h"
#include "sim_prod.h"
#include "stream.h"

typedef bool sim_fn(const uint32_t *, size_t, const uint32_t *, uint32_t, uint64_t, uint8_t *);

static size_t _misses(const uint8_t *hit, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += !hit[i];
    return m;
}

/* The textbook string 1 2 3 4 1 2 5 1 2 3 4 5, three frames: LRU faults 10
 * times, Belady 7 (4 and 5 bypass; each item goes at its last use). */
static void test_textbook(void **state)
{
    (void)state;
    const uint32_t key[] = {1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5};
    const uint32_t size[6] = {1, 1, 1, 1, 1, 1};
    uint8_t hit[12];
    assert_true(sim_lru(key, 12, size, 6, 3, hit));
    assert_int_equal(_misses(hit, 12), 10);
    const uint8_t lru_hits[12] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0};
    assert_memory_equal(hit, lru_hits, 12);
    assert_true(sim_opt(key, 12, size, 6, 3, hit));
    assert_int_equal(_misses(hit, 12), 7);
    const uint8_t opt_hits[12] = {0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0};
    assert_memory_equal(hit, opt_hits, 12);
}

/* S3-FIFO, four items of 1 (its small FIFO: a tenth of 4, so it gives up
 * its oldest as soon as the budget is passed). A A B B C C D D: each read
 * once on probation. E: the four move to main, E (unread) goes to the
 * ghost. E again: remembered, into main, pushing out main's oldest, A
 * (read, but its count was reset on the move). A: a miss. LRU keeps E. */
static void test_s3fifo_by_hand(void **state)
{
    (void)state;
    const uint32_t key[] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 0};
    const uint32_t size[5] = {1, 1, 1, 1, 1};
    uint8_t hit[11];
    assert_true(sim_s3fifo(key, 11, size, 5, 4, hit));
    const uint8_t s3_hits[11] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0};
    assert_memory_equal(hit, s3_hits, 11);
    assert_true(sim_lru(key, 11, size, 5, 4, hit));
    const uint8_t lru_hits[11] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0};
    assert_memory_equal(hit, lru_hits, 11);
}

/* GDSF, a budget of 4: A (1 byte) read twice, B (3 bytes), C (1 byte):
 * C's arrival passes the budget and B, the least reads per byte, goes;
 * B again comes in at L + 1/3 and is again the lowest: it goes at once, so
 * C and A hit. LRU keeps B and loses A. The size-aware S3-FIFO is S3-FIFO
 * itself when every item has the same size. */
static void test_size_aware(void **state)
{
    (void)state;
    const uint32_t key[] = {0, 0, 1, 2, 1, 2, 0};
    const uint32_t size[3] = {1, 3, 1};
    uint8_t hit[7];
    assert_true(sim_gdsf(key, 7, size, 3, 4, hit));
    const uint8_t gdsf_hits[7] = {0, 1, 0, 0, 0, 1, 1};
    assert_memory_equal(hit, gdsf_hits, 7);
    assert_true(sim_lru(key, 7, size, 3, 4, hit));
    const uint8_t lru_hits[7] = {0, 1, 0, 0, 1, 1, 0};
    assert_memory_equal(hit, lru_hits, 7);
    const uint32_t k2[] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 0, 1, 5, 6, 0};
    const uint32_t one[7] = {1, 1, 1, 1, 1, 1, 1};
    uint8_t h1[15], h2[15];
    assert_true(sim_s3fifo(k2, 15, one, 7, 4, h1));
    assert_true(sim_s3size(k2, 15, one, 7, 4, h2));
    assert_memory_equal(h1, h2, 15);
}

/* A scan: H read twice, then six keys read once, then H. S3-FIFO moved H
 * to main when the scan pushed it out of probation, and the scan keys went
 * unread: H hits. LRU (4 items) lost H to the scan. */
static void test_s3fifo_scan(void **state)
{
    (void)state;
    const uint32_t key[] = {0, 0, 1, 2, 3, 4, 5, 6, 0};
    const uint32_t size[7] = {1, 1, 1, 1, 1, 1, 1};
    uint8_t hit[9];
    assert_true(sim_s3fifo(key, 9, size, 7, 4, hit));
    const uint8_t s3_hits[9] = {0, 1, 0, 0, 0, 0, 0, 0, 1};
    assert_memory_equal(hit, s3_hits, 9);
    assert_true(sim_lru(key, 9, size, 7, 4, hit));
    const uint8_t lru_hits[9] = {0, 1, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(hit, lru_hits, 9);
}

/* A B C A D B E A, three items: LRU hits only the first A again; the
 * optimum keeps A and B and lets D and E (never asked again) pass. */
static void test_bypass(void **state)
{
    (void)state;
    const uint32_t key[] = {0, 1, 2, 0, 3, 1, 4, 0};
    const uint32_t size[5] = {1, 1, 1, 1, 1};
    uint8_t hit[8];
    assert_true(sim_lru(key, 8, size, 5, 3, hit));
    const uint8_t lru_hits[8] = {0, 0, 0, 1, 0, 0, 0, 0};
    assert_memory_equal(hit, lru_hits, 8);
    assert_true(sim_opt(key, 8, size, 5, 3, hit));
    const uint8_t opt_hits[8] = {0, 0, 0, 1, 0, 1, 0, 1};
    assert_memory_equal(hit, opt_hits, 8);
}

/* Sizes A=2 B=1 C=1, budget 3, A B C A B C: LRU always pushes out the item
 * needed next (every request misses); the optimum keeps A and B. An item
 * above the budget is never kept by either. */
static void test_sizes(void **state)
{
    (void)state;
    const uint32_t key[] = {0, 1, 2, 0, 1, 2, 3, 3};
    const uint32_t size[4] = {2, 1, 1, 5};
    uint8_t hit[8];
    assert_true(sim_lru(key, 8, size, 4, 3, hit));
    assert_int_equal(_misses(hit, 8), 8);
    assert_true(sim_opt(key, 8, size, 4, 3, hit));
    const uint8_t opt_hits[8] = {0, 0, 0, 1, 1, 0, 0, 0};
    assert_memory_equal(hit, opt_hits, 8);
    /* With room for all (4 bytes), both hit every second request. */
    assert_true(sim_lru(key, 6, size, 4, 4, hit));
    assert_int_equal(_misses(hit, 6), 3);
    assert_true(sim_opt(key, 6, size, 4, 4, hit));
    assert_int_equal(_misses(hit, 6), 3);
}

/* The optimum never misses more than LRU, on a random skewed trace. */
static void test_opt_below_lru(void **state)
{
    (void)state;
    enum { N = 20000, K = 500 };
    uint32_t *key = malloc(N * sizeof *key), size[K];
    uint8_t *h1 = malloc(N), *h2 = malloc(N);
    uint64_t x = 7;
    for (int k = 0; k < K; k++)
        size[k] = 1;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = (uint32_t)(x >> 33) % K;
        key[i] = r * r / K; /* skewed towards small keys */
    }
    for (uint64_t b = 10; b <= 400; b *= 2) {
        assert_true(sim_lru(key, N, size, K, b, h1));
        assert_true(sim_opt(key, N, size, K, b, h2));
        assert_true(_misses(h2, N) <= _misses(h1, N));
    }
    free(key), free(h1), free(h2);
}

/* The oracles of bench/reach.py, by hand, budget 1, items of 1.
 * 0 1 0 1 1 1: Belady keeps 0 (needed sooner) and hits at 2, 4, 5; the
 * future-requests oracle keeps 1 (three requests to come against one) and
 * hits at 3, 4, 5; the floor misses only the first request of each key.
 * 0 0 0 1 0 1 0 1: LFU with the whole past always counts more requests of
 * 0, so 1 never gets in. */
static void test_oracles_by_hand(void **state)
{
    (void)state;
    const uint32_t key[] = {0, 1, 0, 1, 1, 1}, size[2] = {1, 1};
    uint8_t hit[8];
    assert_true(sim_opt(key, 6, size, 2, 1, hit));
    assert_memory_equal(hit, ((const uint8_t[]){0, 0, 1, 0, 1, 1}), 6);
    assert_true(sim_fpb(key, 6, size, 2, 1, hit));
    assert_memory_equal(hit, ((const uint8_t[]){0, 0, 0, 1, 1, 1}), 6);
    assert_true(sim_inf(key, 6, size, 2, 1, hit));
    assert_memory_equal(hit, ((const uint8_t[]){0, 0, 1, 1, 1, 1}), 6);
    const uint32_t key2[] = {0, 0, 0, 1, 0, 1, 0, 1};
    assert_true(sim_lfu(key2, 8, size, 2, 1, hit));
    assert_memory_equal(hit, ((const uint8_t[]){0, 1, 1, 0, 1, 0, 1, 0}), 8);
}

/* On a skewed trace with sizes, no policy misses less than the floor, and
 * the S3-FIFO with a 1-bit mark is S3-FIFO on the hand-made trace of
 * test_s3fifo_by_hand (no item there is read twice in main). */
static void test_floor_below_all(void **state)
{
    (void)state;
    enum { N = 20000, K = 500 };
    uint32_t *key = malloc(N * sizeof *key), size[K];
    uint8_t *hit = malloc(N);
    uint64_t x = 11;
    for (int k = 0; k < K; k++)
        size[k] = 1 + (uint32_t)(k * 7919 % 13);
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = (uint32_t)(x >> 33) % K;
        key[i] = r * r / K;
    }
    sim_fn *all[] = {sim_lru,  sim_opt,   sim_s3fifo, sim_s3size, sim_gdsf, sim_fpb,
                     sim_lfu,  sim_s3bit, sim_s3adm,  sim_s3tlfu, sim_s3fb};
    assert_true(sim_inf(key, N, size, K, 50, hit));
    size_t floor = _misses(hit, N), distinct = 0;
    uint8_t seen[K] = {0};
    for (int i = 0; i < N; i++)
        if (!seen[key[i]]) {
            seen[key[i]] = 1;
            distinct++;
        }
    assert_int_equal(floor, distinct); /* one miss per key: its first request */
    for (size_t p = 0; p < sizeof(all) / sizeof(all[0]); p++) {
        assert_true(all[p](key, N, size, K, 200, hit));
        assert_true(_misses(hit, N) >= floor);
    }
    const uint32_t k3[] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 0}, s3[5] = {1, 1, 1, 1, 1};
    uint8_t h3[11], h4[11];
    assert_true(sim_s3fifo(k3, 11, s3, 5, 4, h3));
    assert_true(sim_s3bit(k3, 11, s3, 5, 4, h4));
    assert_memory_equal(h3, h4, 11);
    free(key), free(hit);
}

/* Item costs: memg's record + 8 bytes of table; memcached's slab chunk. */
static void test_costs(void **state)
{
    (void)state;
    assert_int_equal(sim_cost_memg(14, 32, 0), 2 + 14 + 5 + 1 + 32 + 8);
    assert_int_equal(sim_cost_memg(14, 500, 0x12345678), 2 + 14 + 5 + 5 + 2 + 500 + 8);
    assert_int_equal(sim_cost_memcached(14, 32, 0), 120); /* 105 bytes: the 120 class */
    assert_int_equal(sim_cost_memcached(14, 500, 1), 600); /* 577: the 600 class */
    /* 102400-byte values: 102477 bytes fill class 128,984... (8 to a page) */
    uint32_t c = sim_cost_memcached(14, 102400, 1);
    assert_true(c >= 102477 && c <= 131072);
}

static void test_stream(void **state)
{
    (void)state;
    struct stream_cfg c;
    stream_defaults(&c);
    c.keys = 1000, c.warm = 100, c.measure = 1000, c.scan_at = 200, c.scan_len = 50;
    assert_null(stream_check(&c));
    struct stream a, b;
    stream_setup(&a, &c);
    stream_setup(&b, &c);
    unsigned scans = 0, top = 0;
    for (uint64_t i = 0; i < stream_total(&c); i++) {
        bool sa, sb;
        uint32_t ka = stream_next(&a, &sa), kb = stream_next(&b, &sb);
        assert_int_equal(ka, kb); /* the same seed, the same stream */
        assert_int_equal(sa, sb);
        if (sa) { /* scan keys: past the zipf space, in order, one request in two */
            assert_int_equal(ka, 1000 + scans);
            assert_int_equal((i - 300) % 2, 1);
            scans++;
        } else {
            assert_true(ka < 1000);
        }
        top += ka == 0; /* rank 0 is key 0 */
    }
    assert_int_equal(scans, 50);
    assert_true(top > 0);
    c.seed = 2;
    stream_setup(&b, &c);
    stream_setup(&a, &(struct stream_cfg){.keys = 1000, .alpha = 1.0, .seed = 1, .warm = 10});
    int same = 0;
    for (int i = 0; i < 100; i++) {
        bool s;
        same += stream_next(&a, &s) == stream_next(&b, &s);
    }
    assert_true(same < 50); /* another seed, another stream */
    c.scan_len = 500; /* 1000 requests from 200 do not fit in 1000 */
    assert_non_null(stream_check(&c));
}

/* Zipf 1.0 over 1000 keys: rank 0 is asked 1/H(1000) = 13.4% of the time,
 * rank 1 half that. Alpha 1.2: rank 0 1/zeta_1000(1.2) = 23%. */
static void test_zipf(void **state)
{
    (void)state;
    const double alphas[2] = {1.0, 1.2};
    for (int t = 0; t < 2; t++) {
        double zeta = 0;
        for (int r = 1; r <= 1000; r++)
            zeta += 1.0 / pow((double)r, alphas[t]);
        struct stream_cfg c = {.keys = 1000, .alpha = alphas[t], .seed = 3, .warm = 200000};
        struct stream s;
        stream_setup(&s, &c);
        uint64_t n0 = 0, n1 = 0;
        for (int i = 0; i < 200000; i++) {
            bool sc;
            uint32_t k = stream_next(&s, &sc);
            n0 += k == 0;
            n1 += k == s.mult % 1000; /* rank 1 */
        }
        double p0 = (double)n0 / 200000, p1 = (double)n1 / 200000;
        assert_true(p0 > 0.97 / zeta && p0 < 1.03 / zeta);
        double p1_want = 1.0 / zeta / pow(2.0, alphas[t]);
        assert_true(p1 > 0.95 * p1_want && p1 < 1.05 * p1_want);
    }
}

/* Churn: after one epoch, the key that was at rank r is at rank r + step. */
static void test_churn(void **state)
{
    (void)state;
    struct stream_cfg c = {.keys = 1000, .alpha = 1.2, .seed = 5, .warm = 2000,
                           .churn_every = 1000, .churn_step = 10};
    struct stream s;
    stream_setup(&s, &c);
    uint64_t top_before = 0, top_after = 0, old_top_after = 0;
    for (int i = 0; i < 2000; i++) {
        bool sc;
        uint32_t k = stream_next(&s, &sc);
        if (i < 1000)
            top_before += k == 0;
        else {
            top_after += k == (uint32_t)((1000 - 10) * s.mult % 1000); /* new rank 0 */
            old_top_after += k == 0; /* now rank 10 */
        }
    }
    assert_true(top_before > 150);
    assert_true(top_after > 150);
    assert_true(old_top_after < top_after / 5);
}

/* Recovery: windows of 4 hot gets; all hits before the scan, misses during
 * and just after it, back at the second window after. */
static void test_recovery(void **state)
{
    (void)state;
    struct stream_cfg c = {.keys = 10, .warm = 0, .measure = 100, .scan_at = 8, .scan_len = 2,
                           .window = 4};
    struct recovery r = {0};
    uint64_t i = 0;
    for (; i < 8; i++)
        recovery_feed(&r, &c, i, false, true);
    recovery_feed(&r, &c, i++, false, false);
    recovery_feed(&r, &c, i++, true, false);
    assert_int_equal(r.state, 1);
    assert_true(r.pre == 1.0);
    recovery_feed(&r, &c, i++, false, false);
    recovery_feed(&r, &c, i++, true, false);
    assert_int_equal(r.state, 2);
    assert_int_equal(r.scan_end, 11);
    for (int k = 0; k < 4; k++)
        recovery_feed(&r, &c, i++, false, k > 0); /* 3 of 4: not back */
    assert_int_equal(r.state, 2);
    assert_true(r.low == 0.75);
    for (int k = 0; k < 4; k++)
        recovery_feed(&r, &c, i++, false, true);
    assert_int_equal(r.state, 3);
    assert_int_equal(r.back_at, 19);
}

/* A production-shaped trace as key versions, worked by hand (key 0 with a
 * TTL of 10 requests, key 1 none): a get misses and fills (version 0); a
 * set restarts the TTL; the TTL runs out (version 2); a delete names no
 * version and the next get starts one (3); an add or incr of an absent key
 * stores it, so the get after it can hit. The infinite cache over the
 * versions misses exactly the gets no cache could hit. */
static void test_prod_versions(void **state)
{
    (void)state;
    enum { N = 12 };
    const uint32_t key[N] = {0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0};
    const uint8_t op[N] = {POP_GET, POP_GET, POP_ADD, POP_SET, POP_GET, POP_GET,
                           POP_GET, POP_DEL, POP_GET, POP_GET, POP_INCR, POP_GET};
    const uint64_t ttl[2] = {10, 0};
    uint32_t vkey[N], vbase[N];
    uint8_t isget[N];
    /* i: 0 get k0 (v0, stored 0) 1 get 2 add k1 (v1) 3 set k0 (stored 3) 4 get 5 get
     * 6 get k1 7 del k1 8 get k1 (v2) 9 get k1 10 incr k0: 10 < 3 + 10, live
     * 11 get k0: 11 < 13, live */
    assert_int_equal(sim_prod_versions(key, op, N, ttl, 2, vkey, isget, vbase), 3);
    const uint32_t want[N] = {0, 0, 1, 0, 0, 0, 1, UINT32_MAX, 2, 2, 0, 0};
    assert_memory_equal(vkey, want, sizeof want);
    assert_int_equal(vbase[0], 0);
    assert_int_equal(vbase[1], 1);
    assert_int_equal(vbase[2], 1);
    const uint8_t gets[N] = {1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1};
    assert_memory_equal(isget, gets, N);
    /* without the set at 3, key 0 expires at 10: the incr starts version 3 */
    uint8_t op2[N];
    memcpy(op2, op, N);
    op2[3] = POP_GET;
    assert_int_equal(sim_prod_versions(key, op2, N, ttl, 2, vkey, isget, vbase), 4);
    assert_int_equal(vkey[10], 3);
    assert_int_equal(vkey[11], 3);
    assert_int_equal(vbase[3], 0);
    /* the floor: an infinite cache misses the first request of each version */
    const uint32_t tr[] = {0, 0, 1, 0, 0, 0, 1, 2, 2, 3, 3}, size[4] = {1, 1, 1, 1};
    uint8_t hit[11];
    assert_true(sim_inf(tr, 11, size, 4, 1, hit));
    assert_int_equal(_misses(hit, 11), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_textbook),
        cmocka_unit_test(test_s3fifo_by_hand),
        cmocka_unit_test(test_s3fifo_scan), cmocka_unit_test(test_bypass),
        cmocka_unit_test(test_size_aware),
        cmocka_unit_test(test_sizes),    cmocka_unit_test(test_opt_below_lru),
        cmocka_unit_test(test_costs),    cmocka_unit_test(test_stream),
        cmocka_unit_test(test_oracles_by_hand), cmocka_unit_test(test_floor_below_all),
        cmocka_unit_test(test_zipf),     cmocka_unit_test(test_churn),
        cmocka_unit_test(test_recovery), cmocka_unit_test(test_prod_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
