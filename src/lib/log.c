/* log: verbose lines and watch streams (log.h). Off the request path:
 * every caller tests log_level or log_watching first. */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "fmt.h"
#include "out.h"
#include "stats.h"

#define LINE_MAX_LOG 1024
#define REQ_SHOWN 512 /* request bytes shown: the line, cut there */

int log_level;
int log_fd = -1;
unsigned log_watching;

struct watcher {
    struct out *out;
    unsigned mask;
    uint64_t skipped;
    void (*wake)(void *);
    void *arg;
};
static struct watcher watchers[LOG_WATCHERS_MAX];
static unsigned nwatchers;
static uint64_t gid;
static struct stats *log_stats;
uint32_t log_watch_buf = LOG_WATCH_BUF;
static char noreply_text[128]; /* a silenced reply, printed after its request */
static size_t noreply_len;

void log_setup(struct stats *stats)
{
    log_stats = stats;
}

void log_line(const char *fmt, ...)
{
    char line[LINE_MAX_LOG + 1];
    va_list ap;
    va_start(ap, fmt);
    size_t n = fmt_vbuf(line, LINE_MAX_LOG, fmt, ap);
    va_end(ap);
    if (n >= LINE_MAX_LOG)
        n = LINE_MAX_LOG - 1;
    line[n++] = '\n';
    fmt_write(STDERR_FILENO, line, n);
}

/* --- -vv: requests and replies ------------------------------------------- */

/* A streaming reader of reply bytes: lines, and values skipped. */
struct reply_scan {
    int fd;
    bool first_only; /* HTTP: the status line is enough */
    bool done;
    uint64_t skip;   /* value bytes (and their \r\n) still to pass over */
    size_t n;
    char line[256];
};

static void _reply_line(struct reply_scan *r)
{
    size_t n = r->n;
    if (n && r->line[n - 1] == '\r')
        n--;
    r->n = 0;
    if (n > 6 && memcmp(r->line, "VALUE ", 6) == 0) { /* VALUE key flags bytes [cas] */
        const char *key = r->line + 6, *end = memchr(key, ' ', n - 6);
        const char *bytes = end ? memchr(end + 1, ' ', (size_t)(r->line + n - end - 1)) : NULL;
        uint64_t len = 0;
        for (const char *p = bytes ? bytes + 1 : r->line + n; p < r->line + n && *p != ' '; p++)
            len = len * 10 + (uint64_t)(*p - '0');
        r->skip = len + 2;
        log_line(">%d sending key %.*s", r->fd, (int)(end ? end - key : 0), key);
        return;
    }
    log_line(">%d %.*s", r->fd, (int)n, r->line);
    r->done = r->first_only;
}

static void _reply_bytes(void *arg, const char *p, size_t len)
{
    struct reply_scan *r = arg;
    while (len && !r->done) {
        if (r->skip) {
            size_t k = r->skip < len ? (size_t)r->skip : len;
            r->skip -= k;
            p += k;
            len -= k;
            continue;
        }
        const char *nl = memchr(p, '\n', len);
        size_t k = nl ? (size_t)(nl - p) : len;
        size_t room = sizeof(r->line) - r->n;
        memcpy(r->line + r->n, p, k < room ? k : room);
        r->n += k < room ? k : room;
        p += k;
        len -= k;
        if (nl) {
            p++;
            len--;
            _reply_line(r);
        }
    }
}

/* memcached's dump of a binary header: four bytes a line, "0x%02x". */
static void _hex24(char dir, int fd, const char *title, const char *pad, const char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    log_line("%c%d %s", dir, fd, title);
    for (size_t i = 0; i + 4 <= n && i < 24; i += 4) {
        char hex[20], *h = hex;
        for (size_t j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)p[i + j];
            *h++ = '0';
            *h++ = 'x';
            *h++ = digits[c >> 4];
            *h++ = digits[c & 15];
            *h++ = ' ';
        }
        log_line("%c%d %s%.*s", dir, fd, pad, 19, hex);
    }
}

