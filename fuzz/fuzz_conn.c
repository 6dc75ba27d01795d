/* fuzz_conn: one connection's byte stream through the real conn, protocol
 * (text or binary, chosen by the first byte as -B auto does), ops and store
 * code (libFuzzer). The input is what a client sends; it goes over a
 * socketpair into conn_open()'s connection, driven by the real epoll loop.
 * The client side lives in the same loop: it writes the input in pieces,
 * reads every reply, and half-closes when all is sent; the run ends when
 * memg closes its side.
 *
 * Knobs drawn from the input's hash (so a crash reproduces from the file):
 * the read-buffer block (64 B .. 16 KB: small blocks send even small values
 * down the read-into-item path and grow the buffer for long lines), the
 * output limit (back-pressure on or off), the write piece sizes, and
 * whether the 2 MB store is filled first (every set then evicts), and
 * whether a login is required (-S for binary, -Y for text; the user is
 * "fuzz" with password "pw").
 *
 * Checked after each run: the connection is gone (count and
 * curr_connections back to 0), no segment is still pinned, the store's
 * item count agrees with stats, no leak (LeakSanitizer), no hang (5 s). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/buf.h"
#include "proto/auth.h"
#include "process/config.h"
#include "conn/conn.h"
#include "lib/ev.h"
#include "ops/ops.h"
#include "lib/out.h"
#include "proto/protocol.h"
#include "lib/stats.h"
#include "store/store.h"
#include "conn_harness.h"

#define T0 1700000000 /* the store's clock at the start of every run */

struct client {
    struct ev_loop *loop;
    int fd;
    const uint8_t *in;
    size_t len, sent;
    uint64_t rng;
    int mode;         /* piece sizes: 0 all at once, 1 tiny, 2 medium */
    bool shut;        /* SHUT_WR done */
    bool eof;         /* memg closed its side */
    size_t received;
    struct store *store;
    int64_t now;
};

static void _client_event(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct client *cl = arg;
    if (events & EV_READ) {
        static char sink[1 << 16];
        ssize_t n = read(fd, sink, sizeof(sink));
        if (n > 0) {
            cl->received += (size_t)n;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            cl->eof = true;
            ev_stop(loop);
            return;
        }
    }
    if ((events & EV_WRITE) && !cl->shut) {
        size_t piece = cl->len - cl->sent;
        uint64_t r = harness_next(&cl->rng);
        if (cl->mode == 1)
            piece = piece < 1 + r % 16 ? piece : 1 + r % 16;
        else if (cl->mode == 2)
            piece = piece < 1 + r % 3000 ? piece : 1 + r % 3000;
        if (piece) {
            ssize_t n = write(fd, cl->in + cl->sent, piece);
            if (n > 0)
                cl->sent += (size_t)n;
            else if (errno != EAGAIN && errno != EINTR) /* memg hung up first */
                cl->sent = cl->len;
        }
        /* Time passes a little between pieces: expiry paths get exercised. */
        if (r % 8 == 0) {
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

static struct conn_shared *conns_sh;
static void _conns(void *arg, stats_emit_fn *emit, void *emit_arg)
{
    (void)arg;
    conn_list_stats(conns_sh, emit, emit_arg);
}

static struct auth *users; /* "fuzz:pw", loaded once */

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

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    users = auth_parse("fuzz:pw\n", 8);
    CHECK(users);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t blocks[] = {64, 256, 1024, 16384};
    uint64_t h = harness_fnv(data, size);
    uint64_t rng = h;
    uint64_t r = harness_next(&rng);

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

    unsigned login = (unsigned)(r >> 13 & 7); /* 1: -S (binary), 2: -Y (text), else none */
    cfg.sasl = login == 1;
    struct ops_ctx ctx = {.store = st, .stats = &stats, .cfg = &cfg, .verbose = 0,
                          .auth = login == 1 || login == 2 ? users : NULL,
                          .started = T0, .conns = _conns, .conns_arg = NULL};
    struct conn_shared sh = {.loop = loop, .ops = &ctx, .stats = &stats,
                             .proto = login == 1   ? &bin_protocol
                                      : login == 2 ? &text_protocol
                                                   : &auto_protocol,
                             .out_limit = (r >> 9 & 1) ? (1u << 20) : 1024,
                             .max_line = 2u << 20};
    conns_sh = &sh;
    struct conn *c = conn_open(&sh, sv[0], false, sh.proto, NULL);
    CHECK(c);
    stats.curr_connections++;
    stats.total_connections++;

    struct client cl = {.loop = loop, .fd = sv[1], .in = data, .len = size, .rng = rng,
                        .mode = (int)(r >> 10 & 3) % 3, .store = st, .now = T0};
    if (size == 0) {
        shutdown(sv[1], SHUT_WR);
        cl.shut = true;
    }
    CHECK(ev_add(loop, sv[1], cl.shut ? EV_READ : EV_READ | EV_WRITE, _client_event, &cl) == 0);
    ev_set_timer(loop, 5000, harness_hang, NULL);
    CHECK(ev_run(loop) == 0);

    /* memg closed the connection (EOF seen by the client). */
    CHECK(cl.eof);
    harness_check_after(&sh, &stats, st);

    close(sv[1]);
    ev_destroy(loop);
    store_destroy(st);
    buf_pool_teardown();
    return 0;
}
