/* Tests for config: defaults, every flag in short and long form, -l lists,
 * -o options, and one-line errors that name the flag. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "process/config.h"

#define MIB (UINT64_C(1) << 20)

struct run {
    struct config cfg;
    enum config_result r;
    char *out, *err;
    size_t outlen, errlen;
};

/* A file in memory for config to write to, as its fd. */
static int _memfile(void)
{
    int fd = memfd_create("test_config", 0);
    assert_true(fd >= 0);
    return fd;
}

/* What was written to a _memfile, NUL-terminated in a malloc'd copy;
 * closes fd. */
static char *_contents(int fd, size_t *len)
{
    off_t end = lseek(fd, 0, SEEK_END);
    assert_true(end >= 0);
    char *text = malloc((size_t)end + 1);
    assert_non_null(text);
    assert_int_equal(pread(fd, text, (size_t)end, 0), end);
    text[end] = '\0';
    *len = (size_t)end;
    close(fd);
    return text;
}

static void _run(struct run *t, int argc, char **argv)
{
    int out = _memfile();
    int err = _memfile();
    config_defaults(&t->cfg);
    t->r = config_parse(&t->cfg, argc, argv, out, err);
    t->out = _contents(out, &t->outlen);
    t->err = _contents(err, &t->errlen);
}

static void _done(struct run *t)
{
    config_tls_free(&t->cfg.tls); /* the ssl_* strings the parse copied */
    free(t->out);
    free(t->err);
    free(t);
}

/* PARSE(t, "-p", "1") runs `memg -p 1` into a fresh struct run *t. */
#define PARSE(t, ...)                                                        \
    do {                                                                     \
        char *argv_[] = {"memg", __VA_ARGS__, NULL};                         \
        t = calloc(1, sizeof(*t));                                           \
        assert_non_null(t);                                                  \
        _run(t, (int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_);         \
    } while (0)

static void _assert_ok(const struct run *t)
{
    if (t->r != CONFIG_OK)
        fail_msg("unexpected failure: %s", t->err);
    assert_int_equal(t->errlen, 0);
    assert_int_equal(t->outlen, 0);
}

/* Exactly one line on err, mentioning `needle` (the flag), nothing on out. */
static void _assert_error(const struct run *t, const char *needle)
{
    assert_int_equal(t->r, CONFIG_ERROR);
    assert_int_equal(t->outlen, 0);
    assert_true(t->errlen > 0);
    assert_int_equal(t->err[t->errlen - 1], '\n');
    assert_ptr_equal(strchr(t->err, '\n'), t->err + t->errlen - 1);
    if (strstr(t->err, needle) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", t->err, needle);
}

/* Command lines refused, each with what its one-line error names. */
static const struct refused {
    const char *argv[7];
    const char *names;
} refused[] = {
    {{"-l", "127.0.0.1,,::1"}, "-l"},
    {{"-l", "::1,"}, "-l"},
    {{"-a", "778"}, "-a/--unix-mask"},
    {{"-a", "1000"}, "-a/--unix-mask"},
    {{"--udp-port=11211"}, "UDP"},
    {{"-U", "x"}, "-U/--udp-port"},
    {{"-c", "0"}, "-c/--conn-limit"},
    {{"-R", "0"}, "-R/--max-reqs-per-event"},
    {{"-b", "-1"}, "-b/--listen-backlog"},
    {{"-m", "0"}, "-m/--memory-limit"},
    {{"-m", "abc"}, "-m/--memory-limit"},
    {{"-m", "64k"}, "-m/--memory-limit"},
    {{"-m", "99999999999999999999"}, "-m/--memory-limit"},
    {{"-I", "1023"}, "-I/--max-item-size"},
    {{"-I", "1025m", "-m", "4096"}, "-I/--max-item-size"},
    {{"-I", "1g"}, "-I/--max-item-size"},
    {{"-I", "5x"}, "-I/--max-item-size"},
    {{"-t", "0"}, "-t/--threads"},
    {{"-o", "lru_crawler_sleep=1000001"}, "LRU crawler sleep must be between 0 and 1 second"},
    {{"-o", "lru_crawler_tocrawl=4294967296"}, "lru_crawler_tocrawl takes a numeric 32bit value"},
    {{"-o", "lru_crawler_sleep"}, "Missing lru_crawler_sleep value"},
    {{"-o", "modern,ext_path=/tmp/x:1G"}, "ext_path"},
    {{"-o", "idle_timeout"}, "idle_timeout"},
    {{"-o", "idle_timeout=abc"}, "idle_timeout"},
    {{"-o", "idle_timeout=-5"}, "idle_timeout"},
    {{"-o", "out_limit=1"}, "out_limit"},
    {{"--port"}, "-p/--port"},
    {{"-Q"}, "-Q"},
    {{"--bogus"}, "--bogus"},
    {{"--daemon=yes"}, "--daemon=yes"},
    {{"-p", "1", "stray"}, "stray"},
    {{"-B", "text"}, "-B/--protocol"},
    {{"-S", "-B", "ascii"}, "ERROR: You cannot allow the ASCII protocol while using SASL."},
    {{"-B", "auto", "-S"}, "ERROR: You cannot allow the ASCII protocol while using SASL."},
    {{"--auth-file=users", "-S"}, "ascii authentication tokens"},
};

/* Command lines accepted, and the one setting each sets (an int, enum,
 * uint64_t or bool field, read by its size). */
#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
static const struct accepted {
    const char *argv[7];
    size_t off, size;
    uint64_t want;
} accepted[] = {
    {{"-p", "1234"}, FIELD(port), 1234},
    {{"--port=1235"}, FIELD(port), 1235},
    {{"--port", "65535"}, FIELD(port), 65535},
    {{"-p0"}, FIELD(port), 0},
    {{"-U", "0"}, FIELD(udp_port), 0},
    {{"-m", "128"}, FIELD(mem_limit), 128 * MIB},
    {{"-m", "256M"}, FIELD(mem_limit), 256 * MIB},
    {{"-I", "2k"}, FIELD(item_size_max), 2048},
    {{"--max-item-size=4m"}, FIELD(item_size_max), 4 * MIB},
    {{"-I", "1024"}, FIELD(item_size_max), 1024},
    {{"-I", "1024m", "-m", "2048"}, FIELD(item_size_max), 1024 * MIB},
    {{"-v"}, FIELD(verbose), 1},
    {{"-vv"}, FIELD(verbose), 2},
    {{"-vvv", "--verbose", "-v"}, FIELD(verbose), 5},
    {{"-t", "1"}, FIELD(threads), 1},
    {{"-o", "idle_timeout=30"}, FIELD(idle_timeout), 30},
    {{"-o", "out_limit=2097152"}, FIELD(out_limit), 2 * MIB},
    {{"-B", "binary"}, FIELD(protocol), CONFIG_PROTO_BINARY},
    {{"--protocol=ascii"}, FIELD(protocol), CONFIG_PROTO_ASCII},
    {{"-L"}, FIELD(large_pages), 1},
    {{"--enable-largepages"}, FIELD(large_pages), 1},
};

/* argv as config_parse takes it: "memg" first, NULL last. */
static struct run *_parse_row(const char *const *row)
{
    char *argv[9] = {"memg"};
    int argc = 1;
    while (argc < 8 && row[argc - 1])
        argv[argc] = (char *)row[argc - 1], argc++;
    struct run *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    _run(t, argc, argv);
    return t;
}

static void test_refused_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct run *t = _parse_row(refused[i].argv);
        _assert_error(t, refused[i].names);
        _done(t);
    }
}

