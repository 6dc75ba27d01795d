/* tls_ctx: what tls_ctx.c (the context) shares with transport_tls.c (the
 * connections). Private to the TLS build. */
#ifndef MEMG_TLS_CTX_H
#define MEMG_TLS_CTX_H

#include <openssl/ssl.h>

extern SSL_CTX *tls_ctx;        /* NULL until tls_setup */
extern struct stats *tls_stats; /* ssl_handshake_errors, ssl_new_sessions */
extern bool tls_kernel;         /* ssl_kernel_tls: OpenSSL's socket BIO, for kTLS */

/* Free what the connections' side keeps for all (its BIO method). */
void tls_transport_teardown(void);

#endif
