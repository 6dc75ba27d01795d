/* memg-bench: closed- or open-loop memcached text-protocol load with every
 * reply parsed and checked. One thread, one ev loop, N connections, each
 * with up to `depth` requests in flight. Phases: connect, prefill, warmup,
 * run (measured), drain, hold. The last stdout line is "RESULT k=v ...".
 * With --binary the same load goes out in the binary protocol: SET and GET,
 * or, pipelined, batches of `depth` requests (gets as GETQ) closed by a NOOP;
 * replies are matched to requests by their opaque. With --meta: ms and
 * mg, pipelined as batches of quiet mg closed by mn; replies in order, a hit
 * naming its key. */
#include "bench.h"
#include "lib/buf.h"
#include "lib/ev.h"
#include "hist.h"
#include "lib/net.h"
#include "reply.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE 4096
#define READ_CHUNK (256 * 1024)
#define PREFILL_CONNS 16
#define DRAIN_NS 3000000000ull

enum phase { PH_PREFILL, PH_WARMUP, PH_RUN, PH_DRAIN, PH_HOLD, PH_DONE };
enum rtype { RQ_GET, RQ_SET, RQ_NOOP /* binary: closes a batch; not a request counted */ };

struct req {
    uint64_t t0;     /* ns: sent (or scheduled, with a fixed rate) */
    uint32_t *keys;
    uint32_t opaque; /* binary: comes back in the reply */
    uint64_t sidx;   /* read-through: the get's place in the stream */
    uint8_t scan;    /* read-through: a scan key's get */
    uint16_t nkeys;
    uint8_t type;
    uint8_t op;      /* binary: the opcode sent */
    uint8_t counted; /* issued in the measured phase */
};

struct conn {
    int fd;
    int id;
    struct buf rbuf, wbuf;
    struct req *q; /* ring of qcap requests */
    uint32_t *keys;
    unsigned qhead, qlen, qcap;
    unsigned cursor, matched; /* progress of the get at the head */
    uint64_t issued;          /* requests of the run phases */
    uint32_t opaque;          /* binary: the next request's */
    uint32_t *pend;           /* read-through: keys whose get missed, to set */
    unsigned npend;
    bool served, dead, wantw, waiting, exhausted;
};

struct stats {
    uint64_t ops, gets, sets, keys, hits, misses, bytes_in, bytes_out;
    uint64_t hot_gets, hot_misses; /* read-through: gets of zipf keys (not the scan's) */
    struct hist lat;
};

struct errs {
    uint64_t proto, key, value, server, notstored, conn, connect;
    char first[512];
};

static struct kv_spec KV;
static struct zipf Z;
static struct ev_loop *L;
static struct conn *C;
static struct stats S;
static struct errs E;
static enum phase P;
static struct buf OUT;  /* requests are composed here, then written */
static char *RD;        /* read scratch for connections with nothing pending */
static uint32_t *STAMP; /* per key: serial of the last get naming it */
static uint32_t SERIAL;
static struct conn **WAIT; /* connections waiting for the rate schedule */
static int NWAIT;
static int RATE_FD = -1; /* timerfd: wakes the waiters at the next scheduled send */
static bool RATE_ARMED;
static uint64_t RNG, T_PHASE, T_RUN0, T_RUN1, T_PROGRESS, T_SCHED0, SCHED_N;
static uint64_t PREFILL_NEXT, PREFILL_DONE, PREFILL_NS, ISSUED, OUTSTANDING;
static int EXHAUSTED, DEAD, STALLED, REPORTED;
static double CPU0, CPU1;
static struct stream ST;     /* read-through: the keys to get, in order */
static struct recovery REC;  /* read-through: the hot hit ratio around the scan */
static uint64_t T_SCAN_END, T_BACK;
static long RSS0, RSS1;

static uint64_t _now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t _rand(void)
{
    RNG ^= RNG >> 12; /* xorshift64* */
    RNG ^= RNG << 25;
    RNG ^= RNG >> 27;
    return RNG * 2685821657736338717ull;
}

static double _urand(void) { return (double)(_rand() >> 11) * (1.0 / 9007199254740992.0); }

static uint32_t _pick_key(void)
{
    if (O.zipf > 0)
        return zipf_next(&Z, _urand());
    return (uint32_t)(_rand() % O.keys);
}

/* ---- errors ---- */

static void _note(const struct conn *c, const char *what, const char *p, size_t n)
{
    if (E.first[0])
        return;
    int k = snprintf(E.first, sizeof(E.first), "conn %d: %s: \"", c ? c->id : -1, what);
    for (size_t i = 0; i < n && i < 120 && k < (int)sizeof(E.first) - 8; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= ' ' && ch < 0x7f && ch != '"' && ch != '\\')
            E.first[k++] = (char)ch;
        else
            k += snprintf(E.first + k, sizeof(E.first) - (size_t)k, "\\x%02x", ch);
    }
    snprintf(E.first + k, sizeof(E.first) - (size_t)k, "\"%s", n > 120 ? "..." : "");
}

static void _close(struct conn *c)
{
    if (c->dead)
        return;
    if (c->fd >= 0) {
        ev_del(L, c->fd);
        close(c->fd);
    }
    c->fd = -1;
    c->dead = true;
    DEAD++;
    OUTSTANDING -= c->qlen;
    c->qlen = 0;
    if (!c->exhausted) {
        c->exhausted = true;
        EXHAUSTED++;
    }
    buf_release(&c->rbuf);
    buf_release(&c->wbuf);
}

/* ---- requests ---- */

