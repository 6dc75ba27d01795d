"""Start-up as memcached starts: root without -u, a missing user, a port in
use, an unwritable unix socket or pid file, a bad conf file. Each is one
`memg:` line naming the thing, memcached's exit code, and nothing left
half-started (no pid file, no socket file). Also one version everywhere and
systemd's readiness datagrams (READY=1 at start, STOPPING=1 on SIGTERM)."""
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import AS_ROOT, HOST, MEMCACHED, free_port, memg_bin, wait_accepting

pytestmark = pytest.mark.memg_only
IS_ROOT = os.geteuid() == 0


def run(argv, env=None, timeout=5):
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("%s kept running" % " ".join(argv))


def one_memg_line(r):
    err = r.stderr.decode()
    assert err.startswith("memg: ") and err.count("\n") == 1, err
    return err


def both(memg_args, mc_args=None):
    """memg's and memcached's results for the same bad start."""
    m = run([memg_bin(), "-l", HOST] + memg_args)
    c = run([MEMCACHED, "-l", HOST, "-U", "0"] + (memg_args if mc_args is None else mc_args))
    return m, c


@pytest.mark.skipif(not IS_ROOT, reason="the refusal is for root")
def test_root_without_u_refused_as_memcached():
    m, c = both(["-p", str(free_port())])
    assert c.returncode == 64 and b"can't run as root without the -u switch" in c.stderr
    assert m.returncode == c.returncode
    assert "can't run as root without the -u switch" in one_memg_line(m)


@pytest.mark.skipif(not IS_ROOT, reason="only root switches users")
def test_unknown_user():
    m, c = both(["-p", str(free_port()), "-u", "no-such-user-memg"])
    assert c.returncode == 67
    assert m.returncode == c.returncode
    assert "can't find the user no-such-user-memg" in one_memg_line(m)


def test_port_in_use_names_address_and_port():
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        m, c = both(["-p", str(port)] + AS_ROOT,
                    ["-p", str(port)] + (["-u", "nobody"] if IS_ROOT else []))
    assert c.returncode == 71
    assert m.returncode == c.returncode
    line = one_memg_line(m)
    assert "TCP port %d of %s" % (port, HOST) in line, line


def test_unwritable_unix_socket_path(tmp_path):
    path = str(tmp_path / "missing-dir" / "memg.sock")
    m, c = both(["-s", path] + AS_ROOT, ["-s", path] + (["-u", "nobody"] if IS_ROOT else []))
    assert c.returncode == 71
    assert m.returncode == c.returncode
    assert ("UNIX socket %s" % path) in one_memg_line(m)
    assert not os.path.exists(path)


def test_pid_file_in_missing_dir_leaves_nothing(tmp_path):
    sock = str(tmp_path / "memg.sock")
    pid = str(tmp_path / "missing" / "memg.pid")
    r = run([memg_bin(), "-s", sock, "-P", pid] + AS_ROOT)
    assert r.returncode == 73  # EX_CANTCREAT: memg stops where memcached goes on
    assert ("pid file %s" % pid) in one_memg_line(r)
    assert os.listdir(str(tmp_path)) == []  # the socket it had opened is gone


def test_conf_file_unknown_flag(tmp_path):
    conf = tmp_path / "memg.conf"
    conf.write_text("# memg flags\n-m 64\n\n-p %d  # a port\n-Q\n" % free_port())
    r = run([memg_bin(), "--conf-file=%s" % conf] + AS_ROOT)
    c = run([MEMCACHED, "-Q"])
    assert r.returncode == c.returncode == 1  # getopt's unknown option
    assert ("%s:5: unknown option -Q" % conf) in one_memg_line(r)
    conf.write_text("-m lots\n")
    r = run([memg_bin(), "--conf-file", str(conf)] + AS_ROOT)
    assert r.returncode == 64 and ("%s:1: -m/--memory-limit" % conf) in one_memg_line(r)
    r = run([memg_bin(), "--conf-file", str(tmp_path / "none.conf")])
    assert r.returncode == 64 and "none.conf" in one_memg_line(r)


def test_conf_file_flags_apply_and_command_line_overrides(tmp_path, server_factory):
    conf = tmp_path / "memg.conf"
    conf.write_text("-m 32   # megabytes\n-c 77\n-o idle_timeout=9\n")
    srv = server_factory("--conf-file=%s" % conf, "-c", "88")
    with srv.raw() as r:
        st = dict(l.split(b" ", 2)[1:] for l in r.cmd(b"stats settings\r\n")
                  .split(b"\r\n") if l.startswith(b"STAT "))
    assert st[b"maxbytes"] == str(32 << 20).encode()
    assert st[b"maxconns"] == b"88"
    assert st[b"idle_timeout"] == b"9"


def test_one_version_everywhere(server_factory):
    v = run([memg_bin(), "-V"]).stdout.decode().strip()
    assert v.startswith("memg ")
    release = v.split()[1]
    srv = server_factory("-v")
    with srv.raw() as r:
        stats = r.cmd(b"stats\r\n")
        assert r.cmd(b"version\r\n") == b"VERSION 1.6.18\r\n"  # what clients parse
    assert ("STAT version %s\r\n" % release).encode() in stats
    deadline = time.monotonic() + 3
    while release not in srv.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.log_text().startswith(v), srv.log_text()  # the start line


def test_make_run_passes_u_root():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run(["make", "-n", "-C", root, "run"], capture_output=True, text=True,
                         timeout=60).stdout
    line = [l for l in out.splitlines() if "memg -p 11211" in l][-1]
    assert ("-u root" in line) == IS_ROOT, line


def test_systemd_notify_ready_and_stopping(tmp_path):
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as ns:
        ns.bind(path)
        ns.settimeout(5)
        port = free_port()
        env = dict(os.environ, NOTIFY_SOCKET=path)
        p = subprocess.Popen([memg_bin(), "-p", str(port), "-l", HOST] + AS_ROOT, env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            assert ns.recv(100) == b"READY=1"
            assert wait_accepting(p, (HOST, port), 1.0)  # ready means listening
            p.send_signal(signal.SIGTERM)
            assert ns.recv(100) == b"STOPPING=1"
            assert p.wait(5) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(5)
