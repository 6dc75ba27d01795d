/* cmd_stats: the `stats` family. General stats are printed by the stats
 * module; the groups that describe settings and memory live here. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "fmt.h"
#include "out.h"
#include "proto.h"
#include "stats.h"
#include "store.h"

static void _emit(void *arg, const char *text, size_t len)
{
    out_copy(arg, text, len);
}

static bool _is(struct proto_token t, const char *word);
#define _sub(req, word) _is((req)->arg, word)

static void _general(struct cmd_ctx *ctx, struct out *out)
{
    struct store_usage u;
    store_usage(ctx->store, &u);
    struct stats_env env = {
        .pid = (long)getpid(),
        .started = ctx->started,
        .now = store_time(ctx->store),
        .version = MEMG_VERSION,
        .limit_maxbytes = u.mem_limit, /* cache_memlimit changes it */
        .threads = 1,
        .max_connections = (uint64_t)ctx->cfg->max_conns,
    };
    stats_print_general(ctx->stats, &env, _emit, out);
}

static void _settings(struct cmd_ctx *ctx, struct out *out)
{
    const struct config *c = ctx->cfg;
    char inter[256] = "";
    for (int i = 0; i < c->nlisten; i++) {
        size_t n = strlen(inter);
        fmt_buf(inter + n, sizeof(inter) - n, "%s%s", i ? "," : "", c->listen[i]);
    }
    struct store_usage u;
    store_usage(ctx->store, &u);
    stats_line(_emit, out, "maxbytes", "%llu", (unsigned long long)u.mem_limit);
    stats_line(_emit, out, "maxconns", "%d", c->max_conns);
    stats_line(_emit, out, "tcpport", "%d", c->port);
    stats_line(_emit, out, "udpport", "%d", c->udp_port);
    stats_line(_emit, out, "inter", "%s", c->nlisten ? inter : "127.0.0.1");
    stats_line(_emit, out, "verbosity", "%d", ctx->verbose);
    stats_line(_emit, out, "oldest", "%lld", 0LL);
    stats_line(_emit, out, "evictions", "%s", c->evict ? "on" : "off");
    stats_line(_emit, out, "domain_socket", "%s", c->unix_socket ? c->unix_socket : "NULL");
    stats_line(_emit, out, "umask", "%o", (unsigned)c->unix_mask);
    stats_line(_emit, out, "shutdown_command", "%s", c->enable_shutdown ? "yes" : "no");
    stats_line(_emit, out, "num_threads", "%d", 1);
    stats_line(_emit, out, "reqs_per_event", "%d", c->reqs_per_event);
    stats_line(_emit, out, "cas_enabled", "%s", c->cas_enabled ? "yes" : "no");
    stats_line(_emit, out, "tcp_backlog", "%d", c->backlog);
    stats_line(_emit, out, "binding_protocol", "%s", "ascii");
    stats_line(_emit, out, "auth_enabled_sasl", "%s", "no");
    stats_line(_emit, out, "auth_enabled_ascii", "%s", "no");
    stats_line(_emit, out, "item_size_max", "%llu", (unsigned long long)c->item_size_max);
    stats_line(_emit, out, "flush_enabled", "%s", "yes");
    stats_line(_emit, out, "dump_enabled", "%s", "no");
    stats_line(_emit, out, "idle_timeout", "%d", c->idle_timeout);
    stats_line(_emit, out, "out_limit", "%llu", (unsigned long long)c->out_limit);
    stats_line(_emit, out, "segment_size", "%llu", (unsigned long long)u.segment_size);
    out_copy(out, "END\r\n", 5);
}

/* memg has no slab classes: all items share one log of segments, shown as
 * class 1 so that tools reading "items:N:" and "N:" lines find it. */
