/* text: memcached's text protocol on the protocol interface (protocol.h):
 * requests parsed by proto.c, their meaning in ops.c, text replies here;
 * and -Y's login, a first `set` whose data is "user password". */
#ifndef MEMG_TEXT_H
#define MEMG_TEXT_H

#include "proto/protocol.h"

/* Lines of a -Y login at most (memcached closes past 2 KB with no newline). */
#define TEXT_AUTH_LINE_MAX 2048
#define TEXT_AUTH_TOKEN_MAX 16384 /* -Y: a longer "user password" is refused (memcached 1.6.45) */

#endif
