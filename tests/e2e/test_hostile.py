"""Hostile and broken clients, limits, signals and security defaults.

Each test checks the exact answer (memcached 1.6's where memg follows it),
that the server survives, and that stored data is intact (a canary key
written before the abuse is read back after it). Bounded in time; only
127.0.0.1 is contacted, except the one test that checks memg is NOT
reachable on this machine's other address.
"""
import importlib.util
import os
import random
import resource
import signal
import socket
import struct
import subprocess
import time

import pytest

import conftest
from conftest import AS_ROOT, HOST, IS_MEMCACHED, free_port, memg_bin
import slowloris
from mcraw import Raw

CANARY_KEY = b"canary"
CANARY_VAL = b"canary-value-\x00\x01\xff-" + b"c" * 100


# --- helpers ------------------------------------------------------------------

def put_canary(srv):
    with srv.raw() as r:
        assert r.set(CANARY_KEY, CANARY_VAL, flags=7) == b"STORED\r\n"


def check_canary(srv):
    assert srv.alive(), "server died:\n" + srv.log_text()
    with srv.raw() as r:
        assert r.cmd(b"get " + CANARY_KEY + b"\r\n") == (
            b"VALUE %s 7 %d\r\n%s\r\nEND\r\n" % (CANARY_KEY, len(CANARY_VAL), CANARY_VAL))


def stats(srv):
    with srv.raw() as r:
        text = r.cmd(b"stats\r\n")
    out = {}
    for line in text.split(b"\r\n"):
        parts = line.split(b" ", 2)
        if len(parts) == 3 and parts[0] == b"STAT":
            out[parts[1].decode()] = parts[2].decode()
    return out


