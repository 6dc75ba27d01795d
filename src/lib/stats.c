/* stats: every general stat in one table, in memcached 1.6.45's order and
 * names (libevent omitted: memg has none). The table gives each its kind
 * (counter, gauge, a fact of the process, or a name memcached prints for
 * machinery memg lacks, always 0: docs/STATS.md says why) and its
 * Prometheus metric; `stats`, `stats reset`, /stats.json and /metrics are
 * all made from it. */
#include "stats.h"

#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>

#include "fmt.h"

enum kind { COUNTER, GAUGE, ENV, ZERO };
enum env_id { E_PID, E_UPTIME, E_TIME, E_VERSION, E_POINTER, E_RUSER, E_RSYS, E_MAXCONN,
              E_LIMIT, E_ACCEPTING, E_THREADS, E_CERT_AGE, E_BUSY_STATUS };

/* name: the stat's name, a NUL, then its /metrics name (empty when not
 * exported): one pointer a row instead of two (-0.8 KB on 64-bit). */
struct row {
    const char *name;
    uint8_t kind;
    uint8_t type;        /* 'c' or 'g' for /metrics; 0: not exported */
    uint16_t at;         /* COUNTER/GAUGE: offset in struct stats; ENV: env_id */
};

#define C(f, m) {#f "\0" m, COUNTER, 'c', offsetof(struct stats, f)}
#define Cn(f) {#f "\0", COUNTER, 0, offsetof(struct stats, f)}
#define G(f, m) {#f "\0" m, GAUGE, 'g', offsetof(struct stats, f)}
#define Gn(f) {#f "\0", GAUGE, 0, offsetof(struct stats, f)}
#define E(n, id, t, m) {n "\0" m, ENV, t, id}
#define Z(n) {n "\0", ZERO, 0, 0}
#define ZM(n) {n "\0", ZERO, 0, 1} /* memcached's LRU maintainer's: not under no_lru_maintainer */

static const struct row table[] = {
    E("pid", E_PID, 0, ""),
    E("uptime", E_UPTIME, 'g', "memcached_uptime_seconds"),
    E("time", E_TIME, 'g', "memcached_time_seconds"),
    E("version", E_VERSION, 0, ""),
    E("pointer_size", E_POINTER, 0, ""),
    E("rusage_user", E_RUSER, 'c', "memcached_process_user_cpu_seconds_total"),
    E("rusage_system", E_RSYS, 'c', "memcached_process_system_cpu_seconds_total"),
    E("max_connections", E_MAXCONN, 'g', "memcached_max_connections"),
    G(curr_connections, "memcached_current_connections"),
    C(total_connections, "memcached_connections_total"),
    C(rejected_connections, "memcached_connections_rejected_total"),
    Gn(connection_structures),
    Z("response_obj_oom"), Z("response_obj_count"), Z("response_obj_bytes"),
    Gn(read_buf_count), Gn(read_buf_bytes), Gn(read_buf_bytes_free), Cn(read_buf_oom),
    Z("reserved_fds"),
    Cn(cmd_get), Cn(cmd_set), Cn(cmd_flush), Cn(cmd_touch), Cn(cmd_meta),
    Cn(get_hits), Cn(get_misses), Cn(get_expired), Cn(get_flushed),
    Cn(delete_misses), Cn(delete_hits), Cn(incr_misses), Cn(incr_hits),
    Cn(decr_misses), Cn(decr_hits), Cn(cas_misses), Cn(cas_hits), Cn(cas_badval),
    Cn(touch_hits), Cn(touch_misses),
    C(store_too_large, "memcached_item_too_large_total"),
    C(store_no_memory, "memcached_item_no_memory_total"),
    Cn(auth_cmds), Cn(auth_errors),
    C(bytes_read, "memcached_read_bytes_total"),
    C(bytes_written, "memcached_written_bytes_total"),
    C(idle_kicks, "memcached_connections_idle_kicked_total"), /* only with idle_timeout */
    E("limit_maxbytes", E_LIMIT, 'g', "memcached_limit_bytes"),
    E("accepting_conns", E_ACCEPTING, 'g', "memcached_accepting_connections"),
    C(listen_disabled_num, "memcached_connections_listener_disabled_total"),
    Cn(time_in_listen_disabled_us),
    E("threads", E_THREADS, 0, ""),
    C(conn_yields, "memcached_connections_yielded_total"),
    Gn(hash_power_level),
    G(hash_bytes, "memg_hash_table_bytes"),
    Gn(hash_is_expanding),
    Z("slab_reassign_rescues"), Z("slab_reassign_chunk_rescues"),
    Z("slab_reassign_inline_reclaim"), Z("slab_reassign_busy_items"),
    Z("slab_reassign_busy_deletes"), Z("slab_reassign_busy_nomem"),
    E("slab_reassign_last_busy_status", E_BUSY_STATUS, 0, ""),
    Z("slab_reassign_running"), Z("slabs_moved"), Gn(lru_crawler_running),
    Cn(lru_crawler_starts), ZM("lru_maintainer_juggles"),
    Cn(malloc_fails),
    Z("log_worker_dropped"), Cn(log_worker_written), Cn(log_watcher_skipped),
    Cn(log_watcher_sent), Gn(log_watchers),
    Cn(ssl_new_sessions), Cn(ssl_handshake_errors), /* only with -Z */
    E("time_since_server_cert_refresh", E_CERT_AGE, 0, ""),
    Z("unexpected_napi_ids"), Z("round_robin_fallback"),
    G(bytes, "memcached_current_bytes"),
    G(curr_items, "memcached_current_items"),
    C(total_items, "memcached_items_total"),
    Z("slab_global_page_pool"),
    Cn(expired_unfetched), Cn(evicted_unfetched), ZM("evicted_active"),
    C(evictions, "memcached_items_evicted_total"),
    C(reclaimed, "memcached_items_reclaimed_total"),
    C(crawler_reclaimed, "memcached_lru_crawler_reclaimed_total"),
    C(crawler_items_checked, "memcached_lru_crawler_items_checked_total"),
    Z("lrutail_reflocked"), ZM("moves_to_cold"), ZM("moves_to_warm"), ZM("moves_within_lru"),
    ZM("direct_reclaims"), ZM("lru_bumps_dropped"),
    /* memg's own, after every name memcached prints. */
    G(segments_total, "memg_segments"),
    G(segments_free, "memg_segments_free"),
    G(segment_size, "memg_segment_size_bytes"),
    Gn(restored_items), Gn(restore_time_us),
};
#define NROWS (sizeof(table) / sizeof(table[0]))

