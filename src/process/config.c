/* config: defaults, memcached 1.6's command line (getopt_long); the usage
 * text is config_usage.c's.
 *
 * Every error is one line on `err` that names the flag, and parsing stops at
 * the first one. Numbers are strict: digits only, no trailing junk, range
 * checked. Strings point into argv, except the -l list, which is split
 * into cfg->listen_buf, and --conf-file's words, which point into the
 * file's text (allocated once, kept for the process' life). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fmt.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

#define ITEM_SIZE_MIN KIB          /* memcached's -I bounds */
#define ITEM_SIZE_MAX (1024 * MIB)
#define MEM_LIMIT_MAX_MB (UINT64_MAX >> 20)

/* -f: a decimal "D[.D]" above 1.0, checked as text (strtod would add 8 KB of
 * float parsing to a static binary for a flag memg ignores). */
static bool _factor_above_one(const char *s)
{
    const char *p = s;
    while (*p == '0')
        p++;
    const char *int_start = p;
    while (*p >= '0' && *p <= '9')
        p++;
    size_t int_digits = (size_t)(p - int_start);
    bool any_digit = int_digits > 0 || p > s;
    bool frac_nonzero = false;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            any_digit = true;
            frac_nonzero |= *p != '0';
        }
    }
    if (*p != '\0' || !any_digit)
        return false;
    if (int_digits > 1 || (int_digits == 1 && *int_start > '1'))
        return true;
    return int_digits == 1 && frac_nonzero; /* 1.x with x > 0 */
}

#define CONF_FILE_OPT 0x100 /* --conf-file: memg's own, no short form */
#define CONF_FILE_MAX (64u << 10)
#define CONF_LINE_ARGS 32

/* "PATH:LINE: " while a conf file's line is parsed, for messages. */
static char _where[300];

/* Long names, as memcached 1.6 spells them. */
static const struct option _longopts[] = {
    {"port", required_argument, NULL, 'p'},
    {"udp-port", required_argument, NULL, 'U'},
    {"unix-socket", required_argument, NULL, 's'},
    {"unix-mask", required_argument, NULL, 'a'},
    {"enable-shutdown", no_argument, NULL, 'A'},
    {"listen", required_argument, NULL, 'l'},
    {"daemon", no_argument, NULL, 'd'},
    {"enable-coredumps", no_argument, NULL, 'r'},
    {"user", required_argument, NULL, 'u'},
    {"memory-limit", required_argument, NULL, 'm'},
    {"disable-evictions", no_argument, NULL, 'M'},
    {"conn-limit", required_argument, NULL, 'c'},
    {"lock-memory", no_argument, NULL, 'k'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"license", no_argument, NULL, 'i'},
    {"version", no_argument, NULL, 'V'},
    {"pidfile", required_argument, NULL, 'P'},
    {"pid-file", required_argument, NULL, 'P'},
    {"slab-growth-factor", required_argument, NULL, 'f'},
    {"slab-min-size", required_argument, NULL, 'n'},
    {"enable-largepages", no_argument, NULL, 'L'},
    {"threads", required_argument, NULL, 't'},
    {"max-reqs-per-event", required_argument, NULL, 'R'},
    {"disable-cas", no_argument, NULL, 'C'},
    {"listen-backlog", required_argument, NULL, 'b'},
    {"protocol", required_argument, NULL, 'B'},
    {"max-item-size", required_argument, NULL, 'I'},
    {"enable-sasl", no_argument, NULL, 'S'},
    {"disable-flush-all", no_argument, NULL, 'F'},
    {"disable-dumping", no_argument, NULL, 'X'},
    {"disable-watch", no_argument, NULL, 'W'},
    {"auth-file", required_argument, NULL, 'Y'},
    {"memory-file", required_argument, NULL, 'e'},
    {"enable-ssl", no_argument, NULL, 'Z'},
    {"extended", required_argument, NULL, 'o'},
    {"napi_ids", required_argument, NULL, 'N'},
    {"conf-file", required_argument, NULL, CONF_FILE_OPT},
    {NULL, 0, NULL, 0},
};

