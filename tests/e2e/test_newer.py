"""What memcached added after 1.6.18 that applies to memg, each checked
against memcached 1.6.45 (built by tests/ref/memcached-1.6.45.sh): the
conditional fetch (mg C, 1.6.40), E on every meta command, md's quiet NF,
lru_crawler mgdump, metadump's OK line and flags= (1.6.43), watch deletions,
-X turning off stats detail too, client_flags_size in stats settings, -Y on
every listener, and the first cas (2)."""
import os
import re
import socket
import tempfile
import threading
import time

import pytest

from conftest import IS_MEMCACHED
from test_differential import compare, load_script, run_session

pytestmark = pytest.mark.skipif(IS_MEMCACHED, reason="memg against memcached 1.6.45")


def both(server_factory, *args):
    return server_factory(*args, kind="memcached145"), server_factory(*args, kind="memg")


def test_newer_meta_as_145(server_factory):
    units = load_script("diff_newer.txt")
    assert len(units) > 30
    servers = both(server_factory)
    out = {}

    def worker(i, srv):
        out[i] = run_session(srv.addr, units)

    threads = [threading.Thread(target=worker, args=(i, s), daemon=True)
               for i, s in enumerate(servers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(out) == {0, 1}
    compare("diff_newer.txt", out[0], out[1], "memcached 1.6.45", "memg")
    # and what the spec says, on memg's transcript
    replies = {text: r for _, text, r in out[1]}
    assert replies[b"mg cc v C500 c t"] == b"HD c<cas#1> t-1\r\n"  # matched: no value
    assert replies[b"mg cc v C501 c"] == b"VA 1 c<cas#1>\r\nx\r\n"  # changed: the value
    assert replies[b"md nokey q"] == b"NF\r\n"  # quiet hides HD only


def request(srv, data, until, timeout=3.0):
    with socket.create_connection(srv.addr, timeout=timeout) as s:
        s.sendall(data)
        buf = b""
        deadline = time.monotonic() + timeout
        while not buf.endswith(until) and time.monotonic() < deadline:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        return buf


SETUP = b"ms plain 1 F7 T0\r\nx\r\nms Zm9vYmFy 2 b F9\r\nyy\r\nms other 3\r\nzzz\r\n"


def test_mgdump(server_factory):
    """lru_crawler mgdump: OK, one "mg <key>" line per item ("mg <base64> b"
    for a binary key), EN; the same set of lines as 1.6.45."""
    dumps = []
    for srv in both(server_factory):
        assert request(srv, SETUP, b"HD\r\nHD\r\nHD\r\n") == b"HD\r\nHD\r\nHD\r\n"
        for what in (b"all", b"hash", b"1"):
            d = request(srv, b"lru_crawler mgdump %s\r\n" % what, b"EN\r\n")
            assert d.startswith(b"OK\r\n") and d.endswith(b"EN\r\n"), d
            dumps.append(sorted(d[4:-4].split(b"\r\n")[:-1]))
        assert request(srv, b"lru_crawler mgdump 64\r\n", b"\r\n") == b"BADCLASS invalid class id\r\n"
        assert request(srv, b"get plain\r\nlru_crawler mgdump all\r\n", b"mgdump\r\n").endswith(
            b"END\r\nERROR cannot pipeline other commands before mgdump\r\n")
    assert dumps[0] == [b"mg Zm9vYmFy b", b"mg other", b"mg plain"]
    assert all(d == dumps[0] for d in dumps)


LINE = re.compile(rb"key=(\S+) exp=(-?\d+) la=(\d+) cas=(\d+) fetch=(yes|no) cls=(\d+) "
                  rb"size=(\d+) flags=(\d+) \n")


def test_metadump_ok_and_flags(server_factory):
    """lru_crawler metadump: "OK" first (1.6.43), each line ends with
    flags=N and a space; the fields but la= and cas= as 1.6.45 gives them."""
    seen = []
    for srv in both(server_factory):
        request(srv, SETUP, b"HD\r\nHD\r\nHD\r\n")
        d = request(srv, b"lru_crawler metadump all\r\n", b"END\r\n")
        assert d.startswith(b"OK\r\n") and d.endswith(b"END\r\n"), d
        lines = d[4:-5]
        items = sorted(m.group(1, 2, 5, 6, 7, 8) for m in LINE.finditer(lines))
        assert b"".join(m.group(0) for m in LINE.finditer(lines)) == lines, lines
        seen.append(items)
        assert request(srv, b"lru_crawler metadump 2\r\n", b"END\r\n") == b"OK\r\nEND\r\n"
        assert request(srv, b"lru_crawler metadump 0\r\n", b"\r\n") == b"BADCLASS invalid class id\r\n"
    assert [i[5] for i in seen[1]] == [b"9", b"0", b"7"]  # Zm9vYmFy (binary), other, plain
    assert seen[0] == seen[1]


def test_watch_deletions(server_factory):
    """watch deletions: one line per deleted item, from delete and md (not
    from md I, which keeps the item), the same as 1.6.45 but for ts= and gid=."""
    got = []
    for srv in both(server_factory):
        with socket.create_connection(srv.addr, timeout=3) as w:
            w.sendall(b"watch deletions\r\n")
            assert w.recv(100) == b"OK\r\n"
            r = request(srv, b"set a 0 0 1\r\nx\r\ndelete a\r\nms b 2\r\nyy\r\nmd b\r\nmd b q\r\n"
                        b"ms c 1\r\nz\r\nmd c I\r\nmn\r\n", b"MN\r\n")
            assert r == b"STORED\r\nDELETED\r\nHD\r\nHD\r\nNF\r\nHD\r\nHD\r\nMN\r\n"
            buf = b""
            deadline = time.monotonic() + 3
            while buf.count(b"\n") < 2 and time.monotonic() < deadline:
                buf += w.recv(4096)
        got.append(re.sub(rb"ts=\d+\.\d+ gid=\d+ ", b"", buf))
    assert got[1] == (b"type=deleted key=a cmd=delete clsid=1 size=1\n"
                      b"type=deleted key=b cmd=md clsid=1 size=2\n")
    assert got[0] == got[1]


def test_X_turns_off_stats_detail(server_factory):
    for srv in both(server_factory, "-X"):
        for cmd in (b"stats detail on\r\n", b"stats detail dump\r\n", b"stats detail off\r\n"):
            assert request(srv, cmd, b"\r\n") == b"CLIENT_ERROR stats detail not allowed\r\n"
        assert request(srv, b"lru_crawler mgdump all\r\n", b"\r\n") == \
            b"ERROR key dump not allowed\r\n"
        assert request(srv, b"lru_crawler metadump all\r\n", b"\r\n") == \
            b"ERROR metadump not allowed\r\n"


def test_client_flags_size(server_factory):
    for srv in both(server_factory):
        assert b"STAT client_flags_size 4\r\n" in request(srv, b"stats settings\r\n", b"END\r\n")


def test_Y_on_every_listener(server_factory):
    """-Y asks every listener for the login, not only the first one."""
    d = tempfile.mkdtemp(prefix="memg-newer-")
    os.chmod(d, 0o755)  # memcached reads the file after dropping to nobody
    auth = os.path.join(d, "auth")
    with open(auth, "w") as f:
        f.write("u:p\n")
    os.chmod(auth, 0o644)
    # the fixture listens on 127.0.0.1; a second -l adds a listener
    for srv in both(server_factory, "-Y", auth, "-l", "127.0.0.2"):
        for host in ("127.0.0.1", "127.0.0.2"):
            with socket.create_connection((host, srv.port), timeout=3) as s:
                s.sendall(b"get a\r\n")
                assert s.recv(100) == b"CLIENT_ERROR unauthenticated\r\n", (srv.kind, host)


def test_Y_token_too_long(server_factory):
    """-Y: a login whose token is over 16384 bytes is refused at once, the
    connection open for the next try (1.6.45; 1.6.18 hung up)."""
    d = tempfile.mkdtemp(prefix="memg-newer-")
    os.chmod(d, 0o755)
    auth = os.path.join(d, "auth")
    with open(auth, "w") as f:
        f.write("u:p\n")
    os.chmod(auth, 0o644)
    for srv in both(server_factory, "-Y", auth):
        with socket.create_connection(srv.addr, timeout=3) as s:
            got = []
            for line in (b"set a 0 0 2147483646\r\n", b"set a 0 0 16385\r\n",
                         b"set a 0 0 3\r\nu p\r\n"):
                s.sendall(line)
                got.append(s.recv(100))
            assert got == [b"CLIENT_ERROR auth token too long\r\n"] * 2 + [b"STORED\r\n"], srv.kind


def test_first_cas_as_145(server_factory):
    """1.6.45's counter starts at 1 and hands out the next (1.6.18 gave 1
    first): the first items of a fresh server get cas 2, 3, 4 on every
    protocol, and so does memg's."""
    import mcbin as B
    seen = []
    for srv in both(server_factory):
        text = request(srv, b"set a 0 0 1\r\nx\r\ngets a\r\nms b 1 c\r\ny\r\nmn\r\n", b"MN\r\n")
        with socket.create_connection(srv.addr, timeout=3) as s:
            s.sendall(B.set_(b"c", b"z"))
            head = b""
            while len(head) < B.HEADER_LEN:
                d = s.recv(B.HEADER_LEN - len(head))
                assert d
                head += d
            bin_cas = B.HEADER.unpack(head)[-1]
        seen.append((text, bin_cas))
    assert seen[0] == (b"STORED\r\nVALUE a 0 1 2\r\nx\r\nEND\r\nHD c3\r\nMN\r\n", 4)
    assert seen[1] == seen[0]
