"""`lru_crawler metadump all` streams, as memcached's does: a cache whose
metadata lines pass 64 MB is listed whole (every key once, then END), the
server's memory does not grow by the dump, another client is answered while
a slow reader drains it, a command pipelined after it is answered after END,
and a reader that hangs up mid-dump leaves a server that serves on."""
import re
import socket
import time

import pytest


pytestmark = pytest.mark.memg_only

N = 740_000  # "key=metadump-stream-test-key%3A0000000 exp=-1 ... size=89\n": ~95 bytes, 70 MB
KEY = b"metadump-stream-test-key:%07d"


def fill(srv, n):
    """n one-byte items, set pipelined without replies; mn says they are in."""
    with socket.create_connection(srv.addr, timeout=30) as s:
        for i in range(0, n, 20_000):
            s.sendall(b"".join(b"set " + KEY % j + b" 0 0 1 noreply\r\nx\r\n"
                               for j in range(i, min(n, i + 20_000))))
        s.sendall(b"mn\r\n")
        got, deadline = b"", time.monotonic() + 30
        while not got.endswith(b"MN\r\n"):
            assert time.monotonic() < deadline, got[-200:]
            got += s.recv(4096)
        assert got == b"MN\r\n", got[:200]


def rss_kb(srv):
    with open("/proc/%d/status" % srv.proc.pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def get_ms(g, key):
    t = time.perf_counter()
    g.sendall(b"get " + key + b"\r\n")
    r = b""
    while not r.endswith(b"END\r\n"):
        r += g.recv(4096)
    assert r == b"VALUE " + key + b" 0 1\r\nx\r\nEND\r\n", r
    return (time.perf_counter() - t) * 1000


def test_metadump_streams_past_64mb(server_factory):
    srv = server_factory("-m", "1024")
    fill(srv, N)
    rss0 = rss_kb(srv)
    d = socket.socket()
    d.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)  # a slow reader's small window
    d.settimeout(30)
    d.connect(srv.addr)
    g = socket.create_connection(srv.addr, timeout=10)
    d.sendall(b"lru_crawler metadump all\r\nget " + KEY % 1 + b"\r\nversion\r\n")
    chunks, lat, rss_max, reads = [], [], rss0, 0
    tail = b"END\r\nVALUE " + KEY % 1 + b" 0 1\r\nx\r\nEND\r\nVERSION "
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline, "the dump did not end within 60 s"
        c = d.recv(1 << 14)
        assert c, "connection closed mid-dump"
        chunks.append(c)
        reads += 1
        if tail in b"".join(chunks[-2:]) and chunks[-1].endswith(b"\r\n"):
            break
        if reads % 16 == 0:  # the other client, while the dump is being read
            lat.append(get_ms(g, KEY % (reads % N)))
            rss_max = max(rss_max, rss_kb(srv))
        time.sleep(0.0005)  # about 25 MB/s
    data = b"".join(chunks)
    assert data.startswith(b"OK\r\n")  # memcached 1.6.43 on: OK, then the lines
    dump, _, after = data[4:].partition(b"END\r\n")
    assert after.startswith(b"VALUE " + KEY % 1 + b" 0 1\r\nx\r\nEND\r\nVERSION ")
    assert len(dump) > 64 << 20, len(dump)  # what one reply used to be cut at
    lines = dump.split(b"\n")
    assert lines.pop() == b""
    line = re.compile(rb"^key=metadump-stream-test-key%3A(\d{7}) exp=-1 la=\d+ cas=\d+ "
                      rb"fetch=(no|yes) cls=1 size=\d+ flags=0 $")
    seen = bytearray(N)
    for ln in lines:
        m = line.match(ln)
        assert m, ln
        seen[int(m.group(1))] += 1
    assert seen.count(1) == N, "keys listed other than once: %d" % (N - seen.count(1))
    lat.sort()
    assert len(lat) >= 100, len(lat)
    # a get waits behind one slice (8 KB of lines) at most, not behind the dump
    assert lat[len(lat) // 2] < 5 and lat[len(lat) * 9 // 10] < 50, (lat[len(lat) // 2], lat[-5:])
    # the dump is held a slice at a time: memory does not grow by its 69 MB
    assert rss_max - rss0 < 8 * 1024, (rss0, rss_max)
    d.close()
    g.close()


def test_metadump_reader_hangs_up(server_factory):
    srv = server_factory("-m", "64")
    fill(srv, 100_000)
    for _ in range(3):
        with socket.create_connection(srv.addr, timeout=10) as d:
            d.sendall(b"lru_crawler metadump all\r\n")
            got = b""
            while len(got) < 10:
                got += d.recv(4096)
            assert got.startswith(b"OK\r\nkey=")
    with srv.raw() as r:
        deadline = time.monotonic() + 10
        while b"STAT curr_connections 1\r\n" not in r.cmd(b"stats\r\n"):
            assert time.monotonic() < deadline, "dumping connections were not closed"
            time.sleep(0.05)
        assert r.cmd(b"get " + KEY % 7 + b"\r\n") == b"VALUE " + KEY % 7 + b" 0 1\r\nx\r\nEND\r\n"
        # a whole dump on the same connection still ends with END
        r.send(b"lru_crawler metadump all\r\nmn\r\n")
        out = r.read_until(b"END\r\nMN\r\n")
        assert out.count(b"\n") == 100_000 + 3  # OK, the lines, END, MN
    assert srv.alive()


def test_metadump_after_values_received_into_their_items(server_factory):
    """A value too large for the read buffer leaves the session's cas (cas)
    or meta line (ms) behind, where a dump keeps its walk: each dump starts
    afresh all the same."""
    srv = server_factory()
    v = b"v" * 100_000
    with srv.raw() as r:
        assert r.cmd(b"set big 0 0 1\r\nx\r\n") == b"STORED\r\n"
        cas = int(r.cmd(b"gets big\r\n").split()[4])
        assert r.cmd(b"cas big 0 0 %d %d\r\n" % (len(v), cas) + v + b"\r\n") == b"STORED\r\n"
        r.send(b"lru_crawler metadump all\r\n")
        assert r.read_until(b"END\r\n").startswith(b"OK\r\nkey=big exp=-1 ")
        assert r.cmd(b"ms big2 %d T0\r\n" % len(v) + v + b"\r\n") == b"HD\r\n"
        r.send(b"lru_crawler metadump all\r\n")
        assert r.read_until(b"END\r\n").count(b"\n") == 4
