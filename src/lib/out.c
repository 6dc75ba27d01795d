/* out: pending output as ordered pieces of a copy buffer and pinned refs. */
#include "out.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "mem.h"

#define OUT_IOV 64 /* pieces per writev; plenty for one loop turn */
#define OUT_COPY_MAX ((size_t)1 << 30)

void out_init(struct out *o, out_unpin_fn *unpin, void *arg)
{
    memset(o, 0, sizeof(*o));
    o->unpin = unpin;
    o->unpin_arg = arg;
}

static void _release_from(struct out *o, uint32_t i)
{
    for (; i < o->npieces; i++)
        if (o->pieces[i].pin != OUT_NO_PIN && o->unpin)
            o->unpin(o->unpin_arg, o->pieces[i].pin);
}

/* Piece arrays of the first size, kept for the next reply: a connection
 * whose output drains gives its array back here rather than to malloc, which
 * would otherwise see a malloc and a free per request. */
#define PIECES_FIRST 8
#define PIECE_POOL_MAX 64
static struct out_piece *piece_pool[PIECE_POOL_MAX];
static unsigned piece_pool_n;

static void _pieces_release(struct out *o)
{
    if (o->cap_pieces == PIECES_FIRST && piece_pool_n < PIECE_POOL_MAX)
        piece_pool[piece_pool_n++] = o->pieces;
    else
        free(o->pieces);
    o->pieces = NULL;
    o->cap_pieces = 0;
}

void out_pool_teardown(void)
{
    while (piece_pool_n)
        free(piece_pool[--piece_pool_n]);
}

void out_reset(struct out *o)
{
    _release_from(o, o->first);
    _pieces_release(o);
    buf_release(&o->copy);
    out_unpin_fn *unpin = o->unpin;
    void *arg = o->unpin_arg;
    out_init(o, unpin, arg);
}

static struct out_piece *_push(struct out *o)
{
    if (o->first == o->npieces)
        o->first = o->npieces = 0;
    if (o->npieces == o->cap_pieces) {
        if (o->first) { /* slide pending pieces down before growing */
            memmove(o->pieces, o->pieces + o->first, (o->npieces - o->first) * sizeof(*o->pieces));
            o->npieces -= o->first;
            o->first = 0;
        }
        if (o->npieces == o->cap_pieces) {
            uint32_t cap = o->cap_pieces ? o->cap_pieces * 2 : PIECES_FIRST;
            struct out_piece *p = cap == PIECES_FIRST && piece_pool_n
                                      ? piece_pool[--piece_pool_n]
                                      : realloc(o->pieces, cap * sizeof(*p));
            if (!p)
                return NULL;
            o->pieces = p;
            o->cap_pieces = cap;
        }
    }
    return &o->pieces[o->npieces++];
}

/* Move the pending copy bytes down over the sent ones when those are at
 * least as many (each byte moves at most once per doubling), and shift the
 * pending pieces' offsets with them: a client that never drains fully
 * holds about twice what is pending, not all it was ever sent. */
static void _compact(struct out *o)
{
    size_t dead = o->copy.wpos;
    for (uint32_t i = o->first; i < o->npieces; i++)
        if (!o->pieces[i].ext) { /* copy pieces are in buffer order */
            dead = o->pieces[i].off;
            break;
        }
    if (dead == 0 || dead < o->copy.wpos - dead)
        return;
    memmove(o->copy.data, o->copy.data + dead, o->copy.wpos - dead);
    o->copy.wpos -= dead;
    for (uint32_t i = o->first; i < o->npieces; i++)
        if (!o->pieces[i].ext)
            o->pieces[i].off -= dead;
}

char *out_reserve(struct out *o, size_t n)
{
    if (o->first == o->npieces) {
        o->first = o->npieces = 0;
        o->copy.rpos = o->copy.wpos = 0;
    }
    if (buf_room(&o->copy) < n && o->copy.data)
        _compact(o);
    if (buf_room(&o->copy) < n) {
        size_t keep = o->copy.rpos;
        o->copy.rpos = 0; /* buf_reserve must not move bytes: pieces hold offsets */
        bool ok = buf_reserve(&o->copy, n, OUT_COPY_MAX);
        o->copy.rpos = keep;
        if (!ok) {
            o->oom = true;
            return NULL;
        }
    }
    return buf_wptr(&o->copy);
}

