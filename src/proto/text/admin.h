/* admin: memcached's operator commands on the text protocol, as memcached
 * answers them: `stats detail on|off|dump`, `stats cachedump`, `lru_crawler
 * metadump|crawl|enable|disable|sleep|tocrawl` (memg's crawler is the
 * store's expiry sweep), `watch`, and `slabs`/`lru` tuning (a clear
 * CLIENT_ERROR: memg has no slab classes or LRU segments), `debugtime`
 * (-o debug_time). Off the request path (-Os). */
#ifndef MEMG_ADMIN_H
#define MEMG_ADMIN_H

#include <stdbool.h>

struct ops_ctx;
struct out;
struct request;
struct store_cursor;

/* `stats detail ...` and `stats cachedump ...`: true when handled. */
bool admin_stats(struct ops_ctx *ctx, const struct request *req, struct out *out);
/* watch, lru_crawler, slabs, lru (PROTO_ADMIN). True when the reply goes
 * on (`lru_crawler metadump all`, a slice a call): call again with the same
 * request; *dump (NULL at first) holds the walk, malloc'ed, NULL again once
 * the reply ended with END (free it if the connection closes first). */
bool admin_command(struct ops_ctx *ctx, const struct request *req, struct out *out,
                   struct store_cursor **dump);

#endif
