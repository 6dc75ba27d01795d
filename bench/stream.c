/* stream: the read-through request stream (stream.h). */
#include "stream.h"
#include "reply.h"

#include <stdlib.h>
#include <string.h>

const struct option stream_longopts[STREAM_NOPTS] = {
    {"alpha", 1, 0, STREAM_OPT_BASE + 0},       {"sizes", 1, 0, STREAM_OPT_BASE + 1},
    {"warm", 1, 0, STREAM_OPT_BASE + 2},        {"measure", 1, 0, STREAM_OPT_BASE + 3},
    {"scan-at", 1, 0, STREAM_OPT_BASE + 4},     {"scan-len", 1, 0, STREAM_OPT_BASE + 5},
    {"churn-every", 1, 0, STREAM_OPT_BASE + 6}, {"churn-step", 1, 0, STREAM_OPT_BASE + 7},
    {"window", 1, 0, STREAM_OPT_BASE + 8},      {"stream-keys", 1, 0, STREAM_OPT_BASE + 9},
    {"stream-seed", 1, 0, STREAM_OPT_BASE + 10}, {"cluster", 1, 0, STREAM_OPT_BASE + 11},
    {"run-secs", 1, 0, STREAM_OPT_BASE + 12},
};

const char STREAM_HELP[] =
    "  read-through stream (memg-bench --through, memg-sim):\n"
    "      --stream-keys N    zipf key space (1000000)\n"
    "      --alpha A          zipf exponent, any > 0 (1.0)\n"
    "      --sizes uniform|heavy  values 100-1000 B, or that with 2% of keys 1-10 KB\n"
    "                         and 0.2% 100 KB (uniform)\n"
    "      --stream-seed N    the stream's seed (1)\n"
    "      --warm N           requests before the measured ones (1000000)\n"
    "      --measure N        measured requests (1000000)\n"
    "      --scan-at N        a one-time scan from this measured request (0: none)\n"
    "      --scan-len N       keys the scan reads once each, one request in two\n"
    "      --churn-every N    every N requests the popularity shifts (0: never)\n"
    "      --churn-step N     new keys that take the top ranks each time (1000)\n"
    "      --window N         hot gets per window of the scan recovery (50000)\n"
    "      --cluster NAME     a Twitter production cluster's shape (c52 c17 c24 c29 c45\n"
    "                         c12 c37 c22): sizes, op mix, TTLs, alpha, one-hit wonders;\n"
    "                         keys from requests / mean frequency (--stream-keys and\n"
    "                         --alpha ignored)\n"
    "      --run-secs S       with --cluster: the run's length; the trace's week maps\n"
    "                         onto it, TTLs with it (60)\n";

void stream_defaults(struct stream_cfg *c)
{
    *c = (struct stream_cfg){.keys = 1000000, .alpha = 1.0, .seed = 1, .warm = 1000000,
                             .measure = 1000000, .churn_step = 1000, .window = 50000,
                             .run_secs = 60};
}

bool stream_option(struct stream_cfg *c, int code, const char *arg)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    bool num = *arg && *end == 0;
    switch (code - STREAM_OPT_BASE) {
    case 0: c->alpha = strtod(arg, &end); return *end == 0 && c->alpha > 0 && c->alpha < 4;
    case 1:
        c->heavy = arg[0] == 'h';
        return !strcmp(arg, "heavy") || !strcmp(arg, "uniform");
    case 2: c->warm = v; return num;
    case 3: c->measure = v; return num;
    case 4: c->scan_at = v; return num;
    case 5: c->scan_len = (uint32_t)v; return num && v < (1u << 30);
    case 6: c->churn_every = v; return num;
    case 7: c->churn_step = (uint32_t)v; return num && v < (1u << 30);
    case 8: c->window = (uint32_t)v; return num && v > 0 && v < (1u << 30);
    case 9: c->keys = (uint32_t)v; return num && v > 0 && v < (1u << 30);
    case 10: c->seed = v; return num;
    case 11: return (c->prod = prod_find(arg)) != NULL;
    case 12: c->run_secs = strtod(arg, &end); return *end == 0 && c->run_secs > 0;
    }
    return false;
}

