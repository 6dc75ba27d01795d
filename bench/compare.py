#!/usr/bin/python3
"""memg vs memcached 1.6.45 and 1.6.18: run every workload against each server, alternating,
take medians over the rounds, print one table and write
bench/results/latest.md and bench/results/latest.png.

    bench/compare.py --memg build/memg --tool build/memg-bench [--quick]

MEMG_BIN overrides --memg (point it at a second memcached to test the driver);
MEMCACHED_BIN overrides the 1.6.18 reference (/usr/bin/memcached), MEMCACHED145_BIN
the 1.6.45 one (build/ref, `make ref`); 1.6.45 also runs with -t 4 on T4_WORKLOADS.
A-bin and B-bin (--only letters a and b) are A and B in the binary protocol:
both servers get -B binary (--memg-binary-args changes memg's), the generator
--binary.
--floor runs bench/floor.c's do-nothing server through A, B, E and L too: its E / A
is the most any server reaches on this machine (bench/README.md), and its CPU
per request in L (values received into and sent from their items) the least.
Loopback only; every step has a time limit.
"""
import argparse
import datetime
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HOST = "127.0.0.1"
# memcached 1.6.45, the current reference, as tests/ref/memcached-1.6.45.sh builds it (make ref)
MC145_DEFAULT = os.path.join(ROOT, "build/ref/memcached-1.6.45/memcached")
# The binary protocol's VERSION request: magic 0x80, opcode 0x0b, no body.
BIN_VERSION = bytes([0x80, 0x0B]) + bytes(22)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def uss_kb(pid):
    """Memory only this process holds (private pages): RSS less the shared C
    library pages every process on the machine maps anyway."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        return None
    return total


class Server:
    """One server process on a free loopback port, with its stderr kept."""

    def __init__(self, name, binary, logdir, mem=1024, conns=1024, default_flags=False,
                 proto_args=None, threads=1, wrap=None, ready_limit=5.0, as_user=True):
        """proto_args: the flags that make the server speak the binary
        protocol (e.g. -B binary); None: the text protocol, default flags.
        threads: -t (bench/scaling.py runs memcached -t 2).
        wrap: a command the server runs under (bench/profile.py: valgrind);
        as_user=False: no -u nobody (the wrap drops root itself)."""
        self.name, self.binary = name, binary
        self.bin = proto_args is not None
        self.port = free_port()
        args = [binary, "-p", str(self.port), "-l", HOST, "-U", "0"]
        if not default_flags:
            args += ["-t", str(threads), "-m", str(mem), "-c", str(conns)]
        args += proto_args or []
        if os.geteuid() == 0 and as_user:
            args += ["-u", "nobody"]
        self.args = args
        self.logpath = os.path.join(logdir, f"{name}-{self.port}.log")
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen((wrap or []) + args, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.ready = self._wait_ready(ready_limit)

    def _wait_ready(self, limit=5.0):
        end = time.time() + limit
        while time.time() < end:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as s:
                    if self.bin:  # a reply of magic 0x81, opcode VERSION, status 0
                        s.sendall(BIN_VERSION)
                        if s.recv(100)[:8].startswith(b"\x81\x0b\x00\x00\x00\x00\x00\x00"):
                            return True
                    else:
                        s.sendall(b"version\r\n")
                        if s.recv(100).startswith(b"VERSION "):
                            return True
            except OSError:
                time.sleep(0.05)
        return False

    def died(self):
        rc = self.proc.poll()
        if rc is None:
            return None
        return f"signal {-rc}" if rc < 0 else f"exit {rc}"

    def log_tail(self, n=5):
        self.logf.flush()
        try:
            with open(self.logpath, errors="replace") as f:
                return " | ".join(f.read().strip().splitlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def parse_result(out):
    res, first = None, ""
    for line in out.splitlines():
        if line.startswith("RESULT "):
            res = {}
            for kv in line.split()[1:]:
                k, _, v = kv.partition("=")
                try:
                    res[k] = float(v)
                except ValueError:
                    res[k] = v
        elif line.strip().startswith("first error:"):
            first = line.strip()[len("first error:"):].strip()
    return res, first


class Runner:
    def __init__(self, opts):
        self.o = opts
        self.logdir = tempfile.mkdtemp(prefix="memg-bench-")
        self.anomalies = []  # (server, workload, text)
        self.errors = {}     # (server, workload) -> validation errors, summed over rounds

    def note(self, server, wl, text):
        log(f"  !! {server} {wl}: {text}")
        self.anomalies.append((server, wl, text))

    def tool(self, srv, wl, args, limit):
        cmd = [self.o.tool, "-s", HOST, "-p", str(srv.port), "--server-pid", str(srv.pid)] + args
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            self.note(srv.name, wl, f"load generator timed out after {limit:.0f}s (hang?)")
            return None
        res, first = parse_result(p.stdout)
        if res is None:
            self.note(srv.name, wl, f"no result (rc {p.returncode}): {p.stderr.strip()[-300:]}")
            return None
        errs = int(res.get("errors", 0))
        key = (srv.name, wl)
        self.errors[key] = self.errors.get(key, 0) + errs
        if errs or res.get("stalled"):
            kinds = " ".join(f"{k}={int(v)}" for k, v in res.items()
                             if k.startswith("err_") and v)
            self.note(srv.name, wl, f"{errs} error(s) {kinds}; first: {first} "
                      f"{p.stderr.strip()[-300:]}")
        d = srv.died()
        if d:
            self.note(srv.name, wl, f"server died ({d}); log: {srv.log_tail()}")
        return res

    def binary(self, name):
        return {"memg": self.o.memg, "floor": self.o.floor, "mc145": self.o.memcached145,
                "mc145t4": self.o.memcached145}.get(name, self.o.memcached)

    def server(self, name, wl, binproto=False, **kw):
        binary = self.binary(name)
        if name == T4[0]:
            kw["threads"] = 4
        if binproto:
            kw["proto_args"] = (shlex.split(self.o.memg_binary_args) if name == "memg"
                                else ["-B", "binary"])
        s = Server(name, binary, self.logdir, **kw)
        if not s.ready:
            self.note(name, wl, f"server did not start/answer "
                      f"{'binary VERSION' if binproto else 'version'}: {' '.join(s.args)}; "
                      f"log: {s.log_tail()}")
            s.stop()
            return None
        return s

    # ---- workloads: each returns a dict of metrics for one server ----

    def load(self, name, wl, args, conns=1024, binproto=False):
        s = self.server(name, wl, binproto=binproto, conns=conns)
        if not s:
            return {}
        dur, warm = self.o.duration, self.o.warmup
        r = self.tool(s, wl, ["-t", str(dur), "-w", str(warm), "--prefill"] + args
                      + (["--binary"] if binproto else []), limit=dur + warm + 120)
        s.stop()
        if not r:
            return {}
        m = {"ops": r["rps"], "p50": r["p50_us"], "p99": r["p99_us"],
             "p999": r["p999_us"], "cpu": r["srv_ns_per_op"], "kps": r["kps"],
             "mbps": r["in_mbps"], "served": r["served"], "errors": r["errors"]}
        if r.get("misses"):  # every key was set and -m 1024 holds them all
            m["misses"] = r["misses"]
            self.note(name, wl, f"{int(r['misses'])} miss(es) of {int(r['keys'])} keys asked, "
                      "after every key was set (items lost or evicted early)")
        return m

    def mem_items(self, name):
        out = {}
        # each key's own 32-bit flags (the generator's default), then flags 0 as most clients send
        for metric, extra in (("item", []), ("item0", ["--flags", "0"])):
            s = self.server(name, "F-items", mem=1024)
            if not s:
                return {}
            time.sleep(0.2)
            before = rss_kb(s.pid)
            r = self.tool(s, "F-items", ["-c", "16", "-k", "1000000", "--key-size", "14",
                                         "-v", "32", "-t", "0", "--prefill"] + extra, limit=120)
            time.sleep(0.2)
            after = rss_kb(s.pid)
            s.stop()
            if not r or before is None or after is None:
                return {}
            out[metric] = (after - before) * 1024 / 1e6
            out["errors"] = out.get("errors", 0) + r["errors"]
        return out

    def mem_conns(self, name, n=5000):
        s = self.server(name, "F-conns", mem=64, conns=n + 100)
        if not s:
            return {}
        time.sleep(0.2)
        before = rss_kb(s.pid)
        cmd = [self.o.tool, "-s", HOST, "-p", str(s.port), "-c", str(n), "--conn-ops", "1",
               "-r", "0:1", "-k", "1000", "--hold", "60"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, after, end = [], None, time.time() + 60
        while time.time() < end:  # read until HOLDING (or the tool ends)
            line = p.stdout.readline()
            if not line:
                break
            out.append(line)
            if line.startswith("HOLDING"):
                time.sleep(0.5)
                after = rss_kb(s.pid)
                break
        p.kill()
        p.wait()
        res, first = parse_result("".join(out))
        if res and res.get("errors"):
            self.note(name, "F-conns", f"{int(res['errors'])} error(s); first: {first}")
        if after is None or res is None:
            self.note(name, "F-conns", f"no HOLDING from the generator: {''.join(out)[-300:]}")
            s.stop()
            return {}
        d = s.died()
        s.stop()
        if d:
            self.note(name, "F-conns", f"server died ({d})")
        return {"conn": (after - before) * 1024 / n, "served": res["served"]}

    def mem_partial(self, name, n=5000):
        """RSS per connection that sent part of a request and waits: what a
        slow or stalled client costs."""
        s = self.server(name, "F-partial", mem=64, conns=n + 100)
        if not s:
            return {}
        time.sleep(0.2)
        before = rss_kb(s.pid)
        socks = []
        try:
            for i in range(n):
                c = socket.create_connection((HOST, s.port), timeout=5)
                c.sendall(b"get partial_request_%d" % i)  # no end of line yet
                socks.append(c)
            time.sleep(1.0)  # every connection accepted and read
            after = rss_kb(s.pid)
        except OSError as e:
            self.note(name, "F-partial", f"connection {len(socks)}: {e}")
            after = None
        for c in socks:
            c.close()
        d = s.died()
        s.stop()
        if d:
            self.note(name, "F-partial", f"server died ({d})")
        if after is None or before is None:
            return {}
        return {"partial": (after - before) * 1024 / n}

    def mem_start(self, name):
        s = Server(name, self.binary(name), self.logdir, default_flags=True)
        if not s.ready:
            self.note(name, "F-start", f"server did not start: {s.log_tail()}")
            s.stop()
            return {}
        time.sleep(0.5)
        kb, uss = rss_kb(s.pid), uss_kb(s.pid)
        s.stop()
        m = {"start": kb / 1024.0} if kb else {}
        if uss:
            m["uss"] = uss / 1024.0
        if name == "memg" and self.o.glibc_memg:  # the same code linked against glibc
            s = Server(name, self.o.glibc_memg, self.logdir, default_flags=True)
            if s.ready:
                time.sleep(0.5)
                kb = rss_kb(s.pid)
                if kb:
                    m["start_glibc"] = kb / 1024.0
            s.stop()
        return m

    def memcaslap(self, name):
        exe = shutil.which("memcaslap") or shutil.which("memaslap")
        if not exe:
            return {}
        s = self.server(name, "memcaslap")
        if not s:
            return {}
        secs = max(2, int(self.o.duration))
        try:
            p = subprocess.run([exe, "-s", f"{HOST}:{s.port}", "-t", f"{secs}s", "-c", "50",
                                "-T", "1", "-X", "32"], capture_output=True, text=True,
                               timeout=secs + 30)
            out = p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            out = ""
            self.note(name, "memcaslap", "memcaslap timed out")
        d = s.died()
        s.stop()
        if d:
            self.note(name, "memcaslap", f"server died ({d})")
        m = re.search(r"TPS:\s*(\d+)", out)
        if not m:
            self.note(name, "memcaslap", f"no TPS in output: {out.strip()[-200:]}")
            return {}
        return {"tps": float(m.group(1))}


A_ARGS = ["-c", "50", "-d", "1", "-r", "1:10", "-v", "32", "-k", "100000"]
B_ARGS = ["-c", "50", "-d", "16", "-r", "1:10", "-v", "32", "-k", "100000"]
C_ARGS = ["-c", "50", "-d", "1", "-r", "0:1", "-m", "100", "-v", "32", "-k", "100000"]
WORKLOADS = [  # name, generator arguments, server -c, binary protocol
    ("A", A_ARGS, 1024, False),
    # A in the binary protocol: SET and GET, one request in flight.
    ("A-bin", A_ARGS, 1024, True),
    ("B", B_ARGS, 1024, False),
    # B in the binary protocol: batches of 16 (gets as GETQ) closed by a NOOP.
    ("B-bin", B_ARGS, 1024, True),
    # B in meta commands: batches of 16 "mg <key> v q k" closed by "mn", sets as ms.
    ("B-meta", B_ARGS + ["--meta"], 1024, False),
    ("C", C_ARGS, 1024, False),
    ("D", ["-c", "50", "-d", "1", "-r", "1:10", "-v", "102400", "-k", "1000"], 1024, False),
    # Large values, mostly written: 4 KB to 1 MB (each key's own size), 9 sets to 1 get.
    ("L", ["-c", "50", "-d", "1", "-r", "9:1", "-v", "4096-1000000", "-k", "1000"], 1024, False),
    ("E", ["-c", "10000", "-d", "1", "-r", "1:10", "-v", "32", "-k", "100000"], 11000, False),
]
# --only: one letter per workload (M: memcaslap); lowercase a and b are the
# binary A and B, x is B in meta commands. Names separated by commas work too: --only A,A-bin.
ONLY_LETTERS = {"a": "A-bin", "b": "B-bin", "x": "B-meta"}
ALL_NAMES = [w[0] for w in WORKLOADS] + ["F", "M"]


def parse_only(spec):
    if "," in spec or "-" in spec:
        names = {n.strip() for n in spec.split(",") if n.strip()}
    else:
        names = {ONLY_LETTERS.get(ch, ch) for ch in spec}
    bad = sorted(names - set(ALL_NAMES))
    if bad:
        sys.exit(f"compare: --only: unknown workload(s) {', '.join(bad)} "
                 f"(known: {' '.join(ALL_NAMES)}; letters a, b, x = A-bin, B-bin, B-meta)")
    return names


# The do-nothing server (bench/floor.c) runs these: the E / A ceiling, and
# the least CPU per request a server can spend in B and L.
FLOOR_WORKLOADS = ("A", "B", "E", "L")


def med(rounds, name, wl, key):
    vals = [r[name][wl][key] for r in rounds if key in r.get(name, {}).get(wl, {})]
    return statistics.median(vals) if vals else None


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f}M{unit}"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.1f}k{unit}"
    if abs(v) >= 100:
        return f"{v:.0f}{unit}"
    return f"{v:.2f}{unit}"


# The references, in the table's order: memcached 1.6.45 -t 1 (the current
# one, the headline), Debian's 1.6.18 -t 1; 1.6.45 with its default -t 4 runs
# the rows where more threads can matter (T4_WORKLOADS).
REFS = [("mc145", "1.6.45"), ("memcached", "1.6.18")]
T4 = ("mc145t4", "1.6.45 -t 4")
T4_WORKLOADS = ["B", "C", "E", "L"]


def build_rows(rounds):
    """(workload, metric, memg, {ref: value}, {ref: ratio}, target text, met?,
    spread, floor, 1.6.45 -t 4): the target is read against the reference it names."""
    rows = []

    def g(n, wl, k):
        return med(rounds, n, wl, k)

    def spread(wl, key, ref):
        rs = []
        for rd in rounds:
            a, b = rd["memg"].get(wl, {}).get(key), rd.get(ref, {}).get(wl, {}).get(key)
            if a is not None and b:
                rs.append(a / b)
        return f"{min(rs):.2f}-{max(rs):.2f}" if len(rs) > 1 else ""

    def values(wl, key, unit):
        """memg's value, each reference's, formatted, and memg / each."""
        a = g("memg", wl, key)
        vals = {r: g(r, wl, key) for r, _ in REFS}
        return (a, vals, {r: fmt(v, unit) if v is not None else None for r, v in vals.items()},
                {r: a / v if a is not None and v else None for r, v in vals.items()})

    def ratio_row(wl, metric, key, target=None, op=None, unit="", ref="memcached"):
        a, vals, shown, ratios = values(wl, key, unit)
        ref = ref if ref in ratios else REFS[0][0]
        r = ratios[ref]
        ok = None
        if target is not None and r is not None:
            ok = r >= target if op == ">=" else r <= target
        fl = g("floor", wl, key) if wl in FLOOR_WORKLOADS and key in ("ops", "cpu") else None
        t4 = g(T4[0], wl, key) if wl in T4_WORKLOADS else None
        rows.append((wl, metric, fmt(a, unit), shown, ratios,
                     f"{op} {target:.2f}x {dict(REFS)[ref]}" if target is not None else "", ok,
                     spread(wl, key, ref), fmt(fl, unit) if fl is not None else "",
                     fmt(t4, unit) if t4 is not None else ""))

    def abs_row(wl, metric, key, limit, unit):
        a, vals, shown, ratios = values(wl, key, unit)
        rows.append((wl, metric, fmt(a, unit), shown, ratios, f"<= {limit:g}{unit}",
                     a <= limit if a is not None else None, spread(wl, key, REFS[0][0]), "", ""))

    def same_server_row(wl, base, metric, limit):
        """Each server's CPU per request in wl over base; memg's is the target."""
        q = {}
        for n in ["memg"] + [r for r, _ in REFS]:
            a, b = g(n, wl, "cpu"), g(n, base, "cpu")
            q[n] = a / b if a is not None and b else None
        rows.append((wl, metric, fmt(q["memg"]), {r: fmt(q[r]) for r, _ in REFS},
                     {r: q["memg"] / q[r] if q["memg"] is not None and q[r] else None
                      for r, _ in REFS},
                     f"<= {limit:.2f} (memg)", q["memg"] <= limit if q["memg"] is not None
                     else None, "", "", ""))

    def floor_row(wl, limit):
        """memg's CPU per request over memg-floor's: what is left above the least."""
        a, f = g("memg", wl, "cpu"), g("floor", wl, "cpu")
        q = a / f if a is not None and f else None
        rows.append((wl, "server CPU/request, memg / memg-floor", fmt(q),
                     {r: None for r, _ in REFS}, {r: None for r, _ in REFS},
                     f"<= {limit:.2f} (memg)" if limit else "",
                     q <= limit if q is not None and limit else None, "",
                     fmt(f, "ns") if f is not None else "", ""))

    def floor_reach_row(wl, target, ref):
        """memg-floor's CPU per request over a reference's: a goal of target x
        that reference is within any server's reach only if the floor meets it."""
        f, b = g("floor", wl, "cpu"), g(ref, wl, "cpu")
        q = f / b if f is not None and b else None
        rows.append((wl, f"server CPU/request, memg-floor / {dict(REFS)[ref]} (the least any "
                     "server spends here)", fmt(q), {r: None for r, _ in REFS},
                     {r: None for r, _ in REFS}, f"<= {target:.2f} (floor: goal reachable)",
                     q <= target if q is not None else None, "",
                     fmt(f, "ns") if f is not None else "", ""))

    ratio_row("A", "requests/s (50 conns, 1:10 set:get)", "ops")
    ratio_row("A", "server CPU ns/request", "cpu", 0.9, "<=", "ns")
    ratio_row("A", "p99 latency", "p99", 1.0, "<=", "us")
    ratio_row("A", "p50 latency", "p50", None, None, "us")
    ratio_row("A-bin", "requests/s (binary SET/GET, 50 conns, 1:10)", "ops")
    ratio_row("A-bin", "server CPU ns/request", "cpu", 0.9, "<=", "ns")
    same_server_row("A-bin", "A", "server CPU/request, binary A / text A (same server)", 1.05)
    ratio_row("A-bin", "p99 latency", "p99", None, None, "us")
    ratio_row("B", "requests/s (pipeline 16)", "ops", 2.0, ">=")
    ratio_row("B", "server CPU ns/request", "cpu", 0.75, "<=", "ns", ref="mc145")
    floor_row("B", 1.25)
    ratio_row("B", "p99 latency", "p99", None, None, "us")
    ratio_row("B-bin", "requests/s (binary, batches of 16, GETQ + NOOP)", "ops", 2.0, ">=")
    ratio_row("B-bin", "server CPU ns/request", "cpu", None, None, "ns")
    ratio_row("B-bin", "p99 latency", "p99", None, None, "us")
    ratio_row("B-meta", "requests/s (meta: mg v q k batches of 16 + mn, ms 1:10)", "ops", 2.0,
              ">=")
    ratio_row("B-meta", "server CPU ns/request", "cpu", None, None, "ns")
    same_server_row("B-meta", "B", "server CPU/request, meta B / text B (same server)", 1.10)
    ratio_row("C", "keys/s (get of 100 keys)", "kps", 1.2, ">=")
    ratio_row("C", "server CPU ns/request", "cpu", None, None, "ns")
    ratio_row("D", "requests/s (100 KB values)", "ops", 1.0, ">=")
    ratio_row("D", "MB/s received", "mbps", None, None)
    ratio_row("D", "server CPU ns/request", "cpu", None, None, "ns")
    ratio_row("L", "requests/s (4 KB-1 MB values, 9:1 set:get)", "ops", 1.0, ">=", ref="mc145")
    ratio_row("L", "MB/s sent to the server", "mbps", None, None)
    ratio_row("L", "server CPU ns/request", "cpu", 0.7, "<=", "ns", ref="mc145")
    floor_row("L", None)
    if "mc145" in dict(REFS):
        floor_reach_row("L", 0.7, "mc145")
    ratio_row("E", "requests/s (10,000 conns)", "ops")
    ratio_row("E", "server CPU ns/request", "cpu", None, None, "ns")
    ratio_row("E", "p99 latency", "p99", None, None, "us")
    served = g("memg", "E", "served")
    rows.append(("E", "connections served", fmt(served),
                 {r: fmt(g(r, "E", "served")) for r, _ in REFS},
                 {r: served / g(r, "E", "served") if served is not None and g(r, "E", "served")
                  else None for r, _ in REFS},
                 "= 10000", served == 10000 if served is not None else None, "", "", ""))
    ea = {}
    for n in ["memg", "floor"] + [r for r, _ in REFS]:
        e, a = g(n, "E", "ops"), g(n, "A", "ops")
        ea[n] = e / a if e is not None and a else None
    rows.append(("E", "throughput E / A (same server)", fmt(ea["memg"]),
                 {r: fmt(ea[r]) for r, _ in REFS},
                 {r: ea["memg"] / ea[r] if ea["memg"] is not None and ea[r] else None
                  for r, _ in REFS}, ">= 0.80 (memg)",
                 ea["memg"] >= 0.8 if ea["memg"] is not None else None, "",
                 fmt(ea["floor"]) if ea["floor"] is not None else "", ""))
    abs_row("F", "bytes per item (1M x 14 B key, 32 B value, 32-bit flags)", "item", 70, " B")
    abs_row("F", "bytes per item (1M x 14 B key, 32 B value, flags 0)", "item0", 60, " B")
    abs_row("F", "bytes per idle connection (5,000)", "conn", 300, " B")
    ratio_row("F", "bytes per connection waiting mid-request (5,000)", "partial", None, None, " B")
    abs_row("F", "RSS at start, default flags", "start", 1, " MB")
    ratio_row("F", "private memory at start (USS: RSS less shared pages)", "uss", None, None, " MB")
    glibc = g("memg", "F", "start_glibc")
    if glibc is not None:
        rows.append(("F", "RSS at start, memg linked against glibc (LIBC=glibc)",
                     fmt(glibc, " MB"), {r: None for r, _ in REFS}, {r: None for r, _ in REFS},
                     "", None, "", "", ""))
    ratio_row("memcaslap", "TPS (50 conc, 1 thread, 32 B)", "tps")
    return rows


