/* zipf: Gray et al., "Quickly generating billion-record synthetic
 * databases" (SIGMOD 1994), the generator YCSB uses. O(n) setup, O(1) draw. */
#include "bench.h"

#include <math.h>

static uint64_t _gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

uint64_t zipf_spread(uint32_t n)
{
    /* Spread the hot ranks over the key space: a multiplier prime to n. */
    uint64_t m = 2654435761u % (n ? n : 1);
    while (n > 1 && (m == 0 || _gcd(m, n) != 1))
        m++;
    return n <= 1 ? 1 : m;
}

void zipf_setup(struct zipf *z, uint32_t n, double theta)
{
    z->n = n;
    z->theta = theta;
    z->alpha = 1.0 / (1.0 - theta);
    double zeta2 = 1.0 + pow(0.5, theta);
    z->zetan = 0;
    for (uint32_t i = 1; i <= n; i++)
        z->zetan += 1.0 / pow((double)i, theta);
    z->eta = (1.0 - pow(2.0 / n, 1.0 - theta)) / (1.0 - zeta2 / z->zetan);
    z->half_pow = 1.0 + pow(0.5, theta);
    z->mult = zipf_spread(n);
}

uint32_t zipf_next(const struct zipf *z, double u)
{
    double uz = u * z->zetan;
    uint64_t rank;
    if (uz < 1.0)
        rank = 0;
    else if (uz < z->half_pow)
        rank = 1;
    else
        rank = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
    if (rank >= z->n)
        rank = z->n - 1;
    return (uint32_t)((rank * z->mult) % z->n);
}

/* Rejection-inversion (Hörmann and Derflinger, "Rejection-inversion to
 * generate variates from monotone discrete distributions", 1996), as in
 * Apache Commons' RejectionInversionZipfSampler: any exponent > 0, O(1)
 * setup, a few draws of u per sample. Gray's method above needs theta < 1. */
static double _h(const struct zipf_ri *z, double x) { return exp(-z->s * log(x)); }

static double _hint(const struct zipf_ri *z, double x)
{
    double lx = log(x), t = (1.0 - z->s) * lx;
    return (fabs(t) > 1e-8 ? expm1(t) / t : 1.0 + t / 2.0) * lx;
}

static double _hint_inv(const struct zipf_ri *z, double x)
{
    double t = x * (1.0 - z->s);
    if (t < -1.0)
        t = -1.0;
    return exp((fabs(t) > 1e-8 ? log1p(t) / t : 1.0 - t / 2.0) * x);
}

void zipf_ri_setup(struct zipf_ri *z, uint32_t n, double s)
{
    z->n = n;
    z->s = s;
    z->hx1 = _hint(z, 1.5) - 1.0;
    z->hn = _hint(z, (double)n + 0.5);
    z->cut = 2.0 - _hint_inv(z, _hint(z, 2.5) - _h(z, 2.0));
}

uint32_t zipf_ri_rank(const struct zipf_ri *z, double (*urand)(void *), void *arg)
{
    for (;;) {
        double u = z->hn + urand(arg) * (z->hx1 - z->hn);
        double x = _hint_inv(z, u);
        double k = floor(x + 0.5);
        if (k < 1)
            k = 1;
        else if (k > z->n)
            k = z->n;
        if (k - x <= z->cut || u >= _hint(z, k + 0.5) - _h(z, k))
            return (uint32_t)k - 1;
    }
}
