/* config_ext: memcached 1.6.45's -o words for its table, connections,
 * logger, slabs and LRU, with its value checks and words (memcached.c's
 * getsubopt switch). A word memg honours sets a field; a word that tunes
 * machinery memg lacks is refused with the reason, or, where memcached's
 * own tests and common command lines carry it and memg already does what
 * it asks (slabs), accepted with a one-line notice on stderr at start. */
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "config.h"
#include "lib/fmt.h"

static bool _is(const char *key, size_t klen, const char *name)
{
    return strlen(name) == klen && memcmp(key, name, klen) == 0;
}

/* atoi's reading, as memcached parses these: leading digits (after an
 * optional sign), anything after them ignored; saturates at INT_MAX. */
static int _atoi(const char *v, size_t n)
{
    size_t i = 0;
    bool neg = n > 0 && v[0] == '-';
    i += n > 0 && (v[0] == '-' || v[0] == '+');
    long long x = 0;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++)
        x = x >= INT_MAX ? INT_MAX : x * 10 + (v[i] - '0');
    x = x > INT_MAX ? INT_MAX : x;
    return (int)(neg ? -x : x);
}

/* safe_strtoul's: digits only (a trailing space allowed), in 32 bits. */
static bool _u32(const char *v, size_t n, uint32_t *out)
{
    uint64_t x = 0;
    size_t i = 0;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++)
        if ((x = x * 10 + (uint64_t)(v[i] - '0')) > UINT32_MAX)
            return false;
    if (i == 0 || (i < n && v[i] != ' '))
        return false;
    *out = (uint32_t)x;
    return true;
}

/* atof's reading, to millionths: the sign of the value and whether it is
 * above 1 are all memcached checks. */
static long long _atof_u(const char *v, size_t n)
{
    size_t i = 0;
    bool neg = n > 0 && v[0] == '-';
    i += n > 0 && (v[0] == '-' || v[0] == '+');
    long long x = 0;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++)
        x = x > LLONG_MAX / 100 ? x : x * 10 + (v[i] - '0');
    x *= 1000000;
    if (i < n && v[i] == '.')
        for (long long f = 100000; ++i < n && v[i] >= '0' && v[i] <= '9'; f /= 10)
            x += f * (v[i] - '0');
    return neg ? -x : x;
}

/* A word that needs a value and was given none: memcached's words, one of
 * two forms (NUMERIC: "Missing numeric argument for W"). */
#define NUMERIC "Missing numeric argument for "
static bool _missing(const char *val, const char *form, const char *word, char *why, size_t cap)
{
    if (val)
        return false;
    if (form)
        fmt_buf(why, cap, NUMERIC "%s", word);
    else
        fmt_buf(why, cap, "Missing %s argument", word);
    return true;
}

static int _err(char *why, size_t cap, const char *msg)
{
    fmt_buf(why, cap, "%s", msg);
    return -1;
}

/* Values memcached checks, then refused: machinery memg has not. */
static int _refused(const char *key, size_t klen, const char *val, size_t vlen, char *why,
                    size_t cap)
{
    char w[24];
    fmt_buf(w, sizeof(w), "%.*s", (int)klen, key);
    bool pct = _is(key, klen, "hot_lru_pct") || _is(key, klen, "warm_lru_pct");
    bool factor = _is(key, klen, "hot_max_factor") || _is(key, klen, "warm_max_factor");
    if ((pct || factor || _is(key, klen, "temporary_ttl")) &&
        _missing(val, NULL, w, why, cap))
        return -1;
    if (pct && (_atoi(val, vlen) < 1 || _atoi(val, vlen) >= 80)) {
        fmt_buf(why, cap, "%s must be > 1 and < 80", w);
        return -1;
    }
    if (factor && _atof_u(val, vlen) <= 0) {
        fmt_buf(why, cap, "%s must be > 0", w);
        return -1;
    }
    if (pct || factor || _is(key, klen, "lru_maintainer"))
        fmt_buf(why, cap, "%s: memg has no segmented LRU or LRU maintainer (its eviction is "
                          "S3-FIFO over segments); refused", w);
    else if (_is(key, klen, "temporary_ttl"))
        fmt_buf(why, cap, "temporary_ttl: memg has no temporary LRU (short-TTL items are "
                          "evicted like others); refused");
    return -1;
}

/* The slab words: memcached's checks, then a notice. memg has no slab
 * classes: one pool of segments serves every item size, so memory cannot
 * be stranded in a class (what reassign and automove are for), and items
 * are stored whole (slab_chunk_max's chunks do not exist). */
