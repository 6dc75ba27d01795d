/* sim_cand: frequency-sketch candidates for memg's policy (sim.h). */

#include "sim.h"
#include "sim_queue.h"

#include <stdlib.h>
#include <string.h>

/* A count-min sketch of 4 rows of saturating 4-bit counts (a byte each
 * here), halved every `period` increments so that old popularity fades. */
struct sketch {
    uint8_t *c;
    uint32_t mask;
    unsigned max;
    uint64_t adds, period;
};

/* wide: counters per row for each item the budget holds, halved every
 * `every` items' worth of requests, counting up to max. */
static bool _sk_init(struct sketch *s, uint64_t items, unsigned wide, unsigned every,
                     unsigned max)
{
    uint64_t w = 64;
    while (w < wide * items)
        w *= 2;
    s->c = calloc(4 * w, 1);
    s->mask = (uint32_t)(w - 1);
    s->max = max;
    s->adds = 0;
    s->period = (uint64_t)every * items;
    return s->c != NULL;
}

static uint32_t _sk_slot(const struct sketch *s, uint32_t k, unsigned row)
{
    static const uint64_t mul[4] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full,
                                    0x165667B19E3779F9ull, 0xD6E8FEB86659FD93ull};
    uint64_t h = ((uint64_t)k + 1) * mul[row];
    return row * (s->mask + 1) + (uint32_t)((h >> 32) & s->mask);
}

static unsigned _sk_est(const struct sketch *s, uint32_t k)
{
    unsigned m = 255;
    for (unsigned r = 0; r < 4; r++) {
        unsigned v = s->c[_sk_slot(s, k, r)];
        m = v < m ? v : m;
    }
    return m;
}

static void _sk_add(struct sketch *s, uint32_t k)
{
    unsigned m = _sk_est(s, k);
    for (unsigned r = 0; r < 4; r++) { /* conservative update: only the lowest grow */
        uint8_t *v = &s->c[_sk_slot(s, k, r)];
        if (*v == m && m < s->max)
            (*v)++;
    }
    if (++s->adds >= s->period) {
        for (uint64_t i = 0; i < 4 * ((uint64_t)s->mask + 1); i++)
            s->c[i] >>= 1;
        s->adds = 0;
    }
}

/* Whether a's count per byte beats b's. */
static bool _beats(const struct sketch *s, const uint32_t *size, uint32_t a, uint32_t b)
{
    return (uint64_t)_sk_est(s, a) * size[b] > (uint64_t)_sk_est(s, b) * size[a];
}

enum mode {
    M_BIT,  /* neither: S3-FIFO with memg's 1-bit mark */
    M_ADM,  /* an item leaving probation unread still goes to main when its
             * count per byte beats main's next victim's */
    M_TLFU, /* every item leaving probation is admitted only that way (TinyLFU) */
    M_FPB,  /* main keeps an item while its count per byte reaches two
             * requests of an item of the mean size, at most one lap unread */
    M_GCUT, /* no sketch: the ghost remembers only items up to the mean size */
    M_GWIN, /* no sketch: a key larger than the mean is taken back from the
             * ghost only within (mean / size)^3 of its window (memg's) */
    M_GFILL, /* M_GWIN, and until main first evicts (the cache is filling),
              * an unread item up to the mean size leaving probation goes to
              * main too (memg: where main takes probation's oldest) */
};

/* The part of the ghost's window (of main's item count) within which key
 * k, of the given size, is sent straight to main. */
static uint64_t _ghost_win(enum mode mode, uint64_t n, uint32_t size, uint64_t mean)
{
    if ((mode != M_GWIN && mode != M_GFILL) || size <= mean)
        return n;
    uint64_t r = mean * 256 / size; /* as memg: mean / size in 256ths */
    return n * (r * r * r >> 16) / 256;
}

