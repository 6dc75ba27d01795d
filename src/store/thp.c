/* thp: the -L check and advice (see thp.h). */
#include "thp.h"
#include "lib/fmt.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const KERNEL_PATHS[] = {
    "/sys/kernel/mm/transparent_hugepage/enabled",
    "/sys/kernel/mm/redhat_transparent_hugepage/enabled", /* RHEL 6 kernels */
    NULL,
};

/* memcached 1.6 prints the reason, then this, and exits 1. */
static bool _refuse(int errfd, const char *why)
{
    fmt_fd(errfd, "%s\nWill use default page size.\n"
                  "Cannot enable large pages on this system\n"
                  "(There is no support as of this version)\n", why);
    return false;
}

bool thp_usable(const char *const *paths, int errfd)
{
    const char *path = NULL;
    struct stat sb;
    for (const char *const *p = paths ? paths : KERNEL_PATHS; *p && !path; p++)
        if (stat(*p, &sb) == 0 && S_ISREG(sb.st_mode))
            path = *p;
#ifndef MADV_HUGEPAGE
    path = NULL; /* built without the advice to give */
#endif
    if (!path)
        return _refuse(errfd, "Transparent huge pages support not detected.");
    char text[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return _refuse(errfd, "Transparent huge pages could not read the configuration.");
    text[n] = '\0';
    bool never = false; /* "[never]" selected: a plain scan (libc's strstr is 1.3 KB) */
    for (ssize_t i = 0; i + 7 <= n && !never; i++)
        never = memcmp(text + i, "[never]", 7) == 0;
    if (never)
        return _refuse(errfd, "Transparent huge pages support disabled.");
    return true;
}

bool thp_advise(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    return madvise(p, len, MADV_HUGEPAGE) == 0;
#else
    (void)p;
    (void)len;
    return false;
#endif
}