static void test_accepted_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        const struct accepted *a = &accepted[i];
        struct run *t = _parse_row(a->argv);
        _assert_ok(t);
        const char *field = (const char *)&t->cfg + a->off;
        uint64_t got = 0;
        if (a->size == sizeof(uint64_t)) {
            memcpy(&got, field, sizeof(got));
        } else if (a->size == sizeof(int)) {
            int v;
            memcpy(&v, field, sizeof(v));
            got = (uint64_t)v;
        } else {
            assert_int_equal(a->size, sizeof(bool));
            got = *(const bool *)field;
        }
        if (got != a->want)
            fail_msg("%s ...: %llu, not %llu", a->argv[0], (unsigned long long)got,
                     (unsigned long long)a->want);
        _done(t);
    }
}

static void test_defaults(void **state)
{
    (void)state;
    struct run *t;
    char *argv[] = {"memg", NULL};
    t = calloc(1, sizeof(*t));
    assert_non_null(t);
    _run(t, 1, argv);
    _assert_ok(t);
    const struct config *c = &t->cfg;
    assert_int_equal(c->port, 11211);
    assert_int_equal(c->udp_port, 0);
    assert_int_equal(c->nlisten, 0);
    assert_null(c->unix_socket);
    assert_int_equal(c->unix_mask, 0700);
    assert_int_equal(c->max_conns, 1024);
    assert_int_equal(c->mem_limit, 64 * MIB);
    assert_int_equal(c->item_size_max, 1 * MIB);
    assert_true(c->evict);
    assert_int_equal(c->verbose, 0);
    assert_int_equal(c->threads, 1);
    assert_false(c->daemonize);
    assert_null(c->pidfile);
    assert_null(c->user);
    assert_false(c->enable_shutdown);
    assert_int_equal(c->idle_timeout, 0);
    assert_int_equal(c->backlog, 1024);
    assert_true(c->cas_enabled);
    assert_int_equal(c->reqs_per_event, 20);
    assert_int_equal(c->out_limit, 1 * MIB);
    _done(t);
}

