/* tlsc: the generator's side of TLS, over OpenSSL when built with TLS=1. */
#include "tlsc.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>

#ifdef MEMG_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>

static SSL_CTX *_ctx;

bool tlsc_setup(const char *suite)
{
    if (!(_ctx = SSL_CTX_new(TLS_client_method())))
        return false;
    SSL_CTX_set_verify(_ctx, SSL_VERIFY_NONE, NULL); /* loopback, the test certificate */
    SSL_CTX_set_mode(_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (suite && !SSL_CTX_set_ciphersuites(_ctx, suite)) {
        fprintf(stderr, "memg-bench: unknown TLS 1.3 cipher suite %s\n", suite);
        return false;
    }
    return true;
}

struct tlsc *tlsc_connect(int fd)
{
    SSL *ssl = SSL_new(_ctx);
    if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1) {
        char why[160] = "";
        ERR_error_string_n(ERR_get_error(), why, sizeof(why));
        fprintf(stderr, "memg-bench: TLS handshake failed: %s\n", why);
        SSL_free(ssl);
        return NULL;
    }
    return (struct tlsc *)ssl;
}

static ssize_t _result(SSL *ssl, int r)
{
    if (r > 0)
        return r;
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = ECONNRESET;
    return -1;
}

ssize_t tlsc_read(struct tlsc *t, void *buf, size_t n)
{
    SSL *ssl = (SSL *)t;
    return _result(ssl, SSL_read(ssl, buf, n > INT_MAX ? INT_MAX : (int)n));
}

ssize_t tlsc_write(struct tlsc *t, const void *buf, size_t n)
{
    SSL *ssl = (SSL *)t;
    return _result(ssl, SSL_write(ssl, buf, n > INT_MAX ? INT_MAX : (int)n));
}

bool tlsc_pending(const struct tlsc *t) { return SSL_pending((const SSL *)t) > 0; }

const char *tlsc_cipher(const struct tlsc *t)
{
    return SSL_get_cipher_name((const SSL *)t);
}

void tlsc_free(struct tlsc *t) { SSL_free((SSL *)t); }

#else /* built without TLS */

bool tlsc_setup(const char *suite)
{
    (void)suite;
    fprintf(stderr, "memg-bench: --tls needs the generator built with TLS=1\n");
    return false;
}

struct tlsc *tlsc_connect(int fd)
{
    (void)fd;
    return NULL;
}

ssize_t tlsc_read(struct tlsc *t, void *buf, size_t n)
{
    (void)t, (void)buf, (void)n;
    errno = ENOTSUP;
    return -1;
}

ssize_t tlsc_write(struct tlsc *t, const void *buf, size_t n)
{
    (void)t, (void)buf, (void)n;
    errno = ENOTSUP;
    return -1;
}

bool tlsc_pending(const struct tlsc *t)
{
    (void)t;
    return false;
}

const char *tlsc_cipher(const struct tlsc *t)
{
    (void)t;
    return "";
}

void tlsc_free(struct tlsc *t) { (void)t; }
#endif
