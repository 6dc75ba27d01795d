/* Unit tests of the text protocol parser: no socket, just bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fmt.h"
#include "proto/text/proto.h"

/* Copy s right before an unreadable page, so any over-read faults. */
static char *guarded(const char *s, size_t n, void **map, size_t *maplen)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (n + page - 1) / page + 1;
    char *m = mmap(NULL, (pages + 1) * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + pages * page, page, PROT_NONE), 0);
    char *p = m + pages * page - n;
    memcpy(p, s, n);
    *map = m;
    *maplen = (pages + 1) * page;
    return p;
}

static ssize_t parse_guarded(struct request *req, const char *s, size_t n)
{
    void *map;
    size_t maplen;
    char *p = guarded(s, n, &map, &maplen);
    ssize_t r = proto_parse(req, p, n);
    munmap(map, maplen);
    return r;
}

static const char *valid[] = {
    "get a\r\n",
    "get a b c\r\n",
    "gets key1 key2\r\n",
    "gat 100 k\r\n",
    "gats 0 k1 k2\r\n",
    "set k 0 0 5\r\nhello\r\n",
    "set k 4294967295 -1 0 noreply\r\n\r\n",
    "add k 1 2 3\r\nabc\r\n",
    "replace k 1 2 3\r\nabc\r\n",
    "append k 0 0 1\r\nx\r\n",
    "prepend k 0 0 1\r\nx\r\n",
    "cas k 0 0 2 18446744073709551615\r\nab\r\n",
    "set k 0 0 8\r\none\r\ntwo\r\n",
    "incr n 1\r\n",
    "decr n 18446744073709551615 noreply\r\n",
    "delete k\r\n",
    "delete k 0\r\n",
    "delete k noreply\r\n",
    "touch k 10\r\n",
    "flush_all\r\n",
    "flush_all 10 noreply\r\n",
    "version\r\n",
    "verbosity 1\r\n",
    "stats\r\n",
    "stats settings\r\n",
    "quit\r\n",
    "get a\n",
};

static void test_every_prefix_needs_more(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        const char *s = valid[i];
        size_t n = strlen(s);
        struct request req;
        for (size_t k = 0; k < n; k++)
            assert_int_equal(parse_guarded(&req, s, k), PROTO_AGAIN);
        ssize_t r = parse_guarded(&req, s, n);
        assert_int_equal(r, (ssize_t)n);
        assert_int_not_equal(req.cmd, PROTO_ERROR);
    }
}

static void test_fields(void **state)
{
    (void)state;
    struct request req;
    const char *s = "cas mykey 42 -1 8 12345678901234 noreply\r\none\r\ntwo\r\n";
    assert_int_equal(proto_parse(&req, s, strlen(s)), (ssize_t)strlen(s));
    assert_int_equal(req.cmd, PROTO_CAS);
    assert_int_equal(req.key.len, 5);
    assert_memory_equal(req.key.p, "mykey", 5);
    assert_int_equal(req.flags, 42);
    assert_int_equal(req.exptime, -1);
    assert_int_equal(req.vlen, 8);
    assert_true(req.cas == 12345678901234ull);
    assert_true(req.noreply);
    assert_false(req.bad_chunk);
    assert_memory_equal(req.value, "one\r\ntwo", 8);

    s = "incr n 18446744073709551615\r\n";
    assert_int_equal(proto_parse(&req, s, strlen(s)), (ssize_t)strlen(s));
    assert_int_equal(req.cmd, PROTO_INCR);
    assert_true(req.delta == UINT64_MAX);
    assert_false(req.noreply);
}

/* mn takes no key: memcached answers MN whatever follows, a token past the
 * key limit too (a fuzzer found one handed out as a 272-byte key). */
