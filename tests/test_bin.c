/* Unit tests of the binary protocol through the protocol interface:
 * requests built as bytes, a real store, replies decoded from the output
 * queue. No socket, no loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/auth.h"
#include "proto/bin/bin.h"
#include "process/config.h"
#include "drive.h"
#include "lib/stats.h"
#include "store/store.h"

struct reply {
    uint8_t magic, opcode, extlen;
    uint16_t keylen, status;
    uint32_t bodylen, opaque;
    uint64_t cas;
    const char *body;
};

struct fixture {
    struct drive_env e; /* first: drive_fixture_setup */
    size_t nin;
    char in[1 << 21];
    char outbuf[1 << 21];
    struct reply r[256];
    int nr;
};

static int setup(void **state)
{
    return drive_fixture_setup(state, sizeof(struct fixture), &bin_protocol);
}

static int teardown(void **state)
{
    return drive_fixture_teardown(state);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Append one request to f->in. */
static void req(struct fixture *f, uint8_t op, const char *key, const void *ext, size_t next,
                const void *val, size_t nval, uint32_t opaque, uint64_t cas)
{
    unsigned char *p = (unsigned char *)f->in + f->nin;
    size_t nkey = key ? strlen(key) : 0, body = next + nkey + nval;
    memset(p, 0, 24);
    p[0] = 0x80;
    p[1] = op;
    p[2] = (unsigned char)(nkey >> 8);
    p[3] = (unsigned char)nkey;
    p[4] = (unsigned char)next;
    put32(p + 8, (uint32_t)body);
    put32(p + 12, opaque);
    put32(p + 16, (uint32_t)(cas >> 32));
    put32(p + 20, (uint32_t)cas);
    if (next) /* memcpy's pointers may not be NULL, even for 0 bytes */
        memcpy(p + 24, ext, next);
    if (nkey)
        memcpy(p + 24 + next, key, nkey);
    if (nval)
        memcpy(p + 24 + next + nkey, val, nval);
    f->nin += 24 + body;
}

/* Storage extras: flags and exptime. */
static const unsigned char *ext8(uint32_t flags, uint32_t exptime)
{
    static unsigned char e[8];
    put32(e, flags);
    put32(e + 4, exptime);
    return e;
}

/* Run f->in, decode every reply into f->r; returns how many. */
static int run(struct fixture *f)
{
    size_t used = drive(&bin_protocol, &f->e.ses, &f->e.ctx, f->in, f->nin, &f->e.out, &f->e.last);
    if (f->e.last == FEED_AGAIN)
        assert_int_equal(used, f->nin);
    size_t n = drive_collect(&f->e.out, f->outbuf), pos = 0;
    f->nr = 0;
    f->nin = 0;
    while (pos < n) {
        const unsigned char *p = (const unsigned char *)f->outbuf + pos;
        assert_true(n - pos >= 24);
        assert_true(f->nr < 256);
        struct reply *r = &f->r[f->nr++];
        r->magic = p[0];
        r->opcode = p[1];
        r->keylen = (uint16_t)(p[2] << 8 | p[3]);
        r->extlen = p[4];
        r->status = (uint16_t)(p[6] << 8 | p[7]);
        r->bodylen = get32(p + 8);
        r->opaque = get32(p + 12);
        r->cas = (uint64_t)get32(p + 16) << 32 | get32(p + 20);
        r->body = (const char *)p + 24;
        assert_int_equal(r->magic, 0x81);
        assert_int_equal(p[5], 0);
        pos += 24 + r->bodylen;
    }
    assert_int_equal(pos, n);
    return f->nr;
}

static void assert_body(const struct reply *r, const char *text)
{
    assert_int_equal(r->bodylen, strlen(text));
    assert_memory_equal(r->body, text, strlen(text));
}

static void test_set_get(void **state)
{
    struct fixture *f = *state;
    req(f, BIN_SET, "k", ext8(0xdeadbeef, 0), 8, "hello", 5, 1, 0);
    req(f, BIN_GET, "k", NULL, 0, NULL, 0, 2, 0);
    req(f, BIN_GETK, "k", NULL, 0, NULL, 0, 3, 0);
    req(f, BIN_GET, "nope", NULL, 0, NULL, 0, 4, 0);
    req(f, BIN_GETK, "nope", NULL, 0, NULL, 0, 5, 0);
    assert_int_equal(run(f), 5);
    assert_int_equal(f->r[0].status, BIN_OK);
    assert_int_equal(f->r[0].opaque, 1);
    assert_int_equal(f->r[0].bodylen, 0);
    uint64_t cas = f->r[0].cas;
    assert_true(cas != 0);
    /* get: flags in extras, the value, the item's cas */
    assert_int_equal(f->r[1].opcode, BIN_GET);
    assert_int_equal(f->r[1].extlen, 4);
    assert_int_equal(f->r[1].keylen, 0);
    assert_int_equal(get32((const unsigned char *)f->r[1].body), 0xdeadbeef);
    assert_memory_equal(f->r[1].body + 4, "hello", 5);
    assert_int_equal(f->r[1].cas, cas);
    /* getk: the key after the extras */
    assert_int_equal(f->r[2].keylen, 1);
    assert_memory_equal(f->r[2].body + 4, "khello", 6);
    /* misses: "Not found", or the key for getk */
    assert_int_equal(f->r[3].status, BIN_KEY_ENOENT);
    assert_body(&f->r[3], "Not found");
    assert_int_equal(f->r[4].status, BIN_KEY_ENOENT);
    assert_int_equal(f->r[4].keylen, 4);
    assert_body(&f->r[4], "nope");
    assert_int_equal(f->e.stats.get_hits, 2);
    assert_int_equal(f->e.stats.get_misses, 2);
}

/* getq/getkq: hits answer, misses do not; the noop ends the batch. */
static void test_quiet_pipeline(void **state)
{
    struct fixture *f = *state;
    req(f, BIN_SETQ, "a", ext8(0, 0), 8, "1", 1, 1, 0);
    req(f, BIN_SETQ, "b", ext8(0, 0), 8, "2", 1, 2, 0);
    req(f, BIN_GETQ, "a", NULL, 0, NULL, 0, 3, 0);
    req(f, BIN_GETQ, "x", NULL, 0, NULL, 0, 4, 0);
    req(f, BIN_GETKQ, "b", NULL, 0, NULL, 0, 5, 0);
    req(f, BIN_REPLACEQ, "x", ext8(0, 0), 8, "3", 1, 6, 0); /* an error speaks */
    req(f, BIN_DELETEQ, "a", NULL, 0, NULL, 0, 7, 0);
    req(f, BIN_NOOP, NULL, NULL, 0, NULL, 0, 8, 0);
    assert_int_equal(run(f), 4);
    assert_int_equal(f->r[0].opcode, BIN_GETQ);
    assert_int_equal(f->r[0].opaque, 3);
    assert_int_equal(f->r[1].opcode, BIN_GETKQ);
    assert_memory_equal(f->r[1].body + 4, "b2", 2);
    assert_int_equal(f->r[2].opcode, BIN_REPLACEQ);
    assert_int_equal(f->r[2].status, BIN_KEY_ENOENT);
    assert_int_equal(f->r[2].opaque, 6);
    assert_int_equal(f->r[3].opcode, BIN_NOOP);
    assert_int_equal(f->r[3].opaque, 8);
}

static void test_storage_modes_and_cas(void **state)
{
    struct fixture *f = *state;
    req(f, BIN_ADD, "k", ext8(0, 0), 8, "a", 1, 1, 0);
    req(f, BIN_ADD, "k", ext8(0, 0), 8, "b", 1, 2, 0);
    req(f, BIN_REPLACE, "nope", ext8(0, 0), 8, "b", 1, 3, 0);
    req(f, BIN_APPEND, "k", NULL, 0, "zz", 2, 4, 0);
    req(f, BIN_PREPEND, "k", NULL, 0, "yy", 2, 5, 0);
    req(f, BIN_APPEND, "nope", NULL, 0, "zz", 2, 6, 0);
    req(f, BIN_GET, "k", NULL, 0, NULL, 0, 7, 0);
    assert_int_equal(run(f), 7);
    assert_int_equal(f->r[0].status, BIN_OK);
    assert_int_equal(f->r[1].status, BIN_KEY_EEXISTS);
    assert_body(&f->r[1], "Data exists for key.");
    assert_int_equal(f->r[2].status, BIN_KEY_ENOENT);
    assert_int_equal(f->r[5].status, BIN_NOT_STORED);
    assert_body(&f->r[5], "Not stored.");
    assert_memory_equal(f->r[6].body + 4, "yyazz", 5);
    uint64_t cas = f->r[6].cas;

    req(f, BIN_SET, "k", ext8(0, 0), 8, "c", 1, 1, cas + 1);   /* wrong cas */
    req(f, BIN_SET, "nope", ext8(0, 0), 8, "c", 1, 2, 5);      /* cas on a missing key */
    req(f, BIN_APPEND, "k", NULL, 0, "c", 1, 3, cas + 1);      /* append checks it too */
    req(f, BIN_SET, "k", ext8(0, 0), 8, "c", 1, 4, cas);       /* right cas */
    req(f, BIN_DELETE, "k", NULL, 0, NULL, 0, 5, cas);         /* now stale */
    assert_int_equal(run(f), 5);
    assert_int_equal(f->r[0].status, BIN_KEY_EEXISTS);
    assert_int_equal(f->r[1].status, BIN_KEY_ENOENT);
    assert_int_equal(f->r[2].status, BIN_KEY_EEXISTS);
    assert_int_equal(f->r[3].status, BIN_OK);
    assert_true(f->r[3].cas > cas);
    assert_int_equal(f->r[4].status, BIN_KEY_EEXISTS);
    req(f, BIN_DELETE, "k", NULL, 0, NULL, 0, 6, f->r[3].cas);
    req(f, BIN_DELETE, "k", NULL, 0, NULL, 0, 7, 0);
    assert_int_equal(run(f), 2);
    assert_int_equal(f->r[0].status, BIN_OK);
    assert_int_equal(f->r[1].status, BIN_KEY_ENOENT);
    assert_int_equal(f->e.stats.cas_badval, 1);
    assert_int_equal(f->e.stats.cas_misses, 1);
    assert_int_equal(f->e.stats.cas_hits, 1);
}

static const unsigned char *ext20(uint64_t delta, uint64_t initial, uint32_t exptime)
{
    static unsigned char e[20];
    put32(e, (uint32_t)(delta >> 32));
    put32(e + 4, (uint32_t)delta);
    put32(e + 8, (uint32_t)(initial >> 32));
    put32(e + 12, (uint32_t)initial);
    put32(e + 16, exptime);
    return e;
}

static uint64_t get64(const char *p)
{
    const unsigned char *q = (const unsigned char *)p;
    return (uint64_t)get32(q) << 32 | get32(q + 4);
}

static void test_incr_decr(void **state)
{
    struct fixture *f = *state;
    req(f, BIN_INCREMENT, "n", ext20(5, 100, 0xffffffffu), 20, NULL, 0, 1, 0); /* no create */
    req(f, BIN_INCREMENT, "n", ext20(5, 100, 0), 20, NULL, 0, 2, 0);           /* created */
    req(f, BIN_INCREMENT, "n", ext20(5, 100, 0), 20, NULL, 0, 3, 0);
    req(f, BIN_DECREMENT, "n", ext20(1000, 0, 0), 20, NULL, 0, 4, 0);          /* stops at 0 */
    req(f, BIN_SET, "s", ext8(0, 0), 8, "abc", 3, 5, 0);
    req(f, BIN_INCREMENT, "s", ext20(1, 0, 0), 20, NULL, 0, 6, 0);
    req(f, BIN_GET, "n", NULL, 0, NULL, 0, 7, 0);
    assert_int_equal(run(f), 7);
    assert_int_equal(f->r[0].status, BIN_KEY_ENOENT);
    assert_int_equal(f->r[1].status, BIN_OK);
    assert_int_equal(f->r[1].bodylen, 8);
    assert_int_equal(get64(f->r[1].body), 100);
    assert_true(f->r[1].cas != 0);
    assert_int_equal(get64(f->r[2].body), 105);
    assert_true(f->r[2].cas > f->r[1].cas);
    assert_int_equal(get64(f->r[3].body), 0);
    assert_int_equal(f->r[5].status, BIN_DELTA_BADVAL);
    assert_body(&f->r[5], "Non-numeric server-side value for incr or decr");
    assert_memory_equal(f->r[6].body + 4, "0  ", 3); /* padded as memcached pads */
    req(f, BIN_INCREMENT, "n", ext20(1, 0, 0), 20, NULL, 0, 8, f->r[6].cas + 7);
    assert_int_equal(run(f), 1);
    assert_int_equal(f->r[0].status, BIN_KEY_EEXISTS);
}

static void test_touch_gat_flush_version(void **state)
{
    struct fixture *f = *state;
    unsigned char e4[4];
    put32(e4, 100);
    req(f, BIN_SET, "t", ext8(7, 0), 8, "v", 1, 1, 0);
    req(f, BIN_TOUCH, "t", e4, 4, NULL, 0, 2, 0);
    req(f, BIN_GAT, "t", e4, 4, NULL, 0, 3, 0);
    req(f, BIN_GATK, "t", e4, 4, NULL, 0, 4, 0);
    req(f, BIN_GATQ, "nope", e4, 4, NULL, 0, 5, 0);
    req(f, BIN_TOUCH, "nope", e4, 4, NULL, 0, 6, 0);
    req(f, BIN_VERSION, NULL, NULL, 0, NULL, 0, 7, 0);
    req(f, BIN_FLUSHQ, NULL, NULL, 0, NULL, 0, 8, 0);
    req(f, BIN_GET, "t", NULL, 0, NULL, 0, 9, 0);
    assert_int_equal(run(f), 7);
    assert_int_equal(f->r[1].extlen, 4); /* touch: the flags, no value */
    assert_int_equal(f->r[1].bodylen, 4);
    assert_int_equal(f->r[2].bodylen, 5);
    assert_int_equal(f->r[3].bodylen, 6);
    assert_int_equal(f->r[4].status, BIN_KEY_ENOENT);
    assert_int_equal(f->r[4].opaque, 6);
    assert_body(&f->r[5], MEMG_VERSION);
    assert_int_equal(f->r[6].status, BIN_KEY_ENOENT);
    assert_int_equal(f->r[6].opaque, 9);
    assert_int_equal(f->e.stats.touch_hits, 3);
    assert_int_equal(f->e.stats.cmd_flush, 1);
}

static void test_stat_groups(void **state)
{
    struct fixture *f = *state;
    req(f, BIN_STAT, NULL, NULL, 0, NULL, 0, 1, 0);
    int n = run(f);
    assert_true(n > 50);
    assert_int_equal(f->r[0].keylen, 3);
    assert_memory_equal(f->r[0].body, "pid", 3);
    for (int i = 0; i < n; i++) {
        assert_int_equal(f->r[i].opcode, BIN_STAT);
        assert_int_equal(f->r[i].opaque, 1);
    }
    assert_int_equal(f->r[n - 1].bodylen, 0); /* the empty packet ends it */
    req(f, BIN_STAT, "settings", NULL, 0, NULL, 0, 2, 0);
    n = run(f);
    assert_true(n > 10);
    assert_int_equal(f->r[n - 1].keylen, 0);
    req(f, BIN_STAT, "reset", NULL, 0, NULL, 0, 3, 0);
    assert_int_equal(run(f), 1);
    assert_int_equal(f->r[0].status, BIN_OK);
    req(f, BIN_STAT, "nonsense", NULL, 0, NULL, 0, 4, 0);
    req(f, BIN_STAT, "conns", NULL, 0, NULL, 0, 5, 0);
    assert_int_equal(run(f), 2);
    assert_int_equal(f->r[0].status, BIN_KEY_ENOENT);
    assert_int_equal(f->r[1].status, BIN_KEY_ENOENT);
}

/* Malformed requests: memcached's answer, then the connection closes;
 * stored data survives. */
static void test_bad_requests(void **state)
{
    struct fixture *f = *state;
    req(f, BIN_SET, "keep", ext8(0, 0), 8, "v", 1, 1, 0);
    run(f);
    struct {
        uint8_t op;
        const char *key;
        size_t next;
        enum bin_status st;
    } cases[] = {
        {BIN_GET, "k", 4, BIN_EINVAL},        /* extras where none belong */
        {BIN_SET, "k", 4, BIN_EINVAL},        /* 4 extras instead of 8 */
        {BIN_INCREMENT, "k", 0, BIN_EINVAL},  /* no extras */
        {BIN_GET, NULL, 0, BIN_EINVAL},       /* no key */
        {BIN_NOOP, "k", 0, BIN_EINVAL},       /* a key where none belongs */
    };
    static const unsigned char zero[20];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&f->e.ses, 0, sizeof(f->e.ses));
        req(f, cases[i].op, cases[i].key, zero, cases[i].next, NULL, 0, 9, 0);
        req(f, BIN_NOOP, NULL, NULL, 0, NULL, 0, 10, 0);
        assert_int_equal(run(f), 1);
        assert_int_equal(f->e.last, FEED_QUIT);
        assert_int_equal(f->r[0].status, cases[i].st);
        assert_body(&f->r[0], bin_status_text(cases[i].st));
    }
    /* a key of 251 bytes */
    char key[252];
    memset(key, 'k', 251);
    key[251] = '\0';
    memset(&f->e.ses, 0, sizeof(f->e.ses));
    req(f, BIN_GET, key, NULL, 0, NULL, 0, 1, 0);
    assert_int_equal(run(f), 1);
    assert_int_equal(f->r[0].status, BIN_EINVAL);
    assert_int_equal(f->e.last, FEED_QUIT);
    /* a key longer than the body */
    memset(&f->e.ses, 0, sizeof(f->e.ses));
    req(f, BIN_GET, "abc", NULL, 0, NULL, 0, 1, 0);
    f->in[11] = 2;
    assert_int_equal(run(f), 1);
    assert_int_equal(f->r[0].status, BIN_UNKNOWN_COMMAND);
    assert_int_equal(f->e.last, FEED_QUIT);
    /* wrong magic: closed without a word */
    memset(&f->e.ses, 0, sizeof(f->e.ses));
    req(f, BIN_NOOP, NULL, NULL, 0, NULL, 0, 1, 0);
    f->in[0] = 0x81;
    assert_int_equal(run(f), 0);
    assert_int_equal(f->e.last, FEED_CLOSE);
    /* an unknown opcode: answered, its body discarded, the connection kept */
    memset(&f->e.ses, 0, sizeof(f->e.ses));
    req(f, 0x55, NULL, NULL, 0, "xyz", 3, 2, 0);
    req(f, BIN_GET, "keep", NULL, 0, NULL, 0, 3, 0);
    assert_int_equal(run(f), 2);
    assert_int_equal(f->r[0].status, BIN_UNKNOWN_COMMAND);
    assert_body(&f->r[0], "Unknown command");
    assert_int_equal(f->r[1].status, BIN_OK);
    assert_int_equal(f->r[1].opaque, 3);
}

