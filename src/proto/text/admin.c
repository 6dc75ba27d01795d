/* admin: see admin.h. Replies are memcached's words (1.6.45's where they changed). */
#include "admin.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "lib/settings.h"
#include "lib/fmt.h"
#include "lib/log.h"
#include "ops/ops.h"
#include "lib/out.h"
#include "ops/prefix.h"
#include "proto.h"

#define CACHEDUMP_MAX (2u << 20)   /* memcached's cachedump buffer */
/* A metadump slice: lines while the output holds less (one pool block,
 * with room for a last line), records looked at. */
#define METADUMP_SLICE (8u << 10)
#define METADUMP_RECORDS 4096u
#define ADMIN_TOKENS 24
#define CRAWL_FIRST_MS 100         /* a crawl's first step: a tick's worth (server.c) */

struct words {
    struct proto_token w[ADMIN_TOKENS];
    int n;
};

static void _split(const struct request *req, struct words *t)
{
    struct proto_token rest = req->keys;
    t->n = 0;
    while (t->n < ADMIN_TOKENS && proto_next_key(&rest, &t->w[t->n]))
        t->n++;
}

static bool _is(const struct proto_token *t, const char *word)
{
    return t->len == strlen(word) && memcmp(t->p, word, t->len) == 0;
}

static void _line(struct out *out, const char *s) { out_line(out, s, strlen(s)); }

/* safe_strtoul's digits (no sign, no junk), at most 32 bits. */
static bool _u32(const struct proto_token *t, uint32_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < t->len; i++) {
        if (t->p[i] < '0' || t->p[i] > '9' || (x = x * 10 + (uint64_t)(t->p[i] - '0')) > UINT32_MAX)
            return false;
    }
    *v = (uint32_t)x;
    return t->len > 0;
}

/* safe_strtol's syntax: a sign and digits that fit a long (memcached keeps
 * 32 bits of it; up to 18 digits always fit). */
static bool _long(const struct proto_token *t)
{
    size_t sign = t->len > 0 && (t->p[0] == '-' || t->p[0] == '+');
    if (t->len == sign || t->len - sign > 18)
        return false;
    for (size_t i = sign; i < t->len; i++)
        if (t->p[i] < '0' || t->p[i] > '9')
            return false;
    return true;
}

/* --- stats detail ----------------------------------------------------------------- */

static void _prefix_line(void *arg, const char *line, size_t n)
{
    out_copy(arg, line, n);
}

static void _detail(struct ops_ctx *ctx, const struct proto_token *what, struct out *out)
{
    if (_is(what, "on") || _is(what, "off")) {
        ctx->detail = what->len == 2;
        if (ctx->detail && !ctx->prefixes)
            ctx->prefixes = prefix_create(ctx->cfg->prefix_delimiter);
        _line(out, "OK");
    } else if (_is(what, "dump")) {
        if (ctx->prefixes)
            prefix_dump(ctx->prefixes, _prefix_line, out);
        _line(out, "END");
    } else {
        _line(out, "CLIENT_ERROR usage: stats detail on|off|dump");
    }
}

/* --- stats cachedump ---------------------------------------------------------------- */

struct dump {
    struct out *out;
    uint32_t limit, count;
    size_t bytes;
};

static bool _cachedump_one(void *arg, const struct item_view *it)
{
    struct dump *d = arg;
    char line[PROTO_KEY_MAX + 64];
    size_t n = fmt_buf(line, sizeof(line), "ITEM %.*s [%llu b; %lld s]\r\n", (int)it->nkey, it->key,
                       (unsigned long long)it->nvalue, (long long)it->exp);
    if (d->bytes + n > CACHEDUMP_MAX - 6)
        return false; /* memcached stops at its 2 MB buffer too */
    d->bytes += n;
    out_copy(d->out, line, n);
    return !d->limit || ++d->count < d->limit;
}

static void _cachedump(struct ops_ctx *ctx, const struct words *t, struct out *out)
{
    uint32_t cls, limit;
    if (!ctx->cfg->dump_enabled)
        _line(out, "CLIENT_ERROR stats cachedump not allowed");
    else if (t->n < 4)
        _line(out, "CLIENT_ERROR bad command line");
    else if (!_u32(&t->w[2], &cls) || !_u32(&t->w[3], &limit))
        _line(out, "CLIENT_ERROR bad command line format");
    else if (cls >= 64)
        _line(out, "CLIENT_ERROR Illegal slab id");
    else {
        struct dump d = {out, limit, 0, 0};
        struct store_cursor cur = {0};
        if (cls == 1) /* memg's one class: every item */
            ops_walk(ctx, &cur, UINT32_MAX, _cachedump_one, &d);
        _line(out, "END");
    }
}