static void test_mn_has_no_key(void **state)
{
    (void)state;
    char line[320];
    memset(line, 'x', sizeof(line));
    memcpy(line + sizeof(line) - 4, " q\r\n", 4);
    /* "mn x..." (the meta fast path) and "mn  x..." (two spaces) */
    for (size_t lead = 0; lead < 2; lead++) {
        memcpy(line, lead ? "mn  " : "mn x", 4);
        struct request req;
        assert_int_equal(parse_guarded(&req, line, sizeof(line)), (ssize_t)sizeof(line));
        assert_int_equal(req.cmd, PROTO_MN);
        assert_null(req.key.p);
        assert_int_equal(req.key.len, 0);
    }
    const char *s = "mn\r\n";
    struct request req;
    assert_int_equal(proto_parse(&req, s, strlen(s)), (ssize_t)strlen(s));
    assert_int_equal(req.cmd, PROTO_MN);
    assert_null(req.key.p);
}

/* The storage line is reported before its data arrives. */
static void test_line_known_before_data(void **state)
{
    (void)state;
    struct request req;
    const char *s = "set big 7 0 100000\r\npartial";
    assert_int_equal(proto_parse(&req, s, strlen(s)), PROTO_AGAIN);
    assert_int_equal(req.cmd, PROTO_SET);
    assert_int_equal(req.line_len, 20);
    assert_int_equal(req.vlen, 100000);
    assert_int_equal(req.flags, 7);
}

/* Feed a stream whole and then byte by byte: same requests, same order. */
static void collect(const char *stream, size_t n, size_t step, enum proto_cmd *cmds, size_t *ncmds,
                    size_t *consumed_total)
{
    size_t have = 0, pos = 0;
    *ncmds = 0;
    while (pos < n) {
        if (have < n - pos && (have == 0 || step))
            have = have + step > n - pos ? n - pos : have + step;
        struct request req;
        ssize_t r = proto_parse(&req, stream + pos, have);
        if (r == PROTO_AGAIN) {
            assert_true(have < n - pos); /* must complete once all is there */
            continue;
        }
        assert_true(r > 0);
        cmds[(*ncmds)++] = req.cmd;
        pos += (size_t)r;
        have -= (size_t)r;
    }
    *consumed_total = pos;
}

static void test_whole_vs_bytewise(void **state)
{
    (void)state;
    char stream[8192];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        size_t len = strlen(valid[i]);
        memcpy(stream + n, valid[i], len);
        n += len;
    }
    enum proto_cmd a[64], b[64];
    size_t na, nb, ca, cb;
    collect(stream, n, n, a, &na, &ca);
    collect(stream, n, 1, b, &nb, &cb);
    assert_int_equal(na, sizeof(valid) / sizeof(valid[0]));
    assert_int_equal(na, nb);
    assert_int_equal(ca, cb);
    assert_memory_equal(a, b, na * sizeof(a[0]));
}

static void test_pipelined_100(void **state)
{
    (void)state;
    char stream[100 * 40];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(stream + n, i % 2 ? "get key%d\r\n" : "set key%d 0 0 2\r\nab\r\n", i);
    size_t pos = 0;
    int count = 0;
    while (pos < n) {
        struct request req;
        ssize_t r = proto_parse(&req, stream + pos, n - pos);
        assert_true(r > 0);
        assert_int_equal(req.cmd, count % 2 ? PROTO_GET : PROTO_SET);
        pos += (size_t)r;
        count++;
    }
    assert_int_equal(count, 100);
}

static void test_get_100_keys(void **state)
{
    (void)state;
    char line[2000] = "get";
    for (int i = 0; i < 100; i++)
        sprintf(line + strlen(line), " k%d", i);
    strcat(line, "\r\n");
    struct request req;
    assert_int_equal(proto_parse(&req, line, strlen(line)), (ssize_t)strlen(line));
    assert_int_equal(req.cmd, PROTO_GET);
    struct proto_token keys = req.keys, key;
    int i = 0;
    while (proto_next_key(&keys, &key)) {
        char want[16];
        sprintf(want, "k%d", i++);
        assert_int_equal(key.len, strlen(want));
        assert_memory_equal(key.p, want, key.len);
    }
    assert_int_equal(i, 100);
}