/* A value larger than the read buffer goes into its item; one over -I is
 * refused with E2BIG once discarded; a refused set deletes the old value
 * (memcached's rule: no stale value), a refused replace keeps it. */
static void test_large_values(void **state)
{
    struct fixture *f = *state;
    size_t n = 3 * DRIVE_CAP + 5;
    char *v = malloc(2u << 20);
    for (size_t i = 0; i < n; i++)
        v[i] = (char)('a' + i % 26);
    req(f, BIN_SET, "big", ext8(1, 0), 8, v, n, 1, 0);
    req(f, BIN_GET, "big", NULL, 0, NULL, 0, 2, 0);
    assert_int_equal(run(f), 2);
    assert_int_equal(f->r[0].status, BIN_OK);
    assert_false(f->e.ses.txn_open);
    assert_int_equal(f->r[1].bodylen, 4 + n);
    assert_memory_equal(f->r[1].body + 4, v, n);
    size_t huge = (1u << 20) + 1;
    req(f, BIN_REPLACE, "big", ext8(1, 0), 8, v, huge, 3, 0);
    req(f, BIN_GET, "big", NULL, 0, NULL, 0, 4, 0);
    req(f, BIN_SETQ, "big", ext8(1, 0), 8, v, huge, 5, 0);
    req(f, BIN_GET, "big", NULL, 0, NULL, 0, 6, 0);
    assert_int_equal(run(f), 4);
    assert_int_equal(f->r[0].status, BIN_E2BIG);
    assert_body(&f->r[0], "Too large.");
    assert_int_equal(f->r[1].status, BIN_OK);
    assert_int_equal(f->r[1].bodylen, 4 + n);
    assert_int_equal(f->r[2].opcode, BIN_SETQ); /* quiet, but an error speaks */
    assert_int_equal(f->r[2].status, BIN_E2BIG);
    assert_int_equal(f->r[3].status, BIN_KEY_ENOENT);
    free(v);
}

