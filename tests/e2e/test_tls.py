"""TLS (-Z, -o ssl_*): memg's TLS build served to real clients (pymemcache,
Python ssl for the text, meta and binary protocols, openssl s_client, curl,
Dalli), client certificates, refresh_certs, the stats lines memcached -Z
prints, pipelining behind large values, and hostile input.
"""
import os
import shutil
import socket
import ssl
import subprocess
import time

import pytest
from pymemcache.client.base import Client as PymcClient

import mcbin
from conftest import AS_ROOT, HOST, free_port, memg_bin
from tls_util import (TlsRaw, certs, client_ctx, stats, tls_bin, tls_connect,  # noqa: F401
                      tls_factory, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.relay
def test_pymemcache_text(tls_factory, certs):
    srv = tls_factory()
    c = PymcClient(srv.addr, tls_context=client_ctx(certs), connect_timeout=5, timeout=5)
    try:
        assert c.set("k", b"v1", noreply=False)
        assert c.get("k") == b"v1"
        assert c.add("k", b"x", noreply=False) is False
        c.set("n", b"10", noreply=False)
        assert c.incr("n", 5) == 15
        big = os.urandom(700 * 1024)
        assert c.set("big", big, noreply=False)
        assert c.get("big") == big
        c.set_many({"a": b"1", "b": b"2", "c": b"3"}, noreply=False)
        assert c.get_many(["a", "b", "c", "zz"]) == {"a": b"1", "b": b"2", "c": b"3"}
        assert c.delete("k", noreply=False)
        assert c.get("k") is None
        assert c.version().startswith(b"1.6")
    finally:
        c.close()


@pytest.mark.relay
@pytest.mark.parametrize("size", [1000, 20 * 1024, 300 * 1024, 900 * 1024])
def test_pipelined_get_behind_large_set(tls_factory, certs, size):
    """The get's bytes arrive with the set's last record: they are inside
    OpenSSL when the set is done, and must be served without waiting for the
    socket (memcached 1.6.18 never answers this get for 20 KB and up)."""
    srv = tls_factory()
    value = os.urandom(size)
    with TlsRaw(srv.addr, client_ctx(certs)) as c:
        c.send(b"set big 0 0 %d\r\n%s\r\nget big\r\nmn\r\n" % (size, value))
        assert c.read_line(3) == b"STORED\r\n"
        assert c.read_line(3) == b"VALUE big 0 %d\r\n" % size
        assert c.read_exact(size + 2, 3) == value + b"\r\n"
        assert c.read_line(3) == b"END\r\n"
        assert c.read_line(3) == b"MN\r\n"


@pytest.mark.relay
def test_many_pipelined_requests_one_write(tls_factory, certs):
    """2,000 gets in one go: more than one read buffer and many records."""
    srv = tls_factory()
    with TlsRaw(srv.addr, client_ctx(certs)) as c:
        assert c.set(b"p", b"x" * 100) == b"STORED\r\n"
        c.send(b"get p\r\n" * 2000 + b"mn\r\n")
        got = c.read_until(b"MN\r\n", 10)
        assert got == (b"VALUE p 0 100\r\n" + b"x" * 100 + b"\r\nEND\r\n") * 2000 + b"MN\r\n"


@pytest.mark.relay
def test_meta_over_tls(tls_factory, certs):
    srv = tls_factory()
    with TlsRaw(srv.addr, client_ctx(certs)) as c:
        assert c.cmd(b"ms mk 3 T0 F5\r\nabc\r\n") == b"HD\r\n"
        c.send(b"mg mk v f t\r\nmg missing v\r\nmn\r\n")
        assert c.read_until(b"MN\r\n") == b"VA 3 f5 t-1\r\nabc\r\nEN\r\nMN\r\n"
        assert c.cmd(b"ma cnt N0 J7\r\n") == b"HD\r\n"
        assert c.cmd(b"md mk q\r\nmn\r\n") == b"MN\r\n"


@pytest.mark.relay
def test_binary_over_tls(tls_factory, certs):
    """-B auto over TLS: the first decrypted byte (0x80) picks binary."""
    srv = tls_factory()
    c = mcbin.Conn(srv.addr)
    c.sock = client_ctx(certs).wrap_socket(c.sock, server_hostname="127.0.0.1")
    try:
        c.send(mcbin.set_(b"bk", b"binval", flags=7) + mcbin.get(b"bk", op="GETK"))
        r1, r2 = c.recv_response(), c.recv_response()
        assert r1.status == 0 and r1.opcode == mcbin.OP_SET
        assert r2.status == 0 and r2.key == b"bk" and r2.value == b"binval" and r2.flags == 7
        big = os.urandom(200 * 1024)
        c.send(mcbin.set_(b"bb", big) + mcbin.get(b"bb") + mcbin.noop(opaque=9))
        rs, stopped = c.read_until(lambda r: r.opcode == mcbin.OP_NOOP)
        assert stopped and [r.status for r in rs] == [0, 0, 0] and rs[1].value == big
    finally:
        c.close()


def test_openssl_s_client(tls_factory, certs):
    """openssl s_client, as a person would try it by hand."""
    srv = tls_factory()
    script = b"set sk 0 0 5\r\nhello\r\nget sk\r\nversion\r\nquit\r\n"
    r = subprocess.run(["openssl", "s_client", "-quiet", "-CAfile", certs.path("ca.crt"),
                        "-verify_return_error", "-connect", "%s:%d" % srv.addr],
                       input=script, capture_output=True, timeout=10)
    assert r.stdout.startswith(b"STORED\r\nVALUE sk 0 5\r\nhello\r\nEND\r\nVERSION 1.6"), r
    assert b"verify return:1" in r.stderr


def test_client_certificates(tls_factory, certs):
    """ssl_verify_mode=2 with ssl_ca_cert: a client with a certificate the CA
    signed is served; one without a certificate, or with one the CA did not
    sign, is refused at the handshake (and counted)."""
    srv = tls_factory(tls_opts="ssl_verify_mode=2,ssl_ca_cert=" + certs.path("ca.crt"))
    good = client_ctx(certs, cert="cli")
    before = int(stats(srv.addr, good)["ssl_handshake_errors"])
    with TlsRaw(srv.addr, good) as c:
        assert c.set(b"ck", b"1") == b"STORED\r\n"
    for bad in (client_ctx(certs), client_ctx(certs, cert="rogue")):
        with pytest.raises((ssl.SSLError, ConnectionError, EOFError)):
            # TLS 1.3: the client's side of the handshake ends first; the
            # server's refusal (an alert) arrives on the first read.
            with TlsRaw(srv.addr, bad) as c:
                c.send(b"get ck\r\n")
                c.read_line(3)
    assert wait_for(lambda: int(stats(srv.addr, good)["ssl_handshake_errors"]) == before + 2)
    assert srv.alive()


def test_client_certificate_then_auth_file(tls_factory, certs, tmp_path):
    """-Y still applies after a client certificate is accepted."""
    users = tmp_path / "users"
    users.write_text("alice:secret\n")
    srv = tls_factory("-Y", str(users),
                      tls_opts="ssl_verify_mode=2,ssl_ca_cert=" + certs.path("ca.crt"))
    with TlsRaw(srv.addr, client_ctx(certs, cert="cli")) as c:
        assert c.cmd(b"get k\r\n") == b"CLIENT_ERROR unauthenticated\r\n"
        assert c.set(b"auth", b"alice secret") == b"STORED\r\n"
        assert c.cmd(b"get k\r\n") == b"END\r\n"


def test_min_version_and_ciphers(tls_factory, certs):
    srv = tls_factory(tls_opts="ssl_min_version=3")  # memcached's number: tlsv1.3
    old = client_ctx(certs)
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises((ssl.SSLError, ConnectionError)):
        tls_connect(srv.addr, old).close()
    with TlsRaw(srv.addr, client_ctx(certs)) as c:
        assert c.sock.version() == "TLSv1.3"
    srv2 = tls_factory(tls_opts="ssl_ciphers=ECDHE-ECDSA-AES128-GCM-SHA256")
    want = client_ctx(certs)
    want.maximum_version = ssl.TLSVersion.TLSv1_2
    with TlsRaw(srv2.addr, want) as c:
        assert c.sock.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256"
    other = client_ctx(certs)
    other.maximum_version = ssl.TLSVersion.TLSv1_2
    other.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        tls_connect(srv2.addr, other).close()


def test_session_cache(tls_factory, certs):
    """ssl_session_cache: a TLS 1.2 session is resumed, ssl_new_sessions counts."""
    srv = tls_factory(tls_opts="ssl_session_cache")
    ctx = client_ctx(certs)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_TICKET  # a session id: the server's cache
    s1 = tls_connect(srv.addr, ctx)
    sess = s1.session
    s1.close()
    raw = socket.create_connection(srv.addr, timeout=5)
    s2 = ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=sess)
    try:
        assert s2.session_reused
    finally:
        s2.close()
    st = stats(srv.addr, client_ctx(certs))
    assert int(st["ssl_new_sessions"]) >= 1
    settings = stats(srv.addr, client_ctx(certs), b"settings")
    assert settings["ssl_session_cache"] == "yes"


