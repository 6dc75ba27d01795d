/* hist: a log-linear latency histogram (HDR-like). Values are unsigned
 * integers (the bench records nanoseconds); each power of two is split into
 * 64 linear sub-buckets, so any reported percentile is within 1/64 (1.6%)
 * of the recorded value, with the exact maximum kept on the side. */
#ifndef MEMG_BENCH_HIST_H
#define MEMG_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) << HIST_SUB_BITS)

struct hist {
    uint64_t count;
    uint64_t min, max;
    double sum;
    uint64_t bucket[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_record(struct hist *h, uint64_t v);
/* Value at quantile q in [0,1]: the highest value equivalent to the bucket
 * holding the q-th recorded value, capped at the exact max. 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);

/* Bucket arithmetic, exposed for the self-test. */
unsigned hist_index(uint64_t v);
uint64_t hist_bucket_high(unsigned b);

#endif
