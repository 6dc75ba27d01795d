/* Unit tests of user.c: a passwd file's uid and gid for a name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>

#include "process/user.h"

static void test_lookup(void **state)
{
    (void)state;
    char path[] = "/tmp/memg-passwd-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "root:x:0:0:root:/root:/bin/sh\n"
                       "memcache:x:105:111:Memcached:/nonexistent:/bin/false\n"
                       "mem:x:7:8::/:\n"
                       "broken:x:abc:1::/:\n"
                       "nogid:x:5\n"
                       "last:x:4294967294:65534::/:";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    uid_t u;
    gid_t g;
    assert_true(user_lookup(path, "root", &u, &g));
    assert_true(u == 0 && g == 0);
    assert_true(user_lookup(path, "memcache", &u, &g));
    assert_true(u == 105 && g == 111);
    assert_true(user_lookup(path, "mem", &u, &g)); /* a prefix of memcache: its own line */
    assert_true(u == 7 && g == 8);
    assert_true(user_lookup(path, "last", &u, &g)); /* no final newline */
    assert_true(u == 4294967294u && g == 65534);
    assert_false(user_lookup(path, "broken", &u, &g));
    assert_false(user_lookup(path, "nogid", &u, &g));
    assert_false(user_lookup(path, "nobody-here", &u, &g));
    assert_false(user_lookup(path, "", &u, &g));
    assert_false(user_lookup("/nonexistent/passwd", "root", &u, &g));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lookup)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
