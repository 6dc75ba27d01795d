/* Unit tests of the inline short copy and compare (mem.h): every length
 * through the short paths and past them, at every alignment, against libc;
 * overlapping moves down; the byte search against memchr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mem.h"

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

static void test_move_down_overlapping(void **state)
{
    (void)state;
    static unsigned char buf[3 * LEN_MAX], want[sizeof buf];
    static const size_t lens[] = {0, 1, 15, 16, 17, 300, MEM_SHORT_MAX, MEM_SHORT_MAX + 1, 3000, 2 * LEN_MAX};
    static const size_t gaps[] = {1, 3, 8, 63, 64, 65, 1000, LEN_MAX};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        for (size_t j = 0; j < sizeof gaps / sizeof *gaps; j++) {
            size_t n = lens[i], gap = gaps[j];
            if (n + gap + 5 > sizeof buf)
                continue;
            fill(buf, sizeof buf, (unsigned)(n + gap));
            memcpy(want, buf, sizeof buf);
            memmove(want + 5, want + 5 + gap, n);
            mem_move_down(buf + 5, buf + 5 + gap, n);
            assert_memory_equal(buf, want, sizeof buf);
        }
}

static void test_find_matches_memchr(void **state)
{
    (void)state;
    static char buf[MEM_FIND_INLINE * 3 + ALIGNS];
    for (size_t off = 0; off < ALIGNS; off++)
        for (size_t n = 0; n + off <= sizeof buf; n++) {
            char *p = buf + off;
            memset(buf, 'a', sizeof buf);
            assert_null(mem_find(p, '\n', n)); /* absent */
            for (size_t at = 0; at < n; at++) {
                p[at] = '\n';
                if (at + 1 < n)
                    p[at + 1] = '\n'; /* the first of two */
                assert_ptr_equal(mem_find(p, '\n', n), memchr(p, '\n', n));
                assert_ptr_equal(mem_find(p, '\n', n), p + at);
                if (at + 1 < n) { /* '\v' after it: a borrow flags that byte too */
                    p[at + 1] = '\v';
                    assert_ptr_equal(mem_find(p, '\n', n), p + at);
                }
                p[at] = (char)0x8a; /* a high byte that is not the one sought */
                if (at + 1 < n)
                    p[at + 1] = 'a';
            }
            /* NUL and bytes >= 0x80 are found too */
            if (n) {
                p[n - 1] = '\0';
                assert_ptr_equal(mem_find(p, '\0', n), p + n - 1);
                p[n - 1] = (char)0xff;
                assert_ptr_equal(mem_find(p, (char)0xff, n), p + n - 1);
            }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_every_length_and_alignment),
        cmocka_unit_test(test_equal_finds_any_differing_byte),
        cmocka_unit_test(test_move_down_overlapping),
        cmocka_unit_test(test_find_matches_memchr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
