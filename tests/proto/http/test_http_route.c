/* Unit tests of http_route, memg's URL space: the request target into a
 * route, /k/<key> percent-decoded with its ?ttl=&flags= query; then every
 * route under every method through the HTTP front, with the status and
 * Allow header each gets (404 for no route, 405 for a method the route
 * does not take), writable and with -o http_readonly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drive.h"
#include "proto/http/http.h"

/* The route of target, or minus the status; r is filled as http_route does. */
static long _route(struct http_req *r, const char *target)
{
    memset(r, 0, sizeof(*r));
    return http_route(r, target, target + strlen(target));
}

static void test_routes(void **state)
{
    (void)state;
    static const struct {
        const char *target;
        int route;
    } cases[] = {
        {"/", HTTP_R_ROOT},
        {"/metrics", HTTP_R_METRICS},
        {"/healthz", HTTP_R_HEALTHZ},
        {"/stats.json", HTTP_R_JSON},
        {"/metrics?anything=at all", HTTP_R_NONE}, /* a space: checked below */
        {"/healthz?x", HTTP_R_HEALTHZ},            /* a page's query is ignored */
        {"/k/a", HTTP_R_KEY},
        {"/k", HTTP_R_NONE},
        {"/k/a/b", HTTP_R_KEY}, /* the key is everything after /k/ */
        {"/metrics/", HTTP_R_NONE},
        {"/METRICS", HTTP_R_NONE},
        {"/stats", HTTP_R_NONE},
        {"//", HTTP_R_NONE},
    };
    struct http_req r;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long rc = _route(&r, cases[i].target);
        if (strchr(cases[i].target, ' ')) {
            assert_int_equal(rc, -400);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(r.route, cases[i].route);
    }
    _route(&r, "/k/a/b");
    assert_int_equal(r.nkey, 3);
    assert_memory_equal(r.key, "a/b", 3);
}

static void test_bad_targets(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "metrics", "*", "http://x/", "/k/", "/k/?ttl=1", "/k/a b", "/k/a\x7f",
        "/k/%", "/k/%4", "/k/%zz", "/k/%20", "/k/a%00", "/k/%7f", "/k/a?ttl=",
        "/k/a?ttl=x", "/k/a?ttl=1x", "/k/a?flags=-1", "/k/a?flags=4294967296",
        "/k/a?other=1", "/k/a?ttl", "/k/a?ttl=--1", "/k/a?ttl=9223372036854775808",
    };
    struct http_req r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (_route(&r, bad[i]) != -400)
            fail_msg("\"%s\" was not refused", bad[i]);
}

static void test_key_and_query(void **state)
{
    (void)state;
    struct http_req r;
    assert_int_equal(_route(&r, "/k/a%3Ab%2fc%7E?ttl=-1&flags=4294967295"), 0);
    assert_int_equal(r.route, HTTP_R_KEY);
    assert_int_equal(r.nkey, 6);
    assert_memory_equal(r.key, "a:b/c~", 6);
    assert_true(r.has_ttl);
    assert_int_equal(r.ttl, -1);
    assert_int_equal(r.flags, 4294967295u);

    assert_int_equal(_route(&r, "/k/x?flags=7&ttl=9223372036854775807"), 0);
    assert_int_equal(r.flags, 7);
    assert_int_equal(r.ttl, INT64_MAX);
    assert_int_equal(_route(&r, "/k/x"), 0);
    assert_false(r.has_ttl);
    assert_int_equal(r.flags, 0);
    /* an empty query and empty items between '&' are nothing */
    assert_int_equal(_route(&r, "/k/x?"), 0);
    assert_int_equal(_route(&r, "/k/x?&ttl=5&"), 0);
    assert_int_equal(r.ttl, 5);
    /* a '?' escaped is a byte of the key */
    assert_int_equal(_route(&r, "/k/x%3Fttl=1"), 0);
    assert_int_equal(r.nkey, 7);
    assert_memory_equal(r.key, "x?ttl=1", 7);
    assert_false(r.has_ttl);
}

/* Under -o large_client_flags ?flags= takes 64 bits, as the text protocol does. */
static void test_large_client_flags(void **state)
{
    (void)state;
    struct http_req r;
    proto_flags_max = UINT64_MAX;
    assert_int_equal(_route(&r, "/k/a?flags=18446744073709551615"), 0);
    assert_true(r.flags == UINT64_MAX);
    assert_int_equal(_route(&r, "/k/a?flags=4294967296"), 0);
    assert_true(r.flags == 4294967296u);
    assert_int_equal(_route(&r, "/k/a?flags=18446744073709551616"), -400);
    proto_flags_max = UINT32_MAX;
    assert_int_equal(_route(&r, "/k/a?flags=4294967296"), -400);
}

