/* user: -u's user from the passwd file, without libc's getpwnam (whose
 * stdio and nscd client were 4 KB of a 150 KB binary). */
#ifndef MEMG_USER_H
#define MEMG_USER_H

#include <stdbool.h>
#include <sys/types.h>

/* The uid and gid of name in a passwd file ("name:pw:uid:gid:..."). */
bool user_lookup(const char *passwd_path, const char *name, uid_t *uid, gid_t *gid);

#endif
