/* Unit tests of prefix: `stats detail dump`'s counters per key prefix, as
 * memcached keeps them: the key up to the delimiter, gets and hits, sets
 * and deletes each counted apart; keys without the delimiter not at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ops/prefix.h"

/* What prefix_dump wrote, lines sorted so bucket order does not matter. */
struct dump {
    char lines[600][320];
    unsigned n;
};

static void _line(void *arg, const char *line, size_t n)
{
    struct dump *d = arg;
    assert_true(n < sizeof(d->lines[0]) && d->n < 600);
    assert_int_equal(line[n - 2], '\r');
    assert_int_equal(line[n - 1], '\n');
    memcpy(d->lines[d->n], line, n);
    d->lines[d->n++][n] = '\0';
}

static int _cmp(const void *a, const void *b) { return strcmp(a, b); }

static void _dump(const struct prefix_stats *p, struct dump *d)
{
    d->n = 0;
    prefix_dump(p, _line, d);
    qsort(d->lines, d->n, sizeof(d->lines[0]), _cmp);
}

static void _rec(struct prefix_stats *p, const char *key, enum prefix_op op, bool hit)
{
    assert_true(prefix_record(p, key, strlen(key), op, hit));
}

static void test_counts(void **state)
{
    (void)state;
    struct prefix_stats *p = prefix_create(':');
    assert_non_null(p);
    static struct dump d;
    _dump(p, &d);
    assert_int_equal(d.n, 0);

    _rec(p, "user:1", PREFIX_GET, false);
    _rec(p, "user:2", PREFIX_GET, true);
    _rec(p, "user:3", PREFIX_GET, true);
    _rec(p, "user:1", PREFIX_SET, false);
    _rec(p, "user:1", PREFIX_DEL, false);
    _rec(p, "user:1", PREFIX_DEL, true); /* hit counts only for gets */
    _rec(p, "sess:a:b", PREFIX_SET, true); /* up to the first delimiter */
    _rec(p, "plain", PREFIX_GET, true);    /* no delimiter: not counted */
    _rec(p, ":x", PREFIX_GET, true);       /* the empty prefix is a prefix */
    _dump(p, &d);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.lines[0], "PREFIX  get 1 hit 1 set 0 del 0\r\n");
    assert_string_equal(d.lines[1], "PREFIX sess get 0 hit 0 set 1 del 0\r\n");
    assert_string_equal(d.lines[2], "PREFIX user get 3 hit 2 set 1 del 2\r\n");
    prefix_destroy(p);
}

static void test_delimiter_and_binary_keys(void **state)
{
    (void)state;
    struct prefix_stats *p = prefix_create('/');
    _rec(p, "user:1", PREFIX_GET, true); /* ':' is not this delimiter */
    _rec(p, "a/b", PREFIX_SET, false);
    /* only nkey bytes are looked at: the '/' past them does not count */
    assert_true(prefix_record(p, "ab/c", 2, PREFIX_GET, true));
    static struct dump d;
    _dump(p, &d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.lines[0], "PREFIX a get 0 hit 0 set 1 del 0\r\n");
    prefix_destroy(p);
}

/* Many prefixes share 256 buckets: each keeps its own counts. */
static void test_many_prefixes(void **state)
{
    (void)state;
    struct prefix_stats *p = prefix_create(':');
    char key[32];
    for (unsigned i = 0; i < 500; i++)
        for (unsigned j = 0; j <= i % 3; j++) {
            snprintf(key, sizeof(key), "p%u:%u", i, j);
            _rec(p, key, PREFIX_SET, false);
        }
    static struct dump d;
    _dump(p, &d);
    assert_int_equal(d.n, 500);
    for (unsigned i = 0; i < 500; i++) {
        char want[80];
        snprintf(want, sizeof(want), "PREFIX p%u get 0 hit 0 set %u del 0\r\n", i, i % 3 + 1);
        assert_non_null(bsearch(want, d.lines, d.n, sizeof(d.lines[0]), _cmp));
    }
    prefix_destroy(p);
}

/* The longest key's prefix (249 bytes before the delimiter) is dumped whole. */
static void test_long_prefix(void **state)
{
    (void)state;
    struct prefix_stats *p = prefix_create(':');
    char key[251];
    memset(key, 'x', 249);
    key[249] = ':';
    key[250] = 'y';
    assert_true(prefix_record(p, key, 251, PREFIX_GET, true));
    struct dump *d = malloc(sizeof(*d));
    _dump(p, d);
    assert_int_equal(d->n, 1);
    char want[320];
    snprintf(want, sizeof(want), "PREFIX %.249s get 1 hit 1 set 0 del 0\r\n", key);
    assert_string_equal(d->lines[0], want);
    free(d);
    prefix_destroy(p);
}

static void test_clear(void **state)
{
    (void)state;
    struct prefix_stats *p = prefix_create(':');
    _rec(p, "a:1", PREFIX_GET, true);
    _rec(p, "b:1", PREFIX_SET, true);
    prefix_clear(p);
    static struct dump d;
    _dump(p, &d);
    assert_int_equal(d.n, 0);
    _rec(p, "a:1", PREFIX_DEL, false); /* counts start again from zero */
    _dump(p, &d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.lines[0], "PREFIX a get 0 hit 0 set 0 del 1\r\n");
    prefix_destroy(p);
    prefix_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_delimiter_and_binary_keys),
        cmocka_unit_test(test_many_prefixes),
        cmocka_unit_test(test_long_prefix),
        cmocka_unit_test(test_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