/* A header announcing a 4 GB body is neither buffered nor trusted: the
 * body is discarded as it comes (E2BIG once it is gone), memory bounded. */
static void test_huge_body(void **state)
{
    struct fixture *f = *state;
    req(f, BIN_SET, "k", ext8(0, 0), 8, NULL, 0, 1, 0);
    unsigned char *p = (unsigned char *)f->in;
    put32(p + 8, 0xfffffff0u); /* bodylen */
    assert_int_equal(run(f), 0); /* no answer before the body is gone */
    assert_int_equal(f->e.ses.recv_left, 0xfffffff0u - 9);
    assert_null(f->e.ses.recv_dst);
    assert_false(f->e.ses.txn_open);
}

/* Feed f->in in two reads split at cut, as conn does: what a feed leaves
 * unconsumed stays at the head of the buffer and the rest is appended. */
static void run_split(struct fixture *f, size_t cut)
{
    static char buf[4096];
    size_t total = f->nin;
    assert_true(total <= sizeof buf);
    size_t used = drive(&bin_protocol, &f->e.ses, &f->e.ctx, f->in, cut, &f->e.out, &f->e.last);
    assert_int_equal(f->e.last, FEED_AGAIN);
    size_t kept = cut - used;
    memcpy(buf, f->in + used, total - used); /* the kept head, then the second read */
    assert_int_equal(kept + (total - cut), total - used);
    memcpy(f->in, buf, total - used);
    f->nin = total - used;
}

