/* Drive a protocol (protocol.h) over bytes without a socket, as conn does:
 * feed what the buffer would hold, deliver what FEED_RECEIVE asks for. */
#ifndef MEMG_TEST_DRIVE_H
#define MEMG_TEST_DRIVE_H

#include <string.h>

#include "ops.h"
#include "out.h"
#include "protocol.h"

#define DRIVE_CAP 16384 /* the read buffer's block */

/* Returns the bytes consumed; *last is the status that stopped it
 * (FEED_AGAIN when all input was used). */
static inline size_t drive(const struct protocol *p, struct session *s, struct ops_ctx *ctx,
                           const char *in, size_t len, struct out *out, enum feed_status *last)
{
    size_t pos = 0;
    bool receiving = false;
    *last = FEED_AGAIN;
    while (pos < len || (receiving && s->recv_left == 0)) {
        if (receiving) {
            size_t n = len - pos < s->recv_left ? len - pos : (size_t)s->recv_left;
            if (s->recv_dst) {
                memcpy(s->recv_dst, in + pos, n);
                s->recv_dst += n;
            }
            pos += n;
            s->recv_left -= n;
            if (s->recv_left)
                break;
            receiving = false;
            p->received(s, ctx, out);
            continue;
        }
        size_t used = 0, avail = len - pos < DRIVE_CAP ? len - pos : DRIVE_CAP;
        enum feed_status st = p->feed(s, ctx, in + pos, avail, DRIVE_CAP, &used, out);
        pos += used;
        if (st == FEED_AGAIN)
            break;
        if (st == FEED_CLOSE || st == FEED_QUIT) {
            *last = st;
            break;
        }
        if (st == FEED_RECEIVE)
            receiving = true;
    }
    return pos;
}

/* Everything queued in out, copied to dst (NUL-terminated); out is reset. */
static inline size_t drive_collect(struct out *out, char *dst)
{
    size_t got = 0;
    for (uint32_t i = out->first; i < out->npieces; i++) {
        const struct out_piece *pc = &out->pieces[i];
        memcpy(dst + got, pc->ext ? pc->ext : out->copy.data + pc->off, pc->len);
        got += pc->len;
    }
    dst[got] = '\0';
    out_reset(out);
    return got;
}

#endif
