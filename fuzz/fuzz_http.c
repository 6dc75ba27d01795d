/* fuzz_http: the HTTP front over random bytes (libFuzzer), through the
 * protocol interface and a real store, no socket: tests/drive.h plays conn.
 *
 * The input's first byte picks the knobs: -o http_readonly, and a small -I
 * (so 413 is reachable). The rest is the client's byte stream.
 *
 * Checked on every input:
 *  - the parser alone, on the whole stream: a head it accepts is inside
 *    the input and no longer than HTTP_HEAD_MAX; an error is a 4xx or 5xx;
 *  - every reply is a whole HTTP/1.1 response: a status line, headers, a
 *    blank line and exactly Content-Length bytes after it (none after a
 *    HEAD's, a 304's or a 100's head), and they add up to the output;
 *  - read-only: no item is ever stored or deleted;
 *  - after the connection is gone no segment is pinned and the item count
 *    agrees with stats. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "process/config.h"
#include "drive.h"
#include "proto/http/http.h"
#include "lib/stats.h"
#include "store/store.h"
/* Internal on purpose: the pin counts are the one leak LeakSanitizer cannot see. */
#include "store/seg.h"

#define CHECK(c)                                                                             \
    do {                                                                                     \
        if (!(c)) {                                                                          \
            fprintf(stderr, "fuzz_http: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static char *reply;
#define REPLY_MAX (64u << 20)

static void _unpin(void *arg, uint32_t pin)
{
    store_unpin(arg, pin);
}

/* One response at p (got bytes left); returns its length. A reply to HEAD
 * may carry a Content-Length and no body: heads says how many HEADs were
 * sent, and a response whose body is absent must be one of those. */
static size_t _response(const char *p, size_t got, size_t *heads)
{
    CHECK(got >= 17 && memcmp(p, "HTTP/1.1 ", 9) == 0);
    int status = atoi(p + 9);
    CHECK(status >= 100 && status <= 599);
    const char *end = memmem(p, got, "\r\n\r\n", 4);
    CHECK(end);
    size_t head = (size_t)(end - p) + 4;
    const char *cl = memmem(p, head, "\r\nContent-Length: ", 18);
    if (status == 100 || status == 304) {
        CHECK(!cl);
        return head;
    }
    CHECK(cl);
    size_t body = strtoul(cl + 18, NULL, 10);
    if (got - head >= body && (got - head == body || memcmp(p + head + body, "HTTP/1.1 ", 9) == 0))
        return head + body;
    CHECK(*heads > 0); /* no body: a HEAD's answer */
    (*heads)--;
    return head;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    reply = malloc(REPLY_MAX + 1);
    CHECK(reply);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t knobs = data[0];
    size_t n = size - 1;
    char *buf = malloc(n ? n : 1); /* exact-size copy: ASan sees any read past the end */
    CHECK(buf);
    memcpy(buf, data + 1, n);
    struct http_req r;
    long h = http_parse(&r, buf, n);
    CHECK(h == 0 || (h > 0 && (size_t)h <= n && r.head_len == (size_t)h && h <= HTTP_HEAD_MAX) ||
          (h <= -400 && h >= -599));

    struct config cfg;
    config_defaults(&cfg);
    cfg.mem_limit = 2u << 20;
    cfg.item_size_max = (knobs & 2) ? 512 : 1u << 20;
    cfg.http_readonly = (knobs & 1) != 0;
    struct stats stats;
    memset(&stats, 0, sizeof(stats));
    struct store_config scfg = {.mem_limit = cfg.mem_limit, .item_size_max = cfg.item_size_max,
                                .evict = true};
    struct store *st = store_create(&scfg, &stats);
    CHECK(st);
    store_set_time(st, 1700000000);
    struct ops_ctx ctx = {.store = st, .stats = &stats, .cfg = &cfg, .started = 1700000000};
    struct session ses = {.proto = &http_protocol};
    struct out out;
    out_init(&out, _unpin, st);
    enum feed_status last;
    size_t used = drive(&http_protocol, &ses, &ctx, buf, n, &out, &last);
    CHECK(used <= n);
    CHECK(out_pending(&out) <= REPLY_MAX);
    size_t heads = 0;
    for (const char *p = buf; (p = memmem(p, n - (size_t)(p - buf), "HEAD ", 5)) != NULL; p++)
        heads++;
    size_t got = drive_collect(&out, reply), pos = 0;
    while (pos < got)
        pos += _response(reply + pos, got - pos, &heads);
    CHECK(pos == got);
    if (cfg.http_readonly)
        CHECK(stats.total_items == 0 && stats.delete_hits == 0);
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
