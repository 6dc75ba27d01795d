/* Unit tests of the text protocol through the protocol interface: requests
 * fed as bytes, through a real store, replies read back from the output
 * queue. No socket, no loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/auth.h"
#include "drive.h"
#include "process/config.h"
#include "lib/out.h"
#include "proto/text/proto.h"
#include "lib/stats.h"
#include "store/store.h"

struct fixture {
    struct drive_env e; /* first: drive_fixture_setup */
    char reply[1 << 21];
};

static int setup(void **state)
{
    return drive_fixture_setup(state, sizeof(struct fixture), &text_protocol);
}

static int teardown(void **state)
{
    return drive_fixture_teardown(state);
}

/* Run every request in `in`; return everything replied, NUL-terminated. */
static const char *run(struct fixture *f, const char *in, size_t len)
{
    assert_int_equal(drive(&text_protocol, &f->e.ses, &f->e.ctx, in, len, &f->e.out, &f->e.last), len);
    drive_collect(&f->e.out, f->reply);
    return f->reply;
}

#define RUN(f, s) run(f, s, sizeof(s) - 1)

static void test_set_get(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(RUN(f, "set greeting 0 0 11\r\nHello World\r\n"), "STORED\r\n");
    assert_string_equal(RUN(f, "get greeting\r\n"), "VALUE greeting 0 11\r\nHello World\r\nEND\r\n");
    assert_string_equal(RUN(f, "get nope greeting nope\r\n"),
                        "VALUE greeting 0 11\r\nHello World\r\nEND\r\n");
    assert_int_equal(f->e.stats.get_hits, 2);
    assert_int_equal(f->e.stats.get_misses, 2);
    assert_int_equal(f->e.stats.cmd_get, 4);
}

static void test_storage_modes(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(RUN(f, "add k 1 0 1\r\na\r\n"), "STORED\r\n");
    assert_string_equal(RUN(f, "add k 1 0 1\r\nb\r\n"), "NOT_STORED\r\n");
    assert_string_equal(RUN(f, "replace nope 0 0 1\r\nb\r\n"), "NOT_STORED\r\n");
    assert_string_equal(RUN(f, "append k 9 0 2\r\nzz\r\n"), "STORED\r\n");
    assert_string_equal(RUN(f, "prepend k 9 0 2\r\nyy\r\n"), "STORED\r\n");
    assert_string_equal(RUN(f, "get k\r\n"), "VALUE k 1 5\r\nyyazz\r\nEND\r\n");
    assert_string_equal(RUN(f, "append nope 0 0 1\r\nx\r\n"), "NOT_STORED\r\n");
    assert_string_equal(RUN(f, "set q 0 0 1 noreply\r\nx\r\n"), "");
}

static void test_cas(void **state)
{
    struct fixture *f = *state;
    RUN(f, "set c 0 0 1\r\nx\r\n");
    const char *r = RUN(f, "gets c\r\n");
    unsigned long long cas = 0;
    assert_int_equal(sscanf(r, "VALUE c 0 1 %llu", &cas), 1);
    char line[128];
    int n = snprintf(line, sizeof(line), "cas c 0 0 1 %llu\r\ny\r\n", cas + 1000);
    assert_string_equal(run(f, line, (size_t)n), "EXISTS\r\n");
    n = snprintf(line, sizeof(line), "cas c 0 0 1 %llu\r\ny\r\n", cas);
    assert_string_equal(run(f, line, (size_t)n), "STORED\r\n");
    assert_string_equal(run(f, line, (size_t)n), "EXISTS\r\n"); /* the unique changed */
    assert_string_equal(RUN(f, "cas nope 0 0 1 1\r\ny\r\n"), "NOT_FOUND\r\n");
    assert_int_equal(f->e.stats.cas_hits, 1);
    assert_int_equal(f->e.stats.cas_badval, 2);
    assert_int_equal(f->e.stats.cas_misses, 1);
}

