"""Command-line options beyond the defaults, and memg's documented
differences from memcached (marked memg_only)."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import AS_ROOT, free_port, memg_bin


def test_unix_socket(server_factory):
    d = tempfile.mkdtemp(prefix="memg-e2e-sock-")
    os.chmod(d, 0o777)  # memcached drops to nobody before creating it
    try:
        path = os.path.join(d, "mc.sock")
        srv = server_factory(unix_path=path)
        with srv.raw() as r:
            assert r.set(b"u", b"unix") == b"STORED\r\n"
            assert r.get(b"u") == b"unix"
        with srv.raw() as r:
            assert r.get(b"u") == b"unix"
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_verbose_flag_still_serves(server_factory):
    srv = server_factory("-v")
    with srv.raw() as r:
        assert r.set(b"k", b"v") == b"STORED\r\n"
        assert r.get(b"k") == b"v"


def test_memory_and_item_size_show_in_stats(server_factory):
    srv = server_factory("-m", "5", "-I", "2m", "-c", "77")
    with srv.raw() as r:
        reply = r.cmd(b"stats\r\n")
        assert b"STAT limit_maxbytes 5242880\r\n" in reply
        assert b"STAT max_connections 77\r\n" in reply
        reply = r.cmd(b"stats settings\r\n")
        assert b"STAT item_size_max 2097152\r\n" in reply
        assert b"STAT maxconns 77\r\n" in reply


@pytest.mark.memg_only
def test_flags_above_32_bits_refused(raw):
    # documented: memg refuses flags > 2^32-1 (64-bit memcached truncates)
    # (its data is skipped, as memcached 1.6.45 skips a refused line's)
    assert raw.cmd(b"set k 4294967296 0 1\r\nx\r\n") == b"CLIENT_ERROR bad command line format\r\n"
    assert raw.get(b"k") is None
    assert raw.set(b"k", b"v", flags=4294967295) == b"STORED\r\n"


@pytest.mark.memg_only
def test_listen_names_through_getaddrinfo():
    """-l takes what getaddrinfo takes, as memcached (numeric addresses,
    /etc/hosts, DNS); a name that does not resolve stops it at start, in
    getaddrinfo's words."""
    port = free_port()
    argv = [memg_bin(), "-p", str(port), "-l", "localhost", "-U", "0"] + AS_ROOT
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"version\r\n")
                    assert s.recv(100).startswith(b"VERSION ")
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline and p.poll() is None, p.stderr.read()
                time.sleep(0.05)
    finally:
        p.terminate()
        p.wait(5)
    # A name no DNS can hold (over 253 bytes, yet within -l's 255): refused
    # by libc before any query leaves the machine, in musl's words or glibc's.
    bad = "x" * 255
    argv = [memg_bin(), "-p", str(free_port()), "-l", bad, "-U", "0"] + AS_ROOT
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=5)
    assert r.returncode != 0
    said = r.stderr + r.stdout
    assert (f"of {bad}: Name does not resolve".encode() in said
            or f"of {bad}: Name or service not known".encode() in said), said


@pytest.mark.memg_only
def test_udp_port_other_than_zero_refused():
    argv = [memg_bin(), "-p", str(free_port()), "-l", "127.0.0.1", "-U", "11211"]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=5)
    assert r.returncode != 0
    assert r.stdout or r.stderr  # it says why


@pytest.mark.memg_only
def test_bad_flag_refused():
    argv = [memg_bin(), "-p", str(free_port()), "-m", "lots"]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=5)
    assert r.returncode == 64  # EX_USAGE, as memcached
    assert b"-m" in r.stderr


@pytest.mark.memg_only
def test_version_and_help():
    r = subprocess.run([memg_bin(), "-V"], capture_output=True, timeout=5)
    assert r.returncode == 0 and r.stdout.strip()
    r = subprocess.run([memg_bin(), "-h"], capture_output=True, timeout=5)
    assert r.returncode == 0
    for flag in (b"-p", b"-l", b"-m", b"-I", b"-c", b"-M", b"-A", b"-U"):
        assert flag in r.stdout, flag


@pytest.mark.memg_only
def test_idle_timeout(server_factory):
    # documented: -o idle_timeout=N closes connections idle for N seconds
    srv = server_factory("-o", "idle_timeout=2")
    with srv.raw() as idle, srv.raw() as busy:
        assert idle.cmd(b"version\r\n").startswith(b"VERSION ")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 4.5:
            try:
                assert busy.cmd(b"version\r\n").startswith(b"VERSION ")
            except EOFError:
                pytest.fail("a connection active every 0.25 s was closed after %.2f s"
                            % (time.monotonic() - t0))
            time.sleep(0.25)
        assert idle.is_closed(timeout=0.5), "idle connection still open after 4.5 s"
        assert busy.cmd(b"version\r\n").startswith(b"VERSION ")


