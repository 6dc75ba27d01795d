"""Binary-safe values, large values and their limits, pipelining."""
import threading
import time

import pytest
from pymemcache.client.base import Client as PymcClient

# [direct] and [relay]: also through the chopping relay (conftest.py)
pytestmark = pytest.mark.relay

ALL_BYTES = bytes(range(256))
TOO_LARGE = b"SERVER_ERROR object too large for cache\r\n"


@pytest.fixture
def pymc(addr):
    c = PymcClient(addr, connect_timeout=2, timeout=5)
    yield c
    c.close()


def test_all_byte_values_raw(raw):
    value = ALL_BYTES * 4
    assert raw.set(b"bin", value, flags=7) == b"STORED\r\n"
    raw.send(b"get bin\r\n")
    assert raw.read_until(b"\r\nEND\r\n") == b"VALUE bin 7 1024\r\n" + value + b"\r\nEND\r\n"
    # \r\n and "END\r\n" inside the value are only data
    tricky = b"\r\nEND\r\nVALUE x 0 1\r\n\r\n"
    assert raw.set(b"tricky", tricky) == b"STORED\r\n"
    assert raw.get(b"tricky") == tricky


def test_all_byte_values_pymemcache(pymc):
    assert pymc.set("bin", ALL_BYTES)
    assert pymc.get("bin") == ALL_BYTES
    assert pymc.set("rev", ALL_BYTES[::-1], noreply=False)
    assert pymc.get_many(["bin", "rev"]) == {"bin": ALL_BYTES, "rev": ALL_BYTES[::-1]}


def test_one_megabyte_value(raw):
    value = bytes((i * 7 + 3) % 256 for i in range(1_000_000))
    assert raw.set(b"mb", value) == b"STORED\r\n"
    raw.send(b"get mb\r\n")
    assert raw.read_line() == b"VALUE mb 0 1000000\r\n"
    assert raw.read_exact(1_000_000) == value
    assert raw.read_line() == b"\r\n"
    assert raw.read_line() == b"END\r\n"


def test_too_large_value_is_refused_and_old_value_removed(raw):
    assert raw.set(b"big", b"old") == b"STORED\r\n"
    n = 1024 * 1024 + 1
    assert raw.set(b"big", b"y" * n) == TOO_LARGE
    # the data was swallowed: the connection goes on with the next request
    assert raw.cmd(b"version\r\n").startswith(b"VERSION ")
    # memcached unlinks the old item on a too-large set
    assert raw.get(b"big") is None
    # same with noreply: nothing answered, old value gone, stream in sync
    assert raw.set(b"big", b"old") == b"STORED\r\n"
    raw.send(b"set big 0 0 %d noreply\r\n" % (2 * n) + b"z" * (2 * n) + b"\r\n")
    assert raw.get(b"big") is None
    # add/append of a too-large value leave an existing item alone
    assert raw.set(b"big", b"old") == b"STORED\r\n"
    assert raw.cmd(b"append big 0 0 %d\r\n" % n + b"a" * n + b"\r\n") == TOO_LARGE
    assert raw.cmd(b"add big 0 0 %d\r\n" % n + b"a" * n + b"\r\n") == TOO_LARGE
    assert raw.get(b"big") == b"old"


def test_item_size_flag(server_factory):
    srv = server_factory("-I", "2m")
    with srv.raw() as r:
        v = b"q" * (1536 * 1024)
        assert r.set(b"k", v) == b"STORED\r\n"
        assert r.get(b"k") == v
        assert r.set(b"k2", b"q" * (2 * 1024 * 1024 + 1)) == TOO_LARGE
        assert r.get(b"k") == v


def test_pipeline_hundred_requests_in_one_send(raw):
    req = b"".join(b"set p%d 0 0 %d\r\n%d\r\n" % (i, len(str(i)), i) for i in range(50))
    req += b"".join(b"get p%d\r\n" % i for i in range(50))
    raw.send(req)
    want = b"STORED\r\n" * 50 + b"".join(
        b"VALUE p%d 0 %d\r\n%d\r\nEND\r\n" % (i, len(str(i)), i) for i in range(50))
    assert raw.read_exact(len(want)) == want
    assert raw.read_quiet(0.1) == b""
    # one multi-get after a pipeline of mixed commands
    raw.send(b"delete p1\r\nincr p2 5\r\nget p1 p2 p3\r\n")
    assert raw.read_until(b"END\r\n") == (
        b"DELETED\r\n7\r\nVALUE p2 0 1\r\n7\r\nVALUE p3 0 1\r\n3\r\nEND\r\n")


