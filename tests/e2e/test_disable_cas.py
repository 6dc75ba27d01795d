"""-C (--disable-cas): every cas reads 0, and a compare on a present item
fails whatever unique the client sent, as Debian's memcached 1.6.18 -C
answers (E2E_SERVER=memcached runs these against it). Items cost less: memg
writes the cas in 1 byte instead of 1-3, memcached drops its 8."""
import re

import pytest

import mcbin as B
from conftest import IS_MEMCACHED

# (request, reply), in order on one connection; memcached -C's answers.
TEXT = [
    (b"set k 5 0 1\r\na\r\n", b"STORED\r\n"),
    (b"gets k\r\n", b"VALUE k 5 1 0\r\na\r\nEND\r\n"),
    (b"gats 100 k\r\n", b"VALUE k 5 1 0\r\na\r\nEND\r\n"),
    (b"gat 100 k\r\n", b"VALUE k 5 1\r\na\r\nEND\r\n"),
    (b"touch k 0\r\n", b"TOUCHED\r\n"),
    (b"mg k c v f\r\n", b"VA 1 c0 f5\r\na\r\n"),
    (b"mg k C5 c\r\n", b"HD c0\r\n"),
    (b"cas k 0 0 1 0\r\nb\r\n", b"EXISTS\r\n"),
    (b"cas k 0 0 1 1\r\nb\r\n", b"EXISTS\r\n"),
    (b"cas k 0 0 1 18446744073709551615\r\nb\r\n", b"EXISTS\r\n"),
    (b"cas nokey 0 0 1 0\r\nb\r\n", b"NOT_FOUND\r\n"),
    (b"cas k 0 0 1 0 noreply\r\nb\r\n", b""),
    (b"get k\r\n", b"VALUE k 5 1\r\na\r\nEND\r\n"),
    (b"set n 0 0 1\r\n5\r\n", b"STORED\r\n"),
    (b"incr n 3\r\n", b"8\r\n"),
    (b"gets n\r\n", b"VALUE n 0 1 0\r\n8\r\nEND\r\n"),
    (b"incr n 100\r\n", b"108\r\n"),  # longer: a new item
    (b"gets n\r\n", b"VALUE n 0 3 0\r\n108\r\nEND\r\n"),
    (b"ma n v c\r\n", b"VA 3 c0\r\n109\r\n"),
    (b"ma n C0 v c\r\n", b"VA 3 c0\r\n110\r\n"),
    (b"ma n C5 v c\r\n", b"EX\r\n"),
    (b"ma missing C5 v c\r\n", b"NF\r\n"),
    (b"ma viv N0 J7 C5 v c\r\n", b"VA 1 c0\r\n7\r\n"),
    (b"ms k 1 C0\r\nx\r\n", b"EX\r\n"),
    (b"ms k 1 C5 c\r\nx\r\n", b"EX c0\r\n"),
    (b"ms k 1 MR C0 c\r\nx\r\n", b"EX c0\r\n"),
    (b"ms k 1 I C3\r\nx\r\n", b"EX\r\n"),
    (b"ms k 1 c\r\nx\r\n", b"HD c0\r\n"),
    (b"ms k 1 MA C5\r\ny\r\n", b"HD\r\n"),  # an append's cas is not compared
    (b"ms k 1 MP C0 c\r\nw\r\n", b"HD c0\r\n"),
    (b"mg k v c\r\n", b"VA 3 c0\r\nwxy\r\n"),
    (b"ms nk 1 C5\r\nz\r\n", b"NF\r\n"),
    (b"ms nk 1 MR C0 c\r\nz\r\n", b"NF c0\r\n"),
    (b"ms nk 1 ME C0 c\r\nz\r\n", b"HD c0\r\n"),
    (b"ms nk 1 ME C5 c\r\nz\r\n", b"NS c0\r\n"),
    (b"md k C5\r\n", b"EX\r\n"),
    (b"md k I C5\r\n", b"EX\r\n"),
    (b"md k C0\r\n", b"HD\r\n"),
    (b"md k C5\r\n", b"NF\r\n"),
    (b"set k 0 0 1\r\na\r\n", b"STORED\r\n"),
    (b"md k I\r\n", b"HD\r\n"),
    (b"mg k c v\r\n", b"VA 1 c0 X W\r\na\r\n"),
    (b"ms k 1 I C0\r\nb\r\n", b"EX\r\n"),
    (b"mg v2 N30 c v\r\n", b"VA 0 c0 W\r\n\r\n"),
    (b"append nk 0 0 1\r\n!\r\n", b"STORED\r\n"),
    (b"gets nk\r\n", b"VALUE nk 0 2 0\r\nz!\r\nEND\r\n"),
]


def _sync(r, data):
    """Send data and an mn; the bytes answered before MN."""
    r.send(data + b"mn\r\n")
    out = r.read_until(b"MN\r\n")
    return out[:-4]


def test_text_and_meta(server_factory):
    srv = server_factory("-C")
    with srv.raw() as r:
        for req, want in TEXT:
            assert _sync(r, req) == want, req
        me = _sync(r, b"me nk\r\n")
        assert re.fullmatch(rb"ME nk exp=-1 la=\d+ cas=0 fetch=yes cls=1 size=55\r\n", me), me
        stats = r.cmd(b"stats\r\n")
        for line in (b"cas_misses 3", b"cas_hits 0", b"cas_badval 9"):
            assert b"STAT " + line + b"\r\n" in stats, line
        assert b"STAT cas_enabled no\r\n" in r.cmd(b"stats settings\r\n")