/* A leading ':', as getopt's: a missing argument is ':' rather than '?'. */
static const char _shortopts[] = ":p:U:s:a:Al:dru:m:Mc:kvhiVP:f:n:LD:t:R:Cb:B:I:SFXWY:e:Zo:N:";

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->port = 11211;
    cfg->udp_port = 0;
    cfg->nlisten = 0;
    cfg->unix_mask = 0700;
    cfg->max_conns = 1024;
    cfg->mem_limit = 64 * MIB;
    cfg->item_size_max = 1 * MIB;
    cfg->evict = true;
    cfg->threads = 1;
    cfg->idle_timeout = 0;
    cfg->backlog = 1024;
    cfg->cas_enabled = true;
    cfg->tls.keyformat = 1;
    cfg->tls.min_version = 2;
    cfg->reqs_per_event = 20;
    cfg->out_limit = 1 * MIB;
    cfg->http_port = -1;
    cfg->flush_enabled = true;
    cfg->dump_enabled = true;
    cfg->watch_enabled = true;
    cfg->crawler = true;
    cfg->crawler_sleep = 100;
    cfg->prefix_delimiter = ':';
    cfg->maxconns_fast = true;
    cfg->watcher_logbuf = 256 << 10;
}

/* The flag as the user wrote it, for messages: "-p/--port". */
static void _flag_name(int c, char *buf, size_t len)
{
    if (c == CONF_FILE_OPT) {
        fmt_buf(buf, len, "--conf-file");
        return;
    }
    for (const struct option *o = _longopts; o->name != NULL; o++) {
        if (o->val == c) {
            fmt_buf(buf, len, "-%c/--%s", c, o->name);
            return;
        }
    }
    fmt_buf(buf, len, "-%c", c);
}

static enum config_result _fail(int err, int c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line on err: "memg: -p/--port: <message>". */
static enum config_result _fail(int err, int c, const char *fmt, ...)
{
    char name[48];
    va_list ap;
    _flag_name(c, name, sizeof(name));
    fmt_fd(err, "memg: %s%s: ", _where, name);
    va_start(ap, fmt);
    fmt_vfd(err, fmt, ap);
    va_end(ap);
    fmt_write(err, "\n", 1);
    return CONFIG_ERROR;
}

/* Strict unsigned decimal (or octal with base 8) over [s, s+len). */
static bool _parse_un(const char *s, size_t len, int base, uint64_t min, uint64_t max,
                      uint64_t *out)
{
    uint64_t v = 0; /* by hand: libc's strtoull brings 2 KB of scanner */
    if (len == 0 || len >= 32)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d >= (unsigned)base || v > (UINT64_MAX - d) / (unsigned)base)
            return false; /* not a digit, or ERANGE */
        v = v * (unsigned)base + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool _parse_u(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    return _parse_un(s, strlen(s), 10, min, max, out);
}

/* A size: digits with an optional k/m/g suffix (binary multiples). The
 * suffixes allowed are given as a lowercase string, e.g. "km". */
static bool _parse_size(const char *s, size_t len, const char *suffixes, uint64_t unit,
                        uint64_t *out)
{
    uint64_t mult = unit;
    if (len > 0) {
        char c = s[len - 1];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c < '0' || c > '9') {
            if (c == '\0' || strchr(suffixes, c) == NULL)
                return false;
            mult = c == 'k' ? KIB : c == 'm' ? MIB : GIB;
            len--;
        }
    }
    uint64_t v;
    if (!_parse_un(s, len, 10, 0, UINT64_MAX / mult, &v))
        return false;
    *out = v * mult;
    return true;
}