static void test_listen_lists(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "-l", "127.0.0.1,::1");
    _assert_ok(t);
    assert_int_equal(t->cfg.nlisten, 2);
    assert_string_equal(t->cfg.listen[0], "127.0.0.1");
    assert_string_equal(t->cfg.listen[1], "::1");
    _done(t);

    PARSE(t, "-l", "10.0.0.1", "--listen=::1,fe80::1", "--listen", "0.0.0.0");
    _assert_ok(t);
    assert_int_equal(t->cfg.nlisten, 4);
    assert_string_equal(t->cfg.listen[0], "10.0.0.1");
    assert_string_equal(t->cfg.listen[1], "::1");
    assert_string_equal(t->cfg.listen[2], "fe80::1");
    assert_string_equal(t->cfg.listen[3], "0.0.0.0");
    _done(t);


    /* CONFIG_MAX_LISTEN addresses fit; one more is an error. */
    char many[CONFIG_MAX_LISTEN * 4 + 8] = "";
    for (int i = 0; i < CONFIG_MAX_LISTEN; i++)
        strcat(many, i ? ",::1" : "::1");
    PARSE(t, "-l", many);
    _assert_ok(t);
    assert_int_equal(t->cfg.nlisten, CONFIG_MAX_LISTEN);
    assert_string_equal(t->cfg.listen[CONFIG_MAX_LISTEN - 1], "::1");
    _done(t);
    PARSE(t, "-l", many, "-l", "127.0.0.1");
    _assert_error(t, "-l");
    _done(t);
}

static void test_unix_socket_and_mask(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "-s", "/tmp/memg.sock", "-a", "0755");
    _assert_ok(t);
    assert_string_equal(t->cfg.unix_socket, "/tmp/memg.sock");
    assert_int_equal(t->cfg.unix_mask, 0755);
    _done(t);
    PARSE(t, "--unix-socket=/run/m.sock", "--unix-mask=600");
    _assert_ok(t);
    assert_string_equal(t->cfg.unix_socket, "/run/m.sock");
    assert_int_equal(t->cfg.unix_mask, 0600);
    _done(t);
}

static void test_udp(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "--udp-port=0");
    _assert_ok(t);
    _done(t);
    PARSE(t, "-U", "1");
    _assert_error(t, "-U/--udp-port");
    assert_non_null(strstr(t->err, "UDP"));
    _done(t);
}

static void test_conn_limit_backlog_reqs(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "-c", "5", "-b", "64", "-R", "7");
    _assert_ok(t);
    assert_int_equal(t->cfg.max_conns, 5);
    assert_int_equal(t->cfg.backlog, 64);
    assert_int_equal(t->cfg.reqs_per_event, 7);
    _done(t);
    PARSE(t, "--conn-limit=6", "--listen-backlog=0", "--max-reqs-per-event=1");
    _assert_ok(t);
    assert_int_equal(t->cfg.max_conns, 6);
    assert_int_equal(t->cfg.backlog, 0);
    assert_int_equal(t->cfg.reqs_per_event, 1);
    _done(t);
}

static void test_memory_limit(void **state)
{
    (void)state;
    struct run *t;
    /* 3 GB must not wrap, whatever the word size. */
    PARSE(t, "--memory-limit=3072");
    _assert_ok(t);
    assert_true(t->cfg.mem_limit == UINT64_C(3221225472));
    _done(t);
    PARSE(t, "--memory-limit", "2g");
    _assert_ok(t);
    assert_true(t->cfg.mem_limit == UINT64_C(2147483648));
    _done(t);
}

static void test_item_size(void **state)
{
    (void)state;
    struct run *t;
    /* Exactly half of -m is allowed (memcached: -m 2 -I 1m runs). */
    PARSE(t, "-m", "2", "-I", "1m");
    _assert_ok(t);
    _done(t);
    PARSE(t, "-I", "33m");   /* more than half of the default 64 MB */
    _assert_error(t, "-I/--max-item-size");
    _done(t);
    PARSE(t, "-m", "1");     /* the default 1m item is over half of 1 MB */
    _assert_error(t, "-I/--max-item-size");
    _done(t);
}

