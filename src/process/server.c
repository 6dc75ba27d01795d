/* server: listeners, accept within the connection limit, signals and the
 * periodic upkeep timer. Connections themselves live in conn.c. */
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn/conn.h"
#include "conn/tls.h"
#include "conn/transport.h"
#include "lib/ev.h"
#include "lib/fmt.h"
#include "proto/http/http.h"
#include "lib/log.h"
#include "lib/net.h"
#include "listen.h"
#include "notify.h"
#include "ops/ops.h"
#include "ops/prefix.h"
#include "proto/protocol.h"
#include "lib/stats.h"
#include "store/store.h"

#define TICK_MS 100
#define ACCEPT_BACKOFF_MS 100 /* after EMFILE: let connections close first */
#define DRAIN_MS 5000         /* on shutdown, how long pending output may take */
#define HANDSHAKE_MS 5000     /* a TLS handshake not done by then is closed */
#define LINGER_MS 2000        /* a lingering connection (conn.c _linger) is closed by then */
#define TLS_IDLE_MS 1000      /* a TLS connection idle this long gives its buffers back */
#define MAX_LISTENERS (CONFIG_MAX_LISTEN * 4 + 1) /* memcached's and HTTP's */

struct listener {
    int fd;
    bool is_unix;
    bool tls;                     /* -Z, unless -l notls:... */
    int verify;                   /* -l btls: 0, mtls: 2, else -1 (ssl_verify_mode) */
    const struct protocol *proto; /* NULL: -B's */
};

struct server {
    const struct config *cfg;
    struct ev_loop *loop;
    struct stats *stats;
    struct store *store;
    struct ops_ctx ops;
    struct conn_shared sh;
    struct listener ls[MAX_LISTENERS];
    int nls;
    int sigfd;
    int port;
    int http_port;
    bool accept_paused;
    bool full; /* paused at -c under no_maxconns_fast: resumes when one closes */
    bool stopping;
    bool graceful; /* SIGUSR1 or `shutdown graceful`: -e saves */
    uint64_t resume_ms;
    uint64_t paused_ms; /* when accepting was paused */
    uint64_t stop_deadline_ms;
    uint64_t last_idle_sweep_ms;
};

static const char too_many[] = "ERROR Too many open connections\r\n";

static void _on_accept(struct ev_loop *loop, int fd, unsigned events, void *arg);

static void _listeners_enable(struct server *srv, bool on)
{
    for (int i = 0; i < srv->nls; i++) {
        if (!on) {
            ev_del(srv->loop, srv->ls[i].fd);
        } else if (ev_add(srv->loop, srv->ls[i].fd, EV_READ, _on_accept, srv) < 0) {
            while (i--) /* epoll refused: all off, try again after a pause */
                ev_del(srv->loop, srv->ls[i].fd);
            srv->accept_paused = true;
            srv->resume_ms = ev_now_ms(srv->loop) + ACCEPT_BACKOFF_MS;
            if (log_level)
                log_line("failed to watch the listening sockets: retrying");
            return;
        }
    }
}

static void _accept_one(struct server *srv, int fd, const struct listener *l)
{
    struct stats *s = srv->stats;
    if (srv->sh.count >= (uint32_t)srv->cfg->max_conns) {
        ssize_t w = write(fd, too_many, sizeof(too_many) - 1); /* memcached's answer */
        (void)w;
        close(fd);
        s->rejected_connections++;
        return;
    }
    struct transport *tp = l->tls ? tls_transport_new(fd, l->verify) : NULL;
    if ((l->tls && !tp) ||
        !conn_open(&srv->sh, fd, l->is_unix, l->proto ? l->proto : srv->sh.proto, tp)) {
        transport_free(tp);
        close(fd);
        return;
    }
    s->curr_connections++;
    s->total_connections++;
    if (s->curr_connections > s->connection_structures)
        s->connection_structures = s->curr_connections;
}

