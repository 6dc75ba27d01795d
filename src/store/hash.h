/* hash: a fast 64-bit hash of byte strings for the item table. Loads go
 * through memcpy, so any alignment works (armhf included). */
#ifndef MEMG_HASH_H
#define MEMG_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash64(const void *data, size_t len, uint64_t seed);

#endif
