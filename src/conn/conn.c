/* conn: one connection over the epoll loop. Bytes read into rbuf are fed to
 * the connection's protocol (protocol.h) one request at a time; when the
 * protocol asks for N bytes somewhere (a value into its item, or discarded),
 * conn delivers them, from rbuf first and then straight from the socket.
 * Output is written after each batch; past out_limit reading pauses. A
 * half-closed connection is answered in full before it is closed. */
#include "conn.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/ev.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "ops/ops.h"
#include "lib/out.h"
#include "proto/protocol.h"
#include "lib/stats.h"
#include "store/store.h"
#include "transport.h"

/* Unread bytes at most that wait outside a pool block between events: a
 * request line and a small value. */
#define RBUF_PARK_MAX 2048

/* What a read into rbuf takes after a value too long for rbuf: a request
 * line (a set's is at most ~300 bytes) and the first bytes of its value.
 * The rest of a long value then comes straight into its item, and no more
 * of it goes through rbuf to be copied: a first write to an item's page
 * from user space costs far more than the kernel's (row L: a 16 KB copy
 * took 20-40 us, receiving the other 500 KB about 50). */
#define RBUF_LINE_READ 512

struct conn {
    struct conn_shared *sh;
    struct conn *prev, *next;
    struct transport *tp; /* NULL: the plain socket */
    int fd;           /* beside the one-byte fields: no padding between them */
    bool receiving;   /* delivering the bytes a FEED_RECEIVE asked for */
    bool is_unix;
    bool paused;      /* EV_READ off: too much output pending */
    bool want_write;  /* EV_WRITE on */
    bool closing;     /* close once output is sent (quit) */
    bool blocked;     /* requests wait in rbuf until output drains */
    bool watching;    /* a `watch` stream: input is ignored */
    bool streaming;   /* FEED_MORE: a reply in slices, reading paused until its end */
    bool hup;         /* the client sends no more: what it sent runs, then the close */
    bool lingering;   /* answered and shut for writing: input dropped until the peer closes */
    bool line_read;   /* a long value came into its item: reads take RBUF_LINE_READ */
    uint8_t why;      /* CONN_WHY_*: for the conn_close event */
    uint64_t last_ms; /* last request, for idle_timeout and stats conns */
    struct session ses;
    struct buf rbuf;
    struct out out;
};
/* musl's malloc serves 236 bytes from a 240-byte slot and 237 from 288: per
 * idle connection that is bench F's "bytes per idle connection". */
_Static_assert(sizeof(void *) != 8 || sizeof(struct conn) <= 236, "struct conn outgrew its malloc slot");

static void _on_event(struct ev_loop *loop, int fd, unsigned events, void *arg);
static bool _set_events(struct conn *c);

/* Why a connection closed, as memcached's conn_close event says it. */
enum { CONN_WHY_ERROR, CONN_WHY_NORMAL, CONN_WHY_IDLE, CONN_WHY_SHUTDOWN };
static const char *const why_names[] = {"error", "normal", "idle_timeout", "shutdown"};

