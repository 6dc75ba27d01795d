/* Unit tests of reply: the text protocol's error lines and VALUE header,
 * byte for byte as memcached writes them (protocol.txt; memcached 1.6.45's
 * proto_text.c for the error words). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/text/proto.h"

static void test_error_lines(void **state)
{
    (void)state;
    static const struct {
        enum proto_error e;
        const char *line;
    } cases[] = {
        {PROTO_ERR_NONE, ""},
        {PROTO_ERR_UNKNOWN, "ERROR"},
        {PROTO_ERR_FORMAT, "CLIENT_ERROR bad command line format"},
        {PROTO_ERR_BAD_CHUNK, "CLIENT_ERROR bad data chunk"},
        {PROTO_ERR_DELTA, "CLIENT_ERROR invalid numeric delta argument"},
        {PROTO_ERR_EXPTIME, "CLIENT_ERROR invalid exptime argument"},
        {PROTO_ERR_DELETE_USAGE,
         "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"},
        /* a too-long get key: 1.6.45 writes the format error and an empty line */
        {PROTO_ERR_GET_KEY, "CLIENT_ERROR bad command line format\r\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(proto_error_text(cases[i].e), cases[i].line);
    /* a value outside the enum still answers something a client reads */
    assert_string_equal(proto_error_text((enum proto_error)99), "ERROR");
}

/* The header into a buffer with a guard byte after it: exact length, exact
 * bytes, nothing written past the end. */
static void _header(const char *key, size_t nkey, uint32_t flags, size_t nbytes,
                    const uint64_t *cas, const char *want)
{
    char buf[512];
    memset(buf, '#', sizeof(buf));
    size_t n = proto_value_header(buf, key, nkey, flags, nbytes, cas);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n);
    assert_int_equal(buf[n], '#');
}

static void test_value_header(void **state)
{
    (void)state;
    _header("foo", 3, 0, 5, NULL, "VALUE foo 0 5\r\n");
    _header("foo", 3, 0, 0, NULL, "VALUE foo 0 0\r\n");
    _header("k", 1, 4294967295u, 1048576, NULL, "VALUE k 4294967295 1048576\r\n");
    uint64_t cas = 1;
    _header("foo", 3, 12, 3, &cas, "VALUE foo 12 3 1\r\n");
    cas = 0;
    _header("foo", 3, 12, 3, &cas, "VALUE foo 12 3 0\r\n"); /* gets shows a zero cas too */
    cas = UINT64_MAX;
    _header("a:b", 3, 7, 10, &cas, "VALUE a:b 7 10 18446744073709551615\r\n");
    /* nkey bytes of key, not up to a NUL */
    _header("keyXXX", 3, 1, 2, NULL, "VALUE key 1 2\r\n");
}

static void test_value_header_long_key(void **state)
{
    (void)state;
    char key[250], want[300];
    memset(key, 'k', sizeof(key));
    memcpy(want, "VALUE ", 6);
    memcpy(want + 6, key, 250);
    strcpy(want + 256, " 0 1\r\n");
    _header(key, 250, 0, 1, NULL, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_lines),
        cmocka_unit_test(test_value_header),
        cmocka_unit_test(test_value_header_long_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
