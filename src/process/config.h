/* config: defaults, memcached-compatible command-line flags, usage text. */
#ifndef MEMG_CONFIG_H
#define MEMG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEMG_VERSION "1.6.18"   /* the protocol level we answer as: the VERSION reply */
#define MEMG_RELEASE "0.1.0"   /* memg's own version: -V, the start line, `stats version` */
#define CONFIG_MAX_LISTEN 16
#define CONFIG_LISTEN_BUF 1024  /* bytes for the -l strings, NULs included */

/* -B: which protocol a connection speaks. */
enum config_protocol {
    CONFIG_PROTO_AUTO = 0, /* the first byte decides: 0x80 binary, else text */
    CONFIG_PROTO_ASCII,
    CONFIG_PROTO_BINARY,
};

struct config {
    int port;                        /* -p, default 11211 */
    int udp_port;                    /* -U, only 0 is accepted */
    const char *listen[CONFIG_MAX_LISTEN]; /* -l (comma lists and repeats) */
    int nlisten;                     /* 0: 127.0.0.1 */
    const char *unix_socket;         /* -s */
    int unix_mask;                   /* -a, octal, default 0700 */
    int max_conns;                   /* -c, default 1024 */
    uint64_t mem_limit;              /* -m in bytes, default 64 MB */
    uint64_t item_size_max;          /* -I in bytes, default 1 MB */
    bool evict;                      /* false with -M */
    bool large_pages;                /* -L: item memory in huge pages */
    bool core_dumps;                 /* -r: core file size limit raised */
    bool lock_memory;                /* -k: mlockall, as memcached */
    int verbose;                     /* -v count */
    int threads;                     /* -t, accepted, memg uses one */
    bool daemonize;                  /* -d */
    const char *pidfile;             /* -P */
    const char *user;                /* -u */
    bool enable_shutdown;            /* -A */
    int idle_timeout;                /* -o idle_timeout=N seconds, 0 = off */
    int backlog;                     /* -b, default 1024 */
    bool cas_enabled;                /* false with -C */
    int reqs_per_event;              /* -R, default 20 */
    uint64_t out_limit;              /* pending output before reads pause,
                                        default 1 MiB, -o out_limit=SIZE */
    int http_port;                   /* -o http_port=N: HTTP front, -1 off, 0 any free port */
    bool http_readonly;              /* -o http_readonly: 405 to PUT and DELETE */
    enum config_protocol protocol;   /* -B, default auto (binary with -S, ascii with -Y) */
    bool protocol_given;             /* -B was on the command line */
    bool sasl;                       /* -S: binary SASL PLAIN, users from MEMCACHED_SASL_PWDB */
    const char *auth_file;           /* -Y: text-protocol users ("user:pass" lines) */
    bool flush_enabled;              /* false with -F: flush_all refused */
    bool dump_enabled;               /* false with -X: cachedump/metadump refused */
    bool watch_enabled;              /* false with -W: watch refused */
    bool crawler;                    /* -o no_lru_crawler: no background expiry sweep */
    uint32_t crawler_sleep;          /* -o lru_crawler_sleep=US (0..1000000, 100) */
    uint32_t crawler_tocrawl;        /* -o lru_crawler_tocrawl=N (0: every item) */
    char prefix_delimiter;           /* -D: stats detail's prefix ends here (':') */
    bool detail_enabled;             /* -D: stats detail on from the start */
    const char *conf_file;           /* --conf-file: flags read from it first */
    const char *memory_file;         /* -e: item memory in this file, kept over restarts */
    bool bad_option;                 /* CONFIG_ERROR was an unknown option (exit 1) */
    /* Storage the listen[] strings point into (comma lists are split here):
     * a parsed config must not be copied by value. */
    char listen_buf[CONFIG_LISTEN_BUF];
};

/* Outcome of parsing the command line. */
enum config_result {
    CONFIG_OK = 0,     /* run the server */
    CONFIG_EXIT = 1,   /* -h or -V printed; exit 0 */
    CONFIG_ERROR = 2,  /* message printed to err; exit 64 as memcached (1 when
                          cfg->bad_option: getopt's unknown option) */
};

void config_defaults(struct config *cfg);
/* Parse argv into cfg. Messages for -h/-V go to the file descriptor out,
 * errors (one line that names the flag) to err. --conf-file=PATH (anywhere
 * in argv) is read first, so that the command line overrides it: one or
 * more flags per line, '#' starts a comment; an error names PATH:LINE.
 * The file's text is kept for the process' life (cfg points into it). */
enum config_result config_parse(struct config *cfg, int argc, char **argv, int out, int err);
void config_usage(int out);
/* memcached's name for a -B value, as `stats settings` prints it. */
const char *config_protocol_name(enum config_protocol p);

#endif
