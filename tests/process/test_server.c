/* Unit tests of server: listeners as cfg names them (127.0.0.1 and ::1 at
 * -p 0 share the port, the HTTP front on its own, a unix socket instead of
 * TCP), the reasons when one cannot be had, and a running server in a
 * child process: READY=1 and STOPPING=1 to $NOTIFY_SOCKET, requests
 * served, -c's refusal in memcached's words, SIGTERM, SIGUSR1 and
 * `shutdown graceful` stopping it with the exit and the graceful flag
 * each gives. Traffic stays on the loopback; every wait is bounded. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
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

/* --- a running server, in a child ------------------------------------- */

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

static void _expect_notify(const char *want)
{
    char buf[64];
    ssize_t n = recv(notify_fd, buf, sizeof(buf), 0);
    assert_int_equal(n, (ssize_t)strlen(want));
    assert_memory_equal(buf, want, (size_t)n);
}

/* Fork a child that serves e until stopped; it exits with
 * 10 * server_run's status + server_graceful. READY=1 is awaited. */
static pid_t _serve(struct env *e)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
        alarm(10);
        int rc = server_run(e->srv);
        _exit(rc * 10 + server_graceful(e->srv));
    }
    _expect_notify("READY=1");
    return pid;
}

static int _exit_of(pid_t pid)
{
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int _client(const char *unix_path, int port)
{
    int fd;
    char err[NET_ERR_LEN];
    if (unix_path) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strcpy(sa.sun_path, unix_path);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    } else {
        fd = net_tcp_connect("127.0.0.1", port, err);
    }
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Send req; read until end shows up in the reply (or EOF), into buf. */
static const char *_talk(int fd, const char *req, const char *end, char *buf, size_t cap)
{
    size_t got = 0;
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    buf[0] = '\0';
    while (!strstr(buf, end) && got + 1 < cap) {
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = '\0';
    }
    return buf;
}

/* The whole reply to req is want. */
static void _ask(int fd, const char *req, const char *want)
{
    char buf[512];
    assert_string_equal(_talk(fd, req, want, buf, sizeof(buf)), want);
}

static bool _closed_by_peer(int fd)
{
    char c;
    return read(fd, &c, 1) == 0;
}

static void test_serve_and_sigterm(void **state)
{
    (void)state;
    struct env e;
    _cfg(&e);
    e.cfg.max_conns = 1;
    _notify_open();
    assert_true(_create(&e));
    pid_t pid = _serve(&e);
    int a = _client(NULL, server_port(e.srv));
    _ask(a, "set k 5 0 2\r\nhi\r\nget k\r\n", "STORED\r\nVALUE k 5 2\r\nhi\r\nEND\r\n");
    _ask(a, "version\r\n", "VERSION " MEMG_VERSION "\r\n");
    /* -c 1: the second client gets memcached's refusal and is closed */
    int b = _client(NULL, server_port(e.srv));
    _ask(b, "", "ERROR Too many open connections\r\n");
    assert_true(_closed_by_peer(b));
    close(b);
    char stats[8192];
    _talk(a, "stats\r\n", "END\r\n", stats, sizeof(stats));
    assert_non_null(strstr(stats, "STAT max_connections 1\r\n"));
    assert_non_null(strstr(stats, "STAT rejected_connections 1\r\n"));
    assert_non_null(strstr(stats, "STAT total_connections 1\r\n"));
    assert_int_equal(kill(pid, SIGTERM), 0);
    _expect_notify("STOPPING=1");
    assert_true(_closed_by_peer(a));
    assert_int_equal(_exit_of(pid), 0); /* status 0, not graceful */
    close(a);
    _notify_close();
    int port = server_port(e.srv);
    _destroy(&e); /* this process' copy of the listener goes too */
    char err[NET_ERR_LEN];
    assert_int_equal(net_tcp_connect("127.0.0.1", port, err), -1);
}

static void test_sigusr1_graceful(void **state)
{
    (void)state;
    struct env e;
    _cfg(&e);
    e.cfg.http_port = 0;
    _notify_open();
    assert_true(_create(&e));
    pid_t pid = _serve(&e);
    int h = _client(NULL, server_http_port(e.srv));
    char reply[512];
    _talk(h, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "\r\n\r\nok", reply, sizeof(reply));
    assert_memory_equal(reply, "HTTP/1.1 200 OK\r\n", 17);
    assert_non_null(strstr(reply, "\r\n\r\nok"));
    close(h);
    assert_int_equal(kill(pid, SIGUSR1), 0);
    _expect_notify("STOPPING=1");
    assert_int_equal(_exit_of(pid), 1); /* graceful */
    _notify_close();
    _destroy(&e);
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
    pid_t pid = _serve(&e);
    int a = _client(path, 0);
    _ask(a, "version\r\n", "VERSION " MEMG_VERSION "\r\n");
    assert_int_equal(write(a, "shutdown graceful\r\n", 19), 19);
    _expect_notify("STOPPING=1");
    assert_int_equal(_exit_of(pid), 1);
    close(a);
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
