/* Unit tests of pending output (out): its copy buffer stays bounded by
 * what is pending, not by what was ever queued, for a client that never
 * drains fully; bytes still come out whole and in order. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/out.h"

/* Referenced pieces: each its own allocation, freed by its unpin. */
#define MAX_REFS 4096
static char *refs[MAX_REFS];
static unsigned nrefs, unpins;

static void _unpin(void *arg, uint32_t pin)
{
    (void)arg;
    free(refs[pin]);
    refs[pin] = NULL;
    unpins++;
}

/* The byte at position i of the stream the test queues. */
static char _byte(uint64_t i) { return (char)('a' + (i * 7 + i / 251) % 26); }

/* Queue n bytes of the stream at *queued: a copy, or every 16th a ref. */
static void _queue(struct out *o, size_t n, uint64_t *queued)
{
    bool ref = *queued % 16 == 0 && nrefs < MAX_REFS;
    char *dst = ref ? (refs[nrefs] = malloc(n)) : out_reserve(o, n);
    assert_non_null(dst);
    for (size_t i = 0; i < n; i++)
        dst[i] = _byte(*queued + i);
    if (ref)
        assert_true(out_ref(o, dst, n, nrefs++));
    else
        out_commit(o, n);
    *queued += n;
}

/* The peer takes at most n bytes and checks them in order. */
static void _drain(int fd, size_t n, uint64_t *seen)
{
    char got[4096];
    while (n) {
        ssize_t r = recv(fd, got, n < sizeof got ? n : sizeof got, MSG_DONTWAIT);
        if (r <= 0)
            return;
        for (ssize_t i = 0; i < r; i++)
            if (got[i] != _byte(*seen + (uint64_t)i))
                fail_msg("byte %llu out of order", (unsigned long long)(*seen + (uint64_t)i));
        *seen += (uint64_t)r;
        n -= (size_t)r;
    }
}

/* Replies are queued up to a limit, as a connection queues them up to
 * out_limit, while the peer reads less than a turn queued: pending never
 * reaches zero. 64 MB go through; the copy buffer stays within a small
 * multiple of what is pending (it grew with every byte queued, to 64 MB,
 * before compaction), and the bytes arrive whole and in order, copied and
 * referenced pieces interleaved. */
static void test_copy_buffer_bounded_while_pending(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    struct out o;
    out_init(&o, _unpin, NULL);
    nrefs = unpins = 0;
    const size_t limit = 256 * 1024;
    uint64_t queued = 0, seen = 0;
    size_t max_cap = 0, max_pending = 0;
    for (unsigned turn = 0; queued < ((uint64_t)64 << 20); turn++) {
        while (out_pending(&o) < limit)
            _queue(&o, 50 + (turn * 37 + queued) % 1400, &queued);
        if (out_pending(&o) > max_pending)
            max_pending = out_pending(&o);
        if (o.copy.cap > max_cap)
            max_cap = o.copy.cap;
        while (out_write(&o, sv[0]) > 0)
            ;
        _drain(sv[1], 64 * 1024 + turn % 4096, &seen);
    }
    while (out_pending(&o)) {
        while (out_write(&o, sv[0]) > 0)
            ;
        _drain(sv[1], 1 << 20, &seen);
    }
    _drain(sv[1], 1 << 20, &seen);
    print_message("copy buffer at most %zu bytes, pending at most %zu\n", max_cap, max_pending);
    assert_true(seen == queued);
    assert_true(nrefs > 100);
    assert_int_equal(unpins, nrefs);
    assert_null(o.copy.data); /* drained: nothing held */
    assert_true(max_cap <= 4 * max_pending);
    out_reset(&o);
    out_pool_teardown();
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_buffer_bounded_while_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
