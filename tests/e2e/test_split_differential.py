"""The split differential: a request sequence of each protocol sent cut into
reads as a real network may cut it, answered byte for byte as memcached
1.6.45 (the current reference; SASL: 1.6.18) answers the same cuts (HTTP, which memcached lacks: as memg answers
the sequence sent whole).

Each sequence (ending in a quit: the replies are read to the close) is
sent in two writes at every split point, then in many small writes (one
byte each, and seeded random sizes), and a sequence with
large values (past one read buffer) in TCP-segment-sized writes and at
split points around its headers and value ends. The client sets TCP_NODELAY
and pauses after each write so that the server reads every piece on its
own (a loaded machine may still merge two pieces: that cut is then not
tried, never wrongly failed). Both servers get each cut at the same time.

Every run uses keys of its own (a fixed-width run number in each key) so
that the sequences never see each other's items. Masked before comparing:
binary CAS values (each distinct CAS becomes its first-seen ordinal) and
HTTP ETags. Sequences hold no `gets`/`cas` (a CAS's width changes the
reply's length), nothing that reads the clock, and none of the quiet meta
answers that changed after 1.6.18 (test_meta.py checks those).
"""
import itertools
import random
import re
import socket
import struct
import time

import pytest

import mcbin as B
from conftest import HOST
from mcraw import Raw
from test_binary_differential import SASL_PASS, SASL_USER, sasl_env  # noqa: F401 (a fixture)
from test_http import http_port_of

PAUSE = 0.003       # after each piece of a two-write split
SMALL_PAUSE = 0.001  # after each of many small writes
SEGMENT = 1448       # a TCP segment's payload on a 1500-byte MTU
RUN = itertools.count(1)


def _connect(addr):
    return Raw(addr[0], addr[1])  # TCP_NODELAY on


def _read(sock, n, timeout):
    """Up to n bytes: fewer when the server closes or the time runs out."""
    out = b""
    deadline = time.monotonic() + timeout
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            d = sock.recv(n - len(out))
        except (socket.timeout, ConnectionResetError):
            break
        if not d:
            break
        out += d
    return out


def exchange(addrs, data, cuts, want=None, pause=PAUSE):
    """Send data to every address in pieces ending before each offset of
    cuts, pausing after each piece; then read want bytes of each reply (or
    up to the close that every sequence ends in)."""
    conns = [_connect(a) for a in addrs]
    try:
        prev = 0
        for c in list(cuts) + [len(data)]:
            for r in conns:
                r.send(data[prev:c])
            prev = c
            if c < len(data):
                time.sleep(pause)
        # the first (the reference) has had its time: the rest get a grace
        return [_read(r.sock, want, 5.0 if i == 0 else 2.0) for i, r in enumerate(conns)]
    finally:
        for r in conns:
            r.close()


# --- sequences: run number -> bytes ----------------------------------------

TEXT = (b"set {k}a 0 0 3 noreply\r\nabc\r\nset {k}b 5 0 4\r\nwxyz\r\n"
        b"append {k}a 0 0 2 noreply\r\nde\r\nprepend {k}b 0 0 1 noreply\r\n_\r\n"
        b"add {k}b 0 0 1\r\nx\r\nreplace {k}c 0 0 1\r\nx\r\nget {k}a {k}b {k}c\r\n"
        b"set {k}n 0 0 2 noreply\r\n10\r\nincr {k}n 5\r\ndecr {k}n 20 noreply\r\n"
        b"touch {k}a 1000\r\ndelete {k}b noreply\r\ndelete {k}b\r\n"
        b"set {k}e 0 0 2\r\nabcd\r\nincr {k}a 1\r\n")
TEXT_BIG = b"set {k}big 9 0 {n}\r\n{v}\r\nget {k}a {k}missing {k}n {k}big\r\nquit\r\n"
TEXT_END = b"get {k}a {k}missing {k}n\r\nquit\r\n"

