"""Three memg behind memcached 1.6.45's own proxy (routelib), started by the
recipes in docs/SCALING.md (read out of that file, with run-time ports and
paths in place of the documented ones): keys spread over the three, text and
meta clients through the proxy, replicated writes and failover reads, an
instance killed and restarted, the proxy's backend stats; and the same
command script through the proxy in front of memg and in front of memcached
1.6.45, answered alike. Loopback only; every process is killed by the
fixtures, also when a step fails."""
import os
import re
import shlex
import socket
import subprocess
import tempfile
import threading
import time

import pytest
from pymemcache.client.base import Client as PyClient

from conftest import HOST, free_port, memcached145_bin, wait_accepting
from test_cluster import KEYS, N, START_S, Cluster, _alive, read_all, recipe, substitute, val
from test_differential import compare, load_script, run_session

pytestmark = pytest.mark.memg_only  # the recipes start memg itself

RETRY_S = 1.0   # backend_retry_waittime in the doc's settings, checked below
READ_S = 1.0    # backend_read_timeout


def proxy_config(ports, lua_recipe="memg-proxy.lua"):
    """The doc's routelib file with these backend ports."""
    return substitute(recipe(lua_recipe), [
        ("127.0.0.1:1121%d" % (i + 1), "%s:%d" % (HOST, p)) for i, p in enumerate(ports)])


