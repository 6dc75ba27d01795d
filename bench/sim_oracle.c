/* sim_oracle: what is reachable at all (sim.h): the compulsory floor, the
 * future-requests-per-byte oracle and LFU per byte with the whole past. */

#include "sim.h"
#include "sim_queue.h"

#include <stdlib.h>

bool sim_inf(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
             uint64_t budget, uint8_t *hit)
{
    (void)size, (void)budget;
    uint8_t *seen = calloc(nspace, 1);
    if (!seen)
        return false;
    for (size_t i = 0; i < n; i++) {
        hit[i] = seen[key[i]];
        seen[key[i]] = 1;
    }
    free(seen);
    return true;
}

/* Keep the items of highest count per byte: cnt[k] is the future requests
 * left (future) or the past requests seen (!future), counted at each
 * request of k. A miss brings the item in, then the lowest go while over
 * the budget (the newcomer among them: bypassing is allowed). */
static bool _per_byte(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
                      uint64_t budget, uint8_t *hit, bool future)
{
    /* The max-heap pops the largest: an entry holds UINT64_MAX less the
     * count per byte (fixed point, 2^-32); cur: the key's current one. */
    uint32_t *cnt = calloc(nspace, sizeof *cnt);
    uint64_t *cur = malloc((size_t)nspace * sizeof *cur);
    uint8_t *in = calloc(nspace, 1);
    size_t cap = 2 * (size_t)nspace + 64, len = 0;
    struct ent *h = malloc(cap * sizeof *h);
    if (!cnt || !cur || !in || !h) {
        free(cnt), free(cur), free(in), free(h);
        return false;
    }
    if (future)
        for (size_t i = 0; i < n; i++)
            cnt[key[i]]++;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = key[i];
        hit[i] = in[k];
        cnt[k] = future ? cnt[k] - 1 : cnt[k] + 1;
        if (!in[k]) {
            if (size[k] > budget || (future && cnt[k] == 0))
                continue;
            in[k] = 1;
            bytes += size[k];
        } else if (future && cnt[k] == 0) { /* its last request: drop it now */
            in[k] = 0;
            bytes -= size[k];
            continue;
        }
        if (len == cap)
            simh_drop_stale(h, &len, in, cur);
        cur[k] = UINT64_MAX - ((uint64_t)cnt[k] << 32) / size[k];
        simh_push(h, &len, (struct ent){cur[k], k});
        while (bytes > budget) {
            struct ent e = simh_pop(h, &len);
            if (!in[e.key] || cur[e.key] != e.next)
                continue;
            in[e.key] = 0;
            bytes -= size[e.key];
        }
    }
    free(cnt), free(cur), free(in), free(h);
    return true;
}

bool sim_fpb(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
             uint64_t budget, uint8_t *hit)
{
    return _per_byte(key, n, size, nspace, budget, hit, true);
}

bool sim_lfu(const uint32_t *key, size_t n, const uint32_t *size, uint32_t nspace,
             uint64_t budget, uint8_t *hit)
{
    return _per_byte(key, n, size, nspace, budget, hit, false);
}
