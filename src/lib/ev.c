/* ev: a level-triggered epoll loop with one periodic timer. */
#include "ev.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct ev_slot {
    ev_fd_fn *fn;
    void *arg;
};

struct ev_loop {
    int epfd;
    int max_events;
    struct epoll_event *events;
    struct ev_slot *slots; /* indexed by fd, grown on demand */
    int nslots;
    bool stop;
    uint64_t now_ms;
    int timer_ms;
    uint64_t timer_due;
    ev_timer_fn *timer_fn;
    void *timer_arg;
};

static uint64_t _clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct ev_loop *ev_create(int max_events)
{
    struct ev_loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->max_events = max_events > 0 ? max_events : 256;
    loop->events = calloc((size_t)loop->max_events, sizeof(*loop->events));
    if (loop->epfd < 0 || !loop->events) {
        ev_destroy(loop);
        return NULL;
    }
    loop->now_ms = _clock_ms();
    return loop;
}

void ev_destroy(struct ev_loop *loop)
{
    if (!loop)
        return;
    if (loop->epfd >= 0)
        close(loop->epfd);
    free(loop->events);
    free(loop->slots);
    free(loop);
}

static int _grow_slots(struct ev_loop *loop, int fd)
{
    if (fd < loop->nslots)
        return 0;
    int n = loop->nslots ? loop->nslots : 64;
    while (n <= fd)
        n *= 2;
    struct ev_slot *s = realloc(loop->slots, (size_t)n * sizeof(*s));
    if (!s)
        return -ENOMEM;
    for (int i = loop->nslots; i < n; i++)
        s[i] = (struct ev_slot){0};
    loop->slots = s;
    loop->nslots = n;
    return 0;
}

static int _ctl(struct ev_loop *loop, int op, int fd, unsigned mask, ev_fd_fn *fn, void *arg)
{
    if (fd < 0)
        return -EBADF;
    int rc = _grow_slots(loop, fd);
    if (rc)
        return rc;
    struct epoll_event ee = {0};
    ee.events = (mask & EV_READ ? EPOLLIN : 0u) | (mask & EV_WRITE ? EPOLLOUT : 0u);
    ee.data.fd = fd;
    if (epoll_ctl(loop->epfd, op, fd, &ee) < 0)
        return -errno;
    loop->slots[fd] = (struct ev_slot){fn, arg};
    return 0;
}

int ev_add(struct ev_loop *loop, int fd, unsigned mask, ev_fd_fn *fn, void *arg)
{
    return _ctl(loop, EPOLL_CTL_ADD, fd, mask, fn, arg);
}

int ev_mod(struct ev_loop *loop, int fd, unsigned mask, ev_fd_fn *fn, void *arg)
{
    return _ctl(loop, EPOLL_CTL_MOD, fd, mask, fn, arg);
}

int ev_del(struct ev_loop *loop, int fd)
{
    if (fd < 0 || fd >= loop->nslots)
        return -EBADF;
    loop->slots[fd] = (struct ev_slot){0}; /* events already fetched for fd are dropped */
    if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
        return -errno;
    return 0;
}

void ev_set_timer(struct ev_loop *loop, int period_ms, ev_timer_fn *fn, void *arg)
{
    loop->timer_ms = period_ms;
    loop->timer_fn = fn;
    loop->timer_arg = arg;
    loop->timer_due = loop->now_ms + (uint64_t)period_ms;
}

static int _timeout(const struct ev_loop *loop)
{
    if (!loop->timer_fn)
        return -1;
    if (loop->timer_due <= loop->now_ms)
        return 0;
    return (int)(loop->timer_due - loop->now_ms);
}

int ev_run(struct ev_loop *loop)
{
    loop->stop = false;
    while (!loop->stop) {
        int n = epoll_wait(loop->epfd, loop->events, loop->max_events, _timeout(loop));
        if (n < 0 && errno != EINTR)
            return -errno;
        loop->now_ms = _clock_ms();
        for (int i = 0; i < n; i++) {
            struct epoll_event *e = &loop->events[i];
            int fd = e->data.fd;
            if (fd >= loop->nslots || !loop->slots[fd].fn)
                continue; /* removed by an earlier callback in this batch */
            unsigned ev = 0;
            if (e->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                ev |= EV_READ;
            if (e->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                ev |= EV_WRITE;
            loop->slots[fd].fn(loop, fd, ev, loop->slots[fd].arg);
        }
        if (loop->timer_fn && loop->now_ms >= loop->timer_due) {
            loop->timer_due = loop->now_ms + (uint64_t)loop->timer_ms;
            loop->timer_fn(loop, loop->timer_arg);
        }
    }
    return 0;
}

void ev_stop(struct ev_loop *loop) { loop->stop = true; }
bool ev_stopped(const struct ev_loop *loop) { return loop->stop; }
uint64_t ev_now_ms(const struct ev_loop *loop) { return loop->now_ms; }