/* Stop accepting for a while: the kernel's backlog holds new clients. */
static void _pause_accept(struct server *srv, uint64_t ms, bool full)
{
    uint64_t now = ev_now_ms(srv->loop);
    _listeners_enable(srv, false);
    srv->accept_paused = true;
    srv->full = full;
    srv->resume_ms = now + ms;
    srv->paused_ms = now;
    srv->stats->listen_disabled_num++;
    srv->stats->listen_disabled = 1;
}

static void _on_accept(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct server *srv = arg;
    (void)loop;
    (void)events;
    const struct listener *l = srv->ls;
    for (int i = 0; i < srv->nls; i++)
        if (srv->ls[i].fd == fd)
            l = &srv->ls[i];
    for (int n = 0; n < 256; n++) { /* bounded: other clients wait too */
        if (!srv->cfg->maxconns_fast && srv->sh.count >= (uint32_t)srv->cfg->max_conns) {
            if (n == 0) /* one waits: memcached's accept_new_conns(false) */
                _pause_accept(srv, 0, true);
            break;      /* else the next readiness says whether one waits */
        }
        int cfd = net_accept(fd);
        if (cfd >= 0) {
            _accept_one(srv, cfd, l);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            _pause_accept(srv, ACCEPT_BACKOFF_MS, false); /* back off instead of spinning */
            if (log_level)
                log_line("Too many open connections");
        }
        break;
    }
}

static void _begin_stop(struct server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    notify_systemd("STOPPING=1");
    for (int i = 0; i < srv->nls; i++) { /* stop accepting at once */
        if (!srv->accept_paused)
            ev_del(srv->loop, srv->ls[i].fd);
        close(srv->ls[i].fd);
        if (srv->ls[i].is_unix && srv->cfg->unix_socket)
            unlink(srv->cfg->unix_socket);
    }
    srv->nls = 0;
    srv->stop_deadline_ms = ev_now_ms(srv->loop) + DRAIN_MS;
    if (!conn_drain_all(&srv->sh))
        ev_stop(srv->loop);
}

static void _on_signal(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct signalfd_siginfo si;
    (void)loop;
    (void)events;
    struct server *srv = arg;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        srv->graceful |= si.ssi_signo == SIGUSR1;
    _begin_stop(srv);
}

static void _on_tick(struct ev_loop *loop, void *arg)
{
    struct server *srv = arg;
    uint64_t now = ev_now_ms(loop);
    store_set_time(srv->store, (int64_t)time(NULL));
    store_tick(srv->store);
    ops_crawl_tick(&srv->ops, TICK_MS);
    if (srv->ops.shutdown) {
        srv->graceful |= srv->ops.shutdown > 1;
        _begin_stop(srv);
    }
    if (srv->stopping) {
        if (!conn_drain_all(&srv->sh) || now >= srv->stop_deadline_ms)
            ev_stop(loop);
        return;
    }
    if (srv->accept_paused && now >= srv->resume_ms &&
        (!srv->full || srv->sh.count < (uint32_t)srv->cfg->max_conns)) {
        srv->accept_paused = false;
        srv->stats->listen_disabled = 0;
        srv->stats->time_in_listen_disabled_us += (now - srv->paused_ms) * 1000u;
        _listeners_enable(srv, true);
    }
    if (now - srv->last_idle_sweep_ms >= 1000) { /* the sweeps: once a second */
        srv->last_idle_sweep_ms = now;
        if (srv->sh.lingering)
            conn_sweep_linger(&srv->sh, now, LINGER_MS);
        if (srv->cfg->tls.enabled)
            conn_sweep_tls(&srv->sh, now, HANDSHAKE_MS, TLS_IDLE_MS);
        if (srv->cfg->idle_timeout > 0)
            conn_sweep_idle(&srv->sh, now, (uint64_t)srv->cfg->idle_timeout * 1000u);
    }
}

