/* memg-floor: the least an epoll server can do per request, as a yardstick.
 *
 * It answers the get, set and version requests the bench workloads send and
 * nothing else: one level-triggered epoll loop, one recv and one send per
 * request, a fixed open-addressed table of ready-made replies. A large value
 * (row L) is received straight into its item and sent from it, and the
 * items' memory is reused (a pool per power of two), so that no copy and no
 * page fault is counted that a server needs not pay. No eviction,
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
#include <sys/uio.h>
#include <unistd.h>

#define SLOTS (1u << 18)     /* 3/4 of it holds the 100,000 keys of A and E */
#define MAX_FDS 65536
#define MAX_EVENTS 256       /* as memg's loop */
#define IN_MAX (1u << 20)    /* a request line plus a value, at most */
#define KEY_MAX 250
#define BIG 16384            /* a value at least this long is received and sent in place */
#define POOL_CLASSES 32
#define POOL_MAX 256         /* freed items kept per class */

/* A stored item is its whole get reply: "VALUE k f n\r\n" data "\r\n".
 * refs: the table's and each reply being sent from it. */
struct item {
    uint32_t hash, klen, len, refs, cls;
    char reply[];            /* the key is at reply + 6 */
};

/* out: the small replies not yet sent; tx: a large item's reply after them
 * (tx_off of it sent), then "END\r\n" (end_off sent); rx: the item a large
 * value is being received into (rx_got bytes of its reply so far). */
struct conn {
    char *in, *out;
    size_t in_len, in_cap, out_len, out_off;
    struct item *tx, *rx;
    size_t tx_off, end_off, rx_got;
    int rx_noreply, epout;
};

static struct item *pool[POOL_CLASSES][POOL_MAX];
static unsigned pool_n[POOL_CLASSES];

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

/* An item of room for len reply bytes, from the pool of its power of two. */
static struct item *_item_new(size_t len)
{
    unsigned cls = 0;
    while (((size_t)1 << cls) < sizeof(struct item) + len)
        cls++;
    struct item *it = pool_n[cls] ? pool[cls][--pool_n[cls]] : malloc((size_t)1 << cls);
    if (it)
        it->cls = cls;
    return it;
}

static void _item_put(struct item *it)
{
    if (!it || --it->refs)
        return;
    if (pool_n[it->cls] < POOL_MAX)
        pool[it->cls][pool_n[it->cls]++] = it;
    else
        free(it);
}

/* An item with its reply's head written, for a value of dlen bytes; *hl: the head's length. */
static struct item *_item_start(const char *key, size_t klen, unsigned long flags, size_t dlen,
                                size_t *hl)
{
    char head[KEY_MAX + 64];
    int n = snprintf(head, sizeof head, "VALUE %.*s %lu %zu\r\n", (int)klen, key, flags, dlen);
    struct item *it = _item_new((size_t)n + dlen + 2);
    if (!it)
        return NULL;
    it->hash = _hash(key, klen);
    it->klen = (uint32_t)klen;
    it->len = (uint32_t)((size_t)n + dlen + 2);
    it->refs = 1;
    memcpy(it->reply, head, (size_t)n);
    *hl = (size_t)n;
    return it;
}

/* Puts a whole item in the table in place of the key's old one. */
static const char *_link(struct item *it)
{
    struct item **s = _slot(it->reply + 6, it->klen, it->hash);
    if (!*s && nitems >= SLOTS / 4 * 3) {
        _item_put(it);
        return "SERVER_ERROR out of memory storing object\r\n";
    }
    if (*s)
        _item_put(*s);
    else
        nitems++;
    *s = it;
    return "STORED\r\n";
}

static const char *_store(const char *key, size_t klen, unsigned long flags,
                          const char *data, size_t dlen)
{
    size_t hl;
    struct item *it = _item_start(key, klen, flags, dlen, &hl);
    if (!it)
        return "SERVER_ERROR out of memory storing object\r\n";
    memcpy(it->reply + hl, data, dlen + 2);
    return _link(it);
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
            if (it && it->len >= BIG) {  /* sent from the item, after what came before */
                it->refs++;
                c->tx = it;
                c->tx_off = c->end_off = 0;
                p += ll;
                break;
            }
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
            if (c->in_len - p < ll + dlen + 2 && dlen + 2 >= BIG) {
                size_t hl, have = c->in_len - p - ll;  /* received into the item from now */
                c->rx = _item_start(key, strlen(key), flags, dlen, &hl);
                if (!c->rx)
                    return -1;
                memcpy(c->rx->reply + hl, nl + 1, have);
                c->rx_got = hl + have;
                c->rx_noreply = strcmp(noreply, "noreply") == 0;
                p = c->in_len;
                break;
            }
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
    _item_put(c->tx);
    if (c->rx) {
        c->rx->refs = 1;
        _item_put(c->rx);
    }
    free(c);
    conns[fd] = NULL;
}

