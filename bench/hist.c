/* hist: log-linear buckets. A value v < 64 has its own bucket; above that,
 * with msb the index of its top bit and shift = msb - 6, the bucket is
 * (shift << 6) + (v >> shift), where v >> shift lies in [64, 128). */
#include "hist.h"

#include <string.h>

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof(*h));
}

unsigned hist_index(uint64_t v)
{
    if (v < (1u << HIST_SUB_BITS))
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - HIST_SUB_BITS;
    return (shift << HIST_SUB_BITS) + (unsigned)(v >> shift);
}

uint64_t hist_bucket_high(unsigned b)
{
    if (b < (1u << HIST_SUB_BITS))
        return b;
    unsigned shift = (b >> HIST_SUB_BITS) - 1;
    uint64_t mant = b - ((uint64_t)shift << HIST_SUB_BITS);
    if (shift == 64 - HIST_SUB_BITS - 1 && mant == 127)
        return UINT64_MAX; /* the top bucket: (128 << 57) - 1 would overflow */
    return ((mant + 1) << shift) - 1;
}

void hist_record(struct hist *h, uint64_t v)
{
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum += (double)v;
    h->bucket[hist_index(v)]++;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q >= 1.0)
        return h->max;
    uint64_t want = (uint64_t)(q * (double)h->count);
    if ((double)want < q * (double)h->count || want == 0)
        want++; /* ceil, and at least the first value */
    uint64_t seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        seen += h->bucket[b];
        if (seen >= want) {
            uint64_t v = hist_bucket_high(b);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

double hist_mean(const struct hist *h)
{
    return h->count ? h->sum / (double)h->count : 0.0;
}
