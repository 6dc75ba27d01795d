#!/usr/bin/python3
"""Expired memory over time: a write-heavy load with a short TTL, then idle,
memg against memcached -t 1 at the same -m.

    bench/ttl.py --memg build/memg --tool build/memg-bench [--memcached M] [--quick]

Each server is started fresh with -m 1024 and fed 4 s of `set`s by
memg-bench (4 connections, 32 in flight each, as fast as it answers) of
keys from a space of 50M with a 2 s TTL and values of 300-1500 B, then
nothing. The writes run --rounds times per server, the servers
alternating, each round on a fresh server: on a shared machine one 4 s
run's sets/s moves 2x with the other load, so the table gives the median
and the range, and the server's CPU per set (the median; memcached's
counts all its threads), which the other load moves far less.
Every item has expired 2 s after the writes end. Its `stats` (bytes,
curr_items, evictions, reclaimed) and RSS are read every 0.5 s from the
end of the writes to +60 s (+15 s with --quick). Writes bench/results/ttl.md
(the table) and bench/results/ttl.svg (bytes held over time).
Loopback only; every step has a time limit.
"""
import argparse
import datetime
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import HOST, Server, log, parse_result, rss_kb  # noqa: E402  (same directory)

MEM = 1024
TTL = 2
WRITE_S = 4.0
VMIN, VMAX = 300, 1500
SHOW = [0, 1, 2, 3, 4, 5, 7, 10, 12, 15, 20, 30, 45, 60]


def stats(sock):
    sock.sendall(b"stats\r\n")
    buf = b""
    while not buf.endswith(b"END\r\n"):
        d = sock.recv(65536)
        if not d:
            raise OSError("closed")
        buf += d
    out = {}
    for line in buf.decode().splitlines():
        p = line.split()
        if len(p) == 3 and p[0] == "STAT":
            out[p[1]] = p[2]
    return out


def write(o, port, rate=0, pid=None):
    """4 s of sets, closed loop or paced to rate; returns (sets done, seconds
    taken, the server's CPU ns per set when pid is given)."""
    cmd = [o.tool, "-s", HOST, "-p", str(port), "-c", "4", "-d", "32", "-k", "50000000",
           "-v", f"{VMIN}-{VMAX}", "-r", "1:0", "--ttl", str(TTL), "-t", str(WRITE_S), "-q"]
    if pid:
        cmd += ["--server-pid", str(pid)]
    if rate:
        cmd += ["-R", str(rate)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    res, first = parse_result(p.stdout)
    if res is None or p.returncode != 0:
        raise RuntimeError(f"memg-bench rc {p.returncode}: {first or p.stderr[-200:]}")
    return int(res["sets"]), float(res["secs"]), float(res.get("srv_ns_per_op", 0))


def run(name, binary, o, logdir, mem=MEM, idle=None, rate=0):
    srv = Server(name, binary, logdir, mem=mem, conns=64)
    if not srv.ready:
        return {"error": srv.log_tail()}
    try:
        sent, took, ns = write(o, srv.port, rate, srv.pid)
        t_end = time.monotonic()
        samples = []
        with socket.create_connection((HOST, srv.port), timeout=10) as s:
            first = stats(s)
            idle = idle or (15 if o.quick else 60)
            while True:
                t = time.monotonic() - t_end
                st = stats(s) if samples else first
                samples.append((t, int(st["bytes"]), int(st["curr_items"]),
                                (rss_kb(srv.pid) or 0) * 1024,
                                int(st.get("reclaimed", 0)) + int(st.get("crawler_reclaimed", 0))))
                if t >= idle:
                    break
                time.sleep(0.5)
        return {"sent": sent, "took": took, "ns": ns, "evictions": int(first["evictions"]),
                "reclaimed": int(first.get("reclaimed", 0)) + int(first.get("crawler_reclaimed", 0)),
                "samples": samples}
    finally:
        srv.stop()


def writes_only(name, binary, o, logdir):
    """One more round of the writes on a fresh server: (sets/s, CPU ns per set)."""
    srv = Server(name, binary, logdir, mem=MEM, conns=64)
    if not srv.ready:
        sys.exit(f"{name}: {srv.log_tail()}")
    try:
        sent, took, ns = write(o, srv.port, 0, srv.pid)
        return sent / took, ns
    finally:
        srv.stop()


def median(xs):
    xs = sorted(xs)
    return (xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]) / 2


def summary(rounds):
    """(sets/s, CPU ns per set) of each round -> median sets/s, slowest,
    fastest, median ns per set."""
    rates = [r for r, _ in rounds]
    return median(rates), min(rates), max(rates), median([ns for _, ns in rounds])


def at(samples, t):
    """The sample nearest after t seconds."""
    for s in samples:
        if s[0] >= t - 0.25:
            return s
    return samples[-1]


def back_by(samples):
    """Seconds after the writes end when bytes held first reached 1% of the peak."""
    peak = max(s[1] for s in samples) or 1
    for s in samples:
        if s[1] <= peak / 100:
            return s[0]
    return None


