"""Soak: a mixed load with random disconnects and malformed requests against
memg (meant for the ASan+UBSan build: `make soak`), checking:

  - no crash, no sanitizer report in memg's log, exit 0 on SIGTERM;
  - zero wrong answers to valid requests: every worker owns its keys and
    tracks the value each should hold (a miss is allowed: -m is small so
    eviction is active; a stale or foreign value is not);
  - memg's RSS flat after warm-up.

    /usr/bin/python3 fuzz/soak.py --bin build/san/memg --seconds 60

Chaos clients meanwhile send garbage and malformed lines (exact errors are
checked), cut values mid-way on the workers' keys (which must change
nothing), reset connections with replies pending, and pipeline without
reading. Loopback only.
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time

HOST = "127.0.0.1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Conn:
    def __init__(self, port, timeout=20):
        self.s = socket.create_connection((HOST, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, d):
        self.s.sendall(d)

    def _more(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError("server closed")
        self.buf += d

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + 2:]
                return out
            self._more()

    def exact(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def values(self):
        """Read VALUE blocks up to END: {key: (flags, value, cas)}."""
        out = {}
        while True:
            h = self.line()
            if h == b"END":
                return out
            p = h.split(b" ")
            if p[0] != b"VALUE":
                raise ValueError("unexpected %r" % h[:100])
            data = self.exact(int(p[3]) + 2)
            if data[-2:] != b"\r\n":
                raise ValueError("value not followed by CRLF")
            out[p[1]] = (int(p[2]), data[:-2], int(p[4]) if len(p) > 4 else None)

    def close(self, reset=False):
        try:
            if reset:
                self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.s.close()
        except OSError:
            pass


def _value(rng, key, ver):
    r = rng.random()
    n = rng.randint(1, 200) if r < 0.6 else rng.randint(200, 8000) if r < 0.95 else \
        rng.randint(20000, 300000)
    head = b"%s:%d:" % (key, ver)
    body = bytes([rng.randrange(256)]) * max(0, n - len(head))
    return head + body


def worker(wid, port, seconds, seed, q):
    """Valid traffic on keys w<wid>:*, each answer checked against the model."""
    rng = random.Random(seed)
    model = {}  # key -> (flags, value), None (known absent); missing: unknown
    nums = {}   # numeric keys -> int
    c = Conn(port)
    st = {"ops": 0, "wrong": 0, "misses": 0, "reconnects": 0, "cut_sets": 0, "errors": []}

    def wrong(msg):
        st["wrong"] += 1
        if len(st["errors"]) < 20:
            st["errors"].append(msg)

    def check_get(keys):
        c.send(b"get " + b" ".join(keys) + b"\r\n")
        got = c.values()
        for k in got:
            if k not in keys:
                wrong("get: key %r not asked for" % k)
        for k in keys:
            if k in got:
                fl, v, _ = got[k]
                if k not in model:  # state unknown (after eviction): must be ours
                    if not v.startswith(k + b":") and not v.startswith(b"+"):
                        wrong("get %s: foreign value %r" % (k, v[:40]))
                    model[k] = (fl, v)
                elif model[k] is None or (fl, v) != model[k]:
                    wrong("get %s: got %r want %r" % (k, v[:40], model[k] and model[k][1][:40]))
            elif model.get(k) is not None:
                st["misses"] += 1  # evicted: allowed
                del model[k]
            else:
                model[k] = None

    def sync():
        """Before hanging up: a reset (SO_LINGER 0) may discard requests
        memg has not read yet, so a noreply set is only known to be
        applied once a later request was answered."""
        c.send(b"version\r\n")
        if not c.line().startswith(b"VERSION "):
            wrong("version")

    end = time.monotonic() + seconds
    unsynced = False
    ver = 0
    nkeys = 400
    while time.monotonic() < end:
        st["ops"] += 1
        ver += 1
        prev_unsynced, unsynced = unsynced, False
        k = b"w%d:%d" % (wid, rng.randrange(nkeys))
        op = rng.random()
        try:
            if op < 0.30:
                flags = rng.randrange(1 << 32)
                v = _value(rng, k, ver)
                nr = rng.random() < 0.1
                c.send(b"set %s %d 0 %d%s\r\n%s\r\n" % (k, flags, len(v), b" noreply" if nr else b"", v))
                if not nr:
                    r = c.line()
                    if r != b"STORED":
                        wrong("set %s: %r" % (k, r))
                        continue
                model[k] = (flags, v)
                unsynced = nr
            elif op < 0.55:
                check_get([k])
            elif op < 0.62:
                ks = list({b"w%d:%d" % (wid, rng.randrange(nkeys)) for _ in range(rng.randint(2, 20))})
                check_get(ks)
            elif op < 0.67:
                c.send(b"delete %s\r\n" % k)
                r = c.line()
                if r == b"DELETED" or r == b"NOT_FOUND":
                    if r == b"DELETED" and k in model and model[k] is None:
                        wrong("delete %s: DELETED but absent" % k)
                    if r == b"NOT_FOUND" and model.get(k) is not None:
                        st["misses"] += 1
                    model[k] = None
                else:
                    wrong("delete %s: %r" % (k, r))
            elif op < 0.74:  # gets + cas
                c.send(b"gets %s\r\n" % k)
                got = c.values()
                if k not in got:
                    if model.get(k) is not None:
                        st["misses"] += 1
                    model[k] = None
                    continue
                if k in model and got[k][:2] != model[k]:
                    wrong("gets %s: got %r want %r" % (k, got[k][1][:40], model[k] and model[k][1][:40]))
                v = _value(rng, k, ver)
                c.send(b"cas %s 5 0 %d %d\r\n%s\r\n" % (k, len(v), got[k][2], v))
                r = c.line()
                if r == b"STORED":
                    model[k] = (5, v)
                elif r == b"NOT_FOUND":
                    st["misses"] += model.get(k) is not None
                    model[k] = None  # evicted in between
                else:
                    wrong("cas %s: %r" % (k, r))
            elif op < 0.80:  # append
                a = b"+%d" % ver
                c.send(b"append %s 0 0 %d\r\n%s\r\n" % (k, len(a), a))
                r = c.line()
                cur = model.get(k)
                if r == b"STORED":
                    if cur is not None:
                        model[k] = (cur[0], cur[1] + a)
                    elif k in model:
                        wrong("append %s: STORED on an absent key" % k)
                    else:
                        model.pop(k, None)  # was unknown, still unknown
                elif r == b"NOT_STORED":
                    if cur is not None:
                        st["misses"] += 1
                    model[k] = None
                elif r.startswith(b"SERVER_ERROR"):
                    pass  # too large to append: unchanged
                else:
                    wrong("append %s: %r" % (k, r))
            elif op < 0.88:  # incr/decr on numeric keys
                nk = b"w%d:n%d" % (wid, rng.randrange(20))
                if nk not in nums:
                    start = rng.randrange(1 << 40)
                    c.send(b"set %s 0 0 %d\r\n%d\r\n" % (nk, len(b"%d" % start), start))
                    if c.line() != b"STORED":
                        wrong("set num")
                    nums[nk] = start
                d = rng.randrange(1 << 20)
                inc = rng.random() < 0.6
                c.send(b"%s %s %d\r\n" % (b"incr" if inc else b"decr", nk, d))
                r = c.line()
                if r == b"NOT_FOUND":
                    st["misses"] += 1
                    del nums[nk]
                    continue
                want = (nums[nk] + d) % (1 << 64) if inc else max(0, nums[nk] - d)
                if not r.isdigit() or int(r) != want:
                    wrong("%s %s: %r want %d" % ("incr" if inc else "decr", nk, r, want))
                nums[nk] = want
            elif op < 0.90:  # a set cut mid-way, then gone: nothing changes
                if prev_unsynced:
                    sync()
                v = _value(rng, k, ver)
                cut = rng.randrange(len(v)) if len(v) > 1 else 0
                c.send(b"set %s 0 0 %d\r\n%s" % (k, len(v), v[:cut]))
                c.close(reset=rng.random() < 0.5)
                c = Conn(port)
                st["cut_sets"] += 1
                check_get([k])
            elif op < 0.92:  # random disconnect between requests
                if prev_unsynced:
                    sync()
                c.close(reset=rng.random() < 0.5)
                c = Conn(port)
                st["reconnects"] += 1
            elif op < 0.97:  # touch / gat
                c.send(b"touch %s 0\r\n" % k)
                r = c.line()
                if r not in (b"TOUCHED", b"NOT_FOUND"):
                    wrong("touch %r" % r)
                if r == b"NOT_FOUND":
                    if model.get(k) is not None:
                        st["misses"] += 1
                    model[k] = None
                elif k in model and model[k] is None:
                    wrong("touch %s: TOUCHED an absent key" % k)
            else:
                c.send(b"version\r\n")
                if not c.line().startswith(b"VERSION "):
                    wrong("version")
        except (EOFError, OSError, ValueError) as e:
            wrong("%s on %s: %r" % (type(e).__name__, k, e))
            c.close()
            try:
                c = Conn(port)
            except OSError:
                break
    c.close()
    q.put(("worker", st))


MALFORMED = [
    (b"set k 0 0 -1\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"set k 0 0 abc\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"set k 0 0 18446744073709551616\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"get " + b"k" * 251 + b"\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"incr k -1\r\n", b"CLIENT_ERROR invalid numeric delta argument\r\n"),
    (b"bogus command\r\n", b"ERROR\r\n"),
    (b"\x00\xff\xfe\r\n", b"ERROR\r\n"),
    (b"touch k x\r\n", b"CLIENT_ERROR invalid exptime argument\r\n"),
    (b"set chaos 0 0 3\r\nabcde\r\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\n"),
    (b"set chaos 0 0 2000000\r\n" + b"z" * 2000000 + b"\r\n",
     b"SERVER_ERROR object too large for cache\r\n"),
]


def chaos(cid, port, seconds, seed, q):
    rng = random.Random(seed)
    st = {"malformed": 0, "malformed_wrong": 0, "garbage": 0, "resets": 0, "hogs": 0,
          "cut_values": 0, "errors": []}
    end = time.monotonic() + seconds
    big = b"h" * 400000
    try:
        c = Conn(port)
        c.send(b"set chaos:big 0 0 %d\r\n%s\r\n" % (len(big), big))
        c.line()
        c.close()
    except OSError:
        pass
    while time.monotonic() < end:
        r = rng.random()
        try:
            if r < 0.4:
                sent, want = rng.choice(MALFORMED)
                c = Conn(port)
                c.send(sent)
                got = c.exact(len(want))
                st["malformed"] += 1
                if got != want:
                    st["malformed_wrong"] += 1
                    if len(st["errors"]) < 10:
                        st["errors"].append("%r -> %r" % (sent[:40], got[:80]))
                c.close()
            elif r < 0.6:  # garbage, then gone
                c = Conn(port)
                c.send(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000))))
                time.sleep(0.005)
                c.close(reset=rng.random() < 0.5)
                st["garbage"] += 1
            elif r < 0.75:  # replies pending, then reset
                c = Conn(port)
                c.send(b"get chaos:big chaos:big chaos:big\r\n" * rng.randint(1, 5))
                time.sleep(0.005)
                c.close(reset=True)
                st["resets"] += 1
            elif r < 0.85:  # pipelines and never reads, for a while
                c = Conn(port)
                c.s.setblocking(False)
                try:
                    c.s.send(b"get chaos:big\r\n" * 500)
                except BlockingIOError:
                    pass
                time.sleep(0.3)
                c.close(reset=rng.random() < 0.5)
                st["hogs"] += 1
            else:  # a value on a worker key cut mid-way (must change nothing)
                c = Conn(port)
                k = b"w%d:%d" % (rng.randrange(4), rng.randrange(400))
                n = rng.randint(10, 200000)
                c.send(b"set %s 0 0 %d\r\n" % (k, n) + b"X" * rng.randrange(n))
                c.close(reset=rng.random() < 0.5)
                st["cut_values"] += 1
        except (OSError, EOFError) as e:
            if len(st["errors"]) < 10:
                st["errors"].append(repr(e))
    q.put(("chaos", st))


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "san", "memg"))
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--chaos", type=int, default=2)
    ap.add_argument("--mem", default="16", help="-m; >= 128: no eviction, so a miss is wrong")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()

    port = _free_port()
    log_path = "/tmp/memg-soak-%d.log" % port
    log = open(log_path, "wb")
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "quarantine_size_mb=16:malloc_context_size=8:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    proc = subprocess.Popen([a.bin, "-p", str(port), "-l", HOST, "-U", "0"]
                            + (["-u", "root"] if os.geteuid() == 0 else []) + ["-m", a.mem,
                             "-c", "4096"], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                print("memg did not start")
                return 1
            time.sleep(0.05)

    q = mp.Queue()
    procs = [mp.Process(target=worker, args=(i, port, a.seconds, a.seed * 100 + i, q))
             for i in range(a.workers)]
    procs += [mp.Process(target=chaos, args=(i, port, a.seconds, a.seed * 100 + 50 + i, q))
              for i in range(a.chaos)]
    for p in procs:
        p.start()
    rss = []
    t0 = time.monotonic()
    while any(p.is_alive() for p in procs) and time.monotonic() - t0 < a.seconds + 60:
        rss.append((round(time.monotonic() - t0, 1), rss_kb(proc.pid)))
        if proc.poll() is not None:
            break
        time.sleep(2)
    results = []
    while len(results) < len(procs):
        try:
            results.append(q.get(timeout=5))
        except Exception:
            break
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()

    alive = proc.poll() is None
    exit_code = None
    if alive:
        proc.send_signal(signal.SIGTERM)
        try:
            exit_code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            exit_code = "hung"
    else:
        exit_code = proc.returncode
    log.close()
    text = open(log_path, "rb").read().decode("utf-8", "replace")
    san = [l for l in text.splitlines() if "Sanitizer" in l or "runtime error" in l]

    tot = {}
    for kind, st in results:
        for k, v in st.items():
            if k == "errors":
                tot.setdefault("errors", []).extend(v)
            else:
                tot[k] = tot.get(k, 0) + v
    warm = [r for t, r in rss if t >= a.seconds * 0.25]
    summary = {
        "seed": a.seed, "seconds": a.seconds, "binary": a.bin,
        "server_alive_at_end": alive, "exit_code": exit_code, "sanitizer_lines": san[:10],
        "rss_kb_series": rss, "rss_after_warmup_kb": (min(warm), max(warm)) if warm else None,
        "rss_growth_after_warmup_kb": (warm[-1] - warm[0]) if len(warm) > 1 else None,
        "reports": len(results),
    }
    summary.update(tot)
    print(json.dumps(summary, indent=1, default=str))
    ok = (alive and exit_code == 0 and not san and tot.get("wrong", 1) == 0
          and tot.get("malformed_wrong", 0) == 0 and len(results) == len(procs)
          and (summary["rss_growth_after_warmup_kb"] or 0) < 16 * 1024
          and (int(a.mem) < 128 or tot.get("misses", 0) == 0))  # no eviction: no miss
    print("SOAK %s (log %s)" % ("OK" if ok else "FAILED", log_path))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
