/* Unit tests of the HTTP front: the request-head parser alone (every
 * prefix incomplete, input right before an unreadable page), then the
 * protocol through drive.h against a real store: no socket, no loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "drive.h"
#include "proto/http/http.h"

/* Copy s right before an unreadable page, so any over-read faults. */
static long parse_guarded(struct http_req *r, const char *s, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = (n + page - 1) / page + 1;
    char *m = mmap(NULL, (pages + 1) * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + pages * page, page, PROT_NONE), 0);
    char *p = m + pages * page - n;
    memcpy(p, s, n);
    long rc = http_parse(r, p, n);
    munmap(m, (pages + 1) * page);
    return rc;
}

/* A valid head: every proper prefix is incomplete, the whole is its length. */
static void parse_ok(struct http_req *r, const char *s)
{
    size_t n = strlen(s);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(parse_guarded(r, s, k), 0);
    assert_int_equal(parse_guarded(r, s, n), (long)n);
    assert_int_equal(r->head_len, n);
}

static void test_parse_key_get(void **state)
{
    (void)state;
    struct http_req r;
    parse_ok(&r, "GET /k/foo HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(r.method, HTTP_GET);
    assert_int_equal(r.route, HTTP_R_KEY);
    assert_int_equal(r.nkey, 3);
    assert_memory_equal(r.key, "foo", 3);
    assert_true(r.keep_alive);
    assert_false(r.http10);
    parse_ok(&r, "HEAD /k/a%2Fb%7e HTTP/1.1\r\nhost: x\r\nConnection: Close\r\n\r\n");
    assert_int_equal(r.method, HTTP_HEAD);
    assert_false(r.keep_alive);
    assert_int_equal(r.nkey, 4);
    assert_memory_equal(r.key, "a/b~", 4);
}

static void test_parse_put(void **state)
{
    (void)state;
    struct http_req r;
    parse_ok(&r, "PUT /k/k1?ttl=-5&flags=4294967295 HTTP/1.1\nHost: h\nContent-Length: 12\n"
                 "If-Match: \"77\"\nExpect: 100-continue\n\n");
    assert_int_equal(r.method, HTTP_PUT);
    assert_true(r.has_ttl);
    assert_int_equal(r.ttl, -5);
    assert_int_equal(r.flags, 4294967295u);
    assert_true(r.has_length);
    assert_int_equal(r.content_length, 12);
    assert_true(r.if_match);
    assert_int_equal(r.if_match_cas, 77);
    assert_true(r.expect_continue);
    parse_ok(&r, "PUT /k/k1 HTTP/1.1\r\nHost: h\r\nIf-None-Match: *\r\nIf-Match: W/\"1\"\r\n\r\n");
    assert_true(r.if_none_match_any);
    assert_true(r.if_match);
    assert_int_equal(r.if_match_cas, 0); /* a weak tag never matches for If-Match */
}

static void test_parse_routes_versions(void **state)
{
    (void)state;
    struct http_req r;
    static const struct { const char *path; int route; } routes[] = {
        {"/", HTTP_R_ROOT}, {"/metrics", HTTP_R_METRICS}, {"/healthz", HTTP_R_HEALTHZ},
        {"/stats.json", HTTP_R_JSON}, {"/metrics?x=1", HTTP_R_METRICS}, {"/nope", HTTP_R_NONE},
        {"/k", HTTP_R_NONE},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", routes[i].path);
        parse_ok(&r, req);
        assert_int_equal(r.route, routes[i].route);
        assert_true(r.http10);
        assert_false(r.keep_alive);
    }
    parse_ok(&r, "GET / HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\n");
    assert_true(r.keep_alive);
    parse_ok(&r, "\r\nBREW / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(r.method, HTTP_OTHER);
    parse_ok(&r, "POST /k/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(r.method, HTTP_POST);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct { const char *in; long status; } bad[] = {
        {"GET /k/%zz HTTP/1.1\r\nHost: x\r\n\r\n", -400},       /* bad escape */
        {"GET /k/%4 HTTP/1.1\r\nHost: x\r\n\r\n", -400},        /* cut escape */
        {"GET /k/a%20b HTTP/1.1\r\nHost: x\r\n\r\n", -400},     /* space in a key */
        {"GET /k/a%00 HTTP/1.1\r\nHost: x\r\n\r\n", -400},      /* NUL in a key */
        {"GET /k/ HTTP/1.1\r\nHost: x\r\n\r\n", -400},          /* no key */
        {"GET /k/x?ttl=abc HTTP/1.1\r\nHost: x\r\n\r\n", -400},
        {"GET /k/x?flags=4294967296 HTTP/1.1\r\nHost: x\r\n\r\n", -400},
        {"GET /k/x?nope=1 HTTP/1.1\r\nHost: x\r\n\r\n", -400},
        {"GET /k/x HTTP/1.1\r\n\r\n", -400},                     /* 1.1 without Host */
        {"GET /k/x HTTP/2.0\r\nHost: x\r\n\r\n", -505},
        {"GET /k/x HTTQ/1.1\r\nHost: x\r\n\r\n", -400},
        {"GET k/x HTTP/1.1\r\nHost: x\r\n\r\n", -400},           /* not origin-form */
        {"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", -400},             /* not a token */
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", -400},            /* space before colon */
        {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", -400},  /* obs-fold */
        {"GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", -400},
        {"PUT /k/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", -400},
        {"PUT /k/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -400},
        {"PUT /k/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", -501},
        {"GET / HTTP/1.1\r\nHost: x\001\r\n\r\n", -400},         /* control in a value */
    };
    struct http_req r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_guarded(&r, bad[i].in, strlen(bad[i].in)), bad[i].status);
    char key[300];
    memset(key, 'a', sizeof(key));
    char req[512];
    snprintf(req, sizeof(req), "GET /k/%.*s HTTP/1.1\r\nHost: x\r\n\r\n", 250, key);
    assert_true(parse_guarded(&r, req, strlen(req)) > 0);
    assert_int_equal(r.nkey, 250);
    snprintf(req, sizeof(req), "GET /k/%.*s HTTP/1.1\r\nHost: x\r\n\r\n", 251, key);
    assert_int_equal(parse_guarded(&r, req, strlen(req)), -400);
}

static void test_parse_head_limit(void **state)
{
    (void)state;
    struct http_req r;
    size_t n = HTTP_HEAD_MAX + 100;
    char *big = malloc(n);
    assert_non_null(big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memset(big + 19, 'a', n - 19);
    assert_int_equal(parse_guarded(&r, big, HTTP_HEAD_MAX - 1), 0);
    assert_int_equal(parse_guarded(&r, big, HTTP_HEAD_MAX), -431);
    assert_int_equal(parse_guarded(&r, big, n), -431);
    free(big);
}

/* Accept-Encoding: gzip only when named (or *) with a q above 0, whatever
 * the case, blanks and other parameters; no header means no. */
static void test_accept_encoding(void **state)
{
    (void)state;
    static const struct { const char *value; bool gzip; } cases[] = {
        {NULL, false},
        {"identity", false},
        {"gzip", true},
        {"GZip", true},
        {"x-gzip", true},
        {"deflate, gzip;q=1.0, br", true},
        {"br;q=1, gzip ; q=0.001", true},
        {"gzip;q=0", false},
        {"gzip; Q=0.000", false},
        {"gzip;q=0.", false},
        {"gzip;level=9;q=0", false},
        {"gzip;q=0.5", true},
        {"*", true},
        {"*;q=0", false},
        {"*, gzip;q=0", false},
        {"gzip;q=0, *", false},
        {"identity, *;q=0.2", true},
        {"gzipx, xgzip", false},
        {"", false},
        {"deflate", false},
    };
    char req[256];
    struct http_req r;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].value)
            snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: %s\r\n\r\n",
                     cases[i].value);
        else
            snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        parse_ok(&r, req);
        if (http_accepts_gzip(&r) != cases[i].gzip)
            fail_msg("Accept-Encoding: %s", cases[i].value ? cases[i].value : "(none)");
    }
}

