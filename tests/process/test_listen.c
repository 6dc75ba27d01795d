/* Tests for listen: memcached's -l words (notls:, btls:, mtls:, [IPv6]:port, bare IPv6,
 * "*", errors). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "process/listen.h"

/* verify: -1 without a prefix, btls: 0 (no client certificate asked),
 * mtls: 2 (one required). */
static void _check(const char *word, const char *host, int port, bool notls, int verify)
{
    struct listen_spec ls;
    char err[128] = "";
    if (!listen_spec_parse(word, 11211, &ls, err, sizeof(err)))
        fail_msg("%s: %s", word, err);
    assert_string_equal(ls.host, host);
    assert_int_equal(ls.port, port);
    assert_int_equal(ls.notls, notls);
    assert_int_equal(ls.verify, verify);
}

static void _ok(const char *word, const char *host, int port, bool notls)
{
    _check(word, host, port, notls, -1);
}

static void _bad(const char *word, const char *needle)
{
    struct listen_spec ls;
    char err[128] = "";
    assert_false(listen_spec_parse(word, 11211, &ls, err, sizeof(err)));
    if (!strstr(err, needle))
        fail_msg("%s: \"%s\" lacks \"%s\"", word, err, needle);
}

static void test_words(void **state)
{
    (void)state;
    _ok("127.0.0.1", "127.0.0.1", 11211, false);
    _ok("127.0.0.1:11300", "127.0.0.1", 11300, false);
    _ok("notls:127.0.0.1:11301", "127.0.0.1", 11301, true);
    _ok("notls:localhost", "localhost", 11211, true);
    _ok("::1", "::1", 11211, false); /* a bare IPv6 address: its colons are no port */
    _ok("[::1]:11302", "::1", 11302, false);
    _ok("notls:[::1]:11303", "::1", 11303, true);
    _ok("[::1]", "::1", 11211, false);
    _ok("*", "", 11211, false);
    _ok("*:11304", "", 11304, false);
    _check("btls:127.0.0.1:11305", "127.0.0.1", 11305, false, 0);
    _check("mtls:[::1]:11306", "::1", 11306, false, 2);
    _check("mtls:localhost", "localhost", 11211, false, 2);
}

static void test_errors(void **state)
{
    (void)state;
    _bad("[::1", "Invalid IPV6 address");
    _bad("127.0.0.1:", "Invalid port number");
    _bad("127.0.0.1:99999", "Invalid port number");
    _bad("127.0.0.1:12ab", "Invalid port number");
    _bad("[::1]:x", "Invalid port number");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