/* A storage request split across two reads anywhere (header, extras, key,
 * value) is answered as if sent whole: a real network delivers it so. */
static void test_split_anywhere(void **state)
{
    struct fixture *f = *state;
    static const uint8_t ops[] = {0x01 /* set */, 0x11 /* setq */, 0x0e /* append */};
    for (size_t o = 0; o < sizeof ops; o++) {
        f->nin = 0;
        req(f, 0x01, "k", ext8(0, 0), 8, "0123456789", 10, 7, 0);
        assert_int_equal(run(f), 1);
        f->nin = 0;
        bool append = ops[o] == 0x0e;
        req(f, ops[o], "k", append ? NULL : ext8(5, 0), append ? 0 : 8, "abcdefghij", 10, 9, 0);
        req(f, 0x0a /* noop */, NULL, NULL, 0, NULL, 0, 10, 0);
        size_t whole = f->nin;
        char sent[256];
        memcpy(sent, f->in, whole);
        for (size_t cut = 1; cut < whole; cut++) {
            memcpy(f->in, sent, whole);
            f->nin = whole;
            run_split(f, cut);
            int n = run(f);
            bool quiet = ops[o] == 0x11;
            assert_int_equal(n, quiet ? 1 : 2);
            if (!quiet) {
                assert_int_equal(f->r[0].opcode, ops[o]);
                assert_int_equal(f->r[0].status, 0);
                assert_int_equal(f->r[0].opaque, 9);
            }
            assert_int_equal(f->r[n - 1].opcode, 0x0a);
            assert_int_equal(f->r[n - 1].opaque, 10);
            /* the value stored is the one sent, whole */
            f->nin = 0;
            req(f, 0x00, "k", NULL, 0, NULL, 0, 11, 0);
            assert_int_equal(run(f), 1);
            assert_int_equal(f->r[0].status, 0);
            const char *want = append ? "0123456789abcdefghij" : "abcdefghij";
            assert_int_equal(f->r[0].bodylen, 4 + strlen(want)); /* flags, then the value */
            assert_memory_equal(f->r[0].body + 4, want, strlen(want));
            /* back to the first value for the next cut */
            f->nin = 0;
            req(f, 0x01, "k", ext8(0, 0), 8, "0123456789", 10, 7, 0);
            assert_int_equal(run(f), 1);
        }
    }
}

