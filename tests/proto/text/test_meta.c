/* Unit tests of meta.c (a meta line's tokens and flags, memcached's errors)
 * and base64.c (memcached's decoding rules), without a socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/text/base64.h"
#include "proto/text/meta.h"

static struct meta_req m;

/* Tokenize a line and parse its flags from `first`. */
static bool parse(const char *line, int first)
{
    meta_tokenize(&m, line, strlen(line));
    return meta_parse_flags(&m, first);
}

static void test_tokens(void **state)
{
    (void)state;
    meta_tokenize(&m, "mg  key   v k", 13);
    assert_int_equal(m.ntok, 4);
    assert_int_equal(meta_ntokens(&m), 5);
    assert_int_equal(m.tok[1].len, 3);
    assert_memory_equal(m.tok[1].p, "key", 3);
    assert_int_equal(m.nkey, 3);
    char many[200] = "mg k";
    for (int i = 0; i < 30; i++)
        strcat(many, " v");
    meta_tokenize(&m, many, strlen(many));
    assert_int_equal(m.ntok, META_TOK_MAX); /* memcached stops splitting at 23 */
    assert_false(m.bad_start);
    strcat(many, " ~"); /* past the 23rd token: not looked at */
    meta_tokenize(&m, many, strlen(many));
    assert_false(m.bad_start);
    meta_tokenize(&m, "mg ~key 9 Z !", 13); /* the key may start with anything */
    assert_true(m.bad_start);
    meta_tokenize(&m, "mg ~key 9 Z [", 13); /* [ is between A and z */
    assert_false(m.bad_start);
}

static void test_flags_and_tokens(void **state)
{
    (void)state;
    assert_true(parse("mg key v k O123 T30 N-1 R5 q", 2));
    assert_true(meta_has(&m, 'v') && meta_has(&m, 'k') && meta_has(&m, 'O') && meta_has(&m, 'q'));
    assert_false(meta_has(&m, 'c'));
    assert_int_equal(m.ttl, 30);
    assert_int_equal(m.vivify_ttl, -1);
    assert_int_equal(m.recache_ttl, 5);
    assert_true(parse("ms key 5 F4294967295 C18446744073709551615 E7 MA I", 3));
    assert_int_equal(m.client_flags, 4294967295u);
    assert_true(m.cas_cmp == UINT64_MAX);
    assert_int_equal(m.cas_new, 7);
    assert_int_equal(m.mode, 'A');
    assert_false(parse("ms key 5 F4294967296", 3)); /* 32 bits unless large_client_flags */
    proto_flags_max = UINT64_MAX;
    assert_true(parse("ms key 5 F18446744073709551615", 3));
    assert_true(m.client_flags == UINT64_MAX);
    assert_false(parse("ms key 5 F18446744073709551616", 3));
    proto_flags_max = UINT32_MAX;
    assert_true(parse("ma key D10 J3 M-", 2));
    assert_int_equal(m.delta, 10);
    assert_int_equal(m.initial, 3);
    assert_int_equal(m.mode, '-');
    assert_true(parse("ma key", 2));
    assert_int_equal(m.delta, 1); /* the default delta */
    assert_true(parse("mg key Pproxy/path Lx", 2)); /* P and L: ignored tokens */
    assert_true(parse("mg key T-1 N-2147483648", 2)); /* 1.6.45: a signed 32-bit number */
    assert_int_equal(m.ttl, -1);
    assert_int_equal(m.vivify_ttl, INT32_MIN);
    assert_true(parse("ms key 2 MAA", 3)); /* the byte after M: the rest is not read */
    assert_int_equal(m.mode, 'A');
}