def test_request_split_byte_by_byte(raw):
    stream = (b"set split 5 0 10\r\n0123456789\r\n"
              b"get split\r\n"
              b"gets nope split\r\n"
              b"delete split\r\n")
    for i in range(len(stream)):
        raw.send(stream[i:i + 1])
        time.sleep(0.002)
    reply = raw.read_until(b"DELETED\r\n")
    assert reply.startswith(b"STORED\r\nVALUE split 5 10\r\n0123456789\r\nEND\r\n"
                            b"VALUE split 5 10 ")
    assert reply.endswith(b"\r\n0123456789\r\nEND\r\nDELETED\r\n")


def test_large_value_split_across_sends(raw):
    value = bytes((i * 13) % 251 for i in range(500_000))
    msg = b"set half 3 0 %d\r\n" % len(value) + value + b"\r\n"
    cuts = [0, 5, 17, 18, 19, 4096, 65536, 65537, 250_000, 499_999, 500_018, 500_019, len(msg)]
    for a, b in zip(cuts, cuts[1:]):
        raw.send(msg[a:b])
        time.sleep(0.01)
    assert raw.read_line() == b"STORED\r\n"
    raw.send(b"get half\r\n")
    assert raw.read_line() == b"VALUE half 3 500000\r\n"
    assert raw.read_exact(len(value)) == value
    assert raw.read_line() == b"\r\n"
    assert raw.read_line() == b"END\r\n"


def test_slow_reader_gets_every_reply(raw):
    """Many big replies pipelined while the client does not read at first:
    the server must neither drop nor reorder output."""
    value = bytes(range(256)) * 400  # 102400 bytes
    assert raw.set(b"v", value) == b"STORED\r\n"
    n = 300  # ~30 MB of replies
    req = b"get v\r\n" * n
    err = []

    def sender():
        try:
            raw.sock.sendall(req)
        except OSError as e:  # pragma: no cover
            err.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    time.sleep(0.5)  # let the server's output back up
    one = b"VALUE v 0 102400\r\n" + value + b"\r\nEND\r\n"
    for i in range(n):
        assert raw.read_exact(len(one), timeout=5) == one, "reply %d of %d" % (i, n)
    t.join(10)
    assert not err
    assert raw.cmd(b"version\r\n").startswith(b"VERSION ")


def test_request_after_a_big_reply_in_same_batch(raw):
    """A request pipelined behind one whose reply is large (3 MB, over any
    per-connection output bound) is still answered once the client reads."""
    value = b"x" * 102400
    assert raw.set(b"v", value) == b"STORED\r\n"
    assert raw.set(b"small", b"s") == b"STORED\r\n"
    raw.send(b"get " + b" ".join([b"v"] * 30) + b"\r\nget small\r\n")
    one = b"VALUE v 0 102400\r\n" + value + b"\r\n"
    assert raw.read_exact(len(one) * 30 + 5, timeout=5) == one * 30 + b"END\r\n"
    assert raw.read_until(b"END\r\n", timeout=5) == b"VALUE small 0 1\r\ns\r\nEND\r\n"


def test_pipelined_gets_beyond_one_megabyte(raw):
    """12 pipelined gets of a 100 KB value: 1.2 MB of replies."""
    value = b"y" * 102400
    assert raw.set(b"v", value) == b"STORED\r\n"
    raw.send(b"get v\r\n" * 12 + b"version\r\n")
    one = b"VALUE v 0 102400\r\n" + value + b"\r\nEND\r\n"
    for i in range(12):
        assert raw.read_exact(len(one), timeout=5) == one, "reply %d of 12" % i
    assert raw.read_line().startswith(b"VERSION ")