class Proxy:
    """memcached 1.6.45 started as the doc's command line says."""

    def __init__(self, lua_text):
        # As root memcached drops to nobody before it reads the file: a
        # directory anyone may enter (pytest's tmp_path is private).
        self.dir = tempfile.mkdtemp(prefix="memg-proxy-")
        os.chmod(self.dir, 0o755)
        self.lua = os.path.join(self.dir, "proxy.lua")
        with open(self.lua, "w") as f:
            f.write(lua_text)
        os.chmod(self.lua, 0o644)
        self.port = free_port()
        cmd = substitute(recipe("memcached-proxy.sh").strip(), [
            ("-l 127.0.0.1 -p 21211", "-l %s -p %d" % (HOST, self.port)),
            ("/etc/memg/proxy.lua", self.lua)])
        argv = shlex.split(cmd)
        assert argv[0] == "memcached"
        argv[0] = memcached145_bin()
        if os.geteuid() == 0:
            argv[1:1] = ["-u", "nobody"]
        self.log_path = os.path.join(self.dir, "proxy.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv + ["-U", "0"], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        # bounded for a loaded machine: a proxy that dies fails at once
        assert wait_accepting(self.proc, (HOST, self.port), START_S), self.log_text()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read()[-3000:].decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()

    def client(self):
        return PyClient((HOST, self.port), timeout=3, connect_timeout=3)

    def cmd(self, data, timeout=3.0, until=None):
        return request(self.port, data, timeout, until)

    def stats(self, what=""):
        reply = self.cmd(b"stats %s\r\n" % what.encode())
        return {m.group(1).decode(): m.group(2).decode()
                for m in re.finditer(rb"STAT (\S+) (.*?)\r\n", reply)}


def request(port, data, timeout=3.0, until=None):
    """One request on a new connection: its whole reply (or what came); with
    until, everything up to that ending (pipelined requests)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not (out.endswith(until) if until else _whole(out)):
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            if not d:
                break
            out += d
        return out


def _whole(buf):
    """A whole reply to one request of this file's kinds."""
    if not buf.endswith(b"\r\n"):
        return False
    if buf.startswith((b"VALUE", b"STAT")) or buf == b"\r\n":
        return buf.endswith(b"END\r\n")
    if buf.startswith(b"VA "):
        size = int(buf.split(b" ", 2)[1].split(b"\r\n")[0])
        return len(buf) >= buf.index(b"\r\n") + 2 + size + 2
    return True


class ProxyCluster(Cluster):
    """The doc's instance loop (recipe 1) with the doc's proxy in front."""

    px_obj = None

    def start_proxy(self):
        self.px_obj = Proxy(proxy_config(self.ports))
        self.px = self.px_obj.port

    def stop_proxy(self):
        if self.px_obj:
            self.px_obj.stop()

    def direct(self, i):
        """pymemcache straight to instance i (values come back as bytes)."""
        return PyClient((HOST, self.ports[i]), timeout=3, connect_timeout=3)

    def owners(self, keys, gen="v1"):
        out = {}
        for i in range(N):
            if not _alive(self.pids[self.ports[i]]):
                continue
            for k, v in self.direct(i).get_many(keys).items():
                if v.decode() == val(k, gen):
                    assert k not in out, "%s on two instances" % k
                    out[k] = i
        return out

    def direct_cmd(self, i, data):
        return request(self.ports[i], data)


@pytest.fixture
def cluster(tmp_path):
    c = ProxyCluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


def test_recipe_settings_as_documented():
    lua = recipe("memg-proxy.lua")
    assert "backend_retry_waittime = %d," % RETRY_S in lua
    assert "backend_read_timeout = %d," % READ_S in lua
    for route in ("route_direct", "route_allsync", "route_failover"):
        assert route + " {" in lua
    assert recipe("memcached-proxy.sh").startswith("memcached ")


def test_keys_spread_text_and_meta(cluster):
    cluster.start()
    px = cluster.px_obj
    keys = KEYS[:6000]
    want = {k: val(k) for k in keys}
    mc = px.client()
    assert mc.set_many(want, noreply=False) == []
    got = mc.get_many(keys)
    assert {k: v.decode() for k, v in got.items()} == want
    owner = cluster.owners(keys)
    assert len(owner) == len(keys)  # each key on exactly one instance
    shares = [sum(1 for o in owner.values() if o == i) / len(keys) for i in range(N)]
    print("shares", shares)
    assert all(abs(s - 1 / 3) <= 0.05 for s in shares), shares
    # meta through the proxy: flags, TTL, CAS, opaque and key come back as
    # the owning instance answers them directly
    for k in keys[:300:7]:
        r = px.cmd(b"ms %s 5 F77 T900\r\nhello\r\n" % k.encode())
        assert r == b"HD\r\n", (k, r)
        r = px.cmd(b"mg %s v f t c k s O42\r\n" % k.encode())
        m = re.fullmatch(rb"VA 5 f77 t(\d+) c(\d+) k(\S+) s5 O42\r\nhello\r\n", r)
        assert m and 898 <= int(m.group(1)) <= 900 and m.group(3) == k.encode(), r
        direct = cluster.direct_cmd(owner[k], b"mg %s c\r\n" % k.encode())
        assert direct == b"HD c%s\r\n" % m.group(2), (direct, r)
    # arithmetic, delete, quiet mode and the no-op through the proxy
    assert px.cmd(b"ma cnt N0 J13 v\r\n") == b"VA 2\r\n13\r\n"
    assert px.cmd(b"ma cnt D5 v\r\n") == b"VA 2\r\n18\r\n"
    assert px.cmd(b"incr cnt 2\r\n") == b"20\r\n"
    assert px.cmd(b"mg %s v q\r\nmg nokey v q\r\nmn\r\n" % keys[7].encode(),
                  until=b"MN\r\n") == \
        b"VA 5\r\nhello\r\nMN\r\n"
    assert px.cmd(b"md %s q\r\nmn\r\n" % keys[0].encode(), until=b"MN\r\n") == b"MN\r\n"
    assert px.cmd(b"mg %s v\r\n" % keys[0].encode()) == b"EN\r\n"
    assert px.cmd(b"touch %s 100\r\n" % keys[2].encode()) == b"TOUCHED\r\n"
    assert px.cmd(b"gat 100 %s\r\n" % keys[3].encode()) == \
        b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (keys[3].encode(), len(want[keys[3]]),
                                           want[keys[3]].encode())


def test_replicated_writes_and_failover_reads(cluster):
    cluster.start()
    px = cluster.px_obj
    rep = ["rep/%d" % i for i in range(200)]
    mc = px.client()
    for k in rep:
        assert mc.set(k, val(k), noreply=False)
    for i in range(N):  # route_allsync: every copy has every key
        assert cluster.direct(i).get_many(rep) == {k: val(k).encode() for k in rep}
    assert px.cmd(b"ms rep/m 2\r\nhi\r\n") == b"HD\r\n"
    for i in range(N):
        assert cluster.direct_cmd(i, b"mg rep/m v\r\n") == b"VA 2\r\nhi\r\n"
    # a copy gone: its keys still read from the others
    cluster.kill(0)
    res = read_all(mc, rep)
    print("replicated reads, one copy dead:", {r: sum(1 for v in res.values() if v == r)
                                               for r in set(res.values())})
    assert set(res.values()) == {"hit"}
    # a write now reaches the two live copies, and the client hears the failure
    r = px.cmd(b"set rep/new 0 0 2\r\nv2\r\n")
    assert r.startswith(b"SERVER_ERROR"), r
    assert [cluster.direct(i).get("rep/new") for i in (1, 2)] == [b"v2", b"v2"]
    assert px.cmd(b"get rep/new\r\n") == b"VALUE rep/new 0 2\r\nv2\r\nEND\r\n"
    # the copy restarts empty: reads of its keys miss there and fail over
    cluster.restart(0)
    time.sleep(RETRY_S + 0.5)
    assert cluster.direct(0).get("rep/1") is None
    res = read_all(mc, rep)
    assert set(res.values()) == {"hit"}, res
    assert px.cmd(b"set rep/new 0 0 2\r\nv3\r\n") == b"STORED\r\n"
    assert [cluster.direct(i).get("rep/new") for i in range(N)] == [b"v3"] * N


def test_instance_killed_and_restarted(cluster):
    cluster.start()
    px = cluster.px_obj
    keys = KEYS[:3000]
    mc = px.client()
    assert mc.set_many({k: val(k) for k in keys}, noreply=False) == []
    owner = cluster.owners(keys)
    assert px.stats("proxybe") == {}
    st = px.stats()
    # one connection per instance from each worker thread (the pools share
    # backends with the same address)
    threads = int(re.search(r"-t (\d+)", recipe("memcached-proxy.sh")).group(1))
    assert st["proxy_backend_total"] == str(N * threads), st
    assert st["proxy_backend_marked_bad"] == "0"
    cluster.kill(1)
    res = read_all(mc, keys)
    live = {r for k, r in res.items() if not k.startswith("_") and owner[k] != 1}
    dead = {r for k, r in res.items() if not k.startswith("_") and owner[k] == 1}
    print("after the kill: live", live, "dead", dead, res.get("_first_error"))
    # nothing routes around a dead instance in route_direct: its keys fail,
    # the others' answer, no value is ever wrong
    assert live == {"hit"} and dead == {"error"}
    assert "backend failure" in res["_first_error"]
    meta = px.cmd(b"mg %s v\r\n" % next(k for k in keys if owner[k] == 1).encode())
    assert meta == b"SERVER_ERROR backend failure\r\n", meta
    time.sleep(RETRY_S + 0.2)
    st = px.stats()
    assert int(st["proxy_backend_marked_bad"]) >= 1 and int(st["proxy_backend_failed"]) >= 1, st
    bad = px.stats("proxybe")
    # the dead instance, as bad in each worker thread
    assert bad == {"bad_%s:%d" % (HOST, cluster.ports[1]): str(threads)}, bad
    # writes to its keys fail too; writes to the others' succeed
    k1 = next(k for k in keys if owner[k] == 1)
    k0 = next(k for k in keys if owner[k] == 0)
    assert px.cmd(b"set %s 0 0 2\r\nv2\r\n" % k1.encode()).startswith(b"SERVER_ERROR")
    assert px.cmd(b"set %s 0 0 2\r\nv2\r\n" % k0.encode()) == b"STORED\r\n"
    # back: the proxy reconnects within backend_retry_waittime; the keys
    # that lived there now miss (it restarted empty), never an old value
    cluster.restart(1)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5 * RETRY_S and px.stats("proxybe"):
        time.sleep(0.05)
    back = time.monotonic() - t0
    print("backend good again after %.2f s" % back)
    assert px.stats("proxybe") == {}
    res = read_all(mc, keys, gens=("v1",))
    mine = {r for k, r in res.items() if not k.startswith("_") and owner[k] == 1}
    assert mine == {"miss"}, mine
    assert {r for k, r in res.items() if not k.startswith("_") and owner[k] != 1
            and k != k0} == {"hit"}
    assert px.cmd(b"set %s 0 0 2\r\nv3\r\n" % k1.encode()) == b"STORED\r\n"
    assert cluster.direct(1).get(k1) == b"v3"


ONE_BACKEND = """pools { one = { backends = { "127.0.0.1:%d" } } }
routes { default = route_direct { child = "one" } }
"""


def test_meta_through_proxy_as_memcached_145(server_factory):
    """diff_proxy.txt through the proxy in front of memg and in front of
    memcached 1.6.45: the same bytes back (the proxy parses every reply)."""
    units = load_script("diff_proxy.txt")
    backends = {"ref": server_factory(kind="memcached145"), "sut": server_factory(kind="memg")}
    proxies = {n: Proxy(ONE_BACKEND % s.port) for n, s in backends.items()}
    try:
        results = {}

        def worker(name):
            results[name] = run_session((HOST, proxies[name].port), units)

        threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in proxies]
        for t in threads:
            t.start()
        for t in threads:
            t.join(150)
        assert set(results) == {"ref", "sut"}
        # every request went through: none failed in the proxy
        assert not [t for _, t, r in results["sut"] if b"SERVER_ERROR" in r or b"ERROR" == r]
        assert [r for _, t, r in results["sut"] if t == b"mg m1 k v"] == [b"VA 2 km1\r\nhi\r\n"]
        compare("diff_proxy.txt", results["ref"], results["sut"],
                "proxy+memcached 1.6.45", "proxy+memg")
    finally:
        for p in proxies.values():
            p.stop()
