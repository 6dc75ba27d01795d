/* cli: memg-bench's options and usage; the server's figures from /proc. */
#include "bench.h"
#include "reply.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct bench_opts O;

static void _usage(FILE *f)
{
    fprintf(f,
            "usage: memg-bench [options]   (memcached text or binary protocol, replies checked)\n"
            "  -s, --server HOST      server address (127.0.0.1)\n"
            "  -p, --port PORT        server port (11211)\n"
            "  -c, --conns N          connections (50)\n"
            "  -d, --depth N          requests in flight per connection (1)\n"
            "  -k, --keys N           key space (100000)\n"
            "      --key-size N[-M]   key bytes, fixed or a range (14)\n"
            "  -v, --value-size N[-M] value bytes, fixed or a range (32)\n"
            "      --zipf THETA       skewed keys (e.g. 0.99); default uniform\n"
            "  -r, --ratio S:G        set:get requests (1:10)\n"
            "      --flags N          every key's client flags N (default: a 32-bit hash of it)\n"
            "  -m, --multiget N       keys per get (1)\n"
            "  -t, --duration SEC     measured seconds (10); 0 with --prefill: prefill only\n"
            "  -w, --warmup SEC       unmeasured seconds before (0)\n"
            "  -n, --ops N            total requests instead of a duration\n"
            "      --conn-ops N       requests per connection instead of a duration\n"
            "  -R, --rate N           fixed request rate per second (closed loop if 0)\n"
            "  -P, --prefill          set every key once before measuring\n"
            "  -F, --flush            flush_all first (values of other runs are wrong)\n"
            "      --hold SEC         keep connections open SEC after (prints HOLDING)\n"
            "      --server-pid PID   report the server's CPU time and RSS\n"
            "      --stall SEC        no reply this long is a hang (10)\n"
            "      --seed N           random seed\n"
            "  -B, --binary           binary protocol: SET and GET; with -d > 1, batches of\n"
            "                         -d requests (gets as GETQ) closed by a NOOP (-m 1 only)\n"
            "      --tls              over TLS (certificates not checked; a build with TLS=1)\n"
            "      --tls-suite S      over TLS with the TLS 1.3 cipher suite S\n"
            "      --meta             meta commands: ms and mg <key> v k; with -d > 1, batches\n"
            "                         of -d requests (mg with q) closed by mn (-m 1 only)\n"
            "  -q, --quiet            only the RESULT line\n"
            "      --selftest         check the parser and histogram, then exit\n"
            "      --through          read-through: get the stream's keys (below), set each\n"
            "                         miss; warm-up and measured phases by request count\n"
            "                         (-k -v --key-size --zipf -r -m -t -w -n -P refused; -R paces it)\n"
            "      --ttl SEC[:PCT]    sets of PCT %% of the keys (100) expire after SEC\n"
            "%s",
            STREAM_HELP);
}

static bool _range(const char *s, uint32_t *lo, uint32_t *hi)
{
    char *end;
    unsigned long a = strtoul(s, &end, 10), b = a;
    if (*end == '-')
        b = strtoul(end + 1, &end, 10);
    *lo = (uint32_t)a;
    *hi = (uint32_t)b;
    return *end == 0 && a <= b && b < (1ul << 30);
}

/* --through takes its keys, sizes and phases from the stream options alone;
 * the stream options mean nothing without it. */
static bool _through_ok(bool plain, bool streamed)
{
    if (!O.through)
        return !streamed;
    const char *bad = stream_check(&O.stream);
    if (bad)
        fprintf(stderr, "memg-bench: %s\n", bad);
    else if (plain)
        fprintf(stderr, "memg-bench: --through takes keys, sizes and phases from the stream\n");
    return !bad && !plain && !O.binary && !O.hold;
}

