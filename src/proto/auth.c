/* auth: password files and constant-time checks. */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fmt.h"

struct auth_user {
    const char *user, *pass;
    size_t nuser, npass;
};

struct auth {
    char *text; /* the file, its lines split in place */
    struct auth_user *users;
    size_t nusers;
};

static bool _read_all(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* "user:password" per line; blank lines and a trailing \r are skipped. */
static void _split(struct auth *a, size_t len)
{
    char *p = a->text, *end = a->text + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        char *e = le;
        if (e > p && e[-1] == '\r')
            e--;
        char *colon = memchr(p, ':', (size_t)(e - p));
        if (colon && colon > p) {
            struct auth_user *u = &a->users[a->nusers++];
            u->user = p;
            u->nuser = (size_t)(colon - p);
            u->pass = colon + 1;
            u->npass = (size_t)(e - colon - 1);
        }
        p = le + 1;
    }
}

struct auth *auth_parse(const char *text, size_t len)
{
    struct auth *a = calloc(1, sizeof(*a));
    if (!a || !(a->text = malloc(len + 1)))
        goto fail;
    memcpy(a->text, text, len);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (!(a->users = calloc(lines, sizeof(*a->users))))
        goto fail;
    _split(a, len);
    if (a->nusers)
        return a;
fail:
    auth_free(a);
    return NULL;
}

struct auth *auth_load(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fmt_buf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    struct auth *a = NULL;
    char *text = NULL;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)AUTH_FILE_MAX) {
        fmt_buf(err, errlen, "%s: not a regular file of at most %u bytes", path, AUTH_FILE_MAX);
    } else if (!(text = malloc((size_t)sb.st_size + 1))) {
        fmt_buf(err, errlen, "out of memory reading %s", path);
    } else if (!_read_all(fd, text, (size_t)sb.st_size)) {
        fmt_buf(err, errlen, "cannot read %s", path);
    } else if (!(a = auth_parse(text, (size_t)sb.st_size))) {
        fmt_buf(err, errlen, "%s: no user:password line", path);
    }
    free(text);
    close(fd);
    return a;
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    free(a->users);
    free(a->text);
    free(a);
}

/* Equal lengths and bytes, in time that depends on the lengths only. */
static unsigned _differs(const char *a, size_t na, const char *b, size_t nb)
{
    volatile unsigned diff = na != nb;
    size_t n = na > nb ? na : nb;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < na ? (unsigned char)a[i] : 0;
        unsigned char y = i < nb ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff;
}

bool auth_check(const struct auth *a, const char *user, size_t nuser, const char *pass,
                size_t npass)
{
    unsigned found = 0;
    for (size_t i = 0; i < a->nusers; i++) { /* no early exit: every entry is compared */
        const struct auth_user *u = &a->users[i];
        unsigned bad = _differs(u->user, u->nuser, user, nuser) |
                       _differs(u->pass, u->npass, pass, npass);
        found |= bad == 0;
    }
    return found != 0;
}

bool auth_plain(const struct auth *a, const char *msg, size_t n)
{
    const char *z1 = memchr(msg, '\0', n);
    if (!z1)
        return false;
    const char *user = z1 + 1;
    const char *z2 = memchr(user, '\0', (size_t)(msg + n - user));
    if (!z2)
        return false;
    const char *pass = z2 + 1;
    size_t nzid = (size_t)(z1 - msg), nuser = (size_t)(z2 - user);
    /* acting for another identity (an authzid of its own) is not allowed */
    bool zid_ok = nzid == 0 || (nzid == nuser && memcmp(msg, user, nuser) == 0);
    return auth_check(a, user, nuser, pass, (size_t)(msg + n - pass)) && zid_ok;
}
