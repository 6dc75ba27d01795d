/* http_page: the HTTP front's pages, composed from the same `stats` pairs
 * the text protocol prints: /metrics in Prometheus' text format with
 * memcached_exporter's names and labels (so its dashboards work as they
 * are), /stats.json, /healthz and the dashboard at / (dashboard.html,
 * gzip-compressed at build time for a client that accepts it, else as it
 * is). Off the request path: built -Os. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "process/config.h"
#include "lib/fmt.h"
#include "http.h"
#include "ops/ops.h"
#include "lib/stats.h"
#include "store/store.h"

#define PAGE_MAX (256u << 10) /* a page larger than this is cut short (oom) */
#define PAIRS_MAX 160
#define PAIR_LEN 40

/* The general `stats` pairs, looked up by name. */
struct pairs {
    uint32_t n;
    struct { char name[PAIR_LEN], value[PAIR_LEN]; } p[PAIRS_MAX];
};

static void _collect(void *arg, const char *name, size_t nname, const char *value, size_t nvalue)
{
    struct pairs *ps = arg;
    if (ps->n == PAIRS_MAX || nname >= PAIR_LEN || nvalue >= PAIR_LEN)
        return;
    memcpy(ps->p[ps->n].name, name, nname);
    ps->p[ps->n].name[nname] = '\0';
    memcpy(ps->p[ps->n].value, value, nvalue);
    ps->p[ps->n].value[nvalue] = '\0';
    ps->n++;
}

static const char *_value(const struct pairs *ps, const char *name)
{
    for (uint32_t i = 0; i < ps->n; i++)
        if (strcmp(ps->p[i].name, name) == 0)
            return ps->p[i].value;
    return "0";
}

static uint64_t _u(const struct pairs *ps, const char *name)
{
    uint64_t v = 0;
    for (const char *p = _value(ps, name); *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (uint64_t)(*p - '0');
    return v;
}

static void _text(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s), PAGE_MAX);
}

static void _textf(struct buf *b, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void _textf(struct buf *b, const char *format, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, format);
    size_t n = fmt_vbuf(line, sizeof(line), format, ap);
    va_end(ap);
    buf_append(b, line, n < sizeof(line) ? n : sizeof(line) - 1, PAGE_MAX);
}

static void _type(struct buf *b, const char *name, char type)
{
    _textf(b, "# TYPE %s %s\n", name, type == 'c' ? "counter" : "gauge");
}

/* One metric family's HELP and TYPE lines. */
static void _family(struct buf *b, const char *name, char type, const char *help)
{
    _textf(b, "# HELP %s %s\n", name, help);
    _type(b, name, type);
}

/* memcached_exporter's metrics read straight from one stat: stats.c's
 * table names them (memcached_uptime_seconds is typed gauge: promtool
 * wants a counter's name to end in _total). */
struct simple_arg {
    struct buf *b;
    const struct pairs *ps;
};

static void _simple_one(void *arg, const char *stat, const char *metric, char type)
{
    struct simple_arg *a = arg;
    _textf(a->b, "# HELP %s memcached stat %s.\n", metric, stat);
    _type(a->b, metric, type);
    _textf(a->b, "%s %s\n", metric, _value(a->ps, stat));
}

static void _simple(struct buf *b, const struct pairs *ps)
{
    struct simple_arg a = {b, ps};
    stats_metrics(_simple_one, &a);
}

/* memcached_commands_total{command,status}, as the exporter derives it
 * (sets are cmd_set less the cas requests, which it counts apart). */
static void _commands(struct buf *b, const struct pairs *ps)
{
    static const char *const ops[] = {"get", "delete", "incr", "decr", "cas", "touch"};
    const char *m = "memcached_commands_total";
    _family(b, m, 'c', "Requests by command and status.");
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        char hits[24], misses[24];
        fmt_buf(hits, sizeof(hits), "%s_hits", ops[i]);
        fmt_buf(misses, sizeof(misses), "%s_misses", ops[i]);
        _textf(b, "%s{command=\"%s\",status=\"hit\"} %s\n", m, ops[i], _value(ps, hits));
        _textf(b, "%s{command=\"%s\",status=\"miss\"} %s\n", m, ops[i], _value(ps, misses));
    }
    uint64_t cas = _u(ps, "cas_hits") + _u(ps, "cas_misses") + _u(ps, "cas_badval");
    uint64_t set = _u(ps, "cmd_set");
    _textf(b, "%s{command=\"cas\",status=\"badval\"} %s\n", m, _value(ps, "cas_badval"));
    _textf(b, "%s{command=\"flush\",status=\"hit\"} %s\n", m, _value(ps, "cmd_flush"));
    _textf(b, "%s{command=\"set\",status=\"hit\"} %llu\n", m,
           (unsigned long long)(set > cas ? set - cas : 0));
}

