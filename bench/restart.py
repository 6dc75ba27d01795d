#!/usr/bin/python3
"""Warm restart (-e): memg against memcached -e on the same data, in one run.

    bench/restart.py --memg build/memg --tool build/glibc/memg-bench [--quick]

For 1M and 10M items (14-byte keys, 32-byte values, the generator's load):
fill a server started with -e FILE (on /dev/shm), read its RSS, stop it with
SIGUSR1 (both servers' graceful stop that saves), start it again with the
same flags and time it from the exec to the first answered `version`, check
that the items are there (curr_items, and a sample read back), read the RSS
again (1.1 s after the stop: memcached 1.6.18 refuses its metadata in the
second it was written). Each restart is repeated (SIGUSR1 and start again) and the median
taken. Targets (issue 16): memg's time <= 0.5x memcached's, memg's RSS after
the restart no higher than before the save.

Then workloads A and B of bench/compare.py with memg -e against memg
without it (compare.py's two servers: a wrapper that adds -e, and memg):
the write path with -e must stay within 5% of the default's requests/s.

Writes bench/results/restart.md. Loopback only; every step has a time limit;
the memory files are removed at the end.
"""
import argparse
import os
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
sys.path.insert(0, HERE)
from compare import free_port, rss_kb  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ask(port, cmd, timeout=10):
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(cmd)
        out = b""
        while not out.endswith(b"END\r\n") and not out.startswith(b"VERSION"):
            d = s.recv(1 << 16)
            if not d:
                break
            out += d
        return out


def stat(port, name):
    for line in ask(port, b"stats\r\n").split(b"\r\n"):
        p = line.split()
        if len(p) == 3 and p[1] == name.encode():
            return int(p[2])
    return None


class Restartable:
    """One server kind with -e PATH: start (timed to its first answer),
    SIGUSR1, start again."""

    def __init__(self, name, binary, path, mem, logdir):
        self.name, self.binary, self.path, self.mem = name, binary, path, mem
        self.logdir = logdir
        self.proc = None

    def start(self, limit=300.0):
        """Seconds from the exec to the first answered `version`."""
        self.port = free_port()
        argv = [self.binary, "-p", str(self.port), "-l", HOST, "-U", "0", "-t", "1",
                "-m", str(self.mem), "-c", "4096", "-e", self.path]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        logf = open(os.path.join(self.logdir, "%s.log" % self.name), "a")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        while time.monotonic() - t0 < limit:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited %s at start" % (self.name, self.proc.returncode))
            try:
                if ask(self.port, b"version\r\n", timeout=1).startswith(b"VERSION "):
                    return time.monotonic() - t0
            except OSError:
                time.sleep(0.001)
        raise RuntimeError("%s did not answer in %.0f s" % (self.name, limit))

    def save(self, limit=300.0):
        """SIGUSR1; seconds until it exited (0 required)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGUSR1)
        rc = self.proc.wait(limit)
        if rc != 0:
            raise RuntimeError("%s exited %s after SIGUSR1" % (self.name, rc))
        return time.monotonic() - t0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


def fill(tool, port, n):
    cmd = [tool, "-s", HOST, "-p", str(port), "-c", "50", "-d", "16", "-k", str(n),
           "--key-size", "14", "-v", "32", "-t", "0", "--prefill", "-q"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if "RESULT" not in p.stdout or " errors=0" not in p.stdout:
        raise RuntimeError("prefill: %s %s" % (p.stdout[-300:], p.stderr[-300:]))


def sample_ok(port, n):
    """A sample of the generator's keys reads back after the restart."""
    keys = [b"k%013d" % (i * 7919 % n) for i in range(200)]
    reply = ask(port, b"get " + b" ".join(keys) + b"\r\n")
    return reply.count(b"VALUE ") == len(keys)


def restart_row(o, name, binary, n, mem, tmpdir, repeats):
    path = os.path.join(tmpdir, name)
    srv = Restartable(name, binary, path, mem, tmpdir)
    try:
        srv.start()
        fill(o.tool, srv.port, n)
        time.sleep(0.5)
        items = stat(srv.port, "curr_items")
        rss_before = rss_kb(srv.proc.pid)
        times, saves, rss_after, restored = [], [], [], []
        for _ in range(repeats):
            saves.append(srv.save())
            time.sleep(1.1)  # memcached 1.6.18 refuses a restore in the second it stopped
            times.append(srv.start())
            rss_after.append(rss_kb(srv.proc.pid))
            restored.append(stat(srv.port, "curr_items"))
            if not sample_ok(srv.port, n):
                with open(os.path.join(tmpdir, "%s.log" % name)) as f:
                    raise RuntimeError("%s: items missing after the restart: %s"
                                       % (name, f.read()[-600:]))
        log("  %s %d items: start %s s, save %s s, RSS %s -> %s kB, curr_items %s -> %s"
            % (name, n, ["%.3f" % t for t in times], ["%.2f" % t for t in saves], rss_before,
               rss_after, items, restored))
        return {"time": statistics.median(times), "save": statistics.median(saves),
                "rss_before": rss_before / 1024, "rss_after": max(rss_after) / 1024,
                "items": items, "restored": min(restored)}
    finally:
        srv.stop()
        for p in (path, path + ".meta"):
            if os.path.exists(p):
                os.unlink(p)