static void _conns_stats(void *arg, stats_emit_fn *emit, void *emit_arg)
{
    struct server *srv = arg;
    int lfds[MAX_LISTENERS];
    for (int i = 0; i < srv->nls; i++)
        lfds[i] = srv->ls[i].fd;
    int64_t secs = store_time(srv->store) - srv->ops.started;
    conn_list_stats(&srv->sh, lfds, srv->nls, secs > 0 ? (uint64_t)secs : 0, emit, emit_arg);
}

/* -o sock_cookie_id: the socket's SO_MARK (accepted sockets inherit it),
 * for firewall rules; a failure (it needs CAP_NET_ADMIN) is said, not fatal,
 * as memcached's perror. */
static void _mark(int fd, uint32_t id)
{
    if (id && setsockopt(fd, SOL_SOCKET, SO_MARK, &id, sizeof(id)) != 0)
        fmt_fd(STDERR_FILENO, "setsockopt: %s\n", strerror(errno));
}

/* TCP listeners on every -l address (127.0.0.1 without -l) for one
 * protocol; port 0 binds any free port, the same on every address.
 * Returns the port bound, or -1 with err naming the address and port. */
static int _tcp_listeners(struct server *srv, int port, const struct protocol *proto,
                          const char *what, char *err, size_t errlen)
{
    const struct config *cfg = srv->cfg;
    int nhosts = cfg->nlisten ? cfg->nlisten : 1;
    for (int i = 0; i < nhosts; i++) {
        struct listen_spec ls;
        if (!listen_spec_parse(cfg->nlisten ? cfg->listen[i] : "127.0.0.1", port, &ls, err,
                               errlen))
            return -1;
        int want = proto == &http_protocol ? port : ls.port; /* HTTP: its own port */
        int fds[4];
        char nerr[NET_ERR_LEN] = "";
        int room = MAX_LISTENERS - srv->nls < 4 ? MAX_LISTENERS - srv->nls : 4;
        int n = net_tcp_listen(ls.host, want, cfg->backlog, fds, room, nerr);
        if (n < 0) { /* memcached's words, with the address */
            fmt_buf(err, errlen, "failed to listen on %s port %d of %s: %s", what, want,
                    ls.host[0] ? ls.host : "*", nerr);
            return -1;
        }
        for (int j = 0; j < n; j++) {
            _mark(fds[j], cfg->sock_cookie_id);
            srv->ls[srv->nls++] =
                (struct listener){fds[j], false, cfg->tls.enabled && !ls.notls, ls.verify, proto};
        }
        if (port == 0 && want == 0) /* -p 0: every address shares the port first bound */
            port = net_local_port(fds[0]);
    }
    return port;
}

static bool _open_listeners(struct server *srv, char *err, size_t errlen)
{
    const struct config *cfg = srv->cfg;
    srv->http_port = -1;
    if (cfg->http_port >= 0 && (srv->http_port = _tcp_listeners(srv, cfg->http_port,
                                                                &http_protocol, "HTTP", err,
                                                                errlen)) < 0)
        return false;
    if (cfg->unix_socket) { /* memcached: a unix socket replaces TCP */
        char nerr[NET_ERR_LEN] = "";
        int fd = net_unix_listen(cfg->unix_socket, cfg->unix_mask, cfg->backlog, nerr);
        if (fd < 0) {
            fmt_buf(err, errlen, "failed to listen on UNIX socket %s: %s", cfg->unix_socket,
                    nerr);
            return false;
        }
        srv->ls[srv->nls++] = (struct listener){fd, true, false, -1, NULL}; /* plain, as memcached's */
        return true;
    }
    return (srv->port = _tcp_listeners(srv, cfg->port, NULL, "TCP", err, errlen)) >= 0;
}

