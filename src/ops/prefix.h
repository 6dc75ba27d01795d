/* prefix: `stats detail` counters per key prefix (the key up to the -D
 * delimiter, ':' by default), as memcached keeps them: gets, hits, sets
 * and deletes. A leaf module; ops records when detail is on. */
#ifndef MEMG_PREFIX_H
#define MEMG_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum prefix_op { PREFIX_GET, PREFIX_SET, PREFIX_DEL };

struct prefix_stats;

struct prefix_stats *prefix_create(char delimiter);
void prefix_destroy(struct prefix_stats *p);
/* Count one operation on key; keys without the delimiter are not counted
 * (memcached's rule). False when memory for a new prefix ran out. */
bool prefix_record(struct prefix_stats *p, const char *key, size_t nkey, enum prefix_op op,
                   bool hit);
/* "PREFIX <p> get N hit N set N del N\r\n" for each prefix, to fn. */
typedef void prefix_line_fn(void *arg, const char *line, size_t n);
void prefix_dump(const struct prefix_stats *p, prefix_line_fn *fn, void *arg);
/* Forget every prefix (`stats detail on` after off keeps them, as memcached;
 * `stats reset` clears them). */
void prefix_clear(struct prefix_stats *p);

#endif