def table_md(rows):
    floor = any(row[8] for row in rows)
    t4 = any(row[9] for row in rows)
    head = "| Workload | Metric | memg |"
    for _, label in REFS:
        head += f" memcached {label} | memg/{label} |"
    head += (f" memcached {T4[1]} |" if t4 else "") + " Target | Met | ratio per round |"
    out = [head + (" memg-floor |" if floor else ""),
           "|---|---|---:|" + "---:|---:|" * len(REFS) + ("---:|" if t4 else "") + "---|:---:|---|"
           + ("---:|" if floor else "")]
    for wl, metric, a, vals, ratios, target, ok, spr, fl, t4v in rows:
        cells = ""
        for ref, _ in REFS:
            v, r = vals.get(ref), ratios.get(ref)
            cells += f" {v or 'n/a'} | {f'{r:.2f}x' if r is not None else 'n/a'} |"
        mk = "" if ok is None else ("yes" if ok else "**NO**")
        out.append(f"| {wl} | {metric} | {a} |{cells}" + (f" {t4v} |" if t4 else "")
                   + f" {target} | {mk} | {spr} |" + (f" {fl} |" if floor else ""))
    return "\n".join(out)


def chart(rows, rounds, path, logdir):
    if not shutil.which("gnuplot"):
        log("gnuplot not found: no chart (apt-get install gnuplot-nox)")
        return False
    dat = os.path.join(logdir, "ratios.dat")
    with open(dat, "w") as f:
        for wl, metric, a, vals, ratios, target, *_ in rows:
            r1, r2 = (ratios.get(REFS[i][0]) if i < len(REFS) else None for i in (0, 1))
            if r1 is None and r2 is None:
                continue
            label = f"{wl}: {metric.split(' (')[0]}"
            m = re.search(r"([\d.]+)x", target)
            t = m.group(1) if m else "NaN"
            f.write(f"\"{label}\" {r1 if r1 is not None else 'NaN'} "
                    f"{r2 if r2 is not None else 'NaN'} {t}\n")
    ops = os.path.join(logdir, "ops.dat")
    with open(ops, "w") as f:
        for wl, *_ in WORKLOADS:
            v = [med(rounds, n, wl, "ops") or 0 for n in ["memg", "mc145", "memcached"]]
            f.write(f"{wl} " + " ".join(f"{x:.0f}" for x in v) + "\n")
    script = f"""
set terminal pngcairo size 1300,950 font ",10" noenhanced
set output "{path}"
set multiplot layout 2,1 title "memg vs memcached 1.6.45 and 1.6.18 (-t 1), {datetime.date.today()}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set key top right
set title "ratio memg/memcached (bars); target (x); 1.0 = parity. Lower is better for CPU, latency, bytes"
set xtics rotate by -35 scale 0
set rmargin 10
set yrange [0:*]
plot "{dat}" using 2:xtic(1) title "memg/1.6.45" lc rgb "#3b75af", \\
     "" using 3 title "memg/1.6.18" lc rgb "#9ecae1", \\
     "" using 0:4 with points pt 2 ps 2 lw 2 lc rgb "#c03030" title "target", \\
     1 with lines dt 2 lc rgb "black" notitle
set title "requests/s per workload (median, log scale)"
set xtics rotate by 0
set xrange [-0.6:{len(WORKLOADS) - 0.4}]
set yrange [1000:*]
set logscale y
set format y "%.0s%c"
plot "{ops}" using 2:xtic(1) title "memg" lc rgb "#3b75af", \\
     "" using 3 title "memcached 1.6.45" lc rgb "#e08a2c", \\
     "" using 4 title "memcached 1.6.18" lc rgb "#f5c38a"
unset multiplot
"""
    p = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True, timeout=60)
    if p.returncode:
        log("gnuplot: " + p.stderr.strip()[-500:])
    return p.returncode == 0


