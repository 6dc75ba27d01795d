/* stream: the read-through workload as a sequence of key indexes, a pure
 * function of its configuration and seed, so that memg-bench (against a
 * server) and memg-sim (the offline LRU and optimum) see the same keys in
 * the same order. Zipf keys over 0..keys-1, hot ranks scrambled over the
 * space; optionally a one-time scan of keys never read again (indexes from
 * keys on) interleaved one in two from scan_at, and a shifting popularity
 * (every churn_every requests, churn_step new keys take the top ranks). */
#ifndef MEMG_BENCH_STREAM_H
#define MEMG_BENCH_STREAM_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prod.h"

/* zipf.c: ranks 0..n-1 with P(rank r) proportional to 1 / (r + 1)^s, for
 * any s > 0, from uniform draws in [0, 1) that urand(arg) gives. */
struct zipf_ri {
    uint32_t n;
    double s, hx1, hn, cut;
};
/* A multiplier prime to n: rank * it % n spreads the hot ranks over keys. */
uint64_t zipf_spread(uint32_t n);
void zipf_ri_setup(struct zipf_ri *z, uint32_t n, double s);
uint32_t zipf_ri_rank(const struct zipf_ri *z, double (*urand)(void *), void *arg);

struct stream_cfg {
    uint32_t keys;        /* zipf key space */
    double alpha;         /* zipf exponent */
    bool heavy;           /* values: the heavy-tailed mix (reply.h) */
    uint64_t seed;
    uint64_t warm;        /* requests before the measured ones */
    uint64_t measure;     /* measured requests (a scan's included) */
    uint64_t scan_at;     /* measured request where the scan starts; 0: none */
    uint32_t scan_len;    /* keys scanned, each read once */
    uint64_t churn_every; /* requests per popularity epoch; 0: none */
    uint32_t churn_step;  /* ranks the keys move down each epoch */
    uint32_t window;      /* hot gets per window of the scan recovery */
    const struct prod_profile *prod; /* a production cluster's shape (prod.h), or NULL */
    double run_secs;      /* with prod: the seconds the run takes (the week maps onto them) */
};

struct stream {
    struct stream_cfg c;
    struct zipf_ri z;
    uint64_t rng, i, mult;
    uint32_t scanned;
    struct prod_run pr;   /* with prod: the profile scaled to the run */
    uint32_t fresh;       /* with prod: one-hit wonders named so far */
    uint8_t op;           /* with prod: the op of the last request (enum prod_op) */
};

void stream_setup(struct stream *s, const struct stream_cfg *c);
/* Every key index the stream can name: keys + scan_len. */
uint32_t stream_space(const struct stream_cfg *c);
uint64_t stream_total(const struct stream_cfg *c);
/* The next request's key; *scan tells a scan key from a hot (zipf) one.
 * With a production shape s->op says what to do with it. */
uint32_t stream_next(struct stream *s, bool *scan);

/* The options that describe a stream, shared by memg-bench and memg-sim:
 * long options only (stream_longopts, STREAM_NOPTS of them, codes from
 * STREAM_OPT_BASE, help in STREAM_HELP). stream_option applies one (false:
 * a bad value); stream_check says what is wrong with the whole, or NULL. */
#define STREAM_OPT_BASE 0x200
#define STREAM_NOPTS 13
extern const struct option stream_longopts[STREAM_NOPTS];
extern const char STREAM_HELP[];
void stream_defaults(struct stream_cfg *c);
bool stream_option(struct stream_cfg *c, int code, const char *arg);
const char *stream_check(const struct stream_cfg *c);

/* The key space of the stream (reply.h): stream_space keys of 14 bytes,
 * values of the chosen sizes. False with a message in err. */
struct kv_spec;
bool stream_kv(const struct stream_cfg *c, struct kv_spec *kv, char *err, size_t errlen);

/* Scan recovery over windows of `window` hot gets, fed in stream order by
 * both programs: the hot hit ratio before the scan (the last window wholly
 * before it), and the first window after the scan's last key whose ratio
 * is back within 1% (relative) of it. */
struct recovery {
    uint64_t win_gets, win_hits, pre_gets, pre_hits;
    double pre, low;        /* hot hit ratio before; the lowest window after */
    uint64_t scanned;       /* scan requests fed */
    uint64_t scan_end;      /* stream index of the last scan request fed */
    uint64_t back_at;       /* stream index ending the first window back; 0: not */
    int state;              /* 0 before, 1 scanning, 2 after, 3 back */
};
void recovery_feed(struct recovery *r, const struct stream_cfg *c, uint64_t idx, bool scan,
                   bool hit);

#endif
