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
    bool heavy; /* sizes: the heavy-tailed mix (kv_vlen), vmax KV_HEAVY_BIG */
};

#define KV_HEAVY_BIG 102400

/* False (with a message in err) when the sizes cannot hold the key space. */
bool kv_setup(struct kv_spec *s, uint32_t nkeys, unsigned kmin, unsigned kmax, uint32_t vmin,
              uint32_t vmax, char *err, size_t errlen);
void kv_teardown(struct kv_spec *s);
uint64_t kv_hash(uint32_t idx);
/* Write the key of idx into out (KV_KEY_MAX bytes); returns its length. */
unsigned kv_key(const struct kv_spec *s, uint32_t idx, char *out);
uint32_t kv_vlen(const struct kv_spec *s, uint32_t idx);
/* Each key's client flags: hashed from idx, or kv_flags_fixed when >= 0. */
extern int64_t kv_flags_fixed;
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
    REPLY_DONE,      /* DELETED, or a number (incr, decr) */
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

/* ---- the binary protocol ----
 * Every unit is a 24-byte header (magic, opcode, key length, extras length,
 * data type, vbucket or status, body length, opaque, cas; big-endian) and a
 * body of extras, key and value. Requests carry magic 0x80, replies 0x81;
 * the opaque of a request comes back in its reply. A quiet get (GETQ) says
 * nothing on a miss, so a batch of them ends with a NOOP, whose reply closes
 * the batch: every GETQ before it that got no reply was a miss. */
#define BIN_REQ_MAGIC 0x80
#define BIN_RES_MAGIC 0x81
#define BIN_HDR 24

enum bin_op {
    BIN_GET = 0x00,
    BIN_SET = 0x01,
    BIN_FLUSH = 0x08,
    BIN_GETQ = 0x09,
    BIN_NOOP = 0x0a,
    BIN_VERSION = 0x0b,
};

enum bin_status {
    BIN_OK = 0x0000,
    BIN_KEY_ENOENT = 0x0001,
    BIN_KEY_EEXISTS = 0x0002,
    BIN_NOT_STORED = 0x0005,
};

/* Compose requests at out: a SET of idx (flags in its extras, exptime 0;
 * BIN_HDR + 8 + key + value bytes), a GET or GETQ of idx (BIN_HDR + key),
 * a request with no body (NOOP, FLUSH, VERSION: BIN_HDR). Return the length. */
size_t bin_set(const struct kv_spec *s, uint32_t idx, uint32_t opaque, char *out);
size_t bin_get(const struct kv_spec *s, uint32_t idx, uint8_t op, uint32_t opaque, char *out);
size_t bin_simple(uint8_t op, uint32_t opaque, char *out);

enum bin_kind {
    BIN_AGAIN, /* the unit is not complete yet */
    BIN_UNIT,  /* one reply: header fields below, body in place */
    BIN_BAD,   /* not a reply unit (magic, lengths): the stream is lost */
};

struct bin_reply {
    enum bin_kind kind;
    size_t consumed; /* BIN_HDR + body_len (0 for AGAIN) */
    uint8_t opcode, extlen, datatype;
    uint16_t keylen, status;
    uint32_t body_len, opaque;
    uint64_t cas;
    uint32_t flags;    /* the extras when they are 4 bytes (a get hit) */
    const char *value; /* after extras and key */
    size_t value_len;
    const char *why;   /* BAD only */
};

/* Parse one reply unit at buf; a body longer than max_body is BAD. */
enum bin_kind bin_parse(struct bin_reply *r, const char *buf, size_t len, size_t max_body);

enum bin_verdict {
    BV_OK,          /* SET stored, NOOP, FLUSH, VERSION */
    BV_HIT,         /* a get's value, flags and bytes right */
    BV_MISS,        /* GET: key not found */
    BV_NOT_STORED,  /* SET: not stored, exists, not found */
    BV_ERROR,       /* any other non-zero status */
    BV_WRONG_VALUE, /* a hit whose flags, length or bytes are not the key's */
    BV_BAD,         /* a reply no server may send to this request (*why) */
};

/* Check a reply against the request it answers (matched by opaque): its
 * opcode op, and for a get the key index idx. */
enum bin_verdict bin_check(const struct kv_spec *s, const struct bin_reply *r, uint8_t op,
                           uint32_t idx, const char **why);

/* ---- the meta commands ----
 * Gets go out as "mg <key> v k" (with q when batched: a miss says nothing,
 * the batch ends with "mn", answered "MN"); sets as "ms <key> <len> F<flags>",
 * answered HD. Replies come in request order; a hit names its key (k). */
size_t meta_get(const struct kv_spec *s, uint32_t idx, bool quiet, char *out);
size_t meta_set(const struct kv_spec *s, uint32_t idx, char *out);
#define META_GET_MAX (3 + KV_KEY_MAX + 10)
#define META_SET_MAX (3 + KV_KEY_MAX + 32)

enum meta_kind {
    META_AGAIN,  /* the unit is not complete yet */
    META_VALUE,  /* VA <len> k<key>\r\n<data>\r\n */
    META_HD,     /* HD: stored */
    META_EN,     /* EN: a miss (unquiet get) */
    META_MN,     /* MN: the batch is over */
    META_NOT,    /* NS, EX, NF */
    META_ERROR,  /* ERROR, CLIENT_ERROR, SERVER_ERROR */
    META_BAD,    /* anything else: the stream can no longer be trusted */
};

/* One meta reply unit; a VALUE is returned as a struct reply (VALUE kind,
 * flags left 0: the bench does not ask for them) in *v. */
enum meta_kind meta_parse(struct reply *v, const char *buf, size_t len, size_t max_line,
                          size_t max_value);

#endif
