/* prod: request streams shaped by the published statistics of Twitter's
 * production cache clusters (twitter/cache-trace, stat/2020Mar.md): key and
 * value sizes, op mix, TTL mix, Zipf alpha, one-hit-wonder share and mean
 * requests per object. The numbers are the study's; the generator is ours
 * (bench/README.md, "Production-shaped workloads", says how it scales them). */
#ifndef MEMG_BENCH_PROD_H
#define MEMG_BENCH_PROD_H

#include <stdint.h>

enum prod_op { POP_GET, POP_SET, POP_ADD, POP_INCR, POP_DEL, POP_N };

#define PROD_TTLS 6
#define PROD_TRACE_SECS (7 * 86400) /* the traces span a week */

struct prod_profile {
    const char *name;        /* "c52" */
    unsigned key;            /* key bytes */
    uint32_t value;          /* mean value bytes */
    double alpha;            /* Zipf exponent */
    double ohw;              /* one-hit-wonder share of the objects, 0..1 */
    double freq;             /* mean requests per object over the trace */
    uint16_t op[POP_N];      /* per mille: get (gets too), set (cas too), add, incr, delete */
    uint32_t ttl[PROD_TTLS]; /* seconds (0: end of the list) */
    uint16_t ttl_pm[PROD_TTLS];
};

/* A profile scaled to a run of `requests` requests lasting run_secs. */
struct prod_run {
    const struct prod_profile *p;
    uint32_t keys;        /* Zipf keys: the objects (requests / mean frequency) not requested once */
    uint32_t fresh_max;   /* keys requested once, numbered from keys on */
    double p_fresh;       /* share of requests for a key never seen again */
    uint32_t ttl_wall[PROD_TTLS]; /* exptimes sent: the week mapped onto the run, >= 1 s */
    uint16_t op_cum[POP_N];
};

const struct prod_profile *prod_find(const char *name);
void prod_scale(struct prod_run *r, const struct prod_profile *p, uint64_t requests,
                double run_secs);
/* The exptime (seconds, 0 none) of key idx's stores. */
uint32_t prod_ttl(const struct prod_run *r, uint64_t key_hash);
/* The op of a request from a uniform draw u in [0, 1). */
enum prod_op prod_op(const struct prod_run *r, double u);
/* Value bytes: from half to 1.5 times the mean. */
void prod_sizes(const struct prod_profile *p, uint32_t *vmin, uint32_t *vmax);

#endif