/* The peer as "rip=ADDR rport=PORT transport=tcp" (memcached's words). */
static void _peer(const struct conn *c, char *dst, size_t cap)
{
    char host[FMT_INET_LEN] = "";
    int port = 0;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (!c->is_unix && getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            fmt_inet(host, AF_INET, &((struct sockaddr_in *)&ss)->sin_addr);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            fmt_inet(host, AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    fmt_buf(dst, cap, "rip=%s rport=%d transport=%s", host, port, c->is_unix ? "local" : "tcp");
}

static void _log_open(const struct conn *c)
{
    const char *name = c->ses.proto->name;
    if (log_level > 1) {
        if (name[0] == 'a' && name[1] == 'u')
            log_line("<%d new auto-negotiating client connection", c->fd);
        else
            log_line("<%d new %s client connection.", c->fd, name);
    }
    if (log_watching & LOG_W_CONNEVENTS) {
        char peer[FMT_INET_LEN + 48];
        _peer(c, peer, sizeof(peer));
        log_event(LOG_W_CONNEVENTS, "type=conn_new %s cfd=%d", peer, c->fd);
    }
}

static void _log_close(const struct conn *c)
{
    if (log_level > 1)
        log_line("<%d connection closed.", c->fd);
    if (log_watching & LOG_W_CONNEVENTS) {
        char peer[FMT_INET_LEN + 48];
        _peer(c, peer, sizeof(peer));
        log_event(LOG_W_CONNEVENTS, "type=conn_close %s reason=%s cfd=%d", peer,
                  why_names[c->why], c->fd);
    }
}

/* A watcher's lines were queued: write them when the socket takes them. */
static void _wake(void *arg)
{
    struct conn *c = arg;
    if (!_set_events(c))
        c->closing = true; /* not here: log_event is walking the watchers */
}

bool conn_watch(struct out *out, unsigned mask)
{
    struct conn *c = (struct conn *)(void *)((char *)out - offsetof(struct conn, out));
    if (!log_watch(out, mask, _wake, c))
        return false;
    c->watching = true;
    return true;
}

size_t conn_struct_size(void) { return sizeof(struct conn); }

static void _unpin(void *arg, uint32_t pin)
{
    struct conn *c = arg;
    ops_unpin(c->sh->ops, pin);
}

struct conn *conn_open(struct conn_shared *sh, int fd, bool is_unix, const struct protocol *proto,
                       struct transport *tp)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->sh = sh;
    c->fd = fd;
    c->tp = tp;
    c->is_unix = is_unix;
    c->last_ms = ev_now_ms(sh->loop);
    c->ses.proto = proto;
    out_init(&c->out, _unpin, c);
    if (ev_add(sh->loop, fd, EV_READ, _on_event, c) < 0) {
        free(c);
        return NULL;
    }
    c->next = sh->head;
    if (sh->head)
        sh->head->prev = c;
    sh->head = c;
    sh->count++;
    if (log_level > 1 || log_watching)
        _log_open(c);
    return c;
}

void conn_close(struct conn *c)
{
    struct conn_shared *sh = c->sh;
    if (c->watching)
        log_unwatch(&c->out);
    if (log_level > 1 || log_watching)
        _log_close(c);
    if (c->ses.txn_open) /* a value cut off mid-way is never stored */
        ops_store_drop(sh->ops, &c->ses.txn);
    if (c->ses.proto->closed)
        c->ses.proto->closed(&c->ses);
    sh->lingering -= c->lingering;
    ev_del(sh->loop, c->fd);
    transport_free(c->tp);
    close(c->fd);
    out_reset(&c->out);
    buf_release(&c->rbuf);
    if (c->prev)
        c->prev->next = c->next;
    else
        sh->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    sh->count--;
    sh->stats->curr_connections--;
    free(c);
}

/* Tell the loop what this connection waits for, when that changed. False
 * when epoll refused (the connection cannot be served: close it). */
static bool _set_events(struct conn *c)
{
    bool paused = out_pending(&c->out) >= c->sh->out_limit || c->closing || c->streaming ||
                  c->hup;
    /* A writable socket also wakes a connection whose buffered requests
     * wait: that is how it yields to others and resumes next turn. */
    bool want_write = out_pending(&c->out) > 0 || c->blocked ||
                      (!paused && transport_pending(c->tp)); /* bytes the socket will not signal */
    if (paused == c->paused && want_write == c->want_write)
        return true;
    unsigned mask = (paused ? 0u : EV_READ) | (want_write ? EV_WRITE : 0u);
    if (ev_mod(c->sh->loop, c->fd, mask, _on_event, c) < 0) {
        if (log_level)
            log_line("%d: epoll_ctl failed: connection closed", c->fd);
        return false;
    }
    c->paused = paused;
    c->want_write = want_write;
    return true;
}

/* Deliver what the protocol asked for from rbuf; true once all is there. */
static bool _deliver(struct conn *c)
{
    struct session *s = &c->ses;
    size_t n = buf_len(&c->rbuf);
    if (n > s->recv_left)
        n = (size_t)s->recv_left;
    if (n) { /* rbuf may hold no buffer at all while a value is read directly */
        if (s->recv_dst) {
            mem_copy(s->recv_dst, buf_rptr(&c->rbuf), n);
            s->recv_dst += n;
        }
        buf_consume(&c->rbuf, n);
        s->recv_left -= n;
    }
    return s->recv_left == 0;
}

/* -vv and -vvv: the request, its reply, the state it leads to. */
static void _log_feed(struct conn *c, const char *p, size_t used, enum feed_status st,
                      size_t nreply)
{
    if (st == FEED_CLOSE)
        return;
    log_exchange(c->fd, c->ses.proto->name, p, used, &c->out, nreply);
    if (log_level > 2 && st == FEED_RECEIVE)
        log_line("%d: going from conn_parse_cmd to %s", c->fd,
                 c->ses.recv_dst ? "conn_nread" : "conn_swallow");
}

/* Returns false when the connection must be closed. */
static bool _process(struct conn *c)
{
    struct conn_shared *sh = c->sh;
    struct session *s = &c->ses;
    c->blocked = false;
    if (s->proto->prefetch && !c->receiving && buf_len(&c->rbuf))
        s->proto->prefetch(sh->ops, buf_rptr(&c->rbuf), buf_len(&c->rbuf));
    /* not rbuf.cap: a parked buffer is as small as what it holds */
    size_t cap = buf_capacity(&c->rbuf);
    for (uint32_t done = 0;;) {
        if (c->out.oom) /* a reply with a hole: hang up rather than desynchronise */
            return false;
        if (out_pending(&c->out) >= sh->out_limit) {
            c->blocked = buf_len(&c->rbuf) > 0 || (c->receiving && s->recv_dst);
            sh->stats->conn_yields += c->blocked; /* others run before its next request */
            break;
        }
        if (c->receiving) {
            if (!_deliver(c))
                break;
            c->receiving = false;
            if (s->proto->received(s, sh->ops, &c->out) == FEED_QUIT) {
                c->closing = true;
                break;
            }
            continue;
        }
        size_t avail = buf_len(&c->rbuf);
        if (avail == 0 || c->closing)
            break;
        if (c->watching) { /* memcached ignores what a watcher sends */
            buf_consume(&c->rbuf, avail);
            break;
        }
        const char *p = buf_rptr(&c->rbuf);
        size_t used = 0;
        size_t before = out_pending(&c->out);
        log_fd = c->fd;
        sh->feeding = c;
        enum feed_status st = s->proto->feed(s, sh->ops, p, avail, cap, &used, &c->out);
        sh->feeding = NULL;
        if (__builtin_expect(log_level > 1, 0) && used)
            _log_feed(c, p, used, st, out_pending(&c->out) - before);
        buf_consume(&c->rbuf, used);
        if (st == FEED_AGAIN)
            break;
        if (st == FEED_CLOSE)
            return false;
        c->last_ms = ev_now_ms(sh->loop);
        c->streaming = st == FEED_MORE;
        if (c->streaming) { /* one slice a turn; EV_WRITE brings the next */
            c->blocked = true;
            break;
        }
        if (++done >= sh->reqs_per_event && buf_len(&c->rbuf) && st == FEED_DONE) {
            c->blocked = true; /* -R: the rest after the others' turn (EV_WRITE wakes it) */
            sh->stats->conn_yields++;
            break;
        }
        if (st == FEED_RECEIVE) {
            c->receiving = true;
            /* the next request is likely long too: read its line alone */
            c->line_read = !c->tp && s->recv_dst && s->recv_left >= cap;
        }
        else if (st == FEED_QUIT) {
            c->closing = true;
            c->why = CONN_WHY_NORMAL;
            break;
        }
    }
    return !c->out.oom;
}

/* What a read may put into rbuf. */
static size_t _room(const struct conn *c)
{
    size_t room = buf_room(&c->rbuf);
    return c->line_read && room > RBUF_LINE_READ ? RBUF_LINE_READ : room;
}

/* A short read that came back full: more waits (a pipeline, a line longer
 * than RBUF_LINE_READ, a value that waits in rbuf): full reads again. Gets
 * between long sets keep short reads. */
static void _read_filled(struct conn *c, size_t got, size_t room)
{
    if (got == room)
        c->line_read = false;
}

/* Room to read into: the value's item, or rbuf (grown for long lines). */
static ssize_t _read(struct conn *c)
{
    struct session *s = &c->ses;
    if (c->receiving && s->recv_dst && buf_len(&c->rbuf) == 0 && s->recv_left) {
        if (!c->tp && buf_acquire(&c->rbuf)) {
            /* the rest of the value into its item and, in the same call,
             * what follows (its \r\n, the next request) into rbuf: a set of
             * a large value took one more recv, of 2 bytes (row L) */
            buf_compact(&c->rbuf);
            struct iovec iov[2] = {{s->recv_dst, (size_t)s->recv_left},
                                   {buf_wptr(&c->rbuf), _room(c)}};
            struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
            ssize_t n = recvmsg(c->fd, &m, 0);
            if (n > 0) {
                size_t v = (uint64_t)n < s->recv_left ? (size_t)n : (size_t)s->recv_left;
                s->recv_dst += v;
                s->recv_left -= v;
                c->rbuf.wpos += (size_t)n - v;
                _read_filled(c, (size_t)n - v, iov[1].iov_len);
            }
            return n;
        }
        ssize_t n = transport_recv(c->tp, c->fd, s->recv_dst, (size_t)s->recv_left);
        if (n > 0) {
            s->recv_dst += n;
            s->recv_left -= (uint64_t)n;
        }
        return n;
    }
    if (!buf_acquire(&c->rbuf)) {
        c->sh->stats->read_buf_oom++;
        return -1;
    }
    if (buf_room(&c->rbuf) == 0) {
        buf_compact(&c->rbuf);
        if (buf_room(&c->rbuf) == 0 && !buf_reserve(&c->rbuf, c->rbuf.cap, c->sh->max_line)) {
            errno = E2BIG; /* a line longer than any request may be */
            return -1;
        }
    }
    size_t room = _room(c);
    ssize_t n = transport_recv(c->tp, c->fd, buf_wptr(&c->rbuf), room);
    if (n > 0) {
        c->rbuf.wpos += (size_t)n;
        _read_filled(c, (size_t)n, room);
    }
    return n;
}

static bool _flush(struct conn *c)
{
    while (out_pending(&c->out)) {
        struct iovec iov[OUT_IOV];
        int n = out_iov(&c->out, iov, OUT_IOV);
        ssize_t w = transport_writev(c->tp, c->fd, iov, n);
        if (w > 0)
            out_sent(&c->out, (size_t)w);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (errno == EINTR)
                continue;
            return false;
        }
        if (w == 0)
            return true;
        c->sh->stats->bytes_written += (uint64_t)w;
    }
    return true;
}

