/* Tests for fmt: every conversion memg uses, compared byte for byte with
 * glibc's snprintf at every buffer size; output to a file descriptor; and
 * address text compared with glibc's inet_ntop. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/fmt.h"

#define TEXT_MAX 512

/* fmt_buf(...) writes what snprintf(...) writes and returns its length, with
 * a buffer that is large enough and with every cap from 0 to one past the
 * full length; bytes past cap stay untouched. */
#define SAME(...)                                                                  \
    do {                                                                           \
        char want_[TEXT_MAX], got_[TEXT_MAX];                                      \
        int len_ = snprintf(want_, sizeof(want_), __VA_ARGS__);                    \
        assert_true(len_ >= 0 && len_ < TEXT_MAX - 1);                             \
        for (size_t cap_ = 0; cap_ <= (size_t)len_ + 1; cap_++) {                  \
            memset(want_, 'X', sizeof(want_));                                     \
            memset(got_, 'X', sizeof(got_));                                       \
            snprintf(want_, cap_, __VA_ARGS__);                                    \
            assert_int_equal(fmt_buf(got_, cap_, __VA_ARGS__), (size_t)len_);      \
            if (memcmp(got_, want_, sizeof(got_)) != 0)                            \
                fail_msg("cap %zu: got \"%s\", want \"%s\"", cap_, got_, want_);   \
        }                                                                          \
    } while (0)

static void test_text_and_percent(void **state)
{
    (void)state;
    SAME("plain text, no directive");
    SAME("%%");
    SAME("100%% sure, %d%%", 5);
    SAME("\r\n");
}

static void test_strings(void **state)
{
    (void)state;
    const char nonterminated[4] = {'a', 'b', 'c', 'd'};
    SAME("%s", "x");
    SAME("[%s]", "");
    SAME("%s%s", "a", "bc");
    SAME("[%5s]", "ab");
    SAME("[%3s]", "abcdef");
    SAME("%.3s", "abcdef");
    SAME("%.10s", "abc");
    SAME("[%.*s]", 0, "abc");
    SAME("[%.*s]", 2, "abc");
    SAME("[%.*s]", 100, "abc");
    SAME("[%.*s]", -1, "abc");
    SAME("[%.*s]", 4, nonterminated);
    SAME("[%.*s]", 2, nonterminated);
    SAME("[%6.*s]", 2, "abc");
    char got[16];
    const char *volatile missing = NULL; /* volatile: gcc would flag a literal NULL */
    assert_int_equal(fmt_buf(got, sizeof(got), "%s", missing), 6);
    assert_string_equal(got, "(null)");
}

static void test_chars(void **state)
{
    (void)state;
    SAME("%c", 'a');
    SAME("-%c/--%s", 'p', "port");
    SAME("[%c]", '\0');
    SAME("[%c]", (char)0xff);
    SAME("[%3c]", 'z');
}

static void test_signed(void **state)
{
    (void)state;
    SAME("%d", 0);
    SAME("%d", 1);
    SAME("%d", -1);
    SAME("%d", INT_MAX);
    SAME("%d", INT_MIN);
    SAME("%i", -12345);
    SAME("%ld", 0L);
    SAME("%ld", LONG_MAX);
    SAME("%ld", LONG_MIN);
    SAME("%lld", 0LL);
    SAME("%lld", LLONG_MAX);
    SAME("%lld", LLONG_MIN);
    SAME("%" PRId64, INT64_MAX);
    SAME("%" PRId64, INT64_MIN);
    SAME("%zd", (ssize_t)-5);
    SAME("%zd", (ssize_t)SSIZE_MAX);
}

static void test_unsigned(void **state)
{
    (void)state;
    SAME("%u", 0u);
    SAME("%u", UINT_MAX);
    SAME("%lu", ULONG_MAX);
    SAME("%llu", 0ULL);
    SAME("%llu", ULLONG_MAX);
    SAME("%llu", (unsigned long long)UINT64_MAX);
    SAME("%" PRIu64, UINT64_MAX);
    SAME("%" PRIu64 " to %" PRIu64, (uint64_t)0, (uint64_t)65535);
    SAME("%zu", (size_t)0);
    SAME("%zu", SIZE_MAX);
}

static void test_octal(void **state)
{
    (void)state;
    SAME("%o", 0u);
    SAME("%o", 0700u);
    SAME("%o", 0777u);
    SAME("%o", 8u);
    SAME("%o", UINT_MAX);
    SAME("%lo", ULONG_MAX);
    SAME("%llo", ULLONG_MAX);
    SAME("%04o", 7u);
}

