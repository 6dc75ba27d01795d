/* stats: `stats reset` and the text of the general `stats` reply, in
 * memcached 1.6.18's order and names (libevent omitted: memg has none).
 * Names memcached prints for machinery memg lacks are printed as 0, so
 * tools that read memcached's stats find every name they expect. */
#include "stats.h"

#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>

#include "fmt.h"

void stats_reset(struct stats *s)
{
    /* Gauges describe the present and survive; everything else counts
     * events since start (or the last reset) and is zeroed, as memcached
     * does for its global, per-thread, slab and item counters. */
    struct stats keep = *s;
    memset(s, 0, sizeof(*s));
    s->curr_connections = keep.curr_connections;
    s->connection_structures = keep.connection_structures;
    s->listen_disabled = keep.listen_disabled;
    s->read_buf_count = keep.read_buf_count;
    s->read_buf_bytes = keep.read_buf_bytes;
    s->read_buf_bytes_free = keep.read_buf_bytes_free;
    s->curr_items = keep.curr_items;
    s->bytes = keep.bytes;
    s->hash_bytes = keep.hash_bytes;
    s->hash_power_level = keep.hash_power_level;
    s->hash_is_expanding = keep.hash_is_expanding;
    s->segments_total = keep.segments_total;
    s->segments_free = keep.segments_free;
    s->segment_size = keep.segment_size;
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

/* A stat memg prints only for compatibility: no such machinery. */
static void _zero(stats_emit_fn *emit, void *arg, const char *name)
{
    stats_line(emit, arg, name, "0");
}

#define U64(name, v) stats_line(emit, arg, name, "%llu", (unsigned long long)(v))

static void _print_process(const struct stats_env *env, stats_emit_fn *emit, void *arg)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        memset(&ru, 0, sizeof(ru));
    int64_t uptime = env->now - env->started;
    stats_line(emit, arg, "pid", "%ld", env->pid);
    stats_line(emit, arg, "uptime", "%lld", (long long)(uptime < 0 ? 0 : uptime));
    stats_line(emit, arg, "time", "%lld", (long long)env->now);
    stats_line(emit, arg, "version", "%s", env->version ? env->version : "");
    stats_line(emit, arg, "pointer_size", "%d", (int)(sizeof(void *) * 8));
    stats_line(emit, arg, "rusage_user", "%ld.%06ld", (long)ru.ru_utime.tv_sec,
               (long)ru.ru_utime.tv_usec);
    stats_line(emit, arg, "rusage_system", "%ld.%06ld", (long)ru.ru_stime.tv_sec,
               (long)ru.ru_stime.tv_usec);
    U64("max_connections", env->max_connections);
}

static void _print_conns(const struct stats *s, stats_emit_fn *emit, void *arg)
{
    U64("curr_connections", s->curr_connections);
    U64("total_connections", s->total_connections);
    U64("rejected_connections", s->rejected_connections);
    U64("connection_structures", s->connection_structures);
    _zero(emit, arg, "response_obj_oom");
    _zero(emit, arg, "response_obj_count");
    _zero(emit, arg, "response_obj_bytes");
    U64("read_buf_count", s->read_buf_count);
    U64("read_buf_bytes", s->read_buf_bytes);
    U64("read_buf_bytes_free", s->read_buf_bytes_free);
    U64("read_buf_oom", s->read_buf_oom);
    _zero(emit, arg, "reserved_fds");
}

