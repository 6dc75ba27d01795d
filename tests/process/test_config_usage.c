/* Unit tests of config_usage: `memg -h` names every flag the parser
 * takes. The flags are read from the parser's own tables in the sources
 * (the short option string, the long option table and the -o words the
 * config*.c files match), so a flag added without -h text fails here;
 * each -o word found is also checked to be one the parser accepts, so the
 * reading of the sources cannot drift into words that are not flags. */
#include <ctype.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "process/config.h"

#define BIG (1 << 16)

/* Everything written to a memfd by fn(fd). */
static char *_capture(void (*fn)(int fd, void *arg), void *arg)
{
    int fd = memfd_create("usage", 0);
    assert_true(fd >= 0);
    fn(fd, arg);
    char *text = calloc(1, BIG);
    ssize_t n = pread(fd, text, BIG - 1, 0);
    assert_true(n >= 0 && n < BIG - 1);
    close(fd);
    return text;
}

static void _usage(int fd, void *arg)
{
    (void)arg;
    config_usage(fd);
}

static char *usage;

/* The repository's root: the tests run from it (make unit); else found
 * from this file's own path. */
static const char *_root(void)
{
    static char root[4096];
    if (access("src/process/config.c", R_OK) == 0)
        return ".";
    snprintf(root, sizeof(root), "%s", __FILE__);
    char *t = strstr(root, "tests/process/");
    if (t)
        *t = '\0';
    strcat(root, ".");
    return root;
}

static char *_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s", path);
    char *s = calloc(1, 1 << 20);
    size_t n = fread(s, 1, (1 << 20) - 1, f);
    fclose(f);
    s[n] = '\0';
    return s;
}

static bool _word_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* needle in hay with no word character (nor '-') right after it, and none
 * right before unless it starts with '-'. */
static const char *_find(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) {
        bool before = p > hay && (_word_char(p[-1]) || (needle[0] == '-' && p[-1] == '-'));
        if (!before && !_word_char(p[n]) && p[n] != '-')
            return p;
    }
    return NULL;
}

/* The line of usage around p. */
static void _line_of(const char *p, const char **b, const char **e)
{
    *b = p;
    while (*b > usage && (*b)[-1] != '\n')
        (*b)--;
    *e = strchr(p, '\n');
    if (!*e)
        *e = p + strlen(p);
}

static bool _line_has(const char *p, const char *what)
{
    const char *b, *e;
    _line_of(p, &b, &e);
    const char *q = strstr(b, what);
    return q && q < e;
}

/* The short options string of config.c ("_shortopts[] = "...""). */
static void _shortopts(const char *src, char *out, size_t cap)
{
    const char *p = strstr(src, "_shortopts[] =");
    assert_non_null(p);
    p = strchr(p, '"');
    const char *e = strchr(p + 1, '"');
    assert_true(p && e && (size_t)(e - p) < cap);
    memcpy(out, p + 1, (size_t)(e - p - 1));
    out[e - p - 1] = '\0';
}

static void test_short_options(void **state)
{
    (void)state;
    char path[4200], opts[128];
    snprintf(path, sizeof(path), "%s/src/process/config.c", _root());
    char *src = _read(path);
    _shortopts(src, opts, sizeof(opts));
    int n = 0;
    for (const char *c = opts; *c; c++) {
        if (*c == ':')
            continue;
        char flag[3] = {'-', *c, '\0'};
        if (!_find(usage, flag))
            fail_msg("-h does not mention %s, which the parser takes", flag);
        n++;
    }
    assert_true(n >= 30);
    /* and the other way: every flag a -h line starts with is taken */
    for (const char *l = usage; l; l = strchr(l, '\n')) {
        l += *l == '\n';
        if (l[0] == '-' && isalpha((unsigned char)l[1]) && !strchr(opts, l[1]))
            fail_msg("-h describes -%c, which the parser does not take", l[1]);
    }
    free(src);
}

/* {"name", xxx_argument, NULL, 'c'} rows of _longopts. */
struct longopt {
    char name[64];
    char val; /* 0: no short letter (CONF_FILE_OPT) */
};

static int _longopts(const char *src, struct longopt *lo, int max)
{
    const char *p = strstr(src, "_longopts[] = {");
    assert_non_null(p);
    const char *end = strstr(p, "{NULL, 0, NULL, 0}");
    assert_non_null(end);
    int n = 0;
    for (p = strstr(p, "{\""); p && p < end; p = strstr(p + 1, "{\"")) {
        const char *q = strchr(p + 2, '"');
        assert_true(n < max && q && (size_t)(q - p - 2) < sizeof(lo[n].name));
        memcpy(lo[n].name, p + 2, (size_t)(q - p - 2));
        lo[n].name[q - p - 2] = '\0';
        const char *row_end = strchr(q, '}');
        const char *tick = memchr(q, '\'', (size_t)(row_end - q));
        lo[n].val = tick ? tick[1] : 0;
        n++;
    }
    return n;
}

/* A long option is named in -h as --name, or it is another name of a
 * letter whose -h line names it otherwise: an alias of a documented long
 * name (--pid-file of --pidfile), or a letter described without any long
 * name (-f, -n; -i and -N, refused). */