/* 250 bytes of key, written plain or escaped, and not one more. */
static void test_key_length(void **state)
{
    (void)state;
    char target[1024] = "/k/";
    memset(target + 3, 'k', 250);
    target[253] = '\0';
    struct http_req r;
    assert_int_equal(_route(&r, target), 0);
    assert_int_equal(r.nkey, 250);
    strcat(target, "k");
    assert_int_equal(_route(&r, target), -400);
    for (int i = 0; i < 250; i++)
        memcpy(target + 3 + i * 3, "%41", 3);
    target[3 + 750] = '\0';
    assert_int_equal(_route(&r, target), 0);
    assert_int_equal(r.nkey, 250);
    assert_int_equal(r.key[249], 'A');
    strcat(target, "%41");
    assert_int_equal(_route(&r, target), -400);
}

static void test_digits(void **state)
{
    (void)state;
    uint64_t v = 99;
    static const char d[] = "18446744073709551615";
    assert_true(http_digits(d, d + 20, UINT64_MAX, &v));
    assert_true(v == UINT64_MAX);
    assert_false(http_digits(d, d + 20, UINT64_MAX - 1, &v));
    static const char e[] = "18446744073709551616";
    assert_false(http_digits(e, e + 20, UINT64_MAX, &v));
    assert_false(http_digits(d, d, UINT64_MAX, &v)); /* nothing */
    static const char f[] = "12a";
    assert_false(http_digits(f, f + 3, 1000, &v));
    assert_true(http_digits(f, f + 2, 12, &v));
    assert_int_equal(v, 12);
    assert_false(http_digits(f, f + 2, 11, &v));
}

/* Through the front: one request in a fresh environment holding the key
 * "have", writable or read-only; the reply's status line and Allow. */
static bool readonly;

static void _init(struct drive_env *e)
{
    static const char put[] = "PUT /k/have HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nv";
    char reply[512];
    e->cfg.http_readonly = false;
    drive(&http_protocol, &e->ses, &e->ctx, put, sizeof(put) - 1, &e->out, &e->last);
    drive_collect(&e->out, reply);
    assert_non_null(strstr(reply, "HTTP/1.1 204 "));
    e->cfg.http_readonly = readonly;
}

static void _expect(const char *method, const char *target, int status, const char *allow)
{
    char req[256], *reply = malloc(1 << 16);
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", method,
             target);
    size_t n = drive_pieces(&http_protocol, _init, req, strlen(req), NULL, 0, reply, 1 << 16);
    assert_true(n != (size_t)-1);
    char want[32];
    snprintf(want, sizeof(want), "HTTP/1.1 %d %s\r\n", status, http_reason(status));
    if (strncmp(reply, want, strlen(want)) != 0)
        fail_msg("%s %s%s: \"%.40s\", not \"%s\"", method, target, readonly ? " (ro)" : "", reply,
                 want);
    const char *a = strstr(reply, "\r\nAllow: ");
    const char *end = strstr(reply, "\r\n\r\n");
    if (allow) {
        assert_true(a && a < end);
        assert_memory_equal(a + 9, allow, strlen(allow));
        assert_memory_equal(a + 9 + strlen(allow), "\r\n", 2);
    } else {
        assert_true(!a || a > end);
    }
    free(reply);
}

#define RW "GET, HEAD, PUT, DELETE"
#define RO "GET, HEAD"

static void test_methods(void **state)
{
    (void)state;
    static const char *const pages[] = {"/", "/metrics", "/healthz", "/stats.json"};
    static const char *const others[] = {"POST", "PATCH", "OPTIONS", "BREW"};
    for (int ro = 0; ro < 2; ro++) {
        readonly = ro;
        for (size_t i = 0; i < 4; i++) {
            _expect("GET", pages[i], 200, NULL);
            _expect("HEAD", pages[i], 200, NULL);
            _expect("PUT", pages[i], 405, RO);
            _expect("DELETE", pages[i], 405, RO);
            for (size_t m = 0; m < 4; m++)
                _expect(others[m], pages[i], 405, RO);
        }
        static const char *const all[] = {"GET", "HEAD", "PUT", "DELETE", "POST", "BREW"};
        for (size_t m = 0; m < 6; m++) {
            _expect(all[m], "/nope", 404, NULL);
            _expect(all[m], "/k", 404, NULL);
        }
        _expect("GET", "/k/have", 200, NULL);
        _expect("HEAD", "/k/have", 200, NULL);
        _expect("GET", "/k/none", 404, NULL);
        _expect("HEAD", "/k/none", 404, NULL);
        _expect("PUT", "/k/new", ro ? 405 : 204, ro ? RO : NULL);
        _expect("DELETE", "/k/have", ro ? 405 : 204, ro ? RO : NULL);
        _expect("DELETE", "/k/none", ro ? 405 : 404, ro ? RO : NULL);
        for (size_t m = 0; m < 4; m++)
            _expect(others[m], "/k/have", 405, ro ? RO : RW);
        _expect("GET", "/k/", 400, NULL);
        _expect("GET", "/k/a?bogus=1", 400, NULL);
    }
    readonly = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),      cmocka_unit_test(test_bad_targets),
        cmocka_unit_test(test_key_and_query),
        cmocka_unit_test(test_large_client_flags), cmocka_unit_test(test_key_length),
        cmocka_unit_test(test_digits),      cmocka_unit_test(test_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
