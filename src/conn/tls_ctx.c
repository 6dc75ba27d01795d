/* tls_ctx: the server's SSL_CTX from -Z and -o ssl_*, memcached's settings
 * with memcached's meanings and error words; `refresh_certs` reloads its
 * files. */
#include "tls.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "lib/settings.h"
#include "lib/fmt.h"
#include "lib/stats.h"
#include "tls_ctx.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

const bool tls_compiled = true;
SSL_CTX *tls_ctx;
struct stats *tls_stats;
bool tls_kernel;

static const struct config_tls *_cfg;
static int64_t _cert_time;

/* OpenSSL's first queued error as text (the queue is then cleared). */
static void _ssl_error(char *dst, size_t cap)
{
    unsigned long e = ERR_peek_error();
    if (e)
        ERR_error_string_n(e, dst, cap);
    else
        fmt_buf(dst, cap, "%s", strerror(errno));
    ERR_clear_error();
}

/* The chain, key and CAs into the context; memcached's words on failure. */
static bool _load(char *err, size_t cap)
{
    char why[256];
    const struct config_tls *t = _cfg;
    ERR_clear_error();
    if (!SSL_CTX_use_certificate_chain_file(tls_ctx, t->chain_cert ? t->chain_cert : "")) {
        _ssl_error(why, sizeof(why));
        fmt_buf(err, cap, "Error loading the certificate chain: %s : %s\r\n",
                t->chain_cert ? t->chain_cert : "(null)", why);
        return false;
    }
    if (!SSL_CTX_use_PrivateKey_file(tls_ctx, t->key ? t->key : "", SSL_FILETYPE_PEM)) {
        _ssl_error(why, sizeof(why));
        fmt_buf(err, cap, "Error loading the key: %s : %s\r\n", t->key ? t->key : "(null)", why);
        return false;
    }
    if (!SSL_CTX_check_private_key(tls_ctx)) {
        _ssl_error(why, sizeof(why));
        fmt_buf(err, cap, "Error validating the certificate: %s\r\n", why);
        return false;
    }
    if (t->ca_cert) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->ca_cert);
        if (!names || !SSL_CTX_load_verify_locations(tls_ctx, t->ca_cert, NULL)) {
            _ssl_error(why, sizeof(why));
            fmt_buf(err, cap, "Error loading the CA certificate: %s : %s\r\n", t->ca_cert, why);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            return false;
        }
        SSL_CTX_set_client_CA_list(tls_ctx, names); /* the context owns names now */
    }
    _cert_time = (int64_t)time(NULL);
    return true;
}

/* kTLS is the kernel's "tls" upper layer protocol: ENOENT when the kernel
 * has none (CONFIG_TLS off), ENOTCONN on an unconnected socket when it has. */
static bool _kernel_has_tls(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    int r = setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"));
    bool has = r == 0 || errno != ENOENT;
    close(fd);
    return has;
}

static int _new_session(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl;
    (void)sess;
    tls_stats->ssl_new_sessions++;
    return 0; /* the cache keeps its own reference */
}

static const int _proto_versions[] = {TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION,
                                      TLS1_3_VERSION};

int tls_verify_flags(int mode)
{
    static const int verify[] = {
        SSL_VERIFY_NONE, SSL_VERIFY_PEER, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
        SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE};
    return verify[mode];
}

bool tls_setup(const struct config_tls *cfg, struct stats *stats, char *err, size_t cap)
{
    _cfg = cfg;
    tls_stats = stats;
    tls_kernel = cfg->kernel_tls;
    if (cfg->kernel_tls && !_kernel_has_tls()) {
        fmt_buf(err, cap, "-o ssl_kernel_tls: this kernel has no kernel TLS (the TCP \"tls\" "
                          "upper layer is missing: CONFIG_TLS); start without it");
        return false;
    }
    if (!tls_transport_setup(cfg->wbuf_size)) {
        fmt_buf(err, cap, "ssl_wbuf_size: cannot allocate %u bytes", (unsigned)cfg->wbuf_size);
        return false;
    }
    if (!(tls_ctx = SSL_CTX_new(TLS_server_method()))) {
        fmt_buf(err, cap, "TLS: cannot create the context");
        return false;
    }
    SSL_CTX_set_min_proto_version(tls_ctx, _proto_versions[cfg->min_version]);
    /* No renegotiation (a client could make the server redo a handshake's
     * work at will); partial writes from a buffer that may move: out's. */
    SSL_CTX_set_options(tls_ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                      (cfg->kernel_tls ? SSL_OP_ENABLE_KTLS : 0));
    /* No SSL_MODE_RELEASE_BUFFERS: it frees and reallocates the read and
     * write buffers (16 KB each) on every record, 0.7K of 16K instructions
     * per unpipelined request; the sweep frees an idle connection's instead
     * (conn_sweep_tls: 15 KB of OpenSSL's state left, not 31 KB). */
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Read what the socket holds at once: pipelined requests cost one read. */
    SSL_CTX_set_read_ahead(tls_ctx, 1);
    SSL_CTX_set_verify(tls_ctx, tls_verify_flags(cfg->verify_mode), NULL);
    if (cfg->ciphers && !SSL_CTX_set_cipher_list(tls_ctx, cfg->ciphers)) {
        fmt_buf(err, cap, "Error setting the provided cipher(s): %s", cfg->ciphers);
        return false;
    }
    if (cfg->session_cache) {
        static const unsigned char id[] = "memcached";
        SSL_CTX_sess_set_new_cb(tls_ctx, _new_session);
        SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_set_session_id_context(tls_ctx, id, sizeof(id) - 1);
    } else {
        SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
    }
    if (!_load(err, cap)) {
        size_t n = strlen(err); /* one line on stderr, not the wire's \r\n */
        if (n >= 2 && err[n - 2] == '\r')
            err[n - 2] = '\0';
        return false;
    }
    return true;
}

void tls_teardown(void)
{
    SSL_CTX_free(tls_ctx);
    tls_ctx = NULL;
    tls_transport_teardown();
}

bool tls_refresh_certs(char *err, size_t cap)
{
    if (!tls_ctx) {
        fmt_buf(err, cap, "Error TLS not enabled\r\n");
        return false;
    }
    return _load(err, cap);
}

int64_t tls_cert_time(void) { return tls_ctx ? _cert_time : 0; }
