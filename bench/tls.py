#!/usr/bin/python3
"""memg over TLS against memcached -Z -t 1: the same certificate (ECDSA
P-256, made here), the same cipher suite (TLS_AES_128_GCM_SHA256, asked by
the client), the same generator (memg-bench --tls, built with TLS=1).
Rows (--rows chooses), each run in alternating rounds (memg first in odd rounds, memcached
first in even ones), medians over the rounds:

  A-tls   50 connections, one request in flight each, 1:10 set:get, 32 B values
  B-tls   the same, 16 pipelined requests in flight per connection
  A, B    memg without TLS (the same binary): what TLS costs it
  hs      new handshakes per second (4 openssl s_time -new at once) and server CPU each
  big     a 300 KB set with a get pipelined behind it, answered or not

    bench/tls.py --memg build/tls/memg --tool build/tls/memg-bench [--rounds 3] [--duration 5]

Writes bench/results/tls.md. Loopback only; every step has a time limit.
"""
import argparse
import os
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

from compare import free_port, log

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"
SUITE = "TLS_AES_128_GCM_SHA256"
MEMCACHED = os.environ.get("MEMCACHED_BIN", "/usr/bin/memcached")
BASE = ["-r", "1:10", "-v", "32", "-k", "100000", "--prefill"]
ROWS = {"A": ["-c", "50", "-d", "1"] + BASE, "B": ["-c", "50", "-d", "16"] + BASE}


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, kind, binary, certs, tls):
        self.port = free_port()
        root = ["-u", "root"] if os.geteuid() == 0 else []
        flags = ["-p", str(self.port), "-l", HOST, "-c", "1024", "-m", "1024"] + root
        if tls:
            flags += ["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" % certs]
        argv = [binary] + flags + (["-U", "0", "-t", "1"] if kind == "memcached" else [])
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("%s did not start" % " ".join(argv))

    def stop(self):
        self.proc.kill()
        self.proc.wait(5)


def run_load(tool, srv, args, tls, duration):
    argv = [tool, "-p", str(srv.port), "-t", str(duration), "-w", "1", "-q",
            "--server-pid", str(srv.proc.pid)] + args + (["--tls-suite", SUITE] if tls else [])
    r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    m = dict(kv.split("=", 1) for kv in r.stdout.split("RESULT", 1)[-1].split() if "=" in kv)
    if r.returncode != 0 or m.get("errors") != "0":
        log("  load failed: %s" % (r.stdout + r.stderr)[-300:])
        return None
    return {"rps": float(m["rps"]), "cpu": float(m["srv_ns_per_op"]), "p99": float(m["p99_us"])}


def run_handshakes(srv, duration, clients=4):
    """openssl s_time: new sessions back to back, from `clients` processes at
    once (one alone waits on its own handshake work between connections)."""
    cpu0 = proc_cpu(srv.proc.pid)
    argv = ["openssl", "s_time", "-connect", "%s:%d" % (HOST, srv.port), "-new",
            "-time", str(max(1, int(duration))), "-ciphersuites", SUITE]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(clients)]
    n = secs = 0
    for p in procs:
        out = p.communicate(timeout=duration + 30)[0]
        m = re.search(r"(\d+) connections in ([\d.]+) real seconds", out)
        if not m:
            log("  s_time failed: %s" % out[-300:])
            return None
        n, secs = n + int(m.group(1)), max(secs, float(m.group(2)))
    cpu = proc_cpu(srv.proc.pid) - cpu0
    if n == 0:
        return None
    return {"rps": n / secs, "cpu": cpu * 1e9 / n}


