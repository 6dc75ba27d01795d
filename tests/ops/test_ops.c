/* Unit tests of ops (ops.c, ops_meta.c, ops_item.c, ops_stats.c): what each
 * operation does to a real store and which counters it moves, without any
 * wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drive.h"
#include "lib/out.h"
#include "lib/stats.h"
#include "ops/ops.h"
#include "store/store.h"

#define T0 1700000000

static int setup(void **state)
{
    return drive_fixture_setup(state, sizeof(struct drive_env), NULL);
}
static int teardown(void **state)
{
    return drive_fixture_teardown(state);
}

/* key = value through begin/end, as a protocol stores. */
static enum store_status _set(struct ops_ctx *ctx, const char *key, const char *value,
                              int64_t exptime, enum store_mode mode, uint64_t *cas)
{
    struct store_txn txn;
    size_t n = strlen(value);
    enum store_status st =
        ops_store_begin(ctx, key, strlen(key), 7, exptime, n, mode == STORE_SET, &txn);
    if (st != STORE_OK)
        return st;
    memcpy(txn.value, value, n);
    return ops_store_end(ctx, &txn, mode, 0, cas);
}

static void test_get_set_delete_count(void **state)
{
    struct drive_env *e = *state;
    struct ops_ctx *ctx = &e->ctx;
    struct item_view it;
    assert_false(ops_get(ctx, "k", 1, &it));
    uint64_t cas = 0;
    assert_int_equal(_set(ctx, "k", "hello", 0, STORE_SET, &cas), STORE_OK);
    assert_true(cas != 0);
    assert_true(ops_get(ctx, "k", 1, &it));
    assert_memory_equal(it.value, "hello", 5);
    assert_int_equal(it.flags, 7);
    assert_int_equal(it.cas, cas);
    assert_int_equal(_set(ctx, "k", "x", 0, STORE_ADD, NULL), STORE_NOT_STORED);
    assert_int_equal(_set(ctx, "k", "!", 0, STORE_APPEND, NULL), STORE_OK);
    assert_true(ops_get(ctx, "k", 1, &it));
    assert_memory_equal(it.value, "hello!", 6);
    assert_int_equal(ops_delete(ctx, "k", 1, 0), STORE_OK);
    assert_int_equal(ops_delete(ctx, "k", 1, 0), STORE_NOT_FOUND);
    assert_int_equal(e->stats.cmd_get, 3);
    assert_int_equal(e->stats.get_hits, 2);
    assert_int_equal(e->stats.get_misses, 1);
    assert_int_equal(e->stats.delete_hits, 1);
    assert_int_equal(e->stats.delete_misses, 1);
}

static void test_arith_and_touch(void **state)
{
    struct drive_env *e = *state;
    struct ops_ctx *ctx = &e->ctx;
    uint64_t v = 0, cas = 0;
    assert_int_equal(ops_arith(ctx, "n", 1, true, 1, 0, &v, &cas), STORE_NOT_FOUND);
    assert_int_equal(ops_arith_create(ctx, "n", 1, 41, 0, &cas), STORE_OK);
    assert_int_equal(ops_arith(ctx, "n", 1, true, 1, 0, &v, &cas), STORE_OK);
    assert_int_equal(v, 42);
    assert_int_equal(ops_arith(ctx, "n", 1, false, 100, 0, &v, &cas), STORE_OK);
    assert_int_equal(v, 0); /* decr stops at 0 */
    assert_int_equal(e->stats.incr_misses, 1);
    assert_int_equal(e->stats.incr_hits, 1);
    assert_int_equal(e->stats.decr_hits, 1);
    struct item_view it;
    assert_true(ops_touch(ctx, "n", 1, 100, &it));
    assert_int_equal(it.exp, T0 + 100);
    assert_false(ops_touch(ctx, "none", 4, 100, NULL));
    assert_int_equal(e->stats.touch_hits, 1);
    assert_int_equal(e->stats.touch_misses, 1);
}

/* mg N: a miss makes an empty item this reader recaches; the next reader
 * finds it, already won (Z), and does not win again. */
static void test_meta_vivify_and_win(void **state)
{
    struct drive_env *e = *state;
    struct ops_ctx *ctx = &e->ctx;
    struct item_view it;
    bool created = true;
    assert_false(ops_mlookup(ctx, "v", 1, true, false, 0, 0, &it, &created));
    assert_false(created);
    assert_true(ops_mlookup(ctx, "v", 1, true, true, 0, 0, &it, &created));
    assert_true(created);
    assert_int_equal(it.nvalue, 0);
    assert_int_equal(ops_set_ttl(ctx, "v", 1, 30), T0 + 30);
    assert_true(ops_win(ctx, "v", 1, &it, true));
    assert_true(ops_mlookup(ctx, "v", 1, true, true, 0, 0, &it, &created));
    assert_false(created);
    assert_true(it.mbits & ITEM_WON);
    assert_int_equal(it.exp, T0 + 30);
    assert_false(ops_recache_due(ctx, &it, false, 60)); /* won already */
    assert_false(ops_win(ctx, "v", 1, &it, false));
    assert_int_equal(ops_set_ttl(ctx, "gone", 4, 30), 0);
}

/* mg R: the first reader of an item expiring within the token recaches;
 * a stale item's first reader recaches too. */
