/* test_thp: the -L check reads the kernel's THP setting as memcached does and,
 * when it cannot use huge pages, prints memcached's messages byte for byte;
 * the advice is taken where the kernel has THP. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/thp.h"

#define TAIL "Will use default page size.\nCannot enable large pages on this system\n" \
             "(There is no support as of this version)\n"

struct fx {
    char dir[64], enabled[96], other[96], errpath[96];
    int err; /* what thp_usable prints goes here */
};

static int _setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/memg-thp-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->enabled, sizeof f->enabled, "%s/enabled", f->dir);
    snprintf(f->other, sizeof f->other, "%s/redhat_enabled", f->dir);
    snprintf(f->errpath, sizeof f->errpath, "%s/err", f->dir);
    f->err = open(f->errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(f->err >= 0);
    *state = f;
    return 0;
}

static int _teardown(void **state)
{
    struct fx *f = *state;
    unlink(f->enabled);
    unlink(f->other);
    close(f->err);
    unlink(f->errpath);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void _write(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* What thp_usable printed to the error file since the last call. */
static const char *_said(struct fx *f)
{
    static char text[512];
    ssize_t got = pread(f->err, text, sizeof(text) - 1, 0);
    assert_true(got >= 0);
    text[got] = '\0';
    assert_int_equal(ftruncate(f->err, 0), 0);
    assert_int_equal(lseek(f->err, 0, SEEK_SET), 0);
    return text;
}

static bool _usable(struct fx *f)
{
    const char *paths[] = {f->enabled, f->other, NULL};
    return thp_usable(paths, f->err);
}

static void test_enabled(void **state)
{
    struct fx *f = *state;
    _write(f->enabled, "always [madvise] never\n");
    assert_true(_usable(f));
    assert_string_equal(_said(f), "");
    _write(f->enabled, "[always] madvise never\n");
    assert_true(_usable(f));
    assert_string_equal(_said(f), "");
}

static void test_never(void **state)
{
    struct fx *f = *state;
    _write(f->enabled, "always madvise [never]\n");
    assert_false(_usable(f));
    assert_string_equal(_said(f), "Transparent huge pages support disabled.\n" TAIL);
}

static void test_not_detected(void **state)
{
    struct fx *f = *state;
    assert_false(_usable(f));
    assert_string_equal(_said(f), "Transparent huge pages support not detected.\n" TAIL);
    assert_int_equal(mkdir(f->enabled, 0700), 0); /* not a regular file */
    assert_false(_usable(f));
    assert_string_equal(_said(f), "Transparent huge pages support not detected.\n" TAIL);
    rmdir(f->enabled);
}

static void test_second_path(void **state)
{
    struct fx *f = *state;
    _write(f->other, "always [madvise] never\n"); /* RHEL 6's name */
    assert_true(_usable(f));
    _write(f->other, "[always] madvise [never]\n");
    assert_false(_usable(f));
    assert_string_equal(_said(f), "Transparent huge pages support disabled.\n" TAIL);
}

static void test_unreadable(void **state)
{
    struct fx *f = *state;
    _write(f->enabled, ""); /* nothing to read */
    assert_false(_usable(f));
    assert_string_equal(_said(f),
                        "Transparent huge pages could not read the configuration.\n" TAIL);
}

/* The advice on a block-aligned mapping: taken wherever the kernel has THP. */
static void test_advise(void **state)
{
    (void)state;
    struct stat sb;
    if (stat("/sys/kernel/mm/transparent_hugepage/enabled", &sb) != 0)
        skip(); /* a kernel without THP: madvise refuses, nothing to check */
    char *m = mmap(NULL, 2 * THP_BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    assert_true(m != MAP_FAILED);
    char *block = (char *)(((uintptr_t)m + THP_BLOCK - 1) & ~(uintptr_t)(THP_BLOCK - 1));
    assert_true(thp_advise(block, THP_BLOCK));
    block[0] = 1; /* the mapping stays usable */
    assert_int_equal(block[THP_BLOCK - 1], 0);
    munmap(m, 2 * THP_BLOCK);
}

/* Each test gets a fresh directory of fake sysfs files. */
#define WITH_FILES(t) cmocka_unit_test_setup_teardown(t, _setup, _teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        WITH_FILES(test_enabled),     WITH_FILES(test_never),
        WITH_FILES(test_not_detected), WITH_FILES(test_second_path),
        WITH_FILES(test_unreadable),  cmocka_unit_test(test_advise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
