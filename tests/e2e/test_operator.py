"""What an operator of memcached uses, against memcached 1.6.18 itself: -vv's
lines for a scripted session, `watch` (and a slow watcher that must not slow
the server), `stats cachedump` and `lru_crawler metadump` (memcdump lists
1,000 keys), `stats detail`, -F/-X/-W, `lru_crawler` (crawl, enable/disable,
sleep, tocrawl) and the slab/LRU tuning commands."""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import HOST
from mcraw import parse_stats

pytestmark = pytest.mark.memg_only

SESSION = [b"set foo 5 0 3\r\nbar\r\n", b"get foo\r\n", b"get foo nope\r\n", b"gets foo\r\n",
           b"delete foo\r\n", b"delete foo\r\n", b"incr x 1\r\n",
           b"set n 0 0 1 noreply\r\n5\r\n", b"incr n 3\r\n", b"touch n 10\r\n", b"bogus\r\n",
           b"version\r\n", b"verbosity 2\r\n", b"mg n v\r\n", b"mn\r\n", b"flush_all\r\n",
           b"quit\r\n"]


def play(srv):
    with socket.create_connection(srv.addr, timeout=5) as s:
        for cmd in SESSION:
            s.sendall(cmd)
            time.sleep(0.02)
        s.settimeout(2)
        while s.recv(4096):
            pass  # until the server closes after quit


def q(raw, cmd):
    """One reply, dumps included (ITEM/PREFIX/key= lines up to END)."""
    raw.send(cmd)
    line = raw.read_line()
    if line == b"OK\r\n" and b"metadump" in cmd:  # 1.6.43 on: OK, then the dump
        line += raw.read_line()
    if line.lstrip(b"OK\r\n").startswith((b"ITEM ", b"PREFIX ", b"key=")) and \
            not line.endswith(b"END\r\n"):
        line += raw.read_until(b"END\r\n")
    return line


def conn_lines(log):
    """The lines about client connections, the fd replaced by FD."""
    out = []
    for line in log.splitlines():
        if re.match(r"^[<>]\d+ |^\d+: ", line) and "server listening" not in line:
            out.append(re.sub(r"^([<>]?)\d+", r"\1FD", line))
    return out


def wait_log(srv, needle, timeout=3):
    deadline = time.monotonic() + timeout
    while needle not in srv.log_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    return srv.log_text()


def test_vv_lines_match_memcached(server_factory):
    logs = {}
    for kind in ("memcached", "memg"):
        srv = server_factory("-vv", kind=kind)
        play(srv)
        wait_log(srv, " quit\n")
        time.sleep(0.2)  # and the close that follows it
        lines = conn_lines(srv.log_text())
        assert "<FD new auto-negotiating client connection" in lines
        assert lines[-1] == "<FD connection closed."
        # the session's lines: from its first byte; the readiness probe's
        # connection opens and closes somewhere around it (memcached's
        # threads interleave them), so connection lines are left out
        logs[kind] = [l for l in lines[lines.index("FD: Client using the ascii protocol"):]
                      if not l.startswith("<FD new ") and l != "<FD connection closed."]
    assert logs["memg"] == logs["memcached"]
    assert "<FD set n 0 0 1 noreply" in logs["memg"]
    assert ">FD NOREPLY STORED" in logs["memg"]


def test_v_off_prints_nothing_per_request(server_factory):
    srv = server_factory()
    with srv.raw() as r:
        for cmd in SESSION[:12]:  # up to "verbosity 2", which turns the lines on
            r.send(cmd)
        assert r.read_quiet().endswith(b"VERSION 1.6.18\r\n")
    time.sleep(0.1)
    assert srv.log_text() == ""


def test_verbosity_turns_lines_on(server_factory):
    srv = server_factory()
    with srv.raw() as r:
        assert r.cmd(b"verbosity 2\r\n") == b"OK\r\n"
        assert r.cmd(b"get k\r\n") == b"END\r\n"
    assert "get k" in wait_log(srv, "get k")


def test_vvv_state_changes(server_factory):
    srv = server_factory("-vvv")
    with srv.raw() as r:
        r.send(b"set big 0 0 100000\r\n")
        r.send(b"x" * 100000 + b"\r\n")
        assert r.read_reply() == b"STORED\r\n"
    assert "going from conn_parse_cmd to conn_nread" in wait_log(srv, "conn_nread")


