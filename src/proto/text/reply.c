/* reply: the text protocol's reply pieces (proto.h): error lines and the
 * VALUE header, written into room the caller has. */
#include "proto.h"

#include <string.h>

#include "lib/fmt.h"
#include "lib/mem.h"

const char *proto_error_text(enum proto_error e)
{
    switch (e) {
    case PROTO_ERR_NONE:
        return "";
    case PROTO_ERR_UNKNOWN:
        return "ERROR";
    case PROTO_ERR_FORMAT:
        return "CLIENT_ERROR bad command line format";
    case PROTO_ERR_GET_KEY: /* 1.6.45 ends this one twice */
        return "CLIENT_ERROR bad command line format\r\n";
    case PROTO_ERR_BAD_CHUNK:
        return "CLIENT_ERROR bad data chunk";
    case PROTO_ERR_DELTA:
        return "CLIENT_ERROR invalid numeric delta argument";
    case PROTO_ERR_EXPTIME:
        return "CLIENT_ERROR invalid exptime argument";
    case PROTO_ERR_DELETE_USAGE:
        return "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]";
    }
    return "ERROR";
}

size_t proto_value_header(char *out, const char *key, size_t nkey, uint64_t flags, size_t nbytes,
                          const uint64_t *cas)
{
    char *p = out;
    memcpy(p, "VALUE ", 6);
    p += 6;
    mem_copy(p, key, nkey);
    p += nkey;
    *p++ = ' ';
    p += fmt_u64(p, flags);
    *p++ = ' ';
    p += fmt_u64(p, nbytes);
    if (cas) {
        *p++ = ' ';
        p += fmt_u64(p, *cas);
    }
    *p++ = '\r';
    *p++ = '\n';
    return (size_t)(p - out);
}