/* The client half-closed: the requests it sent before still run and are
 * answered (memcached reads no EOF while it has requests buffered). A
 * value cut off by the EOF can never complete. */
static bool _eof(struct conn *c)
{
    if (c->receiving)
        return false;
    c->hup = true;
    return _process(c);
}

/* Read and execute. A value being received keeps reading until it is
 * complete or the socket is empty (its size bounds the work); requests
 * get one buffer per turn so that no client starves the others. */
static bool _read_and_process(struct conn *c, bool readable)
{
    for (int turn = 0; readable && !c->paused && turn < 256; turn++) {
        ssize_t n = _read(c);
        if (n == 0 && c->watching)
            return false;
        if (n == 0)
            return _eof(c);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            return false;
        }
        c->sh->stats->bytes_read += (uint64_t)n;
        if (!_process(c))
            return false;
        if (!(c->receiving && c->ses.recv_dst))
            return true;
    }
    return _process(c);
}

/* Closing while the peer may still be sending: bytes that met a closed
 * socket would bring the kernel's RST, and with it the loss of the answer
 * before the peer read it. So the write side shuts (the peer reads the
 * answer, then its end) and what still comes is dropped until the peer
 * closes, or conn_sweep_linger's deadline. TLS ends its own way. */
static bool _linger(struct conn *c)
{
    if (c->hup || c->tp || c->why == CONN_WHY_SHUTDOWN || shutdown(c->fd, SHUT_WR) != 0 ||
        ev_mod(c->sh->loop, c->fd, EV_READ, _on_event, c) < 0)
        return false;
    c->lingering = true;
    c->sh->lingering++;
    c->last_ms = ev_now_ms(c->sh->loop);
    buf_release(&c->rbuf);
    return true;
}

