/* selftest: the reply parser (whole and every prefix), the value check and
 * the histogram, checked without a server. `memg-bench --selftest`. */
#include "bench.h"
#include "hist.h"
#include "reply.h"

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
    _hist();
    _zipf();
    printf("selftest: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
