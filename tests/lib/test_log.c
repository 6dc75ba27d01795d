/* Unit tests of log.c: -vv lines in memcached's words (stderr captured in a
 * file), and `watch` streams: kinds, wake-ups, drop-and-count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/log.h"
#include "lib/out.h"
#include "lib/stats.h"

static void _no_unpin(void *arg, uint32_t pin)
{
    (void)arg;
    (void)pin;
}

/* What fn wrote to stderr, NUL-terminated in buf. */
static void _stderr_of(void (*fn)(void), char *buf, size_t cap)
{
    char path[] = "/tmp/memg-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, buf, cap - 1, 0);
    assert_true(n >= 0);
    buf[n] = '\0';
    close(fd);
    unlink(path);
}

static void _exchange_get(void)
{
    struct out o;
    out_init(&o, _no_unpin, NULL);
    const char reply[] = "VALUE k 0 5\r\nhello\r\nEND\r\n";
    out_copy(&o, reply, sizeof(reply) - 1);
    log_exchange(7, "text", "get k\r\n", 7, &o, sizeof(reply) - 1);
    log_noreply("STORED", 6);
    log_exchange(7, "text", "set q 0 0 1 noreply\r\n", 21, &o, 0);
    out_reset(&o);
}

static void test_exchange_lines(void **state)
{
    (void)state;
    char got[1024];
    _stderr_of(_exchange_get, got, sizeof(got));
    assert_string_equal(got, "<7 get k\n>7 sending key k\n>7 END\n"
                             "<7 set q 0 0 1 noreply\n>7 NOREPLY STORED\n");
}

static void _exchange_bin(void)
{
    struct out o;
    out_init(&o, _no_unpin, NULL);
    unsigned char res[24] = {0x81, 0x0b};
    out_copy(&o, res, sizeof(res));
    unsigned char req[24] = {0x80, 0x0b};
    log_exchange(3, "binary", (const char *)req, sizeof(req), &o, sizeof(res));
    out_reset(&o);
}

static void test_exchange_binary_header(void **state)
{
    (void)state;
    char got[2048];
    _stderr_of(_exchange_bin, got, sizeof(got));
    assert_non_null(strstr(got, "<3 Read binary protocol data:\n<3    0x80 0x0b 0x00 0x00\n"));
    assert_non_null(strstr(got, ">3 Writing bin response:\n>3   0x81 0x0b 0x00 0x00\n"));
}

static unsigned woken;
static void _wake(void *arg)
{
    (void)arg;
    woken++;
}

/* Everything pending in o, as one string (the test's lines are short). */
static const char *_text(struct out *o, char *buf)
{
    size_t n = 0;
    for (uint32_t i = o->first; i < o->npieces; i++) {
        memcpy(buf + n, o->copy.data + o->pieces[i].off, o->pieces[i].len);
        n += o->pieces[i].len;
    }
    buf[n] = '\0';
    return buf;
}

static void test_watch_kinds_and_wake(void **state)
{
    (void)state;
    struct stats st = {0};
    log_setup(&st);
    struct out o;
    out_init(&o, _no_unpin, NULL);
    woken = 0;
    assert_int_equal(log_watching, 0);
    assert_true(log_watch(&o, LOG_W_FETCHERS | LOG_W_EVICTIONS, _wake, NULL));
    assert_int_equal(log_watching, LOG_W_FETCHERS | LOG_W_EVICTIONS);
    assert_int_equal(st.log_watchers, 1);
    log_event(LOG_W_FETCHERS, "key=a status=found");
    log_event(LOG_W_MUTATIONS, "key=b"); /* not asked for */
    static char buf[1 << 19];
    const char *t = _text(&o, buf);
    assert_int_equal(strncmp(t, "ts=", 3), 0);
    assert_non_null(strstr(t, " key=a status=found\n"));
    assert_null(strstr(t, "key=b"));
    assert_int_equal(woken, 1);
    assert_int_equal(st.log_watcher_sent, 1);
    log_unwatch(&o);
    assert_int_equal(log_watching, 0);
    assert_int_equal(st.log_watchers, 0);
    out_reset(&o);
    log_setup(NULL);
}

/* A watcher that does not read: lines past LOG_WATCH_BUF are dropped and
 * counted, then announced once there is room again. */
static void test_watch_drops_and_counts(void **state)
{
    (void)state;
    struct stats st = {0};
    log_setup(&st);
    struct out o;
    out_init(&o, _no_unpin, NULL);
    assert_true(log_watch(&o, LOG_W_MUTATIONS, _wake, NULL));
    char body[900];
    memset(body, 'x', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    unsigned sent = 0;
    while (out_pending(&o) + 1000 < LOG_WATCH_BUF) {
        log_event(LOG_W_MUTATIONS, "%s", body);
        sent++;
    }
    log_event(LOG_W_MUTATIONS, "%s", body);
    log_event(LOG_W_MUTATIONS, "%s", body);
    assert_true(st.log_watcher_skipped >= 1);
    uint64_t skipped = st.log_watcher_skipped;
    assert_int_equal(st.log_watcher_sent + skipped, sent + 2);
    out_reset(&o); /* the watcher caught up */
    out_init(&o, _no_unpin, NULL);
    log_event(LOG_W_MUTATIONS, "key=after");
    static char buf[4096];
    const char *t = _text(&o, buf);
    char note[48];
    snprintf(note, sizeof(note), "skipped=%llu\n", (unsigned long long)skipped);
    assert_int_equal(strncmp(t, note, strlen(note)), 0);
    assert_non_null(strstr(t, " key=after\n"));
    log_unwatch(&o);
    out_reset(&o);
    log_setup(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exchange_lines),
        cmocka_unit_test(test_exchange_binary_header),
        cmocka_unit_test(test_watch_kinds_and_wake),
        cmocka_unit_test(test_watch_drops_and_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
