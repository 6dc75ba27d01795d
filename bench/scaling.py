#!/usr/bin/python3
"""Scaling rows of `make bench`: several servers on this machine, side by
side in one run, as ratios.

  proxy:   2 memg behind nutcracker  vs  memcached -t 2 behind the same nutcracker
  client:  2 memg, keys split by the client  vs  memcached -t 2, direct
  cost:    1 memg through nutcracker  vs  the same memg direct

The load is memg-bench's workload A (50 connections, one request in flight
each, set:get 1:10, 32-byte values, 100k keys set beforehand). In the client
rows the keys are split the way a ketama client splits them, by running one
memg-bench per instance (25 connections each, each with the whole key space
on its own instance); memcached gets the same two generators. A server's
cost per request does not depend on which client hashed the key, and the
generator here has no multi-server mode. Server CPU per request is the
servers' utime+stime (every instance, every thread; /proc) over the run
divided by the requests the generators counted; nutcracker's is given apart.
Loopback only; every process is stopped, and every step has a time limit.

    bench/scaling.py --memg build/memg --tool build/memg-bench [--quick]
"""
import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (Server, parse_result, busy_cpus, machine, commit)

HOST = compare.HOST
A_ARGS = ["-d", "1", "-r", "1:10", "-v", "32", "-k", "100000"]
CONNS = 50


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Nutcracker:
    """nutcracker with one ketama pool over `ports`. Two connections per
    server, so that memcached -t 2 gets one per worker thread (its threads
    take connections in turn); memg gets two as well."""

    def __init__(self, binary, ports, logdir):
        self.port = compare.free_port()
        conf = os.path.join(logdir, "nutcracker-%d.yml" % self.port)
        with open(conf, "w") as f:
            f.write("bench:\n  listen: %s:%d\n  hash: md5\n  distribution: ketama\n"
                    "  server_connections: 2\n  servers:\n" % (HOST, self.port))
            f.writelines("   - %s:%d:1\n" % (HOST, p) for p in ports)
        self.logf = open(conf + ".log", "w")
        self.proc = subprocess.Popen([binary, "-c", conf, "-s", str(compare.free_port()),
                                      "-a", HOST], stdout=self.logf, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.bin = False  # compare.Server's wait: a text "version" answered
        self.ready = compare.Server._wait_ready(self)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.logf.close()


class Runner:
    def __init__(self, o):
        self.o = o
        self.logdir = tempfile.mkdtemp(prefix="memg-scaling-")
        self.anomalies = []
        self.errors = {"memg": 0, "memcached": 0}

    def note(self, what, text):
        log("  !! %s: %s" % (what, text))
        self.anomalies.append("%s: %s" % (what, text))

    def servers(self, name, count, threads):
        binary = self.o.memg if name == "memg" else self.o.memcached
        out = []
        for _ in range(count):
            s = compare.Server(name, binary, self.logdir,
                               threads=threads)
            out.append(s)
            if not s.ready:
                self.note(name, "did not start: %s; %s" % (" ".join(s.args), s.log_tail()))
                return out, False
        return out, True

    def _bench(self, port, args, limit):
        cmd = [self.o.tool, "-s", HOST, "-p", str(port), "-q"] + args
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), limit

    def prefill(self, port, what):
        p, limit = self._bench(port, ["-c", "16", "-t", "0", "--prefill"] + A_ARGS, 120)
        try:
            out, err = p.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            self.note(what, "prefill timed out")
            return False
        res, first = compare.parse_result(out)
        if not res or res.get("errors"):
            self.note(what, "prefill: %s %s %s" % (res and res.get("errors"), first, err[-200:]))
            return False
        return True

    def measure(self, what, name, targets, server_pids, proxy_pid=None):
        """Run one generator per (port, conns) target at once; the servers'
        and the proxy's CPU are read before and after all of them."""
        cpu0 = [compare_cpu(p) for p in server_pids]
        pcpu0 = compare_cpu(proxy_pid) if proxy_pid else None
        dur = self.o.duration
        procs = [self._bench(port, ["-c", str(c), "-t", str(dur), "-w", "0"] + A_ARGS,
                             dur + 60) for port, c in targets]
        results = []
        for p, limit in procs:
            try:
                out, err = p.communicate(timeout=limit)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                self.note(what, "%s: generator timed out" % name)
                return {}
            res, first = compare.parse_result(out)
            if not res:
                self.note(what, "%s: no result: %s" % (name, err[-300:]))
                return {}
            if res.get("errors") or res.get("stalled"):
                self.errors[name] += int(res.get("errors", 0))
                self.note(what, "%s: %d error(s), first: %s" % (name, res.get("errors", 0), first))
            results.append(res)
        cpu = sum(compare_cpu(p) - c for p, c in zip(server_pids, cpu0))
        ops = sum(r["ops"] for r in results)
        m = {"ops": sum(r["rps"] for r in results), "cpu": cpu * 1e9 / ops if ops else None,
             "p50": statistics.median(r["p50_us"] for r in results),
             "p99": max(r["p99_us"] for r in results)}
        if proxy_pid:
            m["proxy_cpu"] = (compare_cpu(proxy_pid) - pcpu0) * 1e9 / ops if ops else None
        return m

    def setup(self, what, name):
        """Start the servers of one setup, set every key, measure, stop."""
        count, threads = (1, 1) if what.startswith("cost") else \
            (2, 1) if name == "memg" else (1, 2)
        srvs, ok = self.servers(name, count, threads)
        nc = None
        try:
            if not ok:
                return {}
            pids = [s.pid for s in srvs]
            if what in ("proxy", "cost-proxy"):
                nc = Nutcracker(self.o.nutcracker, [s.port for s in srvs], self.logdir)
                if not nc.ready:
                    self.note(what, "nutcracker did not start")
                    return {}
                if not self.prefill(nc.port, what):
                    return {}
                return self.measure(what, name, [(nc.port, CONNS)], pids, nc.pid)
            for s in srvs:
                if not self.prefill(s.port, what):
                    return {}
            if what == "client":  # two generators, whatever the server count
                ports = [s.port for s in srvs] * (2 // len(srvs))
                return self.measure(what, name, [(p, CONNS // 2) for p in ports], pids)
            return self.measure(what, name, [(srvs[0].port, CONNS)], pids)
        finally:
            if nc:
                nc.stop()
            for s in srvs:
                d = s.died()
                if d:
                    self.note(what, "%s died (%s): %s" % (name, d, s.log_tail()))
                s.stop()


def compare_cpu(pid):
    """utime+stime of every thread of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SETUPS = [  # (key, name) in the order of a round
    ("proxy", "memg"), ("proxy", "memcached"), ("client", "memg"), ("client", "memcached"),
    ("cost-proxy", "memg"), ("cost-direct", "memg"),
]


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if unit:  # ns, us: whole units
        return "{:,.0f} {}".format(v, unit)
    return compare.fmt(v)


def table(rounds):
    def med(key, name, metric):
        vals = [r[(key, name)][metric] for r in rounds
                if r.get((key, name), {}).get(metric) is not None]
        return statistics.median(vals) if vals else None

    def spread(ka, kb, metric):
        rs = [r[ka][metric] / r[kb][metric] for r in rounds
              if r.get(ka, {}).get(metric) and r.get(kb, {}).get(metric)]
        return "%.2f-%.2f" % (min(rs), max(rs)) if len(rs) > 1 else ""

    rows = []
    shown = set()

    def row(label, metric, unit, a, b, cols):
        va, vb = med(*a, metric), med(*b, metric)
        r = va / vb if va is not None and vb else None
        rows.append("| %s | %s | %s | %s | %s | %s |" % (
            "" if label in shown else label, cols, fmt(va, unit), fmt(vb, unit), "%.2fx" % r if r is not None else "n/a",
            spread(a, b, metric)))
        shown.add(label)

    pm, pc = ("proxy", "memg"), ("proxy", "memcached")
    cm, cc = ("client", "memg"), ("client", "memcached")
    tp, td = ("cost-proxy", "memg"), ("cost-direct", "memg")
    head = ["| setup | metric | A | B | A/B | A/B per round |", "|---|---|---:|---:|---:|---|"]
    lab = "2 memg behind nutcracker (A) vs memcached -t 2 behind it (B)"
    row(lab, "ops", "", pm, pc, "requests/s")
    row(lab, "cpu", "ns", pm, pc, "server CPU per request")
    row(lab, "proxy_cpu", "ns", pm, pc, "nutcracker CPU per request")
    row(lab, "p99", "us", pm, pc, "p99 latency")
    lab = "2 memg, keys split in the client (A) vs memcached -t 2 direct (B)"
    row(lab, "ops", "", cm, cc, "requests/s")
    row(lab, "cpu", "ns", cm, cc, "server CPU per request")
    row(lab, "p99", "us", cm, cc, "p99 latency")
    lab = "1 memg through nutcracker (A) vs direct (B)"
    row(lab, "ops", "", tp, td, "requests/s")
    row(lab, "cpu", "ns", tp, td, "memg CPU per request")
    a = med(*tp, "proxy_cpu")
    rows.append("| | nutcracker CPU per request | %s | — | | |" % fmt(a, "ns"))
    c = med(*tp, "cpu")
    d = med(*td, "cpu")
    if a is not None and c is not None and d:
        rows.append("| | memg + nutcracker CPU per request | %s | %s | %.2fx | |"
                    % (fmt(a + c, "ns"), fmt(d, "ns"), (a + c) / d))
    row(lab, "p50", "us", tp, td, "p50 latency")
    row(lab, "p99", "us", tp, td, "p99 latency")
    return "\n".join(head + rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--memg", default=os.path.join(compare.ROOT, "build/memg"))
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("--nutcracker", default=shutil.which("nutcracker") or "/usr/sbin/nutcracker")
    ap.add_argument("--tool", default=os.path.join(compare.ROOT, "build/memg-bench"))
    ap.add_argument("--quick", action="store_true", help="1 round of 2 s runs")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=float)
    ap.add_argument("--out", default=os.path.join(compare.HERE, "results"))
    o = ap.parse_args()
    o.rounds = o.rounds or (1 if o.quick else 3)
    o.duration = o.duration or (2.0 if o.quick else 5.0)
    for b in (o.memg, o.memcached, o.tool, o.nutcracker):
        if not os.access(b, os.X_OK):
            sys.exit("scaling: %s is not executable (build it, or apt-get install memcached "
                     "nutcracker)" % b)
    run = Runner(o)
    load0 = compare.busy_cpus()
    t0 = time.time()
    rounds = []
    for i in range(o.rounds):
        res = {}
        # alternate which server of a pair goes first
        order = SETUPS if i % 2 == 0 else [SETUPS[j ^ 1] for j in range(len(SETUPS))]
        for key, name in order:
            log("scaling round %d/%d: %s %s" % (i + 1, o.rounds, key, name))
            res[(key, name)] = run.setup(key, name)
        rounds.append(res)
    load1 = compare.busy_cpus()
    md = "\n".join([
        "# Scaling: several instances, nutcracker, ketama — %s run" % ("quick" if o.quick else "full"),
        "",
        "- date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "- machine: %s (generators, proxy and servers share these cores)" % compare.machine(),
        "- commit: %s" % compare.commit(),
        "- memg `%s` (%s), memcached `%s` (%s), nutcracker `%s`" % (
            o.memg, compare.version(o.memg), o.memcached, compare.version(o.memcached),
            o.nutcracker),
        "- workload A: %d connections in all, set:get 1:10, 32 B values, 100k keys set first; "
        "%g s per run; %d round(s), medians; servers `-m 1024`, memg `-t 1` each, "
        "memcached `-t 2`; nutcracker: ketama (md5), 2 connections per server" % (
            CONNS, o.duration, o.rounds),
        "- other load on the machine: %.2f CPUs busy before, %.2f after%s" % (
            load0, load1, " — **noisy**" if max(load0, load1) > 0.15 else " (quiet)"),
        "- reply validation errors: memg %d, memcached %d" % (
            run.errors["memg"], run.errors["memcached"]),
        "- wall time %.0f s" % (time.time() - t0),
        "",
        table(rounds),
        "",
    ] + (["## Anomalies", ""] + ["- " + a for a in run.anomalies] + [""] if run.anomalies else [])
        + ["How to read this: bench/README.md, \"Scaling rows\".", ""])
    os.makedirs(o.out, exist_ok=True)
    path = os.path.join(o.out, "scaling.md")
    with open(path, "w") as f:
        f.write(md)
    print(md)
    log("scaling: wrote %s" % path)


if __name__ == "__main__":
    main()