def read_watch(sock, want, timeout=3):
    data = b""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.2)
    while want not in data and time.monotonic() < deadline:
        try:
            data += sock.recv(65536)
        except socket.timeout:
            pass
    return data.decode()


def test_watch_streams_as_memcached(server_factory):
    srv = server_factory()
    with socket.create_connection(srv.addr) as w, srv.raw() as r:
        w.sendall(b"watch fetchers mutations connevents\r\n")
        assert read_watch(w, b"OK\r\n").startswith("OK\r\n")
        with srv.raw() as c:
            c.cmd(b"set foo 0 100 3\r\nbar\r\n")
            c.cmd(b"get foo nope\r\n")
        text = read_watch(w, b"conn_close")
        r.cmd(b"version\r\n")
    lines = text.splitlines()
    assert all(re.match(r"^ts=\d+\.\d+ gid=\d+ type=", l) for l in lines), lines
    body = [l.split(" ", 2)[2] for l in lines]
    assert any(re.match(r"type=conn_new rip=127\.0\.0\.1 rport=\d+ transport=tcp cfd=\d+$", b)
               for b in body), body
    assert any(re.match(r"type=item_store key=foo status=stored cmd=set ttl=100 clsid=1 "
                        r"cfd=\d+ size=3$", b) for b in body), body
    assert any(re.match(r"type=item_get key=foo status=found clsid=1 cfd=\d+ size=3$", b)
               for b in body), body
    assert any(re.match(r"type=item_get key=nope status=not_found clsid=0 cfd=\d+ size=0$", b)
               for b in body), body
    # a peer that hung up first has no address left to name (getpeername)
    assert any(re.match(r"type=conn_close rip=\S* rport=\d+ transport=tcp "
                        r"reason=error cfd=\d+$", b) for b in body), body


def test_watch_evictions(server_factory):
    """`watch evictions`: one line per item evicted, in memcached's fields
    (key, fetched or not, ttl left or -1, seconds since last access)."""
    srv = server_factory("-m", "8")
    with socket.create_connection(srv.addr) as w:
        w.sendall(b"watch evictions\r\n")
        assert read_watch(w, b"OK\r\n").startswith("OK\r\n")
        with srv.raw() as c:
            value = b"e" * 1000
            c.cmd(b"get ev0\r\n")
            for i in range(20000):  # 20 MB through 8: the oldest go
                c.send(b"set ev%d 0 %d 1000 noreply\r\n%s\r\n" % (i, 0 if i % 2 else 500, value))
            assert c.cmd(b"version\r\n").startswith(b"VERSION ")
        text = read_watch(w, b"type=eviction key=ev1 ")
        while "key=ev1 " in text and "\n" not in text[text.index("key=ev1 "):]:
            text += read_watch(w, b"\n")  # the rest of that line (a read may end inside it)
    lines = [l for l in text[:text.rfind("\n") + 1].splitlines()  # whole lines only
             if "type=eviction" in l]
    assert lines, text[:500]
    assert all(re.match(r"^ts=\d+\.\d+ gid=\d+ type=eviction key=ev\d+ fetch=(yes|no) "
                        r"ttl=(-1|\d+) la=\d+ clsid=1$", l) for l in lines), lines[:5]
    first = {m.group(1): m.group(2) for m in
             (re.search(r"key=(ev[01]) fetch=\w+ ttl=(-?\d+)", l) for l in lines) if m}
    assert first.get("ev1") == "-1", first  # no exptime
    assert 0 < int(first.get("ev0", "0")) <= 500, first


def test_watch_answers_as_memcached(server_factory):
    for kind in ("memcached", "memg"):
        srv = server_factory(kind=kind)
        with srv.raw() as r:
            assert r.cmd(b"watch bogus\r\n") == b"ERROR\r\n", kind
        srv = server_factory("-W", kind=kind)
        with srv.raw() as r:
            assert r.cmd(b"watch\r\n") == b"CLIENT_ERROR watch commands not allowed\r\n", kind


def stats(raw):
    return dict(l.split(b" ", 2)[1:] for l in raw.cmd(b"stats\r\n").split(b"\r\n")
                if l.startswith(b"STAT "))


