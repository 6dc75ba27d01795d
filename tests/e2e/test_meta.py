"""Meta commands from the spec: what came after memcached 1.6.18 (so the
differential script cannot check it) and the stories the meta protocol is
for: stale-while-revalidate, one winner on a hot miss, quiet pipelines.

Each test names the sentence of memcached's doc/protocol.txt ("Meta
Commands") it checks. Under E2E_SERVER=memcached (1.6.18) the tests marked
`newer` are skipped: that release predates them.
"""
import base64
import socket
import threading
import time

import pytest

from conftest import SERVER_KIND

newer = pytest.mark.skipif(SERVER_KIND == "memcached",
                           reason="after memcached 1.6.18: checked against the spec only")


class Meta:
    """One connection speaking meta: request lines in, reply lines out."""

    def __init__(self, addr):
        self.sock = socket.create_connection(addr, timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        deadline = time.monotonic() + 5
        while b"\r\n" not in self.buf:
            assert time.monotonic() < deadline, "no reply line; have %r" % self.buf
            d = self.sock.recv(1 << 20)
            assert d, "connection closed; have %r" % self.buf
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        deadline = time.monotonic() + 5
        while len(self.buf) < n:
            assert time.monotonic() < deadline, "value cut short"
            d = self.sock.recv(1 << 20)
            assert d, "connection closed"
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def reply(self):
        """(line, value): value is bytes after a VA line, else None."""
        line = self._line()
        if line.startswith(b"VA "):
            n = int(line.split(b" ")[1])
            value = self._exact(n + 2)
            assert value[-2:] == b"\r\n"
            return line, value[:-2]
        return line, None

    def cmd(self, line, data=None):
        self.sock.sendall(line + b"\r\n" + (data + b"\r\n" if data is not None else b""))
        return self.reply()

    def flags(self, line):
        """The reply's return flags as {letter: token rest}."""
        return {t[:1]: t[1:] for t in line.split(b" ")[1:]}


@pytest.fixture
def meta(server):
    conns = []

    def open_():
        c = Meta(server.addr)
        conns.append(c)
        return c

    yield open_
    for c in conns:
        c.close()


def cas_of(line):
    return int(Meta.flags(None, line)[b"c"])


# --------------------------------------------------------------------- mg

def test_mg_bare_key_is_a_hit_or_miss_line(meta):
    """"If the request did not ask for a value in the response (v) flag, the
    server response looks like: HD <flags>*" and a miss is "EN"."""
    m = meta()
    assert m.cmd(b"mg bare") == (b"EN", None)
    m.cmd(b"ms bare 1", b"x")
    assert m.cmd(b"mg bare") == (b"HD", None)


def test_mg_ttl_flag(meta):
    """"t: return item TTL remaining in seconds (-1 for unlimited)"."""
    m = meta()
    m.cmd(b"ms t1 1 T100", b"x")
    m.cmd(b"ms t2 1", b"x")
    assert 98 <= int(m.flags(m.cmd(b"mg t1 t")[0])[b"t"]) <= 100
    assert m.cmd(b"mg t2 t")[0] == b"HD t-1"
    # "T(token): update remaining TTL"; the flags act in the order given
    assert m.cmd(b"mg t2 t T50")[0] == b"HD t-1"
    assert 48 <= int(m.flags(m.cmd(b"mg t2 t")[0])[b"t"]) <= 50
    assert 38 <= int(m.flags(m.cmd(b"mg t2 T40 t")[0])[b"t"]) <= 40


@pytest.mark.skipif(SERVER_KIND == "memcached",
                    reason="memcached refreshes an item's access time at most once a minute")
def test_mg_hit_before_and_last_access(meta):
    """"h: return whether item has been hit before as a 0 or 1", "l: return
    time since item was last accessed in seconds", "The above two flags
    return the value of "hit before?" and "last access time" before the
    command was processed", and "u: don't bump the item in the LRU ... This
    also avoids marking an item as being hit or updating its last access
    time"."""
    m = meta()
    m.cmd(b"ms hl 1", b"x")
    assert m.cmd(b"mg hl h u")[0] == b"HD h0"
    assert m.cmd(b"mg hl h")[0] == b"HD h0"
    assert m.cmd(b"mg hl h")[0] == b"HD h1"
    time.sleep(2.2)
    first = int(m.flags(m.cmd(b"mg hl l u")[0])[b"l"])
    assert 1 <= first <= 3, first
    again = int(m.flags(m.cmd(b"mg hl l")[0])[b"l"])
    assert 1 <= again <= 3, "u must not have refreshed the access time"
    assert m.cmd(b"mg hl l")[0] == b"HD l0"


@newer
def test_me_reports_remaining_ttl(meta):
    """"exp = expiration time" as the current memcached prints it: seconds
    left (1.6.18 printed them negated), -1 for none."""
    m = meta()
    m.cmd(b"ms me1 5 T300 F3", b"hello")
    line = m.cmd(b"me me1")[0].decode()
    fields = dict(f.split("=") for f in line.split(" ")[2:])
    assert line.startswith("ME me1 ")
    assert 298 <= int(fields["exp"]) <= 300
    assert fields["fetch"] == "no" and fields["cls"] == "1"
    assert fields["size"] == str(48 + 4 + 4 + 7 + 8)  # memcached's item size
    m.cmd(b"mg me1 v")
    assert "fetch=yes" in m.cmd(b"me me1")[0].decode()
    assert m.cmd(b"me nothere") == (b"EN", None)


# --------------------------------------------------------------------- E flag

@newer
def test_E_sets_the_cas(meta):
    """"E(token): use token as new CAS value if item is modified" (mg N, ms,
    md I, ma)."""
    m = meta()
    assert m.cmd(b"ms e1 2 E12345 c", b"hi")[0] == b"HD c12345"
    assert m.cmd(b"mg e1 c v") == (b"VA 2 c12345", b"hi")
    big = 1 << 60  # wider than a fresh item's cas field: still kept exactly
    assert m.cmd(b"ms e1 2 E%d c" % big, b"hi")[0] == b"HD c%d" % big
    assert m.cmd(b"mg e1 c")[0] == b"HD c%d" % big
    assert m.cmd(b"md e1 I E777")[0] == b"HD"
    assert m.cmd(b"mg e1 c")[0].startswith(b"HD c777")
    assert m.cmd(b"mg viv c N30 E4242")[0] == b"HD c4242 W"
    m.cmd(b"ms n 1", b"5")
    assert m.cmd(b"ma n E999 c v") == (b"VA 1 c999", b"6")
    assert m.cmd(b"ma newn N0 J7 E31337 c v") == (b"VA 1 c31337", b"7")
    # classic commands carry on from the server's own counter
    m.sock.sendall(b"set plain 0 0 1\r\nx\r\ngets plain\r\n")
    assert m._line() == b"STORED"
    assert int(m._line().split(b" ")[4]) < 1000
    m._exact(3)
    assert m._line() == b"END"


# --------------------------------------------------------------------- ms

@newer
def test_ms_size_flag_and_append_vivify(meta):
    """ms "s: return the size of the stored item" (after append it is the
    whole value); "N(token): if in append mode, autovivify on miss with
    supplied TTL"."""
    m = meta()
    assert m.cmd(b"ms a1 3 s", b"abc")[0] == b"HD s3"
    assert m.cmd(b"ms a1 2 MA s", b"de")[0] == b"HD s5"
    assert m.cmd(b"ms a2 2 MA s", b"xy")[0] == b"NS s2"
    assert m.cmd(b"ms a2 2 MA N100", b"xy")[0] == b"HD"
    assert m.cmd(b"ms a2 2 MP N100", b"<<")[0] == b"HD"
    line, value = m.cmd(b"mg a2 v t")
    assert value == b"<<xy" and 98 <= int(m.flags(line)[b"t"]) <= 100


def test_ms_invalidate_stores_an_older_cas_as_stale(meta):
    """ms "I: invalidate. set-to-invalid if supplied CAS is older than
    item's CAS" and "When combined with the 'I' flag, a CAS value that is
    _lower_ than the current value may be accepted, but the item will be
    marked as "stale", returning the X flag with mget requests"."""
    m = meta()
    old = cas_of(m.cmd(b"ms inv 3 c", b"one")[0])
    m.cmd(b"ms inv 3", b"two")
    assert m.cmd(b"ms inv 3 C%d" % old, b"bad")[0] == b"EX"
    assert m.cmd(b"ms inv 5 C%d I" % old, b"three")[0] == b"HD"
    line, value = m.cmd(b"mg inv v")
    assert value == b"three" and line.endswith(b" X W")
    assert m.cmd(b"mg inv v")[0].endswith(b" Z X")
    assert m.cmd(b"ms inv 3 C999999 I", b"new")[0] == b"EX"  # higher: no


# --------------------------------------------------------------------- md

@newer
def test_md_remove_value_keeps_the_item(meta):
    """md "x: removes the item value, but leaves the item in place"."""
    m = meta()
    cas = cas_of(m.cmd(b"ms x1 5 F7 c", b"hello")[0])
    assert m.cmd(b"md x1 x")[0] == b"HD"
    line, value = m.cmd(b"mg x1 v c f s")
    assert value == b"" and line == b"VA 0 c%d f0 s0" % cas
    assert m.cmd(b"md x1 x I")[0] == b"HD"
    assert m.cmd(b"mg x1 v")[0].endswith(b" X W")
    assert m.cmd(b"md gone x")[0] == b"NF"


@newer
def test_quiet_hides_only_the_nominal_codes(meta):
    """"q: noreply semantics for return codes": EN for mg, HD for ms/md/ma,
    NF for md; errors and other codes always come back."""
    m = meta()
    m.sock.sendall(b"mg nope v q\r\nms q1 1 q\r\nx\r\nmd q1 q\r\nmd q1 q\r\nma qn q\r\n"
                   b"ma qn N0 q\r\nma qn q\r\nms q1 1 ME q\r\nx\r\nms q1 1 ME q\r\ny\r\n"
                   b"mg q1 q zz\r\nmn\r\n")
    assert [m._line() for _ in range(4)] == [
        b"NF", b"NS", b"CLIENT_ERROR invalid flag", b"MN"]


# --------------------------------------------------------------------- stories

def test_stale_while_revalidate(meta):
    """md "I: invalidate. mark as stale, bumps CAS"; mg "X: item is stale",
    "W: client has "won" the recache flag", "Z: item has already sent a
    winning flag": the first reader recaches, the others use the stale value
    until the winner's set lands."""
    a, b, c = meta(), meta(), meta()
    a.cmd(b"ms page 3 T0", b"old")
    assert a.cmd(b"md page I T30")[0] == b"HD"
    line, value = a.cmd(b"mg page v c")
    assert value == b"old" and line.endswith(b" X W"), line
    token = cas_of(line)
    for other in (b, c):
        line2, value2 = other.cmd(b"mg page v c")
        assert value2 == b"old" and line2.endswith(b" Z X"), line2
    assert a.cmd(b"ms page 3 C%d" % token, b"new")[0] == b"HD"
    for reader in (a, b, c):
        line3, value3 = reader.cmd(b"mg page v")
        assert (line3, value3) == (b"VA 3", b"new")


def test_one_winner_on_a_hot_miss(server):
    """mg "N(token): vivify on miss ... If such an item is created a 'W' flag
    is added ... Further requests will see a 'Z' flag": 50 clients at once,
    exactly one recaches."""
    n = 50
    barrier = threading.Barrier(n)
    replies = [None] * n

    def client(i):
        m = Meta(server.addr)
        try:
            barrier.wait(10)
            replies[i] = m.cmd(b"mg hot v N30 c")[0]
        finally:
            m.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert all(r is not None for r in replies), replies
    winners = [r for r in replies if r.endswith(b" W")]
    assert len(winners) == 1, replies
    assert all(r.endswith(b" Z") for r in replies if r not in winners), replies


def test_recache_before_expiry(meta):
    """mg "R(token): if remaining TTL is less than token, win for recache"."""
    m = meta()
    m.cmd(b"ms soon 1 T10", b"x")
    m.cmd(b"ms later 1 T1000", b"x")
    assert m.cmd(b"mg later R30")[0] == b"HD"
    assert m.cmd(b"mg soon R30")[0] == b"HD W"
    assert m.cmd(b"mg soon R30")[0] == b"HD Z"


def test_quiet_pipeline_of_1000(meta):
    """mn: "If pipelining several 'mg's together with noreply semantics, an
    "mn\\r\\n" command can be tagged to the end of the chain, which will
    return an "MN\\r\\n""; O and k come back in request order."""
    m = meta()
    stored = {i for i in range(1000) if i % 3 == 0}
    m.sock.sendall(b"".join(b"ms pk%d %d q\r\n%s\r\n" % (i, len(b"v%d" % i), b"v%d" % i)
                            for i in sorted(stored)))
    m.sock.sendall(b"".join(b"mg pk%d v q k O%d\r\n" % (i, i) for i in range(1000)) + b"mn\r\n")
    got = []
    while True:
        line, value = m.reply()
        if line == b"MN":
            break
        f = m.flags(line)
        got.append((int(f[b"O"]), f[b"k"], value))
    assert got == [(i, b"pk%d" % i, b"v%d" % i) for i in sorted(stored)]


def test_meta_counts_in_memcacheds_stats(meta):
    """Meta and classic commands share the counters: cmd_get, get_hits,
    touch for mg T, delete for md, incr/decr for ma, cmd_meta for me."""
    m = meta()

    def stats():
        m.sock.sendall(b"stats\r\n")
        out = {}
        while True:
            line = m._line()
            if line == b"END":
                return out
            _, k, v = line.split(b" ", 2)
            out[k.decode()] = v.decode()

    before = stats()
    m.cmd(b"ms s1 1", b"1")
    m.cmd(b"mg s1 v")
    m.cmd(b"mg s2 v")
    m.cmd(b"mg s1 T30")
    m.cmd(b"md s2")
    m.cmd(b"ma s1")
    m.cmd(b"ma s1 MD")
    m.cmd(b"me s1")
    after = stats()

    def d(name):
        return int(after[name]) - int(before[name])

    assert (d("cmd_get"), d("get_hits"), d("get_misses")) == (2, 1, 1)
    assert (d("cmd_touch"), d("touch_hits")) == (1, 1)
    assert (d("delete_misses"), d("incr_hits"), d("decr_hits")) == (1, 1, 1)
    assert (d("cmd_set"), d("cmd_meta")) == (1, 1)


def test_binary_keys(meta):
    """mg "b: interpret key as base64 encoded binary value ... If 'b' flag is
    sent in the response, and a key is returned via 'k', this signals to
    the client that the key is base64 encoded binary"."""
    m = meta()
    key = bytes(range(256))[:180]
    enc = base64.b64encode(key)
    assert m.cmd(b"ms %s 2 b" % enc, b"hi")[0] == b"HD"
    assert m.cmd(b"mg %s b k v" % enc) == (b"VA 2 k%s b" % enc, b"hi")
    other = base64.b64encode(b"other")
    assert m.cmd(b"mg %s b k" % other)[0] == b"EN k%s b" % other
    # me reads b only when a token follows it (1.6.45 counts one token less
    # than 1.6.18 did); alone, the key is looked up as sent
    assert m.cmd(b"me %s b x" % enc)[0].startswith(b"ME %s exp=-1" % enc)
    assert m.cmd(b"me %s b" % enc)[0] == b"EN"


def test_large_value_received_into_its_item(meta):
    """A value bigger than the read buffer arrives straight in its item; the
    ms line's flags still answer, and a bad data chunk is refused."""
    m = meta()
    big = b"z" * 300000
    line = m.cmd(b"ms big 300000 k O7 c T0 F5", big)[0]
    assert line.startswith(b"HD kbig O7 c")
    assert m.cmd(b"mg big v f s") == (b"VA 300000 f5 s300000", big)
    m.sock.sendall(b"ms big 300000 q\r\n" + b"y" * 300000 + b"XX")
    assert m._line() == b"CLIENT_ERROR bad data chunk"
    assert m.cmd(b"mg big s")[0] == b"HD s300000"
    assert m.cmd(b"mn") == (b"MN", None)
