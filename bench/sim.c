/* sim: the offline LRU, S3-FIFO, the size-aware candidates and Belady's optimum (sim.h). */

#include "sim.h"
#include "sim_queue.h"

#include <stdlib.h>

bool sim_lru(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
             uint64_t budget, uint8_t *hit)
{
    /* A doubly linked list over key indexes; nspace is the sentinel. */
    uint32_t *prev = malloc(((size_t)nspace + 1) * sizeof *prev);
    uint32_t *next = malloc(((size_t)nspace + 1) * sizeof *next);
    uint8_t *in = calloc(nspace, 1);
    if (!prev || !next || !in) {
        free(prev), free(next), free(in);
        return false;
    }
    const uint32_t S = nspace;
    prev[S] = next[S] = S;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = key[i];
        hit[i] = in[k];
        if (in[k]) { /* unlink, to go back on top */
            next[prev[k]] = next[k];
            prev[next[k]] = prev[k];
        } else if (size[k] > budget) {
            continue;
        } else {
            in[k] = 1;
            bytes += size[k];
        }
        prev[k] = S;
        next[k] = next[S];
        prev[next[S]] = k;
        next[S] = k;
        while (bytes > budget) {
            uint32_t v = prev[S];
            next[prev[v]] = S;
            prev[S] = prev[v];
            in[v] = 0;
            bytes -= size[v];
        }
    }
    free(prev), free(next), free(in);
    return true;
}

enum { S3_OUT, S3_SMALL, S3_MAIN };

/* S3-FIFO; sized: an item of main stays only while its reads (2 bits)
 * times the mean item size reach its own size (a large item must be read
 * more often than a small one to keep its bytes). */
static bool _s3fifo(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                    uint64_t budget, uint8_t *hit, bool sized)
{
    uint32_t *next = malloc((size_t)nspace * sizeof *next);
    uint8_t *where = calloc(nspace, 1), *freq = calloc(nspace, 1);
    uint64_t *ghost_at = calloc(nspace, sizeof *ghost_at); /* 0: never; else its number */
    if (!next || !where || !freq || !ghost_at) {
        free(next), free(where), free(freq), free(ghost_at);
        return false;
    }
    struct fifo small = {NIL, NIL, 0, 0}, main = {NIL, NIL, 0, 0};
    uint64_t ghosts = 0, small_max = budget / 10, seen = 0, seen_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = key[i];
        hit[i] = where[k] != S3_OUT;
        if (hit[i]) {
            freq[k] += freq[k] < 3;
            continue;
        }
        if (size[k] > budget)
            continue;
        seen_bytes += size[k];
        seen++;
        freq[k] = 0;
        if (ghost_at[k] && ghosts - ghost_at[k] < main.n) { /* remembered: straight to main */
            ghost_at[k] = 0;
            where[k] = S3_MAIN;
            simq_push(&main, next, k, size[k]);
        } else {
            where[k] = S3_SMALL;
            simq_push(&small, next, k, size[k]);
        }
        while (small.bytes + main.bytes > budget) {
            if (small.bytes > small_max || main.n == 0) {
                uint32_t v = simq_pop(&small, next, size);
                if (freq[v]) { /* read while on probation */
                    freq[v] = 0;
                    where[v] = S3_MAIN;
                    simq_push(&main, next, v, size[v]);
                } else {
                    where[v] = S3_OUT;
                    ghost_at[v] = ++ghosts;
                }
            } else {
                uint32_t v = simq_pop(&main, next, size);
                if (freq[v] && (!sized || (uint64_t)freq[v] * seen_bytes >= (uint64_t)size[v] * seen)) {
                    /* reinserted, one read spent */
                    freq[v]--;
                    simq_push(&main, next, v, size[v]);
                } else {
                    where[v] = S3_OUT;
                }
            }
        }
    }
    free(next), free(where), free(freq), free(ghost_at);
    return true;
}

bool sim_s3fifo(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                uint64_t budget, uint8_t *hit)
{
    return _s3fifo(key, n, size, nspace, budget, hit, false);
}

bool sim_s3size(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                uint64_t budget, uint8_t *hit)
{
    return _s3fifo(key, n, size, nspace, budget, hit, true);
}

