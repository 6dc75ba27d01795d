/* protocol: what conn asks of a wire protocol. conn owns the socket, the
 * buffers, back-pressure and closing; a protocol turns the bytes at the head
 * of the read buffer into operations (ops.h) and their answers into output.
 * A protocol is driven without a socket: feed it bytes, read its out. */
#ifndef MEMG_PROTOCOL_H
#define MEMG_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/item.h"

struct ops_ctx;
struct out;

enum feed_status {
    FEED_DONE,    /* a request was handled: *used bytes are consumed, feed again */
    FEED_AGAIN,   /* the request at the head is incomplete: wait for more bytes
                     (*used 0: all of it is fed again with the rest) */
    FEED_RECEIVE, /* *used consumed; deliver s->recv_left bytes at s->recv_dst
                     (NULL: discard them), then call received() */
    FEED_QUIT,    /* *used consumed; close once the replies are sent */
    FEED_MORE,    /* a reply in slices: nothing consumed; feed the same request
                     again after the other connections' turn (reading waits) */
    FEED_CLOSE,   /* close now (memcached hangs up here) */
};

/* One connection's protocol state; conn keeps it, protocols fill it. */
struct session {
    const struct protocol *proto; /* auto_protocol hands over at the first byte */
    char *recv_dst;               /* FEED_RECEIVE: where the bytes go, NULL to discard */
    uint64_t recv_left;           /* bytes still to deliver */
    struct store_txn txn;         /* the value being received into its item */
    union {                       /* one pending request: never both (8 bytes of a conn
                                     keep it in its malloc size class) */
        uint64_t cas;             /* of the pending request */
        char *held;               /* text: a meta set's line while its value arrives (heap) */
        struct store_cursor *dump; /* text: a metadump's walk between slices (heap) */
    };
    uint32_t opaque;              /* binary: echoed in the reply */
    uint8_t op;                   /* the pending request, in the protocol's own code */
    uint8_t bits;                 /* the protocol's own flags (noreply, quiet, ...) */
    bool txn_open;                /* txn holds a reserved item: abort it on close */
    bool authed;                  /* logged in (when ops->auth asks for it) */
};

/* session.bits: a request's line is in, its value is still coming (stats
 * conns shows conn_nread, as memcached); the protocols' own bits stay below. */
#define SESSION_AWAITING_VALUE 0x80u

struct protocol {
    const char *name;
    /* Handle at most one request at the head of buf[0..len). cap is the most
     * the read buffer can hold: a request that cannot fit must be received
     * (FEED_RECEIVE) rather than waited for. */
    enum feed_status (*feed)(struct session *s, struct ops_ctx *ops, const char *buf, size_t len,
                             size_t cap, size_t *used, struct out *out);
    /* The bytes asked for by FEED_RECEIVE have all been delivered: FEED_DONE,
     * or FEED_QUIT to close once the replies are sent. */
    enum feed_status (*received)(struct session *s, struct ops_ctx *ops, struct out *out);
    /* Optional: fresh bytes arrived; start loading what the lookups among
     * the requests in buf will touch (a hint: nothing is consumed). */
    void (*prefetch)(struct ops_ctx *ops, const char *buf, size_t len);
    /* Optional: the connection closes; free what the session holds. */
    void (*closed)(struct session *s);
};

extern const struct protocol text_protocol; /* text.c */
extern const struct protocol bin_protocol;  /* bin.c */
extern const struct protocol auto_protocol; /* negotiate.c: -B auto */

/* The largest client flags a storage command, ms F or HTTP ?flags= takes:
 * UINT32_MAX, or UINT64_MAX under -o large_client_flags (memcached's build
 * with 64-bit flags). Set once at start (proto/client_flags.c). */
extern uint64_t proto_flags_max;

#endif
