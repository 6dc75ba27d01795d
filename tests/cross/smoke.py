#!/usr/bin/python3
"""End-to-end smoke test of one memg binary, native or under qemu-user.

    smoke.py --bin build/armhf/memg --wrap "qemu-arm -L /usr/arm-linux-gnueabihf" [--big]

Standard library only, raw sockets, 127.0.0.1 only, every wait bounded.
It checks what breaks first on other architectures: 64-bit protocol numbers
(CAS uniques, incr/decr past 2^32 and the 2^64 wrap, exptime, stats byte
counts), the binary protocol's big-endian headers and 64-bit fields, a
1,000,000-byte value, eviction under -m 8, big -m values (3 GB on
a 32-bit build), a clean exit (status 0) on SIGTERM, and a restart with -e
(SIGUSR1, then the same items, CAS and counter).
--big also fills an armhf server past its 32-bit address space (4.5 GB of
values; about 30 s and 4 GB of RAM) to check that memg keeps serving when mmap fails,
and saves and restores 2.3 GB with -e (memory file offsets past 2 GB).
Exit status 0 when every check passes; the first failure is printed.
"""
import argparse
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
U64 = (1 << 64) - 1
START_TIMEOUT = 30.0   # qemu start-up on a slow CI machine
IO_TIMEOUT = 30.0      # one request/reply under emulation
STOP_TIMEOUT = 15.0


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail("timed out waiting for a reply; have %r" % self.buf[:200])
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(1 << 20)
        except socket.timeout:
            raise Fail("timed out waiting for a reply; have %r" % self.buf[:200]) from None
        if not d:
            raise Fail("server closed the connection; have %r" % self.buf[:200])
        self.buf += d

    def line(self):
        deadline = time.monotonic() + IO_TIMEOUT
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def exact(self, n):
        deadline = time.monotonic() + IO_TIMEOUT
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.line().decode()

    def store(self, verb, key, value, flags=0, exptime=0, cas=None):
        if isinstance(value, str):
            value = value.encode()
        head = "%s %s %d %d %d" % (verb, key, flags, exptime, len(value))
        if cas is not None:
            head += " %d" % cas
        self.send(head.encode() + b"\r\n" + value + b"\r\n")
        return self.line().decode()

    def get(self, key, gets=False):
        """(value, flags, cas) or None."""
        self.send(("%s %s\r\n" % ("gets" if gets else "get", key)).encode())
        ln = self.line().decode()
        if ln == "END":
            return None
        parts = ln.split()
        check(parts[0] == "VALUE" and parts[1] == key, "get %s: bad header %r" % (key, ln))
        n = int(parts[3])
        data = self.exact(n + 2)
        check(data[-2:] == b"\r\n", "get %s: value not followed by CRLF" % key)
        check(self.line() == b"END", "get %s: no END" % key)
        return data[:-2], int(parts[2]), (int(parts[4]) if gets else None)

    def stats(self, sub=""):
        self.send(("stats %s\r\n" % sub).strip().encode() + b"\r\n")
        out = {}
        while True:
            ln = self.line().decode()
            if ln == "END":
                return out
            p = ln.split(" ", 2)
            check(p[0] == "STAT" and len(p) == 3, "stats: bad line %r" % ln)
            out[p[1]] = p[2]

    def sync(self):
        """Drain replies up to a `version` answer (after an error we don't model)."""
        self.send(b"version\r\n")
        while True:
            ln = self.line()
            if ln.startswith(b"VERSION "):
                return


class Server:
    def __init__(self, wrap, binary, args, label):
        self.label = label
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.argv = wrap + [binary, "-p", str(self.port), "-l", HOST] + args
        if os.geteuid() == 0:  # memg, as memcached, refuses root without -u
            self.argv += ["-u", "root"]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise Fail("%s: exited with %s at start-up: %s"
                           % (label, self.proc.returncode, self.log_text()))
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise Fail("%s: not listening after %.0f s" % (label, START_TIMEOUT))
                time.sleep(0.05)

    def log_text(self):
        self.log.seek(0)
        return self.log.read()[-2000:].decode("utf-8", "replace")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self):
        """SIGTERM; the server must exit 0 within STOP_TIMEOUT."""
        check(self.proc.poll() is None, "%s: died early (status %s): %s"
              % (self.label, self.proc.returncode, self.log_text()))
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail("%s: still running %.0f s after SIGTERM" % (self.label, STOP_TIMEOUT))
        check(rc == 0, "%s: exit status %s after SIGTERM: %s" % (self.label, rc, self.log_text()))


