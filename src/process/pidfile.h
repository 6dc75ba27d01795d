/* pidfile: memcached's -P pid file (a failure to write it is reported and
 * memg serves on, as memcached; one that cannot be written at all stops the
 * start before serving). */
#ifndef MEMG_PIDFILE_H
#define MEMG_PIDFILE_H

#include <stdbool.h>

/* Can path be written? false after saying why on stderr. */
bool pidfile_writable(const char *path);
/* Write this process' pid (warning when the old one names a running process). */
void pidfile_write(const char *path);
void pidfile_remove(const char *path);

#endif
