"""memcached 1.6.45's -o words for the table, connections, logger, slabs and
LRU (src/process/config_ext.c): the refusals with 1.6.45's words and exit
status, and what each honoured word does, against 1.6.45 where visible."""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import AS_ROOT, HOST, free_port, memcached145_bin, memg_bin
from mcraw import parse_stats

pytestmark = pytest.mark.memg_only


def _run(binary, args):
    argv = [binary, "-p", str(free_port()), "-l", HOST, "-U", "0"]
    if binary != memg_bin():
        argv += ["-u", "nobody"] if os.geteuid() == 0 else []
    else:
        argv += AS_ROOT
    try:
        return subprocess.run(argv + args, stdin=subprocess.DEVNULL, capture_output=True, timeout=3)
    except subprocess.TimeoutExpired:
        pytest.fail("%s %s kept running" % (binary, " ".join(args)))


# (flags, what both say): each refused at start by memcached 1.6.45 and memg
# with the same exit status (1 for an -o word, 64 for slab_chunk_max against
# -I) and memcached's words.
REFUSED = [
    (["-o", "hashpower=11"], "Initial hashtable multiplier of 11 is too low"),
    (["-o", "hashpower=33"], "Initial hashtable multiplier of 33 is too high"),
    (["-o", "hashpower"], "Missing numeric argument for hashpower"),
    (["-o", "hash_algorithm=md5"], "Unknown hash_algorithm option (jenkins, murmur3, xxh3)"),
    (["-o", "slab_automove=3"], "slab_automove must be between 0 and 2"),
    (["-o", "slab_automove_window=2"], "slab_automove_window must be > 2 and < 1800"),
    (["-o", "slab_chunk_max=2048"], "slab_chunk_max must be specified in kilobytes."),
    (["-o", "hot_lru_pct=80"], "hot_lru_pct must be > 1 and < 80"),
    (["-o", "warm_max_factor=0"], "warm_max_factor must be > 0"),
    (["-o", "tail_repair_time=5"], "Cannot set tail_repair_time to less than 10 seconds"),
    (["-o", "watcher_logbuf_size=x"], "could not parse argument to watcher_logbuf_size"),
    (["-o", "worker_logbuf_size"], "Missing worker_logbuf_size argument"),
    (["-o", "read_buf_mem_limit=x"], "could not parse argument to read_buf_mem_limit"),
    (["-o", "temporary_ttl"], "Missing temporary_ttl argument"),
    (["-o", "slab_chunk_max=3"],
     "-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max (bytes: 3072)"),
    (["-o", "slab_chunk_max=16", "-I", "8k"],
     "slab_chunk_max (bytes: 16384) cannot be larger than -I (item_size_max 8192)"),
    (["-I", "96k", "-o", "slab_chunk_max=48"],
     "slab_chunk_max (bytes: 49152) must divide evenly into 1048576 (slab_page_size)"),
    # words 1.6.45 no longer has
    (["-o", "lru_segmented"], 'llegal suboption "lru_segmented"'),
    (["-o", "inline_ascii_response"], 'llegal suboption "inline_ascii_response"'),
    (["-o", "expirezero_does_not_evict"], 'llegal suboption "expirezero_does_not_evict"'),
]


