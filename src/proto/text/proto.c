/* proto: tokenizer, command table and number rules of memcached's text
 * protocol, matching memcached 1.6's answers; plus reply composers. */
#include "proto.h"

#include <string.h>

#include "lib/mem.h"

#define TOK_MAX (PROTO_MAX_TOKENS - 1) /* real tokens; memcached counts one more */

struct line {
    struct proto_token tok[TOK_MAX];
    int n;            /* real tokens (memcached's ntokens - 1) */
    const char *rest; /* where tokenizing stopped when the line had too many */
    const char *end;
};

static bool _isspace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* memcached's tokenizer: split on single spaces, collapse runs, at most
 * TOK_MAX tokens; what is left stays unsplit (only get uses it). */
static void _tokenize(struct line *l, const char *p, const char *end)
{
    l->n = 0;
    l->rest = NULL;
    l->end = end;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        if (l->n == TOK_MAX) {
            l->rest = p;
            break;
        }
        const char *s = p;
        while (p < end && *p != ' ')
            p++;
        l->tok[l->n++] = (struct proto_token){s, (size_t)(p - s)};
    }
}

static bool _is_n(const struct proto_token *t, const char *word, size_t n)
{
    return t->len == n && mem_equal(t->p, word, n);
}

/* Words are literals: their lengths are known when compiling. */
#define IS_WORD(t, lit) _is_n((t), "" lit, sizeof(lit) - 1)

/* Digits as strtoull reads them: leading white space, a sign, base 10.
 * False when there are no digits, on overflow, or when something other
 * than white space follows (memcached's safe_strto* rules). */
static bool _strtou64(const struct proto_token *t, uint64_t *out, bool *neg)
{
    const char *p = t->p, *end = t->p + t->len;
    while (p < end && _isspace(*p))
        p++;
    *neg = false;
    if (p < end && (*p == '+' || *p == '-'))
        *neg = *p++ == '-';
    const char *digits = p;
    uint64_t v = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false; /* ERANGE */
        v = v * 10 + d;
    }
    if (p == digits || (p < end && !_isspace(*p)))
        return false;
    *out = *neg ? (uint64_t)0 - v : v;
    return true;
}

/* safe_strtoull: a '-' that makes the value look negative is refused. */
static bool _parse_u64(const struct proto_token *t, uint64_t *out)
{
    bool neg;
    if (!_strtou64(t, out, &neg))
        return false;
    return !(neg && (int64_t)*out < 0);
}

/* Flags: 32 bits (64 with large_client_flags). memcached's 32-bit build
 * truncates larger values; memg refuses them. */
static bool _parse_flags(const struct proto_token *t, uint64_t *out)
{
    return _parse_u64(t, out) && *out <= proto_flags_max;
}

/* A signed number in the range of a 64-bit long (strtol's ERANGE). */
static bool _parse_long(const struct proto_token *t, int64_t *out)
{
    uint64_t v;
    bool neg;
    if (!_strtou64(t, &v, &neg))
        return false;
    int64_t s = (int64_t)v;
    if (neg ? s > 0 : s < 0)
        return false; /* beyond a long: ERANGE */
    *out = s;
    return true;
}

/* Exptimes: memcached's safe_strtol reads a long and keeps its low 32 bits,
 * so clients that send -1 as 4294967295 get "already expired". */
static bool _parse_exptime(const struct proto_token *t, int32_t *out)
{
    int64_t v;
    if (!_parse_long(t, &v))
        return false;
    *out = (int32_t)(uint32_t)(uint64_t)v;
    return true;
}

/* memcached 1.6.45's token numbers (mcmc_tokto*): digits only, a leading
 * '-' where signed, at most 11 characters (22 for 64 bits), no white space. */
