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
 * status that stopped it (FEED_AGAIN when all input was used). A value
 * still owed (s->recv_left) is delivered first: the next call goes on. */
static inline size_t drive(const struct protocol *p, struct session *s, struct ops_ctx *ctx,
                           const char *in, size_t len, struct out *out, enum feed_status *last)
{
    size_t pos = 0;
    bool receiving = s->recv_left > 0;
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

/* in[0..len) through a fresh environment of proto (tuned by init when not
 * NULL) in reads that end before each cut[0..ncut) (increasing), as conn
 * reads: what a feed leaves unconsumed stays at the head of the next read.
 * The replies go to reply (room for cap bytes, NUL-terminated). Returns
 * their length, (size_t)-1 when they do not fit or no store can be made. */
static inline size_t drive_pieces(const struct protocol *proto, void (*init)(struct drive_env *),
                                  const char *in, size_t len, const size_t *cut, size_t ncut,
                                  char *reply, size_t cap)
{
    struct drive_env *e = malloc(sizeof(*e));
    char *held = malloc(len + 1);
    size_t got = (size_t)-1;
    if (!e || !held || !drive_env_init(e, proto))
        goto out;
    if (init)
        init(e);
    size_t nheld = 0, from = 0;
    for (size_t i = 0; i <= ncut; i++) {
        size_t to = i < ncut ? cut[i] : len;
        memcpy(held + nheld, in + from, to - from);
        nheld += to - from;
        from = to;
        size_t used = drive(proto, &e->ses, &e->ctx, held, nheld, &e->out, &e->last);
        memmove(held, held + used, nheld - used);
        nheld -= used;
        if (e->last != FEED_AGAIN)
            break;
    }
    if (out_pending(&e->out) < cap)
        got = drive_collect(&e->out, reply);
    if (e->ses.txn_open)
        store_abort(e->store, &e->ses.txn);
    if (e->ses.proto->closed)
        e->ses.proto->closed(&e->ses);
    drive_env_free(e);
out:
    free(held);
    free(e);
    return got;
}

/* -1 when in's replies are the same bytes fed whole, in two reads split at
 * every byte, and one byte a read; else the first cut that changes them
 * (len: one byte a read; 0: no reply at all could be had). The replies fed
 * whole are left in reply (room for cap bytes). */
static inline long drive_split_check(const struct protocol *proto,
                                     void (*init)(struct drive_env *), const char *in, size_t len,
                                     char *reply, size_t cap)
{
    char *part = malloc(cap);
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));
    long bad = 0;
    size_t nw = part && cuts ? drive_pieces(proto, init, in, len, NULL, 0, reply, cap) : (size_t)-1;
    if (nw != (size_t)-1)
        bad = -1;
    for (size_t c = 1; bad < 0 && c <= len; c++) {
        size_t ncut = 1;
        cuts[0] = c;
        if (c == len) { /* then every byte its own read */
            for (ncut = 0; ncut + 1 < len; ncut++)
                cuts[ncut] = ncut + 1;
        }
        size_t np = drive_pieces(proto, init, in, len, cuts, ncut, part, cap);
        if (np != nw || memcmp(part, reply, nw) != 0)
            bad = (long)c;
    }
    free(cuts);
    free(part);
    return bad;
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
