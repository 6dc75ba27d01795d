/* Unit tests of conn.c: one connection over a socketpair, driven by the real
 * loop (ev.c) and the text protocol: requests in, replies out, a value
 * larger than the read buffer received across reads, quit and hang-ups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn/conn.h"
#include "drive.h"
#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/net.h"

struct fixture {
    struct drive_env e; /* first: drive_fixture_setup */
    struct ev_loop *loop;
    struct conn_shared sh;
    int peer; /* the client's end */
    char got[1 << 18];
    size_t n, want; /* bytes read back; stop once want arrived */
    bool eof;
    int ticks;
};

static int setup(void **state)
{
    if (drive_fixture_setup(state, sizeof(struct fixture), NULL) != 0)
        return -1;
    struct fixture *f = *state;
    buf_pool_setup(16384, 4);
    f->loop = ev_create(64);
    f->sh = (struct conn_shared){.loop = f->loop,
                                 .ops = &f->e.ctx,
                                 .stats = &f->e.stats,
                                 .proto = &text_protocol,
                                 .out_limit = 1u << 20,
                                 .max_line = 2u << 20,
                                 .reqs_per_event = 20};
    int sv[2];
    if (!f->loop || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    net_set_nonblock(sv[0]);
    net_set_nonblock(sv[1]);
    f->peer = sv[1];
    return conn_open(&f->sh, sv[0], true, &text_protocol, NULL) ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    conn_close_all(&f->sh);
    close(f->peer);
    ev_destroy(f->loop);
    buf_pool_teardown();
    return drive_fixture_teardown(state);
}

/* The client's side, every 5 ms: read what arrived; stop the loop once
 * want bytes came, the connection hung up, or 2 s passed. */
static void _client(struct ev_loop *loop, void *arg)
{
    struct fixture *f = arg;
    for (;;) {
        ssize_t k = read(f->peer, f->got + f->n, sizeof(f->got) - 1 - f->n);
        if (k > 0) {
            f->n += (size_t)k;
            continue;
        }
        f->eof |= k == 0;
        break;
    }
    f->got[f->n] = '\0';
    if (f->n >= f->want || f->eof || ++f->ticks > 400)
        ev_stop(loop);
}

/* Send in, run the loop until want reply bytes (or a hang-up). */
static const char *_exchange(struct fixture *f, const char *in, size_t len, size_t want)
{
    f->n = 0;
    f->want = want;
    f->ticks = 0;
    size_t off = 0;
    while (off < len) { /* the socket buffer may take less than all */
        ssize_t k = write(f->peer, in + off, len - off);
        if (k > 0)
            off += (size_t)k;
        ev_set_timer(f->loop, 5, _client, f);
        if (k <= 0 || off < len)
            ev_run(f->loop); /* one turn lets conn read; _client stops it */
        f->ticks = 0;
    }
    ev_set_timer(f->loop, 5, _client, f);
    if (f->n < want && !f->eof)
        ev_run(f->loop);
    return f->got;
}

static void test_requests_and_replies(void **state)
{
    struct fixture *f = *state;
    const char in[] = "set k 0 0 5\r\nhello\r\nget k\r\nget nope\r\n";
    const char want[] = "STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\nEND\r\n";
    assert_string_equal(_exchange(f, in, sizeof(in) - 1, sizeof(want) - 1), want);
    assert_int_equal(f->sh.count, 1);
    assert_int_equal(f->e.stats.bytes_read, sizeof(in) - 1);
    assert_int_equal(f->e.stats.bytes_written, sizeof(want) - 1);
}

/* 200 KB: more than the 16 KB read buffer holds, received into the item
 * over many reads; and sent back from the item. */
static void test_large_value_across_reads(void **state)
{
    struct fixture *f = *state;
    enum { SIZE = 200000 };
    static char in[SIZE + 64], want[SIZE + 64];
    size_t head = (size_t)snprintf(in, sizeof(in), "set big 1 0 %d\r\n", SIZE);
    for (size_t i = 0; i < SIZE; i++)
        in[head + i] = (char)('a' + i % 26);
    memcpy(in + head + SIZE, "\r\n", 2);
    assert_string_equal(_exchange(f, in, head + SIZE + 2, 8), "STORED\r\n");
    size_t wh = (size_t)snprintf(want, sizeof(want), "VALUE big 1 %d\r\n", SIZE);
    memcpy(want + wh, in + head, SIZE);
    memcpy(want + wh + SIZE, "\r\nEND\r\n", 7);
    _exchange(f, "get big\r\n", 9, wh + SIZE + 7);
    assert_int_equal(f->n, wh + SIZE + 7);
    assert_memory_equal(f->got, want, wh + SIZE + 7);
}

/* The value in[head..head+size) of a set line of key, size bytes: its
 * line, value and \r\n appended at in + *len. */
static void _set(char *in, size_t *len, const char *key, size_t size, char fill)
{
    *len += (size_t)sprintf(in + *len, "set %s 0 0 %zu\r\n", key, size);
    memset(in + *len, fill, size);
    *len += size;
    memcpy(in + *len, "\r\n", 2);
    *len += 2;
}

/* After a value longer than the read buffer, conn reads only a request
 * line's worth (the next long value then comes straight into its item)
 * until such a read comes back full. Whatever follows must still be
 * answered: a set whose value must wait in the read buffer, a line longer
 * than that short read, another long value with requests pipelined behind
 * it, in one write; then a get and a long set, one at a time. */
static void test_requests_after_a_long_value(void **state)
{
    struct fixture *f = *state;
    static char in[1 << 18];
    size_t len = 0;
    _set(in, &len, "big", 100000, 'b');
    assert_string_equal(_exchange(f, in, len, 8), "STORED\r\n");
    len = 0;
    _set(in, &len, "small", 4000, 's');
    len += (size_t)sprintf(in + len, "get small");
    for (int i = 0; i < 100; i++) /* a 1.5 KB line: past the short read */
        len += (size_t)sprintf(in + len, " nokey%08d", i);
    len += (size_t)sprintf(in + len, "\r\n");
    _set(in, &len, "big", 120000, 'B');
    len += (size_t)sprintf(in + len, "get small\r\nversion\r\n");
    size_t want_len = 0;
    static char want[1 << 14];
    for (int twice = 0; twice < 2; twice++) {
        want_len += (size_t)sprintf(want + want_len, "STORED\r\nVALUE small 0 4000\r\n");
        memset(want + want_len, 's', 4000);
        want_len += 4000;
        want_len += (size_t)sprintf(want + want_len, "\r\nEND\r\n");
    }
    _exchange(f, in, len, want_len + 9); /* and VERSION's line */
    assert_true(f->n > want_len);
    assert_memory_equal(f->got, want, want_len);
    assert_int_equal(strncmp(f->got + want_len, "VERSION ", 8), 0);
    assert_string_equal(_exchange(f, "get nokey\r\n", 11, 5), "END\r\n");
    len = 0;
    _set(in, &len, "big", 120000, 'B');
    assert_string_equal(_exchange(f, in, len, 8), "STORED\r\n");
    _exchange(f, "get big\r\n", 9, 120000 + 30);
    const char head[] = "VALUE big 0 120000\r\n";
    assert_int_equal(f->n, sizeof(head) - 1 + 120000 + 7);
    assert_memory_equal(f->got, head, sizeof(head) - 1);
    for (size_t i = 0; i < 120000; i++)
        if (f->got[sizeof(head) - 1 + i] != 'B')
            fail_msg("byte %zu of the value is %d", i, f->got[sizeof(head) - 1 + i]);
    assert_memory_equal(f->got + sizeof(head) - 1 + 120000, "\r\nEND\r\n", 7);
}

/* quit: the replies before it are sent, then the connection closes. */
static void test_quit_closes_after_replies(void **state)
{
    struct fixture *f = *state;
    _exchange(f, "version\r\nquit\r\nversion\r\n", 24, 1 << 17);
    assert_true(f->eof);
    assert_int_equal(strncmp(f->got, "VERSION ", 8), 0);
    assert_non_null(strchr(f->got, '\n'));
    assert_int_equal(strlen(strchr(f->got, '\n')), 1); /* one reply, nothing after quit */
    /* input came after quit: memg shut its side and lingers (no RST to eat
     * the reply), dropping what still comes, until the client's end */
    assert_int_equal(f->sh.count, 1);
    assert_int_equal(f->sh.lingering, 1);
    assert_int_equal(write(f->peer, "version\r\n", 9), 9);
    assert_int_equal(shutdown(f->peer, SHUT_WR), 0);
    f->eof = false;
    _exchange(f, "", 0, 1);
    assert_int_equal(f->n, 0); /* nothing answered while lingering */
    assert_int_equal(f->sh.count, 0);
    assert_int_equal(f->sh.lingering, 0);
}

/* A lingering connection whose client never ends is closed by the sweep. */
static void test_linger_swept(void **state)
{
    struct fixture *f = *state;
    _exchange(f, "quit\r\n", 6, 1 << 17);
    assert_true(f->eof);
    assert_int_equal(f->sh.lingering, 1);
    conn_sweep_linger(&f->sh, ev_now_ms(f->loop) + 1000, 2000); /* not yet */
    assert_int_equal(f->sh.count, 1);
    conn_sweep_linger(&f->sh, ev_now_ms(f->loop) + 2000, 2000);
    assert_int_equal(f->sh.count, 0);
    assert_int_equal(f->sh.lingering, 0);
}

/* The client hangs up mid-value: nothing is stored, the connection goes. */
static void test_hangup_mid_value_stores_nothing(void **state)
{
    struct fixture *f = *state;
    static char in[40000];
    size_t head = (size_t)snprintf(in, sizeof(in), "set cut 0 0 %d\r\n", 50000);
    memset(in + head, 'c', sizeof(in) - head);
    _exchange(f, in, sizeof(in), 1);
    shutdown(f->peer, SHUT_WR);
    _exchange(f, "", 0, 1 << 17);
    assert_true(f->eof);
    assert_int_equal(f->sh.count, 0);
    struct item_view it;
    assert_false(ops_peek(&f->e.ctx, "cut", 3, &it));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_requests_and_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_value_across_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_after_a_long_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quit_closes_after_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linger_swept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hangup_mid_value_stores_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
