#!/usr/bin/python3
"""`lru_crawler metadump all` on memg and memcached side by side: both get the
same N items, then, alternating over the rounds, one client reads the whole
dump as fast as it can while another sends a get every millisecond. Prints
the dump's time, the gets' latency during it and the server's RSS growth,
medians over the rounds, and memg / memcached ratios.

    bench/metadump.py [--memg build/memg] [--items 740000] [--rounds 3]

Loopback only; every step has a time limit.
"""
import argparse
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import time

HOST = "127.0.0.1"
KEY = b"metadump-bench-key:%07d"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start(argv):
    port = free_port()
    root = ["-u", "root"] if os.geteuid() == 0 else []
    p = subprocess.Popen(argv + ["-p", str(port), "-l", HOST, "-U", "0", "-m", "1024"] + root,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return p, port
        except OSError:
            time.sleep(0.02)
    p.kill()
    sys.exit("%s did not start" % argv[0])


def fill(port, n):
    with socket.create_connection((HOST, port), timeout=60) as s:
        for i in range(0, n, 20000):
            s.sendall(b"".join(b"set " + KEY % j + b" 0 0 1 noreply\r\nx\r\n"
                               for j in range(i, min(n, i + 20000))))
        s.sendall(b"mn\r\n")
        got = b""
        while not got.endswith(b"MN\r\n"):
            got += s.recv(4096)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def prober(port, n, stop, out):
    """A get every millisecond until stop; (when, latency in ms) to out."""
    lat = []
    with socket.create_connection((HOST, port), timeout=10) as g:
        i = 0
        while not stop.is_set():
            t = time.perf_counter()
            g.sendall(b"get " + KEY % (i % n) + b"\r\n")
            r = b""
            while not r.endswith(b"END\r\n"):
                r += g.recv(4096)
            lat.append((time.monotonic(), (time.perf_counter() - t) * 1000))
            i += 7919
            time.sleep(0.001)
    out.put(lat)


def one_dump(proc, port, n):
    """(seconds, lines, latencies in ms of the gets sent during the dump, RSS
    growth in KB). The prober is
    a process of its own: the reader's work would delay it in this one."""
    stop, q = multiprocessing.Event(), multiprocessing.Queue()
    pr = multiprocessing.Process(target=prober, args=(port, n, stop, q))
    pr.start()
    time.sleep(0.2)
    rss0 = rss_kb(proc.pid)
    rss_max = rss0
    lines, tail = 0, b""
    deadline = time.monotonic() + 120
    t, start = time.perf_counter(), time.monotonic()
    with socket.create_connection((HOST, port), timeout=30) as d:
        d.sendall(b"lru_crawler metadump all\r\n")
        while not tail.endswith(b"\nEND\r\n") and time.monotonic() < deadline:
            c = d.recv(1 << 16)
            if not c:
                break
            if not lines and not tail and c.startswith(b"OK\r\n"):
                c = c[4:]  # memcached 1.6.43 on, and memg: OK before the lines
            lines += c.count(b"\n")
            tail = (tail + c)[-16:]
            if lines % 64 == 0:
                rss_max = max(rss_max, rss_kb(proc.pid))
    secs, end = time.perf_counter() - t, time.monotonic()
    stop.set()
    lat = sorted(ms for when, ms in q.get(timeout=10) if start <= when <= end)
    pr.join(10)
    return secs, lines - 1, lat, max(rss_max, rss_kb(proc.pid)) - rss0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--memg", default=os.environ.get("MEMG_BIN", "build/memg"))
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("--items", type=int, default=740000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    servers = {"memg": start([a.memg]), "memcached": start([a.memcached])}
    try:
        for p, port in servers.values():
            fill(port, a.items)
        res = {k: [] for k in servers}
        for _ in range(a.rounds):
            for k, (p, port) in servers.items():
                res[k].append(one_dump(p, port, a.items))
        rows = {}
        for k, runs in res.items():
            med = lambda f: statistics.median(f(r) for r in runs)  # noqa: E731
            rows[k] = (med(lambda r: r[0]), med(lambda r: r[1]),
                       med(lambda r: r[2][len(r[2]) // 2] if r[2] else 0),
                       med(lambda r: r[2][len(r[2]) * 99 // 100] if r[2] else 0),
                       med(lambda r: r[2][-1] if r[2] else 0), med(lambda r: r[3]))
        print("metadump of %d items, %d rounds (medians)" % (a.items, a.rounds))
        print("| | dump s | lines | get p50 ms | get p99 ms | get max ms | RSS growth KB |")
        print("|---|---|---|---|---|---|---|")
        for k, r in rows.items():
            print("| %s | %.2f | %d | %.3f | %.3f | %.2f | %d |" % ((k,) + r))
        m, c = rows["memg"], rows["memcached"]
        ratio = lambda x, y: "%.2f" % (x / y) if y else "-"  # noqa: E731
        print("| memg / memcached | %s | %s | %s | %s | %s | %s |"
              % tuple(ratio(x, y) for x, y in zip(m, c)))
    finally:
        for p, _ in servers.values():
            p.kill()
            p.wait(5)


if __name__ == "__main__":
    main()
