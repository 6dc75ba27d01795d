/* http: HTTP/1.1 on the protocol interface. Keys under /k/ go through
 * ops.c like any other wire's; the pages (/metrics, /stats.json, /healthz,
 * /) are composed by http_page.c. Keep-alive and pipelining come from conn:
 * one request per feed. A head that cannot be parsed is answered and the
 * connection closed; a body that is not stored is discarded, never kept. */
#include "http.h"

#include <string.h>

#include "lib/buf.h"
#include "process/config.h"
#include "lib/mem.h"
#include "ops/ops.h"
#include "lib/out.h"
#include "proto/text/proto.h"
#include "store/store.h"

/* session.bits */
#define HB_CLOSE HTTP_B_CLOSE
#define HB_KEEP10 HTTP_B_KEEP10
#define HB_QUIT 4u   /* a reply said close: the next feed hangs up */

static char *_put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, lit) _put((p), "" lit, sizeof(lit) - 1)

static char *_put_u64(char *p, uint64_t v) { return p + proto_u64(p, v); }

/* "HTTP/1.1 NNN Reason\r\n" + Content-Length; the caller adds the rest. */
static char *_head_begin(char *p, int status, uint64_t clen)
{
    p = PUT_LIT(p, "HTTP/1.1 ");
    p = _put_u64(p, (uint64_t)status);
    *p++ = ' ';
    const char *why = http_reason(status);
    p = _put(p, why, strlen(why));
    p = PUT_LIT(p, "\r\nContent-Length: ");
    p = _put_u64(p, clen);
    return PUT_LIT(p, "\r\n");
}

static char *_head_end(char *p, unsigned bits)
{
    if (bits & HB_CLOSE)
        p = PUT_LIT(p, "Connection: close\r\n");
    else if (bits & HB_KEEP10)
        p = PUT_LIT(p, "Connection: keep-alive\r\n");
    return PUT_LIT(p, "\r\n");
}

#define HEAD_ROOM 256 /* status line and the fixed headers, extra excluded */

/* A whole reply: status line, Content-Length nbody, extra header lines
 * ("Name: value\r\n"...), the connection header of bits, then the body
 * unless head_only. */
static void _reply(struct out *out, int status, unsigned bits, const char *extra,
                   const char *body, size_t nbody, bool head_only)
{
    size_t nextra = extra ? strlen(extra) : 0;
    size_t room = HEAD_ROOM + nextra + (head_only ? 0 : nbody);
    char *p0 = out_reserve(out, room), *p = p0;
    if (!p)
        return; /* out->oom: conn hangs up */
    p = _head_begin(p, status, nbody);
    if (nextra)
        p = _put(p, extra, nextra);
    p = _head_end(p, bits);
    if (!head_only && nbody)
        p = _put(p, body, nbody);
    out_commit(out, (size_t)(p - p0));
}

/* An error or a body-less answer: the reason as text/plain. */
static void _status(struct out *out, int status, unsigned bits, const char *extra, bool head_only)
{
    char body[64];
    const char *why = http_reason(status);
    size_t n = strlen(why);
    memcpy(body, why, n);
    body[n++] = '\n';
    char hdr[96] = "Content-Type: text/plain\r\n";
    if (extra) {
        size_t h = strlen(hdr);
        memcpy(hdr + h, extra, strlen(extra) + 1);
    }
    bool empty = status == 204 || status == 304;
    _reply(out, status, bits, hdr, body, empty ? 0 : n, head_only || empty);
}

static void _get(struct ops_ctx *ctx, const struct http_req *r, unsigned bits, struct out *out)
{
    struct item_view it;
    bool head = r->method == HTTP_HEAD;
    if (!ops_get(ctx, r->key, r->nkey, &it)) {
        _status(out, 404, bits, NULL, head);
        return;
    }
    /* -C: items have no version (cas 0), so no ETag and no tag matches */
    bool fresh = r->if_none_match && (r->if_none_match_any || (it.cas && r->if_none_match_cas == it.cas));
    bool inline_value = !head && !fresh && it.nvalue < OPS_ZERO_COPY_MIN;
    char *p0 = out_reserve(out, HEAD_ROOM + (inline_value ? it.nvalue : 0)), *p = p0;
    if (!p)
        return;
    if (fresh) { /* 304: the validator only */
        p = PUT_LIT(p, "HTTP/1.1 304 Not Modified\r\n");
    } else {
        p = _head_begin(p, 200, it.nvalue);
        p = PUT_LIT(p, "Content-Type: application/octet-stream\r\nMemg-Flags: ");
        p = _put_u64(p, it.flags);
        p = PUT_LIT(p, "\r\n");
    }
    if (it.cas) {
        p = PUT_LIT(p, "ETag: \"");
        p = _put_u64(p, it.cas);
        p = PUT_LIT(p, "\"\r\n");
    }
    p = _head_end(p, bits);
    if (inline_value)
        p = _put(p, it.value, it.nvalue);
    out_commit(out, (size_t)(p - p0));
    if (head || fresh || inline_value)
        return;
    store_pin(ctx->store, it.pin); /* large values leave from their item */
    if (!out_ref(out, it.value, it.nvalue, it.pin))
        store_unpin(ctx->store, it.pin);
}

