/* ops_stats: the `stats` groups as name/value pairs, whatever the wire.
 * The general group is printed by the stats module; the groups that
 * describe settings and memory live here. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/settings.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "ops.h"
#include "prefix.h"
#include "lib/stats.h"
#include "store/store.h"

static void _general(struct ops_ctx *ctx, stats_emit_fn *emit, void *arg)
{
    size_t used, idle, block; /* memcached's read buffers are memg's pool blocks */
    buf_pool_usage(&used, &idle, &block);
    ctx->stats->read_buf_count = used + idle;
    ctx->stats->read_buf_bytes = (used + idle) * block;
    ctx->stats->read_buf_bytes_free = idle * block;
    struct store_usage u;
    store_usage(ctx->store, &u);
    struct stats_env env = {
        .pid = (long)getpid(),
        .started = ctx->started,
        .now = store_time(ctx->store),
        .version = MEMG_RELEASE, /* memg's own, as -V; the VERSION reply stays memcached's */
        .limit_maxbytes = u.mem_limit, /* cache_memlimit changes it */
        .threads = 1,
        .max_connections = (uint64_t)ctx->cfg->max_conns,
        .idle_timeout = ctx->cfg->idle_timeout > 0,
        .tls = ctx->cfg->tls.enabled,
        .tls_sessions = ctx->cfg->tls.session_cache,
        .no_maxconns_fast = !ctx->cfg->maxconns_fast,
        .no_lru_crawler = !ctx->cfg->crawler, /* as started: `lru_crawler disable` keeps them */
        .no_lru_maintainer = ctx->cfg->no_lru_maintainer,
        .cert_time = ctx->cert_time ? ctx->cert_time() : 0,
    };
    stats_print_general(ctx->stats, &env, emit, arg);
}

/* memcached's ssl_* settings lines, in its order (1.6.18, TLS builds). */
static void _tls_settings(const struct config_tls *t, stats_emit_fn *emit, void *arg)
{
    stats_line(emit, arg, "ssl_enabled", "%s", t->enabled ? "yes" : "no");
    stats_line(emit, arg, "ssl_chain_cert", "%s", t->chain_cert ? t->chain_cert : "(null)");
    stats_line(emit, arg, "ssl_key", "%s", t->key ? t->key : "(null)");
    stats_line(emit, arg, "ssl_verify_mode", "%d", t->verify_mode);
    stats_line(emit, arg, "ssl_keyformat", "%d", t->keyformat);
    stats_line(emit, arg, "ssl_ciphers", "%s", t->ciphers ? t->ciphers : "NULL");
    stats_line(emit, arg, "ssl_ca_cert", "%s", t->ca_cert ? t->ca_cert : "NULL");
    stats_line(emit, arg, "ssl_wbuf_size", "%u", (unsigned)t->wbuf_size);
    stats_line(emit, arg, "ssl_session_cache", "%s", t->session_cache ? "yes" : "no");
    stats_line(emit, arg, "ssl_kernel_tls", "%s", t->kernel_tls ? "yes" : "no");
    stats_line(emit, arg, "ssl_min_version", "%s", config_tls_version_name(t->min_version));
}