static bool _can_issue(struct conn *c, uint64_t now)
{
    if (c->dead)
        return false;
    if (P == PH_PREFILL)
        return c->id < PREFILL_CONNS && c->qlen < c->qcap && PREFILL_NEXT < O.keys;
    if (O.through)
        return (P == PH_WARMUP || P == PH_RUN) && c->qlen < (unsigned)O.depth &&
               (c->npend || ST.i < stream_total(&ST.c));
    if ((P != PH_WARMUP && P != PH_RUN) || c->qlen >= (unsigned)O.depth || c->exhausted)
        return false;
    if (O.ops && ISSUED >= O.ops)
        return false;
    if (O.rate > 0 && (double)SCHED_N >= (double)(now - T_SCHED0) * O.rate / 1e9 + 1) {
        if (!c->waiting) {
            c->waiting = true;
            WAIT[NWAIT++] = c;
        }
        if (!RATE_ARMED) {
            uint64_t due = T_SCHED0 + (uint64_t)((double)SCHED_N * 1e9 / O.rate);
            struct itimerspec its = {{0, 0}, {(time_t)(due / 1000000000u), (long)(due % 1000000000u)}};
            RATE_ARMED = timerfd_settime(RATE_FD, TFD_TIMER_ABSTIME, &its, NULL) == 0;
        }
        return false;
    }
    return true;
}

static void _put_num(uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        OUT.data[OUT.wpos++] = tmp[--n];
}

static void _put(const char *s, size_t n)
{
    memcpy(OUT.data + OUT.wpos, s, n);
    OUT.wpos += n;
}

static void _compose_set(uint32_t idx)
{
    uint32_t vlen = kv_vlen(&KV, idx);
    buf_reserve(&OUT, 64 + KV_KEY_MAX + vlen, SIZE_MAX);
    _put("set ", 4);
    OUT.wpos += kv_key(&KV, idx, OUT.data + OUT.wpos);
    _put(" ", 1);
    _put_num(kv_flags(idx));
    _put(" ", 1);
    _put_num(O.ttl && (kv_hash(idx) >> 52) % 100 < O.ttl_pct ? O.ttl : 0);
    _put(" ", 1);
    _put_num(vlen);
    _put("\r\n", 2);
    kv_value(&KV, idx, OUT.data + OUT.wpos);
    OUT.wpos += vlen;
    _put("\r\n", 2);
}

static void _compose_bin(struct conn *c, struct req *r)
{
    r->opaque = c->opaque++;
    if (r->type == RQ_SET) {
        buf_reserve(&OUT, BIN_HDR + 8 + KV_KEY_MAX + kv_vlen(&KV, r->keys[0]), SIZE_MAX);
        OUT.wpos += bin_set(&KV, r->keys[0], r->opaque, OUT.data + OUT.wpos);
    } else if (r->type == RQ_GET) {
        buf_reserve(&OUT, BIN_HDR + KV_KEY_MAX, SIZE_MAX);
        OUT.wpos += bin_get(&KV, r->keys[0], r->op, r->opaque, OUT.data + OUT.wpos);
    } else {
        buf_reserve(&OUT, BIN_HDR, SIZE_MAX);
        OUT.wpos += bin_simple(BIN_NOOP, r->opaque, OUT.data + OUT.wpos);
    }
}

static void _compose_meta(struct req *r)
{
    buf_reserve(&OUT, META_SET_MAX + (r->type == RQ_SET ? kv_vlen(&KV, r->keys[0]) : 0), SIZE_MAX);
    if (r->type == RQ_SET)
        OUT.wpos += meta_set(&KV, r->keys[0], OUT.data + OUT.wpos);
    else
        OUT.wpos += meta_get(&KV, r->keys[0], O.depth > 1, OUT.data + OUT.wpos);
}

static void _compose_get(struct req *r)
{
    buf_reserve(&OUT, 8 + (size_t)r->nkeys * (KV_KEY_MAX + 1), SIZE_MAX);
    _put("get", 3);
    for (unsigned i = 0; i < r->nkeys; i++) {
        _put(" ", 1);
        OUT.wpos += kv_key(&KV, r->keys[i], OUT.data + OUT.wpos);
    }
    _put("\r\n", 2);
}

static void _enter(enum phase p, uint64_t now);

/* Read-through: the sets of missed keys first, then the stream's next get.
 * The measured phase starts with the stream's first measured request (no
 * kick: every connection is busy already). */
static void _issue_through(struct conn *c, struct req *r, uint64_t now)
{
    r->nkeys = 1;
    if (c->npend) {
        r->type = RQ_SET;
        r->keys[0] = c->pend[--c->npend];
        r->counted = P == PH_RUN;
        _compose_set(r->keys[0]);
        return;
    }
    if (ST.i == ST.c.warm && P == PH_WARMUP)
        _enter(PH_RUN, now);
    bool scan;
    r->sidx = ST.i;
    r->keys[0] = stream_next(&ST, &scan);
    r->scan = scan;
    r->type = RQ_GET;
    r->counted = r->sidx >= ST.c.warm;
    _compose_get(r);
}