/* memcached's _meta_flag_preparse: which error text a bad line earns. */
static void test_errors(void **state)
{
    (void)state;
    assert_false(parse("mg key v v", 2));
    assert_string_equal(m.err, "CLIENT_ERROR duplicate flag");
    assert_false(parse("mg key ?", 2));
    assert_string_equal(m.err, "CLIENT_ERROR invalid flag");
    assert_false(parse("mg key \xff", 2));
    assert_string_equal(m.err, "CLIENT_ERROR duplicate flag"); /* >= 127: as memcached */
    assert_false(parse("mg key T", 2));
    assert_string_equal(m.err, "CLIENT_ERROR bad token in command line format");
    assert_false(parse("mg key T1x", 2));
    assert_false(parse("mg key C-1", 2));
    assert_string_equal(m.err, "CLIENT_ERROR bad token in command line format");
    assert_false(parse("mg key T4294967295", 2)); /* 1.6.45: beyond 32 signed bits */
    assert_string_equal(m.err, "CLIENT_ERROR bad token in command line format");
    assert_false(parse("mg key T+5", 2)); /* digits only */
    assert_false(parse("mg key 5 5", 2)); /* any first byte at most once */
    assert_string_equal(m.err, "CLIENT_ERROR invalid flag");
    assert_false(parse("ms key 2 Fx", 3));
    assert_string_equal(m.err, "CLIENT_ERROR bad command line format"); /* F keeps the last */
    assert_false(parse("ms key 2 Tx Fx", 3));
    assert_string_equal(m.err, "CLIENT_ERROR bad token in command line format");
    assert_false(parse("ma key J", 2));
    assert_string_equal(m.err, "CLIENT_ERROR invalid numeric initial value");
    assert_false(parse("ma key D-1", 2));
    assert_string_equal(m.err, "CLIENT_ERROR invalid numeric delta value");
    assert_false(parse("mg !!! b", 2));
    assert_string_equal(m.err, "CLIENT_ERROR error decoding key");
    assert_false(parse("mg key 1", 2)); /* digits are not flags */
    assert_string_equal(m.err, "CLIENT_ERROR invalid flag");
}

static void test_binary_key(void **state)
{
    (void)state;
    assert_true(parse("mg Zm9vYmFy b v", 2));
    assert_int_equal(m.nkey, 6);
    assert_memory_equal(m.key, "foobar", 6);
    assert_true(m.key == m.keybuf);
    assert_true(parse("mg Zm9vYmFy v", 2)); /* no b: the key as sent */
    assert_true(m.key == m.tok[1].p);
}

static void test_base64(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(base64_decode("Zm9v", 4, out, sizeof out), 3);
    assert_memory_equal(out, "foo", 3);
    assert_int_equal(base64_decode("Zm8=", 4, out, sizeof out), 2);
    assert_int_equal(base64_decode("Zg==", 4, out, sizeof out), 1);
    assert_int_equal(base64_decode("Zm9", 3, out, sizeof out), 0);     /* not groups of 4 */
    assert_int_equal(base64_decode("Zm!9v", 5, out, sizeof out), 3);   /* memcached skips '!' */
    assert_int_equal(base64_decode("!!!!", 4, out, sizeof out), 0);
    assert_int_equal(base64_decode("Z===", 4, out, sizeof out), 0);    /* three pads */
    assert_int_equal(base64_decode("Zm9vYmFy", 8, out, 5), 0);         /* no room */
    char enc[16];
    assert_int_equal(base64_encode("foobar", 6, enc), 8);
    assert_memory_equal(enc, "Zm9vYmFy", 8);
    assert_int_equal(base64_encode("fo", 2, enc), 4);
    assert_memory_equal(enc, "Zm8=", 4);
    assert_int_equal(base64_encode("f", 1, enc), 4);
    assert_memory_equal(enc, "Zg==", 4);
    unsigned char all[256], back[258]; /* room counted before padding: 344 / 4 * 3 */
    char big[BASE64_LEN(256)];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    size_t n = base64_encode((const char *)all, 256, big);
    assert_int_equal(n, BASE64_LEN(256));
    assert_int_equal(base64_decode(big, n, (char *)back, sizeof back), 256);
    assert_memory_equal(all, back, 256);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),     cmocka_unit_test(test_flags_and_tokens),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_binary_key),
        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
