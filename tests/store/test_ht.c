/* test_ht: the item table alone, with keys kept in an array indexed by ref. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/hash.h"
#include "store/ht.h"

/* ref r (>= 1) holds key keys[r]; keys are 8-byte numbers. */
struct fix {
    uint64_t *keys;
    size_t n;
    struct ht *ht;
};

static uint64_t _h(const uint64_t *k)
{
    return hash64(k, sizeof *k, 42);
}

static uint64_t _hash(void *ctx, uint32_t ref)
{
    struct fix *f = ctx;
    return _h(&f->keys[ref]);
}

static bool _match(void *ctx, uint32_t ref, const char *key, size_t nkey)
{
    struct fix *f = ctx;
    return nkey == 8 && memcmp(&f->keys[ref], key, 8) == 0;
}

static struct fix *_fix(size_t n)
{
    struct fix *f = calloc(1, sizeof *f);
    f->keys = calloc(n + 1, sizeof *f->keys);
    f->n = n;
    for (size_t i = 1; i <= n; i++)
        f->keys[i] = i * 0x9e3779b97f4a7c15ull;
    f->ht = ht_create(8, _hash, _match, f); /* 16 slots */
    assert_non_null(f->ht);
    return f;
}

static void _free(struct fix *f)
{
    ht_destroy(f->ht);
    free(f->keys);
    free(f);
}

static uint32_t *_find(struct fix *f, uint32_t ref)
{
    return ht_find(f->ht, _h(&f->keys[ref]), (const char *)&f->keys[ref], 8);
}

static void _insert(struct fix *f, uint32_t ref)
{
    if (ht_grow_bytes(f->ht))
        assert_true(ht_grow(f->ht));
    assert_true(ht_insert(f->ht, _h(&f->keys[ref]), ref));
}

static void test_basic(void **state)
{
    (void)state;
    struct fix *f = _fix(100);
    for (uint32_t r = 1; r <= 50; r++)
        _insert(f, r);
    assert_int_equal(ht_count(f->ht), 50);
    for (uint32_t r = 1; r <= 100; r++) {
        uint32_t *s = _find(f, r);
        if (r <= 50) {
            assert_non_null(s);
            assert_int_equal(*s, r);
        } else {
            assert_null(s);
        }
    }
    /* Replace: key 60 takes over ref 10's slot (same key bytes) */
    f->keys[60] = f->keys[10];
    assert_true(ht_replace_ref(f->ht, _h(&f->keys[10]), 10, 60));
    assert_int_equal(*_find(f, 60), 60);
    for (uint32_t r = 1; r <= 50; r += 2)
        ht_remove(f->ht, _find(f, r));
    assert_int_equal(ht_count(f->ht), 25);
    for (uint32_t r = 2; r <= 50; r += 2)
        assert_non_null(_find(f, r));
    assert_false(ht_remove_ref(f->ht, _h(&f->keys[3]), 3));
    assert_true(ht_remove_ref(f->ht, _h(&f->keys[2]), 2));
    assert_null(_find(f, 2));
    _free(f);
}

static void test_growth_1m(void **state)
{
    (void)state;
    size_t n = 1000000;
    struct fix *f = _fix(n);
    bool saw_expanding = false;
    for (uint32_t r = 1; r <= n; r++) {
        _insert(f, r);
        saw_expanding |= ht_expanding(f->ht);
    }
    assert_true(saw_expanding);
    assert_int_equal(ht_count(f->ht), n);
    for (uint32_t r = 1; r <= n; r++)
        assert_int_equal(*_find(f, r), r);
    ht_step(f->ht, (size_t)-1);
    assert_false(ht_expanding(f->ht));
    /* 1M entries at <= 3/4 load: 1.414 * 2^20 slots (2^21 before the
     * half levels: 8.4 bytes an entry; 1.5 * 2^20 with levels at 1 and
     * 1.5: 6.3; now 5.9) */
    assert_int_equal(ht_capacity(f->ht), (size_t)362 << 12);
    assert_int_equal(ht_bytes(f->ht), (size_t)362 << 14);
    assert_int_equal(ht_level(f->ht), 41);
    assert_int_equal(ht_power(f->ht), 20);
    assert_true(ht_clear(f->ht, 8));
    assert_int_equal(ht_capacity(f->ht), 16);
    assert_int_equal(ht_count(f->ht), 0);
    assert_null(_find(f, 1));
    _free(f);
}

/* Millions of insert/delete with a steady live set: no tombstones pile up,
 * the table does not grow, everything live stays findable. */
static void _churn(size_t live, size_t total, size_t cap)
{
    struct fix *f = _fix(total);
    for (uint32_t r = 1; r <= total; r++) {
        _insert(f, r);
        if (r > live)
            assert_true(ht_remove_ref(f->ht, _h(&f->keys[r - live]), r - live));
    }
    assert_int_equal(ht_count(f->ht), live);
    assert_int_equal(ht_capacity(f->ht), cap);
    for (uint32_t r = (uint32_t)(total - live + 1); r <= total; r++)
        assert_non_null(_find(f, r));
    assert_null(_find(f, 1));
    _free(f);
}