void out_commit(struct out *o, size_t n)
{
    size_t off = o->copy.wpos;
    o->copy.wpos += n;
    o->pending += n;
    if (o->npieces > o->first) {
        struct out_piece *last = &o->pieces[o->npieces - 1];
        if (!last->ext && last->off + last->len == off) {
            last->len += n; /* grow the last copy piece */
            return;
        }
    }
    struct out_piece *p = _push(o);
    if (!p) { /* out of memory: undo, and say so */
        o->copy.wpos -= n;
        o->pending -= n;
        o->oom = true;
        return;
    }
    *p = (struct out_piece){NULL, off, n, OUT_NO_PIN};
}

bool out_drop_tail(struct out *o, const void *p, size_t n)
{
    if (o->npieces == o->first)
        return false;
    struct out_piece *last = &o->pieces[o->npieces - 1];
    if (last->ext || last->len < n || last->off + last->len != o->copy.wpos)
        return false;
    if (memcmp(o->copy.data + o->copy.wpos - n, p, n) != 0)
        return false;
    last->len -= n;
    o->copy.wpos -= n;
    o->pending -= n;
    if (last->len == 0)
        o->npieces--;
    return true;
}

bool out_copy(struct out *o, const void *p, size_t n)
{
    char *dst = out_reserve(o, n);
    if (!dst)
        return false;
    mem_copy(dst, p, n);
    out_commit(o, n);
    return true;
}

bool out_ref(struct out *o, const void *p, size_t n, uint32_t pin)
{
    struct out_piece *pc = _push(o);
    if (!pc) {
        o->oom = true;
        return false;
    }
    *pc = (struct out_piece){p, 0, n, pin};
    o->pending += n;
    return true;
}

void out_tail(const struct out *o, size_t n, void (*fn)(void *arg, const char *p, size_t len),
              void *arg)
{
    size_t skip = n < o->pending ? o->pending - n : 0;
    for (uint32_t i = o->first; i < o->npieces; i++) {
        const struct out_piece *p = &o->pieces[i];
        const char *base = p->ext ? p->ext : o->copy.data + p->off;
        if (skip >= p->len) {
            skip -= p->len;
            continue;
        }
        fn(arg, base + skip, p->len - skip);
        skip = 0;
    }
}

ssize_t out_write(struct out *o, int fd)
{
    struct iovec iov[OUT_IOV];
    int n = 0;
    for (uint32_t i = o->first; i < o->npieces && n < OUT_IOV; i++, n++) {
        const struct out_piece *p = &o->pieces[i];
        iov[n].iov_base = (void *)(p->ext ? p->ext : o->copy.data + p->off);
        iov[n].iov_len = p->len;
    }
    if (n == 0)
        return 0;
    /* send/sendmsg rather than write/writev: the socket calls skip the VFS
     * layer (fsnotify, file position lock), measurable per request */
    ssize_t w;
    if (n == 1) {
        w = send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
    } else {
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        w = sendmsg(fd, &msg, MSG_NOSIGNAL);
    }
    if (w <= 0)
        return w < 0 ? -1 : 0;
    size_t left = (size_t)w;
    o->pending -= left;
    while (left && o->first < o->npieces) {
        struct out_piece *p = &o->pieces[o->first];
        if (left < p->len) {
            if (p->ext)
                p->ext += left;
            else
                p->off += left;
            p->len -= left;
            break;
        }
        left -= p->len;
        if (p->pin != OUT_NO_PIN && o->unpin)
            o->unpin(o->unpin_arg, p->pin);
        o->first++;
    }
    if (o->first == o->npieces) {
        o->first = o->npieces = 0;
        buf_release(&o->copy); /* idle connections hold no buffers */
        _pieces_release(o);
    }
    return w;
}
