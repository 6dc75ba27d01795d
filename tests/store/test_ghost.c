/* test_ghost: the ghost queue's memory of evicted keys (src/store/ghost.c):
 * a key added is found once, forgotten after the window, and the memory
 * follows the size asked within the cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/ghost.h"

static uint64_t _h(uint64_t i) /* a well-mixed hash per key number */
{
    i = (i ^ (i >> 31)) * 0x7fb5d329728ea185ull;
    i = (i ^ (i >> 27)) * 0x81dadef4bc2dd44dull;
    return i ^ (i >> 33);
}

static void test_add_take_once(void **state)
{
    (void)state;
    struct ghost g = {0};
    assert_false(ghost_on(&g));
    assert_int_equal(ghost_bytes(&g), 0);
    assert_true(ghost_init(&g, 4096, 1 << 20));
    assert_true(ghost_on(&g));
    assert_int_equal(ghost_bytes(&g), 4096 * 4);
    for (uint64_t i = 0; i < 1000; i++)
        ghost_add(&g, _h(i));
    int found = 0, again = 0, strangers = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        found += ghost_take(&g, _h(i), 256);
        again += ghost_take(&g, _h(i), 256);
    }
    for (uint64_t i = 1000; i < 100000; i++)
        strangers += ghost_take(&g, _h(i), 256);
    assert_int_equal(found, 1000); /* a quarter full: nothing pushed out */
    assert_int_equal(again, 0);    /* taking forgets */
    assert_true(strangers <= 1);   /* 24-bit fingerprints: about 0.05 expected */
    ghost_free(&g);
    assert_false(ghost_on(&g));
}

/* A key is remembered for about as many additions as there are entries,
 * not for ever: 4096 entries, then 3x as many other keys. */
static void test_window(void **state)
{
    (void)state;
    struct ghost g = {0};
    assert_true(ghost_init(&g, 4096, 1 << 20));
    for (uint64_t i = 0; i < 2000; i++)
        ghost_add(&g, _h(i));
    for (uint64_t i = 10000; i < 10000 + 3 * 4096; i++)
        ghost_add(&g, _h(i));
    int old = 0, recent = 0;
    for (uint64_t i = 0; i < 2000; i++)
        old += ghost_take(&g, _h(i), 256);
    for (uint64_t i = 10000 + 3 * 4096 - 1000; i < 10000 + 3 * 4096; i++)
        recent += ghost_take(&g, _h(i), 256);
    assert_int_equal(old, 0);
    assert_true(recent >= 950); /* the last 1000 of 4096: full buckets may lose a few */
    ghost_free(&g);
}

/* A shorter window (evict.c gives it to keys larger than the mean) takes
 * only keys added within that part of the span, and leaves an older one
 * remembered: 4096 entries, 1000 keys, then a quarter of the span of others. */
static void test_window_part(void **state)
{
    (void)state;
    struct ghost g = {0};
    assert_true(ghost_init(&g, 4096, 1 << 20));
    for (uint64_t i = 0; i < 1000; i++)
        ghost_add(&g, _h(i));
    for (uint64_t i = 10000; i < 10000 + 4096 / 4; i++)
        ghost_add(&g, _h(i));
    int quarter = 0, whole = 0, recent = 0;
    for (uint64_t i = 0; i < 1000; i++)
        quarter += ghost_take(&g, _h(i), 64);
    for (uint64_t i = 0; i < 1000; i++)
        whole += ghost_take(&g, _h(i), 256);
    for (uint64_t i = 10000 + 4096 / 4 - 300; i < 10000 + 4096 / 4; i++)
        recent += ghost_take(&g, _h(i), 64);
    assert_int_equal(quarter, 0);
    assert_true(whole >= 950); /* still remembered: full buckets may lose a few */
    assert_true(recent >= 295);
    ghost_add(&g, _h(7));
    assert_false(ghost_take(&g, _h(7), 0)); /* no window: not even the newest */
    assert_true(ghost_take(&g, _h(7), 2)); /* 2: one epoch */
    ghost_free(&g);
}

/* Epoch numbers wrap at 256: a key added once, then 300 windows' worth of
 * additions elsewhere, must not come back as remembered. */
static void test_no_wrap(void **state)
{
    (void)state;
    struct ghost g = {0};
    assert_true(ghost_init(&g, 1024, 1 << 20));
    ghost_add(&g, _h(7));
    uint64_t k = 1000000;
    for (int n = 0; n < 300 * 1024; n++) { /* all in other buckets than key 7's */
        do
            k++;
        while (((uint32_t)(_h(k) >> 16) & g.mask) == ((uint32_t)(_h(7) >> 16) & g.mask));
        ghost_add(&g, _h(k));
    }
    assert_false(ghost_take(&g, _h(7), 256));
    ghost_free(&g);
}

/* Sized by the items asked for, rounded up to a power of two, but never past
 * the cap (rounded down), and at least 1024 entries. */
static void test_size_and_cap(void **state)
{
    (void)state;
    struct ghost g = {0};
    assert_true(ghost_init(&g, 5000, 1 << 20));
    assert_int_equal(ghost_bytes(&g), 8192 * 4);
    ghost_free(&g);
    assert_true(ghost_init(&g, 1000000, 64 * 1024));
    assert_int_equal(ghost_bytes(&g), 64 * 1024);
    ghost_free(&g);
    assert_true(ghost_init(&g, 10, 100));
    assert_int_equal(ghost_bytes(&g), 1024 * 4);
    ghost_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_take_once),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_window_part),
        cmocka_unit_test(test_no_wrap),
        cmocka_unit_test(test_size_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