static struct auth *split_users;

/* -S with the user alice: what test_split_everywhere's SASL part runs under. */
static void sasl_env(struct drive_env *e)
{
    e->cfg.sasl = true;
    e->ctx.auth = split_users;
}

/* A pipeline answers the same bytes however it is split into reads: in two
 * at every byte, and one byte a read. Quiet commands, opaques, a value
 * split in its middle; then a SASL login and what it opens. */
static void test_split_everywhere(void **state)
{
    struct fixture *f = *state;
    static const unsigned char incr[20] = {0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 9};
    f->nin = 0;
    req(f, 0x01, "k", ext8(1, 0), 8, "0123456789", 10, 7, 0);   /* set */
    req(f, 0x11, "q", ext8(2, 0), 8, "abcdefghij", 10, 8, 0);   /* setq */
    req(f, 0x0e, "k", NULL, 0, "tail", 4, 9, 0);                /* append */
    req(f, 0x19, "q", NULL, 0, "!", 1, 10, 0);                  /* appendq */
    req(f, 0x09, "k", NULL, 0, NULL, 0, 11, 0);                 /* getq: a hit */
    req(f, 0x0d, "nokey", NULL, 0, NULL, 0, 12, 0);             /* getkq: a miss, silent */
    req(f, 0x0c, "q", NULL, 0, NULL, 0, 13, 0);                 /* getk */
    req(f, 0x15, "c", incr, 20, NULL, 0, 14, 0);                /* incrq: created */
    req(f, 0x05, "c", incr, 20, NULL, 0, 15, 0);                /* incr */
    req(f, 0x14, "k", NULL, 0, NULL, 0, 16, 0);                 /* deleteq */
    req(f, 0x00, "k", NULL, 0, NULL, 0, 17, 0);                 /* get: a miss */
    req(f, 0x0a, NULL, NULL, 0, NULL, 0, 18, 0);                /* noop */
    assert_int_equal(drive_split_check(&bin_protocol, NULL, f->in, f->nin, f->outbuf,
                                       sizeof(f->outbuf)), -1);
    size_t n = drive_pieces(&bin_protocol, NULL, f->in, f->nin, NULL, 0, f->outbuf,
                            sizeof(f->outbuf));
    /* set, append, getq (flags, value), getk (flags, key, value), incr, get miss, noop */
    assert_int_equal(n, 24 * 7 + (4 + 14) + (4 + 1 + 11) + 8 + 9);
    split_users = auth_parse("alice:secret\n", 13);
    assert_non_null(split_users);
    f->nin = 0;
    req(f, 0x20, NULL, NULL, 0, NULL, 0, 2, 0);                 /* list mechs */
    req(f, 0x21, "PLAIN", NULL, 0, "\0alice\0secret", 13, 3, 0); /* auth */
    req(f, 0x11, "s", ext8(0, 0), 8, "sec", 3, 4, 0);           /* setq */
    req(f, 0x0c, "s", NULL, 0, NULL, 0, 5, 0);                  /* getk */
    assert_int_equal(drive_split_check(&bin_protocol, sasl_env, f->in, f->nin, f->outbuf,
                                       sizeof(f->outbuf)), -1);
    n = drive_pieces(&bin_protocol, sasl_env, f->in, f->nin, NULL, 0, f->outbuf,
                     sizeof(f->outbuf));
    assert_int_equal(n, 24 + 5 + 24 + 13 + 24 + 4 + 1 + 3); /* PLAIN, Authenticated, the getk */
    assert_memory_equal(f->outbuf + 24 + 5 + 24, "Authenticated", 13);
    auth_free(split_users);
}