bool proto_digits(const char *p, size_t len, size_t max, bool sign, uint64_t lim, uint64_t *out,
                  bool *neg)
{
    const char *end = p + len;
    if (len > max)
        return false;
    *neg = sign && p < end && *p == '-';
    p += *neg;
    uint64_t v = 0;
    for (; p < end; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d > 9 || v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool _tok_i32(const struct proto_token *t, int32_t *out)
{
    uint64_t v;
    bool neg;
    if (!proto_digits(t->p, t->len, 11, true, (uint64_t)INT32_MAX + 1, &v, &neg) ||
        (!neg && v > INT32_MAX))
        return false;
    *out = neg ? (int32_t)(0 - v) : (int32_t)v;
    return true;
}

static bool _tok_u32(const struct proto_token *t, uint32_t *out)
{
    uint64_t v;
    bool neg;
    if (!proto_digits(t->p, t->len, 11, false, UINT32_MAX, &v, &neg))
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool _tok_u64(const struct proto_token *t, uint64_t *out)
{
    bool neg;
    return proto_digits(t->p, t->len, 22, false, UINT64_MAX, out, &neg);
}

/* The last real token is "noreply" (memcached's set_noreply_maybe). */
static bool _noreply(const struct line *l)
{
    return l->n > 0 && IS_WORD(&l->tok[l->n - 1], "noreply");
}

static ssize_t _error(struct request *req, enum proto_error e)
{
    req->cmd = PROTO_ERROR;
    req->error = e;
    return (ssize_t)req->line_len;
}

/* Key-length check of every key; the first key too long fails the line. */
static bool _keys_ok(struct proto_token keys)
{
    struct proto_token k;
    while (proto_next_key(&keys, &k))
        if (k.len > PROTO_KEY_MAX)
            return false;
    return true;
}

static ssize_t _get(struct request *req, const struct line *l, bool touch)
{
    int first = touch ? 2 : 1;
    if (l->n < first + 1)
        return _error(req, PROTO_ERR_FORMAT);
    if (touch && !_tok_i32(&l->tok[1], &req->exptime))
        return _error(req, PROTO_ERR_EXPTIME);
    const char *start = l->tok[first].p;
    req->keys = (struct proto_token){start, (size_t)(l->end - start)};
    if (!_keys_ok(req->keys))
        return _error(req, PROTO_ERR_GET_KEY);
    return (ssize_t)req->line_len;
}

/* "get <keys>", the line a pipelined read is mostly made of: one pass over
 * the keys checks their lengths, without the tokenizer and the command table
 * (what _tokenize, _lookup and _get would decide for it). */
static ssize_t _get_line(struct request *req, const char *k, const char *end)
{
    req->cmd = PROTO_GET;
    req->keys = (struct proto_token){k, (size_t)(end - k)};
    req->ntokens = 3; /* at least; no get reads it */
    const char *first = k;
    k = mem_find(k, ' ', (size_t)(end - k));
    k = k ? k : end;
    req->key = (struct proto_token){first, (size_t)(k - first)}; /* all of keys when one */
    for (const char *s = first;;) {
        if (k - s > PROTO_KEY_MAX)
            return _error(req, PROTO_ERR_GET_KEY);
        while (k < end && *k == ' ')
            k++;
        if (k == end)
            break;
        s = k;
        k = mem_find(k, ' ', (size_t)(end - k));
        k = k ? k : end;
    }
    return (ssize_t)req->line_len;
}

static ssize_t _storage(struct request *req, const struct line *l, const char *data, size_t avail)
{
    bool cas = req->cmd == PROTO_CAS;
    int32_t vlen;
    /* A line whose data length cannot be read frames nothing: no data is
     * skipped. Extra tokens are ignored; noreply is the last one. */
    if (l->n < 5 || !_tok_i32(&l->tok[4], &vlen) || vlen < 0 || vlen > INT32_MAX - 2)
        return _error(req, PROTO_ERR_FORMAT);
    req->noreply = _noreply(l);
    req->key = l->tok[1];
    req->vlen = (uint32_t)vlen;
    if (req->key.len > PROTO_KEY_MAX || !_parse_flags(&l->tok[2], &req->flags) ||
        !_parse_exptime(&l->tok[3], &req->exptime) ||
        (cas && (l->n < 6 || !_tok_u64(&l->tok[5], &req->cas)))) {
        req->swallow = (uint32_t)vlen + 2; /* its data is skipped after the error */
        return _error(req, PROTO_ERR_FORMAT);
    }
    if (avail < (size_t)vlen + 2)
        return PROTO_AGAIN; /* line known, data still coming */
    req->value = data;
    req->bad_chunk = data[vlen] != '\r' || data[vlen + 1] != '\n';
    return (ssize_t)(req->line_len + (size_t)vlen + 2);
}

static ssize_t _arith(struct request *req, const struct line *l)
{
    if (l->n < 3)
        return _error(req, PROTO_ERR_FORMAT);
    req->noreply = _noreply(l);
    req->key = l->tok[1];
    if (req->key.len > PROTO_KEY_MAX)
        return _error(req, PROTO_ERR_FORMAT);
    if (!_tok_u64(&l->tok[2], &req->delta))
        return _error(req, PROTO_ERR_DELTA);
    return (ssize_t)req->line_len;
}

static ssize_t _delete(struct request *req, const struct line *l)
{
    if (l->n < 2)
        return _error(req, PROTO_ERR_FORMAT);
    req->noreply = _noreply(l); /* whatever else follows the key is ignored */
    req->key = l->tok[1];
    if (req->key.len > PROTO_KEY_MAX)
        return _error(req, PROTO_ERR_FORMAT);
    return (ssize_t)req->line_len;
}

static ssize_t _touch(struct request *req, const struct line *l)
{
    if (l->n < 3)
        return _error(req, PROTO_ERR_FORMAT);
    req->noreply = _noreply(l);
    req->key = l->tok[1];
    if (req->key.len > PROTO_KEY_MAX)
        return _error(req, PROTO_ERR_FORMAT);
    if (!_tok_i32(&l->tok[2], &req->exptime))
        return _error(req, PROTO_ERR_EXPTIME);
    return (ssize_t)req->line_len;
}

static ssize_t _flush_all(struct request *req, const struct line *l)
{
    req->noreply = _noreply(l);
    req->exptime = 0;
    if (l->n != (req->noreply ? 2 : 1) && !_tok_i32(&l->tok[1], &req->exptime))
        return _error(req, PROTO_ERR_EXPTIME);
    return (ssize_t)req->line_len;
}

static ssize_t _verbosity(struct request *req, const struct line *l)
{
    req->noreply = _noreply(l);
    if (l->n < 2 || !_tok_u32(&l->tok[1], &req->level))
        return _error(req, PROTO_ERR_FORMAT);
    return (ssize_t)req->line_len;
}

static ssize_t _with_arg(struct request *req, const struct line *l)
{
    if (l->n > 1)
        req->arg = l->tok[1];
    if (l->n > 2)
        req->arg2 = l->tok[2];
    return (ssize_t)req->line_len;
}

/* Meta commands, "m" and one letter: the line is their executor's to read
 * (meta.h); here only what frames ms's data, with memcached's errors for
 * a line whose data length cannot be known (no data is then skipped). */
/* 1.6.45's meta tokenizer refuses a flag token that starts with neither a
 * digit nor a byte from 'A' to 'z': the line is then a format error. */
static bool _meta_flags_ok(const char *p, const char *end, int first)
{
    for (int i = 0; p < end && i < TOK_MAX; i++) { /* no byte past the tokens is looked at */
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        unsigned char c = (unsigned char)*p;
        if (i >= first && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'z'))
            return false;
        while (p < end && *p != ' ')
            p++;
    }
    return true;
}

/* The meta command "m<c>", PROTO_ERROR for none. */
static enum proto_cmd _meta_cmd(char c)
{
    switch (c) {
    case 'g': return PROTO_MG;
    case 's': return PROTO_MS;
    case 'd': return PROTO_MD;
    case 'a': return PROTO_MA;
    case 'n': return PROTO_MN;
    case 'e': return PROTO_ME;
    default: return PROTO_ERROR;
    }
}

static ssize_t _meta(struct request *req, const struct line *l, const char *data, size_t avail)
{
    req->cmd = _meta_cmd(l->tok[0].p[1]);
    if (req->cmd == PROTO_ERROR)
        return _error(req, PROTO_ERR_UNKNOWN);
    req->keys = (struct proto_token){l->tok[0].p, (size_t)(l->end - l->tok[0].p)};
    if (req->cmd == PROTO_MN) /* memcached ignores what follows mn: no key */
        return (ssize_t)req->line_len;
    if (l->n > 1)
        req->key = l->tok[1];
    if (l->n < 2 && req->cmd != PROTO_ME)
        return _error(req, PROTO_ERR_FORMAT);
    if (req->cmd != PROTO_MS) {
        if (req->key.len > PROTO_KEY_MAX) /* every meta command's first check */
            return _error(req, PROTO_ERR_FORMAT);
        return (ssize_t)req->line_len;
    }
    int32_t vlen;
    if (l->n < 3 || !_tok_i32(&l->tok[2], &vlen) || vlen < 0 || vlen > INT32_MAX - 2 ||
        !_meta_flags_ok(l->tok[0].p, l->end, 3))
        return _error(req, PROTO_ERR_FORMAT);
    req->vlen = (uint32_t)vlen;
    if (req->key.len > PROTO_KEY_MAX) { /* framed: its data is skipped */
        req->swallow = (uint32_t)vlen + 2;
        return _error(req, PROTO_ERR_FORMAT);
    }
    if (avail < (size_t)vlen + 2)
        return PROTO_AGAIN; /* line known, data still coming */
    req->value = data;
    req->bad_chunk = data[vlen] != '\r' || data[vlen + 1] != '\n';
    return (ssize_t)(req->line_len + (size_t)vlen + 2);
}

#define CMD(word, cmd) {word, sizeof(word) - 1, cmd}
static const struct {
    const char *word;
    size_t len;
    enum proto_cmd cmd;
} commands[] = {
    CMD("get", PROTO_GET),         CMD("gets", PROTO_GETS),       CMD("gat", PROTO_GAT),
    CMD("gats", PROTO_GATS),       CMD("bget", PROTO_GET),        CMD("set", PROTO_SET),
    CMD("add", PROTO_ADD),         CMD("replace", PROTO_REPLACE), CMD("append", PROTO_APPEND),
    CMD("prepend", PROTO_PREPEND), CMD("cas", PROTO_CAS),         CMD("incr", PROTO_INCR),
    CMD("decr", PROTO_DECR),       CMD("delete", PROTO_DELETE),   CMD("touch", PROTO_TOUCH),
    CMD("flush_all", PROTO_FLUSH_ALL), CMD("version", PROTO_VERSION),
    CMD("verbosity", PROTO_VERBOSITY), CMD("quit", PROTO_QUIT),   CMD("shutdown", PROTO_SHUTDOWN),
    CMD("stats", PROTO_STATS),     CMD("cache_memlimit", PROTO_CACHE_MEMLIMIT),
    CMD("watch", PROTO_ADMIN),     CMD("lru_crawler", PROTO_ADMIN), CMD("slabs", PROTO_ADMIN),
    CMD("lru", PROTO_ADMIN),       CMD("refresh_certs", PROTO_REFRESH_CERTS),
    CMD("debugtime", PROTO_ADMIN),
};
#undef CMD

static enum proto_cmd _lookup(const struct proto_token *t)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (_is_n(t, commands[i].word, commands[i].len))
            return commands[i].cmd;
    return PROTO_ERROR;
}

/* No newline yet: wait, unless this is junk memcached would hang up on. */
static ssize_t _no_newline(const char *buf, size_t len)
{
    if (len <= PROTO_LINE_SOFT_MAX)
        return PROTO_AGAIN;
    size_t sp = 0;
    while (sp < len && buf[sp] == ' ')
        sp++;
    if (sp > 100)
        return PROTO_CLOSE;
    if ((len - sp >= 4 && memcmp(buf + sp, "get ", 4) == 0) ||
        (len - sp >= 5 && memcmp(buf + sp, "gets ", 5) == 0))
        return PROTO_AGAIN;
    return PROTO_CLOSE;
}

static ssize_t _dispatch(struct request *req, const struct line *l, const char *data, size_t avail)
{
    if (proto_is_storage(req->cmd))
        return _storage(req, l, data, avail);
    switch (req->cmd) {
    case PROTO_GET:
    case PROTO_GETS:
        return _get(req, l, false);
    case PROTO_GAT:
    case PROTO_GATS:
        return _get(req, l, true);
    case PROTO_INCR:
    case PROTO_DECR:
        return _arith(req, l);
    case PROTO_DELETE:
        return _delete(req, l);
    case PROTO_TOUCH:
        return _touch(req, l);
    case PROTO_FLUSH_ALL:
        return _flush_all(req, l);
    case PROTO_VERBOSITY:
        return _verbosity(req, l);
    case PROTO_CACHE_MEMLIMIT:
        if (l->n != 2 && l->n != 3)
            return _error(req, PROTO_ERR_UNKNOWN);
        req->noreply = _noreply(l);
        return _with_arg(req, l);
    case PROTO_STATS:
    case PROTO_ADMIN:
        req->keys = (struct proto_token){l->tok[0].p, (size_t)(l->end - l->tok[0].p)};
        return _with_arg(req, l);
    case PROTO_REFRESH_CERTS:
        req->noreply = _noreply(l);
        return _with_arg(req, l);
    case PROTO_VERSION:
    case PROTO_QUIT:
    case PROTO_SHUTDOWN:
        return _with_arg(req, l);
    default:
        break;
    }
    return _error(req, PROTO_ERR_UNKNOWN);
}

ssize_t proto_parse(struct request *req, const char *buf, size_t len)
{
    memset(req, 0, sizeof(*req));
    const char *nl = mem_find(buf, '\n', len);
    if (!nl)
        return _no_newline(buf, len);
    req->line_len = (size_t)(nl - buf) + 1;
    if (req->line_len < 4) /* memcached 1.6.45: a command has 2 bytes at least */
        return _error(req, PROTO_ERR_FORMAT);
    const char *end = nl;
    if (end - buf > 1 && end[-1] == '\r')
        end--;
    if (buf[0] == ' ') /* 1.6.45: the command is what precedes the first space */
        return _error(req, PROTO_ERR_UNKNOWN);
    if (end - buf > 4 && memcmp(buf, "get ", 4) == 0) {
        const char *k = buf + 4;
        while (k < end && *k == ' ')
            k++;
        if (k < end) /* no key: the general path's error */
            return _get_line(req, k, end);
    }

    /* A meta command other than ms: its executor reads the line (meta.h),
     * its flags included; only which command, and whether a key follows,
     * are decided here. */
    if (end - buf >= 2 && buf[0] == 'm' && (end - buf == 2 || buf[2] == ' ')) {
        enum proto_cmd cmd = _meta_cmd(buf[1]);
        if (cmd != PROTO_ERROR && cmd != PROTO_MS) {
            const char *k = buf + 2;
            while (k < end && *k == ' ')
                k++;
            const char *ke = k < end ? mem_find(k, ' ', (size_t)(end - k)) : NULL;
            ke = ke ? ke : end;
            req->cmd = cmd;
            req->keys = (struct proto_token){buf, (size_t)(end - buf)};
            req->ntokens = k == end ? 2 : 3; /* at least; the executor counts them all */
            if (req->cmd == PROTO_MN) /* memcached ignores what follows mn: no key */
                return (ssize_t)req->line_len;
            req->key = (struct proto_token){k, (size_t)(ke - k)};
            if (k == end && req->cmd != PROTO_ME)
                return _error(req, PROTO_ERR_FORMAT);
            if (req->key.len > PROTO_KEY_MAX && req->cmd != PROTO_MA) /* ma: a flag error */
                return _error(req, PROTO_ERR_FORMAT);
            return (ssize_t)req->line_len;
        }
    }
    struct line l;
    _tokenize(&l, buf, end);
    if (l.n == 0 || l.tok[0].len < 2)
        return _error(req, PROTO_ERR_UNKNOWN);
    req->ntokens = l.n + 1;
    if (l.tok[0].len == 2 && l.tok[0].p[0] == 'm')
        return _meta(req, &l, nl + 1, len - req->line_len);
    req->cmd = _lookup(&l.tok[0]);
    if (req->cmd == PROTO_ERROR) {
        const struct proto_token *last = &l.tok[l.n - 1];
        if (last->len >= 5 && memcmp(last->p, "HTTP/", 5) == 0)
            return PROTO_CLOSE; /* a web client on the cache port */
        return _error(req, PROTO_ERR_UNKNOWN);
    }
    return _dispatch(req, &l, nl + 1, len - req->line_len);
}

bool proto_next_key(struct proto_token *keys, struct proto_token *key)
{
    const char *p = keys->p, *end = keys->p + keys->len;
    while (p < end && *p == ' ')
        p++;
    if (p == end) {
        keys->p = end;
        keys->len = 0;
        return false;
    }
    const char *s = p;
    while (p < end && *p != ' ')
        p++;
    *key = (struct proto_token){s, (size_t)(p - s)};
    keys->p = p;
    keys->len = (size_t)(end - p);
    return true;
}
