/* memg-floor: the least an epoll server can do per request, as a yardstick.
 *
 * It answers the get, set and version requests the bench workloads send and
 * nothing else: one level-triggered epoll loop, one recv and one send per
 * request, a fixed open-addressed table of ready-made replies. No eviction,
 * no expiry, no stats, no limits beyond the table's size. Whatever ratio it
 * reaches between two workloads (E / A) is what the kernel and the machine
 * leave to any server; memg's own ratio is read against it (bench/README.md).
 *
 *   memg-floor -p PORT [-l IPV4]   (the other memcached flags are ignored)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOTS (1u << 18)     /* 3/4 of it holds the 100,000 keys of A and E */
#define MAX_FDS 65536
#define MAX_EVENTS 256       /* as memg's loop */
#define IN_MAX (1u << 20)    /* a request line plus a value, at most */
#define KEY_MAX 250

/* A stored item is its whole get reply: "VALUE k f n\r\n" data "\r\n". */
struct item {
    uint32_t hash, klen, len;
    char reply[];            /* the key is at reply + 6 */
};

struct conn {
    char *in, *out;
    size_t in_len, in_cap, out_len, out_off;
};

static struct item *table[SLOTS];
static unsigned nitems;
static struct conn *conns[MAX_FDS];
static char reply_buf[1 << 16];

static uint32_t _hash(const char *k, size_t n)
{
    uint32_t h = 2166136261u;
    while (n--)
        h = (h ^ (unsigned char)*k++) * 16777619u;
    return h;
}

static struct item **_slot(const char *key, size_t klen, uint32_t h)
{
    for (uint32_t i = h & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
        struct item *it = table[i];
        if (!it || (it->hash == h && it->klen == klen && memcmp(it->reply + 6, key, klen) == 0))
            return &table[i];
    }
}

static const char *_store(const char *key, size_t klen, unsigned long flags,
                          const char *data, size_t dlen)
{
    uint32_t h = _hash(key, klen);
    struct item **s = _slot(key, klen, h);
    if (!*s && nitems >= SLOTS / 4 * 3)
        return "SERVER_ERROR out of memory storing object\r\n";
    char head[KEY_MAX + 64];
    int hl = snprintf(head, sizeof head, "VALUE %.*s %lu %zu\r\n", (int)klen, key, flags, dlen);
    struct item *it = malloc(sizeof *it + (size_t)hl + dlen + 2);
    if (!it)
        return "SERVER_ERROR out of memory storing object\r\n";
    it->hash = h;
    it->klen = (uint32_t)klen;
    it->len = (uint32_t)((size_t)hl + dlen + 2);
    memcpy(it->reply, head, (size_t)hl);
    memcpy(it->reply + hl, data, dlen + 2);
    if (*s)
        free(*s);
    else
        nitems++;
    *s = it;
    return "STORED\r\n";
}

/* Appends to the reply; (size_t)-1 once it overflows, and stays so. */
static size_t _put(size_t o, const char *s, size_t n)
{
    if (n > sizeof reply_buf || o > sizeof reply_buf - n)
        return (size_t)-1;
    memcpy(reply_buf + o, s, n);
    return o + n;
}

/* Answers every whole request in c->in; returns the reply length, or -1 when
 * the client sent what this server does not take (the connection closes). */
