/* tls: the server's TLS context (certificates, verification, versions, as
 * memcached's -Z and -o ssl_* set them) and the TLS transport a connection
 * accepted on a TLS listener reads and writes through. One context per
 * process, as memcached's. A build without TLS=1 links tls_none.c: -Z then
 * stops the server at start, saying why. */
#ifndef MEMG_TLS_H
#define MEMG_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config_tls;
struct stats;
struct transport;

/* True in a build with TLS (make TLS=1). */
extern const bool tls_compiled;

/* Load the certificates and settings; false with err (one line) when they
 * cannot be. Counts handshake errors and new sessions in stats. */
bool tls_setup(const struct config_tls *cfg, struct stats *stats, char *err, size_t cap);
void tls_teardown(void);
/* A connection's TLS transport over the socket fd (server side); NULL when
 * out of memory. verify: the listener's client-certificate rule as an
 * ssl_verify_mode (-l btls: 0, mtls: 2), -1 for the context's. conn frees
 * it (transport_free). */
struct transport *tls_transport_new(int fd, int verify);
/* `refresh_certs`: reload the chain, key and CA files into the context
 * (new connections get them). false with memcached's error line in err
 * ("Error loading the key: PATH : ...\r\n"). */
bool tls_refresh_certs(char *err, size_t cap);
/* When the certificates were last loaded (unix time); 0 without TLS. */
int64_t tls_cert_time(void);

#endif
