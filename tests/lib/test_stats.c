/* Tests for stats: line format, memcached 1.6.18's order of `stats` names,
 * true values where memg has them, and `stats reset` keeping the gauges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/stats.h"

struct sink {
    char text[16384];
    size_t len;
    int calls;
};

/* Pairs written as the text protocol writes them: "STAT name value\r\n". */
static void _emit(void *arg, const char *name, size_t nname, const char *value, size_t nvalue)
{
    struct sink *k = arg;
    assert_true(k->len + 5 + nname + 1 + nvalue + 2 < sizeof(k->text));
    k->len += (size_t)sprintf(k->text + k->len, "STAT %.*s %.*s\r\n", (int)nname, name,
                              (int)nvalue, value);
    k->calls++;
}

/* The names `stats` prints on memcached 1.6.45 (defaults), in its order,
 * without "libevent" (memg has none). Captured from the real server; 1.6.18
 * had slab_reassign_evictions_nomem where 1.6.45 has slab_reassign_busy_nomem
 * (after busy_deletes) and slab_reassign_last_busy_status. */
static const char *const memcached_names[] = {
    "pid", "uptime", "time", "version", "pointer_size", "rusage_user",
    "rusage_system", "max_connections", "curr_connections", "total_connections",
    "rejected_connections", "connection_structures", "response_obj_oom",
    "response_obj_count", "response_obj_bytes", "read_buf_count", "read_buf_bytes",
    "read_buf_bytes_free", "read_buf_oom", "reserved_fds", "cmd_get", "cmd_set",
    "cmd_flush", "cmd_touch", "cmd_meta", "get_hits", "get_misses", "get_expired",
    "get_flushed", "delete_misses", "delete_hits", "incr_misses", "incr_hits",
    "decr_misses", "decr_hits", "cas_misses", "cas_hits", "cas_badval", "touch_hits",
    "touch_misses", "store_too_large", "store_no_memory", "auth_cmds", "auth_errors",
    "bytes_read", "bytes_written", "limit_maxbytes", "accepting_conns",
    "listen_disabled_num", "time_in_listen_disabled_us", "threads", "conn_yields",
    "hash_power_level", "hash_bytes", "hash_is_expanding", "slab_reassign_rescues",
    "slab_reassign_chunk_rescues", "slab_reassign_inline_reclaim",
    "slab_reassign_busy_items", "slab_reassign_busy_deletes", "slab_reassign_busy_nomem",
    "slab_reassign_last_busy_status", "slab_reassign_running", "slabs_moved",
    "lru_crawler_running", "lru_crawler_starts", "lru_maintainer_juggles",
    "malloc_fails", "log_worker_dropped", "log_worker_written", "log_watcher_skipped",
    "log_watcher_sent", "log_watchers", "unexpected_napi_ids", "round_robin_fallback",
    "bytes", "curr_items", "total_items", "slab_global_page_pool", "expired_unfetched",
    "evicted_unfetched", "evicted_active", "evictions", "reclaimed",
    "crawler_reclaimed", "crawler_items_checked", "lrutail_reflocked", "moves_to_cold",
    "moves_to_warm", "moves_within_lru", "direct_reclaims", "lru_bumps_dropped",
};
#define N_MC (sizeof(memcached_names) / sizeof(memcached_names[0]))

/* memg's own names, printed after memcached's. */
static const char *const memg_names[] = {"segments_total", "segments_free", "segment_size",
                                         "restored_items", "restore_time_us"};
#define N_MEMG (sizeof(memg_names) / sizeof(memg_names[0]))

static const struct stats_env env = {
    .pid = 4242,
    .started = 1700000000,
    .now = 1700000100,
    .version = "1.6.18",
    .limit_maxbytes = UINT64_C(3221225472),
    .threads = 1,
    .max_connections = 1024,
};