/* A lingering connection's input: dropped; false at the peer's end. */
static bool _drop_input(struct conn *c)
{
    char sink[4096];
    for (int i = 0; i < 16; i++) { /* at most 64 KB a turn: others' turns come first */
        ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return false;
        if (n < (ssize_t)sizeof(sink))
            break;
    }
    return true;
}

static void _on_event(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    struct conn *c = arg;
    (void)loop;
    (void)fd;
    if (c->lingering) {
        if (!_drop_input(c))
            conn_close(c);
        return;
    }
    bool ok = _read_and_process(c, (events & EV_READ) || transport_pending(c->tp)) && _flush(c);
    if (ok && c->hup && !c->blocked && !c->streaming)
        c->closing = true; /* all it sent has run: close once answered */
    if (ok && c->closing && out_pending(&c->out) == 0) {
        if (_linger(c))
            return;
        ok = false;
    }
    if (!ok) {
        conn_close(c);
        return;
    }
    if (buf_len(&c->rbuf) == 0)
        buf_release(&c->rbuf); /* idle connections hold no buffers */
    else
        buf_park(&c->rbuf, RBUF_PARK_MAX); /* nor do ones waiting for a request's end */
    if (!_set_events(c))
        conn_close(c);
}

void conn_sweep_linger(struct conn_shared *sh, uint64_t now_ms, uint64_t linger_ms)
{
    for (struct conn *c = sh->head, *next; c && sh->lingering; c = next) {
        next = c->next;
        if (c->lingering && now_ms - c->last_ms >= linger_ms)
            conn_close(c);
    }
}

