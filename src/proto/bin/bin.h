/* bin: memcached's binary protocol (deprecated in memcached 1.6, still
 * served) on the protocol interface: 24-byte headers, opcodes, statuses and
 * SASL PLAIN, answered as memcached 1.6.18 answers them. */
#ifndef MEMG_BIN_H
#define MEMG_BIN_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/protocol.h"

#define BIN_HEADER_LEN 24
#define BIN_REQ_MAGIC 0x80
#define BIN_RES_MAGIC 0x81

enum bin_opcode {
    BIN_GET = 0x00, BIN_SET = 0x01, BIN_ADD = 0x02, BIN_REPLACE = 0x03, BIN_DELETE = 0x04,
    BIN_INCREMENT = 0x05, BIN_DECREMENT = 0x06, BIN_QUIT = 0x07, BIN_FLUSH = 0x08,
    BIN_GETQ = 0x09, BIN_NOOP = 0x0a, BIN_VERSION = 0x0b, BIN_GETK = 0x0c, BIN_GETKQ = 0x0d,
    BIN_APPEND = 0x0e, BIN_PREPEND = 0x0f, BIN_STAT = 0x10, BIN_SETQ = 0x11, BIN_ADDQ = 0x12,
    BIN_REPLACEQ = 0x13, BIN_DELETEQ = 0x14, BIN_INCREMENTQ = 0x15, BIN_DECREMENTQ = 0x16,
    BIN_QUITQ = 0x17, BIN_FLUSHQ = 0x18, BIN_APPENDQ = 0x19, BIN_PREPENDQ = 0x1a,
    BIN_VERBOSITY = 0x1b, BIN_TOUCH = 0x1c, BIN_GAT = 0x1d, BIN_GATQ = 0x1e,
    BIN_SASL_LIST_MECHS = 0x20, BIN_SASL_AUTH = 0x21, BIN_SASL_STEP = 0x22,
    BIN_GATK = 0x23, BIN_GATKQ = 0x24,
};

enum bin_status {
    BIN_OK = 0x00, BIN_KEY_ENOENT = 0x01, BIN_KEY_EEXISTS = 0x02, BIN_E2BIG = 0x03,
    BIN_EINVAL = 0x04, BIN_NOT_STORED = 0x05, BIN_DELTA_BADVAL = 0x06, BIN_AUTH_ERROR = 0x20,
    BIN_AUTH_CONTINUE = 0x21, BIN_UNKNOWN_COMMAND = 0x81, BIN_ENOMEM = 0x82,
};

/* A request header, byte order resolved. */
struct bin_header {
    uint8_t magic, opcode, extlen, datatype;
    uint16_t keylen, vbucket;
    uint32_t bodylen, opaque;
    uint64_t cas;
};

/* Decode the first BIN_HEADER_LEN bytes of p. */
void bin_header_decode(const unsigned char *p, struct bin_header *h);
/* The non-quiet opcode of a quiet one (GETQ -> GET, ...); others unchanged.
 * *quiet tells whether it was quiet. */
uint8_t bin_unquiet(uint8_t opcode, bool *quiet);
/* The text memcached sends with an error status. */
const char *bin_status_text(enum bin_status st);

#endif
