"""Fixtures that start the server under test on a free loopback port.

E2E_SERVER=memcached runs the suite against Debian's /usr/bin/memcached
(reference behaviour), E2E_SERVER=memcached145 against memcached 1.6.45 built
from Debian's sid source (tests/ref/memcached-1.6.45.sh); otherwise MEMG_BIN
(default <repo>/build/memg) is used.

Tests marked `relay` run twice: [direct] and [relay], where every server the
test starts is reached through a chopping relay (relay.py) that re-cuts both
byte streams at random; its seed is printed (shown on failure) and
E2E_RELAY_SEED=N replays it.
"""
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from mcraw import Raw  # noqa: E402
from relay import Relay  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MEMCACHED = "/usr/bin/memcached"
HOST = "127.0.0.1"

SERVER_KIND = os.environ.get("E2E_SERVER", "memg")
IS_MEMCACHED = SERVER_KIND.startswith("memcached")
REF_SCRIPT = os.path.join(ROOT, "tests", "ref", "memcached-1.6.45.sh")
_ref145 = []


def memcached145_bin():
    """memcached 1.6.45 (MEMCACHED145_BIN, or built once into build/ref by the
    script: a minute the first time, then only a version check)."""
    if not _ref145:
        path = os.environ.get("MEMCACHED145_BIN")
        if not path:
            r = subprocess.run(["sh", REF_SCRIPT], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=1800)
            if r.returncode:
                pytest.fail("could not build memcached 1.6.45:\n%s" % r.stderr[-3000:])
            path = r.stdout.strip().splitlines()[-1]
        _ref145.append(path)
    return _ref145[0]


def ref_bin(kind):
    """The binary of a reference kind: "memcached" (1.6.18) or "memcached145"."""
    return memcached145_bin() if kind == "memcached145" else MEMCACHED


# As root memg, like memcached, refuses to start without -u.
AS_ROOT = ["-u", "root"] if os.geteuid() == 0 else []


def memg_bin():
    return os.environ.get("MEMG_BIN") or os.path.join(ROOT, "build", "memg")


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_accepting(proc, addr, timeout=5.0, unix_path=None):
    """True once addr (or unix_path) accepts a connection; False if proc died
    first or the time ran out. Shared by every test that starts a server."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if unix_path:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(0.5)
                    s.connect(unix_path)
            else:
                with socket.create_connection(addr, timeout=0.5):
                    pass
            return True
        except OSError:
            time.sleep(0.02)
    return False


class Server:
    """A running server process; stop() is bounded in time."""

    unix_path = None  # class default: subclasses may skip __init__
    relay_seed = None  # set: every port is reached through a chopping relay

    def __init__(self, kind, argv, port, log_path, unix_path=None, env=None):
        self.kind, self.argv, self.port, self.host = kind, argv, port, HOST
        self.unix_path = unix_path
        self.log_path = log_path
        self.log = open(log_path, "wb")
        # env: extra variables (e.g. MEMCACHED_SASL_PWDB) over our own environment
        full_env = dict(os.environ, **env) if env else None
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=full_env)

    @property
    def addr(self):
        return (self.host, self.port)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_ready(self, timeout=5.0):
        """True once the port accepts connections; False if the process died."""
        return wait_accepting(self.proc, self.addr, timeout, self.unix_path)

    def alive(self):
        return self.proc.poll() is None

    def via_relay(self, seed):
        """From now on self.port is a chopping relay's in front of the server."""
        self.relay_seed, self.relays = seed, []
        self.server_port = self.port
        self.port = self.reach(self.port)

    def reach(self, port):
        """The port a client uses for the server's `port`: itself, or on the
        relay route a new relay's in front of it (e.g. the HTTP port)."""
        if self.relay_seed is None:
            return port
        r = Relay((self.host, port), self.relay_seed + len(self.relays))
        self.relays.append(r)
        return r.port

    def raw(self, timeout=5.0):
        return Raw(self.host, self.port, timeout, self.unix_path)

    def stop(self):
        for r in getattr(self, "relays", ()):
            r.stop()
        if self.proc.poll() is None:
            # memcached exits on SIGTERM only at its next 1 s clock tick: it is
            # the reference, not under test, so it is killed outright.
            if self.kind.startswith("memcached"):
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(3)
        self.log.close()