def busy_cpus(secs=1.0):
    """CPUs' worth of time others spend while we sit idle (0.0 .. ncpu)."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    t0, i0 = sample()
    time.sleep(secs)
    t1, i1 = sample()
    total = t1 - t0
    return (os.cpu_count() or 1) * (1 - (i1 - i0) / total) if total else 0.0


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.node()}, Linux {platform.release()}, {os.cpu_count()} x {cpu}, {mem:.0f} GiB"


def commit():
    try:
        c = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (c or "no commit yet") + (" (+ uncommitted changes)" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def version(binary):
    try:
        p = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=5)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--memg", default=os.path.join(ROOT, "build/memg"))
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("--memcached145", default=MC145_DEFAULT,
                    help="memcached 1.6.45 (make ref builds it); its -t 1 and -t 4 are columns")
    ap.add_argument("--tool", default=os.path.join(ROOT, "build/memg-bench"))
    ap.add_argument("--glibc-memg", help="memg linked against glibc: its RSS at start is a row too")
    ap.add_argument("--floor", help="bench/floor.c's server: runs A, B, E and L (the E / A ceiling, "
                    "the least CPU per request)")
    ap.add_argument("--quick", action="store_true", help="1 round of short runs (~1 minute)")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=float)
    ap.add_argument("--only", default="AaBbxCDLEFM",
                    help="subset of workloads, e.g. AB (M: memcaslap; a, b, x: A-bin, B-bin, B-meta)")
    ap.add_argument("--memg-binary-args", default="-B binary",
                    help="memg's flags for the binary rows ('' for its default, auto)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    o = ap.parse_args()
    o.memg = os.environ.get("MEMG_BIN", o.memg)
    o.memcached = os.environ.get("MEMCACHED_BIN", o.memcached)
    o.memcached145 = os.environ.get("MEMCACHED145_BIN", o.memcached145)
    if o.memcached145 == "none":  # 1.6.18 only (bench/restart.py's A/B: memg against itself)
        REFS[:] = REFS[1:]
        T4_WORKLOADS.clear()
    o.only = parse_only(o.only)
    o.rounds = o.rounds or (1 if o.quick else 3)
    o.duration = o.duration or (2.0 if o.quick else 5.0)
    o.warmup = 0.3 if o.quick else 1.0
    for b in (o.memg, o.memcached, o.tool) + ((o.floor,) if o.floor else ()) \
            + ((o.memcached145,) if len(REFS) > 1 else ()):
        if not os.access(b, os.X_OK):
            sys.exit(f"compare: {b} is not executable (build it, apt-get install memcached, "
                     "or make ref for 1.6.45)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:  # 10,000 connections: the servers and the generator inherit this
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(hard, 20000), max(hard, 20000)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    run = Runner(o)
    load0 = busy_cpus()
    if load0 > 0.15:
        log(f"compare: WARNING: other processes keep {load0:.2f} CPUs busy; "
            "results will be noisy")
    log(f"compare: memg={o.memg} memcached={o.memcached} {o.memcached145} rounds={o.rounds} "
        f"duration={o.duration}s logs={run.logdir}")
    t0 = time.time()
    rounds = []
    for i in range(o.rounds):
        # who goes first turns round by round (memg first, then last, ...)
        names = ["memg"] + [r for r, _ in REFS]
        order = names[i % len(names):] + names[:i % len(names)]
        res = {n: {} for n in order + ["floor", T4[0]]}
        for wl, args, conns, binproto in WORKLOADS:
            if wl not in o.only:
                continue
            for n in order + (["floor"] if o.floor and wl in FLOOR_WORKLOADS else []) \
                    + ([T4[0]] if wl in T4_WORKLOADS else []):
                log(f"round {i + 1}/{o.rounds} {wl} {n}")
                res[n][wl] = run.load(n, wl, args, conns, binproto)
        for n in order:
            if "F" in o.only:
                log(f"round {i + 1}/{o.rounds} F {n}")
                f = run.mem_items(n)
                f.update(run.mem_conns(n))
                f.update(run.mem_partial(n))
                f.update(run.mem_start(n))
                res[n]["F"] = f
            if "M" in o.only:
                log(f"round {i + 1}/{o.rounds} memcaslap {n}")
                res[n]["memcaslap"] = run.memcaslap(n)
        rounds.append(res)
    load1 = busy_cpus()
    rows = build_rows(rounds)
    table = table_md(rows)
    os.makedirs(o.out, exist_ok=True)
    png = os.path.join(o.out, "latest.png")
    have_png = chart(rows, rounds, png, run.logdir)
    errs = {}
    for (srv, wl), n in run.errors.items():
        errs[srv] = errs.get(srv, 0) + n
    lines = [
        f"# memg vs memcached — {'quick' if o.quick else 'full'} run",
        "",
        f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S %Z').strip()}",
        f"- machine: {machine()} (generator and server share these cores)",
        f"- commit: {commit()}",
        f"- memg: `{o.memg}` ({version(o.memg)}); memcached: `{o.memcached145}` "
        f"({version(o.memcached145)}) and `{o.memcached}` ({version(o.memcached)}), all "
        "`-t 1 -U 0 -m 1024 -l 127.0.0.1`; 1.6.45 also with its default `-t 4` on "
        f"{', '.join(T4_WORKLOADS)}; -bin rows: memg `{o.memg_binary_args}`, memcached "
        "`-B binary`, generator `--binary`",
        f"- rounds: {o.rounds} (medians), {o.duration:g} s measured per run after "
        f"{o.warmup:g} s warmup; servers alternate first; fresh server per run; "
        f"wall time {time.time() - t0:.0f} s",
        f"- other load on the machine: {load0:.2f} CPUs busy before, {load1:.2f} after"
        + (" — **noisy: other processes competed for the CPUs**"
           if max(load0, load1) > 0.15 else " (quiet)"),
        "- reply validation errors (all runs): "
        + ", ".join(f"{n} {errs.get(n, 0)}" for n in ["memg"] + [r for r, _ in REFS] + [T4[0]]),
        "",
        table,
        "",
    ]
    if run.anomalies:
        lines += ["## Anomalies", ""]
        lines += [f"- {s} {w}: {t}" for s, w, t in run.anomalies]
        lines.append("")
    if have_png:
        lines += ["![ratios and requests/s](latest.png)", ""]
    lines += ["How to read this: bench/README.md.", ""]
    md = "\n".join(lines)
    with open(os.path.join(o.out, "latest.md"), "w") as f:
        f.write(md)
    print(md)
    log(f"compare: wrote {os.path.join(o.out, 'latest.md')}"
        + (f" and {png}" if have_png else ""))


if __name__ == "__main__":
    main()