static void _delete(struct ops_ctx *ctx, const struct http_req *r, unsigned bits, struct out *out)
{
    uint64_t cas = r->if_match && !r->if_match_any ? r->if_match_cas : 0;
    if (r->if_match && !r->if_match_any && cas == 0) { /* a tag no item has */
        _status(out, 412, bits, NULL, false);
        return;
    }
    enum store_status st = ops_delete(ctx, r->key, r->nkey, cas);
    int code = st == STORE_OK ? 204 : st == STORE_NOT_FOUND ? (r->if_match ? 412 : 404) : 412;
    _status(out, code, bits, NULL, false);
}

/* What a PUT's preconditions make of the store: set, cas, replace or add. */
static enum store_mode _put_mode(const struct http_req *r)
{
    if (r->if_match)
        return r->if_match_any ? STORE_REPLACE : STORE_CAS;
    return r->if_none_match_any ? STORE_ADD : STORE_SET;
}

static void _stored(struct ops_ctx *ctx, struct session *s, struct out *out)
{
    uint64_t cas = 0;
    enum store_mode mode = (enum store_mode)s->op;
    enum store_status st = ops_store_end(ctx, &s->txn, mode, s->cas, &cas);
    s->txn_open = false;
    if (st != STORE_OK) {
        _status(out, st == STORE_NO_MEMORY ? 507 : 412, s->bits, NULL, false);
        return;
    }
    char etag[48] = "ETag: \"", *p = etag + 7;
    p = _put_u64(p, cas);
    memcpy(p, "\"\r\n", 4);
    _reply(out, 204, s->bits, cas ? etag : NULL, NULL, 0, true);
}

/* PUT: the value stored from the buffer when it is all there, received
 * into its item when it cannot wait there, or refused and discarded. */
