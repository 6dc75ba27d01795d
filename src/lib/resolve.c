/* resolve: numeric addresses, the wildcard, and /etc/hosts. */
#include "resolve.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#define HOSTS_MAX (64 * 1024) /* read at most this much of the hosts file */

/* One numeric address into r; false when text is not one. */
static bool _numeric(const char *text, size_t n, int port, struct resolved *r)
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, text, n);
    buf[n] = '\0';
    memset(r, 0, sizeof *r);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&r->sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&r->sa;
    if (inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        r->len = sizeof *v4;
    } else if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        r->len = sizeof *v6;
    } else {
        return false;
    }
    r->family = r->sa.ss_family;
    return true;
}

static bool _same_name(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return false;
    for (size_t i = 0; i < n; i++) { /* host names ignore case */
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

static bool _blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Addresses of lines in the hosts file naming host, in file order. */
static int _hosts(const char *path, const char *host, int port, struct resolved *out, int max)
{
    static char text[HOSTS_MAX];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t len = read(fd, text, sizeof text);
    close(fd);
    int n = 0;
    for (const char *p = text, *end = text + (len > 0 ? len : 0); p < end && n < max;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *hash = memchr(p, '#', (size_t)(le - p));
        if (hash)
            le = hash;
        const char *tok[2] = {NULL, NULL};
        size_t tlen[2] = {0, 0};
        struct resolved r;
        bool have_addr = false;
        for (const char *q = p; q < le;) {
            while (q < le && _blank(*q))
                q++;
            const char *s = q;
            while (q < le && !_blank(*q))
                q++;
            if (q == s)
                break;
            if (!tok[0]) {
                tok[0] = s;
                tlen[0] = (size_t)(q - s);
                have_addr = _numeric(tok[0], tlen[0], port, &r);
            } else if (have_addr && _same_name(s, (size_t)(q - s), host)) {
                out[n++] = r;
                break;
            }
        }
        p = nl ? nl + 1 : end;
    }
    return n;
}

int resolve_host_in(const char *hosts_path, const char *host, int port, struct resolved *out,
                    int max, const char **why)
{
    *why = "Name does not resolve";
    if (max < 1)
        return -1;
    if (!host) { /* the wildcard: every IPv4 and every IPv6 address */
        int n = 0;
        if (_numeric("0.0.0.0", 7, port, &out[n]))
            n++;
        if (n < max && _numeric("::", 2, port, &out[n]))
            n++;
        return n;
    }
    if (_numeric(host, strlen(host), port, out))
        return 1;
    int n = _hosts(hosts_path, host, port, out, max);
    return n > 0 ? n : -1;
}

int resolve_host(const char *host, int port, struct resolved *out, int max, const char **why)
{
    return resolve_host_in("/etc/hosts", host, port, out, max, why);
}
