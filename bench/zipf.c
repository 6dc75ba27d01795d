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
    /* Spread the hot ranks over the key space: a multiplier prime to n. */
    z->mult = 2654435761u % (n ? n : 1);
    while (n > 1 && (z->mult == 0 || _gcd(z->mult, n) != 1))
        z->mult++;
    if (n <= 1)
        z->mult = 1;
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
