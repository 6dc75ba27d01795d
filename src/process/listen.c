/* listen: memcached's -l syntax (server_sockets in memcached.c): a notls:,
 * btls: or mtls: prefix, [IPv6] in brackets, and a :PORT unless the colon is one of a bare
 * IPv6 address's. */
#include "listen.h"

#include <string.h>

#include "lib/fmt.h"

static bool _port(const char *s, int *port)
{
    int v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 65535)
            return false;
        v = v * 10 + (*s - '0');
    }
    if (v > 65535)
        return false;
    *port = v;
    return true;
}

bool listen_spec_parse(const char *word, int port, struct listen_spec *out, char *err, size_t cap)
{
    out->port = port;
    out->notls = strncmp(word, "notls:", 6) == 0;
    out->verify = strncmp(word, "btls:", 5) == 0 ? 0 : strncmp(word, "mtls:", 5) == 0 ? 2 : -1;
    word += out->notls ? 6 : out->verify >= 0 ? 5 : 0;
    const char *h = word, *rest = word;
    size_t hlen;
    if (*word == '[') {
        const char *e = strchr(word, ']');
        if (!e) {
            fmt_buf(err, cap, "Invalid IPV6 address: \"%s\"", word);
            return false;
        }
        h = word + 1;
        hlen = (size_t)(e - h);
        rest = e + 1;
    } else {
        hlen = strlen(word);
    }
    const char *colon = strchr(rest, ':');
    if (colon && (*word == '[' || !strchr(colon + 1, ':'))) { /* else a bare IPv6 */
        if (!_port(colon + 1, &out->port)) {
            fmt_buf(err, cap, "Invalid port number: \"%s\"", colon + 1);
            return false;
        }
        if (*word != '[')
            hlen = (size_t)(colon - word);
    }
    if (hlen >= sizeof(out->host)) {
        fmt_buf(err, cap, "address too long: \"%s\"", word);
        return false;
    }
    memcpy(out->host, h, hlen);
    out->host[hlen] = '\0';
    if (strcmp(out->host, "*") == 0)
        out->host[0] = '\0';
    return true;
}
