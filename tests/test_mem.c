/* Unit tests of the inline short copy and compare (mem.h): every length
 * through the short paths and past them, at every alignment, against libc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mem.h"

#define LEN_MAX (MEM_SHORT_MAX + 40)
#define ALIGNS 8

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 131 + i * 7 + 1);
}

static void test_copy_every_length_and_alignment(void **state)
{
    (void)state;
    static unsigned char src[LEN_MAX + ALIGNS], dst[LEN_MAX + ALIGNS + 16], want[sizeof dst];
    for (size_t n = 0; n <= LEN_MAX; n++)
        for (size_t so = 0; so < ALIGNS; so++)
            for (size_t doff = 0; doff < ALIGNS; doff++) {
                fill(src, sizeof src, (unsigned)(n + so));
                memset(dst, 0xee, sizeof dst);
                memset(want, 0xee, sizeof want);
                memcpy(want + doff, src + so, n);
                mem_copy(dst + doff, src + so, n);
                /* the bytes around the copy are untouched too */
                assert_memory_equal(dst, want, sizeof dst);
            }
}

static void test_equal_finds_any_differing_byte(void **state)
{
    (void)state;
    static unsigned char a[LEN_MAX + ALIGNS], b[LEN_MAX + ALIGNS];
    for (size_t n = 0; n <= LEN_MAX; n++)
        for (size_t off = 0; off < ALIGNS; off++) {
            fill(a, sizeof a, (unsigned)n);
            memcpy(b + off, a, n);
            assert_true(mem_equal(a, b + off, n));
            for (size_t i = 0; i < n; i++) {
                b[off + i] ^= 0x80;
                assert_false(mem_equal(a, b + off, n));
                assert_false(mem_equal(b + off, a, n));
                b[off + i] ^= 0x80;
            }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_every_length_and_alignment),
        cmocka_unit_test(test_equal_finds_any_differing_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