static int _slab(struct config *cfg, const char *key, size_t klen, const char *val,
                 size_t vlen, char *why, size_t cap)
{
    if (_is(key, klen, "slab_automove") && val) {
        int v = _atoi(val, vlen);
        if (v < 0 || v > 2)
            return _err(why, cap, "slab_automove must be between 0 and 2");
    } else if (_is(key, klen, "slab_automove_ratio")) {
        if (_missing(val, NULL, "slab_automove_ratio", why, cap))
            return -1;
        long long r = _atof_u(val, vlen);
        if (r <= 0 || r > 1000000)
            return _err(why, cap, "slab_automove_ratio must be > 0 and < 1");
    } else if (_is(key, klen, "slab_automove_window")) {
        if (_missing(val, NULL, "slab_automove_window", why, cap))
            return -1;
        int v = _atoi(val, vlen);
        if (v < 3 || v > 1800)
            return _err(why, cap, "slab_automove_window must be > 2 and < 1800");
    } else if (_is(key, klen, "slab_chunk_max")) {
        uint32_t kb;
        if (_missing(val, NULL, "slab_chunk_max", why, cap))
            return -1;
        if (!_u32(val, vlen, &kb) || kb > INT_MAX)
            return _err(why, cap, "could not parse argument to slab_chunk_max");
        if (kb == 0)
            return _err(why, cap, "slab_chunk_max must be >= 0");
        if (kb > 1024)
            return _err(why, cap, "slab_chunk_max must be specified in kilobytes.");
        cfg->slab_chunk_max = kb << 10; /* checked against -I once all are read */
    }
    cfg->slab_words = true; /* config_parse says so once all flags passed */
    return 1;
}

