/* sim_prod: a production-shaped stream (gets, sets, adds, incrs, deletes,
 * TTLs) as the trace of get-or-fill requests the policies of sim.h take.
 * A key's *version* is its life in an infinite cache: it starts with the
 * request that stores it (a get's miss and fill, a set, an add or incr of
 * an absent key) and ends at a delete or when its TTL has run out since
 * its last store. Every request but a delete names its key's current
 * version; a version first named by a get is a miss for every policy.
 * So the infinite cache (sim_inf) over the versions is the exact floor,
 * and Belady's or FPB over them the offline optimum with expiry timed as
 * in the infinite cache (a finite cache refills a missed key and restarts
 * its TTL, which this leaves out: an approximation, not a bound). */
#ifndef MEMG_BENCH_SIM_PROD_H
#define MEMG_BENCH_SIM_PROD_H

#include <stddef.h>
#include <stdint.h>

/* key[i], op[i] (enum prod_op) for n requests over keys 0..nspace-1;
 * ttl[k]: key k's TTL in requests (0: none). Fills vkey[i] (the version
 * request i names; a delete names none and gets UINT32_MAX), isget[i] and
 * vbase[v] (the key of version v; room for n). Returns the versions. */
uint32_t sim_prod_versions(const uint32_t *key, const uint8_t *op, size_t n, const uint64_t *ttl,
                           uint32_t nspace, uint32_t *vkey, uint8_t *isget, uint32_t *vbase);

#endif