def _stat_names(addr, ctx, group=b""):
    with TlsRaw(addr, ctx) as c:
        c.send(b"stats " + group + b"\r\n" if group else b"stats\r\n")
        text = c.read_until(b"END\r\n")
    return [line.split(b" ")[1].decode() for line in text.split(b"\r\n")
            if line.startswith(b"STAT ")]


def test_stats_lines_as_memcached(tls_factory, certs):
    """The ssl lines of stats and stats settings: memcached -Z's names, order,
    place and values (the files' paths are the same on both)."""
    opts = "ssl_session_cache,ssl_verify_mode=1,ssl_ca_cert=" + certs.path("ca.crt")
    ours = tls_factory(tls_opts=opts)
    ref = tls_factory(kind="memcached", tls_opts=opts)
    ctx = client_ctx(certs)
    for group in (b"", b"settings"):
        a = [n for n in _stat_names(ref.addr, ctx, group) if n.startswith("ssl_") or
             n == "time_since_server_cert_refresh"]
        b = [n for n in _stat_names(ours.addr, ctx, group) if n.startswith("ssl_") or
             n == "time_since_server_cert_refresh"]
        assert a == b and len(a) >= 3
    st_ref, st = stats(ref.addr, ctx, b"settings"), stats(ours.addr, ctx, b"settings")
    for k in st_ref:
        if k.startswith("ssl_"):
            assert st[k] == st_ref[k], k
    # what follows and precedes the ssl lines in `stats`: memcached's place
    names = _stat_names(ours.addr, ctx)
    i = names.index("ssl_new_sessions")
    assert names[i - 1] == "log_watchers"
    assert names[i + 1:i + 3] == ["ssl_handshake_errors", "time_since_server_cert_refresh"]
    assert 0 <= int(stats(ours.addr, ctx)["time_since_server_cert_refresh"]) < 60


