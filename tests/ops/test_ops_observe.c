/* Unit tests of ops_observe: what `stats detail` counts and what `watch`
 * shows of each operation, through the text protocol against a real
 * store. The expected lines are memcached 1.6.45's for the same requests
 * (its timestamp and gid aside): fetches, stores with their ttl and
 * status, deletions and evictions with uri-encoded keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drive.h"
#include "lib/log.h"
#include "ops/prefix.h"

struct fixture {
    struct drive_env e; /* first: drive_fixture_setup */
    struct out watch;   /* a watcher's stream */
    char reply[1 << 20];
};

static void _wake(void *arg) { (void)arg; }

static int setup(void **state)
{
    if (drive_fixture_setup(state, sizeof(struct fixture), &text_protocol))
        return -1;
    struct fixture *f = *state;
    out_init(&f->watch, NULL, NULL);
    f->e.ctx.prefixes = prefix_create(':');
    log_fd = 28;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    log_unwatch(&f->watch);
    out_reset(&f->watch);
    prefix_destroy(f->e.ctx.prefixes);
    return drive_fixture_teardown(state);
}

static const char *_run(struct fixture *f, const char *in)
{
    size_t len = strlen(in);
    assert_int_equal(drive(&text_protocol, &f->e.ses, &f->e.ctx, in, len, &f->e.out, &f->e.last),
                     len);
    drive_collect(&f->e.out, f->reply);
    return f->reply;
}

/* The watcher's lines with "ts=... gid=N " cut off each, gids checked to
 * count up by one. */
static const char *_watched(struct fixture *f)
{
    static char raw[1 << 16], lines[1 << 16];
    drive_collect(&f->watch, raw);
    char *o = lines;
    unsigned long long last = 0;
    for (char *p = raw; *p;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_memory_equal(p, "ts=", 3);
        char *g = strstr(p, " gid=");
        assert_true(g && g < nl);
        unsigned long long gid = strtoull(g + 5, &p, 10);
        assert_true(last == 0 || gid == last + 1);
        last = gid;
        assert_int_equal(*p++, ' ');
        memcpy(o, p, (size_t)(nl + 1 - p));
        o += nl + 1 - p;
        p = nl + 1;
    }
    *o = '\0';
    return lines;
}

static void test_fetchers_and_mutations(void **state)
{
    struct fixture *f = *state;
    assert_true(log_watch(&f->watch, LOG_W_FETCHERS | LOG_W_MUTATIONS, _wake, NULL));
    _run(f, "get u:1\r\n");
    _run(f, "set u:1 0 100 1\r\nx\r\n");
    _run(f, "get u:1\r\n");
    assert_string_equal(_run(f, "touch u:1 0\r\n"), "TOUCHED\r\n");
    _run(f, "gat 0 u:1\r\n");
    assert_string_equal(_run(f, "add u:1 0 0 1\r\ny\r\n"), "NOT_STORED\r\n");
    _run(f, "ms u:2 1\r\nz\r\n");
    _run(f, "get plain\r\n");
    assert_string_equal(
        _watched(f),
        "type=item_get key=u%3A1 status=not_found clsid=0 cfd=28 size=0\n"
        "type=item_get key=u%3A1 status=not_found clsid=0 cfd=28 size=0\n"
        "type=item_store key=u%3A1 status=stored cmd=set ttl=100 clsid=1 cfd=28 size=1\n"
        "type=item_get key=u%3A1 status=found clsid=1 cfd=28 size=1\n"
        "type=item_get key=u%3A1 status=found clsid=1 cfd=28 size=1\n"
        "type=item_get key=u%3A1 status=found clsid=1 cfd=28 size=1\n"
        "type=item_get key=u%3A1 status=found clsid=1 cfd=28 size=1\n"
        "type=item_store key=u%3A1 status=not_stored cmd=add ttl=0 clsid=1 cfd=28 size=1\n"
        "type=item_get key=u%3A2 status=not_found clsid=0 cfd=28 size=0\n"
        "type=item_store key=u%3A2 status=stored cmd=set ttl=0 clsid=1 cfd=28 size=1\n"
        "type=item_get key=plain status=not_found clsid=0 cfd=28 size=0\n");
    /* mutations alone: the stores, the cas outcomes */
    log_unwatch(&f->watch);
    _run(f, "set u:1 0 100 1\r\nx\r\n"); /* touch took its ttl */
    assert_true(log_watch(&f->watch, LOG_W_MUTATIONS, _wake, NULL));
    _run(f, "replace nope 0 0 1\r\na\r\n");
    _run(f, "cas u:1 0 0 1 999999\r\nb\r\n");
    _run(f, "append u:1 0 0 2\r\nbc\r\n");
    _run(f, "cas nope 0 0 1 5\r\nb\r\n");
    assert_string_equal(
        _watched(f),
        "type=item_store key=nope status=not_stored cmd=replace ttl=0 clsid=1 cfd=28 size=1\n"
        "type=item_store key=u%3A1 status=exists cmd=cas ttl=0 clsid=1 cfd=28 size=1\n"
        /* the joined item: its size, the ttl it had */
        "type=item_store key=u%3A1 status=stored cmd=append ttl=100 clsid=1 cfd=28 size=3\n"
        "type=item_store key=nope status=not_found cmd=cas ttl=0 clsid=1 cfd=28 size=1\n");
    log_unwatch(&f->watch);
    assert_int_equal(log_watching, 0);
}

