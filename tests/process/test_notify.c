/* Unit tests of notify: sd_notify's datagram reaches the AF_UNIX datagram
 * socket $NOTIFY_SOCKET names, a path or an abstract name ('@'), with the
 * state's bytes exactly; unset, relative or unreachable names send
 * nothing and say so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "process/notify.h"

/* A datagram socket bound to name ('@': abstract), as systemd's. */
static int _listener(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    memcpy(sa.sun_path, name, len);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    else
        unlink(name);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
                     0);
    return fd;
}

static void _expect(int fd, const char *want)
{
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    assert_int_equal(n, (ssize_t)strlen(want));
    assert_memory_equal(buf, want, (size_t)n);
}

static void _nothing_queued(int fd)
{
    char buf[16];
    assert_int_equal(recv(fd, buf, sizeof(buf), 0), -1);
}

static void test_path(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "/tmp/memg-notify-%d", (int)getpid());
    int fd = _listener(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_true(notify_systemd("READY=1"));
    _expect(fd, "READY=1");
    assert_true(notify_systemd("STOPPING=1"));
    _expect(fd, "STOPPING=1");
    _nothing_queued(fd);
    close(fd);
    unlink(path);
    /* the socket is gone: not delivered */
    assert_false(notify_systemd("READY=1"));
    unsetenv("NOTIFY_SOCKET");
}

static void test_abstract(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof(name), "@memg-notify-%d", (int)getpid());
    int fd = _listener(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_true(notify_systemd("READY=1\nSTATUS=serving"));
    _expect(fd, "READY=1\nSTATUS=serving");
    /* the same name as a path is another socket: nothing arrives here */
    char path[64];
    snprintf(path, sizeof(path), "/%s", name + 1);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_false(notify_systemd("READY=1"));
    _nothing_queued(fd);
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}

static void test_not_sent(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_false(notify_systemd("READY=1"));
    static const char *const bad[] = {"", "@", "/", "relative/path", "x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("NOTIFY_SOCKET", bad[i], 1);
        assert_false(notify_systemd("READY=1"));
    }
    char longer[200];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[0] = '/';
    longer[sizeof(longer) - 1] = '\0'; /* past sun_path's 108 bytes */
    setenv("NOTIFY_SOCKET", longer, 1);
    assert_false(notify_systemd("READY=1"));
    unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_abstract),
        cmocka_unit_test(test_not_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