static void test_bool_flags(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "-M", "-d", "-A", "-C");
    _assert_ok(t);
    assert_false(t->cfg.evict);
    assert_true(t->cfg.daemonize);
    assert_true(t->cfg.enable_shutdown);
    assert_false(t->cfg.cas_enabled);
    _done(t);
    PARSE(t, "--disable-evictions", "--daemon", "--enable-shutdown", "--disable-cas");
    _assert_ok(t);
    assert_false(t->cfg.evict);
    assert_true(t->cfg.daemonize);
    assert_true(t->cfg.enable_shutdown);
    assert_false(t->cfg.cas_enabled);
    _done(t);
    PARSE(t, "-MdAC");   /* bundled */
    _assert_ok(t);
    assert_false(t->cfg.evict);
    assert_true(t->cfg.daemonize);
    assert_true(t->cfg.enable_shutdown);
    assert_false(t->cfg.cas_enabled);
    _done(t);
}

static void test_pidfile_user(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "-P", "/tmp/m.pid", "-u", "nobody");
    _assert_ok(t);
    assert_string_equal(t->cfg.pidfile, "/tmp/m.pid");
    assert_string_equal(t->cfg.user, "nobody");
    _done(t);
    PARSE(t, "--pidfile=/a.pid", "--user=daemon");
    _assert_ok(t);
    assert_string_equal(t->cfg.pidfile, "/a.pid");
    assert_string_equal(t->cfg.user, "daemon");
    _done(t);
    PARSE(t, "--pid-file", "/b.pid");
    _assert_ok(t);
    assert_string_equal(t->cfg.pidfile, "/b.pid");
    _done(t);
}

static void test_threads(void **state)
{
    (void)state;
    struct run *t;
    /* More than one: accepted, one line to err, still one thread. */
    PARSE(t, "--threads=4");
    assert_int_equal(t->r, CONFIG_OK);
    assert_int_equal(t->cfg.threads, 1);
    assert_non_null(strstr(t->err, "single-threaded"));
    assert_ptr_equal(strchr(t->err, '\n'), t->err + t->errlen - 1);
    _done(t);
}

static void test_extended(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "--extended=hashpower=20,modern,idle_timeout=5,lru_crawler,no_lru_crawler,"
             "maxconns_fast",
          "-o", "out_limit=64k");
    _assert_ok(t);
    assert_int_equal(t->cfg.idle_timeout, 5);
    assert_int_equal(t->cfg.out_limit, 64 * 1024);
    assert_false(t->cfg.crawler); /* the last of lru_crawler, no_lru_crawler */
    assert_int_equal(t->cfg.crawler_sleep, 100);
    assert_int_equal(t->cfg.crawler_tocrawl, 0);
    _done(t);
    PARSE(t, "-o", "lru_crawler_sleep=0,lru_crawler_tocrawl=4294967295");
    _assert_ok(t);
    assert_true(t->cfg.crawler);
    assert_int_equal(t->cfg.crawler_sleep, 0);
    assert_int_equal(t->cfg.crawler_tocrawl, UINT32_MAX);
    _done(t);
    PARSE(t, "-o", "large_client_flags");
    _assert_ok(t);
    assert_true(t->cfg.large_flags);
    assert_false(t->cfg.debug_time); /* off unless asked for */
    _done(t);
    PARSE(t, "-o", "large_client_flags=1"); /* a switch: a value is refused */
    _assert_error(t, "large_client_flags=1");
    _done(t);
    PARSE(t, "-o", "debug_time");
    _assert_ok(t);
    assert_true(t->cfg.debug_time);
    _done(t);
    PARSE(t, "-o", "debug_time=1"); /* a switch: a value is refused */
    _assert_error(t, "debug_time=1");
    _done(t);
    /* memcached's limits and words */
    PARSE(t, "-o", "bogus_key=1");
    _assert_error(t, "bogus_key");
    assert_non_null(strstr(t->err, "-o"));
    _done(t);
}

/* memcached 1.6.45's -o words for the table, connections, logger, slabs
 * and LRU (config_ext.c): each refused value with memcached's words (or
 * memg's reason), exit 1 as memcached's -o errors. */