/* Value of "STAT name <value>\r\n" in text, copied into buf; NULL if absent. */
static const char *_value(const char *text, const char *name, char *buf, size_t len)
{
    char key[96];
    snprintf(key, sizeof(key), "STAT %s ", name);
    const char *p = strstr(text, key);
    while (p != NULL && p != text && p[-1] != '\n')
        p = strstr(p + 1, key);
    if (p == NULL)
        return NULL;
    p += strlen(key);
    size_t n = strcspn(p, "\r");
    assert_true(n < len);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

static void _assert_stat(const char *text, const char *name, const char *want)
{
    char buf[64];
    const char *got = _value(text, name, buf, sizeof(buf));
    if (got == NULL)
        fail_msg("no STAT %s", name);
    if (strcmp(got, want) != 0)
        fail_msg("STAT %s is \"%s\", want \"%s\"", name, got, want);
}

static void test_line_format(void **state)
{
    (void)state;
    struct sink k = {.len = 0};
    stats_line(_emit, &k, "cmd_get", "%d", 42);
    assert_string_equal(k.text, "STAT cmd_get 42\r\n");
    assert_int_equal(k.len, strlen("STAT cmd_get 42\r\n"));
    assert_int_equal(k.calls, 1);
    stats_line(_emit, &k, "version", "%s", "1.6.18");
    assert_string_equal(k.text, "STAT cmd_get 42\r\nSTAT version 1.6.18\r\n");
    assert_int_equal(k.calls, 2);
}

static void test_line_truncates_safely(void **state)
{
    (void)state;
    struct sink k = {.len = 0};
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    stats_line(_emit, &k, "long", "%s", big);
    assert_true(k.len <= 256);
    assert_memory_equal(k.text, "STAT long xxx", 13);
    assert_memory_equal(k.text + k.len - 2, "\r\n", 2);
    assert_null(memchr(k.text, '\0', k.len));

    struct sink k2 = {.len = 0};
    stats_line(_emit, &k2, big, "%d", 1);   /* a huge name, too */
    assert_true(k2.len <= 256);
    assert_memory_equal(k2.text + k2.len - 2, "\r\n", 2);
    assert_null(memchr(k2.text, '\0', k2.len));
}

static void test_general_order_and_format(void **state)
{
    (void)state;
    struct stats s;
    memset(&s, 0, sizeof(s));
    static struct sink k;
    memset(&k, 0, sizeof(k));
    stats_print_general(&s, &env, _emit, &k);

    /* Every line is "STAT <name> <value>\r\n". */
    size_t i = 0;
    const char *p = k.text;
    while (strncmp(p, "STAT ", 5) == 0) {
        const char *name = p + 5;
        size_t nlen = strcspn(name, " \r\n");
        assert_int_equal(name[nlen], ' ');
        const char *val = name + nlen + 1;
        size_t vlen = strcspn(val, " \r\n");
        assert_true(vlen > 0);
        assert_memory_equal(val + vlen, "\r\n", 2);
        const char *want = i < N_MC ? memcached_names[i]
                           : i < N_MC + N_MEMG ? memg_names[i - N_MC] : "(none)";
        if (strlen(want) != nlen || memcmp(name, want, nlen) != 0)
            fail_msg("line %zu is %.*s, want %s", i, (int)nlen, name, want);
        i++;
        p = val + vlen + 2;
    }
    assert_int_equal(i, N_MC + N_MEMG);
    assert_string_equal(p, ""); /* the terminator is the wire's */
    assert_int_equal(k.calls, (int)(N_MC + N_MEMG));   /* one emit a pair */
    assert_null(strstr(k.text, "libevent"));
}

/* memcached prints the crawler's two lines only with the crawler on, and the
 * LRU maintainer's seven only with its thread (stats.t starts with
 * -o no_lru_crawler,no_lru_maintainer and counts 84 names, libevent's too). */
static void test_general_without_crawler_or_maintainer(void **state)
{
    (void)state;
    static const char *const gone[] = {"lru_crawler_running", "lru_crawler_starts",
                                       "lru_maintainer_juggles", "evicted_active",
                                       "moves_to_cold", "moves_to_warm", "moves_within_lru",
                                       "direct_reclaims", "lru_bumps_dropped"};
    struct stats s;
    memset(&s, 0, sizeof(s));
    struct stats_env e = env;
    e.no_lru_crawler = true;
    e.no_lru_maintainer = true;
    static struct sink k;
    memset(&k, 0, sizeof(k));
    stats_print_general(&s, &e, _emit, &k);
    assert_int_equal(k.calls, (int)(N_MC + N_MEMG - 9));
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
        char line[64];
        snprintf(line, sizeof(line), "STAT %s ", gone[i]);
        if (strstr(k.text, line))
            fail_msg("%s printed", gone[i]);
    }
    _assert_stat(k.text, "slab_reassign_last_busy_status", "none");
    _assert_stat(k.text, "crawler_items_checked", "0"); /* the totals stay */
    e.no_lru_maintainer = false; /* the crawler alone */
    memset(&k, 0, sizeof(k));
    stats_print_general(&s, &e, _emit, &k);
    assert_int_equal(k.calls, (int)(N_MC + N_MEMG - 2));
    _assert_stat(k.text, "moves_to_cold", "0");
}

