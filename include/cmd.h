/* cmd: runs one parsed request against the store and composes its reply.
 * The only module that knows both the protocol and the store. */
#ifndef MEMG_CMD_H
#define MEMG_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct out;
struct request;
struct stats;
struct store;
struct store_txn;

/* Values at least this long are sent from the item itself (pinned). */
#define CMD_ZERO_COPY_MIN 4096

/* `stats conns` lists connections through this callback, owned by conn. */
typedef void cmd_conns_fn(void *arg, struct out *out);

struct cmd_ctx {
    struct store *store;
    struct stats *stats;
    const struct config *cfg;
    int verbose;            /* changed by `verbosity` */
    int64_t started;        /* unix time the server started */
    bool shutdown;          /* set by `shutdown` when -A allows it */
    cmd_conns_fn *conns;
    void *conns_arg;
};

enum cmd_result {
    CMD_OK = 0,
    CMD_CLOSE,   /* close this connection once its reply is sent (quit) */
    CMD_NOMEM,   /* the reply could not be composed: drop the connection */
};

/* A complete request (proto_parse returned > 0). */
enum cmd_result cmd_execute(struct cmd_ctx *ctx, const struct request *req, struct out *out);

/* Storage requests whose data has not all arrived: begin decides whether the
 * data is received into a reserved item (true, txn filled) or swallowed
 * after an error reply (false). end commits or aborts and replies. Only the
 * request's scalar fields are used by end (its tokens may be gone). */
bool cmd_value_begin(struct cmd_ctx *ctx, const struct request *req, struct store_txn *txn,
                     struct out *out);
void cmd_value_end(struct cmd_ctx *ctx, const struct request *req, struct store_txn *txn,
                   bool chunk_ok, struct out *out);

/* `stats <sub>`: the text of the detail groups (cmd_stats.c). */
void cmd_stats(struct cmd_ctx *ctx, const struct request *req, struct out *out);

#endif
