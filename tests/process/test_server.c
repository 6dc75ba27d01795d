/* Unit tests of server: listeners as cfg names them (127.0.0.1 and ::1 at
 * -p 0 share the port, the HTTP front on its own, a unix socket instead of
 * TCP), the reasons when one cannot be had, and a running server with a
 * client thread: READY=1 and STOPPING=1 to $NOTIFY_SOCKET, requests
 * served, -c's refusal in memcached's words, SIGTERM, SIGUSR1 and
 * `shutdown graceful` stopping it with the exit and the graceful flag
 * each gives. Traffic stays on the loopback; every wait is bounded. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/net.h"
#include "lib/settings.h"
#include "lib/stats.h"
#include "process/config.h"
#include "process/server.h"
#include "store/store.h"

struct env {
    struct config cfg;
    struct stats stats;
    struct store *store;
    struct server *srv;
    char err[256];
};

static void _cfg(struct env *e)
{
    memset(e, 0, sizeof(*e));
    config_defaults(&e->cfg);
    e->cfg.port = 0;
    e->cfg.mem_limit = 8u << 20;
}

static bool _create(struct env *e)
{
    struct store_config sc = {.mem_limit = e->cfg.mem_limit,
                              .item_size_max = e->cfg.item_size_max, .evict = true};
    e->store = store_create(&sc, &e->stats);
    assert_non_null(e->store);
    e->srv = server_create(&e->cfg, e->store, &e->stats, NULL, e->err, sizeof(e->err));
    if (!e->srv)
        store_destroy(e->store);
    return e->srv != NULL;
}

static void _destroy(struct env *e)
{
    server_destroy(e->srv);
    store_destroy(e->store);
}

static bool _have_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void test_ports(void **state)
{
    (void)state;
    struct env e;
    _cfg(&e);
    assert_true(_create(&e));
    assert_true(server_port(e.srv) > 0);
    assert_int_equal(server_http_port(e.srv), -1); /* off by default */
    _destroy(&e);

    /* -l 127.0.0.1,::1 -p 0: one port for both; HTTP on another */
    _cfg(&e);
    bool v6 = _have_ipv6();
    e.cfg.listen[e.cfg.nlisten++] = "127.0.0.1";
    if (v6)
        e.cfg.listen[e.cfg.nlisten++] = "[::1]";
    e.cfg.http_port = 0;
    assert_true(_create(&e));
    int port = server_port(e.srv), http = server_http_port(e.srv);
    assert_true(port > 0 && http > 0 && http != port);
    char err[NET_ERR_LEN];
    int fd = net_tcp_connect("127.0.0.1", port, err);
    assert_true(fd >= 0);
    close(fd);
    if (v6) {
        fd = net_tcp_connect("::1", port, err);
        assert_true(fd >= 0);
        close(fd);
        fd = net_tcp_connect("::1", http, err);
        assert_true(fd >= 0);
        close(fd);
    }
    _destroy(&e);
}

static void test_errors(void **state)
{
    (void)state;
    struct env e, busy;
    _cfg(&busy);
    assert_true(_create(&busy));
    _cfg(&e);
    e.cfg.port = server_port(busy.srv);
    assert_false(_create(&e));
    char want[256];
    snprintf(want, sizeof(want), "failed to listen on TCP port %d of 127.0.0.1: %s", e.cfg.port,
             strerror(EADDRINUSE));
    assert_string_equal(e.err, want);
    /* the HTTP front on a port taken */
    _cfg(&e);
    e.cfg.http_port = server_port(busy.srv);
    assert_false(_create(&e));
    snprintf(want, sizeof(want), "failed to listen on HTTP port %d of 127.0.0.1: %s",
             e.cfg.http_port, strerror(EADDRINUSE));
    assert_string_equal(e.err, want);
    _destroy(&busy);
    /* a malformed -l word: listen's reason */
    _cfg(&e);
    e.cfg.listen[e.cfg.nlisten++] = "127.0.0.1:99999";
    assert_false(_create(&e));
    assert_non_null(strstr(e.err, "Invalid port number"));
    /* a unix socket where no directory is */
    _cfg(&e);
    e.cfg.unix_socket = "/nonexistent-dir/memg.sock";
    assert_false(_create(&e));
    snprintf(want, sizeof(want), "failed to listen on UNIX socket %s: %s", e.cfg.unix_socket,
             strerror(ENOENT));
    assert_string_equal(e.err, want);
}

