/* ev: the epoll loop. It knows file descriptors, interest masks, callbacks,
 * one periodic timer and a stop flag; nothing about memcached. */
#ifndef MEMG_EV_H
#define MEMG_EV_H

#include <stdbool.h>
#include <stdint.h>

#define EV_READ 1u
#define EV_WRITE 2u

struct ev_loop;
typedef void ev_fd_fn(struct ev_loop *loop, int fd, unsigned events, void *arg);
typedef void ev_timer_fn(struct ev_loop *loop, void *arg);

struct ev_loop *ev_create(int max_events);
void ev_destroy(struct ev_loop *loop);

/* Register fd with the mask (EV_READ|EV_WRITE), edge- or level-triggered
 * (level here: simpler back-pressure). Returns 0 or -errno. */
int ev_add(struct ev_loop *loop, int fd, unsigned mask, ev_fd_fn *fn, void *arg);
int ev_mod(struct ev_loop *loop, int fd, unsigned mask, ev_fd_fn *fn, void *arg);
int ev_del(struct ev_loop *loop, int fd);

/* Call fn every period_ms (one timer per loop is all memg needs). */
void ev_set_timer(struct ev_loop *loop, int period_ms, ev_timer_fn *fn, void *arg);

/* Run until ev_stop; returns 0, or -errno when epoll itself fails. */
int ev_run(struct ev_loop *loop);
void ev_stop(struct ev_loop *loop);
bool ev_stopped(const struct ev_loop *loop);

/* Milliseconds of a monotonic clock, cached at each loop iteration. */
uint64_t ev_now_ms(const struct ev_loop *loop);

#endif
