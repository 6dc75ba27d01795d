/* cuts: where fuzz_conn cuts a client's byte stream into the pieces it
 * writes. The stream is walked as its protocol frames it (a text line and
 * its data block, a binary header, extras, key and value, an HTTP head and
 * body) and the boundaries of the kinds asked for are marked. */
#ifndef MEMG_FUZZ_CUTS_H
#define MEMG_FUZZ_CUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cut_wire { CUT_TEXT, CUT_BIN, CUT_HTTP };

/* Boundary kinds (a bit each): a piece ends just before the byte named. */
enum {
    CUT_FIRST = 1,   /* one byte into a request */
    CUT_MID = 2,     /* the middle of a text line, a binary header, an HTTP request line */
    CUT_HEAD = 4,    /* a binary header's end; the \r ending a text line or an HTTP head line */
    CUT_CRLF = 8,    /* between \r and \n: a line's, a data block's, the head's blank line */
    CUT_KEY = 16,    /* inside the key, the binary extras, the HTTP path */
    CUT_BODY = 32,   /* where the value or body starts */
    CUT_VMID = 64,   /* the middle of the value or body */
    CUT_LAST = 128,  /* one byte before the request's end */
};

/* Marks at[i] = 1 (at has n + 1 bytes, zeroed by the caller) for each
 * boundary of a kind in kinds. Returns false when two deliveries of the
 * stream may rightly be answered differently: a stats request (its numbers
 * move), a text line past 2048 bytes (memcached closes on one seen without
 * its newline), an HTTP Expect: 100-continue (sent only when the body is
 * not there yet), a stats page. */
bool cuts_mark(enum cut_wire w, const uint8_t *p, size_t n, unsigned kinds, uint8_t *at);

#endif