/* Waits for EPOLLOUT (out) or EPOLLIN; a syscall only when that changes. */
static int _want(int ep, int fd, struct conn *c, int out)
{
    if (c->epout == out)
        return 0;
    c->epout = out;
    struct epoll_event e = { .events = out ? EPOLLOUT : EPOLLIN, .data.fd = fd };
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

/* Sends what is pending (c->out, then c->tx and its END); waits for EPOLLOUT
 * (and stops reading) until it is out. 1: all sent. */
static int _send(int ep, int fd, struct conn *c)
{
    for (;;) {
        struct iovec v[3];
        int nv = 0;
        if (c->out_off < c->out_len)
            v[nv++] = (struct iovec){ c->out + c->out_off, c->out_len - c->out_off };
        if (c->tx) {
            if (c->tx_off < c->tx->len)
                v[nv++] = (struct iovec){ c->tx->reply + c->tx_off, c->tx->len - c->tx_off };
            v[nv++] = (struct iovec){ (char *)"END\r\n" + c->end_off, 5 - c->end_off };
        }
        if (!nv)
            break;
        struct msghdr m = { .msg_iov = v, .msg_iovlen = (size_t)nv };
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN)
            return _want(ep, fd, c, 1) < 0 ? -1 : 0;
        if (w < 0)
            return -1;
        size_t k = (size_t)w, d = c->out_len - c->out_off;
        d = k < d ? k : d;
        c->out_off += d;
        k -= d;
        if (c->tx) {
            d = c->tx->len - c->tx_off;
            d = k < d ? k : d;
            c->tx_off += d;
            c->end_off += k - d;
            if (c->end_off == 5) {
                _item_put(c->tx);
                c->tx = NULL;
            }
        }
    }
    c->out_len = c->out_off = 0;
    return 1;
}

/* Answers what c->in holds and sends it, until it is all answered or a send waits. */
static int _answer(int ep, int fd, struct conn *c)
{
    for (;;) {
        ssize_t o = _serve(c);
        if (o < 0)
            return -1;
        if (o) {  /* the small replies go to c->out, ahead of any large one */
            char *out = realloc(c->out, (size_t)o);
            if (!out)
                return -1;
            c->out = out;
            memcpy(c->out, reply_buf, (size_t)o);
            c->out_len = (size_t)o;
            c->out_off = 0;
        }
        int stopped = c->tx != NULL, r = _send(ep, fd, c);
        if (r <= 0)
            return r;
        if (!stopped || !c->in_len)
            break;  /* else more requests wait behind the large reply */
    }
    return _want(ep, fd, c, 0);
}

/* EPOLLOUT: the rest of a reply, then what waited behind it. */
static int _flush(int ep, int fd, struct conn *c)
{
    int r = _send(ep, fd, c);
    return r <= 0 ? r : _answer(ep, fd, c);
}

/* A large value arrives straight into its item; complete, it is linked and answered. */
static int _on_value(int ep, int fd, struct conn *c)
{
    struct item *it = c->rx;
    ssize_t r = recv(fd, it->reply + c->rx_got, it->len - c->rx_got, 0);
    if (r < 0 && errno == EAGAIN)
        return 0;
    if (r <= 0)
        return -1;
    c->rx_got += (size_t)r;
    if (c->rx_got < it->len)
        return 0;
    c->rx = NULL;
    const char *s = _link(it);
    if (!c->rx_noreply) {
        size_t n = strlen(s);
        char *out = realloc(c->out, n);
        if (!out)
            return -1;
        c->out = out;
        memcpy(c->out, s, n);
        c->out_len = n;
        c->out_off = 0;
    }
    int w = _send(ep, fd, c);
    return w <= 0 ? w : c->in_len ? _answer(ep, fd, c) : 0;
}

static int _on_read(int ep, int fd, struct conn *c)
{
    if (c->rx)
        return _on_value(ep, fd, c);
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
    return _answer(ep, fd, c);
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
            else if (c && (((c->out_len || c->tx) ? _flush(ep, fd, c) : _on_read(ep, fd, c)) < 0))
                _close(ep, fd);
        }
    }
}