bool admin_stats(struct ops_ctx *ctx, const struct request *req, struct out *out)
{
    struct words t;
    _split(req, &t);
    if (t.n >= 2 && _is(&t.w[1], "detail")) {
        struct proto_token none = {"", 0};
        if (!ctx->cfg->dump_enabled) /* 1.6.45: -X turns detail off too */
            _line(out, "CLIENT_ERROR stats detail not allowed");
        else
            _detail(ctx, t.n > 2 ? &t.w[2] : &none, out);
        return true;
    }
    if (t.n >= 2 && _is(&t.w[1], "cachedump")) {
        _cachedump(ctx, &t, out);
        return true;
    }
    return false;
}

/* --- lru_crawler metadump ------------------------------------------------------------- */

/* Where metadump lines go, the ops whose -C decides their size=, and which
 * dump: metadump's key=value lines or mgdump's "mg <key>" (1.6.45). */
struct mdump {
    struct out *out;
    const struct ops_ctx *ctx;
    bool mg;
};

/* One line per item; false once the slice is full. */
static bool _metadump_one(void *arg, const struct item_view *it)
{
    struct mdump *md = arg;
    char key[PROTO_KEY_MAX * 3 + 1], line[sizeof(key) + 160];
    size_t n;
    if (md->mg && (it->mbits & ITEM_BINKEY)) {
        memcpy(line, "mg ", 3);
        n = 3 + base64_encode(it->key, it->nkey, line + 3);
        memcpy(line + n, " b\r\n", 4);
        n += 4;
    } else if (md->mg) {
        n = fmt_buf(line, sizeof(line), "mg %.*s\r\n", (int)it->nkey, it->key);
    } else {
        size_t nk = fmt_uri(key, it->key, it->nkey);
        n = fmt_buf(line, sizeof(line),
                    "key=%.*s exp=%lld la=%lld cas=%llu fetch=%s cls=1 size=%llu flags=%llu \n",
                    (int)nk, key, it->exp ? (long long)it->exp : -1LL, (long long)it->atime,
                    (unsigned long long)it->cas, (it->mbits & ITEM_FETCHED) ? "yes" : "no",
                    (unsigned long long)ops_item_total(md->ctx, it),
                    (unsigned long long)it->flags);
    }
    out_copy(md->out, line, n);
    return out_pending(md->out) < METADUMP_SLICE;
}

static bool _digits_and_commas(const struct proto_token *t)
{
    for (size_t i = 0; i < t->len; i++)
        if ((t->p[i] < '0' || t->p[i] > '9') && t->p[i] != ',')
            return false;
    return true;
}

/* A class list ("1", "1,2") names memg's one class or none. */
static bool _names_class_one(const struct proto_token *t)
{
    struct proto_token rest = *t;
    for (size_t i = 0, s = 0; i <= t->len; i++) {
        if (i == t->len || t->p[i] == ',') {
            if (i - s == 1 && t->p[s] == '1')
                return true;
            s = i + 1;
        }
    }
    (void)rest;
    return false;
}

/* Each id of a class list is one memcached could have (1 to 63). */
static bool _class_ids_ok(const struct proto_token *t)
{
    unsigned id = 0;
    for (size_t i = 0; i <= t->len; i++) {
        if (i == t->len || t->p[i] == ',') {
            if (id < 1 || id > 63)
                return false;
            id = 0;
        } else if ((id = id * 10 + (unsigned)(t->p[i] - '0')) > 63) {
            return false;
        }
    }
    return true;
}

/* All items stream a slice a turn, each once the last is sent (the copy
 * buffer holds one slice whatever the cache size); *cur keeps the walk
 * between turns. True while the dump goes on. */
static bool _metadump(struct ops_ctx *ctx, const struct words *t, struct out *out,
                      struct store_cursor **cur)
{
    bool mg = _is(&t->w[1], "mgdump");
    if (!ctx->cfg->dump_enabled) {
        _line(out, mg ? "ERROR key dump not allowed" : "ERROR metadump not allowed");
        return false;
    }
    if (t->n < 3) {
        _line(out, "ERROR");
        return false;
    }
    const struct proto_token *what = &t->w[2];
    struct mdump md = {out, ctx, mg};
    bool walk = _is(what, "all") || _is(what, "hash") ||
                (_digits_and_commas(what) && _names_class_one(what));
    if (_digits_and_commas(what) && !_class_ids_ok(what)) {
        _line(out, "BADCLASS invalid class id");
        return false;
    }
    if (!*cur) { /* a new dump: 1.6.45 wants it first in line, and says OK */
        if (out_pending(out)) {
            _line(out, mg ? "ERROR cannot pipeline other commands before mgdump"
                          : "ERROR cannot pipeline other commands before metadump");
            return false;
        }
        _line(out, "OK");
    }
    if (walk) {
        if (!*cur && !(*cur = calloc(1, sizeof(**cur)))) {
            _line(out, "SERVER_ERROR out of memory");
            return false;
        }
        if (out_pending(out) ||
            ops_walk(ctx, *cur, METADUMP_RECORDS, _metadump_one, &md))
            return true;
        free(*cur);
        *cur = NULL;
    } else if (!_digits_and_commas(what)) { /* memg: the keys named */
        for (int i = 2; i < t->n; i++) {
            struct item_view it;
            if (t->w[i].len <= PROTO_KEY_MAX &&
                ops_peek(ctx, t->w[i].p, t->w[i].len, &it))
                _metadump_one(&md, &it);
        }
    }
    _line(out, mg ? "EN" : "END");
    return false;
}