static enum feed_status _store(struct session *s, struct ops_ctx *ctx, const struct http_req *r,
                               const char *body, size_t avail, size_t cap, struct out *out)
{
    if (!r->has_length) {
        _status(out, 411, s->bits | HB_CLOSE, NULL, false);
        return FEED_QUIT;
    }
    uint64_t n = r->content_length;
    int refuse = 0;
    if (n > ctx->cfg->item_size_max)
        refuse = 413;
    else if (r->if_match && !r->if_match_any && r->if_match_cas == 0)
        refuse = 412;
    else if (n > avail && r->head_len + n <= cap && !r->expect_continue)
        return FEED_AGAIN; /* small enough to wait in the buffer */
    if (!refuse) {
        enum store_status st = ops_store_begin(ctx, r->key, r->nkey, r->flags,
                                               r->has_ttl ? r->ttl : 0, (size_t)n, false, &s->txn);
        refuse = st == STORE_OK ? 0 : st == STORE_TOO_LARGE ? 413 : 507;
    }
    if (refuse) { /* a client waiting for 100 may never send the body: hang up */
        _status(out, refuse, s->bits | (r->expect_continue ? HB_CLOSE : 0), NULL, false);
        s->recv_dst = NULL; /* the body is read and dropped */
        s->recv_left = n;
        return r->expect_continue ? FEED_QUIT : FEED_RECEIVE;
    }
    s->op = (uint8_t)_put_mode(r);
    s->cas = r->if_match_cas;
    s->txn_open = true;
    if (n <= avail) {
        mem_copy(s->txn.value, body, (size_t)n);
        _stored(ctx, s, out);
        return FEED_DONE;
    }
    if (r->expect_continue)
        out_copy(out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    s->recv_dst = s->txn.value;
    s->recv_left = n;
    return FEED_RECEIVE;
}

static const char allow_rw[] = "Allow: GET, HEAD, PUT, DELETE\r\n";
static const char allow_ro[] = "Allow: GET, HEAD\r\n";

static enum feed_status _key(struct session *s, struct ops_ctx *ctx, const struct http_req *r,
                             const char *body, size_t avail, size_t cap, struct out *out)
{
    bool ro = ctx->cfg->http_readonly;
    switch (r->method) {
    case HTTP_GET:
    case HTTP_HEAD:
        _get(ctx, r, s->bits, out);
        return FEED_DONE;
    case HTTP_PUT:
        if (ro)
            break;
        return _store(s, ctx, r, body, avail, cap, out);
    case HTTP_DELETE:
        if (ro)
            break;
        _delete(ctx, r, s->bits, out);
        return FEED_DONE;
    default:
        break;
    }
    _status(out, 405, s->bits, ro ? allow_ro : allow_rw, r->method == HTTP_HEAD);
    return FEED_DONE;
}

/* A page of http_page.c, composed there, sent here. */
static void _page(struct ops_ctx *ctx, const struct http_req *r, unsigned bits, struct out *out)
{
    struct buf b = {0};
    struct http_body page;
    bool head = r->method == HTTP_HEAD;
    http_page(ctx, r->route, http_accepts_gzip(r), &b, &page);
    _reply(out, 200, bits, page.headers, page.by_ref ? NULL : page.data, page.len,
           head || page.by_ref);
    if (page.by_ref && !head)
        out_ref(out, page.data, page.len, OUT_NO_PIN);
    buf_release(&b);
}

static enum feed_status _route(struct session *s, struct ops_ctx *ctx, const struct http_req *r,
                               const char *body, size_t avail, size_t cap, struct out *out)
{
    bool head = r->method == HTTP_HEAD;
    if (r->route == HTTP_R_KEY)
        return _key(s, ctx, r, body, avail, cap, out);
    if (r->route == HTTP_R_NONE)
        _status(out, 404, s->bits, NULL, head);
    else if (r->method != HTTP_GET && !head)
        _status(out, 405, s->bits, allow_ro, false);
    else
        _page(ctx, r, s->bits, out);
    return FEED_DONE;
}

static enum feed_status _feed(struct session *s, struct ops_ctx *ctx, const char *buf, size_t len,
                              size_t cap, size_t *used, struct out *out)
{
    *used = 0;
    if (s->bits & HB_QUIT)
        return FEED_QUIT;
    struct http_req r;
    long n = http_parse(&r, buf, len);
    if (n == 0)
        return FEED_AGAIN;
    if (n < 0) { /* answered, then closed: the stream cannot be trusted */
        _status(out, (int)-n, HB_CLOSE, NULL, false);
        *used = len;
        return FEED_QUIT;
    }
    s->bits = (uint8_t)((r.keep_alive ? 0 : HB_CLOSE) | (r.http10 && r.keep_alive ? HB_KEEP10 : 0));
    size_t avail = len - (size_t)n;
    enum feed_status st;
    if (r.method == HTTP_PUT && r.route == HTTP_R_KEY && !ctx->cfg->http_readonly) {
        st = _store(s, ctx, &r, buf + n, avail, cap, out);
        if (st == FEED_AGAIN)
            return st;
    } else {
        st = _route(s, ctx, &r, NULL, 0, cap, out);
        if (r.content_length) { /* a body nobody asked for is dropped */
            s->recv_dst = NULL;
            s->recv_left = r.content_length;
            st = r.expect_continue ? FEED_QUIT : FEED_RECEIVE;
        }
    }
    *used = (size_t)n;
    if (st == FEED_DONE && (r.method == HTTP_PUT) && r.content_length)
        *used += (size_t)r.content_length; /* stored from the buffer */
    if (s->bits & HB_CLOSE) {
        if (st == FEED_DONE)
            return FEED_QUIT;
        s->bits |= HB_QUIT;
    }
    return st;
}

static enum feed_status _received(struct session *s, struct ops_ctx *ctx, struct out *out)
{
    if (s->recv_dst) {
        s->recv_dst = NULL;
        _stored(ctx, s, out);
    }
    return (s->bits & HB_QUIT) ? FEED_QUIT : FEED_DONE; /* the reply said close */
}

const struct protocol http_protocol = {"http", _feed, _received, NULL, NULL};
