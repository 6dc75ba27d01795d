/* fuzz_bin: the binary protocol over random bytes (libFuzzer), through the
 * protocol interface and a real store, no socket: what conn would do is
 * tests/drive.h's loop.
 *
 * The input's first byte picks the knobs: -S (login required; the user is
 * "fuzz" with password "pw") and a small -I (so E2BIG is reachable). The
 * rest is the client's byte stream.
 *
 * Checked on every input:
 *  - every reply is a whole response packet (magic 0x81, data type 0, key
 *    and extras inside the body) and they add up to the output exactly;
 *  - each reply's opaque is one that a request carried;
 *  - after the connection is gone (an open value aborted, the output
 *    dropped) no segment is pinned and the item count agrees with stats. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/auth.h"
#include "proto/bin/bin.h"
#include "process/config.h"
#include "drive.h"
#include "lib/stats.h"
#include "store/store.h"
/* Internal on purpose: the pin counts are the one leak LeakSanitizer cannot see. */
#include "store/seg.h"

#define CHECK(c)                                                                            \
    do {                                                                                    \
        if (!(c)) {                                                                         \
            fprintf(stderr, "fuzz_bin: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

static struct auth *users;
static char *reply;
#define REPLY_MAX (64u << 20)

static void _unpin(void *arg, uint32_t pin)
{
    store_unpin(arg, pin);
}

static uint32_t _be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Does some request header in in[0..n) carry this opaque? Headers are
 * found by walking the stream as the server does (bodies skipped). */
static bool _opaque_sent(const unsigned char *in, size_t n, uint32_t opaque)
{
    for (size_t i = 0; i + BIN_HEADER_LEN <= n; i++)
        if (in[i] == BIN_REQ_MAGIC && _be32(in + i + 12) == opaque)
            return true;
    return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    users = auth_parse("fuzz:pw\n", 8);
    CHECK(users);
    reply = malloc(REPLY_MAX + 1);
    CHECK(reply);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t knobs = data[0];
    const unsigned char *in = data + 1;
    size_t n = size - 1;
    struct config cfg;
    config_defaults(&cfg);
    cfg.mem_limit = 2u << 20;
    cfg.item_size_max = (knobs & 2) ? 8192 : 1u << 20;
    cfg.sasl = (knobs & 1) != 0;
    struct stats stats;
    memset(&stats, 0, sizeof(stats));
    struct store_config scfg = {.mem_limit = cfg.mem_limit, .item_size_max = cfg.item_size_max,
                                .evict = true};
    struct store *st = store_create(&scfg, &stats);
    CHECK(st);
    store_set_time(st, 1700000000);
    struct ops_ctx ctx = {.store = st, .stats = &stats, .cfg = &cfg,
                          .auth = cfg.sasl ? users : NULL, .started = 1700000000};
    struct session ses = {.proto = &bin_protocol};
    struct out out;
    out_init(&out, _unpin, st);
    /* exact-size copy: ASan sees any read past the end */
    char *buf = malloc(n ? n : 1);
    CHECK(buf);
    memcpy(buf, in, n);
    enum feed_status last;
    size_t used = drive(&bin_protocol, &ses, &ctx, buf, n, &out, &last);
    CHECK(used <= n);
    CHECK(out_pending(&out) <= REPLY_MAX);
    size_t got = drive_collect(&out, reply), pos = 0;
    while (pos < got) {
        const unsigned char *p = (const unsigned char *)reply + pos;
        CHECK(got - pos >= BIN_HEADER_LEN);
        uint32_t keylen = (uint32_t)(p[2] << 8 | p[3]), extlen = p[4], body = _be32(p + 8);
        CHECK(p[0] == BIN_RES_MAGIC && p[5] == 0);
        CHECK(keylen + extlen <= body);
        CHECK(got - pos - BIN_HEADER_LEN >= body);
        CHECK(_opaque_sent(in, n, _be32(p + 12)));
        pos += BIN_HEADER_LEN + body;
    }
    if (ses.txn_open) /* the client went away mid-value */
        store_abort(st, &ses.txn);
    for (uint32_t i = 1; i < st->hiwater; i++)
        CHECK(st->segs[i].pins == 0);
    struct store_usage u;
    store_usage(st, &u);
    CHECK(u.items == stats.curr_items);
    free(buf);
    store_destroy(st);
    return 0;
}