static void _issue(struct conn *c, uint64_t now)
{
    unsigned slot = (c->qhead + c->qlen) % c->qcap;
    struct req *r = &c->q[slot];
    r->keys = c->keys + (size_t)slot * O.width;
    r->counted = P == PH_RUN;
    r->t0 = now;
    if (O.through) {
        _issue_through(c, r, now);
    } else if (P == PH_PREFILL) {
        r->type = RQ_SET;
        r->op = BIN_SET;
        r->nkeys = 1;
        r->keys[0] = (uint32_t)PREFILL_NEXT++;
        if (O.binary)
            _compose_bin(c, r);
        else if (O.meta)
            _compose_meta(r);
        else
            _compose_set(r->keys[0]);
    } else {
        if (O.rate > 0) { /* latency counts from the schedule: no coordinated omission */
            uint64_t due = T_SCHED0 + (uint64_t)((double)SCHED_N * 1e9 / O.rate);
            r->t0 = due < now ? due : now;
        }
        SCHED_N++;
        if (P == PH_RUN) {
            ISSUED++;
            if (++c->issued == O.conn_ops) {
                c->exhausted = true;
                EXHAUSTED++;
            }
        }
        bool set = O.set_w && (!O.get_w || _rand() % (O.set_w + O.get_w) < O.set_w);
        r->type = set ? RQ_SET : RQ_GET;
        r->nkeys = set ? 1 : (uint16_t)O.width;
        if (++SERIAL == 0)
            SERIAL = 1;
        for (unsigned i = 0; i < r->nkeys; i++) {
            uint32_t k = _pick_key();
            for (int tries = 0; STAMP && STAMP[k] == SERIAL && tries < 64; tries++)
                k = _pick_key(); /* distinct keys within one multi-get */
            if (STAMP)
                STAMP[k] = SERIAL;
            r->keys[i] = k;
        }
        r->op = set ? BIN_SET : O.depth > 1 ? BIN_GETQ : BIN_GET;
        if (O.binary)
            _compose_bin(c, r);
        else if (O.meta)
            _compose_meta(r);
        else if (set)
            _compose_set(r->keys[0]);
        else
            _compose_get(r);
    }
    c->qlen++;
    OUTSTANDING++;
}

/* Binary, pipelined: a NOOP after the batch; its reply means every GETQ
 * before it that got none was a miss. */
static void _issue_noop(struct conn *c, uint64_t now)
{
    unsigned slot = (c->qhead + c->qlen) % c->qcap;
    struct req *r = &c->q[slot];
    r->keys = c->keys + (size_t)slot * O.width;
    r->counted = 0;
    r->t0 = now;
    r->type = RQ_NOOP;
    r->op = BIN_NOOP;
    r->nkeys = 0;
    if (O.meta)
        _put("mn\r\n", 4);
    else
        _compose_bin(c, r);
    c->qlen++;
    OUTSTANDING++;
}

/* Binary pipelining sends batches: `depth` requests and a NOOP, the next
 * one when the whole batch is answered. */
static bool _batches(void)
{
    return (O.binary || O.meta) && O.depth > 1 && (P == PH_WARMUP || P == PH_RUN);
}

static void _on_io(struct ev_loop *loop, int fd, unsigned events, void *arg);

