/* reply: the bench's side of the memcached text protocol. Keys and values
 * are derived from a key index, so every reply can be checked: the key
 * names an index, the flags, length and bytes of its value follow from it.
 * The reply parser is pure (buffer, length) -> one unit, like memg's own. */
#ifndef MEMG_BENCH_REPLY_H
#define MEMG_BENCH_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KV_KEY_MAX 250

/* The key space: nkeys keys of kmin..kmax bytes ("k" + zero-padded index),
 * values of vmin..vmax bytes (the key, then a pattern shifted per key). */
struct kv_spec {
    uint32_t nkeys;
    unsigned kmin, kmax;
    uint32_t vmin, vmax;
    char *pat; /* vmax + 64 pattern bytes */
};

/* False (with a message in err) when the sizes cannot hold the key space. */
bool kv_setup(struct kv_spec *s, uint32_t nkeys, unsigned kmin, unsigned kmax, uint32_t vmin,
              uint32_t vmax, char *err, size_t errlen);
void kv_teardown(struct kv_spec *s);
uint64_t kv_hash(uint32_t idx);
/* Write the key of idx into out (KV_KEY_MAX bytes); returns its length. */
unsigned kv_key(const struct kv_spec *s, uint32_t idx, char *out);
uint32_t kv_vlen(const struct kv_spec *s, uint32_t idx);
uint32_t kv_flags(uint32_t idx);
/* Write the value of idx (kv_vlen bytes) into out. */
void kv_value(const struct kv_spec *s, uint32_t idx, char *out);
/* Parse a key back to its index; false when it is not a key of this space. */
bool kv_parse_key(const struct kv_spec *s, const char *key, size_t klen, uint32_t *idx);

enum reply_kind {
    REPLY_AGAIN,     /* the unit is not complete yet */
    REPLY_STORED,    /* STORED\r\n */
    REPLY_NOT_STORED,/* NOT_STORED, EXISTS, NOT_FOUND */
    REPLY_VALUE,     /* VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\n */
    REPLY_END,       /* END\r\n */
    REPLY_ERROR,     /* ERROR[ ...], CLIENT_ERROR ..., SERVER_ERROR ... */
    REPLY_BAD,       /* anything else: the stream can no longer be trusted */
};

struct reply {
    enum reply_kind kind;
    size_t consumed;  /* bytes of the unit (0 for AGAIN) */
    const char *line; /* first line, without \r\n */
    size_t line_len;
    const char *key;  /* VALUE only: */
    size_t key_len;
    uint32_t flags;
    size_t data_len;
    const char *data;
    const char *why;  /* BAD only: what was wrong */
};

/* Parse one reply unit at buf. A line longer than max_line without \r\n,
 * or a VALUE whose data is longer than max_value, is BAD. */
enum reply_kind reply_parse(struct reply *r, const char *buf, size_t len, size_t max_line,
                            size_t max_value);

enum check {
    CHECK_OK,
    CHECK_WRONG_KEY,   /* not one of the keys asked, or out of order */
    CHECK_WRONG_VALUE, /* flags, length or bytes differ from the key's value */
};

/* Check one VALUE of a get of keys[0..n): it must name keys[*cursor..] (the
 * server answers in request order, skipping misses); *cursor moves past it. */
enum check reply_check_value(const struct kv_spec *s, const struct reply *r,
                             const uint32_t *keys, unsigned n, unsigned *cursor);

#endif