static void test_meta_recache_and_stale(void **state)
{
    struct drive_env *e = *state;
    struct ops_ctx *ctx = &e->ctx;
    struct item_view it;
    assert_int_equal(_set(ctx, "r", "abc", 20, STORE_SET, NULL), STORE_OK);
    assert_true(ops_peek(ctx, "r", 1, &it));
    assert_true(ops_recache_due(ctx, &it, false, 30));  /* 20 s left < 30 */
    assert_false(ops_recache_due(ctx, &it, false, 10)); /* 20 s left > 10 */
    assert_false(ops_recache_due(ctx, &it, true, 30));  /* created by this reader */
    struct ops_mdel stale = {.stale = true};
    assert_int_equal(ops_mdelete(ctx, "r", 1, &stale), STORE_OK);
    assert_true(ops_peek(ctx, "r", 1, &it));
    assert_true(it.mbits & ITEM_STALE);
    assert_true(ops_win(ctx, "r", 1, &it, false)); /* first reader of a stale item */
    assert_true(ops_peek(ctx, "r", 1, &it));
    assert_true(it.mbits & ITEM_WON);
    assert_false(ops_win(ctx, "r", 1, &it, false));
}

static void test_peek_keeps_the_item_unread(void **state)
{
    struct drive_env *e = *state;
    struct ops_ctx *ctx = &e->ctx;
    struct item_view it;
    assert_int_equal(_set(ctx, "p", "1", 0, STORE_SET, NULL), STORE_OK);
    assert_true(ops_peek(ctx, "p", 1, &it));
    assert_true(ops_peek(ctx, "p", 1, &it));
    assert_false(it.mbits & ITEM_FETCHED);
    assert_int_equal(e->stats.cmd_get, 0);
    assert_true(ops_get(ctx, "p", 1, &it));
    assert_true(ops_peek(ctx, "p", 1, &it));
    assert_true(it.mbits & ITEM_FETCHED);
    assert_int_equal(ops_now(ctx), T0);
    assert_int_equal(ops_exptime(ctx, 10), T0 + 10);
    assert_int_equal(ops_exptime(ctx, 0), 0);
    assert_true(ops_item_total(ctx, &it) > it.nkey + it.nvalue);
    assert_true(ops_has_cas(ctx));
}

static unsigned unpinned;
static void _count_unpin(void *arg, uint32_t pin)
{
    ops_unpin(arg, pin);
    unpinned++;
}

/* A large value is queued by reference, pinned until out lets go. */
static void test_ref_value_pins_until_sent(void **state)
{
    struct drive_env *e = *state;
    struct ops_ctx *ctx = &e->ctx;
    static char big[OPS_ZERO_COPY_MIN * 2];
    memset(big, 'b', sizeof(big) - 1);
    assert_int_equal(_set(ctx, "big", big, 0, STORE_SET, NULL), STORE_OK);
    struct item_view it;
    assert_true(ops_get(ctx, "big", 3, &it));
    struct out o;
    out_init(&o, _count_unpin, ctx);
    unpinned = 0;
    assert_true(ops_ref_value(ctx, &o, &it));
    assert_int_equal(out_pending(&o), it.nvalue);
    assert_ptr_equal(o.pieces[o.first].ext, it.value); /* not copied */
    out_reset(&o);
    assert_int_equal(unpinned, 1);
}

/* lru_crawler crawl: the tick removes what expired, a step at a time. */
static void test_crawl_tick_drops_expired(void **state)
{
    struct drive_env *e = *state;
    struct ops_ctx *ctx = &e->ctx;
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "e%d", i);
        assert_int_equal(_set(ctx, key, "x", i < 50 ? 5 : 0, STORE_SET, NULL), STORE_OK);
    }
    store_set_time(e->store, T0 + 10);
    ctx->crawler = true;
    assert_true(ops_crawl(ctx, 0));
    assert_false(ops_crawl(ctx, 0)); /* one at a time */
    for (int i = 0; i < 10; i++)
        ops_crawl_tick(ctx, 100);
    struct store_usage u;
    ops_usage(ctx, &u);
    assert_int_equal(u.items, 50);
    assert_true(ops_crawl(ctx, 0)); /* the last one ended */
}

struct pairs {
    char text[8192];
    size_t n;
};

static void _emit(void *arg, const char *name, size_t nname, const char *value, size_t nvalue)
{
    struct pairs *p = arg;
    p->n += (size_t)snprintf(p->text + p->n, sizeof(p->text) - p->n, "%.*s=%.*s\n", (int)nname,
                             name, (int)nvalue, value);
}

static void test_stats_groups(void **state)
{
    struct drive_env *e = *state;
    struct ops_ctx *ctx = &e->ctx;
    struct pairs p = {.n = 0};
    assert_int_equal(ops_stats(ctx, "settings", 8, _emit, &p), OPS_STATS_DONE);
    assert_non_null(strstr(p.text, "binding_protocol=auto-negotiate\n"));
    assert_non_null(strstr(p.text, "cas_enabled=yes\n"));
    p.n = 0;
    assert_int_equal(_set(ctx, "s", "1", 0, STORE_SET, NULL), STORE_OK);
    assert_int_equal(ops_stats(ctx, NULL, 0, _emit, &p), OPS_STATS_DONE);
    assert_non_null(strstr(p.text, "curr_items=1\n"));
    assert_non_null(strstr(p.text, "cmd_set=1\n"));
    assert_int_equal(ops_stats(ctx, "nonsense", 8, _emit, &p), OPS_STATS_UNKNOWN);
    assert_int_equal(ops_stats(ctx, "reset", 5, _emit, &p), OPS_STATS_RESET);
    assert_int_equal(e->stats.cmd_set, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_set_delete_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arith_and_touch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_vivify_and_win, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_recache_and_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peek_keeps_the_item_unread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ref_value_pins_until_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crawl_tick_drops_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_groups, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