WRAPPER = """#!/bin/sh
# memg with -e: bench/restart.py's stand-in for the reference server of compare.py
exec "%s" "$@" -e "%s/ab.$$"
"""


def ab_rows(o, tmpdir):
    """compare.py --only AB: memg -e (in memg's place) against memg (in memcached's)."""
    wrap = os.path.join(tmpdir, "memg-e.sh")
    with open(wrap, "w") as f:
        f.write(WRAPPER % (os.path.abspath(o.memg), tmpdir))
    os.chmod(wrap, 0o755)
    out = os.path.join(tmpdir, "ab")
    cmd = [sys.executable, os.path.join(HERE, "compare.py"), "--memg", wrap,
           "--memcached", os.path.abspath(o.memg), "--memcached145", "none", "--tool", o.tool, "--only", "AB",
           "--out", out] + (["--quick"] if o.quick else [])
    env = dict(os.environ)
    env.pop("MEMG_BIN", None)
    env.pop("MEMCACHED_BIN", None)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, env=env)
    if p.returncode != 0:
        log(p.stderr[-2000:])
        raise RuntimeError("compare.py failed")
    notes, table = [], []
    for ln in p.stdout.splitlines():  # its A and B rows, the table head, the load
        if ln.startswith(("- rounds", "- other load", "- reply validation")):
            notes.append(ln)
        elif ln.startswith(("| A |", "| B |", "| Workload", "|---")) and "memg-floor" not in ln:
            table.append(_ab_columns(ln))
    return "\n".join(notes + [""] + table)


def _ab_columns(line):
    """compare.py's columns renamed for -e against default; its targets are
    memg's against memcached, so they are left out here."""
    cells = line.strip().strip("|").split("|")
    if len(cells) < 8:
        return line
    if cells[0].strip() == "Workload":
        cells[2:5] = [" memg -e ", " memg ", " -e / default "]
    cells = cells[:5] + cells[7:8]  # drop Target and Met
    return "|" + "|".join(cells) + "|"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--memg", default=os.path.join(ROOT, "build/memg"))
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("--tool", default=os.path.join(ROOT, "build/memg-bench"))
    ap.add_argument("--quick", action="store_true", help="1M items only, one restart each")
    ap.add_argument("--no-ab", action="store_true", help="skip the A/B rows")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "restart.md"))
    o = ap.parse_args()
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    tmpdir = tempfile.mkdtemp(prefix="memg-restart-bench-", dir=base)
    os.chmod(tmpdir, 0o777)  # -u nobody writes FILE.meta there (both servers)
    sizes = [(1000000, 256)] if o.quick else [(1000000, 256), (10000000, 2048)]
    repeats = 1 if o.quick else 5
    lines = ["# Warm restart (-e): memg vs %s" % (
        subprocess.run([o.memcached, "-V"], capture_output=True, text=True).stdout.strip()),
        "",
        "One run, %s; 14-byte keys, 32-byte values (memg-bench --prefill), memory file on %s."
        % (time.strftime("%Y-%m-%d"), base or tempfile.gettempdir()),
        "Start to serving: from the exec to the first answered `version`, median of %d "
        "restarts (SIGUSR1, start again). RSS: VmRSS before the first save, and the "
        "highest right after a restart." % repeats, "",
        "| items | -m | memg start (s) | memcached start (s) | memg / memcached | "
        "memg RSS before / after (MB) | memcached RSS before / after (MB) | "
        "memg save (s) | memcached save (s) |",
        "|---|---|---|---|---|---|---|---|---|"]
    try:
        for n, mem in sizes:
            r = {}
            for name, binary in (("memg", o.memg), ("memcached", o.memcached)):
                log("restart: %s, %d items" % (name, n))
                r[name] = restart_row(o, name, binary, n, mem, tmpdir, repeats)
            g, c = r["memg"], r["memcached"]
            lines.append("| %dM | %d | %.3f | %.3f | %.2fx | %.0f / %.0f | %.0f / %.0f | %.2f | %.2f |"
                         % (n // 1000000, mem, g["time"], c["time"], g["time"] / c["time"],
                            g["rss_before"], g["rss_after"], c["rss_before"], c["rss_after"],
                            g["save"], c["save"]))
            for name in r:
                if r[name]["restored"] != r[name]["items"]:
                    lines.append("")
                    lines.append("%s: %s items before the save, %s after the restart"
                                 % (name, r[name]["items"], r[name]["restored"]))
        if not o.no_ab:
            log("A and B: memg -e against memg")
            text = ab_rows(o, tmpdir)
            lines += ["", "## The write path with -e (bench A and B)", "",
                      "bench/compare.py --only AB, run with memg -e FILE (on %s) in place of memg "
                      "and memg without -e in place of memcached; the ratios are -e / default "
                      "(target: requests/s within 5%%)." % (base or tempfile.gettempdir()), "",
                      text]
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    print(text)
    with open(o.out, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
