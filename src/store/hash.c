/* hash: multiply-rotate mixing over 8-byte words, short tails read as
 * overlapping words, then a full avalanche so the low bits (the table index)
 * depend on every input bit. */
#include "hash.h"

#include <string.h>

#define K1 0x9e3779b97f4a7c15ull
#define K2 0xc2b2ae3d27d4eb4full
#define K3 0x165667b19e3779f9ull

static inline uint64_t _rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t _rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t _rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t _mix(uint64_t h, uint64_t k)
{
    k *= K2;
    k = _rotl(k, 29);
    k *= K1;
    h ^= k;
    return _rotl(h, 31) * K3 + K1;
}

uint64_t hash64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    size_t n = len;
    uint64_t h = seed ^ ((uint64_t)len * K3);
    while (n > 16) {
        h = _mix(h, _rd64(p));
        h = _mix(h, _rd64(p + 8));
        p += 16;
        n -= 16;
    }
    /* Tails: two possibly overlapping loads cover any length without a loop. */
    if (n > 8) {
        h = _mix(h, _rd64(p));
        h = _mix(h, _rd64(p + n - 8));
    } else if (n >= 4) {
        h = _mix(h, ((uint64_t)_rd32(p) << 32) | _rd32(p + n - 4));
    } else if (n > 0) {
        h = _mix(h, (uint64_t)p[0] | ((uint64_t)p[n / 2] << 8) | ((uint64_t)p[n - 1] << 16));
    }
    h ^= h >> 32;
    h *= K2;
    h ^= h >> 29;
    h *= K3;
    h ^= h >> 32;
    return h;
}