/* Write what the connection has pending; watch for writability if it stays. */
static void _flush(struct conn *c)
{
    while (buf_len(&c->wbuf)) {
        ssize_t n = write(c->fd, buf_rptr(&c->wbuf), buf_len(&c->wbuf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN) {
            E.conn++;
            _note(c, strerror(errno), "write", 5);
            _close(c);
            return;
        }
        if (n < 0)
            break;
        S.bytes_out += (uint64_t)n;
        buf_consume(&c->wbuf, (size_t)n);
    }
    bool want = buf_len(&c->wbuf) > 0;
    if (want != c->wantw) {
        c->wantw = want;
        ev_mod(L, c->fd, EV_READ | (want ? EV_WRITE : 0), _on_io, c);
    }
    if (!want)
        buf_shrink(&c->wbuf);
}

static void _fill(struct conn *c)
{
    uint64_t now = _now_ns();
    OUT.rpos = OUT.wpos = 0;
    if (!_batches()) {
        while (_can_issue(c, now))
            _issue(c, now);
    } else if (c->qlen == 0) {
        while (_can_issue(c, now))
            _issue(c, now);
        if (c->qlen)
            _issue_noop(c, now);
    }
    if (OUT.wpos == 0)
        return;
    if (buf_len(&c->wbuf) == 0) { /* the common case: write straight from OUT */
        ssize_t n = write(c->fd, OUT.data, OUT.wpos);
        if (n > 0) {
            S.bytes_out += (uint64_t)n;
            OUT.rpos = (size_t)n;
        }
    }
    if (buf_len(&OUT)) {
        buf_append(&c->wbuf, buf_rptr(&OUT), buf_len(&OUT), SIZE_MAX);
        _flush(c);
    }
}

/* ---- replies ---- */

static void _complete(struct conn *c, uint64_t now)
{
    struct req *r = &c->q[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    OUTSTANDING--;
    T_PROGRESS = now;
    c->served = true;
    if (P == PH_PREFILL) {
        PREFILL_DONE++;
        return;
    }
    if (O.through && r->type == RQ_GET) {
        if (!c->matched)
            c->pend[c->npend++] = r->keys[0];
        if (r->counted) {
            int was = REC.state;
            recovery_feed(&REC, &ST.c, r->sidx, r->scan, c->matched);
            if (REC.state == 2 && was != 2)
                T_SCAN_END = now;
            if (REC.state == 3 && was != 3)
                T_BACK = now;
            S.hot_gets += !r->scan;
            S.hot_misses += !r->scan && !c->matched;
        }
    }
    if (!r->counted || P != PH_RUN || r->type == RQ_NOOP)
        return;
    S.ops++;
    if (r->type == RQ_SET) {
        S.sets++;
    } else {
        S.gets++;
        S.keys += r->nkeys;
        S.hits += c->matched;
        S.misses += r->nkeys - c->matched;
    }
    hist_record(&S.lat, now - r->t0);
}

/* One reply unit for the request at the head. False: the stream is lost. */
static bool _unit(struct conn *c, const struct reply *u, uint64_t now)
{
    if (c->qlen == 0) {
        _note(c, "reply with no request pending", u->line, u->line_len);
        return false;
    }
    struct req *r = &c->q[c->qhead];
    if (u->kind == REPLY_ERROR) {
        E.server++;
        _note(c, r->type == RQ_SET ? "error reply to set" : "error reply to get", u->line,
              u->line_len);
        c->cursor = c->matched = 0;
        _complete(c, now);
        return true;
    }
    if (r->type == RQ_SET) {
        if (u->kind != REPLY_STORED && u->kind != REPLY_NOT_STORED) {
            _note(c, "unexpected reply to set", u->line, u->line_len);
            return false;
        }
        if (u->kind == REPLY_NOT_STORED) {
            E.notstored++;
            _note(c, "set not stored", u->line, u->line_len);
        }
        _complete(c, now);
        return true;
    }
    if (u->kind == REPLY_END) {
        _complete(c, now);
        c->cursor = c->matched = 0;
        return true;
    }
    if (u->kind != REPLY_VALUE) {
        _note(c, "unexpected reply to get", u->line, u->line_len);
        return false;
    }
    enum check ck = reply_check_value(&KV, u, r->keys, r->nkeys, &c->cursor);
    if (ck == CHECK_WRONG_KEY) {
        E.key++;
        _note(c, "VALUE of a key not asked (or out of order)", u->line, u->line_len);
    } else if (ck == CHECK_WRONG_VALUE) {
        E.value++;
        _note(c, "wrong flags, length or bytes; header and data", u->line,
              u->line_len + 2 + u->data_len);
    } else {
        c->matched++;
    }
    return true;
}

static const char *_rname(const struct req *r)
{
    switch (r->op) {
    case BIN_SET: return "SET";
    case BIN_GET: return "GET";
    case BIN_GETQ: return "GETQ";
    default: return "NOOP";
    }
}

/* One binary reply: find its request by the opaque. The GETQs before it
 * that got no reply were misses; any other request left unanswered before
 * it means a lost reply. False: the stream is lost. */
static bool _bin_unit(struct conn *c, const struct bin_reply *u, const char *raw, uint64_t now)
{
    unsigned k = 0;
    while (k < c->qlen && c->q[(c->qhead + k) % c->qcap].opaque != u->opaque)
        k++;
    if (k == c->qlen) {
        _note(c, c->qlen ? "binary reply whose opaque no pending request has"
                         : "reply with no request pending",
              raw, u->consumed);
        return false;
    }
    for (; k > 0; k--) {
        const struct req *r = &c->q[c->qhead];
        if (r->op != BIN_GETQ) {
            char what[96];
            snprintf(what, sizeof(what), "no reply to a %s (opaque %u) before this one",
                     _rname(r), r->opaque);
            _note(c, what, raw, u->consumed);
            return false;
        }
        c->matched = 0; /* a quiet miss */
        _complete(c, now);
    }
    const struct req *r = &c->q[c->qhead];
    const char *why;
    c->matched = 0;
    switch (bin_check(&KV, u, r->op, r->keys[0], &why)) {
    case BV_OK:
    case BV_MISS:
        break;
    case BV_HIT:
        c->matched = 1;
        break;
    case BV_NOT_STORED:
        E.notstored++;
        _note(c, "set not stored", raw, u->consumed);
        break;
    case BV_ERROR:
        E.server++;
        _note(c, r->type == RQ_SET ? "error reply to set" : "error reply to get", raw,
              u->consumed);
        break;
    case BV_WRONG_VALUE:
        E.value++;
        _note(c, "wrong flags, length or bytes; header and body", raw, u->consumed);
        break;
    case BV_BAD:
        _note(c, why, raw, u->consumed);
        return false;
    }
    _complete(c, now);
    c->matched = 0;
    return true;
}

/* One meta reply, in request order: the quiet gets before the request it
 * answers said nothing, so they missed; any other request skipped means a
 * lost reply. False: the stream is lost. */
static bool _meta_unit(struct conn *c, enum meta_kind k, struct reply *u, uint64_t now)
{
    uint32_t idx = 0;
    if (k == META_VALUE && !kv_parse_key(&KV, u->key, u->key_len, &idx)) {
        E.key++;
        _note(c, "VA of a key not in the key space", u->line, u->line_len);
        return false;
    }
    for (;;) {
        if (c->qlen == 0) {
            _note(c, "reply with no request pending", u->line, u->line_len);
            return false;
        }
        const struct req *r = &c->q[c->qhead];
        bool quiet_get = r->type == RQ_GET && O.depth > 1;
        if (!quiet_get || k == META_ERROR || (k == META_VALUE && r->keys[0] == idx))
            break;
        c->matched = 0; /* a quiet miss */
        _complete(c, now);
    }
    const struct req *r = &c->q[c->qhead];
    bool ok = k == META_ERROR || (r->type == RQ_SET && (k == META_HD || k == META_NOT)) ||
              (r->type == RQ_GET && (k == META_VALUE || k == META_EN)) ||
              (r->type == RQ_NOOP && k == META_MN);
    if (!ok) {
        _note(c, "meta reply that does not answer the next request", u->line, u->line_len);
        return false;
    }
    c->matched = 0;
    if (k == META_ERROR) {
        E.server++;
        _note(c, "error reply", u->line, u->line_len);
    } else if (k == META_NOT) {
        E.notstored++;
        _note(c, "set not stored", u->line, u->line_len);
    } else if (k == META_VALUE) {
        unsigned cursor = 0;
        u->flags = kv_flags(idx); /* not asked for: mg <key> v k */
        if (reply_check_value(&KV, u, r->keys, 1, &cursor) == CHECK_OK) {
            c->matched = 1;
        } else {
            E.value++;
            _note(c, "wrong length or bytes; header and data", u->line, u->line_len + 2 + u->data_len);
        }
    }
    _complete(c, now);
    c->matched = 0;
    return true;
}

/* One reply unit at p[0..n): its length, 0 when incomplete, -1 when the
 * stream is lost (counted and noted). */
typedef ssize_t unit_fn(struct conn *c, const char *p, size_t n, uint64_t now);

static ssize_t _meta_one(struct conn *c, const char *p, size_t n, uint64_t now)
{
    struct reply u;
    size_t max_value = KV.vmax > (2u << 20) ? KV.vmax : (2u << 20);
    enum meta_kind k = meta_parse(&u, p, n, MAX_LINE, max_value);
    if (k == META_AGAIN)
        return 0;
    if (k == META_BAD)
        _note(c, u.why, p, n);
    if (k == META_BAD || !_meta_unit(c, k, &u, now)) {
        E.proto++;
        return -1;
    }
    return (ssize_t)u.consumed;
}

static ssize_t _bin_one(struct conn *c, const char *p, size_t n, uint64_t now)
{
    struct bin_reply u;
    size_t max_body = 8 + KV_KEY_MAX + (KV.vmax > (2u << 20) ? KV.vmax : (2u << 20));
    enum bin_kind k = bin_parse(&u, p, n, max_body);
    if (k == BIN_AGAIN)
        return 0;
    if (k == BIN_BAD)
        _note(c, u.why, p, n);
    if (k == BIN_BAD || !_bin_unit(c, &u, p, now)) {
        E.proto++;
        return -1;
    }
    return (ssize_t)u.consumed;
}

static ssize_t _units(struct conn *c, const char *p, size_t n, uint64_t now, unit_fn *one)
{
    size_t used = 0;
    for (;;) {
        ssize_t k = one(c, p + used, n - used, now);
        if (k <= 0)
            return k < 0 ? -1 : (ssize_t)used;
        used += (size_t)k;
    }
}

/* Parse and check every complete unit in p[0..n); returns bytes used or -1. */
static ssize_t _replies(struct conn *c, const char *p, size_t n, uint64_t now)
{
    if (O.binary || O.meta)
        return _units(c, p, n, now, O.binary ? _bin_one : _meta_one);
    size_t used = 0;
    size_t max_value = KV.vmax > (2u << 20) ? KV.vmax : (2u << 20);
    struct reply u;
    for (;;) {
        enum reply_kind k = reply_parse(&u, p + used, n - used, MAX_LINE, max_value);
        if (k == REPLY_AGAIN)
            return (ssize_t)used;
        if (k == REPLY_BAD) {
            E.proto++;
            _note(c, u.why, p + used, n - used);
            return -1;
        }
        if (!_unit(c, &u, now)) {
            E.proto++;
            return -1;
        }
        used += u.consumed;
    }
}

static void _read(struct conn *c)
{
    bool direct = buf_len(&c->rbuf) == 0; /* nothing pending: read into RD */
    char *dst = RD;
    size_t room = READ_CHUNK;
    if (!direct) {
        if (!buf_reserve(&c->rbuf, READ_CHUNK, SIZE_MAX)) {
            E.conn++;
            _note(c, "out of memory", "", 0);
            _close(c);
            return;
        }
        dst = buf_wptr(&c->rbuf);
        room = buf_room(&c->rbuf);
    }
    ssize_t n = read(c->fd, dst, room);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        E.conn++;
        _note(c, n == 0 ? "closed by the server" : strerror(errno), "", 0);
        _close(c);
        return;
    }
    S.bytes_in += (uint64_t)n;
    uint64_t now = _now_ns();
    const char *p = dst;
    size_t len = (size_t)n;
    if (!direct) {
        c->rbuf.wpos += (size_t)n;
        p = buf_rptr(&c->rbuf);
        len = buf_len(&c->rbuf);
    }
    ssize_t used = _replies(c, p, len, now);
    if (used < 0) {
        _close(c);
        return;
    }
    if (direct) {
        if ((size_t)used < len)
            buf_append(&c->rbuf, p + used, len - (size_t)used, SIZE_MAX);
    } else {
        buf_consume(&c->rbuf, (size_t)used);
        buf_shrink(&c->rbuf);
    }
}

static void _on_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    struct conn *c = arg;
    if ((events & EV_WRITE) && !c->dead)
        _flush(c);
    if ((events & EV_READ) && !c->dead)
        _read(c);
    if (!c->dead)
        _fill(c);
}