void stats_reset(struct stats *s)
{
    for (size_t i = 0; i < NROWS; i++)
        if (table[i].kind == COUNTER)
            memset((char *)s + table[i].at, 0, sizeof(uint64_t));
}

void stats_metrics(stats_metric_fn *fn, void *arg)
{
    for (size_t i = 0; i < NROWS; i++)
        if (table[i].type)
            fn(arg, table[i].name, table[i].name + strlen(table[i].name) + 1, (char)table[i].type);
}

void stats_line(stats_emit_fn *emit, void *arg, const char *name, const char *fmt, ...)
{
    char value[STATS_VALUE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    size_t n = fmt_vbuf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n > STATS_VALUE_MAX)
        n = STATS_VALUE_MAX; /* truncated */
    size_t nname = strlen(name);
    emit(arg, name, nname > STATS_VALUE_MAX ? STATS_VALUE_MAX : nname, value, n);
}

static void _env(const struct row *r, const struct stats *s, const struct stats_env *env,
                 const struct rusage *ru, stats_emit_fn *emit, void *arg)
{
    int64_t uptime = env->now - env->started;
    switch (r->at) {
    case E_PID:
        stats_line(emit, arg, r->name, "%ld", env->pid);
        break;
    case E_UPTIME:
        stats_line(emit, arg, r->name, "%lld", (long long)(uptime < 0 ? 0 : uptime));
        break;
    case E_TIME:
        stats_line(emit, arg, r->name, "%lld", (long long)env->now);
        break;
    case E_VERSION:
        stats_line(emit, arg, r->name, "%s", env->version ? env->version : "");
        break;
    case E_POINTER:
        stats_line(emit, arg, r->name, "%d", (int)(sizeof(void *) * 8));
        break;
    case E_RUSER:
    case E_RSYS: {
        const struct timeval *tv = r->at == E_RUSER ? &ru->ru_utime : &ru->ru_stime;
        stats_line(emit, arg, r->name, "%ld.%06ld", (long)tv->tv_sec, (long)tv->tv_usec);
        break;
    }
    case E_MAXCONN:
    case E_LIMIT:
        stats_line(emit, arg, r->name, "%llu",
                   (unsigned long long)(r->at == E_MAXCONN ? env->max_connections
                                                           : env->limit_maxbytes));
        break;
    case E_ACCEPTING:
        stats_line(emit, arg, r->name, "%d", s->listen_disabled ? 0 : 1);
        break;
    case E_CERT_AGE:
        stats_line(emit, arg, r->name, "%lld", (long long)(env->now - env->cert_time));
        break;
    case E_BUSY_STATUS: /* memg moves no slab pages: never busy */
        stats_line(emit, arg, r->name, "none");
        break;
    default:
        stats_line(emit, arg, r->name, "%d", env->threads);
        break;
    }
}

/* Rows memcached prints only with a setting on. */
static bool _shown(const struct row *r, const struct stats_env *env)
{
    if (r->kind == ENV)
        return r->at != E_CERT_AGE || env->tls;
    if (r->kind == ZERO)
        return r->at == 0 || !env->no_lru_maintainer;
    if (r->at == offsetof(struct stats, lru_crawler_running) ||
        r->at == offsetof(struct stats, lru_crawler_starts))
        return !env->no_lru_crawler;
    if (r->kind != COUNTER)
        return true;
    if (r->at == offsetof(struct stats, rejected_connections))
        return !env->no_maxconns_fast;
    if (r->at == offsetof(struct stats, idle_kicks))
        return env->idle_timeout;
    if (r->at == offsetof(struct stats, ssl_handshake_errors))
        return env->tls;
    if (r->at == offsetof(struct stats, ssl_new_sessions))
        return env->tls && env->tls_sessions;
    return true;
}

void stats_print_general(const struct stats *s, const struct stats_env *env,
                         stats_emit_fn *emit, void *arg)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        memset(&ru, 0, sizeof(ru));
    for (size_t i = 0; i < NROWS; i++) {
        const struct row *r = &table[i];
        if (!_shown(r, env))
            continue;
        if (r->kind == ENV)
            _env(r, s, env, &ru, emit, arg);
        else if (r->kind == ZERO)
            stats_line(emit, arg, r->name, "0");
        else
            stats_line(emit, arg, r->name, "%llu",
                       (unsigned long long)*(const uint64_t *)(const void *)((const char *)s +
                                                                             r->at));
    }
}
