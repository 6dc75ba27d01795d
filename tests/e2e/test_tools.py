"""libmemcached-tools against the server (text protocol, their default)."""
import os
import shutil
import re
import subprocess

import pytest

# [direct] and [relay]: also through the chopping relay (conftest.py)
pytestmark = pytest.mark.relay


def tool(name):
    for cand in (name, name.replace("memc", "mem", 1)):
        p = shutil.which(cand) or (os.path.exists("/usr/bin/" + cand) and "/usr/bin/" + cand)
        if p:
            return p
    pytest.skip("%s not installed (libmemcached-tools)" % name)


def run(name, server, *args, cwd=None):
    argv = [tool(name), "--servers=%s:%d" % server.addr] + list(args)
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                          cwd=cwd)


def test_copy_cat_exist_touch_rm_flush(server, tmp_path):
    data = bytes(range(256)) * 40 + b"\r\nEND\r\n" + os.urandom(3000)
    src = tmp_path / "blob.bin"
    src.write_bytes(data)
    r = run("memccp", server, str(src))
    assert r.returncode == 0, r.stderr
    # memccat prints the value (plus a newline) to stdout; -f writes it exactly
    r = run("memccat", server, "blob.bin")
    assert r.returncode == 0 and r.stdout in (data, data + b"\n"), r.stderr
    out = tmp_path / "out.bin"
    r = run("memccat", server, "-f", str(out), "blob.bin", cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == data
    with server.raw() as raw:
        assert raw.get(b"blob.bin") == data
    assert run("memccat", server, "no-such-key").returncode != 0

    assert run("memcexist", server, "blob.bin").returncode == 0
    assert run("memcexist", server, "no-such-key").returncode != 0
    assert run("memctouch", server, "-e", "1000", "blob.bin").returncode == 0
    assert run("memctouch", server, "-e", "1000", "no-such-key").returncode != 0

    assert run("memcrm", server, "blob.bin").returncode == 0
    assert run("memcexist", server, "blob.bin").returncode != 0
    assert run("memcrm", server, "blob.bin").returncode != 0

    # flags survive memccp --flags / memccat -F
    r = run("memccp", server, "--flags=5", str(src))
    assert r.returncode == 0, r.stderr
    r = run("memccat", server, "-F", "blob.bin")
    assert r.returncode == 0 and r.stdout.startswith(b"5\n" + data[:100])

    r = run("memcflush", server)
    assert r.returncode == 0, r.stderr
    assert run("memcexist", server, "blob.bin").returncode != 0
    assert run("memccat", server, "blob.bin").returncode != 0


def test_memcstat(server):
    with server.raw() as raw:
        raw.set(b"x", b"1")
    r = run("memcstat", server)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("Server: 127.0.0.1 (%d)" % server.port)
    for name in ("pid", "uptime", "version", "curr_items", "total_items", "bytes",
                 "curr_connections", "get_hits", "get_misses", "limit_maxbytes"):
        assert "\t%s: " % name in out, name
    assert "\tcurr_items: 1\n" in out
    r = run("memcstat", server, "-S")
    # (this libmemcached prints the version line on stderr)
    both = (r.stdout + r.stderr).decode()
    assert r.returncode == 0 and both.startswith("127.0.0.1:%d 1." % server.port), both


def test_memccapable_ascii(server):
    """libmemcached 1.1.4's memccapable -a: all but its two delete tests,
    which send "delete <key> <time>" and want the error memcached 1.6.18
    gave; 1.6.45 (and so memg) deletes, and fails them the same way."""
    argv = [tool("memccapable"), "-a", "-h", "127.0.0.1", "-p", str(server.port), "-t", "5"]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    out = r.stdout.decode() + r.stderr.decode()
    # each test's name, then [pass] on stdout, or [FAIL] on stderr only
    failed = [e.strip() for e in re.split(r"(?=ascii )", r.stdout.decode())
              if e.strip() and "[pass]" not in e]
    assert failed == ["ascii delete", "ascii delete noreply"], out
    assert "2 of 27 tests failed" in out, out
    assert out.count("[pass]") == 25, out


BINARY_CAPABLE_TESTS = 27  # memccapable 1.1.4 -b runs 27 tests (noop ... stat)


@pytest.mark.parametrize("proto", ["binary", "auto"])
def test_memccapable_binary(server_factory, proto):
    """memccapable -b (libmemcached 1.1.4) against a server started with
    -B binary or the default auto: every test must print [pass]. A failed test
    prints its error then "[FAIL]" and the summary becomes "N of M tests
    failed" (exit status 1); the output is checked as well as the status."""
    srv = server_factory(*(("-B", "binary") if proto == "binary" else ()))
    argv = [tool("memccapable"), "-b", "-h", "127.0.0.1", "-p", str(srv.port), "-t", "2"]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, out + err
    assert "All tests passed" in out, out + err
    assert "FAIL" not in out.upper().replace("ALL TESTS PASSED", ""), out
    assert "tests failed" not in out, out
    assert out.count("[pass]") == BINARY_CAPABLE_TESTS, out
    assert srv.alive(), srv.log_text()