static void test_width_and_zero_pad(void **state)
{
    (void)state;
    static const long values[] = {0, 5, -5, 999999, 123456, 1234567, -123456, LONG_MIN, LONG_MAX};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        SAME("%06ld", values[i]);
        SAME("%6ld", values[i]);
        SAME("%ld.%06ld", values[i], 42L);
    }
    SAME("[%5d]", 42);
    SAME("[%5d]", -42);
    SAME("[%05d]", -42);
    SAME("[%05d]", 123456);
    SAME("[%1d]", 0);
    SAME("[%010u]", 7u);
    SAME("[%020llu]", ULLONG_MAX);
    SAME("[%021lld]", LLONG_MIN);
    SAME("[%40d]", INT_MIN);
    SAME("[%3zu]", (size_t)7);
}

/* The formats of memg's own call sites. */
static void test_call_site_formats(void **state)
{
    (void)state;
    SAME("STAT %s ", "cmd_get");
    SAME("STAT %d:addr %s\r\nSTAT %d:state %s\r\nSTAT %d:secs_since_last_cmd %llu\r\n", 12,
         "tcp6:[::1]:40000", 12, "conn_parse_cmd", 12, 18446744073709551ULL);
    SAME("tcp:%s:%d", "255.255.255.255", 65535);
    SAME("tcp6:[%s]:%d", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535);
    SAME("cannot set item size limit (%" PRIu64 " bytes) higher than 1/2 of memory max (-m %" PRIu64
         " MB)",
         (uint64_t)1 << 30, (uint64_t)1);
    SAME("unix socket path too long (%zu bytes, at most %zu)", (size_t)200, (size_t)107);
    SAME("connect %s:%d: %s", "localhost", 11211, "Connection refused");
    SAME("memg: -t %d: memg is single-threaded and runs one thread\n", 4);
    SAME("memg %s listening on port %d (-m %llu MB, -c %d)\n", "1.6.18", 11211, 64ULL, 1024);
    SAME("%ld\n", (long)getpid());
    SAME("%s%s", ",", "127.0.0.1");
}

/* Directives fmt does not implement print '?' and end the output. */
static void test_unsupported_is_visible(void **state)
{
    (void)state;
    char got[32];
    assert_int_equal(fmt_buf(got, sizeof(got), "a%xb%d", 255u, 2), 2);
    assert_string_equal(got, "a?");
    fmt_buf(got, sizeof(got), "%-3d|", 1);
    assert_string_equal(got, "?");
    fmt_buf(got, sizeof(got), "%+d|", 1);
    assert_string_equal(got, "?");
    fmt_buf(got, sizeof(got), "%5.2d|", 1);
    assert_string_equal(got, "?");
    fmt_buf(got, sizeof(got), "%*d|", 3, 1);
    assert_string_equal(got, "?");
    fmt_buf(got, sizeof(got), "%hd|", (short)1);
    assert_string_equal(got, "?");
    fmt_buf(got, sizeof(got), "x%fy", 1.5);
    assert_string_equal(got, "x?");
    fmt_buf(got, sizeof(got), "%p|", (void *)got);
    assert_string_equal(got, "?");
}

/* fmt_fd output read back through a pipe. */
static char *_through_pipe(const char *text_arg, int number, size_t *len)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fmt_fd(p[1], "%s|%d\n", text_arg, number);
    close(p[1]);
    static char got[8192];
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], got + n, sizeof(got) - 1 - n)) > 0)
        n += (size_t)r;
    close(p[0]);
    got[n] = '\0';
    *len = n;
    return got;
}

static void test_fd_output(void **state)
{
    (void)state;
    size_t len;
    char *got = _through_pipe("short", -7, &len);
    assert_string_equal(got, "short|-7\n");

    /* Longer than the stage buffer: written in pieces, nothing lost. */
    static char big[3000];
    memset(big, 'y', sizeof(big) - 1);
    got = _through_pipe(big, 123, &len);
    assert_int_equal(len, sizeof(big) - 1 + strlen("|123\n"));
    assert_memory_equal(got, big, sizeof(big) - 1);
    assert_string_equal(got + sizeof(big) - 1, "|123\n");

    /* A failed write leaves errno alone (callers print strerror(errno)). */
    errno = EDOM;
    fmt_fd(-1, "lost %d\n", 1);
    assert_int_equal(errno, EDOM);
    assert_false(fmt_write(-1, "x", 1));
}