static const struct {
    const char *arg, *error;
} ext_refused[] = {
    {"hashpower", "Missing numeric argument for hashpower"},
    {"hashpower=11", "Initial hashtable multiplier of 11 is too low"},
    {"hashpower=abc", "Initial hashtable multiplier of 0 is too low"},
    {"hashpower=33", "Initial hashtable multiplier of 33 is too high"},
    {"hash_algorithm", "Missing hash_algorithm argument"},
    {"hash_algorithm=md5", "Unknown hash_algorithm option (jenkins, murmur3, xxh3)"},
    {"hash_algorithm=murmur3", "memg's table has one hash function of its own"},
    {"hash_algorithm=jenkins", "not selectable; refused"},
    {"watcher_logbuf_size", "Missing watcher_logbuf_size argument"},
    {"watcher_logbuf_size=-1", "could not parse argument to watcher_logbuf_size"},
    {"watcher_logbuf_size=8k", "could not parse argument to watcher_logbuf_size"},
    {"watcher_logbuf_size=4194304", "could not parse argument to watcher_logbuf_size"},
    {"worker_logbuf_size", "Missing worker_logbuf_size argument"},
    {"worker_logbuf_size=x", "could not parse argument to worker_logbuf_size"},
    {"worker_logbuf_size=64", "no per-worker log buffer"},
    {"sock_cookie_id", "sock_cookie_id needs a number"},
    {"sock_cookie_id=4294967296", "sock_cookie_id needs a number"},
    {"read_buf_mem_limit", "Missing read_buf_mem_limit argument"},
    {"read_buf_mem_limit=x", "could not parse argument to read_buf_mem_limit"},
    {"read_buf_mem_limit=1", "only 0 is accepted"},
    {"tail_repair_time", "Missing numeric argument for tail_repair_time"},
    {"tail_repair_time=9", "Cannot set tail_repair_time to less than 10 seconds"},
    {"tail_repair_time=10", "nothing to repair); refused"},
    {"lru_maintainer", "memg has no segmented LRU"},
    {"hot_lru_pct", "Missing hot_lru_pct argument"},
    {"hot_lru_pct=0", "hot_lru_pct must be > 1 and < 80"},
    {"warm_lru_pct=80", "warm_lru_pct must be > 1 and < 80"},
    {"warm_lru_pct=40", "memg has no segmented LRU"},
    {"hot_max_factor", "Missing hot_max_factor argument"},
    {"hot_max_factor=0.0", "hot_max_factor must be > 0"},
    {"warm_max_factor=-2", "warm_max_factor must be > 0"},
    {"warm_max_factor=2.0", "memg has no segmented LRU"},
    {"temporary_ttl", "Missing temporary_ttl argument"},
    {"temporary_ttl=61", "memg has no temporary LRU"},
    {"slab_automove=3", "slab_automove must be between 0 and 2"},
    {"slab_automove_ratio", "Missing slab_automove_ratio argument"},
    {"slab_automove_ratio=0", "slab_automove_ratio must be > 0 and < 1"},
    {"slab_automove_ratio=1.01", "slab_automove_ratio must be > 0 and < 1"},
    {"slab_automove_window=2", "slab_automove_window must be > 2 and < 1800"},
    {"slab_automove_window=1801", "slab_automove_window must be > 2 and < 1800"},
    {"slab_chunk_max", "Missing slab_chunk_max argument"},
    {"slab_chunk_max=x", "could not parse argument to slab_chunk_max"},
    {"slab_chunk_max=0", "slab_chunk_max must be >= 0"},
    {"slab_chunk_max=1025", "slab_chunk_max must be specified in kilobytes."},
    /* gone from memcached 1.6.45 (or extstore's): its illegal suboption */
    {"lru_segmented", "illegal suboption \"lru_segmented\""},
    {"no_lru_segmented", "illegal suboption"},
    {"inline_ascii_response", "illegal suboption"},
    {"no_inline_ascii_response", "illegal suboption"},
    {"expirezero_does_not_evict", "illegal suboption"},
    {"slab_automove_freeratio=0.1", "illegal suboption"},
};

