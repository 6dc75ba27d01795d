"""-e/--memory-file: the cache survives a graceful restart (docs/RESTART.md).

Every test starts memg with -e on a file in a fresh directory (on /dev/shm,
tmpfs, when it is there), stops it with SIGUSR1 (or kills it), starts it
again and looks at what came back. Processes are stopped and the directory
removed even when a test fails.
"""
import os
import random
import shutil
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import AS_ROOT, IS_MEMCACHED, free_port, memg_bin, start_server

pytestmark = pytest.mark.skipif(IS_MEMCACHED, reason="memg's memory file format")

MB = 1 << 20


@pytest.fixture
def mdir(tmp_path):
    """A directory for the memory file: tmpfs when there is room, as
    memcached advises; removed afterwards."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    if base and shutil.disk_usage(base).free < 1024 * MB:
        base = None
    d = tempfile.mkdtemp(prefix="memg-restart-", dir=base or str(tmp_path))
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Memg:
    """memg with -e FILE and extra flags; stop() is bounded and idempotent."""

    def __init__(self, logdir, path, *flags):
        self.srv = start_server("memg", ("-e", path) + flags, logdir)
        self.port = self.srv.port

    def raw(self):
        return self.srv.raw(timeout=30)

    def note(self):
        """memg's line about the memory file (what was restored, or why not)."""
        lines = [ln for ln in self.srv.log_text().splitlines() if ln.startswith("memg: -e ")]
        assert len(lines) == 1, self.srv.log_text()
        return lines[0]

    def stats(self):
        with self.raw() as r:
            reply = r.cmd(b"stats\r\n")
        return {ln.split()[1].decode(): ln.split()[2].decode()
                for ln in reply.split(b"\r\n") if ln.startswith(b"STAT ")}

    def save(self, sig=signal.SIGUSR1):
        """Graceful stop: exit status 0."""
        self.srv.proc.send_signal(sig)
        assert self.srv.proc.wait(30) == 0, self.srv.log_text()
        self.srv.stop()

    def kill(self):
        self.srv.proc.kill()
        self.srv.proc.wait(10)
        self.srv.stop()

    def stop(self):
        self.srv.stop()


@pytest.fixture
def memg(tmp_path):
    """start(path, *flags) -> Memg; every one started is stopped at the end."""
    started = []

    def start(path, *flags):
        m = Memg(str(tmp_path), path, *flags)
        started.append(m)
        return m

    yield start
    for m in started:
        m.stop()


def set_many(r, items, exptime=None):
    """Pipelined noreply sets of (key, value, flags, ttl); one round trip."""
    out = []
    for k, v, f, ttl in items:
        out.append(b"set %s %d %d %d noreply\r\n%s\r\n" % (k, f, ttl if exptime is None
                                                             else exptime, len(v), v))
        if sum(map(len, out)) > 1 << 20:
            r.send(b"".join(out))
            out = []
    out.append(b"mn\r\n")
    r.send(b"".join(out))
    assert r.read_line() == b"MN\r\n"


def meta_many(r, keys, flags=b"v f c t"):
    """{key: (value or None, {flag: value}, time asked)} for the keys found,
    pipelined."""
    found = {}
    for i in range(0, len(keys), 500):
        batch = keys[i:i + 500]
        asked = time.time()
        r.send(b"".join(b"mg %s %s\r\n" % (k, flags) for k in batch))
        for k in batch:
            line = r.read_line()[:-2].split()
            if line[0] == b"EN":
                continue
            value = None
            if line[0] == b"VA":
                value = r.read_exact(int(line[1]) + 2)[:-2]
                tokens = line[2:]
            else:
                assert line[0] == b"HD", line
                tokens = line[1:]
            found[k] = (value, {t[:1]: t[1:] for t in tokens}, asked)
    return found


