/* thp: -L, item memory in transparent huge pages (2 MB on x86-64 and
 * aarch64 with 4 KB pages): fewer TLB misses when values are read from the
 * store and copied out by the kernel. Opt-in, as in memcached: a huge page is
 * faulted in and zeroed whole, so a store that grows pays 2 MB at a time. */
#ifndef MEMG_THP_H
#define MEMG_THP_H

#include <stdbool.h>
#include <stddef.h>

/* The unit segments are mapped in when huge pages are wanted. */
#define THP_BLOCK ((size_t)2 << 20)

/* Whether the kernel offers transparent huge pages, judged from the first of
 * paths (a NULL-terminated list of sysfs "enabled" files) that exists. When
 * not, memcached's messages for -L go to errfd: why, then that it cannot
 * enable large pages. NULL paths: the kernel's own. */
bool thp_usable(const char *const *paths, int errfd);

/* Asks for huge pages on [p, p + len); false when the kernel refuses. */
bool thp_advise(void *p, size_t len);

#endif
