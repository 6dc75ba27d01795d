/* fuzz_tls: the TLS record path (conn over transport_tls, a build with
 * TLS=1) with libFuzzer. A connection accepted as a -Z listener's is driven
 * by the real epoll loop over a socketpair; its peer, in the same loop, is
 *
 *  - mode "records" (first byte even): a real TLS client (OpenSSL over
 *    memory BIOs) that sends the rest of the input as application data in
 *    writes of fuzzed sizes (so records of every size, requests cut across
 *    records) and cuts the encrypted stream into socket writes of fuzzed
 *    sizes (records cut anywhere, several in one write); with the second
 *    byte's low bit set, one byte of the encrypted stream after the
 *    handshake is flipped (a record that fails its check mid-stream);
 *  - mode "raw" (first byte odd): the input's bytes as they are, as a
 *    hostile client's handshake (garbage, truncated and malformed records).
 *
 * The client ends with close_notify (records mode) and a half-close; the
 * run ends when memg closes its side. Checked after each run: the
 * connection is gone, no segment is pinned, the store agrees with stats,
 * no leak (LeakSanitizer), no hang (5 s). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conn/conn.h"
#include "conn/tls.h"
#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/stats.h"
#include "ops/ops.h"
#include "process/config.h"
#include "proto/protocol.h"
#include "store/store.h"
#include "conn_harness.h"

#define T0 1700000000

struct peer {
    int fd;
    const uint8_t *in;
    size_t len, sent;  /* application bytes (records) or raw bytes given to the socket */
    uint64_t rng;
    bool raw;
    SSL *ssl;          /* records mode: the client, over two memory BIOs */
    BIO *from_srv, *to_srv;
    size_t flip_at;    /* records mode: encrypted byte to flip (SIZE_MAX: none) */
    size_t enc_sent;   /* encrypted bytes written to the socket */
    bool closed_tls;   /* close_notify queued */
    bool shut;         /* SHUT_WR done */
    bool eof;          /* memg closed its side */
    struct conn_shared *sh; /* the server's connections: the idle sweep runs at random */
};

static SSL_CTX *client_ctx;
static struct stats tls_counts; /* the server's TLS counters (tls_setup's) */

static size_t _piece(struct peer *p, size_t left)
{
    uint64_t r = harness_next(&p->rng);
    size_t cap = (r & 3) == 0 ? 1 + (r >> 8) % 8 : (r & 3) == 1 ? 1 + (r >> 8) % 600
                 : (r & 3) == 2 ? 1 + (r >> 8) % 20000 : left;
    return left < cap ? left : cap;
}

/* Records mode: feed the client what memg sent, let it write, then put
 * (part of) its output on the socket. */
static void _records(struct peer *p)
{
    char buf[1 << 14];
    int n;
    while ((n = SSL_read(p->ssl, buf, sizeof(buf))) > 0)
        ; /* replies: read and dropped */
    while (p->sent < p->len) {
        size_t k = _piece(p, p->len - p->sent);
        n = SSL_write(p->ssl, p->in + p->sent, (int)k);
        if (n <= 0)
            break; /* the handshake is not done yet, or the client failed */
        p->sent += (size_t)n;
    }
    if (p->sent == p->len && !p->closed_tls && SSL_is_init_finished(p->ssl)) {
        SSL_shutdown(p->ssl);
        p->closed_tls = true;
    }
    char *q;
    long pending = BIO_get_mem_data(p->to_srv, &q);
    if (pending > 0) {
        size_t k = _piece(p, (size_t)pending);
        if (p->flip_at >= p->enc_sent && p->flip_at < p->enc_sent + k)
            q[p->flip_at - p->enc_sent] ^= 0x20;
        ssize_t w = write(p->fd, q, k);
        if (w > 0) {
            p->enc_sent += (size_t)w;
            char sink[1 << 14];
            for (size_t left = (size_t)w; left;) {
                int r = BIO_read(p->to_srv, sink, left < sizeof(sink) ? (int)left : (int)sizeof(sink));
                CHECK(r > 0);
                left -= (size_t)r;
            }
        } else if (errno != EAGAIN && errno != EINTR) {
            p->closed_tls = true, p->sent = p->len; /* memg hung up */
            BIO_reset(p->to_srv);
        }
    }
}