@pytest.mark.parametrize("args,message", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_refused_as_memcached_145(args, message):
    ref = _run(memcached145_bin(), args)
    got = _run(memg_bin(), args)
    assert ref.returncode in (1, 64) and message.encode() in ref.stdout + ref.stderr, ref
    assert got.returncode == ref.returncode, got
    assert message.encode() in got.stderr and got.stderr.count(b"\n") == 1, got


# Valid values of words for machinery memg has not: refused with the reason.
@pytest.mark.parametrize("word", ["lru_maintainer", "hot_lru_pct=20",
                                  "warm_max_factor=2.0", "temporary_ttl=61",
                                  "tail_repair_time=60", "hash_algorithm=murmur3",
                                  "worker_logbuf_size=64", "read_buf_mem_limit=1"])
def test_machinery_memg_lacks_refused(word):
    r = _run(memg_bin(), ["-o", word])
    assert r.returncode == 1, r
    assert b"refused" in r.stderr or b"only 0 is accepted" in r.stderr, r
    assert r.stderr.count(b"\n") == 1, r


def _stats(srv, group=b""):
    with srv.raw() as r:
        return parse_stats(r.cmd(b"stats %s\r\n" % group if group else b"stats\r\n"))


def test_hashpower_as_memcached_145(server_factory):
    """hashpower=N: the table starts at 2^N slots; both say so."""
    for kind in ("memcached145", "memg"):
        srv = server_factory("-o", "hashpower=17", kind=kind)
        assert _stats(srv)["hash_power_level"] == "17", kind
        settings = _stats(srv, b"settings")
        assert settings["hashpower_init"] == "17", kind
        assert settings["maxconns_fast"] == "yes", kind


def _fill(srv, n, start=0):
    """Set n keys; the replies, in one pipelined burst."""
    with srv.raw() as r:
        r.send(b"".join(b"set k%d 0 0 1 noreply\r\nv\r\n" % i for i in range(start, start + n)))
        return r.cmd(b"mn\r\n")


def test_no_hashexpand_keeps_the_table(server_factory):
    """no_hashexpand: the table never grows. memg's table is open addressing:
    a new key past 7/8 of its slots is refused (memcached's chains would take
    it); without the word the table grows (to 1.414x: hash_power_level stays
    12, the bytes of the table grow)."""
    fixed = server_factory("-o", "hashpower=12,no_hashexpand")
    grows = server_factory("-o", "hashpower=12")
    for srv in (fixed, grows):
        assert _fill(srv, 3500) == b"MN\r\n"
    assert _stats(fixed)["hash_power_level"] == "12"
    assert _stats(fixed)["curr_items"] == "3500"
    assert int(_stats(grows)["hash_bytes"]) > int(_stats(fixed)["hash_bytes"])
    with fixed.raw() as r:
        for i in range(3500, 3584):
            assert r.set(b"k%d" % i, b"v") == b"STORED\r\n"
        assert r.set(b"one-more", b"v") == b"SERVER_ERROR out of memory storing object\r\n"
        assert r.set(b"k1", b"w") == b"STORED\r\n"  # an existing key takes no slot
    assert _stats(fixed)["hash_power_level"] == "12"


def _connect(srv):
    time.sleep(0.05)  # the start-up probe's connection is closed by then
    s = socket.create_connection(srv.addr, timeout=3)
    s.sendall(b"version\r\n")
    return s


def test_maxconns_fast_answers_and_closes(server_factory):
    """At -c, by default (maxconns_fast) a new connection is told and closed."""
    srv = server_factory("-c", "3")
    held = [_connect(srv) for _ in range(3)]
    for s in held:
        assert s.recv(100).startswith(b"VERSION ")
    extra = socket.create_connection(srv.addr, timeout=3)
    assert extra.recv(100) == b"ERROR Too many open connections\r\n"
    assert extra.recv(100) == b""
    extra.close()
    held.pop().close()
    time.sleep(0.1)
    with srv.raw() as r:
        stats = parse_stats(r.cmd(b"stats\r\n"))
    assert stats["rejected_connections"] == "1"
    for s in held:
        s.close()


def test_no_maxconns_fast_waits_for_a_free_place(server_factory):
    """no_maxconns_fast: at -c memg stops accepting (listen_disabled_num);
    a new client waits in the backlog and is served once one closes."""
    srv = server_factory("-c", "3", "-o", "no_maxconns_fast")
    held = [_connect(srv) for _ in range(3)]
    for s in held:
        assert s.recv(100).startswith(b"VERSION ")
    waiting = _connect(srv)  # the kernel completes the handshake; memg does not accept
    waiting.settimeout(0.5)
    with pytest.raises(socket.timeout):
        waiting.recv(100)
    held.pop().close()
    waiting.settimeout(3)
    assert waiting.recv(100).startswith(b"VERSION ")  # accepted once one closed
    waiting.sendall(b"stats\r\n")
    text = b""
    while not text.endswith(b"END\r\n"):
        text += waiting.recv(65536)
    stats = parse_stats(text)
    assert "rejected_connections" not in stats  # as memcached 1.6.45 without maxconns_fast
    assert int(stats["listen_disabled_num"]) >= 1
    assert stats["accepting_conns"] == "1"
    for s in held + [waiting]:
        s.close()


def test_rejected_connections_line_as_memcached_145(server_factory):
    for kind in ("memcached145", "memg"):
        assert "rejected_connections" in _stats(server_factory(kind=kind)), kind
        srv = server_factory("-o", "no_maxconns_fast", kind=kind)
        assert "rejected_connections" not in _stats(srv), kind
        assert _stats(srv, b"settings")["maxconns_fast"] == "no", kind


def test_watcher_logbuf_size(server_factory):
    """watcher_logbuf_size=KB: the watch buffer, as `stats settings` says."""
    for kind in ("memcached145", "memg"):
        srv = server_factory("-o", "watcher_logbuf_size=8", kind=kind)
        assert _stats(srv, b"settings")["watcher_logbuf_size"] == "8192", kind


def test_watcher_logbuf_size_drops_past_it(server_factory):
    """A watcher that does not read loses lines past its buffer (and is
    told how many): sooner with a small buffer."""
    skipped = {}
    for kb in ("8", "256"):
        srv = server_factory("-o", "watcher_logbuf_size=" + kb)
        w = socket.create_connection(srv.addr, timeout=3)
        w.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        w.sendall(b"watch mutations\r\n")
        time.sleep(0.2)
        with srv.raw() as r:  # ~5 MB of log lines (~260 bytes) the watcher does not read
            r.send(b"".join(b"set %s-%06d 0 0 1 noreply\r\nv\r\n" % (b"k" * 200, i)
                            for i in range(20000)))
            assert r.cmd(b"mn\r\n") == b"MN\r\n"
            skipped[kb] = int(parse_stats(r.cmd(b"stats\r\n"))["log_watcher_skipped"])
        w.close()
    # the socket buffers hold as much either way; 248 KB more buffer holds
    # ~950 more lines (400 leaves room for the kernel's autotuning)
    assert skipped["8"] - skipped["256"] > 400 and skipped["256"] > 0, skipped


def test_sock_cookie_id_marks_the_listener(server_factory):
    """sock_cookie_id=N: SO_MARK on the listening socket (needs
    CAP_NET_ADMIN; without it memg says so, as memcached's perror, and runs)."""
    srv = server_factory("-o", "sock_cookie_id=42")
    if os.geteuid() != 0:
        assert "setsockopt: Operation not permitted" in srv.log_text()
        return
    ss = shutil.which("ss")
    assert ss, "ss (iproute2) is needed: tests/deps.sh installs it"
    out = subprocess.run([ss, "-tlne", "sport = :%d" % srv.port], capture_output=True,
                         text=True, timeout=5).stdout
    assert "fwmark:0x2a" in out, out
    plain = server_factory()
    out = subprocess.run([ss, "-tlne", "sport = :%d" % plain.port], capture_output=True,
                         text=True, timeout=5).stdout
    assert "fwmark" not in out, out


def test_noops_and_deprecated_as_memcached_145(server_factory):
    """modern, inline_ascii_resp, no_inline_ascii_resp are 1.6.45's own
    no-ops; resp_obj_mem_limit its DEPRECATED line; both serve after."""
    for kind in ("memcached145", "memg"):
        srv = server_factory("-o", "modern,inline_ascii_resp,no_inline_ascii_resp,"
                             "resp_obj_mem_limit=1", kind=kind)
        with srv.raw() as r:
            assert r.set(b"k", b"v") == b"STORED\r\n"
        assert ("DEPRECATED: resp_obj_mem_limit no longer used. See read_buf_mem_limit,"
                in srv.log_text()), kind


def test_no_modern_turns_off_what_memg_has(server_factory):
    srv = server_factory("-o", "no_modern")
    s = _stats(srv, b"settings")
    assert s["maxconns_fast"] == "no" and s["lru_crawler"] == "no"


def test_slab_words_start_with_a_notice(server_factory):
    srv = server_factory("-o", "slab_reassign,slab_automove=1,slab_chunk_max=16")
    with srv.raw() as r:
        assert r.set(b"k", b"v") == b"STORED\r\n"
    assert srv.log_text().count("memg has no slab classes") == 1


def test_track_sizes_as_memcached_145(server_factory):
    """track_sizes: `stats sizes` counts live items by memcached's size of
    each (header, key, flags, value, cas; 32-byte steps), with and without
    -C, through replaces, deletes, incr, append, touch, meta and flush_all."""
    steps = [b"set a 0 0 1\r\nv\r\n", b"set bb 5 0 100\r\n" + b"x" * 100 + b"\r\n",
             b"set c 0 0 600000\r\n" + b"x" * 600000 + b"\r\n",
             b"set a 0 0 40\r\n" + b"y" * 40 + b"\r\n", b"set d 0 0 1\r\nv\r\n",
             b"delete d\r\n", b"incr zz 1\r\n", b"set n 0 0 1\r\n9\r\n", b"incr n 1\r\n",
             b"append bb 0 0 30\r\n" + b"z" * 30 + b"\r\n", b"touch a 100\r\n",
             b"ms m 2 T1 F7\r\nhi\r\n", b"stats sizes\r\n", b"flush_all\r\n",
             b"set f 0 0 3\r\nabc\r\n", b"stats sizes\r\n"]
    for flags in ((), ("-C",)):
        got = {}
        for kind in ("memcached145", "memg"):
            srv = server_factory("-o", "track_sizes", *flags, kind=kind)
            with srv.raw() as r:
                got[kind] = [r.cmd(s) for s in steps]
                assert _stats(srv, b"settings")["track_sizes"] == "yes", kind
        assert got["memg"] == got["memcached145"], flags
        assert got["memg"][12].count(b"STAT ") >= 4, got["memg"][12]  # sizes apart
    for kind in ("memcached145", "memg"):
        with server_factory(kind=kind).raw() as r:
            assert r.cmd(b"stats sizes\r\n") == b"STAT sizes_status disabled\r\nEND\r\n"


def test_track_sizes_across_a_restart(tmp_path):
    """-e: the items a restart restores are counted, and leave the count."""
    from conftest import start_server
    path = str(tmp_path / "mem")
    srv = start_server("memg", ("-e", path, "-o", "track_sizes"), str(tmp_path))
    try:
        with srv.raw() as r:
            assert r.set(b"a", b"v") == b"STORED\r\n"
            assert r.cmd(b"set bb 5 0 100\r\n" + b"x" * 100 + b"\r\n") == b"STORED\r\n"
        srv.proc.send_signal(signal.SIGUSR1)
        assert srv.proc.wait(10) == 0
    finally:
        srv.stop()
    srv = start_server("memg", ("-e", path, "-o", "track_sizes"), str(tmp_path))
    try:
        with srv.raw() as r:
            assert r.cmd(b"stats sizes\r\n") == b"STAT 64 1\r\nSTAT 192 1\r\nEND\r\n"
            assert r.cmd(b"delete a\r\n") == b"DELETED\r\n"
            assert r.cmd(b"stats sizes\r\n") == b"STAT 192 1\r\nEND\r\n"
    finally:
        srv.stop()


def test_debugtime_only_with_debug_time(server_factory):
    """debugtime is memcached's debug build's: release 1.6.45 and memg without
    -o debug_time answer ERROR and keep the clock; with it, `debugtime 11`
    moves memg's clock past an item's TTL of 10 and `stats` time with it."""
    for kind in ("memcached145", "memg"):
        with server_factory(kind=kind).raw() as r:
            assert r.cmd(b"set k 0 10 1\r\nv\r\n") == b"STORED\r\n"
            assert r.cmd(b"debugtime 1\r\n") == b"ERROR\r\n", kind
            assert r.cmd(b"debugtime 11\r\n") == b"ERROR\r\n", kind
            assert r.get(b"k") == b"v", kind
    with server_factory("-o", "debug_time").raw() as r:
        before = int(parse_stats(r.cmd(b"stats\r\n"))["time"])
        assert r.cmd(b"set k 0 10 1\r\nv\r\n") == b"STORED\r\n"
        assert r.cmd(b"debugtime 11\r\n") == b"OK\r\n"
        assert r.get(b"k") is None
        assert int(parse_stats(r.cmd(b"stats\r\n"))["time"]) >= before + 11
        assert r.cmd(b"debugtime x\r\n") == b"ERROR\r\n"
