/* text_meta: memcached's meta commands (mg ms md ma me mn) on the text
 * protocol: flags read by meta.c, operations in ops, replies here. */
#ifndef MEMG_TEXT_META_H
#define MEMG_TEXT_META_H

#include <stdbool.h>

#include "proto/protocol.h"
#include "proto.h"

/* A meta request whose data, if any, is all in req. */
void text_meta(struct ops_ctx *ctx, const struct request *req, struct out *out);

/* An ms whose data is received into its item: true with s->txn reserved and
 * the line kept in s->held; false after the error reply (the data is then
 * discarded). */
bool text_meta_set_begin(struct session *s, struct ops_ctx *ctx, const struct request *req,
                         struct out *out);
/* Its data has arrived (chunk_ok: followed by \r\n): store and answer. */
void text_meta_set_end(struct session *s, struct ops_ctx *ctx, bool chunk_ok, struct out *out);

#endif