def test_watch_store_fetches_first_and_encodes_keys(server_factory):
    # memcached's store looks the key up before storing: with fetchers
    # watched, each set shows an item_get (found or not) before its item_store;
    # keys are uri-encoded (t/watcher_connid.t, t/watcher.t)
    srv = server_factory()
    with socket.create_connection(srv.addr) as w, srv.raw() as c:
        w.sendall(b"watch fetchers mutations\r\n")
        assert read_watch(w, b"OK\r\n").startswith("OK\r\n")
        assert c.cmd(b"set a#b/\xc3\xa9 0 0 1\r\nx\r\n") == b"STORED\r\n"
        assert c.cmd(b"set a#b/\xc3\xa9 0 0 2\r\nyy\r\n") == b"STORED\r\n"
        text = read_watch(w, b"size=2\n")
    body = [l.split(" ", 2)[2] for l in text.splitlines()]
    key = "a%23b%2F%C3%A9"
    assert body == [
        f"type=item_get key={key} status=not_found clsid=0 cfd={body[0].split('cfd=')[1]}",
        f"type=item_store key={key} status=stored cmd=set ttl=0 clsid=1 cfd={body[1].split('cfd=')[1]}",
        f"type=item_get key={key} status=found clsid=1 cfd={body[2].split('cfd=')[1]}",
        f"type=item_store key={key} status=stored cmd=set ttl=0 clsid=1 cfd={body[3].split('cfd=')[1]}",
    ], body
    assert body[0].endswith(" size=0") and body[2].endswith(" size=1"), body


# Every command that fetches a key before it acts: memcached 1.6.45 writes
# an item_get line for each (found or not), and a store line for what ma
# and incr create.
FETCHING = (b"set a 0 0 1\r\n1\r\ndelete zz\r\ndelete a\r\nmd zz\r\nset b 0 0 1\r\n1\r\n"
            b"md b\r\nmg zz v\r\nmg b v\r\nincr zz 1\r\nset m 0 0 1\r\n5\r\nincr m 1\r\n"
            b"decr m 1\r\ntouch zz 1\r\nma w N0 J7\r\nmg w s v\r\nma w\r\nmg q N30 v\r\n"
            b"md q\r\nmg endmark v\r\nmn\r\n")


def test_watch_fetches_as_145(server_factory):
    seen = {}
    for kind in ("memcached145", "memg"):
        srv = server_factory(kind=kind)
        with socket.create_connection(srv.addr) as w, srv.raw() as c:
            w.sendall(b"watch fetchers mutations deletions\r\n")
            assert read_watch(w, b"OK\r\n").startswith("OK\r\n")
            c.send(FETCHING)
            text = read_watch(w, b"key=endmark ")
            while "key=endmark " in text and not re.search(r"key=endmark [^\n]*\n", text):
                text += read_watch(w, b"\n", 1)  # the rest of that line
        seen[kind] = [re.sub(r" (cfd|ttl)=\S+", "", l.split(" ", 2)[2])
                      for l in text.splitlines()]
    assert seen["memg"] == seen["memcached145"]
    assert len(seen["memg"]) == 27, seen["memg"]


def test_stats_conns_by_fd(server_factory):
    # memcached lists connections by fd, ascending (t/watcher_connid.t takes
    # the last line for the newest client)
    srv = server_factory()
    with srv.raw() as a, srv.raw() as b:
        with srv.raw():
            pass  # its fd is free again: the next connection reuses it
        with srv.raw() as c:
            text = c.cmd(b"stats conns\r\n").decode()
            assert a.cmd(b"version\r\n").startswith(b"VERSION") and b.sock
    fds = [int(m) for m in re.findall(r"STAT (\d+):addr ", text)]
    assert len(fds) >= 3 and fds == sorted(fds), text


def test_stats_conns_states_as_145(server_factory):
    """A connection whose value is still coming is conn_nread (text and meta),
    the one asking is conn_parse_cmd, as memcached 1.6.45 shows them."""
    for kind in ("memcached145", "memg"):
        srv = server_factory(kind=kind)
        with srv.raw() as a, srv.raw() as b, srv.raw() as c:
            a.send(b"set foo 0 0 6\r\n")
            b.send(b"ms bar 6 T0\r\nab")
            time.sleep(0.3)
            text = c.cmd(b"stats conns\r\n").decode()
            states = dict(re.findall(r"STAT (\d+):state (\w+)", text))
            assert sorted(s for s in states.values() if s != "conn_listening") == \
                ["conn_nread", "conn_nread", "conn_parse_cmd"], (kind, text)
            assert a.cmd(b"foobar\r\n") == b"STORED\r\n"
            assert b.cmd(b"cdef\r\n") == b"HD\r\n"