static void test_quit(void **state)
{
    struct fixture *f = *state;
    req(f, BIN_QUIT, NULL, NULL, 0, NULL, 0, 1, 0);
    req(f, BIN_NOOP, NULL, NULL, 0, NULL, 0, 2, 0);
    assert_int_equal(run(f), 1);
    assert_int_equal(f->r[0].opcode, BIN_QUIT);
    assert_int_equal(f->e.last, FEED_QUIT);
    memset(&f->e.ses, 0, sizeof(f->e.ses));
    req(f, BIN_QUITQ, NULL, NULL, 0, NULL, 0, 1, 0);
    assert_int_equal(run(f), 0);
    assert_int_equal(f->e.last, FEED_QUIT);
}

static void test_sasl(void **state)
{
    struct fixture *f = *state;
    struct auth *a = auth_parse("alice:secret\n", 13);
    assert_non_null(a);
    f->e.ctx.auth = a;
    f->e.cfg.sasl = true;
    /* before login: version is open, anything else is refused and closed */
    req(f, BIN_VERSION, NULL, NULL, 0, NULL, 0, 1, 0);
    req(f, BIN_GET, "k", NULL, 0, NULL, 0, 2, 0);
    assert_int_equal(run(f), 2);
    assert_int_equal(f->r[1].status, BIN_AUTH_ERROR);
    assert_body(&f->r[1], "Auth failure.");
    assert_int_equal(f->e.last, FEED_QUIT);
    memset(&f->e.ses, 0, sizeof(f->e.ses));
    req(f, BIN_SASL_LIST_MECHS, NULL, NULL, 0, NULL, 0, 3, 0);
    req(f, BIN_SASL_AUTH, "PLAIN", NULL, 0, "\0alice\0wrong", 12, 4, 0);
    req(f, BIN_SASL_AUTH, "PLAIN", NULL, 0, "\0alice\0secret", 13, 5, 0);
    req(f, BIN_GET, "k", NULL, 0, NULL, 0, 6, 0);
    assert_int_equal(run(f), 4);
    assert_body(&f->r[0], "PLAIN");
    assert_int_equal(f->r[1].status, BIN_AUTH_ERROR);
    assert_int_equal(f->r[2].status, BIN_OK);
    assert_body(&f->r[2], "Authenticated");
    assert_int_equal(f->r[3].status, BIN_KEY_ENOENT);
    assert_int_equal(f->e.stats.auth_cmds, 2);
    assert_int_equal(f->e.stats.auth_errors, 1);
    /* PLAIN in two steps; then a step too many logs out */
    req(f, BIN_SASL_AUTH, "plain", NULL, 0, NULL, 0, 7, 0);
    req(f, BIN_SASL_STEP, "PLAIN", NULL, 0, "alice\0alice\0secret", 18, 8, 0);
    req(f, BIN_SASL_STEP, "PLAIN", NULL, 0, "\0alice\0secret", 13, 9, 0);
    req(f, BIN_GET, "k", NULL, 0, NULL, 0, 10, 0);
    assert_int_equal(run(f), 4);
    assert_int_equal(f->r[0].status, BIN_AUTH_CONTINUE);
    assert_int_equal(f->r[0].bodylen, 0);
    assert_int_equal(f->r[1].status, BIN_OK); /* an authzid equal to the user */
    assert_int_equal(f->r[2].status, BIN_AUTH_ERROR);
    assert_int_equal(f->r[3].status, BIN_AUTH_ERROR);
    assert_int_equal(f->e.last, FEED_QUIT);
    /* someone else's authzid is refused */
    memset(&f->e.ses, 0, sizeof(f->e.ses));
    req(f, BIN_SASL_AUTH, "PLAIN", NULL, 0, "bob\0alice\0secret", 16, 11, 0);
    assert_int_equal(run(f), 1);
    assert_int_equal(f->r[0].status, BIN_AUTH_ERROR);
    auth_free(a);
}

