/* settings: what memg was told to do (struct config), read by every layer;
 * filled by the argv parser (process/config.h) before anything starts. */
#ifndef MEMG_SETTINGS_H
#define MEMG_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEMG_VERSION "1.6.18" /* the protocol level we answer as: the VERSION reply */
#define MEMG_RELEASE "0.1.0"  /* memg's own version: -V, the start line, `stats version` */
#define CONFIG_MAX_LISTEN 16
#define CONFIG_LISTEN_BUF 1024 /* bytes for the -l strings, NULs included */

/* -Z and the -o ssl_* options, memcached's names and meanings (conn/tls.h). */
struct config_tls {
    bool enabled;            /* -Z: every listener speaks TLS but -l notls:... ones */
    const char *chain_cert;  /* ssl_chain_cert: PEM chain, the server's first */
    const char *key;         /* ssl_key */
    int keyformat;           /* ssl_keyformat: 1 PEM (OpenSSL's number, as memcached) */
    int verify_mode;         /* ssl_verify_mode: 0 none, 1 ask, 2 require, 3 require once */
    const char *ca_cert;     /* ssl_ca_cert: the CAs client certificates are checked against */
    const char *ciphers;     /* ssl_ciphers: OpenSSL's cipher list (TLS 1.2) */
    int min_version;         /* ssl_min_version: 0..3 for tlsv1.0..tlsv1.3, default 2 */
    uint32_t wbuf_size;      /* ssl_wbuf_size (given in KB): most bytes one write encrypts */
    bool session_cache;      /* ssl_session_cache: server-side session resumption */
    bool kernel_tls;         /* ssl_kernel_tls: records in the kernel (kTLS) */
};

/* -B: which protocol a connection speaks. */
enum config_protocol {
    CONFIG_PROTO_AUTO = 0, /* the first byte decides: 0x80 binary, else text */
    CONFIG_PROTO_ASCII,
    CONFIG_PROTO_BINARY,
};

struct config {
    int port;                              /* -p, default 11211 */
    int udp_port;                          /* -U, only 0 is accepted */
    const char *listen[CONFIG_MAX_LISTEN]; /* -l (comma lists and repeats) */
    int nlisten;                           /* 0: 127.0.0.1 */
    const char *unix_socket;               /* -s */
    int unix_mask;                         /* -a, octal, default 0700 */
    int max_conns;                         /* -c, default 1024 */
    uint64_t mem_limit;                    /* -m in bytes, default 64 MB */
    uint64_t item_size_max;                /* -I in bytes, default 1 MB */
    bool evict;                            /* false with -M */
    bool large_pages;                      /* -L: item memory in huge pages */
    bool core_dumps;                       /* -r: core file size limit raised */
    bool lock_memory;                      /* -k: mlockall, as memcached */
    int verbose;                           /* -v count */
    int threads;                           /* -t, accepted, memg uses one */
    bool daemonize;                        /* -d */
    const char *pidfile;                   /* -P */
    const char *user;                      /* -u */
    bool enable_shutdown;                  /* -A */
    int idle_timeout;                      /* -o idle_timeout=N seconds, 0 = off */
    int backlog;                           /* -b, default 1024 */
    bool cas_enabled;                      /* false with -C */
    bool large_flags;                      /* -o large_client_flags: 64-bit client flags */
    bool debug_time;                       /* -o debug_time: memcached debug build's `debugtime` */
    int reqs_per_event;                    /* -R, default 20 */
    uint64_t out_limit;                    /* pending output before reads pause,
                                              default 1 MiB, -o out_limit=SIZE */
    int http_port;                         /* -o http_port=N: HTTP front, -1 off, 0 any free port */
    bool http_readonly;                    /* -o http_readonly: 405 to PUT and DELETE */
    enum config_protocol protocol;         /* -B, default auto (binary with -S, ascii with -Y) */
    bool protocol_given;                   /* -B was on the command line */
    bool sasl;                /* -S: binary SASL PLAIN, users from MEMCACHED_SASL_PWDB */
    const char *auth_file;    /* -Y: text-protocol users ("user:pass" lines) */
    bool flush_enabled;       /* false with -F: flush_all refused */
    bool dump_enabled;        /* false with -X: cachedump/metadump refused */
    bool watch_enabled;       /* false with -W: watch refused */
    bool crawler;             /* -o no_lru_crawler: no background expiry sweep */
    bool no_lru_maintainer;   /* -o no_lru_maintainer: memcached's stats without the
                               * maintainer thread's lines (memg has none to stop) */
    uint32_t crawler_sleep;   /* -o lru_crawler_sleep=US (0..1000000, 100) */
    uint32_t crawler_tocrawl; /* -o lru_crawler_tocrawl=N (0: every item) */
    char prefix_delimiter;    /* -D: stats detail's prefix ends here (':') */
    bool detail_enabled;      /* -D: stats detail on from the start */
    const char *conf_file;    /* --conf-file: flags read from it first */
    const char *memory_file;  /* -e: item memory in this file, kept over restarts */
    struct config_tls tls;    /* -Z and -o ssl_* */
    bool maxconns_fast;       /* -o [no_]maxconns_fast: at -c, answer and close a new
                                 connection (default) rather than stop accepting */
    int hash_power;           /* -o hashpower=N: the table's first 2^N slots (0: memg's) */
    bool no_hashexpand;       /* -o no_hashexpand: the table never grows */
    uint32_t watcher_logbuf;  /* -o watcher_logbuf_size=KB, in bytes (256 KB) */
    uint32_t sock_cookie_id;  /* -o sock_cookie_id=N: SO_MARK of the listeners (0: none) */
    uint32_t slab_chunk_max;  /* -o slab_chunk_max=KB, in bytes: only checked (no slabs) */
    bool slab_words;          /* an -o slab word was given: a notice at start */
    bool track_sizes;         /* -o track_sizes: `stats sizes` counts items by size */
    bool bad_option;          /* exit 1, not 64: an unknown option or a bad -o word */
    /* Storage the listen[] strings point into (comma lists are split here):
     * a parsed config must not be copied by value. */
    char listen_buf[CONFIG_LISTEN_BUF];
};

/* memcached's name for a -B value, as `stats settings` prints it. */
const char *config_protocol_name(enum config_protocol p);
/* memcached's name for ssl_min_version's value ("tlsv1.2"). */
const char *config_tls_version_name(int v);

#endif