def test_every_item_comes_back(memg, mdir):
    """100,000 items of every size up to 1 MB, with flags, CAS, relative and
    absolute exptimes: after SIGUSR1 and a start with the same -e, -m and -I,
    each comes back with its value, flags and CAS and the TTL it has left;
    items that expired while memg was down are gone; stats say so."""
    path = os.path.join(mdir, "cache")
    rnd = random.Random(16)
    m = memg(path, "-m", "400", "-I", "2m")
    now = int(time.time())
    items, short = [], []
    for i in range(100000):
        size = rnd.choice([0, 1, 10, 32, 100, 500, 1000, 3000, 20000])
        ttl = rnd.choice([0, 0, 3600, 86400, now + 7200])
        items.append((b"key:%06d" % i, os.urandom(size // 2).hex().encode() + b"x" * (size % 2),
                      rnd.getrandbits(32), ttl))
    for i in range(20):  # 1 MB values: the largest -I 2m takes comfortably
        items.append((b"big:%02d" % i, os.urandom(MB // 2).hex().encode(), i, 0))
    for i in range(1000):  # expire while memg is down
        short.append((b"short:%04d" % i, b"s%d" % i, i, 3))
    with m.raw() as r:
        set_many(r, items)
        set_many(r, short)
        short_at = time.time()
        alive = meta_many(r, [k for k, _, _, _ in short], b"c")
        assert len(alive) == len(short)
        before = meta_many(r, [k for k, _, _, _ in items], b"c t")
    assert len(before) == len(items)
    m.save()
    assert not os.path.exists(path + ".meta.tmp")
    assert os.path.getsize(path + ".meta") > 0
    time.sleep(max(0.0, short_at + 4 - time.time()))  # the short ones are past their time
    m = memg(path, "-m", "400", "-I", "2m")
    assert "restored %d items" % len(items) in m.note(), m.note()
    st = m.stats()
    assert int(st["restored_items"]) == len(items) == int(st["curr_items"])
    assert int(st["restore_time_us"]) > 0
    assert not os.path.exists(path + ".meta")  # consumed: a crash now leaves none
    with m.raw() as r:
        after = meta_many(r, [k for k, _, _, _ in items])
        assert meta_many(r, [k for k, _, _, _ in short], b"c") == {}
        # the counter came back too: a new item's cas is past every old one
        r.send(b"ms fresh 1 c\r\nx\r\n")
        fresh_cas = int(r.read_line().split()[1][1:])
    assert set(after) == set(before)
    bad = []
    for k, v, f, ttl in items:
        value, fl, read_at = after[k]
        _, was, was_at = before[k]
        if value != v or int(fl[b"f"]) != f or fl[b"c"] != was[b"c"]:
            bad.append((k, "value/flags/cas"))
            continue
        left = int(fl[b"t"])
        if ttl == 0:
            ok = left == -1 == int(was[b"t"])
        else:  # what is left counts the time memg was down
            ok = abs(left - (int(was[b"t"]) - (read_at - was_at))) <= 2 and left < int(was[b"t"])
            ok = ok and (ttl <= 2592000 or abs(left - (ttl - read_at)) <= 2)
        if not ok:
            bad.append((k, "ttl %s, %s before" % (left, was[b"t"])))
    assert not bad, bad[:10]
    assert fresh_cas > max(int(c[b"c"]) for _, c, _ in before.values())


def test_ttl_counts_the_time_down(memg, mdir):
    """An item with 60 s left, down for about 3 s, has about 57 s left."""
    path = os.path.join(mdir, "cache")
    m = memg(path)
    with m.raw() as r:
        assert r.cmd(b"set k 0 60 1\r\nv\r\n") == b"STORED\r\n"
        t0 = int(r.cmd(b"mg k t\r\n").split()[1][1:])
    m.save()
    down = time.time()
    time.sleep(3)
    m = memg(path)
    with m.raw() as r:
        t1 = int(r.cmd(b"mg k t\r\n").split()[1][1:])
    assert 58 <= t0 <= 60
    assert t0 - 5 <= t1 <= t0 - int(time.time() - down) + 1, (t0, t1)


def test_other_settings_start_empty(memg, mdir):
    """A different -m, -I, -C or -o large_client_flags: an empty cache, one line saying why (records
    written with -C hold no cas; without, real ones)."""
    path = os.path.join(mdir, "cache")
    for flags in (("-m", "32"), ("-I", "2m"), ("-C",), ("-o", "large_client_flags")):
        m = memg(path)
        with m.raw() as r:
            assert r.cmd(b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
        m.save()
        m = memg(path, *flags)
        assert "starting empty: it was saved with another -m, -I, -C or -o large_client_flags" in m.note()
        assert m.stats()["curr_items"] == "0"
        m.stop()


MODES = [
    # -C: the items come back with cas 0 and a compare still fails
    (("-C",), b"set k 0 0 1\r\nv\r\n",
     [(b"gets k\r\n", b"VALUE k 0 1 0\r\nv\r\nEND\r\n"),
      (b"cas k 0 0 1 0\r\nw\r\n", b"EXISTS\r\n")]),
    # -o large_client_flags: flags past 32 bits come back whole
    (("-o", "large_client_flags"), b"set k 4294967296 0 1\r\nv\r\n",
     [(b"get k\r\n", b"VALUE k 4294967296 1\r\nv\r\nEND\r\n")]),
]


@pytest.mark.parametrize("mode,store,checks", MODES, ids=["C", "large_client_flags"])
def test_mode_restores_only_with_it(memg, mdir, mode, store, checks):
    """Saved with a mode and started with it again: the items come back as
    they were; started without it: empty (its records mean something else)."""
    path = os.path.join(mdir, "cache")
    m = memg(path, *mode)
    with m.raw() as r:
        assert r.cmd(store) == b"STORED\r\n"
    m.save()
    m = memg(path, *mode)
    assert "restored 1 items" in m.note()
    with m.raw() as r:
        for req, want in checks:
            assert r.cmd(req) == want, req
    m.save()
    m = memg(path)
    assert "starting empty: it was saved with another -m, -I, -C or -o large_client_flags" in m.note()
    assert m.stats()["curr_items"] == "0"


def test_killed_starts_empty(memg, mdir):
    """kill -9 (or a power cut) writes no metadata: the next start is empty,
    and so is the one after a restore that was then killed (the metadata
    was consumed at start)."""
    path = os.path.join(mdir, "cache")
    m = memg(path)
    with m.raw() as r:
        assert r.cmd(b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
    m.save()
    m = memg(path)
    assert "restored 1 items" in m.note()
    with m.raw() as r:
        assert r.cmd(b"set k 0 0 2\r\nv2\r\n") == b"STORED\r\n"
    m.kill()
    m = memg(path)
    assert "starting empty: no saved state" in m.note()
    with m.raw() as r:
        assert r.cmd(b"get k\r\n") == b"END\r\n"


def _saved(memg, path, n=50):
    """A memory file and its metadata, saved with n items in it."""
    m = memg(path, "-m", "8")
    with m.raw() as r:
        set_many(r, [(b"k%d" % i, b"v" * (i * 37 % 3000), i, 0) for i in range(n)])
    m.save()
    with open(path, "rb") as f:
        data = f.read()
    with open(path + ".meta", "rb") as f:
        meta = f.read()
    return data, meta


def _put(path, data, meta):
    with open(path, "wb") as f:
        f.write(data)
    if meta is not None:
        with open(path + ".meta", "wb") as f:
            f.write(meta)


def _start_fast(path, *flags):
    """memg -e path, polled every 2 ms until it serves (the sweep below starts
    it hundreds of times): (process, port, its first line)."""
    port = free_port()
    argv = [memg_bin(), "-p", str(port), "-l", "127.0.0.1", "-U", "0", "-e", path]
    proc = subprocess.Popen(argv + AS_ROOT + list(flags), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port, proc.stderr.readline().decode()
        except OSError:
            time.sleep(0.002)
    proc.kill()
    proc.wait(10)
    pytest.fail("memg did not serve: status %s, %r" % (proc.returncode, proc.stderr.read()))


def test_corrupt_metadata_byte_by_byte(memg, mdir):
    """Bytes of the metadata changed in turn (each of the head and the
    segment table, the checksum, and a byte every 97 of the table's slots):
    each start is empty and says why, none crashes; the unchanged copy
    restores every item."""
    path = os.path.join(mdir, "cache")
    data, meta = _saved(memg, path)
    _put(path, data, meta)
    m = memg(path, "-m", "8")
    assert "restored 50 items" in m.note()
    m.stop()
    offsets = sorted(set(range(min(512, len(meta)))) | set(range(512, len(meta), 97))
                     | set(range(len(meta) - 16, len(meta))))
    for n, i in enumerate(offsets):
        bad = bytearray(meta)
        bad[i] ^= 1 << (i % 8)
        _put(path, data, bytes(bad))
        proc, port, note = _start_fast(path, "-m", "8")
        try:
            assert "starting empty" in note, (i, note)
            if n % 8 == 0:  # and it is: nothing found
                with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                    c.sendall(b"get k1 k49\r\n")
                    assert c.recv(100) == b"END\r\n", i
        finally:
            proc.terminate()
            assert proc.wait(10) == 0, i
            proc.stderr.close()


M64 = (1 << 64) - 1


def _hash64(data, seed):
    """memg's hash64 (src/store/hash.c), which checksums the metadata."""
    k1, k2, k3 = 0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9
    rotl = lambda x, r: ((x << r) | (x >> (64 - r))) & M64
    rd = lambda at, w: int.from_bytes(data[at:at + w], "little")

    def mix(h, k):
        k = rotl(k * k2 & M64, 29) * k1 & M64
        return (rotl(h ^ k, 31) * k3 + k1) & M64

    n, at = len(data), 0
    h = (seed ^ (n * k3)) & M64
    while n > 16:
        h = mix(mix(h, rd(at, 8)), rd(at + 8, 8))
        at, n = at + 16, n - 16
    if n > 8:
        h = mix(mix(h, rd(at, 8)), rd(at + n - 8, 8))
    elif n >= 4:
        h = mix(h, rd(at, 4) << 32 | rd(at + n - 4, 4))
    elif n > 0:
        h = mix(h, data[at] | data[at + n // 2] << 8 | data[at + n - 1] << 16)
    for shift, mul in ((32, k2), (29, k3)):
        h = (h ^ (h >> shift)) * mul & M64
    return h ^ (h >> 32)


def _with_slots(meta, change):
    """The metadata with its table slots (a list of refs) changed by
    change(slots) -> new head count, checksum recomputed: a crafted file,
    which the checksum cannot catch (head: 136 bytes, ht_count at 64,
    hiwater at 88, ht_level at 92: 2^(level/2) slots, 1.5x that for odd levels)."""
    hiwater, level = struct.unpack_from("<II", meta, 88)
    nslot = (2 + level % 2) << (level // 2) >> 1
    segs_end = len(meta) - 8 - 4 * nslot
    slots = list(struct.unpack_from("<%dI" % nslot, meta, segs_end))
    count = change(slots)
    head = bytearray(meta[:136])
    struct.pack_into("<Q", head, 64, count)
    body = bytes(head) + meta[136:segs_end]
    tab = struct.pack("<%dI" % nslot, *slots)
    seg_sum = _hash64(meta[136:segs_end], _hash64(tab, 0))
    return body + tab + struct.pack("<Q", _hash64(bytes(head), seg_sum))


def test_crafted_table_slots(memg, mdir):
    """Metadata with a valid checksum whose slots lie: one points past the
    segments, one more points into a value, one record is left out of the
    table. Each start is empty, says why, and serves; none crashes (the
    first restored and then crashed on a lookup before the check)."""
    path = os.path.join(mdir, "cache")
    data, meta = _saved(memg, path)
    assert _with_slots(meta, lambda s: sum(1 for r in s if r)) == meta  # the format is right

    def past(s):
        i = next(i for i, r in enumerate(s) if r)
        s[i] = 0xfffffff0
        return sum(1 for r in s if r)

    def into_value(s):
        r = next(r for r in s if r)
        s[s.index(0)] = r + 1
        return sum(1 for r in s if r)

    def dropped(s):
        s[next(i for i, r in enumerate(s) if r)] = 0
        return sum(1 for r in s if r)

    for change, why in ((past, "a table slot points outside the segments, or none is empty"),
                        (into_value, "the table's slots are not the live records"),
                        (dropped, "the table's slots are not the live records")):
        _put(path, data, _with_slots(meta, change))
        m = memg(path, "-m", "8")
        assert "starting empty" in m.note() and why in m.note(), (change.__name__, m.note())
        with m.raw() as r:
            assert r.cmd(b"get " + b" ".join(b"k%d" % i for i in range(50)) + b"\r\n") == b"END\r\n"
            assert r.cmd(b"set k1 0 0 1\r\nv\r\n") == b"STORED\r\n"
        assert m.stats()["curr_items"] == "1"
        m.stop()


def test_truncated_or_foreign_file(memg, mdir):
    """The memory file cut short, replaced by another of the same size, or
    with its header from another format: empty, never a torn item."""
    path = os.path.join(mdir, "cache")
    data, meta = _saved(memg, path)
    cases = {
        "truncated": data[:len(data) // 2],
        "foreign": os.urandom(4096) + data[4096:],
        "other format": data[:8] + bytes([data[8] ^ 0x7f]) + data[9:],
    }
    for what, bad in cases.items():
        _put(path, bad, meta)
        m = memg(path, "-m", "8")
        assert "starting empty: the file is not the one saved" in m.note(), what
        assert m.stats()["curr_items"] == "0", what
        with m.raw() as r:  # and it serves
            assert r.cmd(b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
        m.stop()
    # records themselves torn (a varint running off the end): refused whole
    _put(path, data[:1 << 20] + b"\xff" * (1 << 20) + data[2 << 20:], meta)
    m = memg(path, "-m", "8")
    assert "starting empty" in m.note()
    m.stop()


def test_metadata_of_another_version(memg, mdir):
    """Metadata whose format number is not this memg's: empty, and said."""
    path = os.path.join(mdir, "cache")
    data, meta = _saved(memg, path)
    _put(path, data, meta[:8] + bytes([meta[8] + 1]) + meta[9:])
    m = memg(path, "-m", "8")
    assert "starting empty: the metadata is from another memg version" in m.note()


def test_kill_in_the_middle_of_a_save(memg, mdir):
    """memg killed while it writes the metadata (held in its open() by a
    FIFO where the temporary file goes): no FILE.meta claims a save, and
    the next start is empty."""
    path = os.path.join(mdir, "cache")
    m = memg(path)
    with m.raw() as r:
        assert r.cmd(b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
    os.mkfifo(path + ".meta.tmp")
    m.srv.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the listener closes, then the save begins
        try:
            socket.create_connection(("127.0.0.1", m.port), timeout=1).close()
            time.sleep(0.02)
        except OSError:
            break
    time.sleep(0.2)
    assert m.srv.proc.poll() is None, "memg did not wait in its save"
    m.kill()
    os.unlink(path + ".meta.tmp")
    assert not os.path.exists(path + ".meta")
    m = memg(path)
    assert "starting empty: no saved state" in m.note()
    with m.raw() as r:
        assert r.cmd(b"get k\r\n") == b"END\r\n"


def test_save_under_load_loses_no_acknowledged_write(memg, mdir):
    """50 clients storing as fast as they can when SIGUSR1 comes: every set
    that was answered STORED is there after the restart, with its value."""
    path = os.path.join(mdir, "cache")
    m = memg(path, "-m", "256")
    acked = [[] for _ in range(50)]
    started = threading.Barrier(51)

    def client(n):
        s = socket.create_connection(("127.0.0.1", m.port), timeout=30)
        buf = b""
        started.wait()
        try:
            for i in range(1000000):
                key = b"c%02d:%d" % (n, i)
                s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(key) + 4, key + b"-val"))
                while b"\r\n" not in buf:
                    d = s.recv(4096)
                    if not d:
                        return
                    buf += d
                line, buf = buf.split(b"\r\n", 1)
                assert line == b"STORED", line
                acked[n].append(key)
        except OSError:
            return
        finally:
            s.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(1.0)
    m.save()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    total = sum(map(len, acked))
    assert total > 1000 and all(acked), [len(a) for a in acked]
    m = memg(path, "-m", "256")
    keys = [k for a in acked for k in a]
    with m.raw() as r:
        got = meta_many(r, keys, b"v")
    missing = [k for k in keys if k not in got or got[k][0] != k + b"-val"]
    assert not missing, (len(missing), missing[:5], total)


def test_shutdown_graceful_saves(memg, mdir):
    """`shutdown graceful` (with -A) is SIGUSR1's twin; a plain `shutdown`
    and SIGTERM save nothing."""
    path = os.path.join(mdir, "cache")
    for how, kept in ((b"shutdown graceful\r\n", True), (b"shutdown\r\n", False),
                      (signal.SIGTERM, False)):
        m = memg(path, "-A")
        with m.raw() as r:
            assert r.cmd(b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
            if isinstance(how, bytes):
                r.send(how)
        if isinstance(how, bytes):
            assert m.srv.proc.wait(10) == 0
        else:
            m.save(how)
        m.stop()
        m = memg(path, "-A")
        assert ("restored 1 items" in m.note()) == kept, (how, m.note())
        m.stop()


def test_refused_combinations(tmp_path, mdir):
    """-e with -L is refused at start (huge pages are anonymous memory's);
    an unusable path and a file already in use by another memg too."""
    path = os.path.join(mdir, "cache")

    def run(*args):
        argv = [memg_bin(), "-p", str(free_port()), "-l", "127.0.0.1", "-U", "0"] + AS_ROOT
        return subprocess.run(argv + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=10)

    r = run("-e", path, "-L")
    assert r.returncode == 64
    assert b"-e/--memory-file: cannot be combined with -L" in r.stderr
    r = run("-e", os.path.join(mdir, "no", "such", "dir"))
    assert r.returncode == 1 and b"No such file or directory" in r.stderr, r
    r = run("--memory-file=" + mdir)
    assert r.returncode == 1 and b"-e %s: " % mdir.encode() in r.stderr, r
    srv = start_server("memg", ("-e", path), str(tmp_path))
    try:
        r = run("-e", path)
        assert r.returncode == 1 and b"in use by another memg" in r.stderr, r
    finally:
        srv.stop()


def test_memory_limit_stays_within_the_file(memg, mdir):
    """cache_memlimit may lower -m under -e but not raise it past the file;
    `stats settings` names the file as memcached does."""
    path = os.path.join(mdir, "cache")
    m = memg(path, "-m", "64")
    with m.raw() as r:
        assert r.cmd(b"cache_memlimit 32\r\n") == b"OK\r\n"
        assert r.cmd(b"cache_memlimit 128\r\n").startswith(b"MEMLIMIT_ADJUST_FAILED")
        assert b"STAT memory_file %s\r\n" % path.encode() in r.cmd(b"stats settings\r\n")
    st = os.stat(path)
    assert stat.S_ISREG(st.st_mode) and st.st_mode & 0o777 == 0o600


def test_segments_all_expired_are_freed(memg, mdir):
    """Segments whose every item expired while memg was down hold nothing
    after the start: they are free again, and the cache goes on working."""
    path = os.path.join(mdir, "cache")
    m = memg(path, "-m", "16")
    with m.raw() as r:
        set_many(r, [(b"old%d" % i, b"o" * 10000, 0, 2) for i in range(500)])  # ~5 segments
        set_many(r, [(b"new%d" % i, b"n" * 1000, 0, 0) for i in range(100)])
    used = int(m.stats()["segments_total"]) - int(m.stats()["segments_free"])
    assert used >= 5
    m.save()
    time.sleep(3)
    m = memg(path, "-m", "16")
    st = m.stats()
    assert st["curr_items"] == "100" and st["restored_items"] == "100"
    assert int(st["segments_total"]) - int(st["segments_free"]) <= used - 2, st
    with m.raw() as r:
        assert len(meta_many(r, [b"new%d" % i for i in range(100)], b"v")) == 100
        set_many(r, [(b"more%d" % i, b"m" * 10000, 0, 0) for i in range(1000)])  # evicts
        assert r.cmd(b"get new99 more999\r\n").count(b"VALUE") >= 1
