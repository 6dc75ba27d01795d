/* resolve: the addresses a listen or connect host names, without a DNS
 * client: the wildcard, numeric IPv4 and IPv6, and names in /etc/hosts
 * (which getaddrinfo reads first too). memg listens on local interfaces,
 * and libc's resolver would be a sixth of the binary (19.5 KB). */
#ifndef MEMG_RESOLVE_H
#define MEMG_RESOLVE_H

#include <stdbool.h>
#include <sys/socket.h>

struct resolved {
    struct sockaddr_storage sa;
    socklen_t len;
    int family;
};

/* host NULL: the wildcard of each family (passive). Returns how many
 * addresses were written to out (at most max), or -1 with *why set to
 * getaddrinfo's words ("Name does not resolve"). */
int resolve_host(const char *host, int port, struct resolved *out, int max, const char **why);
/* The same with the hosts file named (tests). */
int resolve_host_in(const char *hosts_path, const char *host, int port, struct resolved *out,
                    int max, const char **why);

#endif