/* A power of two, and 1.414x one: backward shifts wrap around an end that
 * is not a power of two (clusters at the end continue at slot 0). */
static void test_churn(void **state)
{
    (void)state;
    _churn(20000, 3000000, 32768);
    _churn(15000, 2000000, 23168);
}

/* Levels: 2^(l/2) slots, sqrt(2) apart (to 1/256); growth goes 16, 22,
 * 32, 45, 64, ... and never past 3/4 load. */
static void test_levels(void **state)
{
    (void)state;
    assert_int_equal(ht_level_cap(0), 0);
    assert_int_equal(ht_level_cap(1), 0);
    assert_int_equal(ht_level_cap(2), 2);
    assert_int_equal(ht_level_cap(9), 22);
    assert_int_equal(ht_level_cap(24), 4096);
    assert_int_equal(ht_level_cap(25), 5792);
    assert_int_equal(ht_level_cap(26), 8192);
    assert_int_equal(ht_level_cap(41), 1482752);
    assert_int_equal(ht_level_cap(HT_LEVEL_MAX), (size_t)362 << 22);
    assert_int_equal(ht_level_cap(HT_LEVEL_MAX + 1), 0);
    struct fix *f = _fix(5000);
    size_t last = ht_capacity(f->ht), steps = 0;
    for (uint32_t r = 1; r <= 5000; r++) {
        _insert(f, r);
        size_t cap = ht_capacity(f->ht);
        if (cap != last) {
            assert_int_equal(cap, ht_level_cap(ht_level(f->ht)));
            assert_true(cap * 100 >= last * 137 && cap * 100 <= last * 146); /* ~1.414 */
            last = cap;
            steps++;
        }
        assert_true(ht_count(f->ht) <= cap - cap / 4); /* 3/4, rounded up (22 slots: 17) */
    }
    assert_int_equal(last, 8192); /* 5000 > 3/4 of 5792 */
    assert_int_equal(steps, 26 - 8); /* levels 8 (16 slots) to 26 */
    for (uint32_t r = 1; r <= 5000; r++)
        assert_int_equal(*_find(f, r), r);
    _free(f);
}

/* Everything works while half migrated: finds in both tables, removes,
 * replaces, inserts; then migration finishes and all is still right. */
static void test_midway(void **state)
{
    (void)state;
    size_t n = 200000; /* refs above n are replacements */
    struct fix *f = _fix(2 * n);
    uint32_t r = 1;
    for (; r <= 100000; r++)
        _insert(f, r);
    while (!ht_expanding(f->ht))
        _insert(f, r++);
    uint32_t grown_at = r;
    for (int i = 0; i < 100 && ht_expanding(f->ht); i++)
        _insert(f, r++); /* migration is under way, not finished */
    assert_true(ht_expanding(f->ht));
    for (uint32_t k = 1; k < r; k++)
        assert_int_equal(*_find(f, k), k);
    for (uint32_t k = 1; k < grown_at; k += 3) /* mostly still in the old table */
        ht_remove(f->ht, _find(f, k));
    for (uint32_t k = 2; k < grown_at; k += 3) {
        f->keys[n + k] = f->keys[k];
        assert_true(ht_replace_ref(f->ht, _h(&f->keys[k]), k, (uint32_t)(n + k)));
    }
    uint32_t end = r + 5000;
    for (; r < end; r++)
        _insert(f, r);
    ht_step(f->ht, (size_t)-1);
    assert_false(ht_expanding(f->ht));
    for (uint32_t k = 1; k < end; k++) {
        uint32_t *s = _find(f, k);
        if (k < grown_at && k % 3 == 1)
            assert_null(s);
        else if (k < grown_at && k % 3 == 2)
            assert_int_equal(*s, n + k);
        else
            assert_int_equal(*s, k);
    }
    _free(f);
}

static void test_hash(void **state)
{
    (void)state;
    char buf[64];
    memset(buf, 'a', sizeof buf);
    /* every length gives a different hash; unaligned input gives the same */
    for (size_t n = 0; n < 40; n++) {
        assert_int_not_equal(hash64(buf, n, 1), hash64(buf, n + 1, 1));
        char copy[48];
        memcpy(copy + 1, buf, n);
        assert_true(hash64(buf, n, 7) == hash64(copy + 1, n, 7));
    }
    /* low bits spread: 64K sequential keys into 2^16 buckets */
    static unsigned char seen[1 << 16];
    unsigned used = 0;
    for (uint32_t i = 0; i < (1u << 16); i++) {
        size_t b = hash64(&i, sizeof i, 0) & 0xffff;
        used += !seen[b];
        seen[b] = 1;
    }
    assert_true(used > 40000); /* random would be ~41400 */
    /* and the high bits, which pick the slot: the same keys, top 16 bits */
    memset(seen, 0, sizeof seen);
    used = 0;
    for (uint32_t i = 0; i < (1u << 16); i++) {
        size_t b = hash64(&i, sizeof i, 0) >> 48;
        used += !seen[b];
        seen[b] = 1;
    }
    assert_true(used > 40000);
}