static void test_deletions(void **state)
{
    struct fixture *f = *state;
    _run(f, "set a b 0 0 1\r\nx\r\n"); /* an error line, nothing stored */
    _run(f, "set u:1 0 0 1\r\nx\r\n");
    _run(f, "set u:2 0 0 2\r\nxy\r\n");
    assert_true(log_watch(&f->watch, LOG_W_DELETIONS, _wake, NULL));
    assert_string_equal(_run(f, "delete u:1\r\n"), "DELETED\r\n");
    assert_string_equal(_run(f, "delete u:1\r\n"), "NOT_FOUND\r\n"); /* nothing deleted */
    assert_string_equal(_run(f, "md u:2\r\n"), "HD\r\n");
    assert_string_equal(_watched(f), "type=deleted key=u%3A1 cmd=delete clsid=1 size=1\n"
                                     "type=deleted key=u%3A2 cmd=md clsid=1 size=2\n");
}

static void test_evictions(void **state)
{
    struct fixture *f = *state;
    store_on_evict(f->e.store, ops_observe_evicted, &f->e.ctx);
    assert_true(log_watch(&f->watch, LOG_W_EVICTIONS, _wake, NULL));
    static char req[70000];
    for (int i = 0; i < 400 && out_pending(&f->watch) == 0; i++) {
        int n = snprintf(req, sizeof(req), "set e:%d 0 0 65000\r\n", i);
        memset(req + n, 'v', 65000);
        memcpy(req + n + 65000, "\r\n", 3);
        assert_string_equal(_run(f, req), "STORED\r\n");
    }
    const char *w = _watched(f);
    /* an item never fetched, no ttl, set at this (fixed) clock second */
    assert_memory_equal(w, "type=eviction key=e%3A", 22);
    assert_non_null(strstr(w, " fetch=no ttl=-1 la=0 clsid=1\n"));
}

/* `stats detail dump` after classic commands: memcached's counts (gat
 * counts as a get, touch does not; add counts as a set whether stored or
 * not; a delete whether it found the key or not). */
static void test_detail(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(_run(f, "stats detail on\r\n"), "OK\r\n");
    assert_true(f->e.ctx.detail);
    _run(f, "get u:1\r\n");
    _run(f, "set u:1 0 100 1\r\nx\r\n");
    _run(f, "get u:1\r\n");
    _run(f, "touch u:1 0\r\n");
    _run(f, "gat 0 u:1\r\n");
    _run(f, "add u:1 0 0 1\r\ny\r\n");
    _run(f, "delete u:1\r\n");
    _run(f, "delete u:1\r\n");
    _run(f, "incr u:3 1\r\n");
    _run(f, "get plain\r\n");
    _run(f, "get other:a other:b\r\n");
    const char *d = _run(f, "stats detail dump\r\n"); /* in the hash's order */
    static const char other[] = "PREFIX other get 2 hit 0 set 0 del 0\r\n",
                      u[] = "PREFIX u get 3 hit 2 set 2 del 2\r\n";
    assert_int_equal(strlen(d), strlen(other) + strlen(u) + 5);
    assert_non_null(strstr(d, other));
    assert_non_null(strstr(d, u));
    assert_string_equal(d + strlen(d) - 5, "END\r\n");
    /* off: nothing more is counted */
    assert_string_equal(_run(f, "stats detail off\r\n"), "OK\r\n");
    _run(f, "get u:1\r\n");
    f->e.ctx.detail = true;
    d = _run(f, "stats detail dump\r\n");
    assert_non_null(strstr(d, "PREFIX u get 3 hit 2 set 2 del 2\r\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetchers_and_mutations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evictions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detail, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