def t_basic(c):
    check(c.store("set", "k", "hello", flags=4294967295) == "STORED", "set")
    check(c.get("k") == (b"hello", 4294967295, None), "get after set (32-bit flags)")
    check(c.store("add", "k", "x") == "NOT_STORED", "add of an existing key")
    check(c.store("append", "k", " world") == "STORED", "append")
    check(c.get("k")[0] == b"hello world", "get after append")
    check(c.cmd("delete k") == "DELETED", "delete")
    check(c.get("k") is None, "get after delete")
    # several keys in one get, pipelined with other commands
    c.send(b"set a 0 0 1\r\n1\r\nset b 0 0 2\r\n22\r\nget a missing b\r\n")
    check([c.line(), c.line()] == [b"STORED", b"STORED"], "pipelined sets")
    check(c.line() == b"VALUE a 0 1" and c.line() == b"1", "multi-get a")
    check(c.line() == b"VALUE b 0 2" and c.line() == b"22", "multi-get b")
    check(c.line() == b"END", "multi-get END")


def t_incr(c):
    c.store("set", "n", "4294967295")
    check(c.cmd("incr n 10") == "4294967305", "incr past 2^32")
    check(c.get("n")[0] == b"4294967305", "value after incr past 2^32")
    check(c.cmd("decr n 4294967306") == "0", "decr below 0 stops at 0")
    c.store("set", "n", "18446744073709551610")
    check(c.cmd("incr n 5") == str(U64), "incr to 2^64-1")
    check(c.cmd("incr n 1") == "0", "incr wraps at 2^64")
    c.store("set", "n", "1")
    check(c.cmd("incr n %d" % U64) == "0", "incr by 2^64-1 wraps")
    check(c.cmd("incr n 18446744073709551615") == str(U64), "incr by 2^64-1 from 0")
    check(c.cmd("decr n 9223372036854775808") == "9223372036854775807", "decr by 2^63")
    check(c.cmd("incr n 18446744073709551616").startswith("CLIENT_ERROR"),
          "incr by 2^64 is refused")
    c.store("set", "n", "9")
    check(c.cmd("incr n 1") == "10" and c.get("n")[0] == b"10", "incr that grows the length")
    check(c.cmd("incr nosuch 1") == "NOT_FOUND", "incr of a missing key")
    c.store("set", "s", "abc")
    check(c.cmd("incr s 1").startswith("CLIENT_ERROR"), "incr of a non-number")


def t_cas(c):
    c.store("set", "c", "v1")
    _, _, cas1 = c.get("c", gets=True)
    check(0 < cas1 <= U64, "cas unique in range")
    check(c.store("cas", "c", "v2", cas=cas1 + 1) == "EXISTS", "cas with a wrong unique")
    check(c.store("cas", "c", "v2", cas=cas1) == "STORED", "cas with the right unique")
    _, _, cas2 = c.get("c", gets=True)
    check(cas2 > cas1, "cas unique grows")
    check(c.store("cas", "c", "v3", cas=U64) == "EXISTS", "cas unique 2^64-1 parses")
    check(c.store("cas", "c", "v3", cas=cas2 + (1 << 32)) == "EXISTS",
          "cas unique + 2^32 differs (no 32-bit truncation)")
    check(c.store("cas", "nosuch", "x", cas=1) == "NOT_FOUND", "cas of a missing key")
    r = c.store("cas", "c", "v4", cas=U64 + 1)
    check(r.startswith("CLIENT_ERROR"), "cas unique 2^64 refused, got %r" % r)
    c.sync()
    check(c.get("c")[0] == b"v2", "value unchanged by refused cas")


def t_exptime(c):
    now = int(time.time())
    check(c.store("set", "e1", "x", exptime=3600) == "STORED", "set relative exptime")
    check(c.get("e1") is not None, "relative exptime: still there")
    check(c.store("set", "e2", "x", exptime=now + 3600) == "STORED", "set absolute exptime")
    check(c.get("e2") is not None, "absolute exptime in the future: still there")
    check(c.store("set", "e3", "x", exptime=now - 10) == "STORED", "set absolute past exptime")
    check(c.get("e3") is None, "absolute exptime in the past: gone")
    check(c.store("set", "e4", "x", exptime=-1) == "STORED", "set negative exptime")
    check(c.get("e4") is None, "negative exptime: gone")
    check(c.store("set", "e5", "x", exptime=2592000) == "STORED", "set 30-day exptime")
    check(c.get("e5") is not None, "30 days is still relative")
    check(c.store("set", "e6", "x", exptime=2592001) == "STORED", "set 30 days + 1 s")
    check(c.get("e6") is None, "30 days + 1 s is an absolute time in 1970: gone")
    check(c.cmd("touch e1 %d" % (now + 7200)) == "TOUCHED", "touch")
    check(c.get("e1") is not None, "touched item still there")