static void test_general_values(void **state)
{
    (void)state;
    struct stats s;
    memset(&s, 0, sizeof(s));
    s.curr_connections = 3;
    s.total_connections = 10;
    s.cmd_get = 7;
    s.cmd_set = 8;
    s.cmd_meta = 2;
    s.get_hits = 5;
    s.get_misses = 2;
    s.store_too_large = 1;
    s.bytes_read = UINT64_C(5000000000);   /* past 32 bits */
    s.curr_items = 99;
    s.bytes = 12345;
    s.hash_power_level = 16;
    s.evictions = 4;
    s.crawler_reclaimed = 6;
    s.segment_size = 1048576;
    static struct sink k;
    memset(&k, 0, sizeof(k));
    stats_print_general(&s, &env, _emit, &k);

    _assert_stat(k.text, "pid", "4242");
    _assert_stat(k.text, "uptime", "100");
    _assert_stat(k.text, "time", "1700000100");
    _assert_stat(k.text, "version", "1.6.18");
    _assert_stat(k.text, "pointer_size", sizeof(void *) == 8 ? "64" : "32");
    _assert_stat(k.text, "max_connections", "1024");
    _assert_stat(k.text, "curr_connections", "3");
    _assert_stat(k.text, "total_connections", "10");
    _assert_stat(k.text, "cmd_get", "7");
    _assert_stat(k.text, "cmd_set", "8");
    _assert_stat(k.text, "cmd_meta", "2");
    _assert_stat(k.text, "get_hits", "5");
    _assert_stat(k.text, "get_misses", "2");
    _assert_stat(k.text, "store_too_large", "1");
    _assert_stat(k.text, "bytes_read", "5000000000");
    _assert_stat(k.text, "limit_maxbytes", "3221225472");
    _assert_stat(k.text, "accepting_conns", "1");
    _assert_stat(k.text, "threads", "1");
    _assert_stat(k.text, "hash_power_level", "16");
    _assert_stat(k.text, "bytes", "12345");
    _assert_stat(k.text, "curr_items", "99");
    _assert_stat(k.text, "evictions", "4");
    _assert_stat(k.text, "crawler_reclaimed", "6");
    _assert_stat(k.text, "segment_size", "1048576");
    _assert_stat(k.text, "auth_cmds", "0");
    _assert_stat(k.text, "reserved_fds", "0");

    /* rusage: seconds with six decimals, as memcached prints it. */
    const char *names[] = {"rusage_user", "rusage_system"};
    for (size_t i = 0; i < 2; i++) {
        char buf[64];
        const char *v = _value(k.text, names[i], buf, sizeof(buf));
        assert_non_null(v);
        const char *dot = strchr(v, '.');
        assert_non_null(dot);
        assert_true(dot > v);
        assert_int_equal(strlen(dot + 1), 6);
        assert_int_equal(strspn(v, "0123456789"), (size_t)(dot - v));
        assert_int_equal(strspn(dot + 1, "0123456789"), 6);
    }

    /* accept paused: accepting_conns 0. */
    s.listen_disabled = 1;
    memset(&k, 0, sizeof(k));
    stats_print_general(&s, &env, _emit, &k);
    _assert_stat(k.text, "accepting_conns", "0");
}