static void test_ext_words(void **state)
{
    (void)state;
    struct run *t;
    for (size_t i = 0; i < sizeof(ext_refused) / sizeof(ext_refused[0]); i++) {
        PARSE(t, "-o", (char *)ext_refused[i].arg);
        _assert_error(t, ext_refused[i].error);
        assert_true(t->cfg.bad_option); /* exit 1, as memcached's -o errors */
        _done(t);
    }
    PARSE(t, "-l", "127.0.0.1");
    assert_true(t->cfg.maxconns_fast);
    assert_int_equal(t->cfg.hash_power, 0);
    assert_false(t->cfg.no_hashexpand);
    assert_int_equal(t->cfg.watcher_logbuf, 256 << 10);
    assert_int_equal(t->cfg.sock_cookie_id, 0);
    assert_false(t->cfg.track_sizes);
    assert_false(t->cfg.no_lru_maintainer);
    _done(t);
    PARSE(t, "-o", "hashpower=12,no_hashexpand,no_maxconns_fast,watcher_logbuf_size=8,"
                   "sock_cookie_id=42,modern,inline_ascii_resp,no_inline_ascii_resp,"
                   "read_buf_mem_limit=0,track_sizes,no_lru_maintainer");
    _assert_ok(t);
    assert_true(t->cfg.track_sizes);
    assert_true(t->cfg.no_lru_maintainer); /* stats.t's: the maintainer's lines go */
    assert_int_equal(t->cfg.hash_power, 12);
    assert_true(t->cfg.no_hashexpand);
    assert_false(t->cfg.maxconns_fast);
    assert_int_equal(t->cfg.watcher_logbuf, 8 << 10);
    assert_int_equal(t->cfg.sock_cookie_id, 42);
    _done(t);
    PARSE(t, "-o", "no_maxconns_fast,hashpower=32,maxconns_fast,no_modern", "-m", "32768");
    _assert_ok(t);
    assert_int_equal(t->cfg.hash_power, 32);
    assert_false(t->cfg.maxconns_fast); /* no_modern: 1.4's defaults memg has */
    assert_false(t->cfg.crawler);
    _done(t);
    /* the table counts within -m: at most half of it */
    PARSE(t, "-o", "hashpower=23");
    _assert_ok(t);
    _done(t);
    PARSE(t, "-o", "hashpower=24", "-m", "64");
    assert_int_equal(t->r, CONFIG_ERROR);
    assert_false(t->cfg.bad_option); /* exit 64: a flags check, as -I against -m */
    _assert_error(t, "hashpower=24: its table (64 MB) would take more than half of -m 64");
    _done(t);
    /* memcached's own no-op, with its warning */
    PARSE(t, "-o", "resp_obj_mem_limit=5");
    assert_int_equal(t->r, CONFIG_OK);
    assert_string_equal(t->err, "DEPRECATED: resp_obj_mem_limit no longer used. See "
                                "read_buf_mem_limit,\n");
    _done(t);
}

/* The slab words: memcached's checks (and slab_chunk_max's against -I,
 * exit 64 as memcached's), then a one-line notice: memg has no slabs. */
static void test_slab_words(void **state)
{
    (void)state;
    const char *ok[] = {"slab_reassign", "no_slab_reassign", "slab_automove",
                        "slab_automove=0", "slab_automove=2", "no_slab_automove",
                        "slab_automove_ratio=0.8", "slab_automove_ratio=1",
                        "slab_automove_window=3", "slab_chunk_max=16"};
    struct run *t;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        PARSE(t, "-o", (char *)ok[i]);
        assert_int_equal(t->r, CONFIG_OK);
        assert_non_null(strstr(t->err, "memg: -o slab_*: memg has no slab classes"));
        assert_ptr_equal(strchr(t->err, '\n'), t->err + t->errlen - 1);
        _done(t);
    }
    PARSE(t, "-o", "slab_chunk_max=16", "-I", "8k");
    assert_int_equal(t->r, CONFIG_ERROR);
    assert_false(t->cfg.bad_option);
    assert_null(strstr(t->err, "no slab classes")); /* an error is the only line */
    assert_non_null(strstr(t->err, "slab_chunk_max (bytes: 16384) cannot be larger than -I "
                                   "(item_size_max 8192)"));
    _done(t);
    PARSE(t, "-o", "slab_chunk_max=3");
    assert_non_null(strstr(t->err, "-I (item_size_max: 1048576) must be evenly divisible by "
                                   "slab_chunk_max (bytes: 3072)"));
    _done(t);
    PARSE(t, "-I", "96k", "-o", "slab_chunk_max=48");
    assert_non_null(strstr(t->err, "slab_chunk_max (bytes: 49152) must divide evenly into "
                                   "1048576 (slab_page_size)"));
    _done(t);
}

static void test_strict_numbers(void **state)
{
    (void)state;
    struct run *t;
    const char *bad[] = {"abc", "", "12x", "-1", "+5", " 5", "70000", "65536", "0x10", "1.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = {"memg", "-p", (char *)bad[i], NULL};
        t = calloc(1, sizeof(*t));
        assert_non_null(t);
        _run(t, 3, argv);
        _assert_error(t, "-p/--port");
        _done(t);
    }
}