static void _metrics(struct ops_ctx *ctx, struct buf *b)
{
    struct pairs *ps = calloc(1, sizeof(*ps));
    if (!ps)
        return;
    ops_stats(ctx, NULL, 0, _collect, ps);
    struct store_usage u;
    store_usage(ctx->store, &u);
    _family(b, "memcached_up", 'g', "Could the server be reached.");
    _text(b, "memcached_up 1\n");
    _family(b, "memcached_version", 'g', "The version of this server.");
    _textf(b, "memcached_version{version=\"%s\"} 1\n", _value(ps, "version"));
    _simple(b, ps);
    _commands(b, ps);
    _family(b, "memcached_malloced_bytes", 'g', "Bytes of memory allocated to items.");
    _textf(b, "memcached_malloced_bytes %llu\n",
           (unsigned long long)((u.segments_used + u.segments_free) * u.segment_size));
    _family(b, "memg_bytes_per_item", 'g', "Bytes of segments in use per live item.");
    _textf(b, "memg_bytes_per_item %llu\n",
           (unsigned long long)(u.items ? u.segments_used * u.segment_size / u.items : 0));
    _family(b, "memg_dead_bytes", 'g', "Bytes of items replaced or expired, not yet reclaimed.");
    _textf(b, "memg_dead_bytes %llu\n", (unsigned long long)u.bytes_dead);
    free(ps);
}

/* A stat value is a JSON number when it looks like one, else a string. */
static bool _numeric(const char *v, size_t n)
{
    size_t dots = 0, i = 0;
    for (; i < n && ((v[i] >= '0' && v[i] <= '9') || (v[i] == '.' && ++dots == 1)); i++)
        ;
    return n && i == n && v[0] != '.' && v[n - 1] != '.';
}

static void _json_pair(void *arg, const char *name, size_t nname, const char *value,
                       size_t nvalue)
{
    struct buf *b = arg;
    _text(b, buf_len(b) > 1 ? ",\"" : "\"");
    buf_append(b, name, nname, PAGE_MAX);
    _text(b, "\":");
    bool num = _numeric(value, nvalue);
    if (!num)
        _text(b, "\"");
    for (size_t i = 0; i < nvalue; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == '"' || c == '\\' || c < ' ') {
            char esc[6] = {'\\', 'u', '0', '0', "0123456789abcdef"[c >> 4],
                           "0123456789abcdef"[c & 15]};
            buf_append(b, esc, 6, PAGE_MAX);
        } else
            buf_append(b, &value[i], 1, PAGE_MAX);
    }
    if (!num)
        _text(b, "\"");
}

static void _json(struct ops_ctx *ctx, struct buf *b)
{
    _text(b, "{");
    ops_stats(ctx, NULL, 0, _json_pair, b);
    _text(b, "}\n");
}

void http_page(struct ops_ctx *ctx, int route, bool gzip, struct buf *b, struct http_body *page)
{
    if (route == HTTP_R_ROOT && gzip) { /* static bytes: sent from where they are */
        *page = (struct http_body){
            "Content-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\n"
            "Vary: Accept-Encoding\r\nCache-Control: no-cache\r\n",
            (const char *)http_dashboard_gz, http_dashboard_gz_len, true};
        return;
    }
    if (route == HTTP_R_ROOT) {
        *page = (struct http_body){"Content-Type: text/html; charset=utf-8\r\n"
                                   "Vary: Accept-Encoding\r\nCache-Control: no-cache\r\n",
                                   (const char *)http_dashboard, http_dashboard_len, true};
        return;
    }
    const char *type = "Content-Type: text/plain; charset=utf-8\r\n";
    if (route == HTTP_R_HEALTHZ) {
        _text(b, "ok\n");
    } else if (route == HTTP_R_JSON) {
        type = "Content-Type: application/json\r\nCache-Control: no-cache\r\n";
        _json(ctx, b);
    } else {
        type = "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n";
        _metrics(ctx, b);
    }
    *page = (struct http_body){type, b->data, buf_len(b), false};
}