def wait_stat(srv, name, want, timeout=5.0):
    """Poll until stats[name] == want (our own stats connection counts 1)."""
    deadline = time.monotonic() + timeout
    while True:
        v = int(stats(srv)[name])
        if v == want or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sanitized(path):
    """True for an ASan build (RSS figures mean little there)."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


SANITIZED = not IS_MEMCACHED and sanitized(memg_bin())
# ASan keeps freed memory in quarantine: keep it small so RSS checks hold.
ASAN_ENV = "quarantine_size_mb=16:malloc_context_size=4:detect_leaks=1"


@pytest.fixture
def hostile(server_factory, monkeypatch):
    """start(*flags) with the canary stored; ASan tuned for RSS checks."""
    if SANITIZED:
        monkeypatch.setenv("ASAN_OPTIONS", ASAN_ENV)

    def start(*args, **kw):
        srv = server_factory(*args, **kw)
        put_canary(srv)
        return srv

    return start


class Proc:
    """A memg started here (own argv, rlimits, environment). Independent of
    conftest.Server on purpose; stop() is bounded in time."""

    def __init__(self, argv, port, log_path, preexec=None):
        self.argv, self.port, self.host, self.log_path = argv, port, HOST, log_path
        self.log = open(log_path, "wb")
        env = dict(os.environ)
        if SANITIZED:
            env["ASAN_OPTIONS"] = ASAN_ENV
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=preexec, env=env)

    @property
    def addr(self):
        return (self.host, self.port)

    def wait_ready(self, timeout=5.0):
        return conftest.wait_accepting(self.proc, self.addr, timeout)

    def alive(self):
        return self.proc.poll() is None

    def raw(self, timeout=5.0):
        return Raw(self.host, self.port, timeout)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read()[-4000:].decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def send_all_close(srv, data, linger_reset=False):
    s = socket.create_connection(srv.addr, timeout=5)
    if linger_reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    try:
        s.sendall(data)
    except OSError:
        pass
    s.close()


# --- malformed input: exact answers -------------------------------------------

K250, K251 = b"k" * 250, b"k" * 251

# (sent, exact reply). The connection must stay usable after each.
CASES = [
    # memcached 1.6.45: a storage line refused once its length is read has
    # its data skipped (1.6.18 read the data as a command: ERROR)
    (b"set " + K251 + b" 0 0 1\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    # ... and a get key too long earns an empty line after the error
    (b"get " + K251 + b"\r\n", b"CLIENT_ERROR bad command line format\r\n\r\n"),
    (b"set " + K250 + b" 0 0 1\r\nx\r\nget " + K250 + b"\r\n",
     b"STORED\r\nVALUE " + K250 + b" 0 1\r\nx\r\nEND\r\n"),
    # control characters in a key are accepted, as memcached does
    (b"set \x01\x02\x7f\x1b 0 0 1\r\nx\r\nget \x01\x02\x7f\x1b\r\n",
     b"STORED\r\nVALUE \x01\x02\x7f\x1b 0 1\r\nx\r\nEND\r\n"),
    (b"set k 0 0 -1\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"set k 0 0 abc\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"set k 0 0 12ab\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"set k 0 0 18446744073709551616\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"set k 0 0 99999999999999999999999999\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"set k 18446744073709551616 0 1\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"set k 0 99999999999999999999 1\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"cas k 0 0 1 18446744073709551616\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"cas k 0 0 1 -1\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"incr k 18446744073709551616\r\n", b"CLIENT_ERROR invalid numeric delta argument\r\n"),
    (b"incr k -1\r\n", b"CLIENT_ERROR invalid numeric delta argument\r\n"),
    (b"touch k 99999999999999999999\r\n", b"CLIENT_ERROR invalid exptime argument\r\n"),
    # data not terminated by \r\n: bad chunk, then the leftover is a line
    # (here too short to be a command: 1.6.45's format error)
    (b"set k 0 0 3\r\nabcde\r\n", b"CLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line format\r\n"),
    (b"set k 0 0 3\r\nabc\n\n", b"CLIENT_ERROR bad data chunk\r\n"),
    (b"\x00\x01\x02\xff\xfe\r\n", b"ERROR\r\n"),
    (b"\xff\xfe\xfd garbage\r\n", b"ERROR\r\n"),
    (b"\r\n", b"CLIENT_ERROR bad command line format\r\n"),
]


@pytest.mark.parametrize("sent,reply", CASES, ids=[repr(c[0][:24]) for c in CASES])
def test_malformed_exact_reply(hostile, sent, reply):
    srv = hostile()
    with srv.raw() as r:
        r.send(sent)
        got = b""
        deadline = time.monotonic() + 5
        while len(got) < len(reply) and time.monotonic() < deadline:
            got += r.read_quiet(0.1, timeout=1)
        assert got == reply
        assert r.cmd(b"version\r\n").startswith(b"VERSION ")
    check_canary(srv)


@pytest.mark.memg_only
@pytest.mark.parametrize("line", [b"set k 4294967296 0 1", b"set k 99999999999 0 1"])
def test_flags_past_32_bits_refused(hostile, line):
    # memcached 1.6.45 keeps the low 32 bits of these flags; memg refuses the
    # line, and skips its data as 1.6.45 does for a refused line.
    srv = hostile()
    with srv.raw() as r:
        r.send(line + b"\r\nx\r\n")
        assert r.read_line() == b"CLIENT_ERROR bad command line format\r\n"
        assert r.get(b"k") is None
    check_canary(srv)


@pytest.mark.parametrize("line", [b"set k 0 0 4294967296", b"set k 0 0 2147483648"])
def test_lengths_past_31_bits_refused(hostile, line):
    # no length, so no data to skip: the data line is read as a command (too short)
    srv = hostile()
    with srv.raw() as r:
        r.send(line + b"\r\nx\r\n")
        assert r.read_line() == b"CLIENT_ERROR bad command line format\r\n"
        assert r.read_line() == b"CLIENT_ERROR bad command line format\r\n"
        assert r.get(b"k") is None
    check_canary(srv)


def test_overlong_line_without_newline_closes(hostile):
    srv = hostile()
    for junk in (b"x" * 3000, b"set k 0 0 1" + b" " * 3000, b"\x00" * 4096, b"a b" * 2000):
        with srv.raw() as r:
            r.send(junk)
            assert r.is_closed(timeout=3), junk[:20]
    # a long get line is not junk: it waits for its newline
    with srv.raw() as r:
        keys = b" ".join(b"key%04d" % i for i in range(600))  # ~4.8 KB
        r.send(b"get " + keys)
        assert not r.is_closed(timeout=0.3)
        assert r.cmd(b"\r\n") == b"END\r\n"
    check_canary(srv)


def test_value_larger_than_item_max_is_swallowed(hostile):
    srv = hostile("-I", "1m")
    big = b"B" * (1536 * 1024)
    with srv.raw(timeout=10) as r:
        assert r.set(b"big", b"old") == b"STORED\r\n"
        r.send(b"set big 0 0 %d\r\n" % len(big))
        for i in range(0, len(big), 200_000):  # in pieces: the swallow spans reads
            r.send(big[i:i + 200_000])
        r.send(b"\r\n")
        assert r.read_line() == b"SERVER_ERROR object too large for cache\r\n"
        # the data was swallowed, not read as commands; a failed set drops the old value
        assert r.cmd(b"get big\r\n") == b"END\r\n"
        assert r.set(b"after", b"fine") == b"STORED\r\n"
        assert r.get(b"after") == b"fine"
        assert r.read_quiet(0.1) == b""
    check_canary(srv)


def test_large_value_trickled_in_pieces(hostile):
    # A value bigger than the read buffer is read straight into its item,
    # over many reads here (regression: src/conn.c _value_step, memcpy from
    # the released read buffer, UBSan "null pointer passed as argument 2").
    srv = hostile()
    value = bytes((i * 7) % 256 for i in range(100_000))
    msg = b"set slow 9 0 %d\r\n" % len(value) + value + b"\r\n"
    with srv.raw(timeout=10) as r:
        for i in range(0, len(msg), 9000):
            r.send(msg[i:i + 9000])
            time.sleep(0.01)
        assert r.read_line() == b"STORED\r\n"
        assert r.cmd(b"get slow\r\n") == b"VALUE slow 9 %d\r\n%s\r\nEND\r\n" % (len(value), value)
    check_canary(srv)


def test_random_garbage(hostile):
    srv = hostile()
    rng = random.Random(1234)
    words = [b"get", b"set", b"gets", b"cas", b"incr", b"delete", b"touch", b"gat", b"stats",
             b"append", b"\r\n", b"\n", b" ", b"noreply", b"-1", b"18446744073709551616", b"0"]
    for i in range(300):
        parts = []
        for _ in range(rng.randint(1, 30)):
            if rng.random() < 0.5:
                parts.append(rng.choice(words))
            else:
                parts.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40))))
        data = b"".join(parts)
        if CANARY_KEY in data:
            continue
        s = socket.create_connection(srv.addr, timeout=5)
        try:
            s.sendall(data)
            s.settimeout(0.02)
            try:
                s.recv(1 << 16)
            except (socket.timeout, OSError):
                pass
        except OSError:
            pass
        s.close()
        if i % 50 == 0:
            assert srv.alive(), srv.log_text()
    check_canary(srv)
    st = stats(srv)
    assert int(st["curr_connections"]) <= 2


# --- slow, greedy and vanishing clients -------------------------------------------

SLOWLORIS_CONNS = 2000


@pytest.mark.memg_only
def test_slowloris(hostile):
    srv = hostile("-c", str(SLOWLORIS_CONNS + 100))
    base = int(stats(srv)["curr_connections"])
    res = slowloris.run(HOST, srv.port, SLOWLORIS_CONNS, seconds=4, pid=srv.proc.pid)
    print("slowloris %d conns: %s" % (SLOWLORIS_CONNS, res))
    assert res["conns"] == SLOWLORIS_CONNS
    assert res["closed_by_server"] == 0
    assert res["requests"] > 100 and res["wrong"] == 0
    # one thread serves all: a trickling byte costs a read, not a stall
    assert res["p99_ms"] < (200 if SANITIZED else 50), res
    assert res["max_ms"] < 1000, res
    assert wait_stat(srv, "curr_connections", base) == base
    check_canary(srv)


@pytest.mark.memg_only
def test_partial_requests_hold_little_memory(hostile):
    """Connections waiting for the end of a request hold its bytes, not a
    16 KB read buffer each; every request is answered right once it ends."""
    n = 2000
    srv = hostile("-c", str(n + 100))
    with srv.raw() as r:
        assert r.set(b"pk", b"value") == b"STORED\r\n"
    base = int(stats(srv)["curr_connections"])
    time.sleep(0.2)
    rss0 = rss_kb(srv.proc.pid)
    socks = []
    for i in range(n):
        s = socket.create_connection(srv.addr, timeout=10)
        s.sendall(b"set part%d 0 0 5\r\nval" % i if i % 2 else b"get p")
        socks.append(s)
    assert wait_stat(srv, "curr_connections", base + n) == base + n
    time.sleep(0.5)  # every partial request read
    per_conn = (rss_kb(srv.proc.pid) - rss0) * 1024 / n
    print("%d connections with a partial request: %.0f bytes each" % (n, per_conn))
    if not SANITIZED:  # ASan's allocator pads and quarantines
        assert per_conn < 1024, per_conn
    for i, s in enumerate(socks):
        s.sendall(b"ue\r\n" if i % 2 else b"k\r\n")
    for i, s in enumerate(socks):
        want = b"STORED\r\n" if i % 2 else b"VALUE pk 0 5\r\nvalue\r\nEND\r\n"
        got = b""
        while len(got) < len(want):
            d = s.recv(100)
            assert d, (i, got)
            got += d
        assert got == want, (i, got)
        s.close()
    with srv.raw() as r:
        assert r.get(b"part1999") == b"value"
    check_canary(srv)


@pytest.mark.memg_only
def test_pipelined_gets_never_read_memory_bounded(hostile):
    srv = hostile()
    value = bytes(range(256)) * 2048  # 512 KB
    with srv.raw(timeout=10) as r:
        assert r.set(b"big", value) == b"STORED\r\n"
    time.sleep(0.2)
    rss0 = rss_kb(srv.proc.pid)
    hog = socket.create_connection(srv.addr, timeout=10)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    n = 1000
    hog.sendall(b"get big\r\n" * n)  # 512 MB of replies, none read for now
    # meanwhile the others are served promptly
    worst = 0.0
    with srv.raw() as r:
        for i in range(100):
            t0 = time.monotonic()
            assert r.set(b"other%d" % i, b"v") == b"STORED\r\n"
            assert r.get(b"other%d" % i) == b"v"
            worst = max(worst, time.monotonic() - t0)
    time.sleep(0.5)
    rss1 = rss_kb(srv.proc.pid)
    print("pipelining hog: rss %d -> %d KB, worst other-client round trip %.1f ms"
          % (rss0, rss1, worst * 1000))
    assert worst < 0.5
    assert rss1 - rss0 < 32 * 1024, (rss0, rss1)  # far below 512 MB
    # the hog then reads: every reply arrives whole and in order
    head = b"VALUE big 0 %d\r\n" % len(value)
    one = head + value + b"\r\nEND\r\n"
    want = len(one) * n
    got, sample = 0, b""
    hog.settimeout(20)
    while got < want:
        d = hog.recv(1 << 20)
        assert d, "closed after %d of %d bytes" % (got, want)
        if got < len(one) * 2:
            sample += d
        got += len(d)
    assert got == want
    assert sample[:len(one) * 2] == one * 2
    hog.close()
    check_canary(srv)


def test_disconnects_mid_value_mid_reply_and_resets(hostile):
    srv = hostile()
    big = b"v" * 300_000
    with srv.raw(timeout=10) as r:
        for i in range(4):
            assert r.set(b"big%d" % i, big) == b"STORED\r\n"
        assert r.set(b"small", b"kept") == b"STORED\r\n"
    base = int(stats(srv)["curr_connections"])
    pid = None if IS_MEMCACHED else srv.proc.pid
    rss_warm = None
    for it in range(150):
        kind = it % 5
        if kind == 0:    # mid value, large (received into its item)
            send_all_close(srv, b"set small 0 0 100000\r\n" + b"x" * 60_000)
        elif kind == 1:  # mid value, small (waits in the read buffer)
            send_all_close(srv, b"set small 0 0 100\r\nxxxx")
        elif kind == 2:  # mid reply: ask for 1.2 MB, read a little, leave
            s = socket.create_connection(srv.addr, timeout=5)
            s.sendall(b"get big0 big1 big2 big3\r\n")
            s.recv(1000)
            s.close()
        elif kind == 3:  # reset with replies pending (SO_LINGER 0)
            send_all_close(srv, b"get big0 big1 big2 big3\r\n" * 3, linger_reset=True)
        else:            # reset mid value
            send_all_close(srv, b"set big0 0 0 300000\r\n" + b"y" * 100_000, linger_reset=True)
        if it == 50 and pid:
            time.sleep(0.2)
            rss_warm = rss_kb(pid)
    assert wait_stat(srv, "curr_connections", base) == base
    with srv.raw(timeout=10) as r:
        assert r.get(b"small") == b"kept"
        for i in range(4):
            assert r.get(b"big%d" % i) == big
    if pid:
        rss_end = rss_kb(pid)
        print("disconnect loop: rss %d -> %d KB" % (rss_warm, rss_end))
        assert rss_end - rss_warm < 8 * 1024, (rss_warm, rss_end)
    check_canary(srv)


# --- limits -----------------------------------------------------------------------

@pytest.mark.memg_only
def test_connection_limit_exact(hostile):
    # memg's -c counts client connections (memcached's counts its own fds too)
    srv = hostile("-c", "20")
    wait_stat(srv, "curr_connections", 1)  # only the stats connection itself
    time.sleep(0.3)  # ...which memg then sees close
    keep = [srv.raw() for _ in range(20)]
    try:
        for r in keep:
            assert r.cmd(b"version\r\n").startswith(b"VERSION ")
        for _ in range(5):
            s = socket.create_connection(srv.addr, timeout=5)
            s.settimeout(3)
            data = b""
            while True:
                try:
                    d = s.recv(100)
                except ConnectionResetError:
                    break
                if not d:
                    break
                data += d
            s.close()
            assert data == b"ERROR Too many open connections\r\n"
        for i, r in enumerate(keep):  # the existing ones are unaffected
            assert r.set(b"c%d" % i, b"%d" % i) == b"STORED\r\n"
        assert int(stats_via(keep[0])["rejected_connections"]) == 5
    finally:
        for r in keep:
            r.close()
    check_canary(srv)


def stats_via(r):
    out = {}
    for line in r.cmd(b"stats\r\n").split(b"\r\n"):
        parts = line.split(b" ", 2)
        if len(parts) == 3:
            out[parts[1].decode()] = parts[2].decode()
    return out


def _low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


@pytest.mark.memg_only
def test_out_of_file_descriptors(tmp_path):
    port = free_port()
    argv = [memg_bin(), "-p", str(port), "-l", HOST, "-U", "0", "-c", "1000"] + AS_ROOT
    srv = Proc(argv, port, str(tmp_path / "memg-emfile.log"), preexec=_low_nofile)
    socks = []
    try:
        assert srv.wait_ready()
        first = srv.raw()
        assert first.set(b"k", b"v") == b"STORED\r\n"
        for _ in range(100):  # past 64 fds: accept fails with EMFILE
            socks.append(socket.create_connection(srv.addr, timeout=5))
        time.sleep(0.5)
        cpu0 = cpu_seconds(srv.proc.pid)
        t0 = time.monotonic()
        for i in range(20):  # existing clients keep being served
            assert first.get(b"k") == b"v"
            time.sleep(0.1)
        busy = (cpu_seconds(srv.proc.pid) - cpu0) / (time.monotonic() - t0)
        print("EMFILE: memg cpu %.1f%% while 100 connections wait" % (busy * 100))
        assert busy < 0.25, "memg spins on EMFILE (%.0f%% cpu)" % (busy * 100)
        # once descriptors free up, the waiting connections are served
        for s in socks[:60]:
            s.close()
        s = socks[-1]
        s.sendall(b"version\r\n")
        s.settimeout(5)
        assert s.recv(100).startswith(b"VERSION ")
        assert srv.alive()
        first.close()
    finally:
        for s in socks:
            s.close()
        srv.stop()


def test_idle_timeout_closes_idle_connections(hostile):
    srv = hostile("-o", "idle_timeout=2")
    with srv.raw() as idle, srv.raw() as half, srv.raw() as busy:
        assert idle.cmd(b"version\r\n").startswith(b"VERSION ")
        half.send(b"get k")  # idle in the middle of a line counts too
        t0 = time.monotonic()
        while time.monotonic() - t0 < 4.5:
            assert busy.cmd(b"version\r\n").startswith(b"VERSION ")
            time.sleep(0.25)
        assert idle.is_closed(timeout=1)
        assert half.is_closed(timeout=1)
        assert busy.cmd(b"version\r\n").startswith(b"VERSION ")
    check_canary(srv)


# --- signals ----------------------------------------------------------------------

def test_sigpipe_never_kills(hostile):
    srv = hostile()
    with srv.raw(timeout=10) as r:
        assert r.set(b"big", b"p" * 500_000) == b"STORED\r\n"
    for _ in range(20):
        send_all_close(srv, b"get big big big big\r\n")  # memg writes to a gone peer
    time.sleep(0.2)
    check_canary(srv)


def _start_on(port, tmp_path, name, extra=()):
    argv = [memg_bin(), "-p", str(port), "-l", HOST, "-U", "0"] + AS_ROOT + list(extra)
    srv = Proc(argv, port, str(tmp_path / name))
    assert srv.wait_ready(), srv.log_text()
    return srv


@pytest.mark.memg_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_signal_drains_pending_output_and_exits_zero(tmp_path, sig):
    port = free_port()
    srv = _start_on(port, tmp_path, "a.log")
    try:
        value = b"z" * 800_000
        with srv.raw(timeout=10) as r:
            assert r.set(b"big", value) == b"STORED\r\n"
        slow = socket.create_connection(srv.addr, timeout=10)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        slow.sendall(b"get big big big\r\n")  # 2.4 MB pending, read after the signal
        time.sleep(0.3)
        srv.proc.send_signal(sig)
        time.sleep(0.3)
        # no new connections once the signal arrived
        with pytest.raises(OSError):
            socket.create_connection(srv.addr, timeout=1).close()
        one = b"VALUE big 0 %d\r\n%s\r\n" % (len(value), value)
        want = one * 3 + b"END\r\n"
        got = b""
        while True:
            d = slow.recv(1 << 20)
            if not d:
                break
            got += d
        slow.close()
        assert got == want, (len(got), len(want))
        assert srv.proc.wait(10) == 0
    finally:
        srv.stop()
    # a restarted memg binds the same port at once (SO_REUSEADDR)
    again = _start_on(port, tmp_path, "b.log")
    try:
        with again.raw() as r:
            assert r.cmd(b"version\r\n").startswith(b"VERSION ")
    finally:
        again.stop()
    assert again.proc.returncode == 0


# --- security defaults --------------------------------------------------------------

def _non_loopback_ipv4():
    """An address of this machine that is not loopback, or None."""
    addrs = set()
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True,
                             timeout=5).stdout.decode()
        for line in out.splitlines():
            parts = line.split()
            if "inet" in parts:
                addrs.add(parts[parts.index("inet") + 1].split("/")[0])
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addrs.add(info[4][0])
    except OSError:
        pass
    for a in sorted(addrs):
        if not a.startswith("127."):
            return a
    return None


@pytest.mark.memg_only
def test_default_listens_on_loopback_only(tmp_path):
    other = _non_loopback_ipv4()
    if other is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    port = free_port()
    argv = [memg_bin(), "-p", str(port), "-U", "0"] + AS_ROOT  # no -l
    log = open(str(tmp_path / "memg.log"), "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection((HOST, port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and p.poll() is None, "memg did not start"
                time.sleep(0.05)
        with pytest.raises(OSError):
            socket.create_connection((other, port), timeout=1).close()
    finally:
        p.terminate()
        p.wait(5)
        log.close()


@pytest.mark.memg_only
def test_udp_refused_with_exit_2():
    r = subprocess.run([memg_bin(), "-U", "1", "-p", str(free_port())],
                       capture_output=True, timeout=5)
    assert r.returncode == 64  # EX_USAGE, as memcached
    assert r.stderr.strip(), "a one-line reason on stderr"


# --- valgrind ------------------------------------------------------------------------

def _valgrind_module():
    path = os.path.join(conftest.ROOT, "fuzz", "valgrind_smoke.py")
    spec = importlib.util.spec_from_file_location("valgrind_smoke", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _has_interpreter(path):
    """A dynamically linked ELF names its loader (a PT_INTERP program header)."""
    headers = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True,
                             timeout=10).stdout
    return "INTERP" in headers


@pytest.mark.memg_only
def test_valgrind_no_leak_at_shutdown():
    if not os.access("/usr/bin/valgrind", os.X_OK):
        pytest.skip("no valgrind")
    if SANITIZED:
        pytest.skip("valgrind does not run sanitizer builds")
    # make e2e names the glibc build when the server itself is static musl
    binary = os.environ.get("MEMG_VALGRIND_BIN") or memg_bin()
    if not _has_interpreter(binary):
        pytest.skip("valgrind sees no malloc in a static binary: set MEMG_VALGRIND_BIN")
    res = _valgrind_module().run(binary, quick=True)
    print("valgrind:", res)
    assert res["ok"], res
