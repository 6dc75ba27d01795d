/* main: set the modules up in dependency order, run, tear down in reverse. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "proto/auth.h"
#include "proto/text/proto.h"
#include "lib/buf.h"
#include "process/config.h"
#include "process/pidfile.h"
#include "lib/fmt.h"
#include "lib/out.h"
#include "process/server.h"
#include "lib/stats.h"
#include "store/store.h"
#include "store/thp.h"

#define RBUF_BLOCK 16384 /* read/write buffer size; pooled */

/* Room for -c connections plus listeners and a margin. */
static void _raise_nofile(int conns)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)conns + 64;
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* -r, as memcached: the core size limit to infinity, else to the hard limit;
 * false (memcached exits) when it ends at 0. */
static bool _core_dumps(void)
{
    struct rlimit rl, want = {RLIM_INFINITY, RLIM_INFINITY};
    if (getrlimit(RLIMIT_CORE, &rl) == 0 && setrlimit(RLIMIT_CORE, &want) != 0) {
        want.rlim_cur = want.rlim_max = rl.rlim_max;
        setrlimit(RLIMIT_CORE, &want);
    }
    return getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur != 0;
}

/* sysexits.h's codes, as memcached exits with them. */
#define EXIT_USAGE 64     /* bad flags; root without -u */
#define EXIT_NOUSER 67    /* -u names no user */
#define EXIT_OSERR 71     /* a socket or identity could not be set up */
#define EXIT_CANTCREAT 73 /* the pid file cannot be written */

/* As memcached: root must name the user to become; that user must exist.
 * Checked before anything is opened. Returns 0 or the exit status. */
struct identity {
    const char *name;
    uid_t uid;
    gid_t gid;
};

static int _check_identity(const struct config *cfg, struct identity **pw)
{
    static struct identity id;
    *pw = NULL;
    if (getuid() != 0 && geteuid() != 0)
        return 0; /* -u means nothing unless root */
    if (!cfg->user || !cfg->user[0]) {
        fmt_fd(STDERR_FILENO, "memg: can't run as root without the -u switch\n");
        return EXIT_USAGE;
    }
    const struct passwd *p = getpwnam(cfg->user);
    if (!p) {
        fmt_fd(STDERR_FILENO, "memg: can't find the user %s to switch to\n", cfg->user);
        return EXIT_NOUSER;
    }
    id.uid = p->pw_uid;
    id.gid = p->pw_gid;
    id.name = cfg->user;
    *pw = &id;
    return 0;
}

