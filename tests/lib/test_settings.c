/* Unit tests of settings: the names `stats settings` prints for -B and
 * ssl_min_version, memcached's words, and the defaults struct config
 * starts from (config_defaults), which `stats settings` shows before any
 * flag: memcached 1.6's values where memg has the same knob. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/settings.h"
#include "process/config.h"

static void test_protocol_names(void **state)
{
    (void)state;
    assert_string_equal(config_protocol_name(CONFIG_PROTO_AUTO), "auto-negotiate");
    assert_string_equal(config_protocol_name(CONFIG_PROTO_ASCII), "ascii");
    assert_string_equal(config_protocol_name(CONFIG_PROTO_BINARY), "binary");
}

static void test_tls_version_names(void **state)
{
    (void)state;
    assert_string_equal(config_tls_version_name(0), "tlsv1.0");
    assert_string_equal(config_tls_version_name(1), "tlsv1.1");
    assert_string_equal(config_tls_version_name(2), "tlsv1.2");
    assert_string_equal(config_tls_version_name(3), "tlsv1.3");
    assert_string_equal(config_tls_version_name(-1), "unknown");
    assert_string_equal(config_tls_version_name(4), "unknown");
}

static void test_defaults(void **state)
{
    (void)state;
    struct config c;
    config_defaults(&c);
    assert_int_equal(c.port, 11211);
    assert_int_equal(c.udp_port, 0);
    assert_int_equal(c.nlisten, 0);
    assert_null(c.unix_socket);
    assert_int_equal(c.unix_mask, 0700);
    assert_int_equal(c.max_conns, 1024);
    assert_int_equal(c.mem_limit, 64u << 20);
    assert_int_equal(c.item_size_max, 1u << 20);
    assert_true(c.evict);
    assert_true(c.cas_enabled);
    assert_int_equal(c.backlog, 1024);
    assert_int_equal(c.reqs_per_event, 20);
    assert_int_equal(c.idle_timeout, 0);
    assert_int_equal(c.out_limit, 1u << 20);
    assert_int_equal(c.http_port, -1);
    assert_int_equal(c.protocol, CONFIG_PROTO_AUTO);
    assert_false(c.protocol_given);
    assert_true(c.flush_enabled);
    assert_true(c.dump_enabled);
    assert_true(c.watch_enabled);
    assert_true(c.crawler);
    assert_int_equal(c.crawler_sleep, 100);
    assert_int_equal(c.prefix_delimiter, ':');
    assert_false(c.detail_enabled);
    assert_false(c.tls.enabled);
    assert_int_equal(c.tls.keyformat, 1);
    assert_int_equal(c.tls.min_version, 2);
    assert_string_equal(config_tls_version_name(c.tls.min_version), "tlsv1.2");
    assert_false(c.sasl || c.enable_shutdown || c.daemonize || c.large_pages || c.lock_memory);
    assert_int_equal(c.verbose, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol_names),
        cmocka_unit_test(test_tls_version_names),
        cmocka_unit_test(test_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
