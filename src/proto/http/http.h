/* http: the HTTP/1.1 front (-o http_port=N) on the protocol interface, and
 * its pure request-head parser: keys under /k/, /metrics, /healthz,
 * /stats.json and the dashboard at /. The parser touches no store and no
 * socket: it turns bytes into a struct http_req or a status to answer. */
#ifndef MEMG_HTTP_H
#define MEMG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/protocol.h"

#define HTTP_HEAD_MAX 8192 /* a longer head is answered 431 */
#define HTTP_KEY_MAX 250   /* as the text protocol's keys */

enum http_method { HTTP_GET = 1, HTTP_HEAD, HTTP_PUT, HTTP_DELETE, HTTP_POST, HTTP_OTHER };

enum http_route { HTTP_R_KEY = 1, HTTP_R_ROOT, HTTP_R_METRICS, HTTP_R_HEALTHZ, HTTP_R_JSON,
                  HTTP_R_NONE };

/* What Accept-Encoding says of a coding: not named, refused (q=0), accepted. */
enum { HTTP_AE_UNSAID = 0, HTTP_AE_NO, HTTP_AE_YES };

/* A parsed request head. Pointers point into the parsed buffer. */
struct http_req {
    uint8_t method;       /* enum http_method */
    uint8_t route;        /* enum http_route */
    bool keep_alive;      /* HTTP/1.1 without "Connection: close", or 1.0 with keep-alive */
    bool http10;
    bool expect_continue; /* "Expect: 100-continue" */
    bool has_length;      /* a Content-Length was given */
    bool chunked;         /* a Transfer-Encoding was given (not supported) */
    bool if_match, if_match_any, if_none_match, if_none_match_any;
    bool has_ttl;
    uint8_t ae_gzip, ae_any; /* Accept-Encoding for gzip and for *: HTTP_AE_* */
    uint64_t if_match_cas, if_none_match_cas;
    uint64_t content_length;
    int64_t ttl;          /* ?ttl=S: memcached's exptime */
    uint64_t flags;       /* ?flags=N, up to proto_flags_max */
    size_t head_len;      /* bytes of the head, its blank line included */
    size_t nkey;
    char key[HTTP_KEY_MAX]; /* percent-decoded */
};

/* Parse the request head at buf[0..len). Returns head_len (> 0) when the
 * head is complete and valid, 0 when more bytes are needed, or minus the
 * status to answer (-400, -405, -414, -431, -501, -505) before closing. */
long http_parse(struct http_req *r, const char *buf, size_t len);

/* The reason phrase of a status ("Not Found"); "" for one memg never sends
 * (http.c). */
const char *http_reason(int status);
/* The request target [p, end) into r's route, key and query (http_route.c);
 * 0 or minus the status to answer. */
long http_route(struct http_req *r, const char *p, const char *end);
/* Decimal digits [p, end) into *v, at most max; false when not that
 * (http_route.c: the query's numbers, and the head's). */
bool http_digits(const char *p, const char *end, uint64_t max, uint64_t *v);

/* Decode %XX escapes of src[0..n) into dst (room for n bytes). Returns the
 * decoded length, or -1 on a bad escape. */
long http_unescape(char *dst, const char *src, size_t n);

extern const struct protocol http_protocol;

struct ops_ctx;
struct out;

/* Reply bits (session.bits): how the connection header reads. */
#define HTTP_B_CLOSE 1u  /* "Connection: close": hang up after this reply */
#define HTTP_B_KEEP10 2u /* HTTP/1.0 keep-alive: say so in the reply */

/* A page's reply, composed by http_page.c and sent by http.c: its header
 * lines ("Name: value\r\n"...) and body, either in the caller's buffer or,
 * by_ref, static bytes sent from where they are. */
struct http_body {
    const char *headers;
    const char *data;
    size_t len;
    bool by_ref;
};
struct buf;
/* The page of / (the dashboard), /metrics, /healthz or /stats.json; a
 * composed body goes in *b (the caller releases it after replying). */
void http_page(struct ops_ctx *ctx, int route, bool gzip, struct buf *b, struct http_body *page);

/* Whether the client takes a gzip-compressed body: Accept-Encoding names
 * gzip (or x-gzip, or *) with a q above 0. No header: no (curl and raw
 * requests send none and would get the compressed bytes). */
bool http_accepts_gzip(const struct http_req *r);

/* The dashboard page (dashboard.html) as it is and gzip-compressed at
 * build time. */
extern const unsigned char http_dashboard[], http_dashboard_gz[];
extern const size_t http_dashboard_len, http_dashboard_gz_len;

#endif