static ssize_t _serve(struct conn *c)
{
    size_t p = 0, o = 0;
    while (o != (size_t)-1) {
        char *line = c->in + p, *nl = memchr(line, '\n', c->in_len - p);
        if (!nl)
            break;
        size_t ll = (size_t)(nl - line) + 1, n = ll - (ll > 1 && nl[-1] == '\r' ? 2 : 1);
        if (n > 4 && memcmp(line, "get ", 4) == 0 && n - 4 <= KEY_MAX) {
            uint32_t h = _hash(line + 4, n - 4);
            struct item *it = *_slot(line + 4, n - 4, h);
            if (it)
                o = _put(o, it->reply, it->len);
            o = _put(o, "END\r\n", 5);
        } else if (n > 4 && memcmp(line, "set ", 4) == 0) {
            char cmd[KEY_MAX + 96], key[KEY_MAX + 1], noreply[8] = "";
            unsigned long flags, exptime;
            size_t dlen;
            if (n >= sizeof cmd)
                return -1;
            memcpy(cmd, line, n);  /* sscanf must not read on into the value */
            cmd[n] = '\0';
            if (sscanf(cmd + 4, "%250s %lu %lu %zu %7s", key, &flags, &exptime, &dlen,
                       noreply) < 4 || dlen > IN_MAX - 512)
                return -1;
            if (c->in_len - p < ll + dlen + 2)
                break;       /* the value is still on its way */
            const char *r = _store(key, strlen(key), flags, nl + 1, dlen);
            if (strcmp(noreply, "noreply") != 0)
                o = _put(o, r, strlen(r));
            ll += dlen + 2;
        } else if (n == 7 && memcmp(line, "version", 7) == 0) {
            o = _put(o, "VERSION memg-floor\r\n", 20);
        } else {
            return -1;
        }
        p += ll;
    }
    if (o == (size_t)-1)
        return -1;
    memmove(c->in, c->in + p, c->in_len - p);
    c->in_len -= p;
    return (ssize_t)o;
}

static void _close(int ep, int fd)
{
    struct conn *c = conns[fd];
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(c->in);
    free(c->out);
    free(c);
    conns[fd] = NULL;
}

/* Sends what c->out holds; waits for EPOLLOUT (and stops reading) until it is out. */
static int _flush(int ep, int fd, struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            struct epoll_event e = { .events = EPOLLOUT, .data.fd = fd };
            return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
        }
        if (w < 0)
            return -1;
        c->out_off += (size_t)w;
    }
    c->out_len = c->out_off = 0;
    struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

static int _on_read(int ep, int fd, struct conn *c)
{
    if (c->in_cap - c->in_len < 4096) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
        if (cap > IN_MAX)
            return -1;
        char *in = realloc(c->in, cap);
        if (!in)
            return -1;
        c->in = in;
        c->in_cap = cap;
    }
    ssize_t r = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (r < 0 && errno == EAGAIN)
        return 0;
    if (r <= 0)
        return -1;
    c->in_len += (size_t)r;
    ssize_t o = _serve(c);
    if (o <= 0)
        return (int)o;
    ssize_t w = send(fd, reply_buf, (size_t)o, MSG_NOSIGNAL);
    if (w == o)
        return 0;
    if (w < 0 && errno != EAGAIN)
        return -1;
    size_t done = w < 0 ? 0 : (size_t)w;
    c->out = malloc((size_t)o - done);
    if (!c->out)
        return -1;
    memcpy(c->out, reply_buf + done, (size_t)o - done);
    c->out_len = (size_t)o - done;
    c->out_off = 0;
    return _flush(ep, fd, c);
}

static void _accept(int ep, int ls)
{
    int fd, one = 1;
    while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        struct conn *c = fd < MAX_FDS ? calloc(1, sizeof *c) : NULL;
        struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };
        if (!c || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) {
            free(c);
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[fd] = c;
    }
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 11211;
    for (int i = 1; i + 1 < argc; i += 2) {  /* memcached's flags, each with a value */
        if (strcmp(argv[i], "-p") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-l") == 0)
            host = argv[i + 1];
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ls < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 1024) < 0) {
        fprintf(stderr, "memg-floor: cannot listen on %s:%d: %s\n", host, port, strerror(errno));
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e = { .events = EPOLLIN, .data.fd = ls }, evs[MAX_EVENTS];
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &e) < 0) {
        perror("memg-floor: epoll");
        return 1;
    }
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0 && errno != EINTR) {
            perror("memg-floor: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            struct conn *c = conns[fd];
            if (fd == ls)
                _accept(ep, ls);
            else if (c && ((c->out_len ? _flush(ep, fd, c) : _on_read(ep, fd, c)) < 0))
                _close(ep, fd);
        }
    }
}
