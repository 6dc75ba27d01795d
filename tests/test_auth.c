/* Tests for auth: password files, the user:password lines, constant-time
 * checks and SASL PLAIN messages. */
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

#define CHECK(a, u, p) auth_check((a), (u), strlen(u), (p), strlen(p))

static void test_lines(void **state)
{
    (void)state;
    static const char text[] = "alice:secret\r\n\nbob:pa:ss\nnopassword\n:nouser\ncarol:";
    struct auth *a = auth_parse(text, sizeof(text) - 1);
    assert_non_null(a);
    assert_true(CHECK(a, "alice", "secret"));  /* a CRLF line */
    assert_true(CHECK(a, "bob", "pa:ss"));     /* the first colon splits */
    assert_true(CHECK(a, "carol", ""));        /* an empty password, last line unended */
    assert_false(CHECK(a, "alice", "secret\r"));
    assert_false(CHECK(a, "alice", "Secret"));
    assert_false(CHECK(a, "alice", "secre"));
    assert_false(CHECK(a, "alice", "secrets"));
    assert_false(CHECK(a, "Alice", "secret"));
    assert_false(CHECK(a, "nopassword", ""));
    assert_false(CHECK(a, "", "nouser"));
    auth_free(a);
    assert_null(auth_parse("\n\nno colon here\n", 15));
    assert_null(auth_parse("", 0));
}

static void test_plain(void **state)
{
    (void)state;
    struct auth *a = auth_parse("alice:secret\n", 13);
    assert_non_null(a);
    assert_true(auth_plain(a, "\0alice\0secret", 13));
    assert_true(auth_plain(a, "alice\0alice\0secret", 18)); /* authzid = the user */
    assert_false(auth_plain(a, "bob\0alice\0secret", 16));  /* someone else's */
    assert_false(auth_plain(a, "\0alice\0secre", 12));
    assert_false(auth_plain(a, "\0alicesecret", 12));       /* one NUL only */
    assert_false(auth_plain(a, "alicesecret", 11));
    assert_false(auth_plain(a, "", 0));
    auth_free(a);
}

static void test_load(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(auth_load("/nonexistent/memg-users", err, sizeof(err)));
    assert_non_null(strstr(err, "cannot open /nonexistent/memg-users"));
    assert_null(auth_load("/tmp", err, sizeof(err)));
    assert_non_null(strstr(err, "not a regular file"));

    char path[] = "/tmp/memg-test-auth-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_null(auth_load(path, err, sizeof(err))); /* empty */
    assert_non_null(strstr(err, "no user:password line"));
    assert_int_equal(write(fd, "u:p\n", 4), 4);
    close(fd);
    struct auth *a = auth_load(path, err, sizeof(err));
    assert_non_null(a);
    assert_true(CHECK(a, "u", "p"));
    auth_free(a);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