/* Append the comma-separated addresses in arg to cfg->listen. */
static enum config_result _add_listen(struct config *cfg, const char *arg, int err)
{
    size_t used = 0;
    if (cfg->nlisten > 0) {
        const char *last = cfg->listen[cfg->nlisten - 1];
        used = (size_t)(last - cfg->listen_buf) + strlen(last) + 1;
    }
    const char *p = arg;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 0)
            return _fail(err, 'l', "empty address in \"%s\"", arg);
        if (cfg->nlisten == CONFIG_MAX_LISTEN)
            return _fail(err, 'l', "too many addresses (at most %d)", CONFIG_MAX_LISTEN);
        if (used + n + 1 > sizeof(cfg->listen_buf))
            return _fail(err, 'l', "addresses too long (%d bytes in all)", CONFIG_LISTEN_BUF);
        char *dst = cfg->listen_buf + used;
        memcpy(dst, p, n);
        dst[n] = '\0';
        cfg->listen[cfg->nlisten++] = dst;
        used += n + 1;
        if (p[n] == '\0')
            return CONFIG_OK;
        p += n + 1;
    }
}

/* One -o item: key[=value], not NUL-terminated. */
static enum config_result _ext_one(struct config *cfg, const char *item, size_t len, int err)
{
    char shown[128];
    fmt_buf(shown, sizeof(shown), "%.*s", (int)(len < 100 ? len : 100), item);
    const char *eq = memchr(item, '=', len);
    size_t klen = eq ? (size_t)(eq - item) : len;
    const char *val = eq ? eq + 1 : NULL;
    size_t vlen = eq ? len - klen - 1 : 0;

    if (klen == 12 && memcmp(item, "idle_timeout", 12) == 0) {
        uint64_t v;
        if (val == NULL || vlen == 0)
            return _fail(err, 'o', "missing numeric argument for %s", "idle_timeout");
        if (!_parse_un(val, vlen, 10, 0, INT_MAX, &v))
            return _fail(err, 'o', "invalid value in \"%s\" (seconds, 0 = off)", shown);
        cfg->idle_timeout = (int)v;
        return CONFIG_OK;
    }
    if (klen == 9 && memcmp(item, "out_limit", 9) == 0) {
        uint64_t v;
        if (val == NULL || vlen == 0)
            return _fail(err, 'o', "missing size argument for %s", "out_limit");
        if (!_parse_size(val, vlen, "kmg", 1, &v) || v < KIB)
            return _fail(err, 'o', "invalid value in \"%s\" (bytes, k/m/g suffix, min 1k)",
                         shown);
        cfg->out_limit = v;
        return CONFIG_OK;
    }
    if (klen == 9 && memcmp(item, "http_port", 9) == 0) {
        uint64_t v;
        if (!val || !_parse_un(val, vlen, 10, 0, 65535, &v))
            return _fail(err, 'o', "invalid value in \"%s\" (a TCP port, 0 = any free)", shown);
        cfg->http_port = (int)v;
        return CONFIG_OK;
    }
    if ((klen == 11 || klen == 14) && memcmp(item + klen - 11, "lru_crawler", 11) == 0 &&
        (klen == 11 || memcmp(item, "no_", 3) == 0)) {
        cfg->crawler = klen == 11;
        return CONFIG_OK;
    }
    if ((klen == 17 && memcmp(item, "lru_crawler_sleep", 17) == 0) ||
        (klen == 19 && memcmp(item, "lru_crawler_tocrawl", 19) == 0)) {
        bool sleep = klen == 17;
        uint64_t v;
        if (!val || vlen == 0)
            return _fail(err, 'o', "Missing %s value", sleep ? "lru_crawler_sleep" :
                                                               "lru_crawler_tocrawl");
        if (!_parse_un(val, vlen, 10, 0, sleep ? 1000000 : UINT32_MAX, &v))
            return _fail(err, 'o', "%s", sleep ? "LRU crawler sleep must be between 0 and 1 second"
                                               : "lru_crawler_tocrawl takes a numeric 32bit value");
        *(sleep ? &cfg->crawler_sleep : &cfg->crawler_tocrawl) = (uint32_t)v;
        return CONFIG_OK;
    }
    if (klen == 13 && memcmp(item, "http_readonly", 13) == 0 && !val) {
        cfg->http_readonly = true;
        return CONFIG_OK;
    }
    bool mine;
    char why[160];
    int r = config_ext_word(cfg, item, klen, val, vlen, err, why, sizeof(why));
    if (r != 0)
        return r > 0 ? CONFIG_OK : _fail(err, 'o', "%s", why);
    if (!config_tls_ext(&cfg->tls, item, klen, val, vlen, &mine, why, sizeof(why)))
        return _fail(err, 'o', "%s", why);
    if (mine)
        return CONFIG_OK;
    return _fail(err, 'o', "illegal suboption \"%s\"", shown);
}

