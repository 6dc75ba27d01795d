/* log: memcached's -v/-vv/-vvv lines on stderr and the `watch` command's
 * streams. Off, each costs the callers one test of a global: log_level for
 * the verbose lines, log_watching (the watchers' kinds, 0 when none) for
 * the streams. Single-threaded, as the rest of memg. */
#ifndef MEMG_LOG_H
#define MEMG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct out;
struct stats;

/* -v count, and `verbosity N` at run time: 1 errors and warnings, 2 each
 * request and reply line, 3 connection state changes too. */
extern int log_level;
/* The connection being served, for lines written from deep inside. */
extern int log_fd;

/* What a watcher asked for (`watch fetchers mutations ...`). */
#define LOG_W_FETCHERS 1u
#define LOG_W_MUTATIONS 2u
#define LOG_W_CONNEVENTS 4u
#define LOG_W_EVICTIONS 8u
#define LOG_W_DELETIONS 16u /* memcached 1.6.45's `watch deletions` */
extern unsigned log_watching;

/* A line on stderr ("\n" added). */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* -vv: one request and the reply it produced (the last nreply bytes of
 * out), in memcached's words: "<FD line", ">FD reply", "sending key K". */
void log_exchange(int fd, const char *proto, const char *req, size_t nreq,
                  const struct out *out, size_t nreply);
/* -vv: a reply that noreply silenced ("NOREPLY STORED"). */
void log_noreply(const char *line, size_t n);

/* `watch`: out receives the lines of the kinds in mask; wake(arg) is
 * called after lines were queued (the owner then writes them). Lines that
 * would take out past log_watch_buf pending bytes are dropped and counted,
 * and a "[skipped: N]" line says so before the next one. */
#define LOG_WATCH_BUF (256u << 10) /* memcached's watcher_logbuf_size default */
extern uint32_t log_watch_buf;      /* -o watcher_logbuf_size */
#define LOG_WATCHERS_MAX 16
bool log_watch(struct out *out, unsigned mask, void (*wake)(void *), void *arg);
void log_unwatch(struct out *out);
/* Counters for `stats` (log_watcher_sent, _skipped, log_watchers). */
void log_setup(struct stats *stats);
/* One event to the watchers of kind: "ts=... gid=... " then body. */
void log_event(unsigned kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