def t_large(c):
    big = bytes((i * 131 + 7) & 0xFF for i in range(1000000))
    check(c.store("set", "big", big) == "STORED", "set of a 1,000,000-byte value")
    got = c.get("big")
    check(got is not None and got[0] == big, "1,000,000-byte value read back intact")
    return len(big)


def _bin(op, key=b"", extras=b"", value=b"", opaque=0, cas=0):
    body = extras + key + value
    return struct.pack(">BBHBBHIIQ", 0x80, op, len(key), len(extras), 0, 0, len(body),
                       opaque, cas) + body


def t_binary(port):
    """The binary protocol on this architecture: big-endian headers, a 64-bit
    CAS echoed, incr past 2^32 in 8 bytes, a getkq pipeline ended by noop."""
    c = Conn(port)
    ext = struct.pack(">II", 0xfedcba98, 0)
    c.send(_bin(0x01, b"bk", ext, b"value", 0x11223344)
           + _bin(0x05, b"bn", struct.pack(">QQI", 1 << 33, 5, 0), opaque=2)
           + _bin(0x05, b"bn", struct.pack(">QQI", 1 << 33, 5, 0), opaque=3)
           + _bin(0x0d, b"bk", opaque=4) + _bin(0x0d, b"nope", opaque=5) + _bin(0x0a, opaque=6))
    replies = []
    for _ in range(5):
        h = c.exact(24)
        replies.append((h, c.exact(struct.unpack(">I", h[8:12])[0])))
    (h0, _), (h1, b1), (h2, b2), (h3, b3), (h4, _) = replies
    check(h0[:2] == b"\x81\x01" and h0[12:16] == b"\x11\x22\x33\x44", "binary set, opaque")
    check(struct.unpack(">Q", b1)[0] == 5, "binary incr creates with the initial value")
    check(struct.unpack(">Q", b2)[0] == 5 + (1 << 33), "binary incr past 2^32")
    cas = h0[16:24]
    check(h3[1] == 0x0d and h3[16:24] == cas and b3 == ext[:4] + b"bkvalue",
          "getkq hit: flags, key, value and the set's cas")
    check(h4[1] == 0x0a and h4[12:16] == struct.pack(">I", 6), "noop ends the batch")
    c.close()


def t_stats(c, limit_bytes, min_bytes):
    s = c.stats()
    for name in ("limit_maxbytes", "curr_items", "total_items", "bytes", "evictions",
                 "cmd_get", "get_hits", "curr_connections", "pid", "uptime", "time"):
        check(name in s and re.fullmatch(r"\d+", s[name]), "stats %s = %r" % (name, s.get(name)))
    check(int(s["limit_maxbytes"]) == limit_bytes,
          "limit_maxbytes %s, expected %d" % (s["limit_maxbytes"], limit_bytes))
    check(int(s["pointer_size"]) in (32, 64), "pointer_size %r" % s.get("pointer_size"))
    check(min_bytes <= int(s["bytes"]) <= limit_bytes, "bytes %s not in [%d, %d]"
          % (s["bytes"], min_bytes, limit_bytes))
    check(abs(int(s["time"]) - time.time()) < 60, "stats time %s is not now" % s["time"])
    st = c.stats("settings")
    check(int(st.get("maxbytes", -1)) == limit_bytes, "stats settings maxbytes %r"
          % st.get("maxbytes"))
    return s


def run_main(wrap, binary):
    srv = Server(wrap, binary, ["-m", "64"], "memg -m 64")
    try:
        c = Conn(srv.port)
        t_basic(c)
        t_incr(c)
        t_cas(c)
        t_exptime(c)
        big = t_large(c)
        t_binary(srv.port)
        s = t_stats(c, 64 << 20, big)
        # live: a b n s c e1 e2 e5 big bk bn (expired ones may or may not be counted yet)
        check(11 <= int(s["curr_items"]) <= 14, "curr_items %s, expected about 11"
              % s["curr_items"])
        check(c.cmd("flush_all") == "OK", "flush_all")
        check(c.get("big") is None, "flush_all empties")
        c.close()
    except BaseException:
        srv.kill()
        raise
    srv.stop()
    return "pointer_size=%s" % s["pointer_size"]