int bench_options(int argc, char **argv)
{
    static const struct option lo[] = {
        {"server", 1, 0, 's'}, {"port", 1, 0, 'p'}, {"conns", 1, 0, 'c'},
        {"depth", 1, 0, 'd'}, {"keys", 1, 0, 'k'}, {"key-size", 1, 0, 'K'},
        {"value-size", 1, 0, 'v'}, {"zipf", 1, 0, 'Z'}, {"ratio", 1, 0, 'r'},
        {"multiget", 1, 0, 'm'}, {"duration", 1, 0, 't'}, {"warmup", 1, 0, 'w'},
        {"ops", 1, 0, 'n'}, {"conn-ops", 1, 0, 'N'}, {"rate", 1, 0, 'R'},
        {"prefill", 0, 0, 'P'}, {"flush", 0, 0, 'F'}, {"hold", 1, 0, 'H'}, {"server-pid", 1, 0, 'I'},
        {"stall", 1, 0, 'S'}, {"seed", 1, 0, 'E'}, {"quiet", 0, 0, 'q'}, {"binary", 0, 0, 'B'}, {"meta", 0, 0, 'G'},
        {"selftest", 0, 0, 'T'}, {"help", 0, 0, 'h'}, {"through", 0, 0, 'U'},
        {"ttl", 1, 0, 'X'}, {"tls", 0, 0, 'L'}, {"tls-suite", 1, 0, 'Y'}, {"flags", 1, 0, 'g'}};
    struct option all[sizeof(lo) / sizeof(lo[0]) + STREAM_NOPTS + 1];
    memcpy(all, lo, sizeof(lo));
    memcpy(all + sizeof(lo) / sizeof(lo[0]), stream_longopts, sizeof(stream_longopts));
    memset(&all[sizeof(all) / sizeof(all[0]) - 1], 0, sizeof(all[0]));
    O = (struct bench_opts){.host = "127.0.0.1", .port = 11211, .conns = 50, .depth = 1,
                            .keys = 100000, .kmin = 14, .kmax = 14, .vmin = 32, .vmax = 32,
                            .set_w = 1, .get_w = 10, .width = 1, .duration = 10, .stall = 10};
    stream_defaults(&O.stream);
    uint32_t a, b;
    int ch;
    bool plain = false, streamed = false; /* options of the plain load; of the stream */
    while ((ch = getopt_long(argc, argv, "s:p:c:d:k:v:r:m:t:w:n:R:PFqBh", all, NULL)) != -1) {
        if (ch >= STREAM_OPT_BASE) {
            streamed = true;
            if (!stream_option(&O.stream, ch, optarg))
                goto bad;
            continue;
        }
        plain |= ch > 0 && strchr("kKvZrmtwnNP", ch) != NULL;
        switch (ch) {
        case 's': O.host = optarg; break;
        case 'p': O.port = atoi(optarg); break;
        case 'c': O.conns = atoi(optarg); break;
        case 'd': O.depth = atoi(optarg); break;
        case 'k': O.keys = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'K':
            if (!_range(optarg, &a, &b))
                goto bad;
            O.kmin = a, O.kmax = b;
            break;
        case 'v':
            if (!_range(optarg, &O.vmin, &O.vmax))
                goto bad;
            break;
        case 'Z': O.zipf = atof(optarg); break;
        case 'g': kv_flags_fixed = (int64_t)strtoul(optarg, NULL, 10) & 0xffffffff; break;
        case 'r':
            if (sscanf(optarg, "%u:%u", &O.set_w, &O.get_w) != 2 || O.set_w + O.get_w == 0)
                goto bad;
            break;
        case 'm': O.width = (unsigned)atoi(optarg); break;
        case 't': O.duration = atof(optarg); break;
        case 'w': O.warmup = atof(optarg); break;
        case 'n': O.ops = strtoull(optarg, NULL, 10); break;
        case 'N': O.conn_ops = strtoull(optarg, NULL, 10); break;
        case 'R': O.rate = atof(optarg); break;
        case 'P': O.prefill = true; break;
        case 'F': O.flush = true; break;
        case 'H': O.hold = atof(optarg); break;
        case 'I': O.server_pid = atoi(optarg); break;
        case 'S': O.stall = atof(optarg); break;
        case 'E': O.seed = strtoull(optarg, NULL, 10); break;
        case 'q': O.quiet = true; break;
        case 'B': O.binary = true; break;
        case 'G': O.meta = true; break;
        case 'U': O.through = true; break;
        case 'L': O.tls = true; break;
        case 'Y': O.tls = true, O.tls_suite = optarg; break;
        case 'X':
            O.ttl_pct = 100;
            if (sscanf(optarg, "%u:%u", &O.ttl, &O.ttl_pct) < 1 || O.ttl == 0 || O.ttl_pct > 100)
                goto bad;
            break;
        case 'T': return 2;
        case 'h': _usage(stdout); return 1;
        default: goto bad;
        }
    }
    if (optind == argc && O.conns > 0 && O.depth > 0 && O.depth <= 65535 && O.width >= 1 &&
        O.width <= 1000 && (!(O.binary || O.meta) || O.width == 1) && !(O.binary && O.meta) &&
        O.keys > 0 && O.port > 0 && (O.zipf == 0 || (O.zipf > 0 && O.zipf < 1)) &&
        _through_ok(plain, streamed) && !(O.through && (O.binary || O.meta)) &&
        !(O.tls && O.flush))
        return 0;
bad:
    _usage(stderr);
    return -1;
}

double proc_cpu(int pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

long proc_rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}