static void test_getopt_errors(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "-c");
    _assert_error(t, "-c/--conn-limit");
    assert_non_null(strstr(t->err, "missing argument"));
    _done(t);
}

/* -B, and what -S and -Y imply for it, as memcached decides. */
static void test_protocols(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "-p", "1");
    _assert_ok(t);
    assert_int_equal(t->cfg.protocol, CONFIG_PROTO_AUTO);
    assert_string_equal(config_protocol_name(t->cfg.protocol), "auto-negotiate");
    _done(t);
    PARSE(t, "-S");
    _assert_ok(t);
    assert_true(t->cfg.sasl);
    assert_int_equal(t->cfg.protocol, CONFIG_PROTO_BINARY);
    _done(t);
    PARSE(t, "-S", "-B", "binary");
    _assert_ok(t);
    _done(t);
    PARSE(t, "-Y", "/etc/memg-users");
    _assert_ok(t);
    assert_string_equal(t->cfg.auth_file, "/etc/memg-users");
    assert_int_equal(t->cfg.protocol, CONFIG_PROTO_ASCII);
    _done(t);
    PARSE(t, "-Y", "users", "-B", "binary");
    _assert_error(t, "ERROR: You cannot allow the BINARY protocol while using ascii "
                     "authentication tokens.");
    _done(t);
}

static void test_compat_noops(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "-f", "1.25", "-n", "48", "-B", "ascii");
    _assert_ok(t);
    assert_false(t->cfg.large_pages);
    assert_false(t->cfg.core_dumps);
    assert_false(t->cfg.lock_memory);
    _done(t);
    PARSE(t, "-r", "--lock-memory");
    _assert_ok(t);
    assert_true(t->cfg.core_dumps);
    assert_true(t->cfg.lock_memory);
    _done(t);
    static char *const factor_ok[] = {"1.01", "2", "01.5", "10", "1.25000", "3.", "1.000001"};
    for (size_t i = 0; i < sizeof factor_ok / sizeof *factor_ok; i++) {
        PARSE(t, "-f", factor_ok[i]);
        _assert_ok(t);
        _done(t);
    }
    static char *const factor_bad[] = {"1.0", "1", "0.5", ".5", "", ".", "1e3", "-2", "1.2x", "01"};
    for (size_t i = 0; i < sizeof factor_bad / sizeof *factor_bad; i++) {
        PARSE(t, "-f", factor_bad[i]);
        _assert_error(t, "-f/--slab-growth-factor");
        _done(t);
    }
}

static void test_help_version(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "-h");
    assert_int_equal(t->r, CONFIG_EXIT);
    assert_int_equal(t->errlen, 0);
    assert_non_null(strstr(t->out, "-p, --port=<num>"));
    assert_non_null(strstr(t->out, "127.0.0.1"));
    assert_non_null(strstr(t->out, "memg always runs one thread"));
    assert_non_null(strstr(t->out, "UDP"));
    _done(t);
    PARSE(t, "-p", "1", "--help");
    assert_int_equal(t->r, CONFIG_EXIT);
    _done(t);
    PARSE(t, "-V");
    assert_int_equal(t->r, CONFIG_EXIT);
    assert_int_equal(t->errlen, 0);
    assert_string_equal(t->out, "memg " MEMG_RELEASE " (memcached " MEMG_VERSION " compatible)\n");
    _done(t);
    PARSE(t, "--version");
    assert_int_equal(t->r, CONFIG_EXIT);
    assert_non_null(strstr(t->out, "memcached 1.6.18 compatible"));
    _done(t);
}

static void test_usage_lists_flags(void **state)
{
    (void)state;
    size_t len = 0;
    int fd = _memfile();
    config_usage(fd);
    char *text = _contents(fd, &len);
    const char *flags[] = {
        "-p, --port", "-U, --udp-port", "-s, --unix-socket", "-a, --unix-mask",
        "-A, --enable-shutdown", "-l, --listen", "-d, --daemon", "-u, --user",
        "-m, --memory-limit", "-M, --disable-evictions", "-c, --conn-limit",
        "-v, --verbose", "-vv", "-vvv", "-h, --help", "-V, --version", "-P, --pidfile",
        "-t, --threads", "-R, --max-reqs-per-event", "-C, --disable-cas",
        "-b, --listen-backlog", "-I, --max-item-size", "-o, --extended", "idle_timeout",
        "out_limit",
    };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (strstr(text, flags[i]) == NULL)
            fail_msg("usage lacks %s", flags[i]);
    }
    free(text);
}