static void test_long_options(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/src/process/config.c", _root());
    char *src = _read(path);
    struct longopt lo[96];
    int n = _longopts(src, lo, 96);
    assert_true(n >= 30);
    for (int i = 0; i < n; i++) {
        char dashed[80];
        snprintf(dashed, sizeof(dashed), "--%.63s", lo[i].name);
        if (_find(usage, dashed))
            continue;
        bool covered = false;
        for (int j = 0; j < n && !covered && lo[i].val; j++) {
            char other[80];
            snprintf(other, sizeof(other), "--%.63s", lo[j].name);
            covered = j != i && lo[j].val == lo[i].val && _find(usage, other);
        }
        char flag[3] = {'-', lo[i].val, '\0'};
        const char *at = lo[i].val ? _find(usage, flag) : NULL;
        if (!covered && !(at && !_line_has(at, "--")))
            fail_msg("-h does not mention %s, which the parser takes", dashed);
    }
    free(src);
}

/* A -o word is written out in -h, or as "[no_]word" / "no_word" beside
 * its word, or under a "prefix*" that covers it. */
static bool _documented(const char *w)
{
    if (_find(usage, w))
        return true;
    if (strncmp(w, "no_", 3) == 0 && _documented(w + 3))
        return true;
    for (const char *p = strchr(usage, '*'); p; p = strchr(p + 1, '*')) {
        const char *b = p;
        while (b > usage && _word_char(b[-1]))
            b--;
        if (p > b && strncmp(w, b, (size_t)(p - b)) == 0)
            return true;
    }
    return false;
}

/* The string literals on the lines of src that compare an -o word (the
 * matchers `memcmp(item, ...` and `_is(key, klen, ...`), and the words of
 * the `_ignored_ext` list. */
static int _ext_words(const char *src, char words[][40], int n, int max)
{
    for (const char *l = src; l && *l; l = strchr(l, '\n'), l += l && *l == '\n') {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        char line[512];
        snprintf(line, sizeof(line), "%.*s", (int)(len < 511 ? len : 511), l);
        if (!strstr(line, "memcmp(item") && !strstr(line, "_is(key, klen"))
            continue;
        for (char *q = strchr(line, '"'); q; q = strchr(q + 1, '"')) {
            char *r = strchr(q + 1, '"');
            if (!r)
                break;
            size_t k = (size_t)(r - q - 1);
            bool word = k > 0 && k < 40 && islower((unsigned char)q[1]);
            for (size_t i = 1; i <= k && word; i++)
                word = islower((unsigned char)q[i]) || isdigit((unsigned char)q[i]) || q[i] == '_';
            bool excluded = q - line >= 16 && memcmp(q - 16, "!_is(key, klen, ", 16) == 0;
            if (word && !excluded && q[k] != '_' && n < max) /* "no_": a prefix, not a word */
                snprintf(words[n++], 40, "%.*s", (int)k, q + 1);
            q = r;
        }
    }
    const char *p = strstr(src, "_ignored_ext[] = {");
    const char *end = p ? strstr(p, "NULL") : NULL;
    for (p = p ? strchr(p, '"') : NULL; p && p < end; p = strchr(p + 1, '"')) {
        const char *r = strchr(p + 1, '"');
        if (n < max)
            snprintf(words[n++], 40, "%.*s", (int)(r - p - 1), p + 1);
        p = r;
    }
    return n;
}

struct parse_arg {
    char *argv[4];
};

static void _parse(int fd, void *arg)
{
    struct parse_arg *a = arg;
    struct config cfg;
    config_defaults(&cfg);
    config_parse(&cfg, 3, a->argv, fd, fd);
    config_tls_free(&cfg.tls);
}

static void test_ext_words(void **state)
{
    (void)state;
    static char words[256][40];
    int n = 0;
    char pattern[4200];
    snprintf(pattern, sizeof(pattern), "%s/src/process/config*.c", _root());
    glob_t g;
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *src = _read(g.gl_pathv[i]);
        n = _ext_words(src, words, n, 256);
        free(src);
    }
    globfree(&g);
    assert_true(n >= 20);
    int found[3] = {0}; /* the reading finds words of each kind */
    char missing[1024] = "";
    for (int i = 0; i < n; i++) {
        found[0] += strcmp(words[i], "idle_timeout") == 0;
        found[1] += strcmp(words[i], "ssl_chain_cert") == 0;
        found[2] += strcmp(words[i], "hashpower") == 0;
        /* a word of the parser: whatever it says of a bare "-o word",
         * never that the word is unknown */
        struct parse_arg a = {{"memg", "-o", words[i], NULL}};
        char *said = _capture(_parse, &a);
        if (strstr(said, "illegal suboption"))
            fail_msg("read \"%s\" from the sources, but the parser does not take it", words[i]);
        free(said);
        if (!_documented(words[i]) && !strstr(missing, words[i]))
            snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), " %.39s",
                     words[i]);
    }
    if (missing[0])
        fail_msg("-h does not mention these -o words, which the parser takes:%s", missing);
    assert_true(found[0] && found[1] && found[2]);
}

/* The first line: memg's release and the memcached version it answers as. */
static void test_header(void **state)
{
    (void)state;
    char want[128];
    snprintf(want, sizeof(want), "memg %s (memcached %s compatible)\n", MEMG_RELEASE, MEMG_VERSION);
    assert_memory_equal(usage, want, strlen(want));
    assert_int_equal(usage[strlen(usage) - 1], '\n');
}

static int setup(void **state)
{
    (void)state;
    usage = _capture(_usage, NULL);
    return usage[0] ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(usage);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_short_options),
        cmocka_unit_test(test_long_options),
        cmocka_unit_test(test_ext_words),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
