#!/usr/bin/python3
"""Memory bound under churn, memg beside memcached (issue: -m is a bound).

For each server: start it with -m 64, then at once
  - the filler: memg-bench sends N sets of random keys (10M by default) with
    100-1000 byte values, pipelined;
  - a hot reader: sets 1000 "hot:" keys, then reads them in multi-gets of 100
    all along (re-setting the ones that miss), counting hits;
while RSS is sampled every 100 ms. Prints peak RSS, the RSS overhead above
-m, evictions, and the hot keys' hit ratio over the second half of the run.
With --growth instead: -m 4096 and N sets of keys drawn from 10^9 (so about
N distinct items: the table grows from empty to N entries) with 10-byte
values, reporting the slowest single request and the 99.9th percentile.
Usage: bench/memlimit.py [--growth] [--sets N] [--only memg|memcached]"""
import argparse, os, socket, subprocess, sys, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def talk(sock, data, end=b"END\r\n"):
    sock.sendall(data)
    buf = b""
    while not buf.endswith(end):
        d = sock.recv(1 << 16)
        if not d:
            raise OSError("closed")
        buf += d
    return buf


class Hot(threading.Thread):
    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.half = port, False, False
        self.hits = self.asked = 0

    def run(self):
        s = socket.create_connection((HOST, self.port))
        keys = [b"hot:%d" % i for i in range(1000)]
        val = b"h" * 200
        talk(s, b"".join(b"set %s 0 0 200\r\n%s\r\n" % (k, val) for k in keys) + b"get hot:0\r\n")
        while not self.stop:
            for i in range(0, 1000, 100):
                batch = keys[i:i + 100]
                r = talk(s, b"get " + b" ".join(batch) + b"\r\n")
                got = r.count(b"VALUE ")
                if self.half:
                    self.hits += got
                    self.asked += len(batch)
                if got < len(batch):  # a cache refills what it misses
                    present = {ln.split()[1] for ln in r.split(b"\r\n") if ln.startswith(b"VALUE ")}
                    miss = [k for k in batch if k not in present]
                    talk(s, b"".join(b"set %s 0 0 200 noreply\r\n%s\r\n" % (k, val) for k in miss)
                         + b"get hot:0\r\n")
            time.sleep(0.01)


def stat(port, name):
    with socket.create_connection((HOST, port)) as s:
        r = talk(s, b"stats\r\n")
    for ln in r.split(b"\r\n"):
        p = ln.split()
        if len(p) == 3 and p[1] == name.encode():
            return int(p[2])
    return None


def run(name, binary, tool, sets, mem):
    port = free_port()
    args = [binary, "-p", str(port), "-l", HOST, "-U", "0", "-m", str(mem), "-t", "1"]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]
    srv = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection((HOST, port)).close()
                break
            except OSError:
                time.sleep(0.05)
        hot = Hot(port)
        hot.start()
        t0 = time.time()
        fill = subprocess.Popen([tool, "-p", str(port), "-c", "8", "-d", "16", "-r", "1:0",
                                 "-k", "100000000", "-n", str(sets), "-v", "100-1000", "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak = 0
        while fill.poll() is None:
            peak = max(peak, rss_kb(srv.pid))
            if not hot.half and time.time() - t0 > 2:
                hot.half = True  # measure hits once the cache is full and churning
            time.sleep(0.1)
        out = fill.stdout.read()
        secs = time.time() - t0
        hot.stop = True
        hot.join(5)
        ev = stat(port, "evictions")
        res = {"peak_mb": peak / 1024, "over_mb": peak / 1024 - mem, "secs": secs,
               "evictions": ev, "hot_hit": hot.hits / hot.asked if hot.asked else None,
               "ok": "errors=0" in out}
        return res
    finally:
        srv.kill()
        srv.wait()


def growth(name, binary, tool, sets):
    port = free_port()
    args = [binary, "-p", str(port), "-l", HOST, "-U", "0", "-m", "4096", "-t", "1"]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]
    srv = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        p = subprocess.run([tool, "-p", str(port), "-c", "4", "-d", "4", "-r", "1:0",
                            "-k", "1000000000", "-n", str(sets), "-v", "10", "-q"],
                           capture_output=True, text=True, timeout=900)
        res = dict(kv.split("=", 1) for kv in p.stdout.split() if "=" in kv)
        items = stat(port, "curr_items")
        print(f"{name}: {items} items after {sets} sets at {float(res['rps']):.0f}/s; "
              f"slowest request {float(res['max_us']) / 1000:.2f} ms, "
              f"p99.9 {float(res['p999_us']):.0f} us, p99 {float(res['p99_us']):.0f} us, "
              f"errors {res.get('errors')}", flush=True)
    finally:
        srv.kill()
        srv.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", type=int, default=10_000_000)
    ap.add_argument("--mem", type=int, default=64)
    ap.add_argument("--only", default="")
    ap.add_argument("--growth", action="store_true")
    ap.add_argument("--memg", default=os.path.join(ROOT, "build/memg"))
    ap.add_argument("--tool", default=os.path.join(ROOT, "build/memg-bench"))
    o = ap.parse_args()
    rows = []
    for name, binary in (("memg", o.memg), ("memcached", "/usr/bin/memcached")):
        if o.only and o.only != name:
            continue
        if o.growth:
            growth(name, binary, o.tool, o.sets)
            continue
        r = run(name, binary, o.tool, o.sets, o.mem)
        rows.append((name, r))
        print(f"{name}: peak RSS {r['peak_mb']:.1f} MB (-m {o.mem} + {r['over_mb']:.1f} MB), "
              f"{o.sets} sets in {r['secs']:.1f} s, evictions {r['evictions']}, "
              f"hot-key hit ratio {r['hot_hit']:.4f}, generator clean: {r['ok']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