def _conns_shape(text, path):
    """stats conns as (listener's lines, each client's lines sorted): fds
    dropped (the clients' order of accept may differ), client ports as P,
    the times as N, and for unix clients no addr (checked: ?:<AF 0>)."""
    by_fd = {}
    for fd, key, value in re.findall(r"STAT (\d+):(\w+) (.*)\r", text):
        by_fd.setdefault(int(fd), []).append((key, value))
    listener, clients = None, []
    for fd in sorted(by_fd):
        lines = by_fd[fd]
        if ("state", "conn_listening") in lines:
            assert listener is None, text
            listener = [(k, "N" if k == "secs_since_last_cmd" else v) for k, v in lines]
            continue
        keep = []
        for k, v in lines:
            if k == "addr" and path:
                assert v == "?:<AF 0>", text  # a unix client has no address
                continue
            keep.append((k, "N" if k == "secs_since_last_cmd" else re.sub(r":\d+$", ":P", v)
                         if k == "addr" else v))
        clients.append(keep)
    return listener, sorted(clients)


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_stats_conns_listeners_as_145(server_factory, unix):
    """The listening socket is listed (its address, conn_listening) and each
    client names the listener it came in on (listen_addr), as 1.6.45 does.
    memcached reads a unix listener's address into a sockaddr_in6: its path
    is cut to 26 bytes there (the clients' listen_addr is whole)."""
    shapes = {}
    for kind in ("memcached145", "memg"):
        path = "/tmp/memg-test-stats-conns-%d-%s.sock" % (os.getpid(), kind) if unix else None
        srv = server_factory(kind=kind, unix_path=path)
        with srv.raw() as a, srv.raw() as b:
            a.send(b"set foo 0 0 6\r\n")
            time.sleep(0.3)
            text = b.cmd(b"stats conns\r\n").decode()
            assert a.cmd(b"foobar\r\n") == b"STORED\r\n"
        here = "unix:" + path if unix else "tcp:127.0.0.1:%d" % srv.port
        listener, clients = _conns_shape(text.replace(here, "HERE"), path)
        cut = "unix:" + path[:26] if unix else "HERE"
        assert listener == [("addr", cut), ("state", "conn_listening"),
                            ("secs_since_last_cmd", "N")], (kind, text)
        assert len(clients) == 2 and all(("listen_addr", "HERE") in c for c in clients), text
        shapes[kind] = (listener if not unix else listener[1:], clients)
    assert shapes["memg"] == shapes["memcached145"]


def test_get_expired_counts_an_item_stored_expired_as_145(server_factory):
    """An item stored already expired (an absolute exptime in the past, a
    negative one) is kept, as memcached keeps it: the get that meets it is a
    miss counted in get_expired (stats.t's test), and in curr_items until then.
    Under stats.t's options: no crawler (or maintainer) to reclaim it first."""
    for kind in ("memcached145", "memg"):
        srv = server_factory("-o", "no_lru_crawler,no_lru_maintainer", kind=kind)
        seen = []
        with srv.raw() as r:
            # one at a time: memcached reclaims an expired item at its LRU's
            # tail when it stores the next one
            for key, exptime in ((b"past", b"2678400"), (b"neg", b"-1")):
                assert r.cmd(b"set %s 0 %s 6\r\nfooval\r\n" % (key, exptime)) == b"STORED\r\n"
                before = parse_stats(r.cmd(b"stats\r\n"))
                assert r.cmd(b"get %s\r\n" % key) == b"END\r\n"
                after = parse_stats(r.cmd(b"stats\r\n"))
                seen.append((before["curr_items"], before["get_expired"], after["curr_items"],
                             after["get_expired"], after["get_misses"]))
        assert seen == [("1", "0", "0", "1", "1"), ("1", "1", "0", "2", "2")], kind


