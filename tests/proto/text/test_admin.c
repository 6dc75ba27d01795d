/* Unit tests of admin.c through the text protocol: stats cachedump and
 * detail, lru_crawler metadump/crawl/enable/disable/sleep, watch without a
 * connection, the slabs/lru answers and debugtime, as replies on the wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drive.h"
#include "ops/prefix.h"

struct fixture {
    struct drive_env e; /* first: drive_fixture_setup */
    char reply[1 << 20];
};

static int setup(void **state)
{
    if (drive_fixture_setup(state, sizeof(struct fixture), &text_protocol) != 0)
        return -1;
    struct fixture *f = *state;
    f->e.ctx.crawler = true; /* as the server starts: the crawler on */
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->e.ses.proto && f->e.ses.proto->closed)
        f->e.ses.proto->closed(&f->e.ses);
    if (f->e.ctx.prefixes)
        prefix_destroy(f->e.ctx.prefixes);
    return drive_fixture_teardown(state);
}

/* Feed in; a reply in slices (FEED_MORE) is fed again until it ends. */
static const char *run(struct fixture *f, const char *in, size_t len)
{
    size_t got = 0;
    for (int turns = 0; turns < 1000; turns++) {
        size_t used = drive(&text_protocol, &f->e.ses, &f->e.ctx, in, len, &f->e.out, &f->e.last);
        got += drive_collect(&f->e.out, f->reply + got);
        if (f->e.last != FEED_MORE)
            break;
        in += used;
        len -= used;
    }
    return f->reply;
}

#define RUN(f, s) run(f, s, sizeof(s) - 1)

static void test_cachedump(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(RUN(f, "set a 0 100 3\r\nabc\r\n"), "STORED\r\n");
    assert_string_equal(RUN(f, "stats cachedump 1 0\r\n"), "ITEM a [3 b; 1700000100 s]\r\nEND\r\n");
    assert_string_equal(RUN(f, "stats cachedump 2 0\r\n"), "END\r\n"); /* memg's one class is 1 */
    assert_string_equal(RUN(f, "stats cachedump 64 0\r\n"), "CLIENT_ERROR Illegal slab id\r\n");
    assert_string_equal(RUN(f, "stats cachedump 1\r\n"), "CLIENT_ERROR bad command line\r\n");
    f->e.cfg.dump_enabled = false; /* -X */
    assert_string_equal(RUN(f, "stats cachedump 1 0\r\n"),
                        "CLIENT_ERROR stats cachedump not allowed\r\n");
}

static void test_metadump(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(RUN(f, "set k%20x 0 0 1\r\nv\r\n"), "STORED\r\n");
    assert_string_equal(RUN(f, "set plain 0 0 2\r\nvv\r\n"), "STORED\r\n");
    const char *all = RUN(f, "lru_crawler metadump all\r\n");
    assert_non_null(strstr(all, "key=k%2520x exp=-1 la=1700000000 cas="));
    assert_non_null(strstr(all, "key=plain exp=-1 "));
    assert_non_null(strstr(all, " fetch=no cls=1 size="));
    assert_int_equal(strcmp(all + strlen(all) - 5, "END\r\n"), 0);
    assert_int_equal(strncmp(all, "OK\r\n", 4), 0);
    const char *mg = RUN(f, "lru_crawler mgdump all\r\n");
    assert_non_null(strstr(mg, "mg plain\r\n"));
    assert_int_equal(strcmp(mg + strlen(mg) - 4, "EN\r\n"), 0);
    const char *one = RUN(f, "lru_crawler metadump plain\r\n"); /* memg: the keys named */
    assert_int_equal(strncmp(one, "OK\r\nkey=plain ", 14), 0); /* 1.6.45's OK first */
    assert_non_null(strstr(one, " flags=0 \n"));
    assert_null(strstr(one, "k%25"));
    f->e.ctx.crawler = false;
    assert_string_equal(RUN(f, "lru_crawler metadump all\r\n"),
                        "CLIENT_ERROR lru crawler disabled\r\n");
}

static void test_crawler_commands(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(RUN(f, "lru_crawler enable\r\n"),
                        "ERROR failed to start lru crawler thread\r\n"); /* already on */
    assert_string_equal(RUN(f, "lru_crawler disable\r\n"), "OK\r\n");
    assert_string_equal(RUN(f, "lru_crawler crawl 1\r\n"), "CLIENT_ERROR lru crawler disabled\r\n");
    assert_string_equal(RUN(f, "lru_crawler enable\r\n"), "OK\r\n");
    assert_string_equal(RUN(f, "lru_crawler crawl 1\r\n"), "OK\r\n");
    assert_string_equal(RUN(f, "lru_crawler crawl x\r\n"), "BADCLASS invalid class id\r\n");
    assert_string_equal(RUN(f, "lru_crawler sleep 2000000\r\n"),
                        "CLIENT_ERROR sleep must be one second or less\r\n");
    assert_string_equal(RUN(f, "lru_crawler sleep 50\r\n"), "OK\r\n");
    assert_int_equal(f->e.ctx.crawler_sleep, 50);
    assert_string_equal(RUN(f, "lru_crawler tocrawl 7\r\n"), "OK\r\n");
    assert_int_equal(f->e.ctx.crawler_tocrawl, 7);
    assert_string_equal(RUN(f, "lru_crawler bogus 1\r\n"), "ERROR\r\n");
}