static void test_reset_keeps_gauges(void **state)
{
    (void)state;
    struct stats s;
    /* Every field nonzero (0x0101... pattern). */
    memset(&s, 1, sizeof(s));
    const uint64_t one = UINT64_C(0x0101010101010101);
    stats_reset(&s);

    /* Gauges: what exists now. */
    assert_true(s.curr_connections == one);
    assert_true(s.connection_structures == one);
    assert_true(s.listen_disabled == one);
    assert_true(s.read_buf_count == one);
    assert_true(s.read_buf_bytes == one);
    assert_true(s.read_buf_bytes_free == one);
    assert_true(s.curr_items == one);
    assert_true(s.bytes == one);
    assert_true(s.hash_bytes == one);
    assert_true(s.hash_power_level == one);
    assert_true(s.hash_is_expanding == one);
    assert_true(s.segments_total == one);
    assert_true(s.segments_free == one);
    assert_true(s.segment_size == one);
    assert_true(s.restored_items == one);
    assert_true(s.restore_time_us == one);
    assert_true(s.log_watchers == one);
    assert_true(s.lru_crawler_running == one);

    /* Counters: what memcached 1.6.18's `stats reset` zeroes. */
    const uint64_t counters[] = {
        s.total_connections, s.rejected_connections, s.listen_disabled_num,
        s.conn_yields, s.time_in_listen_disabled_us, s.read_buf_oom,
        s.cmd_get, s.cmd_set, s.cmd_flush, s.cmd_touch, s.cmd_meta,
        s.get_hits, s.get_misses, s.get_expired, s.get_flushed,
        s.delete_hits, s.delete_misses, s.incr_hits, s.incr_misses,
        s.decr_hits, s.decr_misses, s.cas_hits, s.cas_misses, s.cas_badval,
        s.touch_hits, s.touch_misses, s.auth_cmds, s.auth_errors, s.bytes_read, s.bytes_written,
        s.store_too_large, s.store_no_memory, s.total_items, s.evictions,
        s.reclaimed, s.expired_unfetched, s.evicted_unfetched,
        s.crawler_reclaimed, s.crawler_items_checked, s.lru_crawler_starts, s.malloc_fails,
        s.idle_kicks,
        s.log_worker_written, s.log_watcher_sent, s.log_watcher_skipped,
        s.ssl_handshake_errors, s.ssl_new_sessions,
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        if (counters[i] != 0)
            fail_msg("counter #%zu not reset", i);
    }
    /* Nothing else: gauges (18 fields) + counters cover the struct. */
    assert_int_equal(sizeof(s), (18 + sizeof(counters) / sizeof(counters[0])) * 8);
}

/* One table: every field of struct stats is printed by `stats` (all but
 * listen_disabled, which `accepting_conns` shows), each exactly once. */
static void test_every_field_printed_once(void **state)
{
    (void)state;
    struct stats s;
    memset(&s, 1, sizeof(s));
    struct stats_env e = env;
    e.idle_timeout = true;
    e.tls = e.tls_sessions = true;
    e.cert_time = e.now - 7;
    static struct sink k;
    memset(&k, 0, sizeof(k));
    stats_print_general(&s, &e, _emit, &k);
    size_t n = 0;
    for (const char *p = k.text; (p = strstr(p, " 72340172838076673\r\n")) != NULL; p++)
        n++;
    assert_int_equal(n, sizeof(s) / 8 - 1);
    _assert_stat(k.text, "idle_kicks", "72340172838076673");
    _assert_stat(k.text, "time_since_server_cert_refresh", "7");
    memset(&k, 0, sizeof(k));
    stats_print_general(&s, &env, _emit, &k); /* memcached: only with idle_timeout */
    char buf[32];
    assert_null(_value(k.text, "idle_kicks", buf, sizeof(buf)));
    /* the ssl_* stats only under -Z, ssl_new_sessions only with the cache */
    assert_null(_value(k.text, "ssl_handshake_errors", buf, sizeof(buf)));
    assert_null(_value(k.text, "time_since_server_cert_refresh", buf, sizeof(buf)));
    e.tls_sessions = false;
    memset(&k, 0, sizeof(k));
    stats_print_general(&s, &e, _emit, &k);
    assert_null(_value(k.text, "ssl_new_sessions", buf, sizeof(buf)));
    _assert_stat(k.text, "ssl_handshake_errors", "72340172838076673");
    _assert_stat(k.text, "rejected_connections", "72340172838076673");
    e.no_maxconns_fast = true; /* memcached 1.6.45: only with maxconns_fast */
    memset(&k, 0, sizeof(k));
    stats_print_general(&s, &e, _emit, &k);
    assert_null(_value(k.text, "rejected_connections", buf, sizeof(buf)));
    _assert_stat(k.text, "total_connections", "72340172838076673");
}

/* /metrics' names: memcached_exporter's, each stat once, counters in _total. */
static void _metric(void *arg, const char *name, const char *metric, char type)
{
    int *n = arg;
    (*n)++;
    assert_true(type == 'c' || type == 'g');
    assert_true(strncmp(metric, "memcached_", 10) == 0 || strncmp(metric, "memg_", 5) == 0);
    if (type == 'c')
        assert_non_null(strstr(metric, "_total"));
    assert_non_null(name);
}

static void test_metrics_names(void **state)
{
    (void)state;
    int n = 0;
    stats_metrics(_metric, &n);
    assert_true(n > 25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_format),
        cmocka_unit_test(test_line_truncates_safely),
        cmocka_unit_test(test_general_order_and_format),
        cmocka_unit_test(test_general_without_crawler_or_maintainer),
        cmocka_unit_test(test_general_values),
        cmocka_unit_test(test_reset_keeps_gauges),
        cmocka_unit_test(test_every_field_printed_once),
        cmocka_unit_test(test_metrics_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