/* S3-FIFO with a 1-bit mark (memg's) and a sketch of every request. */
static bool _s3sketch(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                      uint64_t budget, uint8_t *hit, enum mode mode)
{
    uint32_t *next = malloc((size_t)nspace * sizeof *next);
    uint8_t *where = calloc(nspace, 1), *mark = calloc(nspace, 1);
    uint64_t *ghost_at = calloc(nspace, sizeof *ghost_at);
    uint64_t tot = 0;
    for (uint32_t k = 0; k < nspace; k++)
        tot += size[k];
    uint64_t mean = tot / nspace;
    uint8_t *lapkeep = calloc(nspace, 1);
    struct sketch sk; /* TinyLFU's usual; frequency per byte needs a finer one */
    bool fine = mode == M_FPB;
    if (!next || !where || !mark || !ghost_at || !lapkeep ||
        !_sk_init(&sk, budget / mean, fine ? 8 : 2, fine ? 32 : 10, fine ? 255 : 15)) {
        free(next), free(where), free(mark), free(ghost_at), free(lapkeep);
        return false;
    }
    enum { OUT, SMALL, MAIN };
    struct fifo small = {NIL, NIL, 0, 0}, main = {NIL, NIL, 0, 0};
    uint64_t ghosts = 0, small_max = budget / 10;
    bool main_full = false; /* main has had to evict */
    for (size_t i = 0; i < n; i++) {
        uint32_t k = key[i];
        _sk_add(&sk, k);
        hit[i] = where[k] != OUT;
        if (hit[i]) {
            mark[k] = 1;
            continue;
        }
        if (size[k] > budget)
            continue;
        mark[k] = 0;
        if (ghost_at[k] && ghosts - ghost_at[k] < _ghost_win(mode, main.n, size[k], mean)) {
            ghost_at[k] = 0;
            where[k] = MAIN;
            simq_push(&main, next, k, size[k]);
        } else {
            where[k] = SMALL;
            simq_push(&small, next, k, size[k]);
        }
        while (small.bytes + main.bytes > budget) {
            if (small.bytes > small_max || main.n == 0) {
                uint32_t v = simq_pop(&small, next, size);
                bool in = main.n == 0 || mark[v] || (mode == M_GFILL && !main_full && size[v] <= mean);
                if (mode == M_TLFU || (mode == M_ADM && !in))
                    in = main.n == 0 || _beats(&sk, size, v, main.tail);
                if (in) {
                    mark[v] = 0;
                    where[v] = MAIN;
                    simq_push(&main, next, v, size[v]);
                } else {
                    where[v] = OUT;
                    if (mode != M_GCUT || size[v] <= mean)
                        ghost_at[v] = ++ghosts;
                }
            } else {
                uint32_t v = simq_pop(&main, next, size);
                main_full = true;
                bool keep = mark[v];
                if (mode == M_FPB)
                    keep = (uint64_t)_sk_est(&sk, v) * mean >= 2 * (uint64_t)size[v] &&
                           (mark[v] || !lapkeep[v]);
                lapkeep[v] = keep && !mark[v];
                if (keep) {
                    mark[v] = 0;
                    simq_push(&main, next, v, size[v]);
                } else {
                    where[v] = OUT;
                }
            }
        }
    }
    free(next), free(where), free(mark), free(ghost_at), free(lapkeep), free(sk.c);
    return true;
}

bool sim_s3bit(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
               uint64_t budget, uint8_t *hit)
{
    return _s3sketch(key, n, size, nspace, budget, hit, M_BIT);
}

bool sim_s3adm(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
               uint64_t budget, uint8_t *hit)
{
    return _s3sketch(key, n, size, nspace, budget, hit, M_ADM);
}

bool sim_s3tlfu(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                uint64_t budget, uint8_t *hit)
{
    return _s3sketch(key, n, size, nspace, budget, hit, M_TLFU);
}

bool sim_s3fb(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
               uint64_t budget, uint8_t *hit)
{
    return _s3sketch(key, n, size, nspace, budget, hit, M_FPB);
}

bool sim_s3gcut(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                uint64_t budget, uint8_t *hit)
{
    return _s3sketch(key, n, size, nspace, budget, hit, M_GCUT);
}

bool sim_s3gwin(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                uint64_t budget, uint8_t *hit)
{
    return _s3sketch(key, n, size, nspace, budget, hit, M_GWIN);
}

bool sim_s3gfill(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                 uint64_t budget, uint8_t *hit)
{
    return _s3sketch(key, n, size, nspace, budget, hit, M_GFILL);
}