struct err_case {
    const char *in;
    enum proto_error err;
    size_t consumed; /* 0: the whole input */
    bool noreply;
};

static void test_errors(void **state)
{
    (void)state;
    static char longkey[300];
    memset(longkey, 0, sizeof(longkey));
    strcpy(longkey, "get ");
    memset(longkey + 4, 'k', 251);
    strcat(longkey, "\r\n");
    const struct err_case cases[] = {
        {"foo\r\n", PROTO_ERR_UNKNOWN, 0, false},
        /* memcached 1.6.45: a line under 4 bytes, or a known command
         * short of its arguments, is a format error; extra tokens pass */
        {"\r\n", PROTO_ERR_FORMAT, 0, false},
        {"a\r\n", PROTO_ERR_FORMAT, 0, false},
        {"mn\n", PROTO_ERR_FORMAT, 0, false},
        {"GET a\r\n", PROTO_ERR_UNKNOWN, 0, false},
        {" get a\r\n", PROTO_ERR_UNKNOWN, 0, false},
        {"get\r\n", PROTO_ERR_FORMAT, 0, false},
        {"gat 1\r\n", PROTO_ERR_FORMAT, 0, false},
        {"set a\r\n", PROTO_ERR_FORMAT, 0, false},
        {"incr a\r\n", PROTO_ERR_FORMAT, 0, false},
        {"delete\r\n", PROTO_ERR_FORMAT, 0, false},
        {"set a 0 0 1 noreply junk\r\n", PROTO_ERR_NONE, 0, false},
        {"set a 0 x 1\r\n", PROTO_ERR_FORMAT, 0, false},
        {"set a 0 0 -1\r\n", PROTO_ERR_FORMAT, 0, false},
        {"set a -1 0 1\r\n", PROTO_ERR_FORMAT, 0, false},
        {"set a 4294967296 0 1\r\n", PROTO_ERR_FORMAT, 0, false},
        {"set a 0 0 4294967297\r\n", PROTO_ERR_FORMAT, 0, false}, /* memcached: truncates */
        {"set a 0 99999999999999999999 1\r\n", PROTO_ERR_FORMAT, 0, false},
        {"set a 0 0 1 noreply\r\n", PROTO_ERR_NONE, 0, true}, /* incomplete: checked below */
        {"incr a x\r\n", PROTO_ERR_DELTA, 0, false},
        {"incr a -1 noreply\r\n", PROTO_ERR_DELTA, 0, true},
        {"incr a 18446744073709551616\r\n", PROTO_ERR_DELTA, 0, false},
        {"touch a x\r\n", PROTO_ERR_EXPTIME, 0, false},
        {"gat x a\r\n", PROTO_ERR_EXPTIME, 0, false},
        {"flush_all x\r\n", PROTO_ERR_EXPTIME, 0, false},
        {"touch a 4294967295\r\n", PROTO_ERR_EXPTIME, 0, false},
        {"incr a +1\r\n", PROTO_ERR_DELTA, 0, false},
        {"verbosity\r\n", PROTO_ERR_FORMAT, 0, false},
        {"verbosity x\r\n", PROTO_ERR_FORMAT, 0, false},
        {longkey, PROTO_ERR_GET_KEY, 0, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct request req;
        size_t n = strlen(cases[i].in);
        ssize_t r = parse_guarded(&req, cases[i].in, n);
        if (cases[i].err == PROTO_ERR_NONE) {
            assert_int_equal(r, PROTO_AGAIN);
            continue;
        }
        if (r != (ssize_t)n || req.cmd != PROTO_ERROR || req.error != cases[i].err)
            fail_msg("case %zu (%s): r=%zd cmd=%d err=%d", i, cases[i].in, r, req.cmd, req.error);
        assert_int_equal(req.noreply, cases[i].noreply);
    }
}

static void test_bad_chunk(void **state)
{
    (void)state;
    struct request req;
    const char *s = "set a 0 0 3\r\nabcde\r\n";
    /* memcached takes exactly vlen+2 bytes, then judges them */
    assert_int_equal(proto_parse(&req, s, strlen(s)), 18);
    assert_int_equal(req.cmd, PROTO_SET);
    assert_true(req.bad_chunk);
}

static void test_long_lines(void **state)
{
    (void)state;
    char junk[3000];
    memset(junk, 'x', sizeof(junk));
    struct request req;
    assert_int_equal(proto_parse(&req, junk, 2048), PROTO_AGAIN);
    assert_int_equal(proto_parse(&req, junk, sizeof(junk)), PROTO_CLOSE);
    char get[3000] = "get ";
    memset(get + 4, 'k', sizeof(get) - 4);
    assert_int_equal(proto_parse(&req, get, sizeof(get)), PROTO_AGAIN); /* a big multi-get */
    const char *http = "GET / HTTP/1.1\r\n";
    assert_int_equal(proto_parse(&req, http, strlen(http)), PROTO_CLOSE);
}

/* Flags: 32 bits, refused above (the data skipped); 64 bits with
 * -o large_client_flags (proto_flags_max), 2^64 refused in both. */
static void test_large_client_flags(void **state)
{
    (void)state;
    struct request req;
    const char *big = "set a 4294967296 0 1\r\nx\r\n", *max = "set a 18446744073709551615 0 1\r\nx\r\n",
               *over = "set a 18446744073709551616 0 1\r\nx\r\n";
    assert_int_equal(proto_parse(&req, big, strlen(big)), 22);
    assert_int_equal(req.error, PROTO_ERR_FORMAT);
    assert_int_equal(req.swallow, 3);
    proto_flags_max = UINT64_MAX;
    assert_int_equal(proto_parse(&req, big, strlen(big)), (ssize_t)strlen(big));
    assert_int_equal(req.cmd, PROTO_SET);
    assert_true(req.flags == 4294967296ull);
    assert_int_equal(proto_parse(&req, max, strlen(max)), (ssize_t)strlen(max));
    assert_true(req.flags == UINT64_MAX);
    assert_int_equal(proto_parse(&req, over, strlen(over)), 32);
    assert_int_equal(req.error, PROTO_ERR_FORMAT);
    char out[128];
    size_t n = proto_value_header(out, "a", 1, UINT64_MAX, 1, NULL);
    assert_memory_equal(out, "VALUE a 18446744073709551615 1\r\n", n);
    proto_flags_max = UINT32_MAX;
}

static void test_memcached_number_rules(void **state)
{
    (void)state;
    struct request req;
    const char *ok[] = {"set a +1 0 1\r\nx\r\n", "set a -0 0 1\r\nx\r\n", "set  a  0 0 1\r\nx\r\n",
                        "get a \r\n", "delete a 0 0\r\n", "set a 0 0 1 2 3\r\nx\r\n"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ssize_t r = proto_parse(&req, ok[i], strlen(ok[i]));
        assert_int_equal(r, (ssize_t)strlen(ok[i]));
        assert_int_not_equal(req.cmd, PROTO_ERROR);
    }
    /* exptimes keep their low 32 bits, as memcached's safe_strtol: -1 */
    const char *neg = "set a 0 4294967295 1\r\nx\r\n";
    assert_int_equal(proto_parse(&req, neg, strlen(neg)), (ssize_t)strlen(neg));
    assert_int_equal(req.exptime, -1);
    const char *nul = "get a\0junk\r\n";
    assert_int_equal(proto_parse(&req, nul, 12), 12);
    struct proto_token keys = req.keys, key;
    assert_true(proto_next_key(&keys, &key));
    assert_int_equal(key.len, 6); /* 1.6.45 no longer stops at a NUL */
    assert_false(proto_next_key(&keys, &key));
    /* a storage line refused after its length was read: its data is skipped */
    const char *bad = "set a x 0 3\r\nabc\r\n";
    assert_int_equal(proto_parse(&req, bad, strlen(bad)), 13);
    assert_int_equal(req.error, PROTO_ERR_FORMAT);
    assert_int_equal(req.swallow, 5);
    const char *tab = "set a 0 0 1\t\r\nx\r\n"; /* the length is digits only */
    assert_int_equal(proto_parse(&req, tab, strlen(tab)), 14);
    assert_int_equal(req.swallow, 0);
}

static void test_value_header(void **state)
{
    (void)state;
    char out[PROTO_VALUE_HEADER_MAX];
    uint64_t cas = 18446744073709551615ull;
    size_t n = proto_value_header(out, "k", 1, 4294967295u, 1048576, &cas);
    const char *want = "VALUE k 4294967295 1048576 18446744073709551615\r\n";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    n = proto_value_header(out, "greeting", 8, 0, 11, NULL);
    assert_memory_equal(out, "VALUE greeting 0 11\r\n", n);
}

/* Every length of number: 0, 9, 10, 99, 100, ... 10^19, UINT64_MAX, each
 * against snprintf's. */
static void test_u64_every_length(void **state)
{
    (void)state;
    uint64_t v = 1;
    for (int i = 0; i < 20; i++, v *= 10) {
        const uint64_t each[] = {v - 1, v, v + 1, v * 9 / 10 + v / 3};
        for (size_t j = 0; j < 4; j++) {
            char got[24], want[24];
            size_t n = fmt_u64(got, each[j]);
            int m = snprintf(want, sizeof(want), "%llu", (unsigned long long)each[j]);
            assert_int_equal(n, (size_t)m);
            assert_memory_equal(got, want, n);
        }
    }
    char got[24];
    assert_int_equal(fmt_u64(got, UINT64_MAX), 20);
    assert_memory_equal(got, "18446744073709551615", 20);
}

/* A "get" line's keys as the tokenizer would take them: spaces collapsed,
 * a tab part of a key, 250 bytes the longest key, the line's \r left out. */
static void test_get_line_keys(void **state)
{
    (void)state;
    static char line[600];
    struct request req;
    const char *s = "get  a\tb   c \r\n"; /* keys are read after: not the guarded copy */
    assert_int_equal(proto_parse(&req, s, strlen(s)), (ssize_t)strlen(s));
    assert_int_equal(req.cmd, PROTO_GET);
    struct proto_token rest = req.keys, k;
    assert_true(proto_next_key(&rest, &k));
    assert_int_equal(k.len, 3);
    assert_memory_equal(k.p, "a\tb", 3);
    assert_true(proto_next_key(&rest, &k));
    assert_int_equal(k.len, 1);
    assert_false(proto_next_key(&rest, &k));
    for (size_t len = 249; len <= 251; len++) { /* the second key of two */
        memset(line, 0, sizeof(line));
        strcpy(line, "get a ");
        memset(line + 6, 'k', len);
        strcat(line, "\r\n");
        ssize_t r = parse_guarded(&req, line, strlen(line));
        assert_int_equal(r, (ssize_t)strlen(line));
        assert_int_equal(req.cmd, len > 250 ? PROTO_ERROR : PROTO_GET);
        if (len > 250)
            assert_int_equal(req.error, PROTO_ERR_GET_KEY);
    }
    s = "get   \r\n"; /* spaces, no key */
    assert_int_equal(parse_guarded(&req, s, strlen(s)), (ssize_t)strlen(s));
    assert_int_equal(req.error, PROTO_ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64_every_length),
        cmocka_unit_test(test_get_line_keys),
        cmocka_unit_test(test_every_prefix_needs_more),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_mn_has_no_key),
        cmocka_unit_test(test_line_known_before_data),
        cmocka_unit_test(test_whole_vs_bytewise),
        cmocka_unit_test(test_pipelined_100),
        cmocka_unit_test(test_get_100_keys),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bad_chunk),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_memcached_number_rules),
        cmocka_unit_test(test_large_client_flags),
        cmocka_unit_test(test_value_header),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