static void _print_cmds(const struct stats *s, stats_emit_fn *emit, void *arg)
{
    U64("cmd_get", s->cmd_get);
    U64("cmd_set", s->cmd_set);
    U64("cmd_flush", s->cmd_flush);
    U64("cmd_touch", s->cmd_touch);
    U64("cmd_meta", s->cmd_meta);
    U64("get_hits", s->get_hits);
    U64("get_misses", s->get_misses);
    U64("get_expired", s->get_expired);
    U64("get_flushed", s->get_flushed);
    U64("delete_misses", s->delete_misses);
    U64("delete_hits", s->delete_hits);
    U64("incr_misses", s->incr_misses);
    U64("incr_hits", s->incr_hits);
    U64("decr_misses", s->decr_misses);
    U64("decr_hits", s->decr_hits);
    U64("cas_misses", s->cas_misses);
    U64("cas_hits", s->cas_hits);
    U64("cas_badval", s->cas_badval);
    U64("touch_hits", s->touch_hits);
    U64("touch_misses", s->touch_misses);
    U64("store_too_large", s->store_too_large);
    U64("store_no_memory", s->store_no_memory);
    U64("auth_cmds", s->auth_cmds);
    U64("auth_errors", s->auth_errors);
    U64("bytes_read", s->bytes_read);
    U64("bytes_written", s->bytes_written);
}

static void _print_server(const struct stats *s, const struct stats_env *env,
                          stats_emit_fn *emit, void *arg)
{
    static const char *const slab_machinery[] = {
        "slab_reassign_rescues", "slab_reassign_chunk_rescues",
        "slab_reassign_evictions_nomem", "slab_reassign_inline_reclaim",
        "slab_reassign_busy_items", "slab_reassign_busy_deletes",
        "slab_reassign_running", "slabs_moved", "lru_crawler_running",
        "lru_crawler_starts", "lru_maintainer_juggles",
    };
    static const char *const log_machinery[] = {
        "log_worker_dropped", "log_worker_written", "log_watcher_skipped",
        "log_watcher_sent", "log_watchers", "unexpected_napi_ids",
        "round_robin_fallback",
    };
    U64("limit_maxbytes", env->limit_maxbytes);
    stats_line(emit, arg, "accepting_conns", "%d", s->listen_disabled ? 0 : 1);
    U64("listen_disabled_num", s->listen_disabled_num);
    U64("time_in_listen_disabled_us", s->time_in_listen_disabled_us);
    stats_line(emit, arg, "threads", "%d", env->threads);
    U64("conn_yields", s->conn_yields);
    U64("hash_power_level", s->hash_power_level);
    U64("hash_bytes", s->hash_bytes);
    U64("hash_is_expanding", s->hash_is_expanding);
    for (size_t i = 0; i < sizeof(slab_machinery) / sizeof(slab_machinery[0]); i++)
        _zero(emit, arg, slab_machinery[i]);
    U64("malloc_fails", s->malloc_fails);
    for (size_t i = 0; i < sizeof(log_machinery) / sizeof(log_machinery[0]); i++)
        _zero(emit, arg, log_machinery[i]);
}

static void _print_items(const struct stats *s, stats_emit_fn *emit, void *arg)
{
    static const char *const lru_machinery[] = {
        "lrutail_reflocked", "moves_to_cold", "moves_to_warm",
        "moves_within_lru", "direct_reclaims", "lru_bumps_dropped",
    };
    U64("bytes", s->bytes);
    U64("curr_items", s->curr_items);
    U64("total_items", s->total_items);
    _zero(emit, arg, "slab_global_page_pool");
    U64("expired_unfetched", s->expired_unfetched);
    U64("evicted_unfetched", s->evicted_unfetched);
    _zero(emit, arg, "evicted_active");
    U64("evictions", s->evictions);
    U64("reclaimed", s->reclaimed);
    U64("crawler_reclaimed", s->crawler_reclaimed);
    U64("crawler_items_checked", s->crawler_items_checked);
    for (size_t i = 0; i < sizeof(lru_machinery) / sizeof(lru_machinery[0]); i++)
        _zero(emit, arg, lru_machinery[i]);
    /* memg's own, after every name memcached prints. */
    U64("segments_total", s->segments_total);
    U64("segments_free", s->segments_free);
    U64("segment_size", s->segment_size);
}

void stats_print_general(const struct stats *s, const struct stats_env *env,
                         stats_emit_fn *emit, void *arg)
{
    _print_process(env, emit, arg);
    _print_conns(s, emit, arg);
    _print_cmds(s, emit, arg);
    _print_server(s, env, emit, arg);
    _print_items(s, emit, arg);
}
