/* ghost: see ghost.h. A key is remembered for the last `entries` keys
 * added: each entry carries the epoch it was added in (an epoch is
 * entries / GHOST_EPOCHS additions), and entries older than GHOST_EPOCHS
 * epochs count as gone. A full bucket loses its oldest entry. Epoch
 * numbers are 8 bits, so each addition also clears the aged entries of one
 * bucket (a cursor passes them all every 16 epochs): none lives to 256 and
 * comes back young. */
#include "ghost.h"

#include <sys/mman.h>

#define GHOST_EPOCHS 128 /* the window, in epochs; epoch numbers wrap at 256 */

static uint32_t _fp(uint64_t h)
{
    return (uint32_t)(h >> 40) | 1; /* 24 bits, never 0 */
}

static uint32_t *_bucket(const struct ghost *g, uint64_t h)
{
    return g->slot + (size_t)((uint32_t)(h >> 16) & g->mask) * GHOST_WAYS;
}

static unsigned _age(const struct ghost *g, uint32_t e)
{
    return (uint8_t)(g->epoch - (uint8_t)e);
}

bool ghost_init(struct ghost *g, uint64_t items, uint64_t max_bytes)
{
    uint64_t n = 1024;
    while (n < items && n * 2 * 4 <= max_bytes)
        n *= 2;
    void *p = mmap(NULL, n * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        g->refused = true;
        return false;
    }
    *g = (struct ghost){
        .slot = p, .mask = (uint32_t)(n / GHOST_WAYS - 1), .step = (uint32_t)(n / GHOST_EPOCHS)};
    return true;
}

void ghost_free(struct ghost *g)
{
    if (g->slot)
        munmap(g->slot, ghost_bytes(g));
    *g = (struct ghost){0};
}

void ghost_add(struct ghost *g, uint64_t h)
{
    uint32_t *b = _bucket(g, h), fp = _fp(h);
    unsigned victim = 0, oldest = 0;
    for (unsigned i = 0; i < GHOST_WAYS; i++) {
        unsigned age = b[i] ? _age(g, b[i]) : 256;
        if ((b[i] >> 8) == fp) { /* already there: refresh */
            victim = i;
            break;
        }
        if (age >= GHOST_EPOCHS) /* empty or forgotten: as good as the oldest */
            age = 256;
        if (age > oldest || i == 0) {
            oldest = age;
            victim = i;
        }
    }
    b[victim] = fp << 8 | g->epoch;
    uint32_t *c = g->slot + (size_t)(g->sweep++ & g->mask) * GHOST_WAYS;
    for (unsigned i = 0; i < GHOST_WAYS; i++)
        if (c[i] && _age(g, c[i]) >= GHOST_EPOCHS)
            c[i] = 0;
    if (++g->added >= g->step) {
        g->added = 0;
        g->epoch++;
    }
}

bool ghost_take(struct ghost *g, uint64_t h, unsigned window)
{
    uint32_t *b = _bucket(g, h), fp = _fp(h);
    unsigned epochs = window * GHOST_EPOCHS / 256;
    for (unsigned i = 0; i < GHOST_WAYS; i++)
        if (b[i] && (b[i] >> 8) == fp && _age(g, b[i]) < epochs) {
            b[i] = 0;
            return true;
        }
    return false;
}