static void _bin_head(void *arg, const char *p, size_t len)
{
    char *h = arg; /* h[0]: bytes gathered so far, then the header */
    size_t k = (size_t)h[0] + len > 24 ? 24 - (size_t)h[0] : len;
    memcpy(h + 1 + h[0], p, k);
    h[0] = (char)(h[0] + (char)k);
}

void log_exchange(int fd, const char *proto, const char *req, size_t nreq,
                  const struct out *out, size_t nreply)
{
    if (proto[0] == 'b') { /* "binary" */
        noreply_len = 0;
        _hex24('<', fd, "Read binary protocol data:", "   ", req, nreq);
        char h[25] = {0};
        out_tail(out, nreply, _bin_head, h);
        if (h[0] == 24)
            _hex24('>', fd, "Writing bin response:", "  ", h + 1, 24);
        return;
    }
    const char *nl = memchr(req, '\n', nreq);
    size_t n = nl ? (size_t)(nl - req) : nreq;
    if (n && req[n - 1] == '\r')
        n--;
    if (n) /* not the \r\n after a value received into its item */
        log_line("<%d %.*s", fd, (int)(n < REQ_SHOWN ? n : REQ_SHOWN), req);
    if (noreply_len) { /* after its request, as memcached prints it */
        log_line(">%d NOREPLY %.*s", fd, (int)noreply_len, noreply_text);
        noreply_len = 0;
    }
    /* memcached logs no meta reply but mn's */
    bool meta = n >= 2 && req[0] == 'm' && (n == 2 || req[2] == ' ') && req[1] != 'n';
    if (meta || nreply == 0)
        return;
    struct reply_scan r = {.fd = fd, .first_only = proto[0] == 'h'};
    out_tail(out, nreply, _reply_bytes, &r);
    if (r.n && !r.done)
        _reply_line(&r); /* a reply without a final newline (HTTP's body) */
}

void log_noreply(const char *line, size_t n)
{
    noreply_len = n < sizeof(noreply_text) ? n : sizeof(noreply_text);
    memcpy(noreply_text, line, noreply_len);
}

/* --- watch ------------------------------------------------------------------ */

static void _recompute(void)
{
    log_watching = 0;
    for (unsigned i = 0; i < nwatchers; i++)
        log_watching |= watchers[i].mask;
    if (log_stats)
        log_stats->log_watchers = nwatchers;
}

bool log_watch(struct out *out, unsigned mask, void (*wake)(void *), void *arg)
{
    if (nwatchers == LOG_WATCHERS_MAX)
        return false;
    watchers[nwatchers++] = (struct watcher){out, mask, 0, wake, arg};
    _recompute();
    return true;
}

void log_unwatch(struct out *out)
{
    for (unsigned i = 0; i < nwatchers; i++) {
        if (watchers[i].out == out) {
            watchers[i] = watchers[--nwatchers];
            break;
        }
    }
    _recompute();
}

static void _deliver(struct watcher *w, const char *line, size_t n)
{
    if (out_pending(w->out) + n + 32 > log_watch_buf) { /* a slow watcher: drop, count */
        w->skipped++;
        if (log_stats)
            log_stats->log_watcher_skipped++;
        return;
    }
    if (w->skipped) {
        char note[48];
        /* memcached's logger words (t/watcher.t) */
        size_t k = fmt_buf(note, sizeof(note), "skipped=%llu\n",
                           (unsigned long long)w->skipped);
        out_copy(w->out, note, k);
        w->skipped = 0;
    }
    out_copy(w->out, line, n);
    if (log_stats)
        log_stats->log_watcher_sent++;
    w->wake(w->arg);
}

void log_event(unsigned kind, const char *fmt, ...)
{
    char line[LINE_MAX_LOG];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    size_t n = fmt_buf(line, sizeof(line), "ts=%d.%d gid=%llu ", (int)tv.tv_sec, (int)tv.tv_usec,
                       (unsigned long long)++gid);
    va_list ap;
    va_start(ap, fmt);
    n += fmt_vbuf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    line[n++] = '\n';
    if (log_stats)
        log_stats->log_worker_written++;
    for (unsigned i = 0; i < nwatchers; i++)
        if (watchers[i].mask & kind)
            _deliver(&watchers[i], line, n);
}