static enum config_result _extended(struct config *cfg, const char *arg, int err)
{
    const char *p = arg;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n > 0) {   /* memcached skips empty items ("a,,b") */
            enum config_result r = _ext_one(cfg, p, n, err);
            cfg->bad_option |= r != CONFIG_OK; /* memcached's -o errors exit 1 */
            if (r != CONFIG_OK)
                return r;
        }
        if (p[n] == '\0')
            return CONFIG_OK;
        p += n + 1;
    }
}

/* Numeric flags: value in [min, max] into an int field. */
static enum config_result _int_opt(int c, const char *arg, uint64_t min, uint64_t max,
                                   int *dst, int err)
{
    uint64_t v;
    if (!_parse_u(arg, min, max, &v)) {
        return _fail(err, c, "invalid value \"%s\" (a number from %" PRIu64 " to %" PRIu64 ")",
                     arg, min, max);
    }
    *dst = (int)v;
    return CONFIG_OK;
}

static enum config_result _unsupported(int c, int err)
{
    return _fail(err, c, "not supported by memg");
}

/* Checks that involve several flags, done once all are read (as memcached). */
static enum config_result _check(struct config *cfg, int err)
{
    /* memcached's order and words: SASL implies binary, -Y implies ascii. */
    if (cfg->sasl) {
        if (!cfg->protocol_given)
            cfg->protocol = CONFIG_PROTO_BINARY;
        else if (cfg->protocol != CONFIG_PROTO_BINARY) {
            fmt_fd(err, "ERROR: You cannot allow the ASCII protocol while using SASL.\n");
            return CONFIG_ERROR;
        }
    }
    if (cfg->auth_file) {
        if (!cfg->protocol_given && !cfg->sasl)
            cfg->protocol = CONFIG_PROTO_ASCII;
        else if (cfg->protocol != CONFIG_PROTO_ASCII) {
            fmt_fd(err, "ERROR: You cannot allow the BINARY protocol while using ascii "
                        "authentication tokens.\n");
            return CONFIG_ERROR;
        }
    }
    if (cfg->item_size_max > cfg->mem_limit / 2)
        return _fail(err, 'I',
                     "cannot set item size limit (%" PRIu64 " bytes) higher than 1/2 of "
                     "memory max (-m %" PRIu64 " MB)",
                     cfg->item_size_max, cfg->mem_limit / MIB);
    for (int i = 0; i < cfg->nlisten; i++)
        if (strncmp(cfg->listen[i], "notls:", 6) == 0 && !cfg->tls.enabled)
            return _fail(err, 'l', "'notls' option is valid only when SSL is enabled");
    char why[160];
    if (!config_ext_check(cfg, why, sizeof(why)))
        return _fail(err, 'o', "%s", why);
    if (cfg->memory_file && cfg->large_pages) /* huge pages are anonymous memory's */
        return _fail(err, 'e', "cannot be combined with -L: the file's pages are not huge");
    return CONFIG_OK;
}

static enum config_result _opt(struct config *cfg, int c, const char *arg, int out, int err)
{
    uint64_t v;
    int tmp;
    enum config_result r;