static void test_unescape(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(http_unescape(out, "a%41%7a%2F", 10), 4);
    assert_memory_equal(out, "aAz/", 4);
    assert_int_equal(http_unescape(out, "%", 1), -1);
    assert_int_equal(http_unescape(out, "%g0", 3), -1);
}

/* The protocol, through drive.h. */
struct fixture {
    struct drive_env e; /* first: drive_fixture_setup */
    char reply[1 << 21];
};

static int setup(void **state)
{
    return drive_fixture_setup(state, sizeof(struct fixture), &http_protocol);
}

static int teardown(void **state)
{
    return drive_fixture_teardown(state);
}

static const char *run(struct fixture *f, const char *in, size_t len)
{
    drive(&http_protocol, &f->e.ses, &f->e.ctx, in, len, &f->e.out, &f->e.last);
    drive_collect(&f->e.out, f->reply);
    return f->reply;
}

#define RUN(f, s) run(f, s, sizeof(s) - 1)

static void test_put_get_delete(void **state)
{
    struct fixture *f = *state;
    const char *r = RUN(f, "PUT /k/greet?flags=9 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    assert_non_null(strstr(r, "HTTP/1.1 204 No Content\r\n"));
    unsigned long long cas = 0;
    assert_int_equal(sscanf(strstr(r, "ETag: "), "ETag: \"%llu\"", &cas), 1);
    r = RUN(f, "GET /k/greet HTTP/1.1\r\nHost: x\r\n\r\n");
    char want[256];
    snprintf(want, sizeof(want),
             "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: application/octet-stream\r\n"
             "Memg-Flags: 9\r\nETag: \"%llu\"\r\n\r\nhello", cas);
    assert_string_equal(r, want);
    assert_int_equal(f->e.last, FEED_AGAIN);
    /* HEAD: the same head, no body; If-None-Match: 304 */
    r = RUN(f, "HEAD /k/greet HTTP/1.1\r\nHost: x\r\n\r\n");
    want[strlen(want) - 5] = '\0';
    assert_string_equal(r, want);
    snprintf(want, sizeof(want), "GET /k/greet HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"%llu\"\r\n\r\n",
             cas);
    r = run(f, want, strlen(want));
    assert_true(strncmp(r, "HTTP/1.1 304 Not Modified\r\n", 27) == 0);
    assert_null(strstr(r, "hello"));
    assert_true(strncmp(RUN(f, "DELETE /k/greet HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 204", 12) == 0);
    assert_true(strncmp(RUN(f, "DELETE /k/greet HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 404", 12) == 0);
    assert_true(strncmp(RUN(f, "GET /k/greet HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 404", 12) == 0);
    assert_int_equal(f->e.stats.get_hits, 3);
    assert_int_equal(f->e.stats.get_misses, 1);
    assert_int_equal(f->e.stats.delete_hits, 1);
}

static void test_cas_preconditions(void **state)
{
    struct fixture *f = *state;
    RUN(f, "PUT /k/c HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na");
    struct item_view it;
    assert_true(store_get(f->e.store, "c", 1, &it));
    char req[256];
    snprintf(req, sizeof(req), "PUT /k/c HTTP/1.1\r\nHost: x\r\nIf-Match: \"%llu\"\r\n"
             "Content-Length: 1\r\n\r\nb", (unsigned long long)it.cas + 1);
    assert_true(strncmp(run(f, req, strlen(req)), "HTTP/1.1 412", 12) == 0);
    snprintf(req, sizeof(req), "PUT /k/c HTTP/1.1\r\nHost: x\r\nIf-Match: \"%llu\"\r\n"
             "Content-Length: 1\r\n\r\nb", (unsigned long long)it.cas);
    assert_true(strncmp(run(f, req, strlen(req)), "HTTP/1.1 204", 12) == 0);
    assert_true(store_get(f->e.store, "c", 1, &it));
    assert_memory_equal(it.value, "b", 1);
    assert_int_equal(f->e.stats.cas_hits, 1);
    assert_int_equal(f->e.stats.cas_badval, 1);
    /* If-None-Match: * is add; If-Match: * is replace */
    assert_true(strncmp(RUN(f, "PUT /k/c HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n"
                               "Content-Length: 1\r\n\r\nz"), "HTTP/1.1 412", 12) == 0);
    assert_true(strncmp(RUN(f, "PUT /k/new HTTP/1.1\r\nHost: x\r\nIf-Match: *\r\n"
                               "Content-Length: 1\r\n\r\nz"), "HTTP/1.1 412", 12) == 0);
    assert_false(store_get(f->e.store, "new", 3, &it));
    snprintf(req, sizeof(req), "DELETE /k/c HTTP/1.1\r\nHost: x\r\nIf-Match: \"%llu\"\r\n\r\n",
             (unsigned long long)it.cas + 100);
    assert_true(strncmp(run(f, req, strlen(req)), "HTTP/1.1 412", 12) == 0);
    assert_true(store_get(f->e.store, "c", 1, &it));
}

static void test_errors_change_nothing(void **state)
{
    struct fixture *f = *state;
    RUN(f, "PUT /k/v HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nold");
    const char *r = RUN(f, "PUT /k/v HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 411", 12) == 0);
    assert_int_equal(f->e.last, FEED_QUIT);
    f->e.ses = (struct session){.proto = &http_protocol};
    /* over -I: 413, the body discarded, the connection kept, the old value too */
    size_t big = f->e.cfg.item_size_max + 1;
    char *req = malloc(big + 128);
    assert_non_null(req);
    int h = snprintf(req, 128, "PUT /k/v HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", big);
    memset(req + h, 'x', big);
    memcpy(req + h + big, "GET /k/v HTTP/1.1\r\nHost: x\r\n\r\n", 31);
    r = run(f, req, (size_t)h + big + 31);
    assert_true(strncmp(r, "HTTP/1.1 413", 12) == 0);
    assert_non_null(strstr(r, "\r\n\r\nold"));
    free(req);
    assert_true(strncmp(RUN(f, "POST /k/v HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nzz"),
                        "HTTP/1.1 405", 12) == 0);
    r = RUN(f, "BREW /k/v HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 405", 12) == 0);
    assert_non_null(strstr(r, "Allow: GET, HEAD, PUT, DELETE\r\n"));
    r = RUN(f, "GET /k/%zz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 400", 12) == 0);
    assert_int_equal(f->e.last, FEED_QUIT);
    f->e.ses = (struct session){.proto = &http_protocol};
    struct item_view it;
    assert_true(store_get(f->e.store, "v", 1, &it));
    assert_memory_equal(it.value, "old", 3);
    f->e.cfg.http_readonly = true;
    r = RUN(f, "DELETE /k/v HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 405", 12) == 0);
    assert_non_null(strstr(r, "Allow: GET, HEAD\r\n"));
    assert_true(strncmp(RUN(f, "PUT /k/v HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nn"),
                        "HTTP/1.1 405", 12) == 0);
    assert_true(store_get(f->e.store, "v", 1, &it));
    assert_memory_equal(it.value, "old", 3);
}