static void _settings(struct ops_ctx *ctx, stats_emit_fn *emit, void *arg)
{
    const struct config *c = ctx->cfg;
    char inter[256] = "";
    for (int i = 0; i < c->nlisten; i++) {
        size_t n = strlen(inter);
        fmt_buf(inter + n, sizeof(inter) - n, "%s%s", i ? "," : "", c->listen[i]);
    }
    struct store_usage u;
    store_usage(ctx->store, &u);
    stats_line(emit, arg, "maxbytes", "%llu", (unsigned long long)u.mem_limit);
    stats_line(emit, arg, "maxconns", "%d", c->max_conns);
    stats_line(emit, arg, "tcpport", "%d", c->port);
    stats_line(emit, arg, "udpport", "%d", c->udp_port);
    stats_line(emit, arg, "inter", "%s", c->nlisten ? inter : "127.0.0.1");
    stats_line(emit, arg, "verbosity", "%d", ctx->verbose);
    stats_line(emit, arg, "oldest", "%lld", 0LL);
    stats_line(emit, arg, "evictions", "%s", c->evict ? "on" : "off");
    stats_line(emit, arg, "domain_socket", "%s", c->unix_socket ? c->unix_socket : "NULL");
    stats_line(emit, arg, "umask", "%o", (unsigned)c->unix_mask);
    stats_line(emit, arg, "shutdown_command", "%s", c->enable_shutdown ? "yes" : "no");
    stats_line(emit, arg, "num_threads", "%d", 1);
    stats_line(emit, arg, "reqs_per_event", "%d", c->reqs_per_event);
    stats_line(emit, arg, "cas_enabled", "%s", c->cas_enabled ? "yes" : "no");
    stats_line(emit, arg, "lru_crawler", "%s", ctx->crawler ? "yes" : "no");
    stats_line(emit, arg, "lru_crawler_sleep", "%u", (unsigned)ctx->crawler_sleep);
    stats_line(emit, arg, "lru_crawler_tocrawl", "%u", (unsigned)ctx->crawler_tocrawl);
    stats_line(emit, arg, "tcp_backlog", "%d", c->backlog);
    stats_line(emit, arg, "binding_protocol", "%s", config_protocol_name(c->protocol));
    stats_line(emit, arg, "auth_enabled_sasl", "%s", c->sasl ? "yes" : "no");
    stats_line(emit, arg, "auth_enabled_ascii", "%s", c->auth_file ? "yes" : "no");
    stats_line(emit, arg, "item_size_max", "%llu", (unsigned long long)c->item_size_max);
    stats_line(emit, arg, "maxconns_fast", "%s", c->maxconns_fast ? "yes" : "no");
    stats_line(emit, arg, "hashpower_init", "%d", c->hash_power);
    stats_line(emit, arg, "detail_enabled", "%s", ctx->detail ? "yes" : "no");
    stats_line(emit, arg, "flush_enabled", "%s", c->flush_enabled ? "yes" : "no");
    stats_line(emit, arg, "dump_enabled", "%s", c->dump_enabled ? "yes" : "no");
    stats_line(emit, arg, "watch_enabled", "%s", c->watch_enabled ? "yes" : "no");
    stats_line(emit, arg, "watcher_logbuf_size", "%u", (unsigned)c->watcher_logbuf);
    stats_line(emit, arg, "track_sizes", "%s", c->track_sizes ? "yes" : "no");
    stats_line(emit, arg, "idle_timeout", "%d", c->idle_timeout);
    stats_line(emit, arg, "out_limit", "%llu", (unsigned long long)c->out_limit);
    if (ctx->refresh_certs) /* a build with TLS, as memcached's */
        _tls_settings(&c->tls, emit, arg);
    stats_line(emit, arg, "memory_file", "%s", c->memory_file ? c->memory_file : "(null)");
    stats_line(emit, arg, "client_flags_size", "%d", c->large_flags ? 8 : 4); /* 1.6.45 */
    stats_line(emit, arg, "segment_size", "%llu", (unsigned long long)u.segment_size);
}

/* memg has no slab classes: all items share one log of segments, shown as
 * class 1 so that tools reading "items:N:" and "N:" lines find it. */
static void _items(struct ops_ctx *ctx, stats_emit_fn *emit, void *arg)
{
    struct store_usage u;
    store_usage(ctx->store, &u);
    const struct stats *s = ctx->stats;
    if (u.items) {
        stats_line(emit, arg, "items:1:number", "%llu", (unsigned long long)u.items);
        stats_line(emit, arg, "items:1:age", "%lld", (long long)u.oldest_age);
        stats_line(emit, arg, "items:1:mem_requested", "%llu", (unsigned long long)u.bytes_live);
        stats_line(emit, arg, "items:1:evicted", "%llu", (unsigned long long)s->evictions);
        stats_line(emit, arg, "items:1:outofmemory", "%llu",
                   (unsigned long long)s->store_no_memory);
        stats_line(emit, arg, "items:1:reclaimed", "%llu", (unsigned long long)s->reclaimed);
        stats_line(emit, arg, "items:1:expired_unfetched", "%llu",
                   (unsigned long long)s->expired_unfetched);
        stats_line(emit, arg, "items:1:evicted_unfetched", "%llu",
                   (unsigned long long)s->evicted_unfetched);
        stats_line(emit, arg, "items:1:mem_dead", "%llu", (unsigned long long)u.bytes_dead);
    }
}

