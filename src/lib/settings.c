/* settings: the names memcached prints for them. */
#include "settings.h"

const char *config_protocol_name(enum config_protocol p)
{
    return p == CONFIG_PROTO_ASCII    ? "ascii"
           : p == CONFIG_PROTO_BINARY ? "binary"
                                      : "auto-negotiate";
}

const char *config_tls_version_name(int v)
{
    static const char *const versions[] = {"tlsv1.0", "tlsv1.1", "tlsv1.2", "tlsv1.3"};
    return v >= 0 && v < 4 ? versions[v] : "unknown";
}
