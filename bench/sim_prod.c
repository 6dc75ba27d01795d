/* sim_prod: production-shaped streams as get-or-fill traces (sim_prod.h). */
#include "sim_prod.h"
#include "prod.h"

#include <stdbool.h>
#include <stdlib.h>

uint32_t sim_prod_versions(const uint32_t *key, const uint8_t *op, size_t n, const uint64_t *ttl,
                           uint32_t nspace, uint32_t *vkey, uint8_t *isget, uint32_t *vbase)
{
    uint32_t *cur = malloc(nspace * sizeof *cur); /* the live version, UINT32_MAX: none */
    uint64_t *stored = malloc(nspace * sizeof *stored);
    if (!cur || !stored) {
        free(cur);
        free(stored);
        return 0;
    }
    for (uint32_t k = 0; k < nspace; k++)
        cur[k] = UINT32_MAX;
    uint32_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = key[i];
        isget[i] = op[i] == POP_GET;
        if (cur[k] != UINT32_MAX && ttl[k] && i >= stored[k] + ttl[k])
            cur[k] = UINT32_MAX; /* expired since its last store */
        if (op[i] == POP_DEL) {
            cur[k] = UINT32_MAX;
            vkey[i] = UINT32_MAX;
            continue;
        }
        bool absent = cur[k] == UINT32_MAX;
        if (absent) {
            vbase[nv] = k;
            cur[k] = nv++;
        }
        /* what stores: a fill after a miss, a set, an add or incr of an absent key */
        if (absent || op[i] == POP_SET)
            stored[k] = i;
        vkey[i] = cur[k];
    }
    free(cur);
    free(stored);
    return nv;
}
