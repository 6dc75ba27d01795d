/* Unit tests of buffers (buf) and pending output (out). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/out.h"

static int setup(void **state)
{
    (void)state;
    buf_pool_setup(64, 4);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    buf_pool_teardown();
    return 0;
}

static void test_append_consume_compact(void **state)
{
    (void)state;
    struct buf b = {0};
    assert_true(buf_acquire(&b));
    assert_int_equal(b.cap, 64);
    assert_true(buf_append(&b, "hello world", 11, 64));
    buf_consume(&b, 6);
    assert_int_equal(buf_len(&b), 5);
    assert_memory_equal(buf_rptr(&b), "world", 5);
    buf_compact(&b);
    assert_int_equal(b.rpos, 0);
    assert_memory_equal(buf_rptr(&b), "world", 5);
    buf_consume(&b, 5);
    assert_int_equal(b.rpos, 0); /* an empty buffer restarts at 0 */
    assert_int_equal(b.wpos, 0);
    buf_release(&b);
    assert_null(b.data);
}

static void test_growth_and_cap(void **state)
{
    (void)state;
    struct buf b = {0};
    char big[300];
    memset(big, 'x', sizeof(big));
    assert_true(buf_append(&b, big, 200, 256));
    assert_int_equal(b.cap, 256);
    assert_false(buf_append(&b, big, 100, 256)); /* over the cap: refused */
    assert_int_equal(buf_len(&b), 200);
    buf_consume(&b, 200);
    buf_shrink(&b); /* a grown, empty buffer goes back */
    assert_null(b.data);
}

static void test_pool_reuse(void **state)
{
    (void)state;
    struct buf a = {0}, b = {0};
    assert_true(buf_acquire(&a));
    char *first = a.data;
    buf_release(&a);
    assert_true(buf_acquire(&b));
    assert_ptr_equal(b.data, first); /* came back from the pool */
    buf_release(&b);
}

/* A block holding a few unread bytes parks them in an allocation of their own
 * size and goes back to the pool; acquiring moves them into a block again,
 * intact. Too many bytes, an empty or a grown buffer: nothing parks. */
static void test_park(void **state)
{
    (void)state;
    struct buf b = {0};
    assert_true(buf_append(&b, "get partial_ke", 14, 64));
    buf_consume(&b, 4);
    char *block = b.data;
    buf_park(&b, 32);
    assert_ptr_not_equal(b.data, block);
    assert_int_equal(b.cap, 10);
    assert_int_equal(buf_capacity(&b), 64); /* what a read fills it to: a block */
    assert_int_equal(buf_len(&b), 10);
    assert_memory_equal(buf_rptr(&b), "partial_ke", 10);
    struct buf other = {0};
    assert_true(buf_acquire(&other));
    assert_ptr_equal(other.data, block); /* the block went back to the pool */
    assert_true(buf_acquire(&b));        /* unpark: bytes move into a block */
    assert_int_equal(b.cap, 64);
    assert_int_equal(b.rpos, 0);
    assert_memory_equal(buf_rptr(&b), "partial_ke", 10);
    assert_true(buf_append(&b, "y\r\n", 3, 64));
    assert_memory_equal(buf_rptr(&b), "partial_key\r\n", 13);
    buf_park(&b, 8); /* more than max: stays in its block */
    assert_int_equal(b.cap, 64);
    buf_consume(&b, 13);
    buf_park(&b, 8); /* empty: nothing to park */
    assert_int_equal(b.cap, 64);
    buf_release(&b);
    buf_release(&other);
    char big[100];
    memset(big, 'x', sizeof big);
    assert_true(buf_append(&b, big, 100, 256)); /* grown past a block */
    buf_consume(&b, 95);
    buf_park(&b, 32);
    assert_int_equal(b.cap, 128);
    assert_int_equal(buf_capacity(&b), 128); /* grown: its own size */
    buf_release(&b);
    struct buf parked = {0};
    assert_true(buf_append(&parked, "abc", 3, 64));
    buf_park(&parked, 32);
    buf_release(&parked); /* a parked buffer is freed, not pooled */
    assert_null(parked.data);
}