void conn_sweep_idle(struct conn_shared *sh, uint64_t now_ms, uint64_t idle_ms)
{
    struct conn *c = sh->head;
    while (c) {
        struct conn *next = c->next;
        if (now_ms - c->last_ms >= idle_ms && out_pending(&c->out) == 0 && !c->watching) {
            c->why = CONN_WHY_IDLE;
            sh->stats->idle_kicks++;
            conn_close(c);
        }
        c = next;
    }
}

void conn_sweep_tls(struct conn_shared *sh, uint64_t now_ms, uint64_t limit_ms,
                    uint64_t idle_ms)
{
    for (struct conn *c = sh->head, *next; c; c = next) {
        next = c->next;
        if (now_ms - c->last_ms >= limit_ms && transport_handshaking(c->tp)) {
            if (log_level)
                log_line("%d: TLS handshake not done in %llu ms: closed", c->fd,
                         (unsigned long long)limit_ms);
            conn_close(c);
        } else if (now_ms - c->last_ms >= idle_ms) {
            transport_idle(c->tp);
        }
    }
}

bool conn_drain_all(struct conn_shared *sh)
{
    bool pending = false;
    struct conn *c = sh->head;
    while (c) {
        struct conn *next = c->next;
        c->why = CONN_WHY_SHUTDOWN;
        if (out_pending(&c->out) == 0) {
            conn_close(c);
        } else {
            c->closing = true;
            if (_set_events(c))
                pending = true;
            else
                conn_close(c);
        }
        c = next;
    }
    return pending;
}

void conn_close_all(struct conn_shared *sh)
{
    while (sh->head)
        conn_close(sh->head);
}

static const char *_state_name(const struct conn *c)
{
    if (c == c->sh->feeding) /* the one asking, as memcached names it */
        return "conn_parse_cmd";
    if (c->receiving)
        return c->ses.recv_dst ? "conn_nread" : "conn_swallow";
    if (c->ses.bits & SESSION_AWAITING_VALUE)
        return "conn_nread";
    if (out_pending(&c->out))
        return "conn_mwrite";
    return "conn_parse_cmd";
}

/* A socket's own (local) or peer address as memcached prints it:
 * tcp:HOST:PORT, tcp6:[HOST]:PORT, unix:PATH; false when it has none.
 * listener: the socket is a listening one (local too). */