/* ---- phases ---- */

static void _kick_all(void)
{
    for (int i = 0; i < O.conns; i++)
        if (!C[i].dead)
            _fill(&C[i]);
}

static void _enter(enum phase p, uint64_t now)
{
    P = p;
    T_PHASE = now;
    if (p == PH_WARMUP || (p == PH_RUN && O.warmup <= 0)) {
        T_SCHED0 = now;
        SCHED_N = 0;
    }
    if (p == PH_RUN) {
        memset(&S, 0, sizeof(S));
        hist_reset(&S.lat);
        T_RUN0 = now;
        if (O.server_pid) {
            CPU0 = proc_cpu(O.server_pid);
            RSS0 = proc_rss_kb(O.server_pid);
        }
    }
    if (p == PH_DRAIN) {
        T_RUN1 = now;
        if (O.server_pid) {
            CPU1 = proc_cpu(O.server_pid);
            RSS1 = proc_rss_kb(O.server_pid);
        }
    }
    if ((p == PH_WARMUP || p == PH_RUN) && !O.through)
        _kick_all();
    if (p == PH_DONE)
        ev_stop(L);
}

static void _report(void);

static void _stall(uint64_t now)
{
    STALLED = 1;
    for (int i = 0; i < O.conns; i++) {
        struct conn *c = &C[i];
        if (c->dead || c->qlen == 0)
            continue;
        struct req *r = &c->q[c->qhead];
        char key[KV_KEY_MAX + 1] = "";
        if (r->nkeys)
            key[kv_key(&KV, r->keys[0], key)] = 0;
        fprintf(stderr,
                "memg-bench: STALL: no reply for %.1fs; conn %d has %u request(s) pending, "
                "the first a %s of %u key(s) (%s...), %zu byte(s) of reply unparsed, "
                "%zu to send\n",
                (double)(now - T_PROGRESS) / 1e9, c->id, c->qlen,
                O.binary ? _rname(r) : r->type == RQ_SET ? "set" : "get", r->nkeys, key,
                buf_len(&c->rbuf),
                buf_len(&c->wbuf));
        break;
    }
}

