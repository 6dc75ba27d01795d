/* net: sockets. Listening (TCP v4/v6 and unix), accepting, options. Errors
 * are written into a caller's buffer as the reason alone (the caller names
 * the address), never printed here. */
#ifndef MEMG_NET_H
#define MEMG_NET_H

#include <stddef.h>

#define NET_ERR_LEN 256

/* Listen on host:port (host NULL or "" = every address; "*" too). Returns
 * the number of sockets opened into fds (at most max), or -1 with err set. */
int net_tcp_listen(const char *host, int port, int backlog, int *fds, int max, char *err);
/* Listen on a unix socket path with the given permission bits. */
int net_unix_listen(const char *path, int mode, int backlog, char *err);
/* Connect (blocking) to host:port; for tools and tests. -1 with err set. */
int net_tcp_connect(const char *host, int port, char *err);
/* Accept one connection, non-blocking + TCP_NODELAY set; -1 with errno. */
int net_accept(int lfd);
int net_set_nonblock(int fd);
int net_set_nodelay(int fd);
/* Port a listening socket is bound to (for -p 0). */
int net_local_port(int fd);

#endif
