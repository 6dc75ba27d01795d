/* Unit tests of resolve.c: numeric addresses, the wildcard, a hosts file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "lib/resolve.h"

static const char *why;

static const char *_text(const struct resolved *r, char *buf)
{
    const void *a = r->family == AF_INET ? (const void *)&((const struct sockaddr_in *)&r->sa)->sin_addr
                                         : (const void *)&((const struct sockaddr_in6 *)&r->sa)->sin6_addr;
    return inet_ntop(r->family, a, buf, INET6_ADDRSTRLEN);
}

static void test_numeric_and_wildcard(void **state)
{
    (void)state;
    struct resolved r[4];
    char b[INET6_ADDRSTRLEN];
    assert_int_equal(resolve_host("127.0.0.1", 11211, r, 4, &why), 1);
    assert_int_equal(r[0].family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&r[0].sa)->sin_port), 11211);
    assert_int_equal(r[0].len, sizeof(struct sockaddr_in));
    assert_int_equal(resolve_host("::1", 80, r, 4, &why), 1);
    assert_int_equal(r[0].family, AF_INET6);
    assert_string_equal(_text(&r[0], b), "::1");
    assert_int_equal(resolve_host(NULL, 5, r, 4, &why), 2); /* as getaddrinfo: v4 first */
    assert_string_equal(_text(&r[0], b), "0.0.0.0");
    assert_string_equal(_text(&r[1], b), "::");
    assert_int_equal(resolve_host_in("/nonexistent", "nosuch.example", 1, r, 4, &why), -1);
    assert_string_equal(why, "Name does not resolve");
}

static void test_hosts_file(void **state)
{
    (void)state;
    char path[] = "/tmp/memg-hosts-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# comment\n127.0.0.1\tlocalhost box\n::1 localhost ip6-localhost # v6\n"
                       "10.0.0.7 Cache.Example  # case\nnot-an-address name\n192.168.1.1 other";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct resolved r[4];
    char b[INET6_ADDRSTRLEN];
    assert_int_equal(resolve_host_in(path, "localhost", 9, r, 4, &why), 2);
    assert_string_equal(_text(&r[0], b), "127.0.0.1");
    assert_string_equal(_text(&r[1], b), "::1");
    assert_int_equal(resolve_host_in(path, "cache.example", 9, r, 4, &why), 1);
    assert_string_equal(_text(&r[0], b), "10.0.0.7");
    assert_int_equal(resolve_host_in(path, "other", 9, r, 4, &why), 1); /* no final newline */
    assert_int_equal(resolve_host_in(path, "name", 9, r, 4, &why), -1);
    assert_int_equal(resolve_host_in(path, "comment", 9, r, 4, &why), -1);
    assert_int_equal(resolve_host_in(path, "localhost", 9, r, 1, &why), 1); /* at most max */
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_and_wildcard),
        cmocka_unit_test(test_hosts_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
