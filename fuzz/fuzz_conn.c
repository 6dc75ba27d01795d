/* fuzz_conn: one connection's byte stream through the real conn, protocol
 * (text, meta, binary or HTTP), ops and store code (libFuzzer). The input
 * is what a client sends; it goes over a socketpair into conn_open()'s
 * connection, driven by the real epoll loop. The client side lives in the
 * same loop: it writes the input in pieces, reads every reply, and
 * half-closes when all is sent; the run ends when memg closes its side.
 *
 * The first 4 input bytes say how the rest is delivered (fuzz/cuts.h):
 *   [0] bits 0-1  the protocol: 0 by the input's hash (-B auto, or -S
 *                 binary, or -Y text), 1 HTTP, 2 -B ascii, 3 -B binary
 *       bits 2-3  the pieces: 0 sizes drawn from the hash (all at once,
 *                 1..16 or 1..3000 bytes), 1 the sizes of bytes 2 and 3 in
 *                 turn, 2 cut at the boundaries of the kinds in byte 1,
 *                 3 both (a piece ends at whichever comes first)
 *       bit 4     time passes between pieces (no differential then)
 *   [1] the boundary kinds to cut at (CUT_*)
 *   [2] [3] piece sizes: b < 192 is b + 1 bytes, else (b - 191) * 256
 * In modes 1-3 the client writes a piece only once memg has read the last
 * one, so every piece is a read of its own.
 *
 * Knobs drawn from the hash of the rest (so both runs below share them):
 * the read-buffer block (64 B .. 16 KB: small blocks send even small values
 * down the read-into-item path and grow the buffer for long lines), the
 * output limit (back-pressure on or off), -I, -A, whether the 2 MB store is
 * filled first (every set then evicts), and the login required.
 *
 * The differential: unless time passes, the same stream is then sent
 * whole to a fresh server, and both runs must answer byte for byte alike
 * and end alike (a protocol hang-up at the same request: memcached too
 * drops the replies of the batch it hangs up in, so there one reply stream
 * need only be a prefix of the other). Streams whose answers may rightly
 * depend on the cuts are not compared (cuts.h; -Y's coalesced login
 * replies). And every feed that waits for more (FEED_AGAIN) consumes
 * nothing: the request's head stays in the buffer.
 *
 * Checked after each run: the connection is gone (count and
 * curr_connections back to 0), no segment is still pinned, the store's
 * item count agrees with stats, no leak (LeakSanitizer), no hang (5 s
 * without a byte moved). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/buf.h"
#include "proto/auth.h"
#include "process/config.h"
#include "conn/conn.h"
#include "cuts.h"
#include "lib/ev.h"
#include "proto/http/http.h"
#include "lib/log.h"
#include "ops/ops.h"
#include "lib/out.h"
#include "proto/protocol.h"
#include "lib/stats.h"
#include "store/store.h"
/* Internal on purpose: the pin counts are the one leak LeakSanitizer cannot see. */
#include "store/seg.h"