static void test_detail(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(RUN(f, "stats detail on\r\n"), "OK\r\n");
    assert_non_null(f->e.ctx.prefixes);
    assert_string_equal(RUN(f, "set user:1 0 0 1\r\na\r\nget user:1\r\nget user:2\r\n"),
                        "STORED\r\nVALUE user:1 0 1\r\na\r\nEND\r\nEND\r\n");
    assert_string_equal(RUN(f, "stats detail dump\r\n"),
                        "PREFIX user get 2 hit 1 set 1 del 0\r\nEND\r\n");
    assert_string_equal(RUN(f, "stats detail off\r\n"), "OK\r\n");
    assert_string_equal(RUN(f, "stats detail sideways\r\n"),
                        "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
}

static void test_watch_slabs_lru(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(RUN(f, "watch\r\n"), "CLIENT_ERROR watch needs a connection\r\n");
    assert_string_equal(RUN(f, "watch sideways\r\n"), "ERROR\r\n");
    f->e.cfg.watch_enabled = false; /* -W */
    assert_string_equal(RUN(f, "watch\r\n"), "CLIENT_ERROR watch commands not allowed\r\n");
    assert_non_null(
        strstr(RUN(f, "slabs reassign 1 2\r\n"), "CLIENT_ERROR memg has no slab classes"));
    assert_string_equal(RUN(f, "slabs nonsense\r\n"), "ERROR\r\n");
    assert_non_null(
        strstr(RUN(f, "lru tune 10 25 0.1 2\r\n"), "CLIENT_ERROR memg has no segmented LRU"));
}

#define T0 1700000000 /* drive.h's clock */

/* Without -o debug_time memg knows no debugtime, as release memcached. */
static void test_debugtime_off(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(RUN(f, "debugtime 1\r\n"), "ERROR\r\n");
    assert_string_equal(RUN(f, "debugtime p\r\n"), "ERROR\r\n");
    assert_int_equal(store_time(f->e.store), T0);
}

/* memcached's debug build: p pauses, r resumes, N moves the clock by N and
 * keeps the offset on later ticks (store_set_time); ERROR for a bad N. */
static void test_debugtime(void **state)
{
    struct fixture *f = *state;
    f->e.cfg.debug_time = true;
    assert_string_equal(RUN(f, "debugtime\r\n"), "ERROR\r\n");
    assert_string_equal(RUN(f, "debugtime x\r\n"), "ERROR\r\n");
    assert_string_equal(RUN(f, "debugtime 1x\r\n"), "ERROR\r\n");
    assert_string_equal(RUN(f, "debugtime +1\r\n"), "ERROR\r\n");
    assert_string_equal(RUN(f, "debugtime 9223372036854775808\r\n"), "ERROR\r\n");
    assert_int_equal(store_time(f->e.store), T0);
    assert_string_equal(RUN(f, "set k 0 10 1\r\nv\r\n"), "STORED\r\n");
    assert_string_equal(RUN(f, "debugtime 9\r\n"), "OK\r\n");
    assert_string_equal(RUN(f, "get k\r\n"), "VALUE k 0 1\r\nv\r\nEND\r\n");
    assert_string_equal(RUN(f, "debugtime 2\r\n"), "OK\r\n");
    assert_int_equal(store_time(f->e.store), T0 + 11);
    assert_string_equal(RUN(f, "get k\r\n"), "END\r\n");
    assert_string_equal(RUN(f, "debugtime -1\r\n"), "OK\r\n");
    store_set_time(f->e.store, T0 + 1); /* a tick: real time plus the offset */
    assert_int_equal(store_time(f->e.store), T0 + 11);
    assert_string_equal(RUN(f, "debugtime p\r\n"), "OK\r\n");
    store_set_time(f->e.store, T0 + 100);
    assert_int_equal(store_time(f->e.store), T0 + 11); /* paused */
    assert_string_equal(RUN(f, "debugtime 5\r\n"), "OK\r\n");
    assert_int_equal(store_time(f->e.store), T0 + 16); /* paused, still moved */
    assert_string_equal(RUN(f, "debugtime r\r\n"), "OK\r\n");
    store_set_time(f->e.store, T0 + 2);
    assert_int_equal(store_time(f->e.store), T0 + 2 + 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cachedump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crawler_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_slabs_lru, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debugtime_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debugtime, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
