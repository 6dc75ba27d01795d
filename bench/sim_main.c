/* memg-sim: the offline references of the read-through benchmark. Builds
 * the same stream as memg-bench --through (stream.h), then runs LRU,
 * S3-FIFO and Belady's optimum over it for each byte budget, and prints one SIM line
 * per budget and policy (miss ratios of the measured requests, and the scan
 * recovery in requests). */
#include "reply.h"
#include "sim.h"
#include "sim_prod.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void _usage(FILE *f)
{
    fprintf(f, "usage: memg-sim [--mem MB[,MB...]] [stream options]\n"
               "  --mem LIST   byte budgets in MiB (16,32,64,128)\n"
               "  --policy LIST  only these policies (default: all)\n%s",
            STREAM_HELP);
}

/* Whether policy is in the comma-separated list (",a,b,"; "" is all). */
static bool _wanted(const char *list, const char *policy)
{
    char want[64];
    snprintf(want, sizeof(want), ",%s,", policy);
    return !*list || strstr(list, want) != NULL;
}

struct outcome {
    uint64_t gets, misses, hot_gets, hot_misses;
    struct recovery rec;
};

/* The measured requests are from..n-1; with get (a production shape) only
 * those it marks are counted. */
static void _count(const struct stream_cfg *c, const uint8_t *scan, const uint8_t *get,
                   size_t from, size_t n, const uint8_t *hit, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    for (uint64_t i = from; i < n; i++) {
        if (get && !get[i])
            continue;
        o->gets++;
        o->misses += !hit[i];
        if (!scan[i]) {
            o->hot_gets++;
            o->hot_misses += !hit[i];
        }
        recovery_feed(&o->rec, c, i, scan[i], hit[i]);
    }
}

static void _print(const char *policy, const char *charge, double mb, const struct stream_cfg *c,
                   const struct outcome *o)
{
    printf("SIM mem=%g policy=%s charge=%s gets=%llu misses=%llu miss_ratio=%.5f "
           "hot_miss_ratio=%.5f",
           mb, policy, charge, (unsigned long long)o->gets, (unsigned long long)o->misses,
           o->gets ? (double)o->misses / (double)o->gets : 0,
           o->hot_gets ? (double)o->hot_misses / (double)o->hot_gets : 0);
    if (c->scan_at)
        printf(" scan_pre=%.5f scan_low=%.5f scan_back_req=%lld", o->rec.pre, o->rec.low,
               o->rec.state == 3 ? (long long)(o->rec.back_at - o->rec.scan_end) : -1ll);
    printf("\n");
}

/* A production-shaped stream as get-or-fill requests of key versions
 * (sim_prod.h): key becomes the versions named (deletes dropped: a version
 * never named again is the first any offline policy lets go), the costs
 * are per version, get marks the gets, from is the first measured one. */
static bool _versions(const struct stream_cfg *c, const struct prod_run *pr, uint32_t *key,
                      uint8_t *op, size_t *n, size_t *from, uint8_t **get, uint32_t **cost_g,
                      uint32_t **cost_c, uint32_t *space)
{
    uint64_t *ttl = malloc(*space * sizeof *ttl);
    uint32_t *vkey = malloc(*n * sizeof *vkey), *vbase = malloc(*n * sizeof *vbase);
    uint32_t *vg = malloc(*n * sizeof *vg), *vc = malloc(*n * sizeof *vc);
    *get = malloc(*n);
    if (!op || !ttl || !vkey || !vbase || !vg || !vc || !*get) {
        fprintf(stderr, "memg-sim: out of memory\n");
        return false;
    }
    double per_sec = (double)*n / c->run_secs; /* the bench paces at this rate */
    for (uint32_t k = 0; k < *space; k++)
        ttl[k] = (uint64_t)(prod_ttl(pr, kv_hash(k)) * per_sec);
    uint32_t nv = sim_prod_versions(key, op, *n, ttl, *space, vkey, *get, vbase);
    size_t m = 0, measured = *from;
    for (size_t i = 0; i < *n; i++) {
        if (i == measured)
            *from = m;
        if (vkey[i] == UINT32_MAX)
            continue;
        key[m] = vkey[i];
        (*get)[m++] = (*get)[i];
    }
    for (uint32_t v = 0; v < nv; v++) {
        vg[v] = (*cost_g)[vbase[v]];
        vc[v] = (*cost_c)[vbase[v]];
    }
    free(*cost_g);
    free(*cost_c);
    *cost_g = vg;
    *cost_c = vc;
    *n = m;
    *space = nv;
    free(ttl);
    free(vkey);
    free(vbase);
    return nv > 0;
}

