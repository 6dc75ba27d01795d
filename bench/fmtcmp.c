/* fmtcmp: lib/fmt.c's fmt_buf against libc's snprintf on the lines memg
 * formats on a hot path: a `stats` line (every pair of every poll) and a
 * -vv / watch log line (every request while on). Prints ns per line and
 * snprintf / fmt; `make bench-fmt` builds it with the server's CC. */
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include "lib/fmt.h"

static double _now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
    enum { N = 2000000, ROUNDS = 3 };
    static const char *const names[] = {"get_hits", "curr_connections", "bytes_read", "evictions"};
    char b[256];
    volatile size_t sink = 0;
    for (int r = 0; r < ROUNDS; r++) { /* fmt first, then libc, each round */
        double t[5];
        t[0] = _now();
        for (unsigned i = 0; i < N; i++)
            sink += fmt_buf(b, sizeof b, "STAT %s %llu\r\n", names[i & 3], i * 7919ull);
        t[1] = _now();
        for (unsigned i = 0; i < N; i++)
            sink += (size_t)snprintf(b, sizeof b, "STAT %s %llu\r\n", names[i & 3], i * 7919ull);
        t[2] = _now();
        for (unsigned i = 0; i < N; i++)
            sink += fmt_buf(b, sizeof b, "<%u %s %.*s %u %llu", i & 1023, "get", 10, "somekey:12",
                            i, i * 31ull);
        t[3] = _now();
        for (unsigned i = 0; i < N; i++)
            sink += (size_t)snprintf(b, sizeof b, "<%u %s %.*s %u %llu", i & 1023, "get", 10,
                                     "somekey:12", i, i * 31ull);
        t[4] = _now();
        printf("stats line: fmt %.0f ns, snprintf %.0f ns (%.2fx); log line: fmt %.0f ns, "
               "snprintf %.0f ns (%.2fx)\n",
               (t[1] - t[0]) / N * 1e9, (t[2] - t[1]) / N * 1e9, (t[2] - t[1]) / (t[1] - t[0]),
               (t[3] - t[2]) / N * 1e9, (t[4] - t[3]) / N * 1e9, (t[4] - t[3]) / (t[3] - t[2]));
    }
    return (int)(sink & 1) * 0;
}
