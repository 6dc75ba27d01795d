/* transport_tls: a connection's bytes through OpenSSL over its socket. The
 * handshake happens inside the first reads. What conn needs beyond recv and
 * writev is `pending`: records OpenSSL already read (read-ahead pulls in all
 * the socket holds) must be served without waiting for the socket, which
 * will not wake the loop for them. */
#include "transport.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/log.h"
#include "lib/stats.h"
#include "tls.h"
#include "tls_ctx.h"

/* Small replies gathered into one write (ssl_wbuf_size, 16 KB: one TLS
 * record); one buffer serves every connection: the loop has one thread. */
static char *_stage;
static size_t _stage_cap;

struct tls_conn {
    struct transport t;
    SSL *ssl;
    int fd;
    bool starved;     /* the last read wanted bytes the socket has not brought */
    bool read_blocked_on_write; /* a read (handshake) waits for the socket to take bytes */
    bool failed;      /* a fatal error: no close_notify, the session is not resumable */
};


/* The connection cannot go on: count a failed handshake, say why at -v. */
static void _fail(struct tls_conn *c, int code)
{
    char why[160] = "";
    unsigned long e = ERR_peek_error();
    if (e)
        ERR_error_string_n(e, why, sizeof(why));
    ERR_clear_error();
    bool shaking = !SSL_is_init_finished(c->ssl);
    c->failed = true;
    if (shaking)
        tls_stats->ssl_handshake_errors++;
    if (log_level)
        log_line("%d: TLS %s failed (%d): %s", c->fd,
                 shaking ? "handshake" : "connection", code, why[0] ? why : "connection reset");
    errno = ECONNRESET;
}