struct server *server_create(const struct config *cfg, struct store *store, struct stats *stats,
                             const struct auth *auth, char *err, size_t errlen)
{
    struct server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        fmt_buf(err, errlen, "out of memory");
        return NULL;
    }
    srv->cfg = cfg;
    srv->store = store;
    srv->stats = stats;
    srv->sigfd = -1;
    srv->loop = ev_create(1024);
    if (cfg->tls.enabled && !tls_setup(&cfg->tls, stats, err, errlen)) {
        server_destroy(srv);
        return NULL;
    }
    if (!srv->loop || !_open_listeners(srv, err, errlen)) {
        if (!srv->loop)
            fmt_buf(err, errlen, "epoll: %s", strerror(errno));
        server_destroy(srv);
        return NULL;
    }
    srv->ops = (struct ops_ctx){
        .store = store, .stats = stats, .cfg = cfg, .auth = auth, .verbose = cfg->verbose,
        .started = (int64_t)time(NULL), .conns = _conns_stats, .conns_arg = srv,
        .watch = conn_watch, .detail = cfg->detail_enabled, .crawler = cfg->crawler,
        .crawler_sleep = cfg->crawler_sleep, .crawler_tocrawl = cfg->crawler_tocrawl,
        .refresh_certs = tls_compiled ? tls_refresh_certs : NULL, .cert_time = tls_cert_time,
    };
    store_sweep_enable(store, cfg->crawler);
    store_on_evict(store, ops_observe_evicted, &srv->ops); /* `watch evictions` */
    if (cfg->detail_enabled)
        srv->ops.prefixes = prefix_create(cfg->prefix_delimiter);
    log_level = cfg->verbose;
    log_setup(stats);
    log_watch_buf = cfg->watcher_logbuf;
    srv->sh = (struct conn_shared){
        .loop = srv->loop, .ops = &srv->ops, .stats = stats,
        .proto = cfg->protocol == CONFIG_PROTO_ASCII    ? &text_protocol
                 : cfg->protocol == CONFIG_PROTO_BINARY ? &bin_protocol
                                                        : &auto_protocol,
        .out_limit = cfg->out_limit ? (size_t)cfg->out_limit : (1u << 20),
        .max_line = 2u << 20,
        .reqs_per_event = cfg->reqs_per_event > 0 ? (uint32_t)cfg->reqs_per_event : 20,
    };
    return srv;
}

int server_port(const struct server *srv) { return srv->port; }

int server_http_port(const struct server *srv) { return srv->http_port; }

bool server_graceful(const struct server *srv) { return srv->graceful; }

int server_run(struct server *srv)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGUSR1); /* memcached's graceful stop */
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN); /* a peer that went away is an EPIPE, not a death */
    srv->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (srv->sigfd < 0 || ev_add(srv->loop, srv->sigfd, EV_READ, _on_signal, srv) < 0) {
        fmt_fd(2, "memg: cannot watch for signals: %s\n", strerror(errno));
        return 1; /* SIGTERM would be lost: no half-started server */
    }
    _listeners_enable(srv, true);
    for (int i = 0; log_level > 1 && i < srv->nls; i++) {
        const struct protocol *p = srv->ls[i].proto ? srv->ls[i].proto : srv->sh.proto;
        log_line("<%d server listening (%s)", srv->ls[i].fd,
                 p == &auto_protocol ? "auto-negotiate" : p->name);
    }
    store_set_time(srv->store, (int64_t)time(NULL));
    ev_set_timer(srv->loop, TICK_MS, _on_tick, srv);
    notify_systemd("READY=1"); /* after the signals are ours: a SIGTERM now stops cleanly */
    int rc = ev_run(srv->loop);
    conn_close_all(&srv->sh);
    return rc < 0 ? 1 : 0;
}

void server_destroy(struct server *srv)
{
    if (!srv)
        return;
    conn_close_all(&srv->sh);
    for (int i = 0; i < srv->nls; i++) {
        close(srv->ls[i].fd);
        if (srv->ls[i].is_unix && srv->cfg->unix_socket)
            unlink(srv->cfg->unix_socket);
    }
    if (srv->sigfd >= 0)
        close(srv->sigfd);
    ev_destroy(srv->loop);
    tls_teardown();
    prefix_destroy(srv->ops.prefixes);
    free(srv);
}