int main(int argc, char **argv)
{
    struct stream_cfg c;
    stream_defaults(&c);
    char mems[256] = "16,32,64,128", policies[256] = "";
    struct option lo[STREAM_NOPTS + 4];
    memcpy(lo, stream_longopts, sizeof(stream_longopts));
    lo[STREAM_NOPTS] = (struct option){"mem", 1, 0, 'm'};
    lo[STREAM_NOPTS + 1] = (struct option){"help", 0, 0, 'h'};
    lo[STREAM_NOPTS + 2] = (struct option){"policy", 1, 0, 'P'};
    lo[STREAM_NOPTS + 3] = (struct option){0, 0, 0, 0};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (ch == 'h') {
            _usage(stdout);
            return 0;
        }
        if (ch == 'm' && strlen(optarg) < sizeof(mems)) {
            strcpy(mems, optarg);
            continue;
        }
        if (ch == 'P' && strlen(optarg) + 2 < sizeof(policies)) {
            snprintf(policies, sizeof(policies), ",%s,", optarg);
            continue;
        }
        if (ch < STREAM_OPT_BASE || !stream_option(&c, ch, optarg)) {
            _usage(stderr);
            return 2;
        }
    }
    const char *bad = stream_check(&c);
    if (bad || optind != argc) {
        fprintf(stderr, "memg-sim: %s\n", bad ? bad : "unexpected argument");
        return 2;
    }
    struct kv_spec kv;
    char err[128];
    if (!stream_kv(&c, &kv, err, sizeof(err))) {
        fprintf(stderr, "memg-sim: %s\n", err);
        return 2;
    }
    uint32_t space = stream_space(&c);
    size_t n = stream_total(&c);
    uint32_t *key = malloc(n * sizeof *key), *cost_g = malloc(space * sizeof *cost_g),
             *cost_c = malloc(space * sizeof *cost_c);
    uint8_t *scan = malloc(n), *hit = malloc(n);
    if (!key || !cost_g || !cost_c || !scan || !hit) {
        fprintf(stderr, "memg-sim: out of memory\n");
        return 1;
    }
    char kbuf[KV_KEY_MAX];
    for (uint32_t k = 0; k < space; k++) {
        unsigned nkey = kv_key(&kv, k, kbuf);
        cost_g[k] = sim_cost_memg(nkey, kv_vlen(&kv, k), kv_flags(k));
        cost_c[k] = sim_cost_memcached(nkey, kv_vlen(&kv, k), kv_flags(k));
    }
    struct stream s;
    stream_setup(&s, &c);
    uint8_t *op = c.prod ? malloc(n) : NULL, *get = NULL;
    for (size_t i = 0; i < n; i++) {
        bool sc;
        key[i] = stream_next(&s, &sc);
        scan[i] = sc;
        if (op)
            op[i] = s.op;
    }
    size_t from = c.warm;
    if (c.prod && !_versions(&c, &s.pr, key, op, &n, &from, &get, &cost_g, &cost_c, &space))
        return 1;
    /* Each policy over the same stream; LRU also charged as memcached. */
    typedef bool sim_fn(const uint32_t *, size_t, const uint32_t *, uint32_t, uint64_t, uint8_t *);
    static const struct {
        const char *policy;
        sim_fn *fn;
        bool memcached;
    } runs[] = {{"lru", sim_lru, false}, {"lru", sim_lru, true},
                {"s3fifo", sim_s3fifo, false}, {"opt", sim_opt, false},
                {"s3size", sim_s3size, false}, {"gdsf", sim_gdsf, false},
                {"inf", sim_inf, false}, {"fpb", sim_fpb, false}, {"lfu", sim_lfu, false},
                {"s3bit", sim_s3bit, false}, {"s3adm", sim_s3adm, false},
                {"s3tlfu", sim_s3tlfu, false}, {"s3fb", sim_s3fb, false},
                {"s3gcut", sim_s3gcut, false}, {"s3gwin", sim_s3gwin, false},
                {"s3gfill", sim_s3gfill, false}};
    for (char *tok = strtok(mems, ","); tok; tok = strtok(NULL, ",")) {
        double mb = atof(tok);
        uint64_t budget = (uint64_t)(mb * 1048576.0);
        for (size_t p = 0; p < sizeof(runs) / sizeof(runs[0]); p++) {
            if (!_wanted(policies, runs[p].policy))
                continue;
            struct outcome o;
            if (!runs[p].fn(key, n, runs[p].memcached ? cost_c : cost_g, space, budget, hit))
                return 1;
            _count(&c, scan, get, from, n, hit, &o);
            _print(runs[p].policy, runs[p].memcached ? "memcached" : "memg", mb, &c, &o);
        }
        fflush(stdout);
    }
    return 0;
}