def fill(c, nbytes, vsize, prefix):
    """Write about nbytes in values of vsize bytes, 16 sets per round trip."""
    n = nbytes // vsize
    batch = 16
    val = bytearray(vsize)
    for i in range(0, n, batch):
        req = []
        for j in range(i, min(i + batch, n)):
            val[:12] = b"%012d" % j
            req.append(b"set %s%d 0 0 %d\r\n" % (prefix, j, vsize) + bytes(val) + b"\r\n")
        c.send(b"".join(req))
        for j in range(i, min(i + batch, n)):
            r = c.line()
            check(r == b"STORED", "set #%d while filling: %r" % (j, r))
    return n


def run_evict(wrap, binary):
    srv = Server(wrap, binary, ["-m", "8"], "memg -m 8")
    try:
        c = Conn(srv.port)
        vsize = 100000
        n = fill(c, 30 << 20, vsize, b"ev")
        s = t_stats(c, 8 << 20, 0)
        check(int(s["evictions"]) > 0, "no evictions after writing 30 MB into -m 8")
        check(int(s["curr_items"]) < n, "curr_items %s not below %d" % (s["curr_items"], n))
        check(int(s["total_items"]) >= n, "total_items %s below %d" % (s["total_items"], n))
        last = c.get("ev%d" % (n - 1))
        check(last is not None and last[0][:12] == b"%012d" % (n - 1), "newest item kept")
        check(c.get("ev0") is None, "oldest item evicted")
        check(c.cmd("version").startswith("VERSION"), "server answers after eviction")
        c.close()
    except BaseException:
        srv.kill()
        raise
    srv.stop()
    return "evictions=%s curr_items=%s bytes=%s" % (s["evictions"], s["curr_items"], s["bytes"])


def run_big_limit(wrap, binary, mb):
    """-m beyond what a 32-bit build can map: starts and reports it, or refuses clearly."""
    try:
        srv = Server(wrap, binary, ["-m", str(mb)], "memg -m %d" % mb)
    except Fail as e:
        # a refusal must be an error message and a non-zero status, not a crash
        m = re.search(r"exited with (-?\d+) at start-up: (.*)", str(e), re.S)
        check(m and int(m.group(1)) > 0 and m.group(2).strip(),
              "-m %d: neither served nor refused clearly: %s" % (mb, e))
        return "-m %d refused: %s" % (mb, m.group(2).strip().splitlines()[0])
    try:
        c = Conn(srv.port)
        s = t_stats(c, mb << 20, 0)
        check(c.store("set", "k", "v") == "STORED" and c.get("k")[0] == b"v", "set/get")
        c.close()
    except BaseException:
        srv.kill()
        raise
    srv.stop()
    return "-m %d served, limit_maxbytes=%s" % (mb, s["limit_maxbytes"])


def run_fill_address_space(wrap, binary):
    """32-bit: ask for 8 GB and write 4.5 GB. A 32-bit process can't map that much
    (qemu-arm gives the guest about 3.8 GB, a Pi's 32-bit kernel 3 GB): mmap fails,
    memg counts malloc_fails, evicts instead and goes on serving."""
    srv = Server(wrap, binary, ["-m", "8192"], "memg -m 8192")
    try:
        c = Conn(srv.port)
        vsize = 1000000
        n = fill(c, 4608 << 20, vsize, b"as")
        s = c.stats()
        check(int(s["bytes"]) < 4096 << 20, "bytes %s: more than 32 bits can map" % s["bytes"])
        check(int(s["evictions"]) > 0, "no evictions once the address space is full")
        last = c.get("as%d" % (n - 1))
        check(last is not None and last[0][:12] == b"%012d" % (n - 1), "newest item kept")
        check(c.cmd("version").startswith("VERSION"), "answers after filling")
        c.close()
    except BaseException:
        srv.kill()
        raise
    srv.stop()
    return "filled: bytes=%s evictions=%s malloc_fails=%s" % (
        s["bytes"], s["evictions"], s.get("malloc_fails", "?"))