def test_refresh_certs(tls_factory, certs, tmp_path):
    """refresh_certs reloads the files: new connections get the new
    certificate; a file that cannot be read gives memcached's error line."""
    crt, key = tmp_path / "live.crt", tmp_path / "live.key"
    shutil.copy(certs.path("srv.crt"), crt)
    shutil.copy(certs.path("srv.key"), key)
    srv = tls_factory("-o", "ssl_chain_cert=%s,ssl_key=%s" % (crt, key))
    ctx = client_ctx(certs)

    def serial():
        with TlsRaw(srv.addr, ctx) as c:
            return c.sock.getpeercert()["serialNumber"]
    first = serial()
    shutil.copy(certs.path("srv2.crt"), crt)
    shutil.copy(certs.path("srv2.key"), key)
    with TlsRaw(srv.addr, ctx) as c:
        assert c.cmd(b"refresh_certs\r\n") == b"OK\r\n"
        assert c.sock.getpeercert()["serialNumber"] == first  # this one keeps its own
    assert serial() != first
    assert int(stats(srv.addr, ctx)["time_since_server_cert_refresh"]) <= 1
    os.unlink(crt)
    with TlsRaw(srv.addr, ctx) as c:
        line = c.cmd(b"refresh_certs\r\n")
    assert line.startswith(b"Error loading the certificate chain: %s : " % str(crt).encode())
    assert line.endswith(b"\r\n") and line.count(b"\r\n") == 1
    serial()  # still served with what was loaded