@pytest.mark.memg_only
def test_sigterm_exits_zero(server_factory):
    # documented: SIGTERM finishes pending replies and exits 0
    srv = server_factory()
    with srv.raw() as r:
        assert r.set(b"k", b"v") == b"STORED\r\n"
    srv.proc.terminate()
    assert srv.proc.wait(6) == 0


@pytest.mark.memg_only
def test_pid_file_written_and_removed(server_factory, tmp_path):
    path = tmp_path / "memg.pid"
    srv = server_factory("-P", str(path))
    assert path.read_text() == "%d\n" % srv.proc.pid
    assert not (tmp_path / "memg.pid.tmp").exists(), "written aside, then renamed"
    srv.proc.terminate()
    assert srv.proc.wait(6) == 0
    assert not path.exists(), "removed at exit"


@pytest.mark.memg_only
def test_password_file_problems_stop_memg_at_start(tmp_path):
    """-S and -Y read their users at start: a missing or empty file, or -S
    without MEMCACHED_SASL_PWDB, is a one-line reason and exit 1."""
    env = {k: v for k, v in os.environ.items() if k != "MEMCACHED_SASL_PWDB"}
    empty = tmp_path / "empty"
    empty.write_text("")
    cases = [
        (["-Y", str(tmp_path / "missing")], env, b"cannot open"),
        (["-Y", str(empty)], env, b"no user:password line"),
        (["-S"], env, b"MEMCACHED_SASL_PWDB"),
        (["-S"], dict(env, MEMCACHED_SASL_PWDB=str(tmp_path / "nope")), b"cannot open"),
    ]
    for args, e, needle in cases:
        p = subprocess.run([memg_bin(), "-p", str(free_port()), "-U", "0"] + AS_ROOT + args, env=e,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        assert p.returncode == 1, (args, p.stderr)
        assert needle in p.stderr and p.stderr.count(b"\n") == 1, (args, p.stderr)



def test_requests_per_event(server_factory):
    """-R N: a connection runs N requests, then yields to the others
    (conn_yields counts it, as memcached's); every request is answered."""
    srv = server_factory("-R", "5")
    with srv.raw() as r:
        r.send(b"mn\r\n" * 100)
        got = b""
        deadline = time.monotonic() + 5
        while got.count(b"MN\r\n") < 100 and time.monotonic() < deadline:
            got += r.sock.recv(65536)
        assert got == b"MN\r\n" * 100
        stats = r.cmd(b"stats\r\n")
    assert b"STAT conn_yields 19\r\n" in stats


def _core_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4]  # the soft limit
    return None


def test_enable_coredumps_raises_the_core_limit(server_factory):
    """-r: a soft core limit of 0 goes up to the hard limit (memcached's -r);
    a hard limit of 0 stops both servers with memcached's words."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    try:
        srv = server_factory("-r")
        plain = server_factory()
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))
    want = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
    assert _core_limit(srv.proc.pid) == want
    assert _core_limit(plain.proc.pid) == "0"
    for argv in ([memg_bin(), "-p", str(free_port()), "-l", "127.0.0.1", "-U", "0", "-r"]
                 + AS_ROOT, ["/usr/bin/memcached", "-p", str(free_port()), "-l", "127.0.0.1",
                             "-U", "0", "-r"] + (["-u", "nobody"] if AS_ROOT else [])):
        if not os.access(argv[0], os.X_OK):
            continue
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=5,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
        assert r.returncode == 71, (argv[0], r)
        assert r.stderr == b"failed to ensure corefile creation\n", (argv[0], r)


@pytest.mark.memg_only
def test_lock_memory(server_factory):
    """-k: memory is locked (mlockall), and memg serves as usual. (ASan
    makes mlockall a no-op: there only the serving is checked. memcached runs
    as nobody here, whose lock limit its start-up memory passes.)"""
    srv = server_factory("-k")
    with open(memg_bin(), "rb") as f:
        asan = b"__asan_init" in f.read()
    with open("/proc/%d/status" % srv.proc.pid) as f:
        locked = [int(line.split()[1]) for line in f if line.startswith("VmLck:")]
    if not asan:
        assert locked and locked[0] > 0
    with srv.raw() as r:
        assert r.cmd(b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