/* Prefill runs on the first PREFILL_CONNS connections only: once they are
 * all gone (a server answering wrong closes them) nothing else would end it. */
static bool _prefill_conns_gone(void)
{
    for (int i = 0; i < O.conns && i < PREFILL_CONNS; i++)
        if (!C[i].dead)
            return false;
    return true;
}

static bool _run_over(uint64_t now)
{
    if (DEAD == O.conns)
        return true;
    if (O.through)
        return ST.i >= stream_total(&ST.c) && OUTSTANDING == 0;
    if (O.duration > 0 && !O.ops && !O.conn_ops)
        return now - T_PHASE >= (uint64_t)(O.duration * 1e9);
    bool none_left = (O.ops && ISSUED >= O.ops) || EXHAUSTED == O.conns;
    return none_left && OUTSTANDING == 0;
}

static void _on_rate(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    (void)arg;
    uint64_t expirations;
    if (read(fd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
        return;
    RATE_ARMED = false;
    int n = NWAIT;
    NWAIT = 0;
    for (int i = 0; i < n; i++) {
        WAIT[i]->waiting = false;
        if (!WAIT[i]->dead)
            _fill(WAIT[i]);
    }
}

static void _tick(struct ev_loop *loop, void *arg)
{
    (void)loop;
    (void)arg;
    uint64_t now = _now_ns();
    if (OUTSTANDING && P != PH_HOLD && now - T_PROGRESS > (uint64_t)(O.stall * 1e9)) {
        _stall(now);
        if (P == PH_RUN)
            _enter(PH_DRAIN, now);
        _enter(PH_DONE, now);
        return;
    }
    if (!OUTSTANDING)
        T_PROGRESS = now;
    switch (P) {
    case PH_PREFILL:
        if (DEAD == O.conns ||
            (OUTSTANDING == 0 && (PREFILL_NEXT >= O.keys || _prefill_conns_gone()))) {
            PREFILL_NS = now - T_PHASE;
            if (O.duration <= 0 && !O.ops && !O.conn_ops)
                _enter(PH_DONE, now);
            else
                _enter(O.warmup > 0 ? PH_WARMUP : PH_RUN, now);
        }
        break;
    case PH_WARMUP:
        if (!O.through && now - T_PHASE >= (uint64_t)(O.warmup * 1e9))
            _enter(PH_RUN, now);
        break;
    case PH_RUN:
        if (_run_over(now))
            _enter(PH_DRAIN, now);
        break;
    case PH_DRAIN:
        if (OUTSTANDING == 0 || now - T_PHASE > DRAIN_NS) {
            if (O.hold > 0) {
                _report();
                printf("HOLDING conns=%d alive=%d\n", O.conns, O.conns - DEAD);
                fflush(stdout);
                _enter(PH_HOLD, now);
            } else {
                _enter(PH_DONE, now);
            }
        }
        break;
    case PH_HOLD:
        if (now - T_PHASE >= (uint64_t)(O.hold * 1e9))
            _enter(PH_DONE, now);
        break;
    case PH_DONE:
        break;
    }
}

/* ---- setup ---- */

static void _raise_nofile(int need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_max < (rlim_t)need) {
        struct rlimit want = {(rlim_t)need, (rlim_t)need};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            return;
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)need)
        fprintf(stderr, "memg-bench: open files limited to %lu, %d wanted (ulimit -n)\n",
                (unsigned long)rl.rlim_cur, need);
}

/* flush_all on a connection of its own, before the run: values left by an
 * earlier run with other sizes would otherwise count as wrong values. */
