"""Connection life on every protocol (text, meta, binary, HTTP): how a
connection ends, and what it leaves behind.

- A client that half-closes (shutdown(SHUT_WR)) after a pipelined batch
  whose answers are megabytes gets every answer, then the close: the same
  bytes as on a connection that stays open, and (text, meta, binary) as
  memcached 1.6.18 sends them.
- A reset (SO_LINGER 0) in the middle of a large value publishes nothing
  and leaks nothing: curr_items and bytes as before, the old value still
  there, file descriptors and RSS flat.
- Clients reading one byte a second with megabytes of answers pending: the
  others are served meanwhile, memory stays bounded.
- Thousands of connections opened and closed (answered, cut, reset): no
  growth of file descriptors or memory.

HTTP is memg's alone: those cases run against memg only. Bounded in time
(about 30 s in all); loopback only.
"""
import os
import re
import socket
import struct
import threading
import time

import pytest

from conftest import HOST, IS_MEMCACHED, start_server
from test_hostile import ASAN_ENV, SANITIZED, rss_kb

PROTOS = ["text", "meta", "binary", "http"]
BIG = 700 * 1024


# --- each protocol's requests ------------------------------------------------

def _bin(op, key=b"", value=b"", extras=b"", opaque=0):
    return struct.pack(">BBHBBHIIQ", 0x80, op, len(key), len(extras), 0, 0,
                       len(extras) + len(key) + len(value), opaque, 0) + extras + key + value


def store_req(proto, key, value):
    """A request storing value under key, and the head of it that precedes
    the value (for cutting it off)."""
    if proto == "text":
        head = b"set %s 3 0 %d\r\n" % (key, len(value))
        return head + value + b"\r\n", head
    if proto == "meta":
        head = b"ms %s %d F3\r\n" % (key, len(value))
        return head + value + b"\r\n", head
    if proto == "binary":
        req = _bin(0x01, key, value, struct.pack(">II", 3, 0))
        return req, req[:-len(value)]
    head = b"PUT /k/%s?flags=3 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (key, len(value))
    return head + value, head


def get_req(proto, key):
    if proto == "text":
        return b"get %s\r\n" % key
    if proto == "meta":
        return b"mg %s v f k\r\n" % key
    if proto == "binary":
        return _bin(0x0c, key)  # GETK
    return b"GET /k/%s HTTP/1.1\r\nHost: x\r\n\r\n" % key


