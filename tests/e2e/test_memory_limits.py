"""-m (memory bound with eviction) and -M (no eviction)."""
import re


OOM = b"SERVER_ERROR out of memory storing object\r\n"
VALUE = bytes(range(256)) * 4  # 1024 bytes


def stats(raw):
    reply = raw.cmd(b"stats\r\n")
    out = {}
    for m in re.finditer(rb"STAT (\S+) (\S+)\r\n", reply):
        out[m.group(1).decode()] = m.group(2).decode()
    return out


def fill(raw, n, first=0, batch=500):
    """Pipelined sets with replies; returns the list of replies."""
    replies = []
    for start in range(first, first + n, batch):
        req = b"".join(b"set key%d 0 0 %d\r\n%s\r\n" % (i, len(VALUE), VALUE)
                       for i in range(start, min(first + n, start + batch)))
        raw.send(req)
        for _ in range(start, min(first + n, start + batch)):
            replies.append(raw.read_line(timeout=10))
    return replies


def test_eviction_keeps_memory_bounded(server_factory):
    srv = server_factory("-m", "2")
    with srv.raw() as raw:
        n = 20000  # ~20 MB through a 2 MB cache
        replies = fill(raw, n)
        assert set(replies) == {b"STORED\r\n"}
        # the newest items are there, intact
        for i in range(n - 50, n):
            assert raw.get(b"key%d" % i) == VALUE
        # the oldest were evicted
        assert raw.get(b"key0") is None
        st = stats(raw)
        assert st["limit_maxbytes"] == str(2 * 1024 * 1024)
        assert int(st["evictions"]) > 0
        assert int(st["curr_items"]) < n
        assert int(st["bytes"]) <= 2 * 1024 * 1024
        assert int(st["total_items"]) >= n
        # and the server still serves normally
        assert raw.set(b"after", b"ok") == b"STORED\r\n"
        assert raw.get(b"after") == b"ok"


def test_no_eviction_with_M(server_factory):
    srv = server_factory("-m", "2", "-M")
    with srv.raw() as raw:
        replies = fill(raw, 10000)
        assert OOM in replies, "10 MB fit in -m 2 -M"
        first_oom = replies.index(OOM)
        assert first_oom > 100
        assert set(replies[:first_oom]) == {b"STORED\r\n"}
        # nothing stored before was evicted
        for i in (0, 1, first_oom // 2, first_oom - 1):
            assert raw.get(b"key%d" % i) == VALUE
        st = stats(raw)
        assert st["evictions"] == "0"
        assert int(st["curr_items"]) == first_oom
        # the connection is fine; small commands work
        assert raw.cmd(b"delete key0\r\n") == b"DELETED\r\n"
        assert raw.cmd(b"version\r\n").startswith(b"VERSION ")
