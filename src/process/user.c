/* user: a passwd file's line for a name. */
#include "user.h"

#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#define PASSWD_MAX (256 * 1024) /* read at most this much of the file */

/* A decimal field up to ':'; false when empty or not a number. */
static bool _id(const char **p, const char *end, unsigned long *v)
{
    const char *s = *p;
    *v = 0;
    while (*p < end && **p >= '0' && **p <= '9' && *v < 0xffffffffu)
        *v = *v * 10 + (unsigned long)(*(*p)++ - '0');
    if (*p == s || *p >= end || **p != ':')
        return false;
    (*p)++;
    return true;
}

bool user_lookup(const char *passwd_path, const char *name, uid_t *uid, gid_t *gid)
{
    static char text[PASSWD_MAX];
    size_t nlen = strlen(name);
    int fd = open(passwd_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || nlen == 0)
        return fd >= 0 ? close(fd), false : false;
    ssize_t len = read(fd, text, sizeof text);
    close(fd);
    for (const char *p = text, *end = text + (len > 0 ? len : 0); p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        if ((size_t)(le - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *q = memchr(p + nlen + 1, ':', (size_t)(le - p - (ptrdiff_t)nlen - 1));
            unsigned long u, g;
            if (!q)
                return false;
            q++;
            if (!_id(&q, le, &u) || !_id(&q, le, &g))
                return false;
            *uid = (uid_t)u;
            *gid = (gid_t)g;
            return true;
        }
        p = nl ? nl + 1 : end;
    }
    return false;
}