bool sim_opt(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
             uint64_t budget, uint8_t *hit)
{
    const uint64_t NEVER = UINT64_MAX;
    uint64_t *nxt = malloc(n * sizeof *nxt);          /* next request of the same key */
    uint64_t *cur = malloc((size_t)nspace * sizeof *cur); /* cached: its next use */
    uint8_t *in = calloc(nspace, 1);
    struct ent *h = malloc((n + 1) * sizeof *h);
    if (!nxt || !cur || !in || !h) {
        free(nxt), free(cur), free(in), free(h);
        return false;
    }
    for (uint32_t k = 0; k < nspace; k++)
        cur[k] = NEVER;
    for (size_t i = n; i-- > 0;) { /* cur[] holds "the next request of k" here */
        nxt[i] = cur[key[i]];
        cur[key[i]] = i;
    }
    size_t len = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = key[i];
        hit[i] = in[k];
        if (!in[k]) {
            if (nxt[i] == NEVER || size[k] > budget)
                continue; /* never needed again, or never fits: not kept */
            in[k] = 1;
            bytes += size[k];
        } else if (nxt[i] == NEVER) { /* its last use: drop it now */
            in[k] = 0;
            bytes -= size[k];
            continue;
        }
        cur[k] = nxt[i];
        simh_push(h, &len, (struct ent){nxt[i], k});
        while (bytes > budget) {
            struct ent e = simh_pop(h, &len);
            if (!in[e.key] || cur[e.key] != e.next)
                continue; /* stale */
            in[e.key] = 0;
            bytes -= size[e.key];
        }
        if (len > 2 * (size_t)nspace + 64)
            simh_drop_stale(h, &len, in, cur);
    }
    free(nxt), free(cur), free(in), free(h);
    return true;
}

static unsigned _varint_len(uint64_t v)
{
    unsigned k = 1;
    while (v >= 0x80) {
        v >>= 7;
        k++;
    }
    return k;
}

uint32_t sim_cost_memg(unsigned nkey, uint32_t nval, uint32_t flags)
{
    return 2 + nkey + 5 + (flags ? _varint_len(flags) : 0) + _varint_len(nval) + nval + 8;
}

uint32_t sim_cost_memcached(unsigned nkey, uint32_t nval, uint32_t flags)
{
    enum { PAGE = 1 << 20, CHUNK_MAX = PAGE / 2 };
    uint32_t need = 48 + nkey + 1 + 8 + (flags ? 4 : 0) + nval + 2;
    uint32_t cls = 96; /* memcached -n 48: 48-byte header + 48 */
    while (cls < need && cls <= CHUNK_MAX / 1.25) {
        cls = (uint32_t)(cls * 1.25);
        cls = (cls + 7) & ~7u;
    }
    if (cls < need)
        cls = CHUNK_MAX;
    if (need > CHUNK_MAX) /* chunked items: whole chunks of the largest class */
        return (uint32_t)(((uint64_t)need + CHUNK_MAX - 1) / CHUNK_MAX * CHUNK_MAX);
    uint32_t per = PAGE / cls;
    return PAGE / per; /* the page's tail is shared by its chunks */
}

bool sim_gdsf(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
              uint64_t budget, uint8_t *hit)
{
    /* The heap above pops the largest: an entry holds UINT64_MAX less the
     * priority (fixed point, 2^-20), so the lowest priority comes first;
     * it counts while it equals its key's current one (cur). */
    const double FIX = 1048576.0;
    uint64_t *cur = malloc((size_t)nspace * sizeof *cur);
    uint32_t *freq = calloc(nspace, sizeof *freq);
    uint8_t *in = calloc(nspace, 1);
    size_t cap = 2 * (size_t)nspace + 64, len = 0;
    struct ent *h = malloc(cap * sizeof *h);
    if (!cur || !freq || !in || !h) {
        free(cur), free(freq), free(in), free(h);
        return false;
    }
    double L = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = key[i];
        hit[i] = in[k];
        if (!in[k]) {
            if (size[k] > budget)
                continue;
            in[k] = 1;
            freq[k] = 0;
            bytes += size[k];
        }
        freq[k]++;
        if (len == cap)
            simh_drop_stale(h, &len, in, cur);
        double pri = L + (double)freq[k] * 1000.0 / size[k];
        cur[k] = UINT64_MAX - (uint64_t)(pri * FIX);
        simh_push(h, &len, (struct ent){cur[k], k});
        while (bytes > budget) {
            struct ent e = simh_pop(h, &len);
            if (!in[e.key] || cur[e.key] != e.next)
                continue;
            in[e.key] = 0;
            bytes -= size[e.key];
            L = (double)(UINT64_MAX - e.next) / FIX;
        }
    }
    free(cur), free(freq), free(in), free(h);
    return true;
}