static bool _flush_all(void)
{
    char err[NET_ERR_LEN] = "", rep[64];
    int fd = net_tcp_connect(O.host, O.port, err);
    if (fd < 0) {
        fprintf(stderr, "memg-bench: flush_all: %s\n", err);
        return false;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (O.binary) {
        char req[BIN_HDR];
        struct bin_reply u;
        const char *why;
        size_t got = 0;
        if (write(fd, req, bin_simple(BIN_FLUSH, 0, req)) == BIN_HDR) {
            ssize_t n;
            while (got < BIN_HDR && (n = read(fd, rep + got, BIN_HDR - got)) > 0)
                got += (size_t)n;
        }
        close(fd);
        if (got < BIN_HDR || bin_parse(&u, rep, got, 0) != BIN_UNIT ||
            bin_check(&KV, &u, BIN_FLUSH, 0, &why) != BV_OK) {
            fprintf(stderr, "memg-bench: binary FLUSH: no success reply\n");
            return false;
        }
        return true;
    }
    ssize_t n = write(fd, "flush_all\r\n", 11) == 11 ? read(fd, rep, sizeof(rep) - 1) : -1;
    close(fd);
    if (n != 4 || memcmp(rep, "OK\r\n", 4) != 0) {
        fprintf(stderr, "memg-bench: flush_all: no OK\n");
        return false;
    }
    return true;
}

static int _connect_all(void)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char port[16];
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", O.port);
    int rc = getaddrinfo(O.host, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "memg-bench: %s: %s\n", O.host, gai_strerror(rc));
        return -1;
    }
    int ok = 0;
    for (int i = 0; i < O.conns; i++) {
        struct conn *c = &C[i];
        c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct timeval tv = {5, 0}; /* connect() honours the send timeout */
        if (c->fd >= 0)
            setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
            net_set_nonblock(c->fd) != 0 || net_set_nodelay(c->fd) != 0 ||
            ev_add(L, c->fd, EV_READ, _on_io, c) != 0) {
            E.connect++;
            _note(c, "connect", strerror(errno), strlen(strerror(errno)));
            if (c->fd >= 0)
                close(c->fd);
            c->fd = -1;
            c->dead = c->exhausted = true;
            DEAD++;
            EXHAUSTED++;
            continue;
        }
        ok++;
    }
    freeaddrinfo(ai);
    return ok;
}

static bool _setup(void)
{
    char err[256];
    if (O.through) {
        O.keys = stream_space(&O.stream);
        O.vmax = O.stream.heavy ? KV_HEAVY_BIG : 1000;
        O.vmin = 100;
        stream_setup(&ST, &O.stream);
    }
    if (O.through ? !stream_kv(&O.stream, &KV, err, sizeof(err))
                  : !kv_setup(&KV, O.keys, O.kmin, O.kmax, O.vmin, O.vmax, err, sizeof(err))) {
        fprintf(stderr, "memg-bench: %s\n", err);
        return false;
    }
    if (O.zipf > 0)
        zipf_setup(&Z, O.keys, O.zipf);
    RNG = O.seed ? O.seed : 0x853c49e6748fea9bull;
    buf_pool_setup(4096, 1024);
    L = ev_create(1024);
    C = calloc((size_t)O.conns, sizeof(*C));
    WAIT = calloc((size_t)O.conns, sizeof(*WAIT));
    RD = malloc(READ_CHUNK);
    if (O.rate > 0) {
        RATE_FD = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (RATE_FD < 0 || ev_add(L, RATE_FD, EV_READ, _on_rate, NULL) != 0)
            return false;
    }
    STAMP = O.width > 1 ? calloc(O.keys, sizeof(*STAMP)) : NULL;
    if (!L || !C || !WAIT || !RD || (O.width > 1 && !STAMP))
        return false;
    unsigned pdepth = (unsigned)(256 * 1024 / (O.vmax + 100));
    pdepth = pdepth < 1 ? 1 : pdepth > 64 ? 64 : pdepth;
    for (int i = 0; i < O.conns; i++) {
        struct conn *c = &C[i];
        c->id = i;
        c->fd = -1;
        c->qcap = (unsigned)O.depth + ((O.binary || O.meta) && O.depth > 1); /* the batch's NOOP */
        if (O.prefill && i < PREFILL_CONNS && c->qcap < pdepth)
            c->qcap = pdepth;
        c->q = calloc(c->qcap, sizeof(*c->q));
        c->keys = calloc((size_t)c->qcap * O.width, sizeof(*c->keys));
        c->pend = O.through ? calloc(c->qcap, sizeof(*c->pend)) : NULL;
        if (!c->q || !c->keys || (O.through && !c->pend))
            return false;
    }
    return true;
}

/* Read-through: miss ratios of the measured gets (all, and the hot ones
 * without the scan's), and the scan recovery: the hot hit ratio before it,
 * its lowest window after it started, and how long after the scan's end it
 * was back within 1% (-1: never). As k=v pairs, or a line for people. */
static void _report_through(bool kv)
{
    double mr = S.gets ? (double)S.misses / (double)S.gets : 0;
    double hot = S.hot_gets ? (double)S.hot_misses / (double)S.hot_gets : 0;
    double back_s = REC.state == 3 ? (double)(T_BACK - T_SCAN_END) / 1e9 : -1;
    long long back_req = REC.state == 3 ? (long long)(REC.back_at - REC.scan_end) : -1;
    if (!kv) {
        printf("  through   miss ratio %.5f (hot keys %.5f)\n", mr, hot);
        if (O.stream.scan_at)
            printf("  scan      hot hit ratio %.5f before, %.5f at worst; back within 1%% "
                   "%.2fs (%lld requests) after the scan's end\n",
                   REC.pre, REC.low, back_s, back_req);
        return;
    }
    printf(" miss_ratio=%.5f hot_miss_ratio=%.5f", mr, hot);
    if (O.stream.scan_at)
        printf(" scan_pre=%.5f scan_low=%.5f scan_back_s=%.3f scan_back_req=%lld", REC.pre,
               REC.low, back_s, back_req);
}

