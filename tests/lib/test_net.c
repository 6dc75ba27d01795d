/* Unit tests of net: listening on 127.0.0.1 and ::1 at an ephemeral port
 * (one socket, the port it got), connecting and accepting (non-blocking,
 * TCP_NODELAY, close-on-exec), unix sockets with the permission bits asked
 * for, and the reasons written when an address cannot be had. Traffic
 * stays on the loopback. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/net.h"

static int _family(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    return ss.ss_family;
}

static int _opt(int fd, int level, int name)
{
    int v = 0;
    socklen_t len = sizeof(v);
    assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

/* A listener on host:0, one byte each way through it; the listener's fd
 * is returned open. */
static int _roundtrip(const char *host, int family)
{
    int fds[4];
    char err[NET_ERR_LEN] = "";
    int n = net_tcp_listen(host, 0, 16, fds, 4, err);
    if (n != 1)
        fail_msg("%s: %d sockets: %s", host, n, err);
    int lfd = fds[0];
    assert_int_equal(_family(lfd), family);
    assert_true(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(_opt(lfd, SOL_SOCKET, SO_ACCEPTCONN), 1);
    int port = net_local_port(lfd);
    assert_true(port > 0 && port < 65536);

    /* nothing waiting yet: accept does not block */
    assert_int_equal(net_accept(lfd), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);

    int cfd = net_tcp_connect(host, port, err);
    assert_true(cfd >= 0);
    assert_int_equal(_opt(cfd, IPPROTO_TCP, TCP_NODELAY), 1);
    int afd = -1;
    for (int i = 0; i < 1000 && afd < 0; i++) { /* the handshake is done by now on loopback */
        afd = net_accept(lfd);
        if (afd < 0)
            usleep(1000);
    }
    assert_true(afd >= 0);
    assert_true(fcntl(afd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(afd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(_opt(afd, IPPROTO_TCP, TCP_NODELAY), 1);
    assert_int_equal(net_local_port(afd), port);
    assert_int_equal(write(cfd, "ping", 4), 4);
    char buf[8];
    ssize_t got = -1;
    for (int i = 0; i < 1000 && got < 0; i++) {
        got = read(afd, buf, sizeof(buf));
        if (got < 0)
            usleep(1000);
    }
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "ping", 4);
    close(afd);
    close(cfd);
    return lfd;
}

static void test_ipv4(void **state)
{
    (void)state;
    int lfd = _roundtrip("127.0.0.1", AF_INET);
    /* the port is taken now: a second listener on it fails, saying why */
    int fds[2];
    char err[NET_ERR_LEN] = "";
    assert_int_equal(net_tcp_listen("127.0.0.1", net_local_port(lfd), 16, fds, 2, err), -1);
    assert_string_equal(err, strerror(EADDRINUSE));
    close(lfd);
}

static bool _have_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void test_ipv6(void **state)
{
    (void)state;
    if (!_have_ipv6()) {
        /* no ::1 on this host: listening on it must fail with a reason */
        int fds[2];
        char err[NET_ERR_LEN] = "";
        assert_int_equal(net_tcp_listen("::1", 0, 16, fds, 2, err), -1);
        assert_true(err[0] != '\0');
        return;
    }
    int lfd = _roundtrip("::1", AF_INET6);
    assert_int_equal(_opt(lfd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    close(lfd);
}

/* Every address ("", "*" or NULL) at port 0: one socket, since an
 * ephemeral port would differ per family. */
static void test_wildcard_ephemeral(void **state)
{
    (void)state;
    static const char *const hosts[] = {NULL, "", "*"};
    for (size_t i = 0; i < 3; i++) {
        int fds[4];
        char err[NET_ERR_LEN] = "";
        assert_int_equal(net_tcp_listen(hosts[i], 0, 16, fds, 4, err), 1);
        assert_true(net_local_port(fds[0]) > 0);
        close(fds[0]);
    }
}

static void test_errors(void **state)
{
    (void)state;
    int fds[2];
    char err[NET_ERR_LEN] = "";
    /* an address no interface has */
    assert_int_equal(net_tcp_listen("192.0.2.1", 0, 16, fds, 2, err), -1);
    assert_string_equal(err, strerror(EADDRNOTAVAIL));
    /* a port nobody listens on */
    int lfd = _roundtrip("127.0.0.1", AF_INET);
    int port = net_local_port(lfd);
    close(lfd);
    err[0] = '\0';
    assert_int_equal(net_tcp_connect("127.0.0.1", port, err), -1);
    char want[NET_ERR_LEN];
    snprintf(want, sizeof(want), "connect 127.0.0.1:%d: %s", port, strerror(ECONNREFUSED));
    assert_string_equal(err, want);
    assert_int_equal(net_local_port(-1), -1);
}

static void test_unix(void **state)
{
    (void)state;
    char path[64], err[NET_ERR_LEN] = "";
    snprintf(path, sizeof(path), "/tmp/memg-net-%d.sock", (int)getpid());
    mode_t old = umask(027);
    int fd = net_unix_listen(path, 0700, 16, err);
    assert_int_equal(umask(old), 027); /* the process' umask is put back */
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(net_local_port(fd), -1); /* no port */
    close(fd);
    /* the stale file is replaced; other bits as asked */
    fd = net_unix_listen(path, 0755, 16, err);
    assert_true(fd >= 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int a = net_accept(fd); /* TCP_NODELAY fails on unix sockets, accepting does not */
    assert_true(a >= 0);
    assert_true(fcntl(a, F_GETFL) & O_NONBLOCK);
    close(a);
    close(c);
    close(fd);
    unlink(path);

    char longer[200];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[0] = '/';
    longer[sizeof(longer) - 1] = '\0';
    assert_int_equal(net_unix_listen(longer, 0700, 16, err), -1);
    assert_string_equal(err, "path too long (199 bytes, at most 107)");
    assert_int_equal(net_unix_listen("/nonexistent-dir/x.sock", 0700, 16, err), -1);
    assert_string_equal(err, strerror(ENOENT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_wildcard_ephemeral),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_unix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
