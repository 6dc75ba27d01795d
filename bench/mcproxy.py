#!/usr/bin/python3
"""memcached 1.6.45's own proxy (routelib, route_direct over one pool) in
front of three servers, side by side in one run, as ratios:

  mcproxy:  3 memg behind the proxy  vs  3 memcached -t 1 (1.6.45) behind it
  proxies:  3 memg behind the proxy  vs  the same behind nutcracker

Workload A of bench/scaling.py (50 connections, set:get 1:10, 32-byte
values, 100k keys set first); server CPU per request is every instance's
utime+stime over the requests counted, the proxy's apart. The proxy and
nutcracker each run one worker thread. Loopback only; every process is
stopped, every step has a time limit.

    bench/mcproxy.py --memg build/memg --tool build/memg-bench --memcached build/ref/memcached-1.6.45/memcached
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
import compare  # noqa: E402
import scaling  # noqa: E402

HOST = compare.HOST
LUA = """pools { bench = { backends = { %s } } }
routes { default = route_direct { child = "bench" } }
"""


class McProxy:
    """memcached -o proxy_config=routelib with one pool over `ports`."""

    def __init__(self, binary, ports, logdir):
        self.port = compare.free_port()
        d = tempfile.mkdtemp(prefix="memg-mcproxy-")
        os.chmod(d, 0o755)  # read after memcached drops root
        conf = os.path.join(d, "proxy.lua")
        with open(conf, "w") as f:
            f.write(LUA % ", ".join('"%s:%d"' % (HOST, p) for p in ports))
        os.chmod(conf, 0o644)
        self.logf = open(os.path.join(logdir, "mcproxy-%d.log" % self.port), "w")
        argv = [binary, "-l", HOST, "-p", str(self.port), "-U", "0", "-t", "1", "-c", "4096",
                "-o", "proxy_config=routelib,proxy_arg=" + conf]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.bin = False
        self.ready = compare.Server._wait_ready(self)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.logf.close()


SETUPS = [("mcproxy", "memg"), ("mcproxy", "memcached"), ("nutcracker", "memg")]


def setup(run, o, what, name):
    srvs, ok = run.servers(name, 3, 1)
    px = None
    try:
        if not ok:
            return {}
        ports = [s.port for s in srvs]
        px = McProxy(o.memcached, ports, run.logdir) if what == "mcproxy" else \
            scaling.Nutcracker(o.nutcracker, ports, run.logdir)
        if not px.ready:
            run.note(what, "proxy did not start")
            return {}
        if not run.prefill(px.port, what):
            return {}
        return run.measure(what, name, [(px.port, scaling.CONNS)], [s.pid for s in srvs], px.pid)
    finally:
        if px:
            px.stop()
        for s in srvs:
            d = s.died()
            if d:
                run.note(what, "%s died (%s): %s" % (name, d, s.log_tail()))
            s.stop()


def table(rounds):
    def med(k, metric):
        v = [r[k][metric] for r in rounds if r.get(k, {}).get(metric) is not None]
        return statistics.median(v) if v else None

    def spread(a, b, metric):
        rs = [r[a][metric] / r[b][metric] for r in rounds
              if r.get(a, {}).get(metric) and r.get(b, {}).get(metric)]
        return "%.2f-%.2f" % (min(rs), max(rs)) if len(rs) > 1 else ""

    out = ["| setup | metric | A | B | A/B | A/B per round |", "|---|---|---:|---:|---:|---|"]

    def row(label, a, b, metric, unit, text):
        va, vb = med(a, metric), med(b, metric)
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            label, text, scaling.fmt(va, unit), scaling.fmt(vb, unit),
            "%.2fx" % (va / vb) if va is not None and vb else "n/a", spread(a, b, metric)))

    pm, pc, nm = SETUPS
    lab = "3 memg behind the 1.6.45 proxy (A) vs 3 memcached -t 1 behind it (B)"
    row(lab, pm, pc, "ops", "", "requests/s")
    row("", pm, pc, "cpu", "ns", "server CPU per request")
    row("", pm, pc, "proxy_cpu", "ns", "proxy CPU per request")
    row("", pm, pc, "p99", "us", "p99 latency")
    lab = "3 memg behind the 1.6.45 proxy (A) vs behind nutcracker (B)"
    row(lab, pm, nm, "ops", "", "requests/s")
    row("", pm, nm, "cpu", "ns", "memg CPU per request")
    row("", pm, nm, "proxy_cpu", "ns", "proxy CPU per request")
    row("", pm, nm, "p50", "us", "p50 latency")
    row("", pm, nm, "p99", "us", "p99 latency")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--memg", default=os.path.join(compare.ROOT, "build/memg"))
    ap.add_argument("--memcached",
                    default=os.path.join(compare.ROOT, "build/ref/memcached-1.6.45/memcached"))
    ap.add_argument("--nutcracker", default=shutil.which("nutcracker") or "/usr/sbin/nutcracker")
    ap.add_argument("--tool", default=os.path.join(compare.ROOT, "build/memg-bench"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--out", default=os.path.join(compare.HERE, "results"))
    o = ap.parse_args()
    for b in (o.memg, o.memcached, o.tool, o.nutcracker):
        if not os.access(b, os.X_OK):
            sys.exit("mcproxy: %s is not executable (make ref builds memcached 1.6.45)" % b)
    run = scaling.Runner(o)
    load0, t0, rounds = compare.busy_cpus(), time.time(), []
    for i in range(o.rounds):
        order = SETUPS if i % 2 == 0 else list(reversed(SETUPS))  # alternate who goes first
        res = {}
        for what, name in order:
            scaling.log("mcproxy round %d/%d: %s %s" % (i + 1, o.rounds, what, name))
            res[(what, name)] = setup(run, o, what, name)
        rounds.append(res)
    load1 = compare.busy_cpus()
    md = "\n".join([
        "# memcached 1.6.45's proxy in front of memg — %d round(s)" % o.rounds, "",
        "- date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "- machine: %s (generator, proxy and servers share these cores)" % compare.machine(),
        "- commit: %s" % compare.commit(),
        "- memg `%s`, memcached `%s` (%s), nutcracker `%s`" % (
            o.memg, o.memcached, compare.version(o.memcached), o.nutcracker),
        "- workload A: %d connections, set:get 1:10, 32 B values, 100k keys set first; %g s "
        "per run, medians; servers `-t 1 -m 1024`; the proxy `-t 1`, routelib route_direct; "
        "nutcracker ketama, 2 connections per server" % (scaling.CONNS, o.duration),
        "- other load on the machine: %.2f CPUs busy before, %.2f after%s" % (
            load0, load1, " — **noisy**" if max(load0, load1) > 0.15 else " (quiet)"),
        "- reply validation errors: memg %d, memcached %d" % (
            run.errors["memg"], run.errors["memcached"]),
        "- wall time %.0f s" % (time.time() - t0), "",
        table(rounds), "",
    ] + (["## Anomalies", ""] + ["- " + a for a in run.anomalies] + [""] if run.anomalies else []))
    os.makedirs(o.out, exist_ok=True)
    path = os.path.join(o.out, "mcproxy.md")
    with open(path, "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