def test_item_size_limit_drops_the_cas(server_factory):
    """memcached -C's item is 8 bytes smaller: 8 more bytes of value fit -I."""
    srv = server_factory("-C", "-I", "1m")
    with srv.raw() as r:
        most = (1 << 20) - 48 - 2 - 2  # header, key "k" and its NUL, \r\n
        for n, want in ((most, b"STORED\r\n"),
                        (most + 1, b"SERVER_ERROR object too large for cache\r\n")):
            assert r.cmd(b"set k 0 0 %d\r\n%s\r\n" % (n, b"v" * n)) == want, n


def test_binary(server_factory):
    """A set, add or replace with a cas is not a compare (the item has no
    room for it); incr and delete with one fail on a present item; every
    response's cas is 0."""
    srv = server_factory("-C")
    c = B.Conn(srv.addr)
    steps = [
        (B.set_(b"b", b"1"), "OK", b""),
        (B.get(b"b"), "OK", b"1"),
        (B.set_(b"b", b"2", cas=5), "OK", b""),
        (B.set_(b"miss", b"2", cas=5), "OK", b""),
        (B.store("REPLACE", b"b", b"3", cas=5), "OK", b""),
        (B.store("ADD", b"b", b"3", cas=5), "KEY_EEXISTS", None),
        (B.concat("APPEND", b"b", b"x", cas=5), "OK", b""),
        (B.get(b"b", op="GETK"), "OK", b"3x"),
        (B.set_(b"n", b"1"), "OK", b""),
        (B.delta("INCREMENT", b"n", 1), "OK", b"\0" * 7 + b"\2"),
        (B.delta("INCREMENT", b"n", 1, cas=5), "KEY_EEXISTS", None),
        (B.delta("INCREMENT", b"nn", 1, initial=4, cas=5), "OK", b"\0" * 7 + b"\4"),
        (B.delete(b"n", cas=5), "KEY_EEXISTS", None),
        (B.touch("TOUCH", b"n", 100), "OK", b""),
        (B.touch("GAT", b"n", 100), "OK", b"2"),
        (B.delete(b"nope", cas=5), "KEY_ENOENT", None),
        (B.delete(b"n"), "OK", b""),
    ]
    try:
        for i, (req, status, value) in enumerate(steps):
            c.send(req + B.noop(opaque=0x5E00 + i))
            rs, _ = c.read_until(lambda x: x.opcode == B.OP_NOOP)
            assert len(rs) == 2, (i, rs)
            r = rs[0]
            assert (B.STATUS[r.status], r.cas) == (status, 0), (i, r.value)
            if value is not None:
                assert r.value == value, i
    finally:
        c.close()


def _bytes(server_factory, *flags, n=1000):
    srv = server_factory(*flags)
    with srv.raw() as r:
        for i in range(n):
            r.send(b"set key:%06d 0 0 32 noreply\r\n%s\r\n" % (i, b"v" * 32))
        stats = r.cmd(b"stats\r\n")
    assert b"STAT curr_items %d\r\n" % n in stats
    return int(re.search(rb"STAT bytes (\d+)", stats).group(1))


def test_items_are_smaller(server_factory):
    """memcached -C drops its 8-byte cas from each item; memg's cas varint
    (the difference from its segment's base, zigzagged: item i of the first
    segment holds 2i; codes below 64 take 1 byte) takes 1 byte with -C, 1 or
    2 here."""
    n = 1000
    saved = _bytes(server_factory, n=n) - _bytes(server_factory, "-C", n=n)
    assert saved == (n * 8 if IS_MEMCACHED else sum(1 for i in range(1, n + 1) if 2 * i >= 64))


@pytest.mark.memg_only
def test_meta_e_keeps_cas_zero(server_factory):
    """E (a cas to give, current memcached; 1.6.18 has no E) is accepted and
    has nothing to set."""
    srv = server_factory("-C")
    with srv.raw() as r:
        assert _sync(r, b"ms k 1 E77 c\r\nx\r\n") == b"HD c0\r\n"
        assert _sync(r, b"md k I E9\r\n") == b"HD\r\n"
        assert _sync(r, b"mg k c\r\n") == b"HD c0 X W\r\n"
        assert _sync(r, b"ma n N0 J1 E5 c\r\n") == b"HD c0\r\n"


@pytest.mark.memg_only
def test_http_has_no_etag(server_factory):
    """HTTP's ETag is the cas: with -C an item has no version, so no ETag is
    sent, no If-None-Match tag matches and an If-Match tag fails."""
    from test_http import http_port_of, request
    srv = server_factory("-C", "-o", "http_port=0")
    port = http_port_of(srv)
    st, h, _ = request(port, "PUT", "/k/a", b"one")
    assert st == 204 and "ETag" not in h
    st, h, body = request(port, "GET", "/k/a")
    assert (st, body) == (200, b"one") and "ETag" not in h
    for tag in ('"0"', '"1"', "junk"):
        st, _, body = request(port, "GET", "/k/a", headers={"If-None-Match": tag})
        assert (st, body) == (200, b"one"), tag
    for method, body in (("PUT", b"two"), ("DELETE", None)):
        for tag in ('"0"', '"1"'):
            st, _, _ = request(port, method, "/k/a", body, {"If-Match": tag})
            assert st == 412, (method, tag)
    st, _, body = request(port, "GET", "/k/a")
    assert (st, body) == (200, b"one")
