"""Large values on every protocol, [direct] and through the chopping relay
(relay.py, conftest.py): 3,000 bytes (across one TCP segment's 1,448 bytes of
payload), 20 KB, 300 KB and near 1 MB, stored and read back with pymemcache
(text), pylibmc text and binary (libmemcached, in its own process), meta
commands and HTTP PUT/GET. On the relay route each test also checks that the
relay really cut: the values went up and came back down in at least as many
pieces as the relay's largest piece allows, of sizes from 1 byte to over a
segment.
"""
import http.client
import os
import subprocess
import sys

import pytest
from pymemcache.client.base import Client as PymcClient

from conftest import HOST
from relay import PIECES
from test_binary_clients import CLIENTS_DIR
from test_http import http_port_of
from test_meta import Meta

pytestmark = pytest.mark.relay

SEGMENT = 1448
SIZES = (3000, 20 * 1024, 300 * 1024, 1024 * 1024 - 1024)
LARGEST_PIECE = PIECES[-1][2]


class Cuts:
    """What the server's relay (if any) sent in each direction during a test."""

    def __init__(self, srv, relay_index=0):
        self.relay = srv.relays[relay_index] if srv.relay_seed is not None else None
        self.start = {w: self.relay.counts(w) for w in ("up", "down")} if self.relay else None

    def check(self, sizes):
        """On the relay route: each value went up and came down in many pieces."""
        if self.relay is None:
            return
        need = sum(-(-n // LARGEST_PIECE) for n in sizes)
        for way in ("up", "down"):
            pieces, nbytes = self.relay.counts(way)
            pieces -= self.start[way][0]
            nbytes -= self.start[way][1]
            assert nbytes >= sum(sizes), (way, nbytes)
            assert pieces >= need, "%s: %d bytes in only %d pieces" % (way, nbytes, pieces)
            seen = self.relay.sizes[way]
            assert min(seen) <= 8 and max(seen) > SEGMENT, (way, sorted(seen)[:5], max(seen))


def test_pymemcache_text(server_factory):
    srv = server_factory()
    cuts = Cuts(srv)
    c = PymcClient(srv.addr, connect_timeout=2, timeout=10, default_noreply=False)
    try:
        for n in SIZES:
            value = os.urandom(n)
            assert c.set("t:%d" % n, value) is True
            assert c.get("t:%d" % n) == value
            assert c.get_many(["t:%d" % n, "t:none"]) == {"t:%d" % n: value}
    finally:
        c.close()
    cuts.check(SIZES)


@pytest.mark.parametrize("proto", ["text", "binary"])
def test_pylibmc(server_factory, proto):
    srv = server_factory()
    cuts = Cuts(srv)
    argv = [sys.executable, os.path.join(CLIENTS_DIR, "pylibmc_values.py"), srv.host,
            str(srv.port), proto] + [str(n) for n in SIZES]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    assert p.returncode == 0 and "VALUES OK" in out, \
        "%s\n--- server alive=%s, log:\n%s" % (out, srv.alive(), srv.log_text())
    cuts.check(SIZES)


def test_meta(server_factory):
    srv = server_factory()
    cuts = Cuts(srv)
    m = Meta(srv.addr)
    try:
        for n in SIZES:
            value = os.urandom(n)
            assert m.cmd(b"ms m:%d %d T0 F7" % (n, n), value) == (b"HD", None)
            assert m.cmd(b"mg m:%d v f s" % n) == (b"VA %d f7 s%d" % (n, n), value)
    finally:
        m.close()
    cuts.check(SIZES)


@pytest.mark.memg_only
def test_http(server_factory):
    srv = server_factory("-o", "http_port=0")
    port = http_port_of(srv)
    cuts = Cuts(srv, relay_index=-1)
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        for n in SIZES:  # one keep-alive connection
            value = os.urandom(n)
            c.request("PUT", "/k/h%d" % n, body=value)
            r = c.getresponse()
            assert (r.status, r.read()) == (204, b"")
            c.request("GET", "/k/h%d" % n)
            r = c.getresponse()
            assert (r.status, r.read()) == (200, value)
    finally:
        c.close()
    cuts.check(SIZES)