def _argv(kind, port, args):
    if kind.startswith("memcached"):
        argv = [ref_bin(kind)]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        return argv + ["-U", "0", "-l", HOST, "-p", str(port)] + list(args)
    return [memg_bin(), "-p", str(port), "-l", HOST, "-U", "0"] + AS_ROOT + list(args)


def assert_refused_at_start(args, message):
    """Both memcached and the server under test refuse these flags at start,
    saying memcached's message and exiting non-zero (bounded in time)."""
    for kind in ("memcached", SERVER_KIND):
        argv = _argv(kind, free_port(), list(args))
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=3)
        except subprocess.TimeoutExpired:
            pytest.fail("%s %s kept running" % (kind, " ".join(args)))
        assert r.returncode != 0, (kind, r)
        assert message in r.stdout + r.stderr, (kind, r)


def start_server(kind, args=(), logdir=None, unix_path=None, env=None):
    """Start `kind` ("memg", "memcached" or "memcached145") with extra flags; retry on a port
    race. With unix_path, serve that unix socket (-s) instead of TCP. env: extra
    environment variables for the server process (added to ours)."""
    if kind == "memcached" and not os.access(MEMCACHED, os.X_OK):
        pytest.skip("no %s" % MEMCACHED)
    if kind == "memg" and not os.access(memg_bin(), os.X_OK):
        pytest.fail("server binary %s does not exist (build it, or set E2E_SERVER=memcached)"
                    % memg_bin())
    logdir = logdir or tempfile.mkdtemp(prefix="memg-e2e-")
    last = ""
    for attempt in range(5):
        port = free_port()
        log = os.path.join(logdir, "%s-%d.log" % (kind, port))
        argv = _argv(kind, port, args)
        if unix_path:
            argv += ["-s", unix_path]
        srv = Server(kind, argv, port, log, unix_path, env)
        try:
            ready = srv.wait_ready()
        except BaseException:
            srv.stop()  # never leak a server process
            raise
        if ready:
            return srv
        srv.stop()
        last = srv.log_text()
    pytest.fail("could not start %s %s:\n%s" % (kind, " ".join(args), last))


@pytest.fixture
def route():
    """The way to the server: "direct"; tests marked relay also run "relay"
    (pytest_generate_tests)."""
    return "direct"


def relay_seed():
    """The relay route's seed: E2E_RELAY_SEED, else a fresh one (printed)."""
    seed = os.environ.get("E2E_RELAY_SEED")
    seed = int(seed) if seed else random.randrange(1 << 32)
    print("chopping relay seed %d (replay: E2E_RELAY_SEED=%d)" % (seed, seed))
    return seed


@pytest.fixture
def server_factory(tmp_path, route):
    """start(*flags, memcached_args=None, kind=None, env=None) -> Server.

    Flags are memcached's (-m, -I, -c, -M, -A, ...). memcached_args replaces
    the flags when the server under test is memcached (for flags whose
    meaning differs there). env: extra environment variables for the server
    (e.g. MEMCACHED_SASL_PWDB with -S). On the relay route a TCP server is
    reached through a chopping relay (server.port is the relay's)."""
    started = []
    seed = relay_seed() if route == "relay" else None

    def start(*args, memcached_args=None, kind=None, unix_path=None, env=None):
        kind = kind or SERVER_KIND
        if kind.startswith("memcached") and memcached_args is not None:
            args = memcached_args
        srv = start_server(kind, args, str(tmp_path), unix_path, env)
        started.append(srv)
        if seed is not None and not unix_path:
            srv.via_relay(seed + 1000 * (len(started) - 1))
        return srv

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture
def server(server_factory):
    """A server under test with default flags."""
    return server_factory()


@pytest.fixture
def addr(server):
    return server.addr


@pytest.fixture
def raw(server):
    r = server.raw()
    yield r
    r.close()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "memg_only: memg's documented (stricter) behaviour; skipped against memcached")
    config.addinivalue_line(
        "markers", "relay: run [direct] and [relay] (through the chopping relay, relay.py)")


def pytest_generate_tests(metafunc):
    if "route" in metafunc.fixturenames and metafunc.definition.get_closest_marker("relay"):
        metafunc.parametrize("route", ["direct", "relay"])


def pytest_collection_modifyitems(config, items):
    if not IS_MEMCACHED:
        return
    skip = pytest.mark.skip(reason="memg-only behaviour (E2E_SERVER=memcached)")
    for item in items:
        if "memg_only" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    return "e2e server: %s" % (ref_bin(SERVER_KIND) if IS_MEMCACHED else memg_bin())