static bool _sock_text(int fd, bool local, bool listener, char *dst, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    if ((local ? getsockname(fd, (struct sockaddr *)&ss, &len)
               : getpeername(fd, (struct sockaddr *)&ss, &len)) != 0)
        return false;
    char host[FMT_INET_LEN];
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        fmt_inet(host, AF_INET, &s4->sin_addr);
        fmt_buf(dst, cap, "tcp:%s:%d", host, ntohs(s4->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        fmt_inet(host, AF_INET6, &s6->sin6_addr);
        fmt_buf(dst, cap, "tcp6:[%s]:%d", host, ntohs(s6->sin6_port));
    } else if (ss.ss_family == AF_UNIX) {
        /* memcached reads a listener's own address into a sockaddr_in6: the
         * path it prints is cut to what fits there (26 bytes) */
        const struct sockaddr_un *su = (const struct sockaddr_un *)&ss;
        size_t max = listener ? sizeof(struct sockaddr_in6) - offsetof(struct sockaddr_un, sun_path)
                              : sizeof(su->sun_path);
        fmt_buf(dst, cap, "unix:%.*s", (int)strnlen(su->sun_path, max), su->sun_path);
    } else {
        return false;
    }
    return true;
}

static void _fd_line(int fd, const char *what, const char *value, stats_emit_fn *emit, void *arg)
{
    char name[40];
    fmt_buf(name, sizeof(name), "%d:%s", fd, what);
    stats_line(emit, arg, name, "%s", value);
}

/* A listening socket: its own address, conn_listening, and the time since
 * it was opened (memcached's listener never has a command). */
static void _listen_stats(int fd, uint64_t secs, stats_emit_fn *emit, void *arg)
{
    char addr[sizeof(((struct sockaddr_un *)0)->sun_path) + 16] = "unix";
    char secs_text[24];
    _sock_text(fd, true, true, addr, sizeof(addr));
    _fd_line(fd, "addr", addr, emit, arg);
    _fd_line(fd, "state", "conn_listening", emit, arg);
    fmt_buf(secs_text, sizeof(secs_text), "%llu", (unsigned long long)secs);
    _fd_line(fd, "secs_since_last_cmd", secs_text, emit, arg);
}

static void _conn_stats(const struct conn *c, uint64_t now, stats_emit_fn *emit, void *arg)
{
    /* a unix client has no peer address: memcached prints its empty one so */
    char addr[sizeof(((struct sockaddr_un *)0)->sun_path) + 16] = "?:<AF 0>";
    if (!c->is_unix)
        _sock_text(c->fd, false, false, addr, sizeof(addr));
    _fd_line(c->fd, "addr", addr, emit, arg);
    if (_sock_text(c->fd, true, false, addr, sizeof(addr))) /* the listener it came in on */
        _fd_line(c->fd, "listen_addr", addr, emit, arg);
    _fd_line(c->fd, "state", _state_name(c), emit, arg);
    char secs[24];
    fmt_buf(secs, sizeof(secs), "%llu", (unsigned long long)((now - c->last_ms) / 1000));
    _fd_line(c->fd, "secs_since_last_cmd", secs, emit, arg);
}

/* By fd, ascending, as memcached lists them (t/watcher_connid.t takes the
 * last line for the newest client's fd); in list order if out of memory. */
void conn_list_stats(struct conn_shared *sh, const int *lfds, int nl, uint64_t lsecs,
                     stats_emit_fn *emit, void *arg)
{
    uint64_t now = ev_now_ms(sh->loop);
    int maxfd = -1;
    for (struct conn *c = sh->head; c; c = c->next)
        maxfd = c->fd > maxfd ? c->fd : maxfd;
    for (int i = 0; i < nl; i++)
        maxfd = lfds[i] > maxfd ? lfds[i] : maxfd;
    /* by fd: a connection, or LISTENER for a listening socket */
    static const struct conn listener_mark;
    const struct conn *const LISTENER = &listener_mark;
    const struct conn **by_fd = maxfd >= 0 ? calloc((size_t)maxfd + 1, sizeof(*by_fd)) : NULL;
    if (!by_fd) {
        for (int i = 0; i < nl; i++)
            _listen_stats(lfds[i], lsecs, emit, arg);
        for (struct conn *c = sh->head; c; c = c->next)
            _conn_stats(c, now, emit, arg);
        return;
    }
    for (int i = 0; i < nl; i++)
        by_fd[lfds[i]] = LISTENER;
    for (struct conn *c = sh->head; c; c = c->next)
        by_fd[c->fd] = c;
    for (int fd = 0; fd <= maxfd; fd++) {
        if (by_fd[fd] == LISTENER)
            _listen_stats(fd, lsecs, emit, arg);
        else if (by_fd[fd])
            _conn_stats(by_fd[fd], now, emit, arg);
    }
    free(by_fd);
}
