/* conn: one client connection's cycle: read -> protocol -> write, values
 * received straight into their items, back-pressure, close. */
#ifndef MEMG_CONN_H
#define MEMG_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/stats.h"

struct ev_loop;
struct ops_ctx;
struct protocol;

/* What every connection shares: set up by server, read by conn. */
struct conn_shared {
    struct ev_loop *loop;
    struct ops_ctx *ops;
    const struct protocol *proto; /* -B: the memcached listeners' */
    struct stats *stats;
    size_t out_limit;      /* pending output that pauses reading */
    size_t max_line;       /* longest request line (big multi-gets) */
    uint32_t reqs_per_event; /* -R: requests a connection runs before others get a turn */
    struct conn *head;     /* every open connection, newest first */
    struct conn *feeding;  /* whose request runs now (stats conns: conn_parse_cmd) */
    uint32_t count;
    uint32_t lingering;    /* closed for writing, their input dropped (conn_sweep_linger) */
};

/* A connection speaking proto (its listener's) through tp (NULL: the plain
 * socket; conn frees it). */
struct transport;
struct conn *conn_open(struct conn_shared *sh, int fd, bool is_unix, const struct protocol *proto,
                       struct transport *tp);
void conn_close(struct conn *c);
/* Close connections that have lingered at least linger_ms after their last
 * answer (sh->lingering > 0: the caller's once-a-second check). */
void conn_sweep_linger(struct conn_shared *sh, uint64_t now_ms, uint64_t linger_ms);
/* Close connections idle for at least idle_ms (idle_ms > 0). */
void conn_sweep_idle(struct conn_shared *sh, uint64_t now_ms, uint64_t idle_ms);
/* Close connections whose TLS handshake took limit_ms already (a client
 * that stalls it holds a connection and the library's buffers); free the
 * TLS buffers of connections without a request for idle_ms. */
void conn_sweep_tls(struct conn_shared *sh, uint64_t now_ms, uint64_t limit_ms,
                    uint64_t idle_ms);
/* Stop reading everywhere and report whether output is still pending
 * (used on shutdown: finish writing, then exit). */
bool conn_drain_all(struct conn_shared *sh);
void conn_close_all(struct conn_shared *sh);
/* `stats conns` lines for every connection and for the nl listening
 * sockets lfds (open lsecs seconds), by fd as memcached lists them. */
void conn_list_stats(struct conn_shared *sh, const int *lfds, int nl, uint64_t lsecs,
                     stats_emit_fn *emit, void *arg);
/* `watch`: the connection whose output this is becomes a watcher of mask's
 * kinds (log.h); what it sends from then on is ignored. */
struct out;
bool conn_watch(struct out *out, unsigned mask);
/* Size of the connection structure, for the benchmark's figure. */
size_t conn_struct_size(void);

#endif
