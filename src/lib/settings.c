/* settings: the names memcached prints for them. */
#include "settings.h"

const char *config_protocol_name(enum config_protocol p)
{
    return p == CONFIG_PROTO_ASCII    ? "ascii"
           : p == CONFIG_PROTO_BINARY ? "binary"
                                      : "auto-negotiate";
}
