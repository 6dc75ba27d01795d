"""memg under valgrind: drive mixed traffic (small and large values, pipelines,
clients that vanish mid-value and mid-reply, stats), send SIGTERM, and
require exit status 0, no valgrind error and no leak at shutdown.

    MEMG_BIN=build/memg /usr/bin/python3 fuzz/valgrind_smoke.py   (make valgrind)

Also imported by tests/e2e/test_hostile.py (quick=True). Loopback only.
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HOST = "127.0.0.1"


def _free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class _Conn:
    def __init__(self, port):
        self.s = socket.create_connection((HOST, port), timeout=30)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError("closed")
            self.buf += d
        out, self.buf = self.buf.split(b"\r\n", 1)
        return out

    def exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError("closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def get(self, key):
        self.send(b"get %s\r\n" % key)
        head = self.line()
        if head == b"END":
            return None
        n = int(head.split()[3])
        val = self.exact(n + 2)[:-2]
        assert self.line() == b"END"
        return val

    def close(self):
        self.s.close()


def _traffic(port, quick):
    c = _Conn(port)
    rounds = 200 if quick else 2000
    for i in range(rounds):
        v = b"v%d" % i * (1 + i % 50)
        c.send(b"set k%d %d 0 %d\r\n%s\r\n" % (i, i, len(v), v))
        assert c.line() == b"STORED"
    for i in range(0, rounds, 7):
        assert c.get(b"k%d" % i) == b"v%d" % i * (1 + i % 50)
    big = bytes(range(256)) * 1200  # 300 KB: zero-copy replies, read-into-item
    c.send(b"set big 0 0 %d\r\n" % len(big) + big + b"\r\n")
    assert c.line() == b"STORED"
    c.send(b"get big big k1\r\n")
    for _ in range(2):
        assert c.line().startswith(b"VALUE big")
        assert c.exact(len(big) + 2)[:-2] == big
    assert c.line().startswith(b"VALUE k1")
    c.line()
    assert c.line() == b"END"
    # pipelined mixed commands
    c.send(b"incr n 1\r\nset n 0 0 1\r\n5\r\nincr n 10\r\nappend n 0 0 1\r\n0\r\n"
           b"prepend n 0 0 1\r\n1\r\ngets n\r\ndelete k2\r\ntouch k3 100\r\n"
           b"stats\r\nstats slabs\r\nstats items\r\nstats conns\r\nversion\r\n")
    while not c.line().startswith(b"VERSION "):
        pass
    # too large, bad chunk, garbage
    c.send(b"set huge 0 0 2000000\r\n" + b"h" * 2000000 + b"\r\n")
    assert c.line() == b"SERVER_ERROR object too large for cache"
    c.send(b"set k 0 0 1\r\nxyz\r\n")
    assert c.line() == b"CLIENT_ERROR bad data chunk"
    assert c.line() == b"CLIENT_ERROR bad command line format"  # "z": 1.6.45's answer
    # clients that vanish: mid value (large and small), mid reply, mid dump, reset
    for i in range(10 if quick else 100):
        d = _Conn(port)
        kind = i % 5
        if kind == 0:
            d.send(b"set big 0 0 300000\r\n" + b"x" * 100000)
        elif kind == 1:
            d.send(b"set k1 0 0 100\r\nabc")
        elif kind == 2:
            d.send(b"get big big big\r\n")
            d.s.recv(100)
        elif kind == 3:  # a metadump streams a slice at a time: its walk is freed
            d.send(b"lru_crawler metadump all\r\n")
            d.s.recv(100)
        else:
            d.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            d.send(b"get big big\r\n")
        d.close()
    assert c.get(b"big") == big
    _binary_traffic(port, big)
    _meta_traffic(port, big)
    # clients left connected at shutdown, with a half-received value, mid dump
    e = _Conn(port)
    e.send(b"set pending 0 0 100000\r\n" + b"p" * 50000)
    f = _Conn(port)
    f.send(b"lru_crawler metadump all\r\n")
    f.s.recv(100)
    time.sleep(0.5)
    c.send(b"flush_all\r\n")
    assert c.line() == b"OK"
    return [c, e, f]


def _bin(op, key=b"", extras=b"", value=b"", opaque=0):
    body = extras + key + value
    return struct.pack(">BBHBBHIIQ", 0x80, op, len(key), len(extras), 0, 0, len(body),
                       opaque, 0) + body


def _bin_reply(conn):
    h = conn.exact(24)
    return h[1], struct.unpack(">H", h[6:8])[0], conn.exact(struct.unpack(">I", h[8:12])[0])


def _binary_traffic(port, big):
    """The binary protocol's paths: values in the buffer and into their item,
    quiet gets ended by a noop, a refused value discarded, a vanishing client."""
    b = _Conn(port)
    ext = struct.pack(">II", 7, 0)
    b.send(_bin(0x01, b"bk", ext, b"v" * 50, 1) + _bin(0x01, b"bbig", ext, big, 2))
    assert _bin_reply(b)[:2] == (0x01, 0) and _bin_reply(b)[:2] == (0x01, 0)
    b.send(_bin(0x09, b"bk") + _bin(0x09, b"nope") + _bin(0x0d, b"bbig") + _bin(0x0a))
    assert _bin_reply(b)[2] == ext[:4] + b"v" * 50
    assert _bin_reply(b)[2] == ext[:4] + b"bbig" + big
    assert _bin_reply(b)[:2] == (0x0a, 0)
    b.send(_bin(0x01, b"bhuge", ext, b"h" * 2000000))
    assert _bin_reply(b)[1] == 0x03  # E2BIG, once the value is discarded
    d = _Conn(port)
    d.send(_bin(0x01, b"bgone", ext, b"x" * 300000)[:100000])
    d.close()
    b.close()


def _meta_traffic(port, big):
    """Meta commands: quiet pipelines, stale/win marks, a large ms received
    into its item (its line kept on the heap), and clients that vanish with
    such a line pending."""
    c = _Conn(port)
    c.send(b"ms m1 2 T0 F3 k c\r\nhi\r\nmg m1 v k f s t c h l O1\r\nmd m1 I\r\nmg m1 v\r\n"
           b"mg m1 v\r\nmg miss v q\r\nmg hot N30 v\r\nma n N0 J5 v\r\nma n MD D9 t c\r\n"
           b"me m1\r\nms Zm9v 3 b k\r\nbar\r\nmg Zm9v b k v\r\nmd m1 x\r\nmg m1 q zz\r\nmn\r\n")
    while c.line() != b"MN":
        pass
    c.send(b"ms mbig %d k O7 c\r\n" % len(big) + big + b"\r\nmg mbig v\r\n")
    assert c.line().startswith(b"HD kmbig O7 c")
    assert c.line() == b"VA %d" % len(big)
    assert c.exact(len(big) + 2)[:-2] == big
    for i in range(4):
        d = _Conn(port)
        d.send(b"ms gone%d 300000 k O%d\r\n" % (i, i) + b"x" * (50000 * (i + 1)))
        d.close()
    c.close()


def run(binary, quick=False):
    """Returns {"ok": bool, "exit": rc, "errors": n, "definitely": bytes, ...}."""
    port = _free_port()
    logdir = tempfile.mkdtemp(prefix="memg-valgrind-")
    vlog = os.path.join(logdir, "valgrind.log")
    argv = ["valgrind", "--leak-check=full", "--show-leak-kinds=all", "--error-exitcode=1",
            "--errors-for-leak-kinds=definite,indirect,possible", "--log-file=" + vlog,
            binary, "-p", str(port), "-l", HOST, "-U", "0", "-m", "16"] + \
        (["-u", "root"] if os.geteuid() == 0 else [])
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    res = {"ok": False, "log": vlog}
    conns = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if p.poll() is not None or time.monotonic() > deadline:
                    res["error"] = "did not start"
                    return res
                time.sleep(0.1)
        conns = _traffic(port, quick)
        p.send_signal(signal.SIGTERM)
        res["exit"] = p.wait(60)
    except Exception as e:  # report, don't hide: the caller asserts on ok
        res["error"] = repr(e)
        if p.poll() is None:
            p.kill()
            p.wait(10)
        res["exit"] = p.returncode
    finally:
        for c in conns:
            c.close()
    text = open(vlog, errors="replace").read()
    m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    res["errors"] = int(m.group(1)) if m else None
    for kind in ("definitely lost", "indirectly lost", "possibly lost", "still reachable"):
        m = re.search(kind + r": ([\d,]+) bytes", text)
        res[kind.split()[0]] = int(m.group(1).replace(",", "")) if m else 0
    res["ok"] = ("error" not in res and res.get("exit") == 0 and res["errors"] == 0
                 and res["definitely"] == 0 and res["indirectly"] == 0 and res["possibly"] == 0)
    if not res["ok"]:
        res["tail"] = text[-3000:]
    return res


def main():
    binary = os.environ.get("MEMG_BIN") or os.path.join(ROOT, "build", "memg")
    res = run(binary, quick="--quick" in sys.argv)
    for k, v in res.items():
        if k != "tail":
            print("%s: %s" % (k, v))
    if not res["ok"]:
        print(res.get("tail", ""))
        return 1
    print("valgrind: OK (no error, no leak, exit 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