    switch (c) {
    case 'p':
        return _int_opt(c, arg, 0, 65535, &cfg->port, err);
    case 'U':
        if (!_parse_u(arg, 0, 65535, &v))
            return _fail(err, c, "invalid port \"%s\"", arg);
        if (v != 0)
            return _fail(err, c, "memg does not serve UDP; only -U 0 is accepted (got %s)",
                         arg);
        cfg->udp_port = 0;
        return CONFIG_OK;
    case 's':
        if (arg[0] == '\0')
            return _fail(err, c, "empty path");
        cfg->unix_socket = arg;
        return CONFIG_OK;
    case 'a':
        if (!_parse_un(arg, strlen(arg), 8, 0, 0777, &v))
            return _fail(err, c, "invalid mask \"%s\" (octal, 0 to 777)", arg);
        cfg->unix_mask = (int)v;
        return CONFIG_OK;
    case 'A':
        cfg->enable_shutdown = true;
        return CONFIG_OK;
    case 'l':
        return _add_listen(cfg, arg, err);
    case 'd':
        cfg->daemonize = true;
        return CONFIG_OK;
    case 'u':
        cfg->user = arg;
        return CONFIG_OK;
    case 'm':
        /* Megabytes, as memcached; an explicit m or g suffix is also read. */
        if (!_parse_size(arg, strlen(arg), "mg", MIB, &v) || v == 0 ||
            v / MIB > MEM_LIMIT_MAX_MB)
            return _fail(err, c, "invalid size \"%s\" (megabytes, at least 1)", arg);
        cfg->mem_limit = v;
        return CONFIG_OK;
    case 'M':
        cfg->evict = false;
        return CONFIG_OK;
    case 'c':
        return _int_opt(c, arg, 1, INT_MAX, &cfg->max_conns, err);
    case 'v':
        cfg->verbose++;
        return CONFIG_OK;
    case 'h':
        config_usage(out);
        return CONFIG_EXIT;
    case 'V':
        fmt_fd(out, "memg %s (memcached %s compatible)\n", MEMG_RELEASE, MEMG_VERSION);
        return CONFIG_EXIT;
    case 'P':
        cfg->pidfile = arg;
        return CONFIG_OK;
    case 't':
        if ((r = _int_opt(c, arg, 1, INT_MAX, &tmp, err)) != CONFIG_OK)
            return r;
        if (tmp > 1)
            fmt_fd(err, "memg: -t %d: memg is single-threaded and runs one thread\n", tmp);
        cfg->threads = 1;
        return CONFIG_OK;
    case 'R':
        return _int_opt(c, arg, 1, INT_MAX, &cfg->reqs_per_event, err);
    case 'C':
        cfg->cas_enabled = false;
        return CONFIG_OK;
    case 'b':
        return _int_opt(c, arg, 0, INT_MAX, &cfg->backlog, err);
    case 'I':
        if (!_parse_size(arg, strlen(arg), "km", 1, &v))
            return _fail(err, c, "invalid size \"%s\" (bytes, or with k/m suffix)", arg);
        if (v < ITEM_SIZE_MIN)
            return _fail(err, c, "item max size cannot be less than 1024 bytes (got %s)", arg);
        if (v > ITEM_SIZE_MAX)
            return _fail(err, c, "cannot set item size limit higher than a gigabyte (got %s)",
                         arg);
        cfg->item_size_max = v;
        return CONFIG_OK;
    case 'o':
        return _extended(cfg, arg, err);
    case 'L':
        cfg->large_pages = true;
        return CONFIG_OK;
    case 'r':
        cfg->core_dumps = true;
        return CONFIG_OK;
    case 'k':
        cfg->lock_memory = true;
        return CONFIG_OK;
    /* memcached's slab tuning, for machinery memg lacks: checked, no effect. */
    case 'f':
        if (!_factor_above_one(arg))
            return _fail(err, c, "invalid factor \"%s\" (greater than 1.0)", arg);
        return CONFIG_OK;
    case 'n':
        if (!_parse_u(arg, 1, INT_MAX, &v))
            return _fail(err, c, "invalid size \"%s\"", arg);
        return CONFIG_OK;
    case 'B':
        if (strcmp(arg, "auto") == 0)
            cfg->protocol = CONFIG_PROTO_AUTO;
        else if (strcmp(arg, "ascii") == 0)
            cfg->protocol = CONFIG_PROTO_ASCII;
        else if (strcmp(arg, "binary") == 0)
            cfg->protocol = CONFIG_PROTO_BINARY;
        else
            return _fail(err, c, "invalid value \"%s\" (one of auto, binary, or ascii)", arg);
        cfg->protocol_given = true;
        return CONFIG_OK;
    case 'S':
        cfg->sasl = true;
        return CONFIG_OK;
    case 'Y':
        if (arg[0] == '\0')
            return _fail(err, c, "empty path");
        cfg->auth_file = arg;
        return CONFIG_OK;
    case 'F':
        cfg->flush_enabled = false;
        return CONFIG_OK;
    case 'X':
        cfg->dump_enabled = false;
        return CONFIG_OK;
    case 'W':
        cfg->watch_enabled = false;
        return CONFIG_OK;
    case 'D': /* as memcached: a delimiter also turns stats detail on */
        if (arg[0] == '\0')
            return _fail(err, c, "no delimiter specified");
        cfg->prefix_delimiter = arg[0];
        cfg->detail_enabled = true;
        return CONFIG_OK;
    case CONF_FILE_OPT:
        return CONFIG_OK; /* read before the command line (config_parse) */
    /* Features whose silent absence would mislead: refused. */
    case 'e':
        cfg->memory_file = arg;
        return arg[0] ? CONFIG_OK : _fail(err, c, "no file given");
    case 'Z': /* a build without TLS says so when the server starts (tls.h) */
        cfg->tls.enabled = true;
        return CONFIG_OK;
    case 'i': case 'N':
        return _unsupported(c, err);
    default:
        return _fail(err, c, "unhandled option");
    }
}