# A request whose answer ends a batch on a connection that stays open.
SENTINEL = {"text": b"mn\r\n", "meta": b"mn\r\n", "binary": _bin(0x0a, opaque=0xfeed),
            "http": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"}


def mask_cas(proto, reply):
    """Binary answers carry CAS values, which differ between servers."""
    if proto != "binary":
        return reply
    out, at = bytearray(reply), 0
    while at + 24 <= len(out):
        out[at + 16:at + 24] = bytes(8)
        at += 24 + struct.unpack_from(">I", out, at + 8)[0]
    return bytes(out)


# --- servers -------------------------------------------------------------------

class Target:
    """A server and where each protocol is spoken: its port, and for HTTP
    the port of -o http_port=0."""

    def __init__(self, srv):
        self.srv = srv
        self.http_port = None
        deadline = time.monotonic() + 5
        while srv.kind == "memg" and self.http_port is None and time.monotonic() < deadline:
            m = re.search(r"HTTP on port (\d+)", srv.log_text())
            if m:
                self.http_port = int(m.group(1))
            else:
                time.sleep(0.02)

    def connect(self, proto, timeout=10, rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connect: a fixed window, no autotuning
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect((HOST, self.http_port if proto == "http" else self.srv.port))
        return s

    def stats(self):
        with self.srv.raw() as r:
            text = r.cmd(b"stats\r\n")
        return {p[1].decode(): p[2].decode() for p in
                (ln.split(b" ", 2) for ln in text.split(b"\r\n")) if len(p) == 3}

    def fds(self):
        """Open file descriptors, once the last stats connection is gone."""
        time.sleep(0.2)
        return len(os.listdir("/proc/%d/fd" % self.srv.proc.pid))

    def rss(self):
        return rss_kb(self.srv.proc.pid)

    def idle(self):
        """curr_connections once the connections closed before settle
        (this stats connection included)."""
        time.sleep(0.3)
        return int(self.stats()["curr_connections"])

    def wait_connections(self, want, timeout=10):
        """curr_connections back to want (this stats connection included)."""
        deadline = time.monotonic() + timeout
        while int(self.stats()["curr_connections"]) != want and time.monotonic() < deadline:
            time.sleep(0.05)
        return int(self.stats()["curr_connections"])


def _flags(kind):
    """-I 4m for 2 MB values; memg also serves HTTP on a free port."""
    return ["-I", "4m", "-m", "256"] + (["-o", "http_port=0"] if kind == "memg" else [])


@pytest.fixture
def targets(tmp_path, monkeypatch):
    """start(kind) -> Target; stopped at the end."""
    if SANITIZED:
        monkeypatch.setenv("ASAN_OPTIONS", ASAN_ENV)
    started = []

    def start(kind):
        t = Target(start_server(kind, _flags(kind), str(tmp_path)))
        started.append(t)
        return t

    yield start
    for t in started:
        t.srv.stop()


def under_test(targets, proto):
    if proto == "http" and IS_MEMCACHED:
        pytest.skip("HTTP is memg's")
    return targets("memcached" if IS_MEMCACHED else "memg")


def store(t, proto, items):
    """Store items ({key: value}) over proto, each answered."""
    with t.connect(proto) as s:
        for k, v in items.items():
            s.sendall(store_req(proto, k, v)[0])
            got = s.recv(4096)
            if proto == "binary":
                assert got[:2] == b"\x81\x01" and got[6:8] == b"\0\0", got
            else:
                assert got.startswith((b"STORED\r\n", b"HD\r\n", b"HTTP/1.1 204")), got


def recv_until_eof(s, deadline):
    """Everything until the peer closes: (bytes, True), or (bytes, False)
    when the time runs out first."""
    got = []
    while time.monotonic() < deadline:
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            continue
        if not d:
            return b"".join(got), True
        got.append(d)
    return b"".join(got), False


def recv_until_suffix(s, suffix, deadline):
    got = b""
    while not got.endswith(suffix) and time.monotonic() < deadline:
        d = s.recv(1 << 20)
        assert d, "closed early"
        got += d
    return got


# --- half-close ------------------------------------------------------------------

def _batch(proto):
    """Values to store and a pipelined batch reading them: 2,000 small
    reads (requests longer than one read buffer) and four 700 KB values
    three times each (8 MB of answers, far past out_limit and the socket
    buffers)."""
    items = {b"s%d" % i: b"small-%d" % i * 3 for i in range(40)}
    items.update({b"big%d" % i: bytes([65 + i]) * BIG for i in range(4)})
    reqs = [get_req(proto, b"s%d" % (i % 40)) for i in range(2000)]
    for rnd in range(3):
        reqs += [get_req(proto, b"big%d" % i) for i in range(4)]
        reqs += [get_req(proto, b"miss%d" % rnd)] if proto != "http" else []
    return items, b"".join(reqs)


def half_closed_reply(t, proto, batch):
    """The batch sent at once, then shutdown(SHUT_WR): all that comes back
    before the close (the client reads only after sending it all)."""
    with t.connect(proto, timeout=5) as s:
        sender = threading.Thread(target=lambda: (s.sendall(batch), s.shutdown(socket.SHUT_WR)))
        sender.start()
        got, closed = recv_until_eof(s, time.monotonic() + 30)
        sender.join(10)
    assert closed, "%s: no close after %d bytes" % (proto, len(got))
    return got


@pytest.mark.parametrize("proto", PROTOS)
def test_half_close_gets_every_answer_then_the_close(targets, proto):
    t = under_test(targets, proto)
    items, batch = _batch(proto)
    store(t, proto, items)
    with t.connect(proto) as s:  # the answers on a connection that stays open
        threading.Thread(target=s.sendall, args=(batch + SENTINEL[proto],)).start()
        sentinel_reply = {"text": b"MN\r\n", "meta": b"MN\r\n", "binary": b"",
                          "http": b"\r\n\r\nok\n"}[proto]
        if proto == "binary":
            want = b""
            while len(want) < 24 or want[-24:-23] != b"\x81" or want[-23:-22] != b"\x0a":
                want += s.recv(1 << 20)
            want = want[:-24]
        else:
            want = recv_until_suffix(s, sentinel_reply, time.monotonic() + 30)
            want = want[:want.rindex(b"HTTP/1.1 200")] if proto == "http" else want[:-4]
    assert len(want) > 8 * BIG
    got = half_closed_reply(t, proto, batch)
    assert len(got) == len(want) and got == want, (proto, len(got), len(want))
    if proto != "http" and not IS_MEMCACHED:  # and as memcached answers it
        ref = targets("memcached")
        store(ref, proto, items)
        theirs = half_closed_reply(ref, proto, batch)
        assert mask_cas(proto, got) == mask_cas(proto, theirs), proto


# --- reset mid-value ---------------------------------------------------------------

def _settle(t, base_conns):
    assert t.wait_connections(base_conns) == base_conns
    time.sleep(0.1)


@pytest.mark.parametrize("proto", PROTOS)
def test_reset_mid_value_publishes_nothing_leaks_nothing(targets, proto):
    t = under_test(targets, proto)
    store(t, proto, {b"kept": b"old value"})
    value = os.urandom(2 << 20)
    base = t.idle()
    before = t.stats()
    fds0, rss0 = t.fds(), None
    for i in range(40):
        key = b"kept" if i % 2 else b"fresh%d" % i
        req, head = store_req(proto, key, value)
        s = t.connect(proto)
        s.sendall(req[:len(head) + (i * 48271) % len(value)])  # cut anywhere in the value
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        if i == 9:
            _settle(t, base)
            rss0 = t.rss()
    _settle(t, base)
    after = t.stats()
    for name in ("curr_items", "bytes", "total_items"):
        assert after[name] == before[name], (proto, name, before[name], after[name])
    with t.srv.raw() as r:
        assert r.cmd(b"get kept fresh0 fresh2\r\n") == b"VALUE kept 3 9\r\nold value\r\nEND\r\n"
    assert t.fds() == fds0, proto
    rss1 = t.rss()
    print("%s: 40 resets mid 2 MB value: fds %d, rss %d -> %d KB" % (proto, fds0, rss0, rss1))
    assert rss1 - rss0 < (16 if SANITIZED else 4) * 1024, (proto, rss0, rss1)


# --- slow readers ------------------------------------------------------------------

def test_slow_readers_others_served_memory_bounded(targets):
    """One client per protocol asks for 8 MB (eight 1 MB values) and reads
    one byte a second for 8 s through a 4 KB window; meanwhile a client of
    each protocol gets every answer within a second, and memg's RSS grows
    by less than 8 MB in all. The slow ones then leave and their bytes go."""
    protos = [p for p in PROTOS if not (p == "http" and IS_MEMCACHED)]
    t = targets("memcached" if IS_MEMCACHED else "memg")
    store(t, "text", {b"mb%d" % i: bytes([97 + i]) * (1 << 20) for i in range(8)})
    store(t, "text", {b"small": b"s" * 100})
    base = t.idle()
    rss0 = t.rss()
    slow = []
    for p in protos:
        s = t.connect(p, rcvbuf=4096)
        s.sendall(b"".join(get_req(p, b"mb%d" % i) for i in range(8)))
        slow.append(s)
    stop = time.monotonic() + 8
    read = [0] * len(slow)
    worst, served, rss_max = 0.0, 0, rss0
    fast = {p: t.connect(p, timeout=5) for p in protos}
    while time.monotonic() < stop:
        for i, s in enumerate(slow):
            read[i] += len(s.recv(1))
        for p, s in fast.items():
            t0 = time.monotonic()
            s.sendall(get_req(p, b"small"))
            got = s.recv(4096)
            while b"s" * 100 not in got:
                got += s.recv(4096)
            worst = max(worst, time.monotonic() - t0)
            served += 1
        rss_max = max(rss_max, t.rss())
        time.sleep(max(0.0, 1 - (time.monotonic() % 1)))
    for s in list(fast.values()) + slow:
        s.close()
    assert all(n >= 6 for n in read), read
    assert worst < 1.0, worst
    print("slow readers: %d fast answers, worst %.3f s; rss %d -> max %d KB"
          % (served, worst, rss0, rss_max))
    assert rss_max - rss0 < (32 if SANITIZED else 8) * 1024, (rss0, rss_max)
    assert t.wait_connections(base) == base


# --- many connections --------------------------------------------------------------

def test_thousands_of_connections_no_growth(targets):
    """4,000 connections over every protocol: answered and closed, cut
    mid-request, reset with the answer pending, or closed at once. File
    descriptors as before, RSS within 1 MB of the level after the first
    thousand (warm)."""
    protos = [p for p in PROTOS if not (p == "http" and IS_MEMCACHED)]
    t = targets("memcached" if IS_MEMCACHED else "memg")
    for p in protos:
        store(t, p, {b"k-" + p.encode(): b"v" * 3000})
    base = t.idle()
    fds0 = t.fds()
    rss_warm = None
    t0 = time.monotonic()
    for i in range(4000):
        p = protos[i % len(protos)]
        req = get_req(p, b"k-" + p.encode())
        s = t.connect(p)
        how = (i // len(protos)) % 4
        if how == 0:
            s.sendall(req)
            got = s.recv(8192)
            while len(got) < 3000:
                got += s.recv(8192)
        elif how == 1:
            s.sendall(req[:len(req) // 2])
        elif how == 2:
            s.sendall(req * 3)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        if i == 999:
            _settle(t, base)
            rss_warm = t.rss()
    elapsed = time.monotonic() - t0
    _settle(t, base)
    fds1, rss1 = t.fds(), t.rss()
    print("4,000 connections in %.1f s: fds %d -> %d, rss %d -> %d KB"
          % (elapsed, fds0, fds1, rss_warm, rss1))
    assert fds1 == fds0
    assert rss1 - rss_warm < (8 if SANITIZED else 1) * 1024, (rss_warm, rss1)
