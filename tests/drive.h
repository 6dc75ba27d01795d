/* Drive a protocol (protocol.h) over bytes without a socket, as conn does:
 * feed what the buffer would hold, deliver what FEED_RECEIVE asks for. */
#ifndef MEMG_TEST_DRIVE_H
#define MEMG_TEST_DRIVE_H

#include <stdlib.h>
#include <string.h>

#include "process/config.h"
#include "ops/ops.h"
#include "lib/out.h"
#include "proto/protocol.h"
#include "lib/stats.h"
#include "store/store.h"

#define DRIVE_CAP 16384 /* the read buffer's block */

/* Feeds s->proto (p when unset). Returns the bytes consumed; *last is the
 * status that stopped it (FEED_AGAIN when all input was used). */
static inline size_t drive(const struct protocol *p, struct session *s, struct ops_ctx *ctx,
                           const char *in, size_t len, struct out *out, enum feed_status *last)
{
    size_t pos = 0;
    bool receiving = false;
    *last = FEED_AGAIN;
    if (!s->proto)
        s->proto = p; /* then s->proto, as conn: auto_protocol hands over */
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
            if (s->proto->received(s, ctx, out) == FEED_QUIT) {
                *last = FEED_QUIT;
                break;
            }
            continue;
        }
        size_t used = 0, avail = len - pos < DRIVE_CAP ? len - pos : DRIVE_CAP;
        enum feed_status st = s->proto->feed(s, ctx, in + pos, avail, DRIVE_CAP, &used, out);
        pos += used;
        if (st == FEED_AGAIN)
            break;
        if (st == FEED_CLOSE || st == FEED_QUIT || st == FEED_MORE) { /* MORE: out must drain */
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

/* What a protocol test drives: an 8 MB store at a fixed clock, the ops
 * context, one session and its output. */
struct drive_env {
    struct config cfg;
    struct stats stats;
    struct store *store;
    struct ops_ctx ctx;
    struct session ses;
    struct out out;
    enum feed_status last;
};

static inline void drive_unpin(void *arg, uint32_t pin)
{
    store_unpin(arg, pin);
}

/* False when the store cannot be made. */
static inline bool drive_env_init(struct drive_env *e, const struct protocol *proto)
{
    memset(e, 0, sizeof(*e));
    config_defaults(&e->cfg);
    e->cfg.mem_limit = 8u << 20;
    struct store_config sc = {.mem_limit = e->cfg.mem_limit, .item_size_max = e->cfg.item_size_max,
                              .evict = true};
    if (!(e->store = store_create(&sc, &e->stats)))
        return false;
    store_set_time(e->store, 1700000000);
    e->ctx = (struct ops_ctx){.store = e->store, .stats = &e->stats, .cfg = &e->cfg,
                              .started = 1700000000};
    e->ses.proto = proto;
    out_init(&e->out, drive_unpin, e->store);
    return true;
}

static inline void drive_env_free(struct drive_env *e)
{
    out_reset(&e->out);
    store_destroy(e->store);
}

/* cmocka fixtures whose struct starts with a struct drive_env. */
static inline int drive_fixture_setup(void **state, size_t size, const struct protocol *proto)
{
    struct drive_env *e = calloc(1, size);
    if (!e || !drive_env_init(e, proto)) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

static inline int drive_fixture_teardown(void **state)
{
    drive_env_free(*state);
    free(*state);
    return 0;
}

#endif