static int unpinned[8];
static int nunpinned;
static void record_unpin(void *arg, uint32_t pin)
{
    (void)arg;
    unpinned[nunpinned++] = (int)pin;
}

static void test_out_order_and_pins(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct out o;
    nunpinned = 0;
    out_init(&o, record_unpin, NULL);
    static const char ext[] = "EXTERNAL-VALUE";
    assert_true(out_copy(&o, "VALUE k 0 14\r\n", 14));
    assert_true(out_ref(&o, ext, 14, 7));
    assert_true(out_copy(&o, "\r\nEND\r\n", 7));
    assert_int_equal(out_pending(&o), 35);
    const struct out_piece *array = o.pieces;
    assert_int_equal(out_write(&o, sv[0]), 35);
    assert_int_equal(out_pending(&o), 0);
    assert_int_equal(nunpinned, 1);
    assert_int_equal(unpinned[0], 7);
    char got[64];
    assert_int_equal(read(sv[1], got, sizeof(got)), 35);
    assert_memory_equal(got, "VALUE k 0 14\r\nEXTERNAL-VALUE\r\nEND\r\n", 35);
    assert_null(o.pieces); /* drained: the piece array went to the pool... */
    struct out o2;
    out_init(&o2, record_unpin, NULL);
    assert_true(out_ref(&o2, ext, 14, 8));
    assert_ptr_equal(o2.pieces, array); /* ...and the next reply takes it from there */
    assert_int_equal(out_write(&o2, sv[0]), 14);
    assert_int_equal(read(sv[1], got, sizeof(got)), 14);
    assert_int_equal(nunpinned, 2);
    out_reset(&o2);
    out_reset(&o);
    out_pool_teardown();
    close(sv[0]);
    close(sv[1]);
}

static void test_out_reset_releases_pins(void **state)
{
    (void)state;
    struct out o;
    nunpinned = 0;
    out_init(&o, record_unpin, NULL);
    assert_true(out_ref(&o, "abc", 3, 1));
    assert_true(out_ref(&o, "def", 3, 2));
    out_reset(&o); /* a client gone mid-reply: pins come back */
    assert_int_equal(nunpinned, 2);
}

static void test_out_oom_is_remembered(void **state)
{
    (void)state;
    struct out o;
    out_init(&o, NULL, NULL);
    assert_true(out_copy(&o, "ok", 2));
    assert_false(o.oom);
    assert_null(out_reserve(&o, (size_t)2 << 30)); /* past the copy buffer's cap */
    assert_true(o.oom); /* the connection must hang up, not send a reply with a hole */
    out_reset(&o);
    assert_false(o.oom);
}

static void test_out_many_pieces(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct out o;
    out_init(&o, NULL, NULL);
    size_t total = 0;
    for (int i = 0; i < 200; i++) { /* more pieces than one writev takes */
        assert_true(out_ref(&o, "0123456789", 10, OUT_NO_PIN));
        assert_true(out_copy(&o, "-", 1));
        total += 11;
    }
    size_t sent = 0;
    char sink[4096];
    while (out_pending(&o)) {
        ssize_t w = out_write(&o, sv[0]);
        assert_true(w > 0);
        sent += (size_t)w;
        while (read(sv[1], sink, sizeof(sink)) == (ssize_t)sizeof(sink))
            ;
    }
    assert_int_equal(sent, total);
    out_reset(&o);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_consume_compact),
        cmocka_unit_test(test_growth_and_cap),
        cmocka_unit_test(test_pool_reuse),
        cmocka_unit_test(test_park),
        cmocka_unit_test(test_out_order_and_pins),
        cmocka_unit_test(test_out_reset_releases_pins),
        cmocka_unit_test(test_out_oom_is_remembered),
        cmocka_unit_test(test_out_many_pieces),
    };
    return cmocka_run_group_tests_name("buf", tests, setup, teardown);
}