static void _slabs(struct ops_ctx *ctx, stats_emit_fn *emit, void *arg)
{
    struct store_usage u;
    store_usage(ctx->store, &u);
    const struct stats *s = ctx->stats;
    unsigned long long used = u.segments_used, seg = u.segment_size;
    if (used) {
        stats_line(emit, arg, "1:chunk_size", "%llu", seg);
        stats_line(emit, arg, "1:chunks_per_page", "%d", 1);
        stats_line(emit, arg, "1:total_pages", "%llu", used + u.segments_free);
        stats_line(emit, arg, "1:total_chunks", "%llu", used + u.segments_free);
        stats_line(emit, arg, "1:used_chunks", "%llu", used);
        stats_line(emit, arg, "1:free_chunks", "%llu", (unsigned long long)u.segments_free);
        stats_line(emit, arg, "1:free_chunks_end", "%d", 0);
        stats_line(emit, arg, "1:get_hits", "%llu", (unsigned long long)s->get_hits);
        stats_line(emit, arg, "1:cmd_set", "%llu", (unsigned long long)s->cmd_set);
        stats_line(emit, arg, "1:delete_hits", "%llu", (unsigned long long)s->delete_hits);
        stats_line(emit, arg, "1:incr_hits", "%llu", (unsigned long long)s->incr_hits);
        stats_line(emit, arg, "1:decr_hits", "%llu", (unsigned long long)s->decr_hits);
        stats_line(emit, arg, "1:cas_hits", "%llu", (unsigned long long)s->cas_hits);
        stats_line(emit, arg, "1:cas_badval", "%llu", (unsigned long long)s->cas_badval);
        stats_line(emit, arg, "1:touch_hits", "%llu", (unsigned long long)s->touch_hits);
    }
    stats_line(emit, arg, "active_slabs", "%d", used ? 1 : 0);
    stats_line(emit, arg, "total_malloced", "%llu",
               (unsigned long long)((used + u.segments_free) * seg + u.table_bytes));
}

/* -o track_sizes: memcached's "STAT <size> <count>" lines, else its word. */
struct size_emit {
    stats_emit_fn *emit;
    void *arg;
};

static void _size_line(void *arg, uint32_t size, uint32_t count)
{
    const struct size_emit *e = arg;
    char name[12];
    fmt_buf(name, sizeof(name), "%u", (unsigned)size);
    stats_line(e->emit, e->arg, name, "%u", (unsigned)count);
}

static void _sizes(struct ops_ctx *ctx, stats_emit_fn *emit, void *arg)
{
    struct size_emit e = {emit, arg};
    if (!store_sizes(ctx->store, _size_line, &e))
        stats_line(emit, arg, "sizes_status", "%s", "disabled");
}

static bool _is(const char *group, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(group, word, n) == 0;
}

enum ops_stats_result ops_stats(struct ops_ctx *ctx, const char *group, size_t n,
                                stats_emit_fn *emit, void *arg)
{
    if (n == 0)
        _general(ctx, emit, arg);
    else if (_is(group, n, "reset")) {
        stats_reset(ctx->stats);
        if (ctx->prefixes) /* as memcached: the per-prefix counts too */
            prefix_clear(ctx->prefixes);
        return OPS_STATS_RESET;
    } else if (_is(group, n, "settings"))
        _settings(ctx, emit, arg);
    else if (_is(group, n, "items"))
        _items(ctx, emit, arg);
    else if (_is(group, n, "slabs"))
        _slabs(ctx, emit, arg);
    else if (_is(group, n, "sizes"))
        _sizes(ctx, emit, arg);
    else if (_is(group, n, "conns") && ctx->conns)
        ctx->conns(ctx->conns_arg, emit, arg);
    else
        return OPS_STATS_UNKNOWN;
    return OPS_STATS_DONE;
}
