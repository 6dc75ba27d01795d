/* listen: one -l word as memcached reads it: [notls:|btls:|mtls:]HOST[:PORT], with an
 * IPv6 HOST in brackets when a port follows ([::1]:11211), a bare IPv6
 * address without a port, and "*" for every address. */
#ifndef MEMG_LISTEN_H
#define MEMG_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

struct listen_spec {
    char host[256]; /* "" : every address ("*") */
    int port;       /* the word's, else the default given */
    bool notls;     /* notls: this listener stays plain under -Z */
    int verify;     /* btls: 0 (no client certificate asked), mtls: 2 (one
                     * required), else -1 (ssl_verify_mode's) */
};

/* false with err when the word is malformed (memcached's words). */
bool listen_spec_parse(const char *word, int port, struct listen_spec *out, char *err, size_t cap);

#endif