/* Pipelined requests, a large value received into its item, HTTP/1.0. */
static void test_pipeline_large_http10(void **state)
{
    struct fixture *f = *state;
    size_t n = 100000;
    char *req = malloc(n + 512);
    assert_non_null(req);
    int h = snprintf(req, 512, "PUT /k/big HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    for (size_t i = 0; i < n; i++)
        req[h + i] = (char)('a' + i % 26);
    int t = snprintf(req + h + n, 256, "GET /k/big HTTP/1.1\r\nHost: x\r\n\r\n"
                                       "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const char *r = run(f, req, (size_t)h + n + (size_t)t);
    assert_true(strncmp(r, "HTTP/1.1 204", 12) == 0);
    const char *body = strstr(strstr(r, "200 OK"), "\r\n\r\n") + 4;
    assert_memory_equal(body, req + h, n);
    assert_string_equal(body + n, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                  "Content-Type: text/plain; charset=utf-8\r\n\r\nok\n");
    free(req);
    r = RUN(f, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_non_null(strstr(r, "Connection: keep-alive\r\n"));
    assert_int_equal(f->e.last, FEED_AGAIN);
    r = RUN(f, "GET /healthz HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, "Connection: close\r\n"));
    assert_int_equal(f->e.last, FEED_QUIT);
}

static void test_pages(void **state)
{
    struct fixture *f = *state;
    RUN(f, "PUT /k/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1");
    RUN(f, "GET /k/a HTTP/1.1\r\nHost: x\r\n\r\n");
    const char *r = RUN(f, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_non_null(strstr(r, "\nmemcached_up 1\n"));
    assert_non_null(strstr(r, "\nmemcached_current_items 1\n"));
    assert_non_null(strstr(r, "\nmemcached_commands_total{command=\"get\",status=\"hit\"} 1\n"));
    assert_non_null(strstr(r, "\nmemcached_commands_total{command=\"set\",status=\"hit\"} 1\n"));
    assert_non_null(strstr(r, "# TYPE memcached_read_bytes_total counter\n"));
    r = RUN(f, "GET /stats.json HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_non_null(strstr(r, "\r\n\r\n{\"pid\":"));
    assert_non_null(strstr(r, ",\"version\":\"0.1.0\","));
    assert_non_null(strstr(r, ",\"get_hits\":1,"));
    r = RUN(f, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\n\r\n");
    assert_non_null(strstr(r, "Content-Encoding: gzip\r\n"));
    assert_non_null(strstr(r, "Vary: Accept-Encoding\r\n"));
    const char *body = strstr(r, "\r\n\r\n") + 4;
    assert_int_equal((unsigned char)body[0], 0x1f); /* gzip's magic */
    assert_int_equal((unsigned char)body[1], 0x8b);
    r = RUN(f, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); /* no Accept-Encoding: as it is */
    assert_null(strstr(r, "Content-Encoding"));
    assert_non_null(strstr(r, "Vary: Accept-Encoding\r\n"));
    body = strstr(r, "\r\n\r\n") + 4;
    assert_int_equal(strlen(body), http_dashboard_len);
    assert_memory_equal(body, http_dashboard, http_dashboard_len);
    r = RUN(f, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0, identity\r\n\r\n");
    assert_null(strstr(r, "Content-Encoding"));
    r = RUN(f, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_string_equal(strstr(r, "\r\n\r\n"), "\r\n\r\n");
    r = RUN(f, "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(strncmp(r, "HTTP/1.1 405", 12) == 0);
    assert_true(strncmp(RUN(f, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 404", 12) == 0);
}

/* Every split of a PUT and a GET into two reads gives the same replies. */
static void test_split_reads(void **state)
{
    struct fixture *f = *state;
    static const char in[] = "PUT /k/s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd"
                             "GET /k/s HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t n = sizeof(in) - 1;
    for (size_t cut = 1; cut < n; cut++) {
        f->e.ses = (struct session){.proto = &http_protocol};
        char buf[256];
        /* feed the first part; what it leaves unconsumed goes with the second */
        size_t used = drive(&http_protocol, &f->e.ses, &f->e.ctx, in, cut, &f->e.out, &f->e.last);
        memcpy(buf, in + used, n - used);
        size_t rest = drive(&http_protocol, &f->e.ses, &f->e.ctx, buf, n - used, &f->e.out,
                            &f->e.last);
        assert_int_equal(used + rest, n);
        drive_collect(&f->e.out, f->reply);
        assert_non_null(strstr(f->reply, "\r\n\r\nabcd"));
    }
}

/* A pipeline answers the same bytes however it is split into reads: in two
 * at every byte, and one byte a read (PUTs with bodies, pipelined GETs, a
 * HEAD, a DELETE, and an HTTP/1.0 GET that closes). */
static void test_split_everywhere(void **state)
{
    struct fixture *f = *state;
    static const char in[] =
        "PUT /k/h1 HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"
        "GET /k/h1 HTTP/1.1\r\nHost: x\r\n\r\nGET /k/none HTTP/1.1\r\nHost: x\r\n\r\n"
        "PUT /k/h2?flags=7 HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n"
        "abcdefghijklmnopqrstuvwxyz0123"
        "HEAD /k/h2 HTTP/1.1\r\nHost: x\r\n\r\nGET /k/h2 HTTP/1.1\r\nHost: x\r\n\r\n"
        "DELETE /k/h1 HTTP/1.1\r\nHost: x\r\n\r\nGET /k/h1 HTTP/1.0\r\n\r\n";
    assert_int_equal(drive_split_check(&http_protocol, NULL, in, sizeof(in) - 1, f->reply,
                                       sizeof(f->reply)), -1);
    assert_non_null(strstr(f->reply, "\r\n\r\nhello world"));
    assert_non_null(strstr(f->reply, "Memg-Flags: 7\r\n"));
    assert_non_null(strstr(f->reply, "\r\n\r\nabcdefghijklmnopqrstuvwxyz0123"));
    assert_non_null(strstr(f->reply, "HTTP/1.1 204 No Content\r\n"));
    assert_non_null(strstr(f->reply, "HTTP/1.1 404 Not Found\r\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_key_get),
        cmocka_unit_test(test_parse_put),
        cmocka_unit_test(test_parse_routes_versions),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_head_limit),
        cmocka_unit_test(test_accept_encoding),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cas_preconditions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_large_http10, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_everywhere, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