/* The touch callback: the items of a removed entry's cluster, and of the
 * old slots a migration is about to hash, start loading before they are
 * hashed (their loads overlap), at most 8 ahead; nothing else changes. */
struct tfix {
    uint64_t hash[64]; /* ref -> its hash: the test places entries */
    uint32_t touched[64], ntouched;
    uint32_t hashed_untouched; /* hashes of refs not touched before */
    bool seen[64];
};

static uint64_t _thash(void *ctx, uint32_t ref)
{
    struct tfix *t = ctx;
    t->hashed_untouched += !t->seen[ref];
    return t->hash[ref];
}

static bool _tmatch(void *ctx, uint32_t ref, const char *key, size_t nkey)
{
    (void)ctx;
    return nkey == 4 && memcmp(&ref, key, 4) == 0; /* the key is the ref */
}

static void _ttouch(void *ctx, uint32_t ref)
{
    struct tfix *t = ctx;
    assert_true(ref >= 1 && ref < 64 && t->ntouched < 64);
    t->touched[t->ntouched++] = ref;
    t->seen[ref] = true;
}

static void _tlog_clear(struct tfix *t)
{
    t->ntouched = t->hashed_untouched = 0;
    memset(t->seen, 0, sizeof t->seen);
}

static void test_touch(void **state)
{
    (void)state;
    struct tfix *t = calloc(1, sizeof *t);
    struct ht *ht = ht_create(12, _thash, _tmatch, t); /* 64 slots */
    ht_set_touch(ht, _ttouch);
    for (uint32_t r = 1; r <= 12; r++) /* refs 1-12: one home, slots 0-11 */
        t->hash[r] = 0;
    for (uint32_t r = 20; r <= 23; r++) /* refs 20-23: slots 32-35 */
        t->hash[r] = (uint64_t)1 << 63;
    for (uint32_t r = 1; r <= 12; r++)
        assert_true(ht_insert(ht, t->hash[r], r));
    for (uint32_t r = 20; r <= 23; r++)
        assert_true(ht_insert(ht, t->hash[r], r));
    assert_int_equal(t->ntouched, 0); /* inserts hash nothing */

    /* a cluster of 3 after the hole: touched in order, all before hashed */
    _tlog_clear(t);
    assert_true(ht_remove_ref(ht, t->hash[20], 20));
    assert_int_equal(t->ntouched, 3);
    assert_int_equal(t->touched[0], 21);
    assert_int_equal(t->touched[1], 22);
    assert_int_equal(t->touched[2], 23);
    assert_int_equal(t->hashed_untouched, 0);
    /* a cluster of 11: the first 8 touched, the rest hashed as before */
    _tlog_clear(t);
    assert_true(ht_remove_ref(ht, 0, 1));
    assert_int_equal(t->ntouched, 8);
    for (uint32_t i = 0; i < 8; i++)
        assert_int_equal(t->touched[i], 2 + i);
    assert_int_equal(t->hashed_untouched, 3);
    for (uint32_t r = 2; r <= 12; r++) { /* all still found, in order from the home */
        uint32_t *slot = ht_find(ht, 0, (const char *)&r, 4);
        assert_non_null(slot);
        assert_int_equal(*slot, r);
    }
    /* the last entry of a cluster: nothing after it, nothing touched */
    _tlog_clear(t);
    assert_true(ht_remove_ref(ht, t->hash[23], 23));
    assert_int_equal(t->ntouched, 0);

    /* a migration: every entry but the first 8 slots' is touched before it is hashed */
    _tlog_clear(t);
    assert_true(ht_grow(ht));
    ht_step(ht, (size_t)-1);
    assert_false(ht_expanding(ht));
    assert_int_equal(ht_count(ht), 13);
    assert_int_equal(t->ntouched, 5); /* old slots 8-10 and 32-33: refs 10-12, 21-22 */
    assert_int_equal(t->hashed_untouched, 8);
    for (uint32_t r = 2; r <= 12; r++)
        assert_non_null(ht_find(ht, 0, (const char *)&r, 4));
    ht_destroy(ht);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),  cmocka_unit_test(test_growth_1m),
        cmocka_unit_test(test_churn),  cmocka_unit_test(test_midway),
        cmocka_unit_test(test_hash),   cmocka_unit_test(test_levels),
        cmocka_unit_test(test_touch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
