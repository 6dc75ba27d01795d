/* meta: the flags of memcached's meta commands (mg ms md ma me mn) as a
 * pure function over a request line; no I/O, no storage. text_meta.c runs
 * the commands; this decides what a line asks and which error it earns. */
#ifndef MEMG_META_H
#define MEMG_META_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

#define META_OPT_MAX 20    /* memcached's MFLAG_MAX_OPT_LENGTH: tokens on the line, terminal included */
#define META_OPAQUE_MAX 32 /* bytes of an O token */
#define META_TOK_MAX (PROTO_MAX_TOKENS - 1)

/* A flag letter's bit in meta_req.seen. */
#define META_F(c) ((uint64_t)1 << ((c) >= 'a' ? (c) - 'a' + 26 : (c) - 'A'))

struct meta_req {
    struct proto_token tok[META_TOK_MAX]; /* tok[0] the command, tok[1] the key */
    int ntok;               /* real tokens (memcached's ntokens - 1) */
    int first;              /* the first flag token: 2, or 3 for ms */
    bool bad_start;         /* a token from the third on starts with neither a digit nor
                               'A'..'z': 1.6.45's tokenizer makes the line a format error */
    uint64_t seen;          /* META_F of each flag present */
    const char *key;        /* the key to look up: tok[1], or keybuf when 'b' */
    size_t nkey;
    char mode;              /* M: the first character of its token, 0 when absent */
    int32_t ttl;            /* T, protocol exptime */
    int32_t vivify_ttl;     /* N */
    int32_t recache_ttl;    /* R */
    uint64_t client_flags;  /* F: 32 bits unless -o large_client_flags */
    uint64_t cas_cmp;       /* C: compare */
    uint64_t cas_new;       /* E: the cas to give */
    uint64_t delta;         /* D, 1 when absent */
    uint64_t initial;       /* J */
    const char *err;        /* the reply line when parsing failed */
    char keybuf[PROTO_KEY_MAX];
};

/* Split line[0..n) (the command line without its newline) as memcached's
 * tokenizer does: single spaces, at most META_TOK_MAX real tokens (1.6.45
 * looks at no byte of the rest: a bad start there is "too long"). */
void meta_tokenize(struct meta_req *m, const char *line, size_t n);
/* The same when the parser found the key already (request.key): the line
 * starts with the two-byte command, key is its second token, and only what
 * follows the key is split again. */
void meta_tokenize_from_key(struct meta_req *m, const char *line, size_t n, struct proto_token key);
/* memcached's ntokens for the line: real tokens + the terminal one. */
static inline int meta_ntokens(const struct meta_req *m) { return m->ntok + 1; }

/* Read the flags from token `first` on (memcached's _meta_flag_preparse,
 * current release: E and x are known). False with m->err set. */
bool meta_parse_flags(struct meta_req *m, int first);

static inline bool meta_has(const struct meta_req *m, char c) { return (m->seen & META_F(c)) != 0; }

#endif
