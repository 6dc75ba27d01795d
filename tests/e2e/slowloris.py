"""Slowloris against a running server: many connections each trickling one
byte a second, while a normal client measures its request latency.

Used by test_hostile.py (2,000 connections, bounded) and as a report-only
measurement from the command line:

    /usr/bin/python3 tests/e2e/slowloris.py --conns 10000 --seconds 10 [--port P]

Without --port it starts build/memg itself (-c conns+100) on a free
loopback port. Only 127.0.0.1 is contacted.
"""
import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def probe(host, port, seconds):
    """The normal client: set/get round trips, each checked and timed.
    Runs in its own process so the trickling loop's GIL does not skew it."""
    s = socket.create_connection((host, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""

    def line():
        nonlocal buf
        while b"\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                raise EOFError("closed")
            buf += d
        out, buf = buf.split(b"\r\n", 1)
        return out

    lat, wrong, i = [], 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        val = b"probe-%d" % i
        t0 = time.monotonic()
        s.sendall(b"set probe 0 0 %d\r\n%s\r\nget probe\r\n" % (len(val), val))
        ok = line() == b"STORED"
        ok = line() == b"VALUE probe 0 %d" % len(val) and ok
        ok = line() == val and ok
        ok = line() == b"END" and ok
        lat.append(time.monotonic() - t0)
        wrong += not ok
        i += 1
        time.sleep(0.002)
    s.close()
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else None

    return {"requests": len(lat), "wrong": wrong, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "max_ms": lat[-1] * 1000 if lat else None}


def _script(i):
    """What connection i trickles: half a command line, half a value."""
    if i % 2:
        return b"get slowloris-%d\r\n" % i
    return b"set slowloris-%d 0 0 40\r\n%s\r\n" % (i, b"s" * 40)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([l for l in f if l.startswith("VmRSS")][0].split()[1])


def run(host, port, nconns, seconds, probe_seconds=None, pid=None):
    """Open nconns trickling connections, probe latency meanwhile, close.
    Returns a dict of figures (connections opened, probe latencies)."""
    raise_nofile(nconns + 256)
    socks, failed = [], 0
    t0 = time.monotonic()
    for i in range(nconns):
        try:
            s = socket.create_connection((host, port), timeout=5)
        except OSError:
            failed += 1
            if failed > 50:
                break
            continue
        s.setblocking(False)
        socks.append(s)
    connect_s = time.monotonic() - t0
    probe_seconds = probe_seconds or seconds
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--probe", host, str(port),
                          str(probe_seconds)], stdout=subprocess.PIPE)
    sent, resets = 0, 0
    end = time.monotonic() + seconds
    tick = 0
    while time.monotonic() < end:
        # one byte per connection per second, spread over the second
        slices = 20
        for sl in range(slices):
            slot_end = time.monotonic() + 1.0 / slices
            for i in range(sl, len(socks), slices):
                s = socks[i]
                if s is None:
                    continue
                data = _script(i)
                if tick >= len(data):
                    continue
                try:
                    s.send(data[tick:tick + 1])
                    sent += 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    resets += 1
                    s.close()
                    socks[i] = None
            left = slot_end - time.monotonic()
            if left > 0:
                time.sleep(left)
        tick += 1
    out, _ = p.communicate(timeout=probe_seconds + 30)
    still_open = sum(1 for s in socks if s is not None)
    rss = rss_kb(pid) if pid else None
    for s in socks:
        if s is not None:
            s.close()
    res = json.loads(out) if out else {"requests": 0, "wrong": 0}
    res.update({"conns": len(socks), "connect_failed": failed, "connect_s": round(connect_s, 2),
                "bytes_trickled": sent, "closed_by_server": resets, "still_open": still_open,
                "server_rss_kb_during": rss})
    return res


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", nargs=3, metavar=("HOST", "PORT", "SECONDS"))
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--port", type=int)
    ap.add_argument("--bin", default=os.environ.get("MEMG_BIN") or os.path.join(ROOT, "build", "memg"))
    a = ap.parse_args()
    if a.probe:
        print(json.dumps(probe(a.probe[0], int(a.probe[1]), float(a.probe[2]))))
        return 0
    proc = None
    port = a.port
    if port is None:
        port = _free_port()
        proc = subprocess.Popen([a.bin, "-p", str(port), "-l", "127.0.0.1", "-U", "0"]
                                + (["-u", "root"] if os.geteuid() == 0 else []) + [
                                 "-c", str(a.conns + 100)])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
    try:
        base = probe("127.0.0.1", port, 2)
        res = run("127.0.0.1", port, a.conns, a.seconds, pid=proc.pid if proc else None)
        res["baseline_p50_ms"], res["baseline_p99_ms"] = base["p50_ms"], base["p99_ms"]
        if proc:
            res["server_alive"] = proc.poll() is None
            res["server_rss_kb_after"] = rss_kb(proc.pid)
        print(json.dumps(res, indent=1))
        return 0 if res.get("wrong") == 0 else 1
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
