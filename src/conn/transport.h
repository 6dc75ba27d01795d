/* transport: how a connection's bytes cross its socket. A plain socket is
 * the NULL transport (recv, send and sendmsg inline, no indirect call on the
 * hot path); TLS (transport_tls.c, built with TLS=1) is a table of the same
 * calls. conn uses only these; the protocols and ops never see them. */
#ifndef MEMG_TRANSPORT_H
#define MEMG_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

struct transport;

struct transport_vt {
    /* As recv(2): bytes read, 0 at the peer's end, -1 with errno (EAGAIN:
     * nothing yet; any other: close the connection). */
    ssize_t (*recv)(struct transport *t, int fd, void *buf, size_t n);
    /* As sendmsg(2) over iov: bytes taken, -1 with errno (EAGAIN: full). */
    ssize_t (*writev)(struct transport *t, int fd, const struct iovec *iov, int n);
    /* Work that does not wait for the socket: input already read from it
     * (decrypted or not), or a read that must be retried when it can write. */
    bool (*pending)(const struct transport *t);
    /* Still in the handshake (a connection the sweep may time out). */
    bool (*handshaking)(const struct transport *t);
    /* The connection has been idle a while: free buffers kept for speed. */
    void (*idle)(struct transport *t);
    void (*free)(struct transport *t);
};

struct transport {
    const struct transport_vt *vt;
};

static inline ssize_t transport_recv(struct transport *t, int fd, void *buf, size_t n)
{
    if (t)
        return t->vt->recv(t, fd, buf, n);
    return recv(fd, buf, n, 0); /* recv: no VFS layer */
}

static inline ssize_t transport_writev(struct transport *t, int fd, const struct iovec *iov, int n)
{
    if (t)
        return t->vt->writev(t, fd, iov, n);
    /* send/sendmsg rather than write/writev: the socket calls skip the VFS
     * layer (fsnotify, file position lock), measurable per request */
    if (n == 1)
        return send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

static inline bool transport_pending(const struct transport *t)
{
    return t && t->vt->pending(t);
}

static inline bool transport_handshaking(const struct transport *t)
{
    return t && t->vt->handshaking(t);
}

static inline void transport_idle(struct transport *t)
{
    if (t)
        t->vt->idle(t);
}

static inline void transport_free(struct transport *t)
{
    if (t)
        t->vt->free(t);
}

#endif