/* --- a running server ---------------------------------------------------
 * server_run on this thread, a client on another (no fork: under qemu-user
 * fork hangs). The stop signals are blocked in both, so they stay pending
 * for the server's signalfd. The client records what went wrong instead of
 * asserting (cmocka's asserts belong to the test's thread) and always ends
 * by stopping the server; alarm() bounds the whole. */

struct run {
    struct env *e;
    const char *unix_path;
    void (*client)(struct run *r);
    char why[512]; /* the client's first failure, "" when none */
};

#define CHECK(r, cond)                                                                        \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            if (!(r)->why[0])                                                                 \
                snprintf((r)->why, sizeof((r)->why), "line %d: %s", __LINE__, #cond);         \
            return;                                                                           \
        }                                                                                     \
    } while (0)

static int notify_fd;
static char notify_path[64];

static void _notify_open(void)
{
    snprintf(notify_path, sizeof(notify_path), "/tmp/memg-srv-notify-%d", (int)getpid());
    unlink(notify_path);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, notify_path);
    assert_int_equal(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(notify_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setenv("NOTIFY_SOCKET", notify_path, 1);
}

static void _notify_close(void)
{
    unsetenv("NOTIFY_SOCKET");
    close(notify_fd);
    unlink(notify_path);
}

static bool _notified(const char *want)
{
    char buf[64];
    ssize_t n = recv(notify_fd, buf, sizeof(buf), 0);
    return n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

static int _client(const char *unix_path, int port)
{
    int fd;
    char err[NET_ERR_LEN];
    if (unix_path) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strcpy(sa.sun_path, unix_path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            close(fd);
            return -1;
        }
    } else {
        fd = net_tcp_connect("127.0.0.1", port, err);
    }
    struct timeval tv = {.tv_sec = 5};
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Send req; read until end shows up in the reply (or EOF), into buf. */
static const char *_talk(int fd, const char *req, const char *end, char *buf, size_t cap)
{
    size_t got = 0;
    buf[0] = '\0';
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        return buf;
    while (!strstr(buf, end) && got + 1 < cap) {
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = '\0';
    }
    return buf;
}

static bool _says(int fd, const char *req, const char *want)
{
    char buf[512];
    return strcmp(_talk(fd, req, want, buf, sizeof(buf)), want) == 0;
}

static bool _closed_by_peer(int fd)
{
    char c;
    return read(fd, &c, 1) == 0;
}

static void *_client_main(void *arg)
{
    struct run *r = arg;
    if (!_notified("READY=1"))
        snprintf(r->why, sizeof(r->why), "no READY=1");
    else
        r->client(r);
    if (r->why[0]) /* the server is stopped whatever happened */
        kill(getpid(), SIGTERM);
    return NULL;
}

/* Serve r->e with r->client talking to it; returns server_run's status
 * times 10 plus server_graceful. */
static int _serve(struct run *r)
{
    /* Under qemu-user (MEMG_QEMU, make test-cross) server_run never
     * returns: its loop spins and neither SIGTERM nor alarm() ends it
     * (seen with qemu 7.2). The native run covers this part. */
    if (getenv("MEMG_QEMU"))
        skip();
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, NULL); /* the client thread inherits it */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, _client_main, r), 0);
    alarm(10);
    int rc = server_run(r->e->srv);
    alarm(0);
    pthread_join(t, NULL);
    if (r->why[0])
        fail_msg("client: %s", r->why);
    return rc * 10 + server_graceful(r->e->srv);
}