META = (b"ms {k}1 5 T0 F3\r\nhello\r\nms {k}2 3 q\r\nabc\r\nmg {k}1 v f k\r\n"
        b"mg {k}2 v q\r\nmg {k}miss v q\r\nmg {k}1 s v q k Oab\r\nmn\r\n"
        b"md {k}2 q\r\nmd {k}2\r\nma {k}cnt N0 J5 v\r\nma {k}cnt v\r\nma {k}cnt q D2\r\n"
        b"mg {k}2 v\r\nms {k}3 2 MA\r\nxy\r\nms {k}1 2 MA q\r\n!!\r\nmg {k}1 v\r\n")
META_BIG = b"ms {k}big {n} F9\r\n{v}\r\nmg {k}big s v f\r\nmn\r\nquit\r\n"
META_END = b"mn\r\nquit\r\n"


def _fill(template, k, big):
    value = bytes(range(256)) * (big // 256) + b"x" * (big % 256)
    return template.replace(b"{k}", k).replace(b"{n}", b"%d" % big).replace(b"{v}", value)


def text_seq(r, big=0):
    k = b"t%06d:" % r
    return _fill(TEXT + (TEXT_BIG if big else TEXT_END), k, big)


def meta_seq(r, big=0):
    k = b"m%06d:" % r
    return _fill(META + (META_BIG if big else META_END), k, big)


def bin_seq(r, big=0):
    k = b"b%06d:" % r
    o = itertools.count(r * 100)
    s = (B.set_(k + b"k", b"0123456789", flags=1, opaque=next(o))
         + B.set_(k + b"q", b"abcdefghij", flags=2, opaque=next(o), quiet=True)
         + B.concat("APPEND", k + b"k", b"tail", opaque=next(o))
         + B.concat("APPENDQ", k + b"q", b"!", opaque=next(o))
         + B.get(k + b"k", opaque=next(o), op="GETQ")
         + B.get(k + b"nokey", opaque=next(o), op="GETKQ")
         + B.get(k + b"q", opaque=next(o), op="GETK")
         + B.delta("INCREMENTQ", k + b"c", by=3, initial=9, opaque=next(o))
         + B.delta("INCREMENT", k + b"c", by=3, opaque=next(o))
         + B.delta("DECREMENT", k + b"c", by=100, opaque=next(o))
         + B.store("ADD", k + b"k", b"x", opaque=next(o))
         + B.store("REPLACEQ", k + b"none", b"x", opaque=next(o))
         + B.touch("TOUCH", k + b"k", 1000, opaque=next(o))
         + B.touch("GATK", k + b"q", 1000, opaque=next(o))
         + B.delete(k + b"k", opaque=next(o), quiet=True)
         + B.get(k + b"k", opaque=next(o)))
    if big:
        s += (B.set_(k + b"big", bytes(range(256)) * (big // 256) + b"y" * (big % 256),
                     flags=7, opaque=next(o))
              + B.get(k + b"big", opaque=next(o), op="GETK"))
    return s + B.noop(opaque=next(o)) + B.quit(opaque=next(o))


def sasl_seq(r):
    """A batch that makes memg yield (-R: 20 requests a turn), then a login
    that the cuts split: the leftover of a turn must not shrink what the
    buffer may hold (a split SASL step was refused ENOMEM)."""
    k = b"s%06d:" % r
    return (B.sasl_list(opaque=r) * 20
            + B.sasl_auth(b"PLAIN", B.plain(SASL_USER, b"wrong"), opaque=r + 1)
            + B.sasl_auth(b"PLAIN", B.plain(SASL_USER, SASL_PASS), opaque=r + 2)
            + B.set_(k + b"s", b"secret", opaque=r + 3, quiet=True)
            + B.get(k + b"s", opaque=r + 4, op="GETK")
            + B.noop(opaque=r + 5) + B.quit(opaque=r + 6))


def http_seq(r, big=0):
    k = b"h%06d" % r
    body = b"hello world"
    s = (b"PUT /k/" + k + b"a HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n" + body
         + b"GET /k/" + k + b"a HTTP/1.1\r\nHost: x\r\n\r\n"
         + b"GET /k/" + k + b"none HTTP/1.1\r\nHost: x\r\n\r\n"
         + b"PUT /k/" + k + b"b?flags=7 HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n"
         + b"abcdefghijklmnopqrstuvwxyz0123"
         + b"HEAD /k/" + k + b"b HTTP/1.1\r\nHost: x\r\n\r\n"
         + b"GET /k/" + k + b"b HTTP/1.1\r\nHost: x\r\n\r\n"
         + b"DELETE /k/" + k + b"a HTTP/1.1\r\nHost: x\r\n\r\n")
    if big:
        s += (b"PUT /k/" + k + b"big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % big
              + b"w" * big + b"GET /k/" + k + b"big HTTP/1.1\r\nHost: x\r\n\r\n")
    return s + b"GET /k/" + k + b"a HTTP/1.0\r\n\r\n"


# --- masking ----------------------------------------------------------------

def mask_bin(reply):
    """Each distinct non-zero CAS becomes its first-seen ordinal."""
    out, pos, seen = bytearray(reply), 0, {}
    while pos + 24 <= len(out):
        body = struct.unpack_from(">I", out, pos + 8)[0]
        cas = struct.unpack_from(">Q", out, pos + 16)[0]
        if cas:
            struct.pack_into(">Q", out, pos + 16, seen.setdefault(cas, len(seen) + 1))
        pos += 24 + body
    return bytes(out)


def mask_http(reply):
    return re.sub(rb'ETag: "\d+"', b'ETag: "N"', reply)


def plain(reply):
    return reply


# --- the differential ---------------------------------------------------------

def _cuts_small(n, rng, most):
    cuts, at = [], 0
    while True:
        at += rng.randint(1, most)
        if at >= n:
            return cuts
        cuts.append(at)


def split_plans(n, big=False):
    """(label, cuts) of every plan for an n-byte sequence."""
    rng = random.Random(22 + n)
    if not big:
        for c in range(1, n):
            yield "split at %d" % c, [c], PAUSE
        yield "1-byte writes", list(range(1, n)), SMALL_PAUSE
        for _ in range(3):
            yield "writes of 1..40", _cuts_small(n, rng, 40), SMALL_PAUSE
        return
    yield "segments", list(range(SEGMENT, n, SEGMENT)), PAUSE
    yield "writes of 1..3000", _cuts_small(n, rng, 3000), PAUSE
    for c in list(range(1, 80)) + list(range(n - 200, n)) + list(range(80, n - 200, 997)):
        yield "split at %d" % c, [c], PAUSE


def differential(ref, sut, build, mask, expect, big=False):
    """Every plan's replies, ref and sut alike (ref None: sut's whole reply
    is the reference). Returns (plans run, differences)."""
    whole_addrs = [ref] if ref else [sut]
    first = build(next(RUN))
    (whole,) = exchange(whole_addrs, first, [], 1 << 30)  # read to the quit's close
    for e in expect:
        assert e in whole, (e, whole[:600])
    want = len(whole)
    diffs, plans = [], 0
    for label, cuts, pause in split_plans(len(first), big):
        data = build(next(RUN))
        assert len(data) == len(first)
        if ref:
            a, b = exchange([ref, sut], data, cuts, want, pause)
        else:  # the sequence ends in a close: read to it (ETags change the length)
            (a,) = exchange([sut], data, [], 1 << 30, 0)
            (b,) = exchange([sut], data, cuts, 1 << 30, pause)
            want = len(a)
        plans += 1
        if len(a) != want or mask(a) != mask(b):
            diffs.append((label, a, b))
            if len(diffs) == 5:  # enough to show; the rest would only cost time
                break
    return plans, diffs


def _report(name, plans, diffs):
    lines = ["%s: %d of the %d plans run differ" % (name, len(diffs), plans)]
    for label, a, b in diffs[:4]:
        i = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        lines.append("  %s: part at byte %d\n    reference %r\n    memg      %r"
                     % (label, i, a[max(0, i - 60):i + 80], b[max(0, i - 60):i + 80]))
    return "\n".join(lines)


@pytest.fixture
def pair(server_factory):
    """(memcached 1.6.45's address, the server under test's)."""
    return server_factory(kind="memcached145").addr, server_factory().addr


TEXT_EXPECT = [b"NOT_STORED\r\nNOT_STORED\r\nVALUE ", b"CLIENT_ERROR bad data chunk\r\n", b"TOUCHED"]
META_EXPECT = [b"VA 5 f3 k", b"MN\r\n", b"EN\r\n"]
BIN_EXPECT = [b"0123456789tail", b"abcdefghij!"]


@pytest.mark.parametrize("name,build,mask,expect", [
    ("text", text_seq, plain, TEXT_EXPECT),
    ("meta", meta_seq, plain, META_EXPECT),
    ("binary", bin_seq, mask_bin, BIN_EXPECT),
])
def test_split_everywhere(pair, name, build, mask, expect):
    plans, diffs = differential(pair[0], pair[1], build, mask, expect)
    assert not diffs, _report(name, plans, diffs)


@pytest.mark.parametrize("name,build,mask,expect", [
    ("text", text_seq, plain, [b" 9 20000\r\n\x00\x01\x02"]),
    ("meta", meta_seq, plain, [b"VA 20000 s20000 f9\r\n"]),
    ("binary", bin_seq, mask_bin, [b"y" * 32]),
])
def test_split_large_values(pair, name, build, mask, expect):
    """A 20 KB value (past one 16 KB read buffer): received into its item
    while the cuts fall anywhere."""
    plans, diffs = differential(pair[0], pair[1], lambda r: build(r, big=20000), mask, expect,
                                big=True)
    assert not diffs, _report(name + " large", plans, diffs)


@pytest.mark.parametrize("size", [3000])
def test_split_binary_set_in_segments(pair, size):
    """The issue's case: a binary SET of a value just over two TCP segments,
    delivered a segment at a time (pylibmc through a relay failed here)."""
    plans, diffs = differential(pair[0], pair[1], lambda r: bin_seq(r, big=size), mask_bin,
                                [b"y" * 32], big=True)
    assert not diffs, _report("binary %d" % size, plans, diffs)


def test_split_binary_sasl(server_factory, sasl_env):  # noqa: F811 (the imported fixture)
    ref = server_factory("-S", kind="memcached").addr
    sut = server_factory("-S").addr
    plans, diffs = differential(ref, sut, sasl_seq, mask_bin, [b"PLAIN", b"Authenticated",
                                                               b"secret"])
    assert not diffs, _report("sasl", plans, diffs)


@pytest.mark.memg_only
@pytest.mark.parametrize("big", [0, 20000])
def test_split_http(server_factory, big):
    """HTTP (memg only): every cut answered as the sequence sent whole."""
    srv = server_factory("-o", "http_port=0")
    addr = (HOST, http_port_of(srv))
    plans, diffs = differential(None, addr, lambda r: http_seq(r, big), mask_http,
                                [b"\r\n\r\nhello world", b"Memg-Flags: 7\r\n",
                                 b"HTTP/1.1 204 No Content\r\n"], big=bool(big))
    assert not diffs, _report("http", plans, diffs)


def test_half_close_after_a_pipeline(pair):
    """A client that half-closes after a pipelined batch (many times -R's
    20 requests a turn) gets every answer, then the close."""
    for data in (b"get k\r\n" * 2000, B.get(b"k", op="GETK") * 2000 + B.noop()):
        conns = [_connect(a) for a in pair]
        for r in conns:
            r.send(data)
            r.sock.shutdown(socket.SHUT_WR)
        ref, sut = [_read(r.sock, 1 << 30, 5.0) for r in conns]  # to the close
        for r in conns:
            r.close()
        assert len(ref) > 100 and sut == ref, (len(ref), len(sut))
