/* conn_harness: fuzz_tls's helpers for a connection driven over a socketpair: a check that aborts
 * (libFuzzer keeps the input), the knobs' random numbers, the 5 s hang
 * alarm, and the checks after a connection's run. */
#ifndef FUZZ_CONN_HARNESS_H
#define FUZZ_CONN_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conn/conn.h"
#include "lib/ev.h"
#include "lib/stats.h"
#include "store/store.h"
/* Internal on purpose: the pin counts are the one leak LeakSanitizer cannot see. */
#include "store/seg.h"

#define CHECK(c)                                                                           \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);        \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

static inline uint64_t harness_next(uint64_t *s)
{
    uint64_t x = *s += 0x9e3779b97f4a7c15ull; /* splitmix64 */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The input's hash: the knobs' seed, so a crash reproduces from the file. */
static inline uint64_t harness_fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static inline void harness_hang(struct ev_loop *loop, void *arg)
{
    (void)loop;
    (void)arg;
    fprintf(stderr, "fuzz: the connection did not finish within 5 s\n");
    abort();
}

/* After the run: memg closed the connection, nothing pinned, the store
 * agrees with stats and holds -m. */
static inline void harness_check_after(const struct conn_shared *sh, const struct stats *stats,
                                       struct store *st)
{
    CHECK(sh->count == 0 && sh->head == NULL);
    CHECK(stats->curr_connections == 0);
    for (uint32_t i = 1; i < st->hiwater; i++)
        CHECK(st->segs[i].pins == 0);
    struct store_usage u;
    store_usage(st, &u);
    CHECK(u.items == stats->curr_items);
    CHECK(u.segments_used <= u.segments_max);
}

#endif
