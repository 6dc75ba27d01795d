/* out: a connection's pending output. Small pieces are copied into one
 * buffer; large values are referenced where they live (pinned) and sent
 * with writev, so a big value is never copied on its way out. */
#ifndef MEMG_OUT_H
#define MEMG_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define OUT_NO_PIN UINT32_MAX

/* One piece in send order: a range of the copy buffer, or outside bytes. */
struct out_piece {
    const char *ext; /* NULL: bytes [off, off+len) of the copy buffer */
    size_t off;
    size_t len;
    uint32_t pin;    /* released through the unpin callback once sent */
};

typedef void out_unpin_fn(void *arg, uint32_t pin);

struct out {
    struct buf copy;
    struct out_piece *pieces;
    uint32_t npieces, cap_pieces, first; /* pieces[first..npieces) are pending */
    bool oom;        /* a piece could not be queued: the reply is incomplete */
    size_t pending;  /* bytes not yet sent */
    out_unpin_fn *unpin;
    void *unpin_arg;
};

void out_init(struct out *o, out_unpin_fn *unpin, void *arg);
/* Frees the piece arrays kept for reuse (at exit). */
void out_pool_teardown(void);
/* Drop everything pending (releasing pins) and free memory. */
void out_reset(struct out *o);

/* Append bytes by copy; false when out of memory. */
bool out_copy(struct out *o, const void *p, size_t n);
/* The same followed by \r\n: a text protocol's reply line. */
bool out_line(struct out *o, const void *p, size_t n);
/* Room for n bytes to be written in place, then out_commit(n). */
char *out_reserve(struct out *o, size_t n);
void out_commit(struct out *o, size_t n);
/* Take back the last n bytes queued, if they are still unsent, copied, and
 * equal to p; false (nothing changed) otherwise. */
bool out_drop_tail(struct out *o, const void *p, size_t n);
/* Append outside bytes that stay valid until released through pin. */
bool out_ref(struct out *o, const void *p, size_t n, uint32_t pin);

static inline size_t out_pending(const struct out *o) { return o->pending; }

/* The last n pending bytes, in order, as (p, len) chunks to fn (logging). */
void out_tail(const struct out *o, size_t n, void (*fn)(void *arg, const char *p, size_t len),
              void *arg);

/* The pending pieces in send order as iovecs (at most max): how many. */
#define OUT_IOV 64 /* pieces per writev; plenty for one loop turn */
struct iovec;
int out_iov(const struct out *o, struct iovec *iov, int max);
/* The first n pending bytes were sent: advance, releasing pins. */
void out_sent(struct out *o, size_t n);
/* writev as much as the socket takes (out_iov, sendmsg, out_sent). Returns
 * bytes sent, or -1 with errno (EAGAIN when the socket is full). */
ssize_t out_write(struct out *o, int fd);

#endif
