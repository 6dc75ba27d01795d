/* selftest: the reply parsers (text and binary, whole and every prefix), the
 * value checks, the binary requests and the histogram, checked without a
 * server. `memg-bench --selftest`. */
#include "bench.h"
#include "hist.h"
#include "reply.h"
#include "prod.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, checks;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        checks++;                                                                     \
        if (!(cond)) {                                                                \
            failures++;                                                               \
            fprintf(stderr, "selftest: %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                             \
    } while (0)

/* Every strict prefix of a complete unit must be AGAIN; the whole is `kind`. */
static void _parse_case(const char *in, size_t len, enum reply_kind kind, size_t consumed)
{
    struct reply r;
    char *copy = malloc(len ? len : 1); /* exact size: ASan catches over-reads */
    memcpy(copy, in, len);
    for (size_t i = 0; i < len && kind != REPLY_BAD; i++) {
        enum reply_kind k = reply_parse(&r, copy, i, 64, 1 << 20);
        if (k != REPLY_AGAIN && !(i >= consumed)) {
            fprintf(stderr, "selftest: prefix %zu of \"%.*s\" gave %d\n", i, (int)len, in, k);
            CHECK(k == REPLY_AGAIN);
        }
    }
    CHECK(reply_parse(&r, copy, len, 64, 1 << 20) == kind);
    if (kind != REPLY_BAD && kind != REPLY_AGAIN)
        CHECK(r.consumed == consumed);
    free(copy);
}

#define CASE(lit, kind, consumed) _parse_case(lit, sizeof(lit) - 1, kind, consumed)

static void _parser(void)
{
    CASE("STORED\r\n", REPLY_STORED, 8);
    CASE("END\r\n", REPLY_END, 5);
    CASE("END\r\nEND\r\n", REPLY_END, 5);
    CASE("NOT_STORED\r\n", REPLY_NOT_STORED, 12);
    CASE("ERROR\r\n", REPLY_ERROR, 7);
    CASE("ERROR Too many open connections\r\n", REPLY_ERROR, 33);
    CASE("ERRORS\r\n", REPLY_BAD, 0);
    CASE("SERVER_ERROR out of memory storing object\r\n", REPLY_ERROR, 43);
    CASE("CLIENT_ERROR bad data chunk\r\n", REPLY_ERROR, 29);
    CASE("VALUE foo 5 3\r\nbar\r\n", REPLY_VALUE, 20);
    CASE("VALUE foo 4294967295 0 77\r\n\r\n", REPLY_VALUE, 29);
    CASE("VALUE foo 0 3\r\nb\r\n\r\n", REPLY_VALUE, 20); /* data may hold \r\n */
    CASE("STORED\n", REPLY_BAD, 0);
    CASE("STORED \r\n", REPLY_BAD, 0);
    CASE("stored\r\n", REPLY_BAD, 0);
    CASE("DELETED\r\n", REPLY_DONE, 9);
    CASE("18446744073709551615\r\n", REPLY_DONE, 22); /* incr's answer */
    CASE("NOT_FOUND\r\n", REPLY_NOT_STORED, 11);
    CASE("12a\r\n", REPLY_BAD, 0);
    CASE("VALUE foo 0 3\r\nbarX\r\n", REPLY_BAD, 0);
    CASE("VALUE foo 0 3 \r\nbar\r\n", REPLY_BAD, 0);
    CASE("VALUE foo 4294967296 3\r\nbar\r\n", REPLY_BAD, 0);
    CASE("VALUE foo 0 -3\r\nbar\r\n", REPLY_BAD, 0);
    CASE("VALUE foo 0\r\n", REPLY_BAD, 0);
    CASE("VALUE  foo 0 3\r\nbar\r\n", REPLY_BAD, 0);
    CASE("VALUE foo 0 99999999\r\n", REPLY_BAD, 0); /* longer than max_value */
    CASE("\r\n", REPLY_BAD, 0);
    struct reply r;
    char longline[100];
    memset(longline, 'A', sizeof(longline));
    CHECK(reply_parse(&r, longline, sizeof(longline), 64, 1 << 20) == REPLY_BAD);
    CHECK(reply_parse(&r, longline, 60, 64, 1 << 20) == REPLY_AGAIN);
}

/* A get reply for keys, with the server answering `answer` (misses left out). */
static size_t _compose(const struct kv_spec *s, const uint32_t *answer, unsigned n, char *out)
{
    size_t len = 0;
    for (unsigned i = 0; i < n; i++) {
        char key[KV_KEY_MAX];
        unsigned kl = kv_key(s, answer[i], key);
        len += (size_t)sprintf(out + len, "VALUE %.*s %u %u\r\n", (int)kl, key,
                               kv_flags(answer[i]), kv_vlen(s, answer[i]));
        kv_value(s, answer[i], out + len);
        len += kv_vlen(s, answer[i]);
        len += (size_t)sprintf(out + len, "\r\n");
    }
    return len + (size_t)sprintf(out + len, "END\r\n");
}

/* Run the check over a composed reply; returns hits, counts wrong ones. */
static unsigned _check_all(const struct kv_spec *s, const char *buf, size_t len,
                           const uint32_t *keys, unsigned n, unsigned *wk, unsigned *wv)
{
    struct reply r;
    unsigned cursor = 0, hits = 0;
    size_t off = 0;
    *wk = *wv = 0;
    while (reply_parse(&r, buf + off, len - off, 4096, 1 << 20) == REPLY_VALUE) {
        enum check c = reply_check_value(s, &r, keys, n, &cursor);
        hits += c == CHECK_OK;
        *wk += c == CHECK_WRONG_KEY;
        *wv += c == CHECK_WRONG_VALUE;
        off += r.consumed;
    }
    CHECK(r.kind == REPLY_END);
    return hits;
}

static void _values(void)
{
    struct kv_spec s;
    char err[128], buf[8192], key[KV_KEY_MAX];
    CHECK(!kv_setup(&s, 100000, 5, 5, 1, 1, err, sizeof(err))); /* 6 bytes needed */
    CHECK(kv_setup(&s, 100000, 10, 20, 0, 300, err, sizeof(err)));
    for (uint32_t i = 0; i < 100000; i += 7) {
        uint32_t back = 0;
        unsigned kl = kv_key(&s, i, key);
        CHECK(kl >= 10 && kl <= 20);
        CHECK(kv_parse_key(&s, key, kl, &back) && back == i);
        if (kl < 20) { /* the same index with another padding is not a key */
            memmove(key + 2, key + 1, kl - 1);
            key[1] = '0';
            CHECK(!kv_parse_key(&s, key, kl + 1, &back));
        }
    }
    uint32_t keys[4] = {10, 20, 30, 40}, hit[3] = {10, 30, 40}, wrong[2] = {10, 50};
    uint32_t order[2] = {30, 10};
    unsigned wk, wv;
    size_t len = _compose(&s, hit, 3, buf);
    CHECK(_check_all(&s, buf, len, keys, 4, &wk, &wv) == 3 && wk == 0 && wv == 0);
    len = _compose(&s, wrong, 2, buf);
    CHECK(_check_all(&s, buf, len, keys, 4, &wk, &wv) == 1 && wk == 1);
    len = _compose(&s, order, 2, buf);
    CHECK(_check_all(&s, buf, len, keys, 4, &wk, &wv) == 1 && wk == 1);
    len = _compose(&s, hit, 3, buf);
    size_t first = strlen("VALUE ") + kv_key(&s, 10, key);
    char *data = strstr(buf, "\r\n") + 2; /* flip the last byte of the first value */
    data[kv_vlen(&s, 10) - 1] ^= 1;
    CHECK(_check_all(&s, buf, len, keys, 4, &wk, &wv) == 2 && wv == 1);
    len = _compose(&s, hit, 3, buf);
    buf[first + 1] = buf[first + 1] == '9' ? '8' : '9'; /* flags of the first value */
    CHECK(_check_all(&s, buf, len, keys, 4, &wk, &wv) == 2 && wv == 1);
    /* A value swapped between two keys of one length is caught by its bytes. */
    uint32_t a = 0, b = 1;
    while (kv_vlen(&s, b) != kv_vlen(&s, a) || kv_key(&s, b, key) != kv_key(&s, a, key))
        b++;
    len = (size_t)sprintf(buf, "VALUE %.*s %u %u\r\n", (int)kv_key(&s, a, key), key,
                          kv_flags(a), kv_vlen(&s, a));
    kv_value(&s, b, buf + len);
    len += kv_vlen(&s, b);
    len += (size_t)sprintf(buf + len, "\r\nEND\r\n");
    CHECK(_check_all(&s, buf, len, &a, 1, &wk, &wv) == (kv_vlen(&s, a) == 0) && wk == 0);
    kv_teardown(&s);
}

/* A binary reply: header fields, then extras, key and value. */
static size_t _bin_reply(char *out, uint8_t op, uint16_t status, uint32_t opaque,
                         const char *ext, uint8_t elen, const char *key, uint16_t klen,
                         const char *val, uint32_t vlen)
{
    uint32_t body = elen + klen + vlen;
    memset(out, 0, BIN_HDR);
    out[0] = (char)BIN_RES_MAGIC;
    out[1] = (char)op;
    out[2] = (char)(klen >> 8), out[3] = (char)klen;
    out[4] = (char)elen;
    out[6] = (char)(status >> 8), out[7] = (char)status;
    for (int i = 0; i < 4; i++) {
        out[8 + i] = (char)(body >> (24 - 8 * i));
        out[12 + i] = (char)(opaque >> (24 - 8 * i));
    }
    out[23] = 7; /* cas */
    memcpy(out + BIN_HDR, ext, elen);
    memcpy(out + BIN_HDR + elen, key, klen);
    memcpy(out + BIN_HDR + elen + klen, val, vlen);
    return BIN_HDR + body;
}

/* A get hit of idx, as a server answers it. */
static size_t _bin_hit(const struct kv_spec *s, uint8_t op, uint32_t idx, uint32_t opaque,
                       char *out)
{
    char ext[4], val[512];
    uint32_t fl = kv_flags(idx);
    for (int i = 0; i < 4; i++)
        ext[i] = (char)(fl >> (24 - 8 * i));
    kv_value(s, idx, val);
    return _bin_reply(out, op, BIN_OK, opaque, ext, 4, "", 0, val, kv_vlen(s, idx));
}

/* Every strict prefix of the unit is AGAIN, the whole is one UNIT. */
static void _bin_prefixes(const char *in, size_t len)
{
    struct bin_reply r;
    char *copy = malloc(len);
    memcpy(copy, in, len);
    for (size_t i = 0; i < len; i++)
        CHECK(bin_parse(&r, copy, i, 1 << 20) == BIN_AGAIN);
    CHECK(bin_parse(&r, copy, len, 1 << 20) == BIN_UNIT && r.consumed == len);
    free(copy);
}

static enum bin_verdict _verdict(const struct kv_spec *s, const char *buf, size_t len,
                                 uint8_t op, uint32_t idx)
{
    struct bin_reply r;
    const char *why;
    if (bin_parse(&r, buf, len, 1 << 20) != BIN_UNIT)
        return (enum bin_verdict)-1;
    enum bin_verdict v = bin_check(s, &r, op, idx, &why);
    CHECK((v == BV_BAD) == (why != NULL));
    return v;
}

static void _binary(void)
{
    struct kv_spec s;
    char err[128], buf[1024], two[2048];
    struct bin_reply r;
    CHECK(kv_setup(&s, 1000, 8, 12, 1, 300, err, sizeof(err)));
    uint32_t idx = 123;
    char key[KV_KEY_MAX];
    unsigned kl = kv_key(&s, idx, key);
    uint32_t vl = kv_vlen(&s, idx), fl = kv_flags(idx);

    /* requests */
    size_t n = bin_set(&s, idx, 0x01020304, buf);
    CHECK(n == BIN_HDR + 8 + kl + vl);
    CHECK((unsigned char)buf[0] == 0x80 && buf[1] == BIN_SET && buf[2] == 0 &&
          (unsigned char)buf[3] == kl && buf[4] == 8 && buf[5] == 0 && buf[6] == 0 && buf[7] == 0);
    CHECK((unsigned char)buf[11] == 8 + kl + vl && buf[8] == 0 && buf[12] == 1 && buf[15] == 4);
    CHECK((unsigned char)buf[24] == (fl >> 24) && (unsigned char)buf[27] == (fl & 0xff));
    CHECK(memcmp(buf + 28, "\0\0\0\0", 4) == 0 && memcmp(buf + 32, key, kl) == 0);
    char val[512];
    kv_value(&s, idx, val);
    CHECK(memcmp(buf + 32 + kl, val, vl) == 0);
    n = bin_get(&s, idx, BIN_GETQ, 9, buf);
    CHECK(n == BIN_HDR + kl && buf[1] == BIN_GETQ && buf[4] == 0 &&
          (unsigned char)buf[11] == kl && buf[15] == 9 && memcmp(buf + 24, key, kl) == 0);
    CHECK(bin_simple(BIN_NOOP, 5, buf) == BIN_HDR && buf[1] == BIN_NOOP && buf[11] == 0 &&
          buf[15] == 5);

    /* the parser: prefixes, two units, framing errors */
    n = _bin_hit(&s, BIN_GET, idx, 77, buf);
    _bin_prefixes(buf, n);
    CHECK(bin_parse(&r, buf, n, 1 << 20) == BIN_UNIT && r.opcode == BIN_GET && r.status == 0 &&
          r.opaque == 77 && r.cas == 7 && r.extlen == 4 && r.flags == fl &&
          r.value_len == vl && r.value == buf + 28);
    memcpy(two, buf, n);
    size_t n2 = _bin_reply(two + n, BIN_NOOP, BIN_OK, 78, "", 0, "", 0, "", 0);
    CHECK(bin_parse(&r, two, n + n2, 1 << 20) == BIN_UNIT && r.consumed == n);
    CHECK(bin_parse(&r, two + n, n2, 1 << 20) == BIN_UNIT && r.opaque == 78);
    CHECK(bin_parse(&r, "\x80", 1, 1 << 20) == BIN_BAD); /* a request's magic */
    CHECK(bin_parse(&r, "STORED\r\n", 8, 1 << 20) == BIN_BAD);
    CHECK(bin_parse(&r, "", 0, 1 << 20) == BIN_AGAIN);
    CHECK(bin_parse(&r, buf, n, vl + 3) == BIN_BAD); /* body longer than allowed */
    n2 = _bin_reply(two, BIN_GET, BIN_OK, 1, "abcd", 4, "k", 1, "", 0);
    two[11] = 4; /* body 4 < extras 4 + key 1 */
    CHECK(bin_parse(&r, two, n2, 1 << 20) == BIN_BAD);

    /* the check of a reply against its request */
    n = _bin_hit(&s, BIN_GET, idx, 1, buf);
    CHECK(_verdict(&s, buf, n, BIN_GET, idx) == BV_HIT);
    CHECK(_verdict(&s, buf, n, BIN_GET, idx + 1) == BV_WRONG_VALUE); /* another key's value */
    CHECK(_verdict(&s, buf, n, BIN_GETQ, idx) == BV_BAD);            /* opcode differs */
    CHECK(_verdict(&s, buf, n, BIN_SET, idx) == BV_BAD);
    buf[n - 1] ^= 1;
    CHECK(_verdict(&s, buf, n, BIN_GET, idx) == BV_WRONG_VALUE);     /* last byte */
    buf[n - 1] ^= 1;
    buf[27] ^= 1;
    CHECK(_verdict(&s, buf, n, BIN_GET, idx) == BV_WRONG_VALUE);     /* flags */
    buf[27] ^= 1;
    buf[5] = 1;
    CHECK(_verdict(&s, buf, n, BIN_GET, idx) == BV_BAD);             /* data type */
    n = _bin_hit(&s, BIN_GETQ, idx, 1, buf);
    CHECK(_verdict(&s, buf, n, BIN_GETQ, idx) == BV_HIT);
    n = _bin_reply(buf, BIN_GET, BIN_OK, 1, "", 0, "", 0, val, vl); /* no flags */
    CHECK(_verdict(&s, buf, n, BIN_GET, idx) == BV_BAD);
    n = _bin_reply(buf, BIN_GET, BIN_OK, 1, "\0\0\0\0", 4, key, (uint16_t)kl, val, vl);
    CHECK(_verdict(&s, buf, n, BIN_GET, idx) == BV_BAD);             /* a key: GETK's shape */
    n = _bin_reply(buf, BIN_GET, BIN_KEY_ENOENT, 1, "", 0, "", 0, "Not found", 9);
    CHECK(_verdict(&s, buf, n, BIN_GET, idx) == BV_MISS);
    n = _bin_reply(buf, BIN_GETQ, BIN_KEY_ENOENT, 1, "", 0, "", 0, "Not found", 9);
    CHECK(_verdict(&s, buf, n, BIN_GETQ, idx) == BV_BAD);            /* a quiet miss speaks */
    n = _bin_reply(buf, BIN_GET, 0x0082, 1, "", 0, "", 0, "Out of memory", 13);
    CHECK(_verdict(&s, buf, n, BIN_GET, idx) == BV_ERROR);
    n = _bin_reply(buf, BIN_SET, BIN_OK, 1, "", 0, "", 0, "", 0);
    CHECK(_verdict(&s, buf, n, BIN_SET, idx) == BV_OK);
    n = _bin_reply(buf, BIN_SET, BIN_OK, 1, "", 0, "", 0, "x", 1);
    CHECK(_verdict(&s, buf, n, BIN_SET, idx) == BV_BAD);
    n = _bin_reply(buf, BIN_SET, BIN_NOT_STORED, 1, "", 0, "", 0, "Not stored", 10);
    CHECK(_verdict(&s, buf, n, BIN_SET, idx) == BV_NOT_STORED);
    n = _bin_reply(buf, BIN_SET, BIN_KEY_EEXISTS, 1, "", 0, "", 0, "", 0);
    CHECK(_verdict(&s, buf, n, BIN_SET, idx) == BV_NOT_STORED);
    n = _bin_reply(buf, BIN_SET, 0x0003, 1, "", 0, "", 0, "Too large.", 10);
    CHECK(_verdict(&s, buf, n, BIN_SET, idx) == BV_ERROR);
    n = _bin_reply(buf, BIN_SET, 0x0081, 1, "\0\0\0\0", 4, "", 0, "", 0);
    CHECK(_verdict(&s, buf, n, BIN_SET, idx) == BV_BAD);             /* extras in an error */
    n = _bin_reply(buf, BIN_NOOP, BIN_OK, 1, "", 0, "", 0, "", 0);
    CHECK(_verdict(&s, buf, n, BIN_NOOP, 0) == BV_OK);
    CHECK(_verdict(&s, buf, n, BIN_GETQ, idx) == BV_BAD);
    n = _bin_reply(buf, BIN_VERSION, BIN_OK, 1, "", 0, "", 0, "1.6.18", 6);
    CHECK(_verdict(&s, buf, n, BIN_VERSION, 0) == BV_OK);
    kv_teardown(&s);
}

static int _cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void _hist(void)
{
    for (unsigned b = 1; b < HIST_BUCKETS; b++)
        CHECK(hist_bucket_high(b) > hist_bucket_high(b - 1));
    static const uint64_t probe[] = {0, 1, 63, 64, 65, 127, 128, 1000, 123456789,
                                     1ull << 40, UINT64_MAX};
    for (unsigned i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
        uint64_t v = probe[i];
        unsigned b = hist_index(v);
        CHECK(b < HIST_BUCKETS && hist_bucket_high(b) >= v);
        CHECK(b == 0 || hist_bucket_high(b - 1) < v);
        CHECK(hist_bucket_high(b) - v <= v / 64);
    }
    static struct hist h;
    enum { N = 100000 };
    uint64_t *vals = malloc(N * sizeof(*vals)), x = 88172645463325252ull;
    hist_reset(&h);
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        vals[i] = 1000 + x % 5000000; /* 1 us .. 5 ms in ns */
        hist_record(&h, vals[i]);
    }
    qsort(vals, N, sizeof(*vals), _cmp);
    static const double qs[] = {0.5, 0.9, 0.99, 0.999};
    for (unsigned i = 0; i < 4; i++) {
        uint64_t exact = vals[(size_t)(qs[i] * N) - 1], got = hist_quantile(&h, qs[i]);
        CHECK(got >= exact && got - exact <= exact / 64);
    }
    CHECK(hist_quantile(&h, 1.0) == vals[N - 1] && h.max == vals[N - 1] && h.min == vals[0]);
    CHECK(h.count == N);
    hist_reset(&h);
    CHECK(hist_quantile(&h, 0.5) == 0);
    hist_record(&h, 42);
    CHECK(hist_quantile(&h, 0.0) == 42 && hist_quantile(&h, 0.999) == 42);
    free(vals);
}

/* The production shapes: op shares, TTL shares and the scaled clock. */
static void _prod(void)
{
    const struct prod_profile *p = prod_find("c37");
    CHECK(p && !prod_find("c99"));
    struct prod_run r;
    prod_scale(&r, p, 1000000, 60.48); /* the week in 60.48 s: 10000x */
    CHECK(r.ttl_wall[0] == 1 && r.ttl_wall[2] == 1 && prod_find("c52"));
    prod_scale(&r, prod_find("c52"), 1000000, 60.48);
    CHECK(r.ttl_wall[0] == 9 && r.ttl_wall[1] == 121 && r.ttl_wall[2] == 4); /* 1d, 14d, 12h */
    unsigned n[POP_N] = {0}, t9 = 0;
    for (int i = 0; i < 100000; i++) {
        n[prod_op(&r, (i + 0.5) / 100000)]++;
        t9 += prod_ttl(&r, (uint64_t)i * 0x9e3779b97f4a7c15ull) == 9;
    }
    CHECK(n[POP_GET] > 93000 && n[POP_GET] < 94000 && n[POP_ADD] > 3900 && n[POP_ADD] < 4100);
    CHECK(t9 > 64000 && t9 < 67000); /* 1d: 650 of the 990 per mille listed */
    CHECK(r.p_fresh > 0 && r.p_fresh < 0.2 && r.keys > 1000);
    /* the trace's requests per object: 1M / 32.6, 19.36% of them once */
    CHECK(r.keys + r.fresh_max > 30600 && r.keys + r.fresh_max < 30800);
    CHECK(r.fresh_max > 5900 && r.fresh_max < 6000);
}

static void _zipf(void)
{
    struct zipf z;
    enum { N = 1000 };
    unsigned count[N] = {0};
    zipf_setup(&z, N, 0.99);
    uint64_t x = 1;
    for (int i = 0; i < 200000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t k = zipf_next(&z, (double)(x >> 11) / 9007199254740992.0);
        CHECK(k < N);
        count[k]++;
    }
    unsigned top = 0;
    for (int i = 0; i < N; i++)
        top = count[i] > top ? count[i] : top;
    CHECK(top > 200000 / 20); /* the hottest key gets far more than 1/N */
}

int bench_selftest(void)
{
    _parser();
    _values();
    _binary();
    _hist();
    _zipf();
    _prod();
    printf("selftest: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