def pipelined_big(srv, size=300 * 1024, wait=3.0):
    """A set of size bytes and a get in one write: seconds to the get's
    answer, or None when it never comes (memcached 1.6.18)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    s = ctx.wrap_socket(socket.create_connection((HOST, srv.port), timeout=wait))
    value = b"v" * size
    want = b"STORED\r\nVALUE big 0 %d\r\n%s\r\nEND\r\n" % (size, value)
    t0, got = time.monotonic(), b""
    try:
        s.sendall(b"set big 0 0 %d\r\n%s\r\nget big\r\n" % (size, value))
        while len(got) < len(want):
            d = s.recv(1 << 20)
            if not d:
                break
            got += d
    except (socket.timeout, ssl.SSLError, OSError):
        pass
    finally:
        s.close()
    return time.monotonic() - t0 if got == want else None


def make_certs(d):
    crt, key = os.path.join(d, "bench.crt"), os.path.join(d, "bench.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True,
                   timeout=30)
    return crt, key


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--memg", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "tls.md"))
    ap.add_argument("--rows", default="A-tls,B-tls,hs,A,B",
                    help="which rows run (a short check: --rows A-tls); the others read n/a")
    o = ap.parse_args()
    rows = o.rows.split(",")
    d = tempfile.mkdtemp(prefix="memg-tls-bench-")
    certs = make_certs(d)
    res = {}  # (row, server) -> [metrics per round]

    def one(row, kind, tls):
        srv = Server(kind, o.memg if kind == "memg" else MEMCACHED, certs, tls)
        try:
            if row == "hs":
                m = run_handshakes(srv, o.duration)
            else:
                m = run_load(o.tool, srv, ROWS[row[0]], tls, o.duration)
        finally:
            srv.stop()
        res.setdefault((row, kind), []).append(m)
        log("  %-6s %-9s %s" % (row, kind, m))

    for rnd in range(o.rounds):
        log("round %d" % (rnd + 1))
        order = ["memg", "memcached"] if rnd % 2 == 0 else ["memcached", "memg"]
        for row in ("A-tls", "B-tls", "hs"):
            for kind in order if row in rows else []:
                one(row, kind, True)
        for row in ("A", "B"):  # memg without TLS, between the TLS runs' rounds
            if row in rows:
                one(row, "memg", False)

    big = {}
    for kind in ("memg", "memcached"):
        srv = Server(kind, o.memg if kind == "memg" else MEMCACHED, certs, True)
        try:
            big[kind] = pipelined_big(srv)
        finally:
            srv.stop()

    def get(row, kind, key):
        return med([m[key] for m in res.get((row, kind), []) if m])

    version = subprocess.run([MEMCACHED, "-V"], capture_output=True, text=True).stdout.strip()
    lines = ["# memg over TLS vs memcached -Z -t 1 (%s)" % (version or MEMCACHED), "",
             "%d rounds of %g s, alternating; medians. Cipher suite %s, ECDSA P-256 "
             "certificate, both servers. Client: memg-bench --tls (one process). "
             "Machine: %d CPUs, shared (load average %.1f at the end): figures vary between "
             "runs, the ratios less." % (o.rounds, o.duration, SUITE, os.cpu_count(),
                                          os.getloadavg()[0]), "",
             "| row | memg | memcached -Z | memg / memcached |", "|---|---|---|---|"]

    def ratio(a, b):
        return "%.2fx" % (a / b) if a and b else "n/a"
    for row, label in (("A-tls", "A over TLS"), ("B-tls", "B over TLS (16 pipelined)")):
        a, b = get(row, "memg", "rps"), get(row, "memcached", "rps")
        lines.append("| %s: requests/s | %.0f | %.0f | %s |" % (label, a or 0, b or 0, ratio(a, b)))
        a, b = get(row, "memg", "cpu"), get(row, "memcached", "cpu")
        lines.append("| %s: server CPU ns/request | %.0f | %.0f | %s |"
                     % (label, a or 0, b or 0, ratio(a, b)))
    a, b = get("hs", "memg", "rps"), get("hs", "memcached", "rps")
    lines.append("| new handshakes/s (4 openssl s_time -new at once) | %.0f | %.0f | %s |"
                 % (a or 0, b or 0, ratio(a, b)))
    a, b = get("hs", "memg", "cpu"), get("hs", "memcached", "cpu")
    lines.append("| server CPU ns/handshake | %.0f | %.0f | %s |" % (a or 0, b or 0, ratio(a, b)))
    shown = {k: ("answered in %.3f s" % v if v is not None else "no answer in 3 s")
             for k, v in big.items()}
    lines.append("| 300 KB set + pipelined get | %s | %s | |" % (shown["memg"], shown["memcached"]))
    lines += ["", "What TLS costs memg (the same binary with and without -Z):", "",
              "| row | plain | TLS | TLS / plain |", "|---|---|---|---|"]
    for row in ("A", "B"):
        for key, what in (("rps", "requests/s"), ("cpu", "server CPU ns/request")):
            a, b = get(row + "-tls", "memg", key), get(row, "memg", key)
            lines.append("| %s: %s | %.0f | %.0f | %s |" % (row, what, b or 0, a or 0, ratio(a, b)))
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(o.out), exist_ok=True)
    with open(o.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
