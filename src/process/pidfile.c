/* pidfile: memcached's -P pid file. It is checked writable before serving
 * (as the user memg runs as), written as PATH.tmp and renamed, removed at exit. */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h> /* rename only: no stdio is used */
#include <string.h>
#include <unistd.h>

#include "lib/fmt.h"

/* Before serving: can the pid file be written (as the user memg runs as)?
 * A failure stops memg with nothing left behind. */
bool pidfile_writable(const char *path)
{
    char tmp[1024];
    int fd = -1;
    if (fmt_buf(tmp, sizeof(tmp), "%s.tmp", path) < sizeof(tmp))
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST)
        return true; /* a stale one: rewritten below, as memcached does */
    if (fd < 0) {
        fmt_fd(STDERR_FILENO, "memg: can't write the pid file %s: %s\n", path,
               strlen(path) >= sizeof(tmp) - 4 ? "path too long" : strerror(errno));
        return false;
    }
    close(fd);
    unlink(tmp);
    return true;
}

/* The pid in an existing pid file, if that process runs: memcached warns. */
static void _warn_running_pid(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    char text[32];
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    unsigned long pid = 0;
    for (ssize_t i = 0; i < n && text[i] >= '0' && text[i] <= '9' && pid < 1000000000; i++)
        pid = pid * 10 + (unsigned long)(text[i] - '0');
    if (pid > 0 && kill((pid_t)pid, 0) == 0)
        fmt_fd(STDERR_FILENO, "WARNING: The pid file contained the following (running) pid: %lu\n",
               pid);
}

/* As memcached: written as PATH.tmp and renamed, so that a reader never
 * sees it empty; a failure is reported and memg serves on regardless. */
void pidfile_write(const char *path)
{
    _warn_running_pid(path);
    char tmp[1024];
    if (fmt_buf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666); /* fopen's "w" */
    if (fd < 0) {
        fmt_fd(STDERR_FILENO, "memg: could not open the pid file %s for writing: %s\n", tmp,
               strerror(errno));
        return;
    }
    char line[32];
    size_t len = fmt_buf(line, sizeof(line), "%ld\n", (long)getpid());
    bool written = fmt_write(fd, line, len);
    if (close(fd) != 0 || !written) {
        fmt_fd(STDERR_FILENO, "Could not close the pid file %s: %s\n", tmp, strerror(errno));
        return;
    }
    if (rename(tmp, path) != 0)
        fmt_fd(STDERR_FILENO, "Could not rename the pid file from %s to %s: %s\n", tmp, path,
               strerror(errno));
}

void pidfile_remove(const char *path)
{
    if (unlink(path) != 0)
        fmt_fd(STDERR_FILENO, "Could not remove the pid file %s: %s\n", path, strerror(errno));
}
