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


def _thp_mode():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return re.search(r"\[(\w+)\]", f.read()).group(1)
    except (OSError, AttributeError):
        return None


def _anon_huge_kb(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        m = re.search(r"^AnonHugePages:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) if m else 0


def test_large_pages_L(server_factory):
    """-L puts item memory in transparent huge pages (where the kernel offers
    them) and changes nothing a client sees; without -L memg asks for none."""
    mode = _thp_mode()
    if mode not in ("always", "madvise"):
        import pytest
        pytest.skip(f"transparent huge pages are {mode or 'absent'} on this kernel")
    srv = server_factory("-L", "-m", "64")
    with srv.raw() as raw:
        assert set(fill(raw, 8000)) == {b"STORED\r\n"}  # 8 MB: four 2 MB blocks
        for i in (0, 3999, 7999):
            assert raw.get(b"key%d" % i) == VALUE
        assert _anon_huge_kb(srv.proc.pid) >= 2048
        assert set(fill(raw, 80000, first=8000)) == {b"STORED\r\n"}  # evicting under -L
        assert raw.get(b"key87999") == VALUE
        assert int(stats(raw)["evictions"]) > 0
    if mode == "madvise":  # "always" would give huge pages to any process
        plain = server_factory("-m", "64")
        with plain.raw() as raw:
            assert set(fill(raw, 8000)) == {b"STORED\r\n"}
            assert _anon_huge_kb(plain.proc.pid) == 0