def svg(res, path):
    w, h, l, b = 640, 320, 60, 40
    tmax = max(r["samples"][-1][0] for r in res.values())
    ymax = max(s[1] for r in res.values() for s in r["samples"]) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{l}" y="16">bytes held after 4 s of sets with a 2 s TTL (-m {MEM})</text>']
    for i in range(5):
        y = h - b - (h - b - 30) * i / 4
        out.append(f'<line x1="{l}" x2="{w - 10}" y1="{y:.0f}" y2="{y:.0f}" stroke="#ddd"/>')
        out.append(f'<text x="4" y="{y + 4:.0f}">{ymax * i / 4 / 1e6:.0f} MB</text>')
    for t in range(0, int(tmax) + 1, 10 if tmax > 20 else 2):
        x = l + (w - l - 10) * t / tmax
        out.append(f'<text x="{x - 8:.0f}" y="{h - b + 16}">+{t}s</text>')
    for (name, r), color in zip(res.items(), ["#d62728", "#1f77b4"]):
        pts = " ".join(f"{l + (w - l - 10) * s[0] / tmax:.1f},"
                       f"{h - b - (h - b - 30) * s[1] / ymax:.1f}" for s in r["samples"])
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{w - 120}" y="{40 + 16 * list(res).index(name)}" '
                   f'fill="{color}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--memg", required=True)
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("--tool", required=True, help="memg-bench")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the writes per server (3)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    o = ap.parse_args()
    logdir = tempfile.mkdtemp(prefix="memg-ttl-")
    res = {}
    servers = (("memcached", o.memcached), ("memg", o.memg))
    rounds = {name: [] for name, _ in servers}  # (sets/s, ns per set) of each round
    for i in range(max(1, o.rounds) - 1):
        for name, binary in servers:
            log(f"ttl: {name} writes, round {i + 1}")
            rounds[name].append(writes_only(name, binary, o, logdir))
    for name, binary in servers:  # the last round: the writes, then the idle samples
        log(f"ttl: {name}")
        r = run(name, binary, o, logdir)
        if "error" in r:
            sys.exit(f"{name}: {r['error']}")
        res[name] = r
        rounds[name].append((r["sent"] / r["took"], r["ns"]))
    # Paced below what both servers did; -m at 3/4 of what that writes, above
    # the half that is live at any moment.
    rate = int(0.8 * min(summary(rs)[0] for rs in rounds.values()))
    small_mem = max(16, int(rate * WRITE_S * (VMIN + VMAX) / 2 * 0.75 / 2**20))
    small = {}
    for name, binary in (("memcached", o.memcached), ("memg", o.memg)):
        log(f"ttl: {name} -m {small_mem}")
        r = run(name, binary, o, logdir, mem=small_mem, idle=1, rate=rate)
        if "error" in r:
            sys.exit(f"{name}: {r['error']}")
        small[name] = r
    lines = [f"# Expired memory over time ({datetime.date.today()}, shared 2-core machine)", "",
             f"`-m {MEM}`, {WRITE_S:.0f} s of `set`s of new keys with a {TTL} s TTL and "
             f"{VMIN}-{VMAX} B values (memg-bench, 4 connections of 32 in flight, as fast as "
             "the server answers; keys drawn from 50M), then no requests. Time from the end "
             "of the writes; every item "
             f"has expired by +{TTL} s. memcached 1.6.18 -t 1. The writes ran {len(rounds['memg'])} "
             "times per server, alternating, each on a fresh server: sets/s is their median "
             "(and range: other load on the machine moves one run's rate 2x), CPU per set the "
             "median of the server's CPU time (all threads) over sets; the other columns are "
             "the last round's.", "",
             "| server | sets/s (median) | sets/s (range) | server CPU ns per set | sets | "
             "evictions during writes | back to 1% of peak bytes |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in res.items():
        bb = back_by(r["samples"])
        mid, lo, hi, ns = summary(rounds[name])
        lines.append(f"| {name} | {mid:,.0f} | {lo:,.0f}-{hi:,.0f} | {ns:,.0f} | {r['sent']:,} | "
                     f"{r['evictions']:,} | "
                     f"{'+%.1f s' % bb if bb is not None else 'not within the run'} |")
    lines += ["", f"The same writes paced to {rate:,} a second (0.8 of the slower server "
              f"above) at `-m {small_mem}` (3/4 of the bytes that writes): more than it holds "
              "is written, while what is live at any moment (2 s of writes, half) fits; "
              "expired memory must be reused for nothing live to be evicted.", "",
              "| server | sets | bytes written (about) | expired items freed during the writes "
              "| evictions during writes |", "|---|---:|---:|---:|---:|"]
    for name, r in small.items():
        lines.append(f"| {name} | {r['sent']:,} | {r['sent'] * (VMIN + VMAX) / 2 / 1e6:,.0f} MB "
                     f"| {r['reclaimed']:,} | {r['evictions']:,} |")
    lines += ["", "| after writes | " + " | ".join(
        f"{n} MB held | {n} items | {n} RSS MB" for n in res) + " |",
        "|---:|" + "---:|" * (3 * len(res))]
    for t in SHOW:
        if t > max(r["samples"][-1][0] for r in res.values()) + 0.5:
            break
        row = [f"+{t} s"]
        for r in res.values():
            s = at(r["samples"], t)
            row += [f"{s[1] / 1e6:.1f}", f"{s[2]:,}", f"{s[3] / 1e6:.0f}"]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "![bytes held](ttl.svg)", ""]
    os.makedirs(o.out, exist_ok=True)
    with open(os.path.join(o.out, "ttl.md"), "w") as f:
        f.write("\n".join(lines))
    svg(res, os.path.join(o.out, "ttl.svg"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