def test_refresh_certs_without_tls(tls_factory, certs, server_factory, tmp_path):
    """A TLS build without -Z: memcached's "Error TLS not enabled"; a build
    without TLS: ERROR, an unknown command (memcached built without TLS)."""
    port = free_port()
    p = subprocess.Popen([tls_bin(), "-p", str(port), "-l", HOST, "-U", "0"] + AS_ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from conftest import wait_accepting
        assert wait_accepting(p, (HOST, port))
        from mcraw import Raw
        with Raw(HOST, port) as c:
            assert c.cmd(b"refresh_certs\r\n") == b"Error TLS not enabled\r\n"
            settings = c.cmd(b"stats settings\r\n")
            assert b"STAT ssl_enabled no\r\n" in settings
    finally:
        p.terminate()
        p.wait(5)
    plain = server_factory()
    with plain.raw() as c:
        assert c.cmd(b"refresh_certs\r\n") == b"ERROR\r\n"
        assert b"ssl_enabled" not in c.cmd(b"stats settings\r\n")


def test_notls_listener(certs, tmp_path):
    """-l notls:ADDR:PORT stays plain under -Z; the others speak TLS."""
    from tls_util import start_tls
    plain_port = free_port()
    srv = start_tls("memg", certs, ["-l", "notls:127.0.0.1:%d" % plain_port], str(tmp_path))
    try:
        from mcraw import Raw
        with TlsRaw(srv.addr, client_ctx(certs)) as c:
            assert c.set(b"nk", b"tls") == b"STORED\r\n"
        with Raw(HOST, plain_port) as c:
            assert c.get(b"nk") == b"tls"
        with pytest.raises((ssl.SSLError, ConnectionError)):
            tls_connect((HOST, plain_port), client_ctx(certs)).close()
    finally:
        srv.stop()


@pytest.mark.relay
def test_https_port(tls_factory, certs):
    """-o http_port under -Z: HTTPS (curl with the test CA)."""
    hport = srv_port = free_port()
    srv = tls_factory("-o", "http_port=%d" % hport)
    hport = srv.reach(srv_port)  # the relay route: a relay in front of it too
    with TlsRaw(srv.addr, client_ctx(certs)) as c:
        assert c.set(b"hk", b"over https") == b"STORED\r\n"
    url = "https://127.0.0.1:%d/k/hk" % hport
    r = subprocess.run(["curl", "-sS", "--max-time", "5", "--cacert", certs.path("ca.crt"), url],
                       capture_output=True, timeout=10)
    assert r.returncode == 0 and r.stdout == b"over https", r
    r = subprocess.run(["curl", "-sS", "--max-time", "5", "--cacert", certs.path("ca.crt"),
                        "-X", "PUT", "--data-binary", "put value", url.replace("hk", "hp")],
                       capture_output=True, timeout=10)
    assert r.returncode == 0, r
    with TlsRaw(srv.addr, client_ctx(certs)) as c:
        assert c.get(b"hp") == b"put value"
    r = subprocess.run(["curl", "-sS", "--max-time", "5", "http://127.0.0.1:%d/k/hk" % hport],
                       capture_output=True, timeout=10)
    assert r.returncode != 0  # plain HTTP on the HTTPS port: closed, no page


def test_dalli_ssl_context(tls_factory, certs):
    """Ruby's Dalli 3 with an ssl_context (binary protocol over TLS). Not
    get_multi: Dalli 3.0.6's raises NoMethodError (`server' for its
    SSLSocket) before it sends anything, whatever the server."""
    srv = tls_factory()
    script = """
require 'dalli'; require 'openssl'
ctx = OpenSSL::SSL::SSLContext.new
ctx.ca_file = ARGV[1]
ctx.verify_mode = OpenSSL::SSL::VERIFY_PEER
dc = Dalli::Client.new(ARGV[0], ssl_context: ctx, socket_timeout: 5)
dc.set('dk', 'dalli over tls')
v = dc.get('dk')
big = 'z' * 300_000
dc.set('dbig', big)
raise "got #{v.inspect}" unless v == 'dalli over tls'
raise 'big' unless dc.get('dbig') == big
dc.delete('dk')
raise 'deleted' unless dc.get('dk').nil?
puts dc.incr('dn', 3, nil, 10), dc.incr('dn', 3)
"""
    r = subprocess.run(["ruby", "-e", script, "127.0.0.1:%d" % srv.port, certs.path("ca.crt")],
                       capture_output=True, timeout=30)
    assert r.returncode == 0 and r.stdout == b"10\n13\n", r


def test_z_without_tls_build_stops_at_start():
    """The default build refuses -Z at start and says why."""
    r = subprocess.run([memg_bin(), "-Z", "-p", str(free_port()), "-l", HOST] + AS_ROOT,
                       capture_output=True, timeout=5)
    assert r.returncode != 0
    assert b"built without TLS" in r.stderr and b"TLS=1" in r.stderr


def test_start_errors(certs, tmp_path):
    """Missing or wrong files and kTLS where the kernel has none: one line
    that says why, and no server."""
    def run(opts):
        return subprocess.run([tls_bin(), "-Z", "-o", opts, "-p", str(free_port()), "-l", HOST]
                              + AS_ROOT, capture_output=True, timeout=5)
    r = run("ssl_key=" + certs.path("srv.key"))
    assert r.returncode != 0 and b"Error loading the certificate chain: (null)" in r.stderr
    r = run("ssl_chain_cert=%s,ssl_key=%s" % (certs.path("srv.crt"), certs.path("cli.key")))
    assert r.returncode != 0 and b"Error loading the key" in r.stderr
    r = run(certs.server_opts("ssl_ca_cert=/nonexistent/ca.pem"))
    assert r.returncode != 0 and b"Error loading the CA certificate: /nonexistent/ca.pem" in r.stderr



def _kernel_has_tls():
    """The kernel's TLS upper layer: loaded, or a module that would load."""
    with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
        if "tls" in f.read().split():
            return True
    s = socket.socket()
    try:
        s.setsockopt(socket.IPPROTO_TCP, 31, b"tls")  # TCP_ULP
        return True
    except OSError as e:
        return e.errno != 2  # ENOENT: no such upper layer; ENOTCONN: there is one
    finally:
        s.close()


def test_kernel_tls(certs, tmp_path):
    """ssl_kernel_tls: refused at start, saying so, on a kernel without kTLS
    (this test machine's); on one with it, on and shown in stats settings."""
    if _kernel_has_tls():
        from tls_util import start_tls
        srv = start_tls("memg", certs, (), str(tmp_path), "ssl_kernel_tls")
        try:
            assert stats(srv.addr, client_ctx(certs), b"settings")["ssl_kernel_tls"] == "yes"
        finally:
            srv.stop()
        return
    r = subprocess.run([tls_bin(), "-Z", "-o", certs.server_opts("ssl_kernel_tls"), "-p",
                        str(free_port()), "-l", HOST] + AS_ROOT, capture_output=True, timeout=5)
    assert r.returncode != 0 and b"this kernel has no kernel TLS" in r.stderr, r


@pytest.mark.parametrize("script", ["diff_script.txt", "diff_quirks.txt", "diff_meta.txt"])
def test_differential_vs_memcached_tls(tls_factory, certs, monkeypatch, script):
    """test_differential's scripted sessions over TLS: memcached -Z and memg
    answer byte for byte alike (after the same masking)."""
    import test_differential as diff
    plain_connect = socket.create_connection
    ctx = client_ctx(certs)

    def connect(addr, timeout=None, *a, **kw):
        return ctx.wrap_socket(plain_connect(addr, timeout, *a, **kw),
                               server_hostname="127.0.0.1")
    units = diff.load_script(script)
    ref_srv = tls_factory(kind="memcached145")  # the reference memg answers as
    sut_srv = tls_factory()
    monkeypatch.setattr(diff.socket, "create_connection", connect)
    ref = diff.run_session(ref_srv.addr, units)
    sut = diff.run_session(sut_srv.addr, units)
    monkeypatch.undo()
    assert len(ref) == len(units)
    diff.compare(script, ref, sut, "memcached -Z", "memg TLS")