static void _report(void)
{
    double secs = (double)(T_RUN1 - T_RUN0) / 1e9;
    double rps = secs > 0 ? (double)S.ops / secs : 0;
    double cpu = (CPU0 >= 0 && CPU1 >= 0) ? CPU1 - CPU0 : -1;
    int served = 0;
    for (int i = 0; i < O.conns; i++)
        served += C[i].served;
    uint64_t errors = E.proto + E.key + E.value + E.server + E.notstored + E.conn + E.connect;
    REPORTED = 1;
    if (!O.quiet) {
        printf("memg-bench %s:%d  conns %d depth %d  keys %u  value %u-%u  set:get %u:%u  "
               "multiget %u%s%s\n",
               O.host, O.port, O.conns, O.depth, O.keys, O.vmin, O.vmax, O.set_w, O.get_w,
               O.width, O.zipf > 0 ? "  zipf" : "",
               O.meta ? (O.depth > 1 ? "  meta (quiet mg batches + mn)" : "  meta")
               : !O.binary ? "" : O.depth > 1 ? "  binary (GETQ batches + NOOP)" : "  binary");
        if (O.prefill)
            printf("  prefill   %u keys in %.2fs\n", O.keys, (double)PREFILL_NS / 1e9);
        printf("  requests  %llu in %.2fs = %.0f/s (gets %llu sets %llu); %.1f MB/s in\n",
               (unsigned long long)S.ops, secs, rps, (unsigned long long)S.gets,
               (unsigned long long)S.sets, secs > 0 ? (double)S.bytes_in / secs / 1e6 : 0);
        printf("  keys got  %llu: hits %llu misses %llu\n", (unsigned long long)S.keys,
               (unsigned long long)S.hits, (unsigned long long)S.misses);
        printf("  latency   us p50 %.1f p99 %.1f p99.9 %.1f max %.1f mean %.1f\n",
               hist_quantile(&S.lat, 0.5) / 1e3, hist_quantile(&S.lat, 0.99) / 1e3,
               hist_quantile(&S.lat, 0.999) / 1e3, S.lat.max / 1e3, hist_mean(&S.lat) / 1e3);
        printf("  conns     %d served, %d closed or failed\n", served, DEAD);
        if (cpu >= 0)
            printf("  server    cpu %.2fs = %.0f ns/request, rss %ld -> %ld kB\n", cpu,
                   S.ops ? cpu * 1e9 / (double)S.ops : 0, RSS0, RSS1);
        printf("  errors    %llu: protocol %llu wrong-key %llu wrong-value %llu server %llu "
               "not-stored %llu conn %llu connect %llu%s\n",
               (unsigned long long)errors, (unsigned long long)E.proto,
               (unsigned long long)E.key, (unsigned long long)E.value,
               (unsigned long long)E.server, (unsigned long long)E.notstored,
               (unsigned long long)E.conn, (unsigned long long)E.connect,
               STALLED ? "  STALLED" : "");
        if (E.first[0])
            printf("  first error: %s\n", E.first);
        if (O.through)
            _report_through(false);
    }
    printf("RESULT conns=%d served=%d dead=%d secs=%.3f ops=%llu rps=%.1f gets=%llu sets=%llu "
           "keys=%llu hits=%llu misses=%llu kps=%.1f in_mbps=%.2f out_mbps=%.2f "
           "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f "
           "prefill_s=%.3f srv_cpu_s=%.3f srv_ns_per_op=%.1f srv_rss_kb=%ld "
           "errors=%llu err_proto=%llu err_key=%llu err_value=%llu err_server=%llu "
           "err_notstored=%llu err_conn=%llu err_connect=%llu stalled=%d",
           O.conns, served, DEAD, secs, (unsigned long long)S.ops, rps,
           (unsigned long long)S.gets, (unsigned long long)S.sets, (unsigned long long)S.keys,
           (unsigned long long)S.hits, (unsigned long long)S.misses,
           secs > 0 ? (double)(S.keys + S.sets) / secs : 0,
           secs > 0 ? (double)S.bytes_in / secs / 1e6 : 0,
           secs > 0 ? (double)S.bytes_out / secs / 1e6 : 0, hist_quantile(&S.lat, 0.5) / 1e3,
           hist_quantile(&S.lat, 0.9) / 1e3, hist_quantile(&S.lat, 0.99) / 1e3,
           hist_quantile(&S.lat, 0.999) / 1e3, S.lat.max / 1e3, hist_mean(&S.lat) / 1e3,
           (double)PREFILL_NS / 1e9, cpu, cpu >= 0 && S.ops ? cpu * 1e9 / (double)S.ops : -1,
           RSS1, (unsigned long long)errors, (unsigned long long)E.proto,
           (unsigned long long)E.key, (unsigned long long)E.value, (unsigned long long)E.server,
           (unsigned long long)E.notstored, (unsigned long long)E.conn,
           (unsigned long long)E.connect, STALLED);
    if (O.through) /* read-through figures at the end of the RESULT line */
        _report_through(true);
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int rc = bench_options(argc, argv);
    if (rc == 2)
        return bench_selftest();
    if (rc)
        return rc < 0 ? 2 : 0;
    signal(SIGPIPE, SIG_IGN);
    _raise_nofile(O.conns + 64);
    if (!_setup()) {
        fprintf(stderr, "memg-bench: setup failed (bad sizes or out of memory)\n");
        return 2;
    }
    CPU0 = CPU1 = -1;
    if (O.flush && !_flush_all())
        return 1;
    int ok = _connect_all();
    if (ok <= 0) {
        fprintf(stderr, "memg-bench: no connection to %s:%d (%s)\n", O.host, O.port, E.first);
        return 1;
    }
    ev_set_timer(L, 1, _tick, NULL);
    uint64_t now = _now_ns();
    T_PROGRESS = now;
    if (O.prefill)
        _enter(PH_PREFILL, now), _kick_all();
    else if (O.through)
        _enter(PH_WARMUP, now), _kick_all();
    else
        _enter(O.warmup > 0 ? PH_WARMUP : PH_RUN, now);
    ev_run(L);
    if (!REPORTED)
        _report();
    uint64_t errors = E.proto + E.key + E.value + E.server + E.notstored;
    return STALLED ? 3 : errors ? 4 : 0;
}
