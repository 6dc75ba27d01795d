/* proto: the memcached text protocol as a pure function over bytes.
 * No I/O, no storage: a request's tokens point into the caller's buffer. */
#ifndef MEMG_PROTO_H
#define MEMG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/protocol.h"

#define PROTO_KEY_MAX 250
#define PROTO_MAX_TOKENS 24      /* memcached's MAX_TOKENS, terminal token included */
#define PROTO_LINE_SOFT_MAX 2048 /* past this without a newline only get/gets go on */

/* proto_parse results besides "bytes consumed" (> 0). */
#define PROTO_AGAIN 0   /* incomplete: feed more bytes */
#define PROTO_CLOSE (-1) /* memcached closes the connection here (junk, HTTP) */

enum proto_cmd {
    PROTO_ERROR = 0, /* a complete line whose answer is an error (see req->error) */
    PROTO_GET, PROTO_GETS, PROTO_GAT, PROTO_GATS,
    PROTO_SET, PROTO_ADD, PROTO_REPLACE, PROTO_APPEND, PROTO_PREPEND, PROTO_CAS,
    PROTO_INCR, PROTO_DECR, PROTO_DELETE, PROTO_TOUCH,
    PROTO_FLUSH_ALL, PROTO_VERSION, PROTO_VERBOSITY, PROTO_QUIT, PROTO_SHUTDOWN,
    PROTO_STATS, PROTO_CACHE_MEMLIMIT,
    /* meta commands (meta.h reads their flags; req->keys holds the line) */
    PROTO_MG, PROTO_MS, PROTO_MD, PROTO_MA, PROTO_MN, PROTO_ME,
    /* watch, lru_crawler, slabs, lru: admin.c reads req->keys (the line) */
    PROTO_ADMIN,
    PROTO_REFRESH_CERTS, /* a build with TLS: reload the certificates */
};

/* Error answers, each exactly as memcached words it. */
enum proto_error {
    PROTO_ERR_NONE = 0,
    PROTO_ERR_UNKNOWN,      /* ERROR */
    PROTO_ERR_FORMAT,       /* CLIENT_ERROR bad command line format */
    PROTO_ERR_BAD_CHUNK,    /* CLIENT_ERROR bad data chunk */
    PROTO_ERR_DELTA,        /* CLIENT_ERROR invalid numeric delta argument */
    PROTO_ERR_EXPTIME,      /* CLIENT_ERROR invalid exptime argument */
    PROTO_ERR_DELETE_USAGE, /* CLIENT_ERROR bad command line format.  Usage: ... */
    PROTO_ERR_GET_KEY,      /* a get key too long: the format error, an empty line after it */
};

struct proto_token {
    const char *p;
    size_t len;
};

struct request {
    enum proto_cmd cmd;
    enum proto_error error;
    bool noreply;
    bool bad_chunk;          /* storage: data not followed by \r\n */
    struct proto_token key;  /* single-key commands; "get": the first key */
    struct proto_token keys; /* get family: the part of the line holding the keys;
                                meta, stats, admin: the whole line (no newline) */
    struct proto_token arg;  /* stats/shutdown: the first argument, if any */
    struct proto_token arg2; /* stats detail: the second */
    int ntokens;             /* tokens on the line, memcached's count (terminal included) */
    uint64_t flags;
    int32_t exptime;
    uint32_t vlen;           /* storage, ms: bytes of data */
    uint64_t cas;            /* cas: the unique to compare */
    uint64_t delta;          /* incr/decr */
    uint32_t level;          /* verbosity, cache_memlimit */
    const char *value;       /* storage: the data, when complete */
    size_t line_len;         /* bytes of the command line, its newline included */
    uint32_t swallow;        /* an error's data bytes to skip after the line (1.6.45) */
};

/* Parse one request from buf. Returns bytes consumed (> 0) with req filled,
 * PROTO_AGAIN, or PROTO_CLOSE. On PROTO_AGAIN after a complete storage line,
 * req->line_len > 0 and the line's fields are valid, so that the caller may
 * receive the data elsewhere (straight into its item). */
ssize_t proto_parse(struct request *req, const char *buf, size_t len);

/* memcached 1.6.45's numbers (mcmc_tokto*): digits only, a leading '-' when
 * sign, at most max characters, at most lim; the value without its sign. */
bool proto_digits(const char *p, size_t len, size_t max, bool sign, uint64_t lim, uint64_t *out,
                  bool *neg);

/* Iterate over the keys of a get-family request: true while a key is found. */
bool proto_next_key(struct proto_token *keys, struct proto_token *key);

static inline bool proto_is_storage(enum proto_cmd c) { return c >= PROTO_SET && c <= PROTO_CAS; }

/* --- the replies' pieces (reply.c) --- */

/* The reply line for an error, without \r\n. */
const char *proto_error_text(enum proto_error e);

/* Reply composers: write into out (room given), return bytes written. */
size_t proto_value_header(char *out, const char *key, size_t nkey, uint64_t flags, size_t nbytes,
                          const uint64_t *cas);
#define PROTO_VALUE_HEADER_MAX (6 + PROTO_KEY_MAX + 1 + 10 + 1 + 20 + 1 + 20 + 2)

#endif