int config_ext_word(struct config *cfg, const char *key, size_t klen, const char *val,
                    size_t vlen, int err, char *why, size_t cap)
{
    if (_is(key, klen, "maxconns_fast") || _is(key, klen, "no_maxconns_fast")) {
        cfg->maxconns_fast = key[0] == 'm';
    } else if (_is(key, klen, "hashpower")) {
        if (_missing(val, NUMERIC, "hashpower", why, cap))
            return -1;
        int p = _atoi(val, vlen);
        if (p < 12 || p > 32) {
            fmt_buf(why, cap, "Initial hashtable multiplier of %d is too %s", p,
                    p < 12 ? "low" : "high");
            return -1;
        }
        cfg->hash_power = p;
    } else if (_is(key, klen, "no_hashexpand")) {
        cfg->no_hashexpand = true;
    } else if (_is(key, klen, "watcher_logbuf_size") || _is(key, klen, "worker_logbuf_size")) {
        char w[24];
        fmt_buf(w, sizeof(w), "%.*s", (int)klen, key);
        uint32_t kb;
        if (_missing(val, NULL, w, why, cap))
            return -1;
        if (!_u32(val, vlen, &kb) || kb > UINT32_MAX / 1024) {
            fmt_buf(why, cap, "could not parse argument to %s", w);
            return -1;
        }
        if (key[1] == 'o') /* worker_: memg's one thread writes to the watchers directly */
            return _err(why, cap, "worker_logbuf_size: memg has no per-worker log buffer (its "
                                  "one thread writes to the watchers' buffers, "
                                  "watcher_logbuf_size); refused");
        cfg->watcher_logbuf = kb * 1024;
    } else if (_is(key, klen, "sock_cookie_id")) {
        if (!val || !_u32(val, vlen, &cfg->sock_cookie_id))
            return _err(why, cap, "sock_cookie_id needs a number (the listening sockets' "
                                  "SO_MARK)");
    } else if (_is(key, klen, "modern") || _is(key, klen, "inline_ascii_resp") ||
               _is(key, klen, "no_inline_ascii_resp")) {
        return 1; /* no-ops in memcached 1.6.45 itself ("currently no new defaults") */
    } else if (_is(key, klen, "no_modern")) {
        cfg->maxconns_fast = false; /* of 1.4's defaults, the ones memg has machinery for */
        cfg->crawler = false;
    } else if (_is(key, klen, "resp_obj_mem_limit")) {
        fmt_fd(err, "DEPRECATED: resp_obj_mem_limit no longer used. See read_buf_mem_limit,\n");
    } else if (_is(key, klen, "read_buf_mem_limit")) {
        uint32_t mb;
        if (_missing(val, NULL, "read_buf_mem_limit", why, cap))
            return -1;
        if (!_u32(val, vlen, &mb) || mb > UINT32_MAX >> 20)
            return _err(why, cap, "could not parse argument to read_buf_mem_limit");
        if (mb != 0) /* 0: no limit, memcached's default and memg's */
            return _err(why, cap, "read_buf_mem_limit: memg has no limit on the connections' "
                                  "buffer memory as a whole (out_limit bounds each one's "
                                  "output); only 0 is accepted");
    } else if (_is(key, klen, "tail_repair_time")) {
        if (_missing(val, NUMERIC, "tail_repair_time", why, cap))
            return -1;
        if (_atoi(val, vlen) < 10)
            return _err(why, cap, "Cannot set tail_repair_time to less than 10 seconds");
        return _err(why, cap, "tail_repair_time: memg holds no item references that could "
                              "pin an LRU tail (nothing to repair); refused");
    } else if (_is(key, klen, "hash_algorithm")) {
        if (_missing(val, NULL, "hash_algorithm", why, cap))
            return -1;
        if (!_is(val, vlen, "jenkins") && !_is(val, vlen, "murmur3") && !_is(val, vlen, "xxh3"))
            return _err(why, cap, "Unknown hash_algorithm option (jenkins, murmur3, xxh3)");
        return _err(why, cap, "hash_algorithm: memg's table has one hash function of its "
                              "own, not selectable; refused");
    } else if (_is(key, klen, "track_sizes")) {
        cfg->track_sizes = true;
    } else if (_is(key, klen, "large_client_flags") && !val) {
        cfg->large_flags = true; /* memcached: ./configure --enable-large-client-flags */
    } else if (_is(key, klen, "debug_time") && !val) {
        cfg->debug_time = true; /* memcached: ./configure --enable-debug */
    } else if (klen > 5 && memcmp(key, "slab_", 5) == 0 && !_is(key, klen, "slab_sizes")) {
        if (!_is(key, klen, "slab_reassign") && !_is(key, klen, "slab_automove") &&
            !_is(key, klen, "slab_automove_ratio") && !_is(key, klen, "slab_automove_window") &&
            !_is(key, klen, "slab_chunk_max"))
            return 0;
        return _slab(cfg, key, klen, val, vlen, why, cap);
    } else if (_is(key, klen, "no_slab_reassign") || _is(key, klen, "no_slab_automove")) {
        return _slab(cfg, key, klen, val, vlen, why, cap);
    } else if (_is(key, klen, "no_lru_maintainer")) {
        cfg->no_lru_maintainer = true; /* memg has no maintainer to start: its lines go */
    } else if (_is(key, klen, "lru_maintainer") ||
               _is(key, klen, "hot_lru_pct") || _is(key, klen, "warm_lru_pct") ||
               _is(key, klen, "hot_max_factor") || _is(key, klen, "warm_max_factor") ||
               _is(key, klen, "temporary_ttl")) {
        return _refused(key, klen, val, vlen, why, cap);
    } else {
        return 0;
    }
    return 1;
}

bool config_ext_check(const struct config *cfg, char *why, size_t cap)
{
    uint64_t c = cfg->slab_chunk_max, i = cfg->item_size_max, page = 1u << 20;
    uint64_t table = (uint64_t)4 << cfg->hash_power; /* 4-byte slots, charged past -m/8 */
    if (c && c > i)
        fmt_buf(why, cap, "slab_chunk_max (bytes: %" PRIu64 ") cannot be larger than -I "
                "(item_size_max %" PRIu64 ")", c, i);
    else if (c && i % c)
        fmt_buf(why, cap, "-I (item_size_max: %" PRIu64 ") must be evenly divisible by "
                "slab_chunk_max (bytes: %" PRIu64 ")", i, c);
    else if (c && page % c) /* memcached's slab page: memg has none, the check stays */
        fmt_buf(why, cap, "slab_chunk_max (bytes: %" PRIu64 ") must divide evenly into "
                "%" PRIu64 " (slab_page_size)", c, page);
    else if (cfg->hash_power && table > cfg->mem_limit / 2)
        fmt_buf(why, cap, "hashpower=%d: its table (%" PRIu64 " MB) would take more than half "
                "of -m %" PRIu64 " (memg charges the table beyond an eighth of -m)", cfg->hash_power,
                table >> 20, cfg->mem_limit >> 20);
    else
        return true;
    return false;
}