static ssize_t _recv(struct transport *t, int fd, void *buf, size_t n)
{
    struct tls_conn *c = (struct tls_conn *)t;
    (void)fd;
    c->read_blocked_on_write = false;
    int r = SSL_read(c->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    c->starved = false;
    if (r > 0)
        return r;
    int code = SSL_get_error(c->ssl, r);
    switch (code) {
    case SSL_ERROR_WANT_READ:
        c->starved = true;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        c->read_blocked_on_write = true;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN: /* close_notify: the peer's clean end */
        return 0;
    default: /* a plaintext client, garbage, a cut record, a refused certificate */
        _fail(c, code);
        return -1;
    }
}

static ssize_t _writev(struct transport *t, int fd, const struct iovec *iov, int n)
{
    struct tls_conn *c = (struct tls_conn *)t;
    (void)fd;
    const void *p = iov[0].iov_base;
    size_t len = iov[0].iov_len;
    if (len > _stage_cap) {
        len = _stage_cap; /* memcached's: one write takes ssl_wbuf_size at most */
    } else if (n > 1) { /* gather: one record instead of one per piece */
        len = 0;
        for (int i = 0; i < n && len < _stage_cap; i++) {
            size_t k = iov[i].iov_len < _stage_cap - len ? iov[i].iov_len : _stage_cap - len;
            memcpy(_stage + len, iov[i].iov_base, k);
            len += k;
        }
        p = _stage;
    }
    /* A retry after WANT_WRITE passes the same bytes again (out has not
     * moved past them), perhaps from elsewhere: ACCEPT_MOVING_WRITE_BUFFER. */
    int r = SSL_write(c->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
    if (r > 0)
        return r;
    int code = SSL_get_error(c->ssl, r);
    if (code == SSL_ERROR_WANT_WRITE || code == SSL_ERROR_WANT_READ) {
        errno = EAGAIN;
        return -1;
    }
    _fail(c, code);
    errno = EPIPE;
    return -1;
}

static bool _pending(const struct transport *t)
{
    const struct tls_conn *c = (const struct tls_conn *)t;
    return c->read_blocked_on_write || SSL_pending(c->ssl) > 0 ||
           (!c->starved && SSL_has_pending(c->ssl));
}

static bool _handshaking(const struct transport *t)
{
    return !SSL_is_init_finished(((const struct tls_conn *)t)->ssl);
}

/* OpenSSL refuses while bytes wait in the buffers; not in a handshake, and
 * not with a record begun either (OpenSSL before 3.0.14 freed that one:
 * CVE-2024-4741). */
static void _idle(struct transport *t)
{
    SSL *ssl = ((struct tls_conn *)t)->ssl;
    if (SSL_is_init_finished(ssl) && !SSL_has_pending(ssl))
        SSL_free_buffers(ssl);
}

static void _free(struct transport *t)
{
    struct tls_conn *c = (struct tls_conn *)t;
    /* One try at close_notify (non-blocking: a full socket just misses it);
     * a session closed so stays resumable from the cache. */
    if (!c->failed && SSL_is_init_finished(c->ssl))
        SSL_shutdown(c->ssl);
    ERR_clear_error();
    SSL_free(c->ssl);
    free(c);
}

static const struct transport_vt _tls_vt = {_recv, _writev, _pending, _handshaking, _idle, _free};

/* The records cross the socket through recv and send, as plain
 * connections' bytes do: OpenSSL's socket BIO uses read and write, whose
 * VFS layer (file position lock, fsnotify) costs on every request. */
static int _bio_write(BIO *b, const char *p, int n)
{
    ssize_t w = send((int)(intptr_t)BIO_get_data(b), p, (size_t)n, MSG_NOSIGNAL);
    BIO_clear_retry_flags(b);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(b);
    return (int)w;
}

static int _bio_read(BIO *b, char *p, int n)
{
    ssize_t r = recv((int)(intptr_t)BIO_get_data(b), p, (size_t)n, 0);
    BIO_clear_retry_flags(b);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_read(b);
    else if (r == 0) /* the peer's end: OpenSSL asks BIO_eof before it believes it */
        BIO_set_flags(b, BIO_FLAGS_IN_EOF);
    return (int)r;
}

static long _bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    if (cmd == BIO_CTRL_EOF)
        return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    return cmd == BIO_CTRL_FLUSH; /* nothing is buffered here */
}

static BIO_METHOD *_bio_method;

/* A BIO over fd; with ssl_kernel_tls OpenSSL's own socket BIO (kTLS is
 * switched on through it). */
static BIO *_bio(int fd)
{
    if (tls_kernel)
        return BIO_new_socket(fd, BIO_NOCLOSE);
    if (!_bio_method) {
        _bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "memg socket");
        if (!_bio_method || !BIO_meth_set_write(_bio_method, _bio_write) ||
            !BIO_meth_set_read(_bio_method, _bio_read) ||
            !BIO_meth_set_ctrl(_bio_method, _bio_ctrl))
            return NULL;
    }
    BIO *b = BIO_new(_bio_method);
    if (b) {
        BIO_set_data(b, (void *)(intptr_t)fd);
        BIO_set_init(b, 1);
    }
    return b;
}

bool tls_transport_setup(size_t wbuf)
{
    _stage_cap = wbuf;
    return (_stage = malloc(wbuf)) != NULL;
}

void tls_transport_teardown(void)
{
    BIO_meth_free(_bio_method);
    _bio_method = NULL;
    free(_stage);
    _stage = NULL;
}

struct transport *tls_transport_new(int fd, int verify)
{
    struct tls_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->t.vt = &_tls_vt;
    c->fd = fd;
    BIO *b = NULL;
    if (!(c->ssl = SSL_new(tls_ctx)) || !(b = _bio(fd))) {
        SSL_free(c->ssl);
        free(c);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_bio(c->ssl, b, b); /* the SSL owns b now */
    if (verify >= 0) /* -l btls: or mtls: */
        SSL_set_verify(c->ssl, tls_verify_flags(verify), NULL);
    SSL_set_accept_state(c->ssl);
    return &c->t;
}
