/* Unit tests of negotiate (-B auto): the first byte a connection sends
 * picks its protocol, however the bytes are split into reads: 0x80 binary,
 * 0x16 (a TLS ClientHello on a plaintext port) closed at once with no
 * reply, anything else text; an HTTP request line is text that closes.
 * Replies are compared with the chosen protocol's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drive.h"
#include "lib/settings.h"

#define CAP 65536

/* A binary request header: magic, opcode, key and extras lengths, body. */
static size_t _bin(char *dst, uint8_t op, const char *key, uint32_t opaque)
{
    size_t nkey = key ? strlen(key) : 0;
    memset(dst, 0, 24);
    dst[0] = (char)0x80;
    dst[1] = (char)op;
    dst[2] = (char)(nkey >> 8);
    dst[3] = (char)nkey;
    dst[11] = (char)nkey; /* total body: the key alone */
    memcpy(dst + 12, &opaque, 4);
    if (nkey)
        memcpy(dst + 24, key, nkey);
    return 24 + nkey;
}

/* in through auto and through want: the same replies, whole and in every
 * split; returns auto's replies in got (room for CAP). */
static size_t _same(const struct protocol *want, const char *in, size_t len, char *got)
{
    char *direct = malloc(CAP);
    assert_int_equal(drive_split_check(&auto_protocol, NULL, in, len, got, CAP), -1);
    size_t n = drive_pieces(&auto_protocol, NULL, in, len, NULL, 0, got, CAP);
    size_t m = drive_pieces(want, NULL, in, len, NULL, 0, direct, CAP);
    assert_int_equal(n, m);
    assert_memory_equal(got, direct, n);
    free(direct);
    return n;
}

static void test_text(void **state)
{
    (void)state;
    char *got = malloc(CAP);
    static const char in[] = "version\r\nset a 0 0 1\r\nx\r\nget a\r\n";
    _same(&text_protocol, in, sizeof(in) - 1, got);
    assert_string_equal(got, "VERSION " MEMG_VERSION "\r\nSTORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
    /* a binary magic later in the stream is a byte of a text line */
    static const char late[] = "get \x80\r\n";
    _same(&text_protocol, late, sizeof(late) - 1, got);
    assert_string_equal(got, "END\r\n");
    free(got);
}

static void test_binary(void **state)
{
    (void)state;
    char in[128], *got = malloc(CAP);
    size_t n = _bin(in, 0x0b, NULL, 0x01020304); /* version */
    n += _bin(in + n, 0x00, "nokey", 7);          /* get: not found */
    size_t r = _same(&bin_protocol, in, n, got);
    assert_true(r > 48);
    assert_int_equal((unsigned char)got[0], 0x81); /* response magic */
    assert_int_equal(got[1], 0x0b);
    assert_memory_equal(got + 24, MEMG_VERSION, strlen(MEMG_VERSION));
    size_t second = 24 + strlen(MEMG_VERSION);
    assert_int_equal((unsigned char)got[second], 0x81);
    assert_int_equal(got[second + 1], 0x00);
    assert_int_equal(got[second + 7], 0x01); /* status 1: key not found */
    free(got);
}

/* in, fed in two reads split at cut (0: whole), closes the connection
 * with nothing answered; the bytes of a complete first read are not
 * consumed as a request. */
static void _closes(const char *in, size_t len, size_t cut)
{
    struct drive_env *e = malloc(sizeof(*e));
    assert_true(drive_env_init(e, &auto_protocol));
    size_t first = cut ? cut : len;
    size_t used = drive(&auto_protocol, &e->ses, &e->ctx, in, first, &e->out, &e->last);
    if (e->last == FEED_AGAIN) { /* the line is not complete yet: the rest */
        assert_true(cut > 0);
        used = drive(&auto_protocol, &e->ses, &e->ctx, in + used, len - used, &e->out, &e->last);
    }
    assert_int_equal(e->last, FEED_CLOSE);
    assert_int_equal(out_pending(&e->out), 0);
    drive_env_free(e);
    free(e);
}

/* "GET / HTTP/1.1" on the memcached port: a web client, hung up on without
 * a reply, as memcached 1.6.18 and 1.6.45 do (memg's HTTP front has a port
 * of its own). */
static void test_http_closed(void **state)
{
    (void)state;
    static const char in[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    for (size_t cut = 0; cut < sizeof(in) - 1; cut++)
        _closes(in, sizeof(in) - 1, cut);
}

/* A TLS record on a plaintext port: closed at its first byte, whatever
 * follows it in the read. */
static void test_tls_closed(void **state)
{
    (void)state;
    static const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    for (size_t len = 1; len < sizeof(hello); len++) {
        struct drive_env *e = malloc(sizeof(*e));
        assert_true(drive_env_init(e, &auto_protocol));
        size_t used = drive(&auto_protocol, &e->ses, &e->ctx, hello, len, &e->out, &e->last);
        assert_int_equal(used, 0);
        assert_int_equal(e->last, FEED_CLOSE);
        assert_int_equal(out_pending(&e->out), 0);
        drive_env_free(e);
        free(e);
    }
    for (size_t cut = 0; cut < sizeof(hello) - 1; cut++)
        _closes(hello, sizeof(hello) - 1, cut);
}

/* The choice is made once: after a text line, the session speaks text even
 * when the next request starts with the binary magic. */
static void test_choice_sticks(void **state)
{
    (void)state;
    struct drive_env *e = malloc(sizeof(*e));
    assert_true(drive_env_init(e, &auto_protocol));
    static const char in[] = "version\r\n";
    assert_int_equal(drive(&auto_protocol, &e->ses, &e->ctx, in, sizeof(in) - 1, &e->out, &e->last),
                     sizeof(in) - 1);
    assert_ptr_equal(e->ses.proto, &text_protocol);
    char bin[64];
    size_t n = _bin(bin, 0x0b, NULL, 0);
    drive(&auto_protocol, &e->ses, &e->ctx, bin, n, &e->out, &e->last);
    assert_ptr_equal(e->ses.proto, &text_protocol);
    drive_env_free(e);
    free(e);

    e = malloc(sizeof(*e));
    assert_true(drive_env_init(e, &auto_protocol));
    assert_int_equal(drive(&auto_protocol, &e->ses, &e->ctx, bin, n, &e->out, &e->last), n);
    assert_ptr_equal(e->ses.proto, &bin_protocol);
    drive_env_free(e);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_http_closed),
        cmocka_unit_test(test_tls_closed),
        cmocka_unit_test(test_choice_sticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