#define CHECK(c)                                                                             \
    do {                                                                                     \
        if (!(c)) {                                                                          \
            fprintf(stderr, "fuzz_conn: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#define T0 1700000000 /* the store's clock at the start of every run */
#define HDR 4         /* the delivery bytes before the stream */
#define KEEP (1u << 20) /* reply bytes kept to compare as a prefix */

enum { P_HASH, P_HTTP, P_TEXT, P_BIN };
enum { C_HASH, C_SIZES, C_BOUNDS, C_BOTH };

struct plan {
    unsigned proto, cuts, kinds;
    bool clock;
    size_t size[2];
    uint8_t *at; /* at[i]: a piece ends before byte i */
};

/* How a run ended, seen from the protocol. */
enum { END_EOF, END_QUIT, END_CLOSE };

struct result {
    uint64_t hash; /* of every reply byte */
    size_t nout;
    char *keep;    /* the first KEEP reply bytes */
    int end;
    uint64_t close_at; /* stream offset of the request memg hung up on */
};

struct client {
    struct ev_loop *loop;
    int fd, srv;
    const uint8_t *in;
    size_t len, sent;
    uint64_t rng;
    int mode;         /* C_HASH's piece sizes: 0 all at once, 1 tiny, 2 medium */
    const struct plan *pl; /* NULL: all at once */
    unsigned npiece;
    bool shut;        /* SHUT_WR done */
    bool eof;         /* memg closed its side */
    struct result *res;
    struct store *store;
    int64_t now;
    uint64_t moved;   /* bytes sent, received and consumed at the last look */
};

static uint64_t _next(uint64_t *s)
{
    uint64_t x = *s += 0x9e3779b97f4a7c15ull; /* splitmix64 */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t _fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* --- the protocol, watched: conn's feeds pass through here ----------------------- */

static struct {
    const struct protocol *inner; /* auto_protocol until it hands over */
    uint64_t pos;                 /* stream bytes consumed or asked for */
    int end;
    uint64_t close_at;
} W;

static struct protocol watched;

static enum feed_status _w_feed(struct session *s, struct ops_ctx *ops, const char *buf,
                                size_t len, size_t cap, size_t *used, struct out *out)
{
    s->proto = W.inner;
    enum feed_status st = W.inner->feed(s, ops, buf, len, cap, used, out);
    W.inner = s->proto;
    s->proto = &watched;
    CHECK(*used <= len);
    CHECK(st != FEED_AGAIN || *used == 0); /* the head stays for the next read */
    W.pos += *used;
    if (st == FEED_RECEIVE)
        W.pos += s->recv_left;
    if (st == FEED_CLOSE && W.end != END_CLOSE) {
        W.end = END_CLOSE;
        W.close_at = W.pos;
    } else if (st == FEED_QUIT && W.end == END_EOF) {
        W.end = END_QUIT;
    }
    return st;
}

static enum feed_status _w_received(struct session *s, struct ops_ctx *ops, struct out *out)
{
    s->proto = W.inner;
    enum feed_status st = W.inner->received(s, ops, out);
    s->proto = &watched;
    if (st == FEED_QUIT && W.end == END_EOF)
        W.end = END_QUIT;
    return st;
}

static void _w_prefetch(struct ops_ctx *ops, const char *buf, size_t len)
{
    if (W.inner->prefetch)
        W.inner->prefetch(ops, buf, len);
}

static void _w_closed(struct session *s)
{
    if (W.inner->closed)
        W.inner->closed(s);
}

/* --- the client ------------------------------------------------------------------ */

static size_t _size(uint8_t b)
{
    return b < 192 ? (size_t)b + 1 : (size_t)(b - 191) * 256;
}

/* The next piece's length; 0 while memg has not read the last one. */
static size_t _piece(struct client *cl, uint64_t r)
{
    size_t left = cl->len - cl->sent;
    if (!cl->pl)
        return left;
    if (cl->pl->cuts == C_HASH) {
        if (cl->mode == 1)
            return left < 1 + r % 16 ? left : 1 + r % 16;
        if (cl->mode == 2)
            return left < 1 + r % 3000 ? left : 1 + r % 3000;
        return left;
    }
    int queued = 0;
    if (ioctl(cl->srv, FIONREAD, &queued) == 0 && queued > 0)
        return 0;
    size_t piece = left;
    if (cl->pl->cuts != C_BOUNDS) {
        size_t s = cl->pl->size[cl->npiece & 1];
        piece = s < piece ? s : piece;
    }
    if (cl->pl->cuts != C_SIZES) {
        size_t i = cl->sent + 1;
        while (i < cl->len && !cl->pl->at[i])
            i++;
        piece = i - cl->sent < piece ? i - cl->sent : piece;
    }
    return piece;
}

static void _client_event(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct client *cl = arg;
    if (events & EV_READ) {
        static char sink[1 << 16];
        ssize_t n = read(fd, sink, sizeof(sink));
        if (n > 0) {
            struct result *res = cl->res;
            res->hash = _fnv(res->hash, (const uint8_t *)sink, (size_t)n);
            if (res->nout < KEEP) {
                size_t k = KEEP - res->nout < (size_t)n ? KEEP - res->nout : (size_t)n;
                memcpy(res->keep + res->nout, sink, k);
            }
            res->nout += (size_t)n;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            cl->eof = true;
            ev_stop(loop);
            return;
        }
    }
    if ((events & EV_WRITE) && !cl->shut) {
        uint64_t r = _next(&cl->rng);
        size_t piece = _piece(cl, r);
        if (piece) {
            ssize_t n = write(fd, cl->in + cl->sent, piece);
            if (n > 0) {
                cl->sent += (size_t)n;
                cl->npiece += (size_t)n == piece;
            } else if (errno != EAGAIN && errno != EINTR) { /* memg hung up first */
                cl->sent = cl->len;
            }
        }
        /* Time passes a little between pieces: expiry paths get exercised. */
        if (cl->pl && cl->pl->clock && r % 8 == 0) {
            cl->now += (int64_t)(r >> 60);
            store_set_time(cl->store, cl->now);
            store_tick(cl->store);
        }
        if (cl->sent == cl->len) {
            shutdown(fd, SHUT_WR);
            cl->shut = true;
            ev_mod(loop, fd, EV_READ, _client_event, cl);
        }
    }
}

/* Every 5 s: a run that moved no byte since the last look is hung (a slow
 * one, many pieces on a loaded machine, is not). */
static void _hang(struct ev_loop *loop, void *arg)
{
    (void)loop;
    struct client *cl = arg;
    uint64_t moved = cl->sent + cl->res->nout + W.pos;
    if (moved == cl->moved) {
        fprintf(stderr, "fuzz_conn: the connection moved no byte for 5 s\n");
        abort();
    }
    cl->moved = moved;
}

/* Every ms after the client saw memg's end: stop once the lingering
 * connection closed (the client's end reached it), abort after 5 s. */
static void _closed_check(struct ev_loop *loop, void *arg)
{
    static unsigned ticks;
    struct conn_shared *sh = arg;
    if (sh->count == 0) {
        ticks = 0;
        ev_stop(loop);
    } else if (++ticks > 5000) {
        fprintf(stderr, "fuzz_conn: a lingering connection never closed\n");
        abort();
    }
}

static struct conn_shared *conns_sh;
static void _conns(void *arg, stats_emit_fn *emit, void *emit_arg)
{
    (void)arg;
    conn_list_stats(conns_sh, NULL, 0, 0, emit, emit_arg); /* no listeners */
}

static struct auth *users; /* "fuzz:pw", loaded once */
static bool verbose;       /* FUZZ_CONN_VERBOSE set: a line per run */

/* Fill the store past its limit so that every later allocation evicts. */
static void _prefill(struct store *st, uint64_t seed)
{
    static char val[3000];
    memset(val, 'p', sizeof(val));
    for (unsigned i = 0; i < 1500; i++) {
        char key[32];
        int nk = snprintf(key, sizeof(key), "pre:%u", i);
        size_t nv = 200 + (size_t)((seed + i * 2654435761u) % 2700);
        struct store_txn txn;
        if (store_reserve(st, key, (size_t)nk, i, 0, nv, &txn) != STORE_OK)
            continue;
        memcpy(txn.value, val, nv);
        store_commit(st, &txn, STORE_SET, 0);
    }
}

/* The -Y/-S choice drawn from the hash: 1 binary login, 2 text login. */
static unsigned _login(uint64_t r, const struct plan *pl)
{
    return pl->proto == P_HASH ? (unsigned)(r >> 13 & 7) : 0;
}

static const struct protocol *_protocol(uint64_t r, const struct plan *pl)
{
    static const struct protocol *const fixed[] = {NULL, &http_protocol, &text_protocol,
                                                   &bin_protocol};
    unsigned login = _login(r, pl);
    if (pl->proto != P_HASH)
        return fixed[pl->proto];
    return login == 1 ? &bin_protocol : login == 2 ? &text_protocol : &auto_protocol;
}

/* One connection from open to close; pl NULL sends the stream whole. */
static void _run(const uint8_t *in, size_t n, const struct plan *pl, const struct plan *knobs,
                 struct result *res)
{
    static const size_t blocks[] = {64, 256, 1024, 16384};
    uint64_t h = _fnv(0xcbf29ce484222325ull, in, n);
    uint64_t rng = h;
    uint64_t r = _next(&rng);

    log_level = 0; /* a "verbosity" of the last input is not this one's */
    buf_pool_setup(blocks[r & 3], 8);
    struct config cfg;
    config_defaults(&cfg);
    cfg.mem_limit = 2u << 20;
    cfg.item_size_max = (r >> 2 & 1) ? 1u << 20 : 8192; /* small -I: "too large" is reachable */
    cfg.enable_shutdown = (r >> 3 & 1) != 0;
    struct stats stats;
    memset(&stats, 0, sizeof(stats));
    struct store_config scfg = {.mem_limit = cfg.mem_limit, .item_size_max = cfg.item_size_max,
                                .evict = (r >> 4 & 7) != 0, .large_pages = (r >> 12 & 1) != 0};
    struct store *st = store_create(&scfg, &stats);
    CHECK(st);
    store_set_time(st, T0);
    if ((r >> 7 & 3) == 0)
        _prefill(st, h);

    struct ev_loop *loop = ev_create(64);
    CHECK(loop);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);

    unsigned login = _login(r, knobs);
    cfg.sasl = login == 1;
    struct ops_ctx ctx = {.store = st, .stats = &stats, .cfg = &cfg, .verbose = 0,
                          .auth = login == 1 || login == 2 ? users : NULL,
                          .started = T0, .conns = _conns, .conns_arg = NULL};
    struct conn_shared sh = {.loop = loop, .ops = &ctx, .stats = &stats,
                             .proto = _protocol(r, knobs),
                             .out_limit = (r >> 9 & 1) ? (1u << 20) : 1024,
                             .max_line = 2u << 20};
    conns_sh = &sh;
    W.inner = sh.proto;
    W.pos = 0;
    W.end = END_EOF;
    W.close_at = 0;
    watched = (struct protocol){sh.proto->name, _w_feed, _w_received, _w_prefetch, _w_closed};
    struct conn *c = conn_open(&sh, sv[0], false, &watched, NULL);
    CHECK(c);
    stats.curr_connections++;
    stats.total_connections++;

    struct client cl = {.loop = loop, .fd = sv[1], .srv = sv[0], .in = in, .len = n,
                        .rng = rng, .mode = (int)(r >> 10 & 3) % 3, .pl = pl, .res = res,
                        .store = st, .now = T0};
    if (n == 0) {
        shutdown(sv[1], SHUT_WR);
        cl.shut = true;
    }
    CHECK(ev_add(loop, sv[1], cl.shut ? EV_READ : EV_READ | EV_WRITE, _client_event, &cl) == 0);
    ev_set_timer(loop, 5000, _hang, &cl);
    CHECK(ev_run(loop) == 0);
    if (sh.count) { /* memg shut its side and lingers until the client's end */
        if (!cl.shut)
            shutdown(sv[1], SHUT_WR);
        ev_del(loop, sv[1]);
        ev_set_timer(loop, 1, _closed_check, &sh);
        CHECK(ev_run(loop) == 0);
    }
    res->end = W.end;
    res->close_at = W.close_at;
    if (verbose)
        fprintf(stderr, "fuzz_conn: %s: %zu bytes in %u pieces, %zu reply bytes, end %d\n",
                pl ? "cut" : "whole", n, cl.npiece, res->nout, res->end);

    /* memg closed the connection (EOF seen by the client). */
    CHECK(cl.eof);
    CHECK(sh.count == 0 && sh.head == NULL);
    CHECK(stats.curr_connections == 0);
    for (uint32_t i = 1; i < st->hiwater; i++)
        CHECK(st->segs[i].pins == 0);
    struct store_usage u;
    store_usage(st, &u);
    CHECK(u.items == stats.curr_items);
    CHECK(u.segments_used <= u.segments_max); /* -m holds */

    close(sv[1]);
    ev_destroy(loop);
    store_destroy(st);
    buf_pool_teardown();
}

/* Where two reply streams part, for the report. */
static void _report(const struct result *a, const struct result *b)
{
    size_t n = a->nout < b->nout ? a->nout : b->nout, i = 0;
    n = n < KEEP ? n : KEEP;
    while (i < n && a->keep[i] == b->keep[i])
        i++;
    size_t from = i > 40 ? i - 40 : 0;
    fprintf(stderr, "fuzz_conn: cut run: %zu bytes, end %d at %llu; whole: %zu bytes, end %d at %llu;"
            " they part at byte %zu\n  cut:   \"", a->nout, a->end,
            (unsigned long long)a->close_at, b->nout, b->end, (unsigned long long)b->close_at, i);
    for (size_t k = from; k < a->nout && k < KEEP && k < i + 80; k++)
        fprintf(stderr, a->keep[k] >= 32 && a->keep[k] < 127 ? "%c" : "\\x%02x",
                (unsigned char)a->keep[k]);
    fprintf(stderr, "\"\n  whole: \"");
    for (size_t k = from; k < b->nout && k < KEEP && k < i + 80; k++)
        fprintf(stderr, b->keep[k] >= 32 && b->keep[k] < 127 ? "%c" : "\\x%02x",
                (unsigned char)b->keep[k]);
    fprintf(stderr, "\"\n");
}

static void _compare(const struct result *cut, const struct result *whole)
{
    bool same;
    if (cut->end == END_CLOSE || whole->end == END_CLOSE) {
        size_t n = cut->nout < whole->nout ? cut->nout : whole->nout;
        same = cut->end == whole->end && cut->close_at == whole->close_at &&
               memcmp(cut->keep, whole->keep, n < KEEP ? n : KEEP) == 0;
    } else {
        same = cut->end == whole->end && cut->nout == whole->nout && cut->hash == whole->hash;
    }
    if (!same)
        _report(cut, whole);
    CHECK(same);
}

static uint8_t *at;
static struct result runs[2];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    users = auth_parse("fuzz:pw\n", 8);
    CHECK(users);
    verbose = getenv("FUZZ_CONN_VERBOSE") != NULL;
    for (int i = 0; i < 2; i++) {
        runs[i].keep = malloc(KEEP);
        CHECK(runs[i].keep);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HDR)
        return 0;
    struct plan pl = {.proto = data[0] & 3, .cuts = data[0] >> 2 & 3, .kinds = data[1],
                      .clock = (data[0] & 16) != 0, .size = {_size(data[2]), _size(data[3])}};
    const uint8_t *in = data + HDR;
    size_t n = size - HDR;
    at = realloc(at, n + 1);
    CHECK(at);
    memset(at, 0, n + 1);
    pl.at = at;
    uint64_t r = _fnv(0xcbf29ce484222325ull, in, n), rng = r;
    r = _next(&rng);
    const struct protocol *p = _protocol(r, &pl);
    enum cut_wire w = p == &http_protocol ? CUT_HTTP
                      : p == &bin_protocol || (p == &auto_protocol && n && in[0] == 0x80)
                          ? CUT_BIN
                          : CUT_TEXT;
    bool comparable = cuts_mark(w, in, n, pl.kinds, at) && !pl.clock && _login(r, &pl) != 2;
    for (int i = 0; i < 2; i++)
        runs[i] = (struct result){.keep = runs[i].keep};
    _run(in, n, &pl, &pl, &runs[0]);
    if (comparable) {
        _run(in, n, NULL, &pl, &runs[1]);
        _compare(&runs[0], &runs[1]);
    }
    return 0;
}
