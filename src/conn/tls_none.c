/* tls_none: the TLS entry points of a build without OpenSSL (make without
 * TLS=1). -Z stops the server at start with the reason. */
#include "tls.h"

#include "lib/fmt.h"

const bool tls_compiled = false;

bool tls_setup(const struct config_tls *cfg, struct stats *stats, char *err, size_t cap)
{
    (void)cfg;
    (void)stats;
    fmt_buf(err, cap, "-Z: this memg was built without TLS; build it with `make TLS=1`");
    return false;
}

void tls_teardown(void) {}

struct transport *tls_transport_new(int fd, int verify)
{
    (void)fd;
    (void)verify;
    return NULL;
}

bool tls_refresh_certs(char *err, size_t cap)
{
    fmt_buf(err, cap, "ERROR\r\n");
    return false;
}

int64_t tls_cert_time(void) { return 0; }