/* -B auto: the first byte picks the protocol, once. */
static void test_auto(void **state)
{
    struct fixture *f = *state;
    enum feed_status st;
    req(f, BIN_NOOP, NULL, NULL, 0, NULL, 0, 1, 0);
    f->e.ses.proto = &auto_protocol;
    assert_int_equal(drive(f->e.ses.proto, &f->e.ses, &f->e.ctx, f->in, f->nin, &f->e.out, &st),
                     f->nin);
    assert_ptr_equal(f->e.ses.proto, &bin_protocol);
    f->nin = 0;
    assert_int_equal(drive_collect(&f->e.out, f->outbuf), 24);
    assert_int_equal((unsigned char)f->outbuf[0], 0x81);
    memset(&f->e.ses, 0, sizeof(f->e.ses));
    f->e.ses.proto = &auto_protocol;
    assert_int_equal(drive(f->e.ses.proto, &f->e.ses, &f->e.ctx, "version\r\n", 9, &f->e.out,
                           &st), 9);
    assert_ptr_equal(f->e.ses.proto, &text_protocol);
    drive_collect(&f->e.out, f->outbuf);
    assert_string_equal(f->outbuf, "VERSION " MEMG_VERSION "\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiet_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_modes_and_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incr_decr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_touch_gat_flush_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stat_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sasl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto, setup, teardown),
    };
    return cmocka_run_group_tests_name("bin", tests, NULL, NULL);
}