def test_slow_watcher_is_dropped_not_waited_for(server_factory):
    srv = server_factory()
    w = socket.socket()
    w.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    w.connect(srv.addr)
    try:
        w.sendall(b"watch fetchers\r\n")
        time.sleep(0.1)  # the watcher reads nothing from now on
        with srv.raw() as c:
            batch = b"get some-key-that-is-missing\r\n" * 1000
            t0 = time.monotonic()
            for _ in range(100):  # 100,000 gets, each a watch line
                c.send(batch)
                got = b""
                while got.count(b"END\r\n") < 1000:
                    got += c.sock.recv(1 << 20)
            elapsed = time.monotonic() - t0
            st = stats(c)
        assert elapsed < 20, elapsed  # the server never waited for the watcher
        skipped = int(st[b"log_watcher_skipped"])
        sent = int(st[b"log_watcher_sent"])
        assert skipped > 0 and sent > 0 and skipped + sent == 100000, st
        assert st[b"log_watchers"] == b"1"
        # once the watcher drains, it is told how many lines it missed
        w.settimeout(0.5)
        try:
            while w.recv(1 << 20):
                pass
        except socket.timeout:
            pass
        with srv.raw() as c:
            c.cmd(b"get after\r\n")
        assert re.search(r"(?:^|\n)skipped=\d+\nts=\S+ gid=\d+ type=item_get key=after ",
                         read_watch(w, b"key=after"))
    finally:
        w.close()


def test_cachedump_and_metadump_as_memcached(server_factory):
    out = {}
    for kind in ("memcached145", "memg"):
        srv = server_factory(kind=kind)
        with srv.raw() as r:
            r.cmd(b"set a:1 0 0 1\r\nx\r\n")
            r.cmd(b"set b%2 3 0 2\r\nyz\r\n")
            r.cmd(b"get a:1\r\n")
            out[kind] = [q(r, c) for c in (
                b"stats cachedump 1 0\r\n", b"stats cachedump 2 0\r\n",
                b"stats cachedump\r\n", b"stats cachedump x 0\r\n",
                b"stats cachedump 99 0\r\n", b"lru_crawler metadump all\r\n",
                b"lru_crawler metadump\r\n")]
    m, c = out["memg"], out["memcached145"]
    # memcached dumps the items its LRU maintainer has moved so far: a subset
    assert sorted(m[0].split(b"\r\n")) == [b"", b"END", b"ITEM a:1 [1 b; 0 s]",
                                            b"ITEM b%2 [2 b; 0 s]"]
    assert set(c[0].split(b"\r\n")) <= set(m[0].split(b"\r\n"))
    assert m[1:5] == c[1:5]
    norm = lambda t: sorted(re.sub(rb"la=\d+ cas=\d+", b"", t).split(b"\n"))  # noqa: E731
    # sizes are memcached's item sizes; memg's items are smaller, but it reports memcached's
    assert norm(m[5]) == norm(c[5])
    assert m[6] == c[6] == b"ERROR\r\n"


def test_dumping_disabled_as_memcached(server_factory):
    for kind in ("memcached", "memg"):
        srv = server_factory("-X", "-F", kind=kind)
        with srv.raw() as r:
            assert r.cmd(b"stats cachedump 1 0\r\n") == \
                b"CLIENT_ERROR stats cachedump not allowed\r\n", kind
            assert r.cmd(b"lru_crawler metadump all\r\n") == b"ERROR metadump not allowed\r\n"
            assert r.cmd(b"flush_all\r\n") == b"CLIENT_ERROR flush_all not allowed\r\n"
            st = r.cmd(b"stats settings\r\n")
            assert b"STAT flush_enabled no\r\n" in st and b"STAT dump_enabled no\r\n" in st


@pytest.mark.relay
@pytest.mark.skipif(not shutil.which("memcdump"), reason="libmemcached-tools not installed")
def test_memcdump_lists_1000_keys(server_factory):
    srv = server_factory()
    with srv.raw() as r:
        r.send(b"".join(b"set key:%d 0 0 2 noreply\r\nhi\r\n" % i for i in range(1000)))
        assert r.cmd(b"mn\r\n") == b"MN\r\n"
    p = subprocess.run(["memcdump", "--servers=%s:%d" % srv.addr], capture_output=True,
                       timeout=30, text=True)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.split()) == sorted("key:%d" % i for i in range(1000))


