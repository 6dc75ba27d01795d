/* server: listening sockets, accepting within -c, signals, the periodic
 * timer (clock, store upkeep, idle timeout) and an orderly shutdown. */
#ifndef MEMG_SERVER_H
#define MEMG_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct auth;
struct config;
struct server;
struct stats;
struct store;

/* Open the sockets named by cfg. NULL with a one-line reason in err. */
struct server *server_create(const struct config *cfg, struct store *store, struct stats *stats,
                             const struct auth *auth, char *err, size_t errlen);
/* Serve until SIGTERM/SIGINT/SIGUSR1 or `shutdown`; returns the exit status. */
int server_run(struct server *srv);
/* The stop was graceful (SIGUSR1, `shutdown graceful`): -e saves the cache. */
bool server_graceful(const struct server *srv);
void server_destroy(struct server *srv);
/* The TCP port actually bound (for -p 0). */
int server_port(const struct server *srv);
/* The HTTP front's port (-o http_port, 0 resolved), -1 when off. */
int server_http_port(const struct server *srv);

#endif