/* -Z and memcached's -o ssl_* options: names, values, defaults, errors. */
static void test_tls_options(void **state)
{
    (void)state;
    struct run *t;
    PARSE(t, "-l", "127.0.0.1");
    _assert_ok(t);
    assert_false(t->cfg.tls.enabled);
    assert_int_equal(t->cfg.tls.keyformat, 1);
    assert_int_equal(t->cfg.tls.min_version, 2);
    assert_string_equal(config_tls_version_name(t->cfg.tls.min_version), "tlsv1.2");
    assert_int_equal(t->cfg.tls.wbuf_size, 16384);
    _done(t);
    PARSE(t, "--enable-ssl", "-o",
          "ssl_chain_cert=/c.pem,ssl_key=/k.pem,ssl_verify_mode=2,ssl_ca_cert=/ca.pem,"
          "ssl_ciphers=ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA,ssl_min_version=3,"
          "ssl_keyformat=1,ssl_session_cache,ssl_kernel_tls,ssl_wbuf_size=64",
          "-l", "notls:127.0.0.1:11212", "-l", "btls:127.0.0.1:11213", "-l",
          "mtls:127.0.0.1:11214");
    _assert_ok(t);
    assert_true(t->cfg.tls.enabled);
    assert_string_equal(t->cfg.tls.chain_cert, "/c.pem");
    assert_string_equal(t->cfg.tls.key, "/k.pem");
    assert_string_equal(t->cfg.tls.ca_cert, "/ca.pem");
    assert_string_equal(t->cfg.tls.ciphers, "ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA");
    assert_int_equal(t->cfg.tls.verify_mode, 2);
    assert_int_equal(t->cfg.tls.min_version, 3);
    assert_int_equal(t->cfg.tls.wbuf_size, 65536); /* given in KB, as memcached's */
    assert_true(t->cfg.tls.session_cache);
    assert_true(t->cfg.tls.kernel_tls);
    _done(t);
    static const struct {
        const char *flag, *arg, *error;
    } bad[] = {
        {"-o", "ssl_verify_mode=4", "Invalid ssl_verify_mode"},
        /* memcached's numbers 0..3; its words are refused as memcached refuses them */
        {"-o", "ssl_min_version=tlsv1.3", "could not parse argument to ssl_min_version"},
        {"-o", "ssl_min_version=4", "Invalid ssl_min_version. Use help to see valid options."},
        {"-o", "ssl_min_version=-1", "Invalid ssl_min_version"},
        {"-o", "ssl_wbuf_size=x", "could not parse argument to ssl_wbuf_size"},
        {"-o", "ssl_wbuf_size=0", "could not parse argument to ssl_wbuf_size"},
        {"-o", "ssl_keyformat=2", "ssl_keyformat"},
        {"-o", "ssl_chain_cert=", "ssl_chain_cert"},
        {"-l", "notls:127.0.0.1:11212", "'notls' option is valid only when SSL is enabled"},
        {"-l", "btls:127.0.0.1:11212", "'btls' option is valid only when SSL is enabled"},
        {"-l", "mtls:127.0.0.1:11212", "'otls' option is valid only when SSL is enabled"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* notls/btls/mtls without -Z is the error memcached gives; the others with it */
        PARSE(t, bad[i].flag[1] == 'l' ? "-v" : "-Z", (char *)bad[i].flag, (char *)bad[i].arg);
        _assert_error(t, bad[i].error);
        _done(t);
    }
}

static void test_reparse(void **state)
{
    (void)state;
    struct run *t;
    /* getopt state is reset per call: a second parse sees all its flags. */
    PARSE(t, "-vv", "-p", "1");
    _assert_ok(t);
    _done(t);
    PARSE(t, "-v", "-p", "2");
    _assert_ok(t);
    assert_int_equal(t->cfg.verbose, 1);
    assert_int_equal(t->cfg.port, 2);
    _done(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_table),
        cmocka_unit_test(test_accepted_table),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_listen_lists),
        cmocka_unit_test(test_unix_socket_and_mask),
        cmocka_unit_test(test_udp),
        cmocka_unit_test(test_conn_limit_backlog_reqs),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_item_size),
        cmocka_unit_test(test_bool_flags),
        cmocka_unit_test(test_pidfile_user),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_extended),
        cmocka_unit_test(test_ext_words),
        cmocka_unit_test(test_slab_words),
        cmocka_unit_test(test_strict_numbers),
        cmocka_unit_test(test_getopt_errors),
        cmocka_unit_test(test_compat_noops),
        cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_help_version),
        cmocka_unit_test(test_usage_lists_flags),
        cmocka_unit_test(test_reparse),
        cmocka_unit_test(test_tls_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
