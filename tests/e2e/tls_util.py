"""TLS helpers for the e2e tests: test certificates made with the openssl
command, a server started with -Z (memg's TLS build, or memcached -Z), and
clients over Python's ssl. Only 127.0.0.1 is contacted; every socket has a
timeout.

The TLS build is MEMG_TLS_BIN (default <repo>/build/tls/memg, what
`make e2e` builds with TLS=1).
"""
import os
import socket
import ssl
import subprocess
import time

import pytest

from conftest import AS_ROOT, HOST, MEMCACHED, ROOT, Server, _argv, free_port, relay_seed
from mcraw import Raw, parse_stats

SERVER_NAME = "127.0.0.1"


def tls_bin():
    return os.environ.get("MEMG_TLS_BIN") or os.path.join(ROOT, "build", "tls", "memg")


class Certs:
    """A CA, a server certificate it signed (for 127.0.0.1), a second one
    (for refresh_certs), a client certificate it signed, and a self-signed
    client certificate (a CA the server does not trust)."""

    def __init__(self, d):
        self.dir = str(d)
        # EC P-256 keys: fast to make and to handshake with (bench and tests)
        self._ca("ca")
        self._signed("srv", "127.0.0.1", server=True)
        self._signed("srv2", "127.0.0.1", server=True)
        self._signed("cli", "memg-test-client")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", "rogue.key", "-out", "rogue.crt", "-days", "2",
                      "-subj", "/CN=rogue")

    def path(self, name):
        return os.path.join(self.dir, name)

    def _openssl(self, *args):
        subprocess.run(["openssl"] + list(args), cwd=self.dir, check=True, capture_output=True,
                       timeout=30)

    def _ca(self, name):
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "2",
                      "-subj", "/CN=memg-test-ca")

    def _signed(self, name, cn, server=False):
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn)
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n" if server else
                    "extendedKeyUsage=clientAuth\n")
        self._openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                      "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-extfile", ext)

    def server_opts(self, extra=""):
        o = "ssl_chain_cert=%s,ssl_key=%s" % (self.path("srv.crt"), self.path("srv.key"))
        return o + ("," + extra if extra else "")


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return Certs(tmp_path_factory.mktemp("tls-certs"))


def client_ctx(certs, cert=None, verify=True):
    """A client context trusting the test CA, with a client certificate
    ("cli" or "rogue") when asked."""
    ctx = ssl.create_default_context(cafile=certs.path("ca.crt"))
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(certs.path(cert + ".crt"), certs.path(cert + ".key"))
    return ctx


def tls_connect(addr, ctx, timeout=5.0):
    raw = socket.create_connection(addr, timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        return ctx.wrap_socket(raw, server_hostname=SERVER_NAME)
    except BaseException:
        raw.close()
        raise


class TlsRaw(Raw):
    """mcraw.Raw over TLS."""

    def __init__(self, addr, ctx, timeout=5.0):
        self.host, self.port, self.timeout = addr[0], addr[1], timeout
        self.sock = tls_connect(addr, ctx, timeout)
        self.buf = b""


def start_tls(kind, certs, args=(), logdir="/tmp", tls_opts="", env=None):
    """memg's TLS build or memcached with -Z and the test certificate; args
    are more flags. Retries on a port race."""
    if kind == "memcached" and not os.access(MEMCACHED, os.X_OK):
        pytest.skip("no %s" % MEMCACHED)
    if kind == "memg" and not os.access(tls_bin(), os.X_OK):
        pytest.fail("TLS build %s does not exist (make TLS=1 BUILD=build/tls)" % tls_bin())
    flags = ["-Z", "-o", certs.server_opts(tls_opts)] + list(args)
    last = ""
    for _ in range(5):
        port = free_port()
        if kind == "memg":
            argv = [tls_bin(), "-p", str(port), "-l", HOST, "-U", "0"] + AS_ROOT + flags
        else:
            argv = _argv(kind, port, flags)  # memcached (1.6.18) or memcached145
        log = os.path.join(logdir, "%s-tls-%d.log" % (kind, port))
        srv = Server(kind, argv, port, log, None, env)
        if srv.wait_ready():
            return srv
        srv.stop()
        last = srv.log_text()
    pytest.fail("could not start %s with TLS:\n%s" % (kind, last))


@pytest.fixture
def tls_factory(certs, tmp_path, route):
    """start(*flags, kind="memg", tls_opts="", env=None) -> Server over TLS.
    On the relay route (tests marked relay) the encrypted streams cross a
    chopping relay (relay.py): records reach each side cut anywhere."""
    started = []
    seed = relay_seed() if route == "relay" else None

    def start(*args, kind="memg", tls_opts="", env=None):
        srv = start_tls(kind, certs, args, str(tmp_path), tls_opts, env)
        started.append(srv)
        if seed is not None:
            srv.via_relay(seed + 1000 * (len(started) - 1))
        return srv

    yield start
    for srv in started:
        srv.stop()


def stats(addr, ctx, group=b""):
    """`stats [group]` over TLS as a dict."""
    with TlsRaw(addr, ctx) as c:
        c.send(b"stats " + group + b"\r\n" if group else b"stats\r\n")
        return parse_stats(c.read_until(b"END\r\n"))


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()
