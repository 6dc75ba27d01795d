/* stats: the server's counters and the text of the `stats` family of
 * replies. A leaf module: others increment fields, stats only prints. */
#ifndef MEMG_STATS_H
#define MEMG_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Field names are memcached's stat names. Each field has one row in
 * stats.c's table, which says whether it is a counter (zeroed by `stats
 * reset`) or a gauge, where `stats` prints it and its Prometheus name: the
 * `stats` reply, `stats reset`, /stats.json and /metrics all come from
 * that table (tests/test_stats.c checks every field has its row). */
struct stats {
    /* connections (conn) */
    uint64_t curr_connections;
    uint64_t total_connections;
    uint64_t rejected_connections;
    uint64_t connection_structures;
    uint64_t listen_disabled_num;
    uint64_t conn_yields;
    uint64_t time_in_listen_disabled_us; /* total time accept was paused */
    uint64_t listen_disabled;    /* gauge: 1 while accept is paused (accepting_conns 0) */
    uint64_t read_buf_count, read_buf_bytes, read_buf_bytes_free; /* gauges, buffer pool */
    uint64_t read_buf_oom;       /* buffer wanted but the pool/cap refused it */
    uint64_t idle_kicks;         /* connections closed by -o idle_timeout */
    /* commands (cmd) */
    uint64_t cmd_get, cmd_set, cmd_flush, cmd_touch, cmd_meta;
    uint64_t get_hits, get_misses, get_expired, get_flushed;
    uint64_t delete_hits, delete_misses;
    uint64_t incr_hits, incr_misses, decr_hits, decr_misses;
    uint64_t cas_hits, cas_misses, cas_badval;
    uint64_t touch_hits, touch_misses;
    uint64_t auth_cmds, auth_errors; /* logins tried, and failed (SASL or -Y) */
    uint64_t bytes_read, bytes_written;
    uint64_t store_too_large;    /* storage command refused: value over -I */
    uint64_t store_no_memory;    /* storage command refused: out of memory (-M or no victim) */
    /* storage (store) */
    uint64_t curr_items, total_items;
    uint64_t bytes;              /* bytes of live items (header+key+value) */
    uint64_t evictions, reclaimed;
    uint64_t expired_unfetched, evicted_unfetched;
    uint64_t crawler_reclaimed;      /* expired items freed by the background sweep */
    uint64_t crawler_items_checked;  /* items the background sweep looked at */
    uint64_t lru_crawler_running;    /* gauge: an lru_crawler crawl is running */
    uint64_t lru_crawler_starts;     /* lru_crawler crawl passes started */
    uint64_t hash_bytes, hash_power_level, hash_is_expanding;
    uint64_t segments_total, segments_free, segment_size;
    uint64_t malloc_fails;
    uint64_t restored_items, restore_time_us; /* gauges: -e, what the start restored */
    /* watch (log) */
    uint64_t log_worker_written;  /* lines made for watchers */
    uint64_t log_watcher_sent;    /* lines queued to a watcher */
    uint64_t log_watcher_skipped; /* lines a slow watcher missed */
    uint64_t log_watchers;        /* gauge: connections watching */
    /* TLS (-Z; printed only then) */
    uint64_t ssl_handshake_errors; /* handshakes that failed */
    uint64_t ssl_new_sessions;     /* sessions cached (-o ssl_session_cache; printed only then) */
};

/* Zero the counters that `stats reset` resets (not the gauges). */
void stats_reset(struct stats *s);

/* Process-level facts the printer needs, gathered by the caller. */
struct stats_env {
    long pid;
    int64_t started;        /* unix time the server started */
    int64_t now;            /* unix time now */
    const char *version;
    uint64_t limit_maxbytes;
    int threads;
    uint64_t max_connections;
    bool idle_timeout;      /* memcached prints idle_kicks only then */
    bool tls;               /* -Z: the ssl_* stats are printed */
    bool tls_sessions;      /* -o ssl_session_cache: ssl_new_sessions too */
    bool no_maxconns_fast;  /* -o no_maxconns_fast: no rejected_connections line */
    bool no_lru_crawler;    /* started without the crawler (-o no_lru_crawler): no
                             * lru_crawler_running/_starts lines */
    bool no_lru_maintainer; /* -o no_lru_maintainer: none of the maintainer's lines */
    int64_t cert_time;      /* unix time the certificates were loaded */
};

/* The general `stats` pairs, in memcached's order, through a callback that
 * keeps this module free of buffers and of any wire format: the text
 * protocol writes "STAT name value\r\n", the binary one a packet. */
typedef void stats_emit_fn(void *arg, const char *name, size_t nname, const char *value,
                           size_t nvalue);
void stats_print_general(const struct stats *s, const struct stats_env *env,
                         stats_emit_fn *emit, void *arg);
/* The stats /metrics exports: name, memcached_exporter's (or memg's)
 * metric name, and 'c' counter or 'g' gauge, in `stats` order. */
typedef void stats_metric_fn(void *arg, const char *name, const char *metric, char type);
void stats_metrics(stats_metric_fn *fn, void *arg);
/* One pair, the value formatted (at most STATS_VALUE_MAX bytes). */
#define STATS_VALUE_MAX 200
void stats_line(stats_emit_fn *emit, void *arg, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