def test_stats_detail_as_memcached(server_factory):
    dumps = {}
    for kind in ("memcached", "memcached145", "memg"):
        srv = server_factory(kind=kind)
        with srv.raw() as r:
            r.cmd(b"set foo:1 0 0 1\r\nx\r\n")  # before detail on: not counted
            assert r.cmd(b"stats detail on\r\n") == b"OK\r\n"
            r.cmd(b"get foo:1 foo:3 bar:1\r\n")
            r.cmd(b"set foo:4 0 0 1\r\nz\r\n")
            r.cmd(b"delete bar:1\r\n")
            r.cmd(b"get nodelimiter\r\n")
            # the meta commands are not counted (memcached 1.6.45)
            for c in (b"ms foo:5 1\r\nx\r\n", b"mg foo:5 s\r\n", b"md foo:5\r\n"):
                r.cmd(c)
            dumps[kind] = q(r, b"stats detail dump\r\n")
            assert r.cmd(b"stats detail off\r\n") == b"OK\r\n"
            assert r.cmd(b"stats detail\r\n") == b"CLIENT_ERROR usage: stats detail on|off|dump\r\n"
    lines = lambda t: sorted(t.split(b"\r\n"))  # noqa: E731  (memcached's order is its hash's)
    assert lines(dumps["memg"]) == lines(dumps["memcached"]) == lines(dumps["memcached145"])
    assert b"PREFIX foo get 2 hit 1 set 1 del 0\r\n" in dumps["memg"]


def test_slab_and_lru_tuning_answered(server_factory):
    srv = server_factory()
    with srv.raw() as r:
        for cmd in (b"slabs reassign 1 2", b"slabs reassign -1 +5", b"slabs automove 1",
                    b"slabs automove 0", b"slabs automove ratio 0.5",
                    b"slabs automove ratio -1.5e3", b"lru tune 10 25 0.1 2", b"lru mode flat"):
            assert r.cmd(cmd + b"\r\n").startswith(b"CLIENT_ERROR memg has no "), cmd
        for cmd in (b"slabs", b"lru", b"lru_crawler", b"lru_crawler bogus"):
            assert r.cmd(cmd + b"\r\n") == b"ERROR\r\n", cmd


CRAWLER_CMDS = [
    b"lru_crawler crawl all", b"lru_crawler crawl 1,2", b"lru_crawler crawl ,1",
    b"lru_crawler crawl 1,,63", b"lru_crawler crawl 0", b"lru_crawler crawl 64",
    b"lru_crawler crawl x", b"lru_crawler crawl 1,x", b"lru_crawler crawl all,1",
    b"lru_crawler crawl", b"lru_crawler crawl all extra", b"lru_crawler sleep 0",
    b"lru_crawler sleep 1000001", b"lru_crawler sleep -1", b"lru_crawler sleep x",
    b"lru_crawler sleep", b"lru_crawler sleep 5 6", b"lru_crawler sleep  250",
    b"lru_crawler tocrawl 4294967296", b"lru_crawler tocrawl -1", b"lru_crawler tocrawl",
    b"lru_crawler tocrawl 007", b"lru_crawler enable", b"lru_crawler disable",
    b"lru_crawler disable", b"lru_crawler crawl all", b"lru_crawler metadump all",
    b"lru_crawler disable extra", b"lru_crawler enable", b"lru_crawler bogus"]


def crawler_settings(r):
    st = r.cmd(b"stats settings\r\n").split(b"\r\n")
    return [line for line in st if line.startswith(b"STAT lru_crawler")]


def test_lru_crawler_commands_as_memcached(server_factory):
    out = {}
    for kind in ("memcached", "memg"):
        srv = server_factory(kind=kind)
        with srv.raw() as r:
            out[kind] = []
            for c in CRAWLER_CMDS:
                deadline = time.monotonic() + 3
                reply = r.cmd(c + b"\r\n")
                while reply.startswith(b"BUSY") and time.monotonic() < deadline:
                    time.sleep(0.05)  # memcached's crawler thread still on the last crawl
                    reply = r.cmd(c + b"\r\n")
                out[kind].append(reply)
                if c == b"lru_crawler disable":
                    # memcached's crawler thread stops after the OK: a crawl sent at
                    # once may find it stopping ("ERROR an unknown error happened")
                    time.sleep(0.3)
            out[kind] += crawler_settings(r)
    assert out["memg"] == out["memcached"]
    assert out["memg"][-3:] == [b"STAT lru_crawler yes", b"STAT lru_crawler_sleep 250",
                                b"STAT lru_crawler_tocrawl 7"]