static void _items(struct cmd_ctx *ctx, struct out *out)
{
    struct store_usage u;
    store_usage(ctx->store, &u);
    const struct stats *s = ctx->stats;
    if (u.items) {
        stats_line(_emit, out, "items:1:number", "%llu", (unsigned long long)u.items);
        stats_line(_emit, out, "items:1:age", "%lld", (long long)u.oldest_age);
        stats_line(_emit, out, "items:1:mem_requested", "%llu", (unsigned long long)u.bytes_live);
        stats_line(_emit, out, "items:1:evicted", "%llu", (unsigned long long)s->evictions);
        stats_line(_emit, out, "items:1:outofmemory", "%llu",
                   (unsigned long long)s->store_no_memory);
        stats_line(_emit, out, "items:1:reclaimed", "%llu", (unsigned long long)s->reclaimed);
        stats_line(_emit, out, "items:1:expired_unfetched", "%llu",
                   (unsigned long long)s->expired_unfetched);
        stats_line(_emit, out, "items:1:evicted_unfetched", "%llu",
                   (unsigned long long)s->evicted_unfetched);
        stats_line(_emit, out, "items:1:mem_dead", "%llu", (unsigned long long)u.bytes_dead);
    }
    out_copy(out, "END\r\n", 5);
}

static void _slabs(struct cmd_ctx *ctx, struct out *out)
{
    struct store_usage u;
    store_usage(ctx->store, &u);
    const struct stats *s = ctx->stats;
    unsigned long long used = u.segments_used, seg = u.segment_size;
    if (used) {
        stats_line(_emit, out, "1:chunk_size", "%llu", seg);
        stats_line(_emit, out, "1:chunks_per_page", "%d", 1);
        stats_line(_emit, out, "1:total_pages", "%llu", used + u.segments_free);
        stats_line(_emit, out, "1:total_chunks", "%llu", used + u.segments_free);
        stats_line(_emit, out, "1:used_chunks", "%llu", used);
        stats_line(_emit, out, "1:free_chunks", "%llu", (unsigned long long)u.segments_free);
        stats_line(_emit, out, "1:free_chunks_end", "%d", 0);
        stats_line(_emit, out, "1:get_hits", "%llu", (unsigned long long)s->get_hits);
        stats_line(_emit, out, "1:cmd_set", "%llu", (unsigned long long)s->cmd_set);
        stats_line(_emit, out, "1:delete_hits", "%llu", (unsigned long long)s->delete_hits);
        stats_line(_emit, out, "1:incr_hits", "%llu", (unsigned long long)s->incr_hits);
        stats_line(_emit, out, "1:decr_hits", "%llu", (unsigned long long)s->decr_hits);
        stats_line(_emit, out, "1:cas_hits", "%llu", (unsigned long long)s->cas_hits);
        stats_line(_emit, out, "1:cas_badval", "%llu", (unsigned long long)s->cas_badval);
        stats_line(_emit, out, "1:touch_hits", "%llu", (unsigned long long)s->touch_hits);
    }
    stats_line(_emit, out, "active_slabs", "%d", used ? 1 : 0);
    stats_line(_emit, out, "total_malloced", "%llu",
               (unsigned long long)((used + u.segments_free) * seg + u.table_bytes));
    out_copy(out, "END\r\n", 5);
}

static bool _is(struct proto_token t, const char *word)
{
    size_t n = strlen(word);
    return t.len == n && memcmp(t.p, word, n) == 0;
}

static void _detail(const struct request *req, struct out *out)
{
    /* memg keeps no per-prefix stats; on/off are accepted as memcached does */
    if (_is(req->arg2, "on") || _is(req->arg2, "off"))
        out_copy(out, "OK\r\n", 4);
    else if (_is(req->arg2, "dump"))
        out_copy(out, "END\r\n", 5);
    else
        out_copy(out, "CLIENT_ERROR usage: stats detail on|off|dump\r\n", 46);
}

void cmd_stats(struct cmd_ctx *ctx, const struct request *req, struct out *out)
{
    if (req->ntokens == 2)
        _general(ctx, out);
    else if (_sub(req, "reset")) {
        stats_reset(ctx->stats);
        out_copy(out, "RESET\r\n", 7);
    } else if (_sub(req, "settings"))
        _settings(ctx, out);
    else if (_sub(req, "items"))
        _items(ctx, out);
    else if (_sub(req, "slabs"))
        _slabs(ctx, out);
    else if (_sub(req, "sizes"))
        out_copy(out, "STAT sizes_status disabled\r\nEND\r\n", 33);
    else if (_sub(req, "detail"))
        _detail(req, out);
    else if (_sub(req, "conns") && ctx->conns) {
        ctx->conns(ctx->conns_arg, out);
        out_copy(out, "END\r\n", 5);
    } else
        out_copy(out, "ERROR\r\n", 7);
}
