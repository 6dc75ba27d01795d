/* Unit tests of ev, the epoll loop: readiness reaches the callback
 * registered for the fd (with its arg and EV_READ/EV_WRITE as asked), a
 * hang-up reads as readable, an fd removed by an earlier callback of the
 * same batch is not called, the one timer fires every period in a
 * monotonic clock, and ev_stop ends ev_run. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/ev.h"

struct seen {
    int calls;
    int fd;
    unsigned events;
    void *arg;
    int stop_after; /* ev_stop at this many calls */
};

static void _record(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct seen *s = arg;
    s->calls++;
    s->fd = fd;
    s->events = events;
    s->arg = arg;
    if (s->calls >= s->stop_after)
        ev_stop(loop);
}

/* A guard against a test that would hang: stop the loop after 2 s. */
struct guard {
    int ticks;
};

static void _guard(struct ev_loop *loop, void *arg)
{
    struct guard *g = arg;
    if (++g->ticks >= 200)
        ev_stop(loop);
}

static struct ev_loop *_loop(struct guard *g)
{
    struct ev_loop *loop = ev_create(8);
    assert_non_null(loop);
    *g = (struct guard){0};
    ev_set_timer(loop, 10, _guard, g);
    return loop;
}

static void test_read_dispatch(void **state)
{
    (void)state;
    struct guard g;
    struct ev_loop *loop = _loop(&g);
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    struct seen s = {.stop_after = 1};
    assert_int_equal(ev_add(loop, p[0], EV_READ, _record, &s), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(ev_run(loop), 0);
    assert_true(ev_stopped(loop));
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.fd, p[0]);
    assert_int_equal(s.events, EV_READ);
    assert_ptr_equal(s.arg, &s);
    assert_true(g.ticks < 200);
    /* level-triggered: the byte still unread makes it ready again */
    s.stop_after = 2;
    assert_int_equal(ev_run(loop), 0);
    assert_int_equal(s.calls, 2);
    /* a hang-up of the writer reads as readable, without data */
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[1]);
    s.stop_after = 3;
    assert_int_equal(ev_run(loop), 0);
    assert_int_equal(s.calls, 3);
    assert_true(s.events & EV_READ);
    assert_int_equal(ev_del(loop, p[0]), 0);
    close(p[0]);
    ev_destroy(loop);
}

static void test_write_and_mod(void **state)
{
    (void)state;
    struct guard g;
    struct ev_loop *loop = _loop(&g);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct seen a = {.stop_after = 1}, b = {.stop_after = 1};
    /* nothing to read: only the write interest is ready */
    assert_int_equal(ev_add(loop, sv[0], EV_READ | EV_WRITE, _record, &a), 0);
    assert_int_equal(ev_run(loop), 0);
    assert_int_equal(a.events, EV_WRITE);
    /* mod swaps the mask and the callback's arg */
    assert_int_equal(ev_mod(loop, sv[0], EV_READ, _record, &b), 0);
    assert_int_equal(write(sv[1], "ab", 2), 2);
    assert_int_equal(ev_run(loop), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.events, EV_READ);
    /* adding twice is refused; mod of an fd never added too */
    assert_int_equal(ev_add(loop, sv[0], EV_READ, _record, &a), -EEXIST);
    assert_int_equal(ev_mod(loop, sv[1], EV_READ, _record, &a), -ENOENT);
    assert_int_equal(ev_add(loop, -1, EV_READ, _record, &a), -EBADF);
    assert_int_equal(ev_del(loop, -1), -EBADF);
    assert_int_equal(ev_del(loop, sv[0]), 0);
    assert_int_equal(ev_del(loop, sv[0]), -ENOENT);
    close(sv[0]);
    close(sv[1]);
    ev_destroy(loop);
}

/* Two fds ready in one batch; whichever callback runs first removes the
 * other: the other is not called, though its event was already fetched. */
struct pair {
    struct ev_loop *loop;
    int fd[2];
    int calls[2];
};

static void _remove_other(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    struct pair *p = arg;
    int me = fd == p->fd[1];
    p->calls[me]++;
    assert_int_equal(ev_del(loop, p->fd[!me]), 0);
    assert_int_equal(ev_del(loop, fd), 0);
    ev_stop(loop);
}

static void test_remove_during_dispatch(void **state)
{
    (void)state;
    struct guard g;
    struct ev_loop *loop = _loop(&g);
    int a[2], b[2];
    assert_int_equal(pipe2(a, O_NONBLOCK), 0);
    assert_int_equal(pipe2(b, O_NONBLOCK), 0);
    struct pair p = {.loop = loop, .fd = {a[0], b[0]}};
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "y", 1), 1);
    assert_int_equal(ev_add(loop, a[0], EV_READ, _remove_other, &p), 0);
    assert_int_equal(ev_add(loop, b[0], EV_READ, _remove_other, &p), 0);
    assert_int_equal(ev_run(loop), 0);
    assert_int_equal(p.calls[0] + p.calls[1], 1);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
    ev_destroy(loop);
}

/* An fd far above the first slots (they grow on demand). */
static void test_high_fd(void **state)
{
    (void)state;
    struct guard g;
    struct ev_loop *loop = _loop(&g);
    int p[2];
    assert_int_equal(pipe(p), 0);
    int high = fcntl(p[0], F_DUPFD_CLOEXEC, 700);
    assert_true(high >= 700);
    struct seen s = {.stop_after = 1};
    assert_int_equal(ev_add(loop, high, EV_READ, _record, &s), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(ev_run(loop), 0);
    assert_int_equal(s.fd, high);
    ev_del(loop, high);
    close(high);
    close(p[0]);
    close(p[1]);
    ev_destroy(loop);
}

struct ticks {
    int n;
    uint64_t at[8];
};

static void _tick(struct ev_loop *loop, void *arg)
{
    struct ticks *t = arg;
    t->at[t->n++] = ev_now_ms(loop);
    if (t->n == 5)
        ev_stop(loop);
}

static void test_timer(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_create(0);
    assert_non_null(loop);
    struct ticks t = {0};
    uint64_t start = ev_now_ms(loop);
    ev_set_timer(loop, 20, _tick, &t);
    assert_int_equal(ev_run(loop), 0);
    assert_int_equal(t.n, 5);
    /* each period at least 20 ms after the one before, in order */
    assert_true(t.at[0] >= start + 20);
    for (int i = 1; i < 5; i++)
        assert_true(t.at[i] >= t.at[i - 1] + 20);
    assert_true(t.at[4] - start < 2000); /* and not wildly late */
    ev_destroy(loop);
}

/* A timer callback can stop the loop before any fd is ready; ev_run
 * clears the stop when it runs again. */
static void test_stop_and_rerun(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_create(4);
    struct ticks t = {0};
    ev_set_timer(loop, 1, _tick, &t);
    assert_int_equal(ev_run(loop), 0);
    assert_int_equal(t.n, 5);
    t.n = 0;
    assert_int_equal(ev_run(loop), 0);
    assert_int_equal(t.n, 5);
    ev_destroy(loop);
    ev_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_dispatch),
        cmocka_unit_test(test_write_and_mod),
        cmocka_unit_test(test_remove_during_dispatch),
        cmocka_unit_test(test_high_fd),
        cmocka_unit_test(test_timer),
        cmocka_unit_test(test_stop_and_rerun),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
