/* tlsc: the generator's TLS client (--tls, a build made with TLS=1): the
 * handshake blocks right after connect, then reads and writes do not. */
#ifndef BENCH_TLSC_H
#define BENCH_TLSC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tlsc;

/* The client context; suite: a TLS 1.3 cipher suite to insist on (NULL:
 * OpenSSL's choice). False, saying why on stderr, in a build without TLS. */
bool tlsc_setup(const char *suite);
/* Handshake over a connected blocking socket; NULL (said on stderr) on failure. */
struct tlsc *tlsc_connect(int fd);
/* As read(2) and write(2): -1 with errno EAGAIN when the socket must be waited for. */
ssize_t tlsc_read(struct tlsc *t, void *buf, size_t n);
ssize_t tlsc_write(struct tlsc *t, const void *buf, size_t n);
/* Decrypted bytes that wait inside the library (no socket event comes for them). */
bool tlsc_pending(const struct tlsc *t);
/* The negotiated cipher suite, for the report. */
const char *tlsc_cipher(const struct tlsc *t);
void tlsc_free(struct tlsc *t);

#endif