/* getopt_long's state, memg's own: libc's prints its messages through
 * stdio, which it brings into the static binary (6 KB). */
static struct {
    int ind;          /* the next word */
    int opt;          /* optopt: the flag of a '?' or ':' (0: a long one) */
    const char *next; /* the rest of a cluster of short flags (-vvv) */
    const char *arg;  /* optarg */
} _go;

/* --name, --name=ARG or --name ARG; a name may be shortened while only one
 * long name starts with it (as musl's getopt_long). */
static int _getopt_long(int argc, char **argv, const char *name)
{
    size_t n = 0;
    const struct option *hit = NULL;
    int matches = 0;
    while (name[n] && name[n] != '=')
        n++;
    for (const struct option *o = _longopts; o->name && matches >= 0; o++) {
        if (strncmp(o->name, name, n) != 0)
            continue;
        hit = o;
        matches = o->name[n] ? matches + 1 : -1; /* exact: this one */
    }
    if (!hit || matches > 1 || (name[n] == '=' && !hit->has_arg))
        return '?';
    if (name[n] == '=') {
        _go.arg = name + n + 1;
    } else if (hit->has_arg) {
        if (_go.ind >= argc) {
            _go.opt = hit->val;
            return ':';
        }
        _go.arg = argv[_go.ind++];
    }
    return hit->val;
}

/* The next flag as getopt_long returns it with a leading ':' in its short
 * options: the flag, '?' unknown, ':' without its argument, -1 at "--" or
 * at the first word that is not a flag (_go.ind names it). */
static int _getopt(int argc, char **argv)
{
    _go.arg = NULL;
    _go.opt = 0;
    if (!_go.next || !*_go.next) {
        const char *w = _go.ind < argc ? argv[_go.ind] : "";
        if (w[0] != '-' || !w[1])
            return -1;
        _go.ind++;
        if (w[1] == '-')
            return w[2] ? _getopt_long(argc, argv, w + 2) : -1;
        _go.next = w + 1;
    }
    int c = (unsigned char)*_go.next++;
    const char *s = c == ':' ? NULL : strchr(_shortopts + 1, c);
    _go.opt = c;
    if (!s)
        return '?';
    if (s[1] == ':') {
        if (*_go.next)
            _go.arg = _go.next;
        else if (_go.ind < argc)
            _go.arg = argv[_go.ind++];
        else
            return ':';
        _go.next = NULL;
    }
    return c;
}