static void _check_inet(int family, const void *addr)
{
    char want[INET6_ADDRSTRLEN], got[FMT_INET_LEN];
    assert_non_null(inet_ntop(family, addr, want, sizeof(want)));
    assert_int_equal(fmt_inet(got, family, addr), strlen(want));
    if (strcmp(got, want) != 0)
        fail_msg("got %s, want %s", got, want);
}

static void _assert_inet6(const char *text, const char *want)
{
    struct in6_addr a;
    char got[FMT_INET_LEN];
    assert_int_equal(inet_pton(AF_INET6, text, &a), 1);
    assert_int_equal(fmt_inet(got, AF_INET6, &a), strlen(want));
    assert_string_equal(got, want);
}

static uint32_t _rand(uint32_t *seed)
{
    *seed = *seed * 1664525u + 1013904223u; /* fixed LCG: the same cases every run */
    return *seed >> 8;
}

static void test_inet4(void **state)
{
    (void)state;
    static const uint8_t edges[][4] = {{0, 0, 0, 0}, {127, 0, 0, 1}, {255, 255, 255, 255},
                                       {10, 0, 100, 9}};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        _check_inet(AF_INET, edges[i]);
    uint32_t seed = 1;
    for (int i = 0; i < 2000; i++) {
        uint32_t a = _rand(&seed) ^ _rand(&seed) << 16;
        _check_inet(AF_INET, &a);
    }
    char got[FMT_INET_LEN] = "junk";
    assert_int_equal(fmt_inet(got, AF_UNIX, edges[0]), 0);
    assert_string_equal(got, "");
}

/* RFC 5952's rules, with the examples of its section 4. */
static void test_inet6_rfc5952(void **state)
{
    (void)state;
    _assert_inet6("::", "::");
    _assert_inet6("::1", "::1");
    _assert_inet6("1::", "1::");
    _assert_inet6("2001:0db8:0:0:0:0:2:1", "2001:db8::2:1");   /* 4.1, 4.2.1 */
    _assert_inet6("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"); /* 4.2.2: one 0 stays */
    _assert_inet6("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");      /* 4.2.3: the longest run */
    _assert_inet6("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"); /* 4.2.3: the first of equals */
    _assert_inet6("0:0:1:0:0:1:1:1", "::1:0:0:1:1:1");         /* musl's inet_ntop: 0:0:1::1:1:1 */
    _assert_inet6("2001:DB8:ABCD:12::FFFF", "2001:db8:abcd:12::ffff"); /* 4.3: lowercase */
    _assert_inet6("fe80::1:2", "fe80::1:2");
    _assert_inet6("::ffff:192.0.2.1", "::ffff:192.0.2.1");     /* 5: v4-mapped */
    _assert_inet6("::ffff:0.0.0.0", "::ffff:0.0.0.0");
    _assert_inet6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

/* Random addresses, half their groups zero, against glibc. glibc also writes
 * ::a.b.c.d for the deprecated IPv4-compatible ::/96; those are left out. */
static void test_inet6_random(void **state)
{
    (void)state;
    uint32_t seed = 7;
    for (int i = 0; i < 20000; i++) {
        uint8_t a[16] = {0};
        for (int w = 0; w < 8; w++) {
            uint32_t r = _rand(&seed);
            if (r & 1)
                continue;
            a[2 * w] = (uint8_t)(r >> 16 & ((r & 2) ? 0x00 : 0xff)); /* short groups too */
            a[2 * w + 1] = (uint8_t)(r >> 4);
        }
        static const uint8_t zeros[12];
        if (memcmp(a, zeros, sizeof(zeros)) == 0)
            continue;
        _check_inet(AF_INET6, a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_percent),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_chars),
        cmocka_unit_test(test_signed),
        cmocka_unit_test(test_unsigned),
        cmocka_unit_test(test_octal),
        cmocka_unit_test(test_width_and_zero_pad),
        cmocka_unit_test(test_call_site_formats),
        cmocka_unit_test(test_unsupported_is_visible),
        cmocka_unit_test(test_fd_output),
        cmocka_unit_test(test_inet4),
        cmocka_unit_test(test_inet6_rfc5952),
        cmocka_unit_test(test_inet6_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