/* --- lru_crawler crawl, enable, disable, sleep, tocrawl ------------------------------ */

/* memcached's safe_strtoul: digits, up to 64 bits (tocrawl keeps the low 32). */
static bool _ulong(const struct proto_token *t, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < t->len; i++) {
        unsigned d = (unsigned)(t->p[i] - '0');
        if (d > 9 || x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return t->len > 0;
}

/* "all", or class ids 1..63 separated by commas (empty ones skipped), as
 * memcached reads them; memg has one class, so a crawl is always of all. */
static bool _class_list(const struct proto_token *t)
{
    if (_is(t, "all"))
        return true;
    for (size_t i = 0, s = 0; i <= t->len; i++) {
        if (i < t->len && t->p[i] != ',')
            continue;
        struct proto_token id = {t->p + s, i - s};
        uint64_t v;
        if (id.len && (!_ulong(&id, &v) || v < 1 || v > 63))
            return false;
        s = i + 1;
    }
    return true;
}

/* memg's crawler is the store's expiry sweep: `disable` stops its
 * background pass, `crawl` starts a pass of its own now. */
static void _crawler(struct ops_ctx *ctx, const struct words *t, struct out *out)
{
    const struct proto_token *sub = t->n > 1 ? &t->w[1] : NULL;
    uint64_t v = 0;
    if (t->n == 2 && (_is(sub, "enable") || _is(sub, "disable"))) {
        bool on = _is(sub, "enable");
        if (on && ctx->crawler) {
            _line(out, "ERROR failed to start lru crawler thread");
            return;
        }
        ctx->crawler = on;
        ops_crawler_enable(ctx, on);
        _line(out, "OK");
    } else if (t->n != 3) {
        _line(out, "ERROR");
    } else if (_is(sub, "crawl")) {
        if (!ctx->crawler)
            _line(out, "CLIENT_ERROR lru crawler disabled");
        else if (!_class_list(&t->w[2]))
            _line(out, "BADCLASS invalid class id");
        else if (!ops_crawl(ctx, ctx->crawler_tocrawl))
            _line(out, "BUSY currently processing crawler request");
        else {
            ops_crawl_tick(ctx, CRAWL_FIRST_MS); /* memcached's thread starts at once */
            _line(out, "OK");
        }
    } else if (_is(sub, "sleep") || _is(sub, "tocrawl")) {
        if (!_ulong(&t->w[2], &v)) {
            _line(out, "CLIENT_ERROR bad command line format");
        } else if (_is(sub, "sleep") && v > 1000000) {
            _line(out, "CLIENT_ERROR sleep must be one second or less");
        } else {
            *(_is(sub, "sleep") ? &ctx->crawler_sleep : &ctx->crawler_tocrawl) = (uint32_t)v;
            _line(out, "OK");
        }
    } else {
        _line(out, "ERROR");
    }
}

/* --- watch --------------------------------------------------------------------------- */

static void _watch(struct ops_ctx *ctx, const struct words *t, struct out *out)
{
    if (!ctx->cfg->watch_enabled) {
        _line(out, "CLIENT_ERROR watch commands not allowed");
        return;
    }
    unsigned mask = t->n > 1 ? 0 : LOG_W_FETCHERS; /* memcached's default */
    for (int i = 1; i < t->n; i++) {
        if (_is(&t->w[i], "fetchers"))
            mask |= LOG_W_FETCHERS;
        else if (_is(&t->w[i], "mutations"))
            mask |= LOG_W_MUTATIONS;
        else if (_is(&t->w[i], "connevents"))
            mask |= LOG_W_CONNEVENTS;
        else if (_is(&t->w[i], "evictions"))
            mask |= LOG_W_EVICTIONS;
        else if (_is(&t->w[i], "deletions"))
            mask |= LOG_W_DELETIONS;
        else {
            _line(out, "ERROR");
            return;
        }
    }
    if (!ctx->watch) {
        _line(out, "CLIENT_ERROR watch needs a connection");
        return;
    }
    _line(out, "OK");
    if (!ctx->watch(out, mask)) {
        out_drop_tail(out, "OK\r\n", 4);
        _line(out, "WATCHER_TOO_MANY log watcher limit reached");
    }
}

/* --- slabs ---------------------------------------------------------------------------- */

/* strtod's decimal syntax: [sign] digits [. digits] [e [sign] digits], one
 * digit at least (memcached's safe_strtod also takes hex, inf and nan). */
static bool _decimal(const struct proto_token *t)
{
    size_t i = 0, digits = 0;
    i += i < t->len && (t->p[i] == '+' || t->p[i] == '-');
    for (; i < t->len && t->p[i] >= '0' && t->p[i] <= '9'; i++)
        digits++;
    if (i < t->len && t->p[i] == '.')
        for (i++; i < t->len && t->p[i] >= '0' && t->p[i] <= '9'; i++)
            digits++;
    if (digits > 0 && i < t->len && (t->p[i] == 'e' || t->p[i] == 'E')) {
        size_t j = i + 1, exp = 0;
        j += j < t->len && (t->p[j] == '+' || t->p[j] == '-');
        for (; j < t->len && t->p[j] >= '0' && t->p[j] <= '9'; j++)
            exp++;
        i = exp > 0 ? j : i; /* "1e" is 1 followed by junk */
    }
    return digits > 0 && i == t->len;
}

/* memcached's checks of the words come first, in its order and words; a
 * request memcached would carry out gets memg's reason it cannot. */
static void _slabs(const struct words *t, struct out *out)
{
    const char *no_slabs = "CLIENT_ERROR memg has no slab classes: items share one log of "
                           "segments, compacted in place";
    uint32_t level;
    if (t->n == 4 && _is(&t->w[1], "reassign")) {
        bool ok = _long(&t->w[2]) && _long(&t->w[3]);
        _line(out, ok ? no_slabs : "CLIENT_ERROR bad command line format");
    } else if (t->n >= 3 && _is(&t->w[1], "automove")) {
        if (_is(&t->w[t->n - 1], "noreply"))
            return; /* set_noreply_maybe: even the errors are silenced */
        if (_is(&t->w[2], "ratio"))
            _line(out, t->n >= 4 && _decimal(&t->w[3]) ? no_slabs : "ERROR");
        else if (!_u32(&t->w[2], &level))
            _line(out, "CLIENT_ERROR bad command line format");
        else
            _line(out, level <= 2 ? no_slabs : "ERROR");
    } else {
        _line(out, "ERROR");
    }
}

/* memcached's debug build (proto_text.c process_debugtime_command); a
 * release build, and memg without -o debug_time, know no such command. */
static void _debugtime(struct ops_ctx *ctx, const struct words *t, struct out *out)
{
    uint64_t v;
    bool neg;
    if (!ctx->cfg->debug_time || t->n < 2) {
        _line(out, "ERROR");
    } else if (_is(&t->w[1], "p") || _is(&t->w[1], "r")) {
        ops_clock_pause(ctx, _is(&t->w[1], "p"));
        _line(out, "OK");
    } else if (!proto_digits(t->w[1].p, t->w[1].len, 22, true, (uint64_t)INT64_MAX + 1, &v, &neg) ||
               (!neg && v > INT64_MAX)) {
        _line(out, "ERROR"); /* mcmc_tokto64's digits, a leading '-' */
    } else {
        ops_clock_shift(ctx, neg ? (int64_t)(0 - v) : (int64_t)v);
        _line(out, "OK");
    }
}

bool admin_command(struct ops_ctx *ctx, const struct request *req, struct out *out,
                   struct store_cursor **dump)
{
    struct words t;
    _split(req, &t);
    const struct proto_token *sub = t.n > 1 ? &t.w[1] : NULL;
    if (_is(&t.w[0], "watch")) {
        _watch(ctx, &t, out);
    } else if (_is(&t.w[0], "lru_crawler")) {
        bool dumps = sub && (_is(sub, "metadump") || _is(sub, "mgdump"));
        if (dumps && !ctx->crawler)
            _line(out, "CLIENT_ERROR lru crawler disabled");
        else if (dumps)
            return _metadump(ctx, &t, out, dump);
        else
            _crawler(ctx, &t, out);
    } else if (_is(&t.w[0], "slabs")) {
        _slabs(&t, out);
    } else if (_is(&t.w[0], "debugtime")) {
        _debugtime(ctx, &t, out);
    } else { /* lru */
        if (sub && (_is(sub, "tune") || _is(sub, "mode") || _is(sub, "temp_ttl")))
            _line(out, "CLIENT_ERROR memg has no segmented LRU: one FIFO of segments whose "
                       "read items survive eviction");
        else
            _line(out, "ERROR");
    }
    return false;
}
