/* memg-bench: a memcached load generator (text protocol, or binary with
 * --binary) on memg's own loop, socket and buffer modules. Shared
 * declarations of its files. */
#ifndef MEMG_BENCH_H
#define MEMG_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "stream.h"

struct bench_opts {
    const char *host;
    bool tls;               /* --tls: over TLS (a generator built with TLS=1) */
    const char *tls_suite;  /* --tls-suite: the TLS 1.3 cipher suite to ask for */
    int port;
    int conns;
    int depth;          /* requests in flight per connection */
    uint32_t keys;      /* key space size */
    unsigned kmin, kmax;
    uint32_t vmin, vmax;
    double zipf;        /* 0: uniform; else the zipf exponent (e.g. 0.99) */
    unsigned set_w, get_w; /* set:get ratio */
    unsigned width;     /* keys per get */
    double duration;    /* seconds of measurement */
    double warmup;      /* seconds run before measuring */
    uint64_t ops;       /* total requests instead of a duration (0: off) */
    uint64_t conn_ops;  /* requests per connection (0: off) */
    double rate;        /* fixed request rate, requests/s (0: closed loop) */
    bool prefill;       /* set every key once before measuring */
    bool flush;         /* flush_all before anything */
    double hold;        /* keep the connections open this long after */
    int server_pid;     /* read its CPU time and RSS from /proc */
    double stall;       /* seconds without a reply that count as a hang */
    uint64_t seed;
    bool quiet;
    bool binary;        /* the binary protocol instead of text */
    bool meta;          /* the meta commands (mg, ms, mn) instead of get and set */
    bool through;       /* read-through: the stream's gets, a set after each miss */
    struct stream_cfg stream;
    uint32_t ttl;       /* exptime of ttl_pct % of the keys' sets */
    unsigned ttl_pct;
};

/* cli.c: the options (O), parsed by bench_options: 0 run, 1 exit (help
 * printed), 2 self-test, -1 bad usage (printed). */
extern struct bench_opts O;
int bench_options(int argc, char **argv);
/* The CPU seconds (user + system, all threads) and the VmRSS of a process;
 * -1 when it cannot be read. */
double proc_cpu(int pid);
long proc_rss_kb(int pid);

/* zipf.c: keys by rank with a zipf distribution, scrambled over the space. */
struct zipf {
    uint32_t n;
    double theta, alpha, zetan, eta, half_pow;
    uint64_t mult; /* rank -> key bijection: (rank * mult) % n */
};
void zipf_setup(struct zipf *z, uint32_t n, double theta);
uint32_t zipf_next(const struct zipf *z, double u);

/* selftest.c: checks of the parser, the value check and the histogram. */
int bench_selftest(void);

#endif