static void _peer_event(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct peer *p = arg;
    if ((p->rng >> 40 & 7) == 0) /* OpenSSL's buffers freed between any two events */
        conn_sweep_tls(p->sh, ev_now_ms(loop), UINT64_MAX, 0);
    if (events & EV_READ) {
        char buf[1 << 16];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            if (!p->raw)
                BIO_write(p->from_srv, buf, (int)n);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            p->eof = true;
            ev_stop(loop);
            return;
        }
    }
    if (p->shut)
        return;
    if (p->raw) {
        if (p->sent < p->len) {
            ssize_t w = write(fd, p->in + p->sent, _piece(p, p->len - p->sent));
            if (w > 0)
                p->sent += (size_t)w;
            else if (errno != EAGAIN && errno != EINTR)
                p->sent = p->len;
        }
    } else {
        _records(p);
    }
    bool done = p->raw ? p->sent == p->len
                       : p->closed_tls && BIO_ctrl_pending(p->to_srv) == 0;
    if (done) {
        shutdown(fd, SHUT_WR);
        p->shut = true;
        ev_mod(loop, fd, EV_READ, _peer_event, p);
    }
}

/* A self-signed ECDSA certificate for 127.0.0.1, in files for tls_setup. */
static void _certificate(const char *crt, const char *key)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    CHECK(pk && x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    CHECK(X509_sign(x, pk, EVP_sha256()) > 0);
    FILE *f = fopen(crt, "w");
    CHECK(f && PEM_write_X509(f, x) == 1);
    fclose(f);
    f = fopen(key, "w");
    CHECK(f && PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pk);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    static char dir[] = "/tmp/memg-fuzz-tls-XXXXXX";
    CHECK(mkdtemp(dir));
    static char crt[64], key[64];
    snprintf(crt, sizeof(crt), "%s/c.pem", dir);
    snprintf(key, sizeof(key), "%s/k.pem", dir);
    _certificate(crt, key);
    static struct config cfg; /* tls_setup keeps the settings */
    config_defaults(&cfg);
    cfg.tls.enabled = true;
    cfg.tls.chain_cert = crt;
    cfg.tls.key = key;
    cfg.tls.session_cache = true;
    char err[512];
    if (!tls_setup(&cfg.tls, &tls_counts, err, sizeof(err))) {
        fprintf(stderr, "fuzz_tls: %s\n", err);
        abort();
    }
    unlink(crt);
    unlink(key);
    rmdir(dir);
    client_ctx = SSL_CTX_new(TLS_client_method());
    CHECK(client_ctx);
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_mode(client_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t blocks[] = {64, 1024, 16384};
    uint64_t rng = harness_fnv(data, size);
    uint64_t r = harness_next(&rng);
    buf_pool_setup(blocks[r % 3], 8);
    struct config cfg;
    config_defaults(&cfg);
    cfg.mem_limit = 2u << 20;
    struct stats stats;
    memset(&stats, 0, sizeof(stats));
    struct store_config scfg = {.mem_limit = cfg.mem_limit, .item_size_max = cfg.item_size_max,
                                .evict = true};
    struct store *st = store_create(&scfg, &stats);
    CHECK(st);
    store_set_time(st, T0);
    struct ev_loop *loop = ev_create(64);
    CHECK(loop);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    struct ops_ctx ctx = {.store = st, .stats = &stats, .cfg = &cfg, .started = T0};
    struct conn_shared sh = {.loop = loop, .ops = &ctx, .stats = &stats, .proto = &auto_protocol,
                             .out_limit = (r >> 4 & 1) ? (1u << 20) : 1024,
                             .max_line = 2u << 20, .reqs_per_event = 20};
    struct transport *tp = tls_transport_new(sv[0], -1);
    CHECK(tp);
    struct conn *c = conn_open(&sh, sv[0], false, sh.proto, tp);
    CHECK(c);
    stats.curr_connections++;

    struct peer p = {.fd = sv[1], .rng = rng, .flip_at = SIZE_MAX, .sh = &sh};
    p.raw = size > 0 && (data[0] & 1);
    p.in = size > 0 ? data + 1 : data;
    p.len = size > 0 ? size - 1 : 0;
    if (!p.raw) {
        p.ssl = SSL_new(client_ctx);
        p.from_srv = BIO_new(BIO_s_mem());
        p.to_srv = BIO_new(BIO_s_mem());
        CHECK(p.ssl && p.from_srv && p.to_srv);
        SSL_set_bio(p.ssl, p.from_srv, p.to_srv);
        SSL_set_connect_state(p.ssl);
        if (size > 1 && (data[1] & 1)) /* past the first flight: inside the records */
            p.flip_at = 600 + (size_t)(r >> 8) % (p.len + 200);
    }
    CHECK(ev_add(loop, sv[1], EV_READ | EV_WRITE, _peer_event, &p) == 0);
    ev_set_timer(loop, 5000, harness_hang, NULL);
    CHECK(ev_run(loop) == 0);

    CHECK(p.eof);
    harness_check_after(&sh, &stats, st);

    SSL_free(p.ssl); /* frees the BIOs */
    close(sv[1]);
    ev_destroy(loop);
    store_destroy(st);
    buf_pool_teardown();
    return 0;
}