static void test_incr_decr(void **state)
{
    struct fixture *f = *state;
    RUN(f, "set n 0 0 3\r\n100\r\n");
    assert_string_equal(RUN(f, "decr n 95\r\n"), "5\r\n");
    assert_string_equal(RUN(f, "get n\r\n"), "VALUE n 0 3\r\n5  \r\nEND\r\n");
    assert_string_equal(RUN(f, "decr n 100\r\n"), "0\r\n");
    assert_string_equal(RUN(f, "incr n 18446744073709551615\r\n"), "18446744073709551615\r\n");
    assert_string_equal(RUN(f, "incr n 1\r\n"), "0\r\n"); /* wraps at 2^64 */
    assert_string_equal(RUN(f, "incr nope 1\r\n"), "NOT_FOUND\r\n");
    RUN(f, "set s 0 0 3\r\nabc\r\n");
    assert_string_equal(RUN(f, "incr s 1\r\n"),
                        "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
    assert_string_equal(RUN(f, "incr s x\r\n"), "CLIENT_ERROR invalid numeric delta argument\r\n");
}

static void test_delete_touch_flush(void **state)
{
    struct fixture *f = *state;
    RUN(f, "set d 0 0 1\r\nx\r\n");
    assert_string_equal(RUN(f, "touch d 100\r\n"), "TOUCHED\r\n");
    assert_string_equal(RUN(f, "delete d\r\n"), "DELETED\r\n");
    assert_string_equal(RUN(f, "delete d\r\n"), "NOT_FOUND\r\n");
    assert_string_equal(RUN(f, "touch d 100\r\n"), "NOT_FOUND\r\n");
    RUN(f, "set e 0 0 1\r\nx\r\n");
    assert_string_equal(RUN(f, "flush_all\r\n"), "OK\r\n");
    assert_string_equal(RUN(f, "get e\r\n"), "END\r\n");
    assert_int_equal(f->e.stats.cmd_flush, 1);
}

static void test_errors_and_noreply(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(RUN(f, "bogus\r\n"), "ERROR\r\n");
    assert_string_equal(RUN(f, "set a 0 x 1\r\n"), "CLIENT_ERROR bad command line format\r\n");
    assert_string_equal(RUN(f, "set a 0 x 1 noreply\r\n"), ""); /* memcached silences it */
    assert_string_equal(RUN(f, "set a 0 0 1\r\nxyz\r\n"), "CLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line format\r\n");
    assert_string_equal(RUN(f, "version\r\n"), "VERSION " MEMG_VERSION "\r\n");
    assert_string_equal(RUN(f, "verbosity 1\r\n"), "OK\r\n");
    assert_string_equal(RUN(f, "shutdown\r\n"), "SERVER_ERROR: shutdown not enabled\r\n");
    assert_string_equal(RUN(f, "stats reset\r\n"), "RESET\r\n");
    assert_string_equal(RUN(f, "stats nonsense\r\n"), "ERROR\r\n");
}

static void test_too_large_removes_old(void **state)
{
    struct fixture *f = *state;
    RUN(f, "set big 0 0 1\r\nx\r\n");
    size_t n = 2u << 20;
    char *in = malloc(n + 64);
    int h = sprintf(in, "set big 0 0 %zu\r\n", n);
    memset(in + h, 'v', n);
    memcpy(in + h + n, "\r\n", 2);
    assert_string_equal(run(f, in, (size_t)h + n + 2), "SERVER_ERROR object too large for cache\r\n");
    free(in);
    assert_string_equal(RUN(f, "get big\r\n"), "END\r\n");
}

static void test_large_value_zero_copy(void **state)
{
    struct fixture *f = *state;
    size_t n = 100000;
    char *in = malloc(n + 64);
    int h = sprintf(in, "set v 0 0 %zu\r\n", n);
    for (size_t i = 0; i < n; i++)
        in[h + i] = (char)('a' + i % 26);
    memcpy(in + h + n, "\r\n", 2);
    assert_string_equal(run(f, in, (size_t)h + n + 2), "STORED\r\n");
    enum feed_status st;
    drive(&text_protocol, &f->e.ses, &f->e.ctx, "get v\r\n", 7, &f->e.out, &st);
    int refs = 0;
    for (uint32_t i = f->e.out.first; i < f->e.out.npieces; i++)
        if (f->e.out.pieces[i].ext) {
            refs++;
            assert_int_equal(f->e.out.pieces[i].len, n);
            assert_memory_equal(f->e.out.pieces[i].ext, in + h, n); /* the item itself */
        }
    assert_int_equal(refs, 1);
    out_reset(&f->e.out);
    free(in);
}

/* cache_memlimit changes the limit the store keeps and `stats` reports. */
static void test_cache_memlimit(void **state)
{
    struct fixture *f = *state;
    assert_non_null(strstr(RUN(f, "stats\r\n"), "STAT limit_maxbytes 8388608\r\n"));
    assert_string_equal(RUN(f, "cache_memlimit 100\r\n"), "OK\r\n");
    assert_non_null(strstr(RUN(f, "stats\r\n"), "STAT limit_maxbytes 104857600\r\n"));
    assert_non_null(strstr(RUN(f, "stats settings\r\n"), "STAT maxbytes 104857600\r\n"));
    assert_string_equal(RUN(f, "cache_memlimit 7\r\n"),
                        "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
    assert_string_equal(RUN(f, "cache_memlimit 9000\r\n"),
                        "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n");
    assert_string_equal(RUN(f, "cache_memlimit 16 noreply\r\n"), "");
    struct store_usage u;
    store_usage(f->e.store, &u);
    assert_int_equal(u.mem_limit, 16u << 20);
}

/* A value too large to wait in the buffer goes straight into its item; the
 * two bytes after it are checked before it is committed. */
static void test_value_into_item(void **state)
{
    struct fixture *f = *state;
    size_t n = 3 * DRIVE_CAP;
    char *in = malloc(n + 64);
    int h = sprintf(in, "set big 5 0 %zu\r\n", n);
    for (size_t i = 0; i < n; i++)
        in[h + i] = (char)('a' + i % 26);
    memcpy(in + h + n, "\r\n", 2);
    assert_string_equal(run(f, in, (size_t)h + n + 2), "STORED\r\n");
    assert_false(f->e.ses.txn_open);
    memcpy(in + h + n, "xx", 2); /* a bad chunk: nothing stored, the old value gone */
    memcpy(in + 4, "bag", 3);
    assert_string_equal(run(f, in, (size_t)h + n + 2), "CLIENT_ERROR bad data chunk\r\n");
    assert_string_equal(RUN(f, "get bag\r\n"), "END\r\n");
    assert_int_equal(strncmp(RUN(f, "get big\r\n"), "VALUE big 5 49152\r\nabc", 22), 0);
    free(in);
}

/* Meta commands share the text protocol's framing: a meta set's value
 * bigger than the buffer is received into its item, its line kept aside. */
static void test_meta(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(RUN(f, "ms m 2 F3 T0\r\nhi\r\nmg m v f k\r\nmn\r\n"),
                        "HD\r\nVA 2 f3 km\r\nhi\r\nMN\r\n");
    assert_string_equal(RUN(f, "mg nope v q\r\nmg m q k\r\nget m\r\nmn\r\n"),
                        "HD km\r\nVALUE m 3 2\r\nhi\r\nEND\r\nMN\r\n");
    size_t n = 3 * DRIVE_CAP;
    char *in = malloc(n + 64);
    int h = sprintf(in, "ms big %zu k O9 F5 s\r\n", n);
    memset(in + h, 'z', n);
    memcpy(in + h + n, "\r\n", 2);
    assert_string_equal(run(f, in, (size_t)h + n + 2), "HD kbig O9 s49152\r\n");
    assert_false(f->e.ses.txn_open);
    assert_null(f->e.ses.held);
    memcpy(in + h + n, "xx", 2);
    assert_string_equal(run(f, in, (size_t)h + n + 2), "CLIENT_ERROR bad data chunk\r\n");
    assert_string_equal(RUN(f, "mg big s f\r\n"), "HD s49152 f5\r\n"); /* the old one stays */
    free(in);
    assert_string_equal(RUN(f, "md m q\r\nmd m q\r\nmg m\r\n"), "EN\r\n");
}

static void test_quit(void **state)
{
    struct fixture *f = *state;
    enum feed_status st;
    assert_int_equal(drive(&text_protocol, &f->e.ses, &f->e.ctx, "quit\r\nget a\r\n", 13, &f->e.out,
                           &st), 6);
    assert_int_equal(st, FEED_QUIT);
}

/* -Y: nothing but a login until one succeeds (memcached's words). */
static void test_login(void **state)
{
    struct fixture *f = *state;
    struct auth *a = auth_parse("alice:secret\nbob:pw\n", 20);
    assert_non_null(a);
    f->e.ctx.auth = a;
    assert_string_equal(RUN(f, "get a\r\n"), "CLIENT_ERROR unauthenticated\r\n");
    assert_string_equal(RUN(f, "set x 0 0 9\r\nalice bad\r\n"),
                        "CLIENT_ERROR authentication failure\r\n");
    assert_string_equal(RUN(f, "set x 0 0 5\r\nalice\r\n"),
                        "CLIENT_ERROR bad authentication token format\r\n");
    assert_string_equal(RUN(f, "set x 0 0 5\r\nalicexx"),
                        "CLIENT_ERROR bad command line termination\r\n");
    assert_int_equal(f->e.stats.auth_cmds, 1);
    assert_int_equal(f->e.stats.auth_errors, 1);
    assert_string_equal(RUN(f, "set x 0 0 6\r\nbob pw\r\n"), "STORED\r\n");
    assert_true(f->e.ses.authed);
    assert_string_equal(RUN(f, "get x\r\n"), "END\r\n"); /* the login stored nothing */
    assert_int_equal(f->e.stats.auth_cmds, 2);
    assert_int_equal(f->e.stats.auth_errors, 1);
    auth_free(a);
    f->e.ctx.auth = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incr_decr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_touch_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_and_noreply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_memlimit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large_removes_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_value_zero_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_into_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login, setup, teardown),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