const char *stream_check(const struct stream_cfg *c)
{
    if (c->scan_at && (c->scan_len == 0 || c->scan_at + 2ull * c->scan_len > c->measure))
        return "the scan (two requests per scan key) must end within --measure";
    if (!c->scan_at && c->scan_len)
        return "--scan-len needs --scan-at";
    if (c->churn_every && c->churn_step >= c->keys)
        return "--churn-step must be below --stream-keys";
    if (c->prod && (c->scan_at || c->churn_every || c->heavy))
        return "--cluster has its own shape: no scan, churn or --sizes";
    return NULL;
}

bool stream_kv(const struct stream_cfg *c, struct kv_spec *kv, char *err, size_t errlen)
{
    if (c->prod) {
        uint32_t vmin, vmax;
        prod_sizes(c->prod, &vmin, &vmax);
        return kv_setup(kv, stream_space(c), c->prod->key, c->prod->key, vmin, vmax, err, errlen);
    }
    if (!kv_setup(kv, stream_space(c), 14, 14, 100, c->heavy ? KV_HEAVY_BIG : 1000, err, errlen))
        return false;
    kv->heavy = c->heavy;
    return true;
}

uint32_t stream_space(const struct stream_cfg *c)
{
    if (c->prod) {
        struct prod_run r;
        prod_scale(&r, c->prod, stream_total(c), c->run_secs);
        return r.keys + r.fresh_max;
    }
    return c->keys + (c->scan_at ? c->scan_len : 0);
}

uint64_t stream_total(const struct stream_cfg *c)
{
    return c->warm + c->measure;
}

static double _urand(void *arg)
{
    uint64_t *x = arg; /* splitmix64: any seed, 0 included, gives a good sequence */
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

void stream_setup(struct stream *s, const struct stream_cfg *c)
{
    s->c = *c;
    if (c->prod) {
        prod_scale(&s->pr, c->prod, stream_total(c), c->run_secs);
        s->c.keys = s->pr.keys;
        s->c.alpha = c->prod->alpha;
    }
    s->fresh = 0;
    s->op = 0;
    c = &s->c;
    zipf_ri_setup(&s->z, c->keys, c->alpha);
    s->rng = c->seed;
    s->i = 0;
    s->scanned = 0;
    s->mult = zipf_spread(c->keys);
}

uint32_t stream_next(struct stream *s, bool *scan)
{
    const struct stream_cfg *c = &s->c;
    uint64_t i = s->i++;
    uint64_t from = c->warm + c->scan_at;
    *scan = c->scan_at && i >= from && (i - from) % 2 == 1 && s->scanned < c->scan_len;
    if (*scan)
        return c->keys + s->scanned++;
    if (c->prod) {
        s->op = (uint8_t)prod_op(&s->pr, _urand(&s->rng));
        if (s->fresh < s->pr.fresh_max && _urand(&s->rng) < s->pr.p_fresh)
            return c->keys + s->fresh++; /* a one-hit wonder: never asked for again */
    }
    uint64_t rank = zipf_ri_rank(&s->z, _urand, &s->rng);
    if (c->churn_every) { /* each epoch, churn_step keys new to the top */
        uint64_t shift = (i / c->churn_every) * c->churn_step % c->keys;
        rank = (rank + c->keys - shift) % c->keys;
    }
    return (uint32_t)(rank * s->mult % c->keys);
}

void recovery_feed(struct recovery *r, const struct stream_cfg *c, uint64_t idx, bool scan,
                   bool hit)
{
    if (!c->scan_at || idx < c->warm || r->state == 3)
        return;
    if (scan) {
        if (r->state == 0) {
            r->state = 1;
            r->pre = r->pre_gets ? (double)r->pre_hits / (double)r->pre_gets : 0;
            r->low = 1.0;
            r->win_gets = r->win_hits = 0;
        }
        if (++r->scanned == c->scan_len) { /* the scan's last key came back */
            r->state = 2;
            r->scan_end = idx;
            r->win_gets = r->win_hits = 0;
        }
        return;
    }
    r->win_gets++;
    r->win_hits += hit;
    if (r->win_gets < c->window)
        return;
    double ratio = (double)r->win_hits / (double)r->win_gets;
    if (r->state == 0) {
        r->pre_gets = r->win_gets;
        r->pre_hits = r->win_hits;
    } else {
        r->low = ratio < r->low ? ratio : r->low;
        if (r->state == 2 && ratio >= r->pre * 0.99) {
            r->state = 3;
            r->back_at = idx;
        }
    }
    r->win_gets = r->win_hits = 0;
}