/* One pass over argv (argv[0] is a name, not a flag). */
static enum config_result _parse_argv(struct config *cfg, int argc, char **argv, int out, int err)
{
    _go.ind = 1;
    _go.next = NULL;
    for (;;) {
        int prev = _go.ind;
        int c = _getopt(argc, argv);
        if (c == -1)
            break;
        const char *bad = prev < argc ? argv[prev] : "?";
        if (c == '?') {
            cfg->bad_option = true;
            if (strncmp(bad, "--", 2) == 0)
                fmt_fd(err, "memg: %sunknown or malformed option %s\n", _where, bad);
            else if (_go.opt != 0)
                fmt_fd(err, "memg: %sunknown option -%c\n", _where, _go.opt);
            else
                fmt_fd(err, "memg: %sunknown option %s\n", _where, bad);
            return CONFIG_ERROR;
        }
        if (c == ':') {
            char name[48];
            _flag_name(_go.opt, name, sizeof(name));
            fmt_fd(err, "memg: %s%s: missing argument\n", _where, name);
            return CONFIG_ERROR;
        }
        enum config_result r = _opt(cfg, c, _go.arg, out, err);
        if (r != CONFIG_OK)
            return r;
    }
    if (_go.ind < argc) {
        fmt_fd(err, "memg: %sunexpected argument \"%s\"\n", _where, argv[_go.ind]);
        return CONFIG_ERROR;
    }
    return CONFIG_OK;
}

/* Read the whole file into a NUL-terminated heap buffer (kept: cfg points
 * into it). NULL with a message on err. */
static char *_slurp(const char *path, int err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *text = fd >= 0 ? malloc(CONF_FILE_MAX + 1) : NULL;
    size_t len = 0;
    ssize_t n = 1;
    while (text && len < CONF_FILE_MAX && (n = read(fd, text + len, CONF_FILE_MAX - len)) > 0)
        len += (size_t)n;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (!text || n < 0 || len == CONF_FILE_MAX) {
        fmt_fd(err, "memg: --conf-file: can't read %s: %s\n", path,
               fd < 0 || n < 0 ? strerror(e) : text ? "larger than 64 KB" : "out of memory");
        free(text);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

/* --conf-file: each line's words are flags, as on the command line. */
static enum config_result _parse_file(struct config *cfg, const char *path, int out, int err)
{
    char *text = _slurp(path, err);
    if (!text)
        return CONFIG_ERROR;
    enum config_result r = CONFIG_OK;
    char *line = text;
    for (int lineno = 1; r == CONFIG_OK && *line; lineno++) {
        char *end = line + strcspn(line, "\n");
        char *next = *end ? end + 1 : end;
        *end = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *argv[CONF_LINE_ARGS + 2] = {"memg"};
        int argc = 1;
        for (char *w = strtok(line, " \t\r"); w; w = strtok(NULL, " \t\r")) {
            if (argc > CONF_LINE_ARGS) {
                fmt_fd(err, "memg: %s:%d: more than %d words\n", path, lineno, CONF_LINE_ARGS);
                return CONFIG_ERROR;
            }
            argv[argc++] = w;
        }
        fmt_buf(_where, sizeof(_where), "%s:%d: ", path, lineno);
        if (argc > 1)
            r = _parse_argv(cfg, argc, argv, out, err);
        line = next;
    }
    _where[0] = '\0';
    return r;
}

/* --conf-file=PATH or --conf-file PATH anywhere in argv. */
static const char *_conf_path(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strncmp(argv[i], "--conf-file=", 12) == 0)
            return argv[i] + 12;
        if (strcmp(argv[i], "--conf-file") == 0 && i + 1 < argc)
            return argv[i + 1];
    }
    return NULL;
}

enum config_result config_parse(struct config *cfg, int argc, char **argv, int out, int err)
{
    cfg->conf_file = _conf_path(argc, argv);
    enum config_result r;
    if (cfg->conf_file && (r = _parse_file(cfg, cfg->conf_file, out, err)) != CONFIG_OK)
        return r;
    if ((r = _parse_argv(cfg, argc, argv, out, err)) != CONFIG_OK)
        return r;
    if ((r = _check(cfg, err)) == CONFIG_OK && cfg->slab_words)
        fmt_fd(err, "memg: -o slab_*: memg has no slab classes (one pool of segments serves "
                    "every item size, items stored whole): these words set nothing\n");
    return r;
}
