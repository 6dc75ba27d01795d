/* tls_ctx: what tls_ctx.c (the context) shares with transport_tls.c (the
 * connections). Private to the TLS build. */
#ifndef MEMG_TLS_CTX_H
#define MEMG_TLS_CTX_H

#include <openssl/ssl.h>

extern SSL_CTX *tls_ctx;        /* NULL until tls_setup */
extern struct stats *tls_stats; /* ssl_handshake_errors, ssl_new_sessions */
extern bool tls_kernel;         /* ssl_kernel_tls: OpenSSL's socket BIO, for kTLS */

/* OpenSSL's SSL_VERIFY_* flags of an ssl_verify_mode (0..3). */
int tls_verify_flags(int mode);
/* The connections' side: a write gathers at most wbuf bytes (ssl_wbuf_size). */
bool tls_transport_setup(size_t wbuf);
/* Free what the connections' side keeps for all (its BIO method, buffer). */
void tls_transport_teardown(void);

#endif