def _memfile_dir(need):
    """A directory for -e: tmpfs (/dev/shm) when it has the room, else /tmp."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    if base and os.statvfs(base).f_bavail * os.statvfs(base).f_frsize < need:
        base = None
    return tempfile.mkdtemp(prefix="memg-smoke-", dir=base)


def _saved_and_back(wrap, binary, args, label, fill_fn, check_fn):
    """Start with args, fill_fn(conn), SIGUSR1 (exit 0, FILE.meta written),
    start again, check_fn(conn, stats) -> info."""
    srv = Server(wrap, binary, args, label)
    try:
        c = Conn(srv.port)
        fill_fn(c)
        c.close()
        srv.proc.send_signal(signal.SIGUSR1)
        rc = srv.proc.wait(STOP_TIMEOUT)
        check(rc == 0, "%s: exit status %s after SIGUSR1: %s" % (label, rc, srv.log_text()))
    except BaseException:
        srv.kill()
        raise
    srv = Server(wrap, binary, args, label)
    try:
        check("restored" in srv.log_text(), "%s: not restored: %s" % (label, srv.log_text()))
        c = Conn(srv.port)
        info = check_fn(c, c.stats())
        c.close()
    except BaseException:
        srv.kill()
        raise
    srv.stop()
    return info


def run_restart(wrap, binary):
    """-e: items, flags, CAS, a TTL and the CAS counter survive SIGUSR1 and a start."""
    d = _memfile_dir(128 << 20)
    kept = {}

    def fill_fn(c):
        for i in range(200):
            check(c.store("set", "r%d" % i, "v%d" % i * (i + 1), flags=i * 7919,
                          exptime=3600 if i % 2 else 0) == "STORED", "set r%d" % i)
        for i in range(200):
            kept[i] = c.get("r%d" % i, gets=True)

    def check_fn(c, s):
        check(int(s["restored_items"]) == 200, "restored_items %s" % s["restored_items"])
        for i in range(200):
            check(c.get("r%d" % i, gets=True) == kept[i], "r%d after the restart" % i)
        check(c.store("set", "new", "x") == "STORED", "set after the restart")
        new_cas = c.get("new", gets=True)[2]
        check(new_cas > max(v[2] for v in kept.values()), "cas counter restored")
        return "restored %s items in %s us" % (s["restored_items"], s["restore_time_us"])

    try:
        path = os.path.join(d, "cache")
        return _saved_and_back(wrap, binary, ["-m", "64", "-e", path], "memg -e", fill_fn,
                               check_fn)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_restart_past_2gb(wrap, binary):
    """-e with -m 2600: segments at file offsets past 2 GB (64-bit off_t on a
    32-bit build) come back, the newest item from the last of them."""
    d = _memfile_dir(3 << 30)
    n = [0]

    def fill_fn(c):
        n[0] = fill(c, 2300 << 20, 1000000, b"g")

    def check_fn(c, s):
        check(int(s["restored_items"]) == n[0], "restored_items %s of %d"
              % (s["restored_items"], n[0]))
        for j in (0, n[0] // 2, n[0] - 1):
            v = c.get("g%d" % j)
            check(v is not None and v[0][:12] == b"%012d" % j, "g%d after the restart" % j)
        return "restored %s items (2.3 GB) in %s us" % (s["restored_items"], s["restore_time_us"])

    try:
        path = os.path.join(d, "cache")
        return _saved_and_back(wrap, binary, ["-m", "2600", "-e", path], "memg -e -m 2600",
                               fill_fn, check_fn)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def mem_available():
    try:
        with open("/proc/meminfo") as f:
            for ln in f:
                if ln.startswith("MemAvailable:"):
                    return int(ln.split()[1]) << 10
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="memg binary")
    ap.add_argument("--wrap", default="", help='emulator command, e.g. "qemu-arm -L /usr/arm-linux-gnueabihf"')
    ap.add_argument("--label", default="", help="name printed in the results")
    ap.add_argument("--big", action="store_true", help="also fill past a 32-bit address space")
    a = ap.parse_args()
    wrap = shlex.split(a.wrap)
    label = a.label or os.path.basename(os.path.dirname(os.path.abspath(a.bin)))
    checks = [("protocol", lambda: run_main(wrap, a.bin)),
              ("eviction", lambda: run_evict(wrap, a.bin)),
              ("-m 3072", lambda: run_big_limit(wrap, a.bin, 3072)),
              ("-m 8192", lambda: run_big_limit(wrap, a.bin, 8192)),
              ("restart", lambda: run_restart(wrap, a.bin))]
    if a.big and mem_available() < 6 << 30:
        print("smoke %s: fill 4.5 GB skipped: needs 6 GB of free RAM, %.1f GB available"
              % (label, mem_available() / (1 << 30)))
    elif a.big:
        checks.append(("fill 4.5 GB", lambda: run_fill_address_space(wrap, a.bin)))
        checks.append(("restart 2.3 GB", lambda: run_restart_past_2gb(wrap, a.bin)))
    for name, fn in checks:
        t0 = time.monotonic()
        try:
            info = fn()
        except Fail as e:
            print("smoke %s: %s: FAIL: %s" % (label, name, e))
            return 1
        print("smoke %s: %-11s ok  %5.1f s  %s" % (label, name, time.monotonic() - t0, info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