static int _drop_privileges(const struct identity *pw)
{
    if (setgroups(0, NULL) < 0 || setgid(pw->gid) < 0 || setuid(pw->uid) < 0) {
        fmt_fd(STDERR_FILENO, "memg: failed to assume identity of user %s: %s\n", pw->name,
               strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct config cfg;
    config_defaults(&cfg);
    enum config_result cr = config_parse(&cfg, argc, argv, STDOUT_FILENO, STDERR_FILENO);
    if (cr == CONFIG_EXIT)
        return 0;
    if (cr == CONFIG_ERROR)
        return cfg.bad_option ? 1 : EXIT_USAGE; /* getopt's 1, memcached's EX_USAGE */
    /* Stop signals wait from here until the loop's signalfd reads them: a
     * SIGUSR1 during a long -e restore still saves instead of killing. */
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGUSR1);
    sigprocmask(SIG_BLOCK, &stops, NULL);
    struct identity *pw;
    int rc = _check_identity(&cfg, &pw);
    if (rc)
        return rc;
    struct auth *auth = NULL;
    if (cfg.sasl || cfg.auth_file) { /* read before dropping root, as memcached */
        const char *path = cfg.auth_file ? cfg.auth_file : getenv("MEMCACHED_SASL_PWDB");
        char aerr[256];
        if (!path) {
            fmt_fd(STDERR_FILENO, "memg: -S needs MEMCACHED_SASL_PWDB to name a file of "
                                  "user:password lines\n");
            return 1;
        }
        if (!(auth = auth_load(path, aerr, sizeof(aerr)))) {
            fmt_fd(STDERR_FILENO, "memg: %s\n", aerr);
            return 1;
        }
    }
    _raise_nofile(cfg.max_conns);
    if (cfg.core_dumps && !_core_dumps()) {
        fmt_fd(STDERR_FILENO, "failed to ensure corefile creation\n");
        return EXIT_OSERR;
    }
    struct stats stats;
    memset(&stats, 0, sizeof(stats));
    if (cfg.large_pages && !thp_usable(NULL, STDERR_FILENO))
        return 1; /* as memcached -L */
    proto_flags_max = cfg.large_flags ? UINT64_MAX : UINT32_MAX;
    char note[PATH_MAX + 160] = "";
    struct store_config scfg = {cfg.mem_limit, cfg.item_size_max, cfg.evict, cfg.large_pages,
                                !cfg.cas_enabled, cfg.memory_file, note, sizeof(note),
                                (unsigned)cfg.hash_power, cfg.no_hashexpand,
                                cfg.track_sizes, cfg.large_flags};
    struct store *store = store_create(&scfg, &stats);
    if (note[0]) /* -e: what was restored, why it starts empty, or why it cannot */
        fmt_fd(STDERR_FILENO, "memg: %s\n", note);
    if (!store) {
        if (!note[0])
            fmt_fd(STDERR_FILENO, "memg: failed to set up the store (-m %llu MB, -I %llu)\n",
                   (unsigned long long)(cfg.mem_limit >> 20),
                   (unsigned long long)cfg.item_size_max);
        auth_free(auth);
        return 1;
    }
    buf_pool_setup(RBUF_BLOCK, 64);
    char err[512];
    struct server *srv = server_create(&cfg, store, &stats, auth, err, sizeof(err));
    rc = EXIT_OSERR;
    if (!srv) {
        fmt_fd(STDERR_FILENO, "memg: %s\n", err);
        goto out;
    }
    if (pw && _drop_privileges(pw) < 0)
        goto out;
    if (cfg.pidfile && !pidfile_writable(cfg.pidfile)) {
        rc = EXIT_CANTCREAT;
        goto out;
    }
    if (cfg.daemonize && daemon(0, 0) < 0) {
        fmt_fd(STDERR_FILENO, "memg: failed to daemonize: %s\n", strerror(errno));
        goto out;
    }
    if (cfg.pidfile)
        pidfile_write(cfg.pidfile);
    /* -k after daemon(): locks are not inherited by a child. Segments are
     * mapped as they are first used, so what is locked is what is used. */
    if (cfg.lock_memory && mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
        fmt_fd(STDERR_FILENO, "warning: -k invalid, mlockall() failed: %s\n", strerror(errno));
    if (cfg.verbose)
        fmt_fd(STDERR_FILENO, "memg %s (memcached %s compatible) listening on port %d "
                              "(-m %llu MB, -c %d)\n",
               MEMG_RELEASE, MEMG_VERSION, server_port(srv),
               (unsigned long long)(cfg.mem_limit >> 20), cfg.max_conns);
    if (server_http_port(srv) >= 0) /* -o http_port=0 picks one: say which */
        fmt_fd(STDERR_FILENO, "memg: HTTP on port %d\n", server_http_port(srv));
    rc = server_run(srv);
    if (!rc && cfg.memory_file && server_graceful(srv) && !store_save(store, note, sizeof(note))) {
        fmt_fd(STDERR_FILENO, "memg: %s\n", note);
        rc = 1;
    }
    if (cfg.pidfile)
        pidfile_remove(cfg.pidfile);
out:
    server_destroy(srv);
    buf_pool_teardown();
    out_pool_teardown();
    store_destroy(store);
    auth_free(auth);
    config_tls_free(&cfg.tls);
    return rc;
}
