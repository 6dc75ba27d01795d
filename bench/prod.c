/* prod: production-shaped request streams (prod.h). */
#include "prod.h"

#include <string.h>

#define H 3600u
#define D 86400u
/* twitter/cache-trace stat/2020Mar.md. Op shares as listed (gets counted
 * as get, cas as set, shares under 1% left out); TTL shares as listed. */
static const struct prod_profile PROD[] = {
    {"c52", 20, 273, 1.2117, 0.1936, 32.6, {930, 20, 40, 0, 0}, {D, 14 * D, 12 * H}, {650, 270, 70}},
    {"c17", 19, 212, 2.1106, 0.3887, 60.8, {990, 10, 0, 0, 0}, {5 * D}, {1000}},
    {"c24", 32, 699, 1.3726, 0.0565, 134.8, {990, 10, 0, 0, 0},
     {14 * D, 60, 30 * D, D, H}, {710, 190, 30, 20, 20}},
    {"c29", 36, 799, 1.2323, 0.2304, 22.5, {860, 130, 0, 0, 0}, {H, 2 * H}, {670, 330}},
    {"c45", 10, 120, 0.6372, 0.4874, 2.9, {850, 0, 150, 0, 0}, {15 * D}, {1000}},
    {"c12", 44, 1030, 0.3048, 0.8143, 1.3, {200, 800, 0, 0, 0}, {300, 299}, {980, 20}},
    {"c37", 72, 20134, 0.4251, 0.1488, 3.8, {630, 370, 0, 0, 0},
     {20, 300, 2 * H, 600}, {910, 60, 20, 10}},
    {"c22", 54, 4, 0.7624, 0.4148, 4.3, {720, 100, 0, 180, 0}, {D, H, 1800}, {850, 110, 30}},
};

const struct prod_profile *prod_find(const char *name)
{
    for (unsigned i = 0; i < sizeof(PROD) / sizeof(PROD[0]); i++)
        if (!strcmp(PROD[i].name, name))
            return &PROD[i];
    return NULL;
}

void prod_scale(struct prod_run *r, const struct prod_profile *p, uint64_t requests,
                double run_secs)
{
    memset(r, 0, sizeof(*r));
    r->p = p;
    /* Objects: requests / freq of them, so that a run has the trace's
     * requests per object, and with them its share of first requests (the
     * compulsory misses); the one-hit wonders among them are each requested
     * once, the others share the rest by Zipf. A larger key space for the
     * same requests (this used to force 32 MB of Zipf keys) makes nearly
     * every get a first request: no cache could then hit. */
    double objects = (double)requests / p->freq;
    double once = objects * p->ohw, zipf = objects - once;
    if (once > 0.9 * (double)requests)
        once = 0.9 * (double)requests;
    r->p_fresh = once / (double)requests;
    r->fresh_max = (uint32_t)once + 1;
    r->keys = (uint32_t)zipf;
    /* The week the statistics cover runs in run_secs: a TTL keeps its
     * ratio to the time between requests for an object. */
    double scale = run_secs / PROD_TRACE_SECS;
    for (int i = 0; i < PROD_TTLS && p->ttl[i]; i++) {
        double t = p->ttl[i] * scale;
        r->ttl_wall[i] = t < 1 ? 1 : (uint32_t)(t + 0.5);
    }
    unsigned sum = 0;
    for (int i = 0; i < POP_N; i++)
        r->op_cum[i] = (uint16_t)(sum += p->op[i]);
}

uint32_t prod_ttl(const struct prod_run *r, uint64_t key_hash)
{
    unsigned sum = 0, all = 0;
    for (int i = 0; i < PROD_TTLS && r->p->ttl[i]; i++)
        all += r->p->ttl_pm[i];
    unsigned u = (unsigned)((key_hash >> 40) % (all ? all : 1));
    for (int i = 0; i < PROD_TTLS && r->p->ttl[i]; i++)
        if (u < (sum += r->p->ttl_pm[i]))
            return r->ttl_wall[i];
    return 0;
}

enum prod_op prod_op(const struct prod_run *r, double u)
{
    unsigned x = (unsigned)(u * r->op_cum[POP_N - 1]);
    for (int i = 0; i < POP_N; i++)
        if (x < r->op_cum[i])
            return (enum prod_op)i;
    return POP_GET;
}

void prod_sizes(const struct prod_profile *p, uint32_t *vmin, uint32_t *vmax)
{
    *vmin = p->value / 2 ? p->value / 2 : 1;
    *vmax = p->value + p->value / 2;
}
