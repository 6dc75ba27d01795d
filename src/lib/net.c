/* net: listening, accepting and socket options. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fmt.h"
#include "resolve.h"

int net_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int net_set_nodelay(int fd)
{
    int on = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static int _listen_addr(const struct resolved *ai, int backlog, char *err)
{
    int fd = socket(ai->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fmt_buf(err, NET_ERR_LEN, "socket: %s", strerror(errno));
        return -1;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ai->family == AF_INET6) /* v4 and v6 wildcards are separate sockets */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, (const struct sockaddr *)&ai->sa, ai->len) < 0 || listen(fd, backlog) < 0) {
        fmt_buf(err, NET_ERR_LEN, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int net_tcp_listen(const char *host, int port, int backlog, int *fds, int max, char *err)
{
    struct resolved res[8];
    const char *why;
    if (host && (!*host || strcmp(host, "*") == 0))
        host = NULL;
    int nres = resolve_host(host, port, res, 8, &why);
    if (nres < 0) {
        fmt_buf(err, NET_ERR_LEN, "%s", why);
        return -1;
    }
    int n = 0;
    for (int i = 0; i < nres && n < max; i++) {
        const struct resolved *ai = &res[i];
        int fd = _listen_addr(ai, backlog, err);
        if (fd < 0) {
            if (errno == EAFNOSUPPORT && host == NULL)
                continue; /* no IPv6 on this host: the wildcard still works on v4 */
            while (n)
                close(fds[--n]);
            break;
        }
        fds[n++] = fd;
        if (port == 0 && host == NULL)
            break; /* an ephemeral port differs per family: one socket */
    }
    if (n == 0 && !err[0])
        fmt_buf(err, NET_ERR_LEN, "no address to listen on");
    return n ? n : -1;
}

int net_unix_listen(const char *path, int mode, int backlog, char *err)
{
    struct sockaddr_un sa = {0};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fmt_buf(err, NET_ERR_LEN, "path too long (%zu bytes, at most %zu)", strlen(path),
                sizeof(sa.sun_path) - 1);
        return -1;
    }
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fmt_buf(err, NET_ERR_LEN, "socket: %s", strerror(errno));
        return -1;
    }
    unlink(path); /* a stale socket file from an earlier run */
    mode_t old = umask((mode_t)(~mode & 0777));
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || listen(fd, backlog) < 0) {
        fmt_buf(err, NET_ERR_LEN, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int net_tcp_connect(const char *host, int port, char *err)
{
    struct resolved res[8];
    const char *why;
    int nres = resolve_host(host, port, res, 8, &why);
    if (nres < 0) {
        fmt_buf(err, NET_ERR_LEN, "%s: %s", host, why);
        return -1;
    }
    int fd = -1;
    for (int i = 0; i < nres; i++) {
        const struct resolved *ai = &res[i];
        fd = socket(ai->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, (const struct sockaddr *)&ai->sa, ai->len) == 0)
            break;
        fmt_buf(err, NET_ERR_LEN, "connect %s:%d: %s", host, port, strerror(errno));
        close(fd);
        fd = -1;
    }
    if (fd >= 0)
        net_set_nodelay(fd);
    return fd;
}

int net_accept(int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
        net_set_nodelay(fd); /* fails harmlessly on unix sockets */
    return fd;
}

int net_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}
