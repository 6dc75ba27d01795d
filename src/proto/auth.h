/* auth: the users of -S (SASL PLAIN, file named by MEMCACHED_SASL_PWDB) and
 * -Y (text-protocol tokens): "user:password" lines read once at start, and
 * passwords compared in constant time. */
#ifndef MEMG_AUTH_H
#define MEMG_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_FILE_MAX (1u << 20) /* a larger password file is refused */

struct auth;

/* Read path; NULL with a one-line reason in err (missing, unreadable, too
 * large, no user in it). */
struct auth *auth_load(const char *path, char *err, size_t errlen);
/* The same from text in memory (copied); NULL when it holds no user or
 * memory runs out. */
struct auth *auth_parse(const char *text, size_t len);
void auth_free(struct auth *a);

/* True when user and password match an entry. The time taken depends on
 * the file and the lengths given, not on how much of a password matched. */
bool auth_check(const struct auth *a, const char *user, size_t nuser, const char *pass,
                size_t npass);

/* A SASL PLAIN message: [authzid] NUL authcid NUL passwd; an authzid, if
 * any, must be the user's own. */
bool auth_plain(const struct auth *a, const char *msg, size_t n);

#endif