static void _sigterm_client(struct run *r)
{
    int port = server_port(r->e->srv);
    int a = _client(NULL, port);
    CHECK(r, a >= 0);
    CHECK(r, _says(a, "set k 5 0 2\r\nhi\r\nget k\r\n", "STORED\r\nVALUE k 5 2\r\nhi\r\nEND\r\n"));
    CHECK(r, _says(a, "version\r\n", "VERSION " MEMG_VERSION "\r\n"));
    /* -c 1: the second client gets memcached's refusal and is closed */
    int b = _client(NULL, port);
    CHECK(r, b >= 0);
    CHECK(r, _says(b, "", "ERROR Too many open connections\r\n"));
    CHECK(r, _closed_by_peer(b));
    close(b);
    char stats[8192];
    _talk(a, "stats\r\n", "END\r\n", stats, sizeof(stats));
    CHECK(r, strstr(stats, "STAT max_connections 1\r\n"));
    CHECK(r, strstr(stats, "STAT rejected_connections 1\r\n"));
    CHECK(r, strstr(stats, "STAT total_connections 1\r\n"));
    kill(getpid(), SIGTERM);
    CHECK(r, _notified("STOPPING=1"));
    CHECK(r, _closed_by_peer(a)); /* connections closed at the stop */
    close(a);
}

static void test_serve_and_sigterm(void **state)
{
    (void)state;
    struct env e;
    _cfg(&e);
    e.cfg.max_conns = 1;
    _notify_open();
    assert_true(_create(&e));
    struct run r = {.e = &e, .client = _sigterm_client};
    assert_int_equal(_serve(&r), 0); /* status 0, not graceful */
    /* the listener is closed: nobody answers on the port */
    char err[NET_ERR_LEN];
    assert_int_equal(net_tcp_connect("127.0.0.1", server_port(e.srv), err), -1);
    _notify_close();
    _destroy(&e);
}

static void _http_client(struct run *r)
{
    int h = _client(NULL, server_http_port(r->e->srv));
    CHECK(r, h >= 0);
    char reply[512];
    _talk(h, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "\r\n\r\nok", reply, sizeof(reply));
    CHECK(r, memcmp(reply, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(r, strstr(reply, "\r\n\r\nok"));
    close(h);
    kill(getpid(), SIGUSR1);
    CHECK(r, _notified("STOPPING=1"));
}

static void test_sigusr1_graceful(void **state)
{
    (void)state;
    struct env e;
    _cfg(&e);
    e.cfg.http_port = 0;
    _notify_open();
    assert_true(_create(&e));
    struct run r = {.e = &e, .client = _http_client};
    assert_int_equal(_serve(&r), 1); /* graceful */
    _notify_close();
    _destroy(&e);
}

static void _shutdown_client(struct run *r)
{
    int a = _client(r->unix_path, 0);
    CHECK(r, a >= 0);
    CHECK(r, _says(a, "version\r\n", "VERSION " MEMG_VERSION "\r\n"));
    CHECK(r, write(a, "shutdown graceful\r\n", 19) == 19);
    CHECK(r, _notified("STOPPING=1"));
    CHECK(r, _closed_by_peer(a));
    close(a);
}

/* A unix socket instead of TCP; `shutdown graceful` (with -A) stops it,
 * and the socket file is removed. */
static void test_unix_and_shutdown(void **state)
{
    (void)state;
    struct env e;
    _cfg(&e);
    char path[64];
    snprintf(path, sizeof(path), "/tmp/memg-srv-%d.sock", (int)getpid());
    e.cfg.unix_socket = path;
    e.cfg.unix_mask = 0700;
    e.cfg.enable_shutdown = true;
    _notify_open();
    assert_true(_create(&e));
    assert_int_equal(server_port(e.srv), 0); /* no TCP */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    struct run r = {.e = &e, .unix_path = path, .client = _shutdown_client};
    assert_int_equal(_serve(&r), 1);
    assert_int_equal(stat(path, &st), -1); /* unlinked at the stop */
    _notify_close();
    _destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_serve_and_sigterm),
        cmocka_unit_test(test_sigusr1_graceful),
        cmocka_unit_test(test_unix_and_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