def _wait_items(r, want, timeout=10):
    """The stats once curr_items is want and the crawl has checked as many
    (or the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        st = stats(r)
        if (int(st[b"curr_items"]) == want and int(st[b"crawler_items_checked"]) >= want) or \
                time.monotonic() > deadline:
            return st
        time.sleep(0.1)


def test_lru_crawler_crawl_reclaims_expired(server_factory):
    """2,000 items that expire, 1,000 that do not: after a crawl exactly the
    expired ones are gone, and the others stay. -o no_lru_crawler and the
    crawler's -o settings: memcached's words."""
    for kind in ("memcached", "memg"):
        srv = server_factory(kind=kind)
        with srv.raw() as r:
            r.send(b"".join(b"set e%d 0 1 1 noreply\r\nx\r\n" % i for i in range(2000)) +
                   b"".join(b"set k%d 0 0 1 noreply\r\nx\r\n" % i for i in range(1000)))
            assert r.cmd(b"mn\r\n") == b"MN\r\n"
            time.sleep(2.2)
            assert r.cmd(b"lru_crawler crawl all\r\n") == b"OK\r\n"
            st = _wait_items(r, 1000)
            assert st[b"curr_items"] == b"1000", kind
            # memcached's LRU maintainer frees some as it meets them (reclaimed), its
            # crawler the rest; memg's background sweep and crawl count as its crawler
            assert int(st[b"reclaimed"]) + int(st[b"crawler_reclaimed"]) == 2000, kind
            assert st[b"expired_unfetched"] == b"2000", kind
            assert int(st[b"crawler_items_checked"]) >= 1000, kind
            assert r.cmd(b"get k999 e1\r\n") == b"VALUE k999 0 1\r\nx\r\nEND\r\n"
    for kind in ("memcached", "memg"):
        srv = server_factory("-o", "no_lru_crawler,lru_crawler_sleep=1000,lru_crawler_tocrawl=9",
                             kind=kind)
        with srv.raw() as r:
            assert crawler_settings(r) == [b"STAT lru_crawler no", b"STAT lru_crawler_sleep 1000",
                                           b"STAT lru_crawler_tocrawl 9"], kind
            assert r.cmd(b"lru_crawler crawl all\r\n") == b"CLIENT_ERROR lru crawler disabled\r\n"


def test_lru_crawler_tocrawl_and_disable(server_factory):
    """memg: tocrawl bounds one crawl; disable stops the background sweep."""
    srv = server_factory("-o", "lru_crawler_tocrawl=500")
    with srv.raw() as r:
        r.send(b"".join(b"set e%d 0 1 1 noreply\r\nx\r\n" % i for i in range(2000)))
        assert r.cmd(b"mn\r\n") == b"MN\r\n"
        time.sleep(2.2)
        assert r.cmd(b"lru_crawler disable\r\n") == b"OK\r\n"
        before = int(stats(r)[b"crawler_items_checked"])
        time.sleep(0.5)
        assert int(stats(r)[b"crawler_items_checked"]) == before
        assert r.cmd(b"lru_crawler enable\r\n") == b"OK\r\n"
        assert r.cmd(b"lru_crawler crawl all\r\n") == b"OK\r\n"
        deadline = time.monotonic() + 10
        while stats(r)[b"lru_crawler_running"] != b"0":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        st = stats(r)
        assert st[b"lru_crawler_starts"] == b"1"
        # the crawl checked 500; the background sweep may have freed some more
        assert int(st[b"crawler_reclaimed"]) >= 500


def test_idle_kicks_counted(server_factory):
    srv = server_factory("-o", "idle_timeout=1")
    with srv.raw() as idle:
        idle.cmd(b"version\r\n")
        time.sleep(2.5)
        with srv.raw() as r:
            assert int(stats(r)[b"idle_kicks"]) >= 1
