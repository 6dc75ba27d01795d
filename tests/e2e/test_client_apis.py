"""The pymemcache and pylibmc APIs, text protocol, end to end."""
import time

import pylibmc
import pytest
from pymemcache.client.base import Client as PymcClient

# [direct] and [relay]: also through the chopping relay (conftest.py)
pytestmark = pytest.mark.relay


@pytest.fixture
def pymc(addr):
    c = PymcClient(addr, connect_timeout=2, timeout=5, default_noreply=False)
    yield c
    c.close()


@pytest.fixture
def plc(addr):
    c = pylibmc.Client(["%s:%d" % addr], binary=False,
                       behaviors={"cas": True, "connect_timeout": 2000,
                                  "receive_timeout": 5000000, "send_timeout": 5000000})
    yield c
    c.disconnect_all()


# ---------------------------------------------------------------- pymemcache

def test_pymemcache_many(pymc):
    assert pymc.set_many({"a": b"1", "b": b"2", "c": b"3"}) == []
    assert pymc.get_many(["a", "b", "c", "zz"]) == {"a": b"1", "b": b"2", "c": b"3"}
    assert pymc.delete_many(["a", "b", "zz"])
    assert pymc.get_many(["a", "b", "c"]) == {"c": b"3"}
    assert pymc.delete("c") is True
    assert pymc.delete("c") is False


def test_pymemcache_add_replace_append_prepend(pymc):
    assert pymc.add("k", b"v1") is True
    assert pymc.add("k", b"v2") is False
    assert pymc.get("k") == b"v1"
    assert pymc.replace("k", b"v3") is True
    assert pymc.replace("missing", b"v") is False
    assert pymc.get("missing") is None
    assert pymc.append("k", b"-tail") is True
    assert pymc.prepend("k", b"head-") is True
    assert pymc.get("k") == b"head-v3-tail"
    assert pymc.append("missing", b"x") is False
    assert pymc.prepend("missing", b"x") is False


def test_pymemcache_flags(pymc, raw):
    assert pymc.set("f", b"v", flags=4294967295)
    assert raw.cmd(b"get f\r\n") == b"VALUE f 4294967295 1\r\nv\r\nEND\r\n"


def test_pymemcache_gets_cas(pymc):
    assert pymc.gets("nope") == (None, None)
    assert pymc.cas("nope", b"x", b"123") is None  # NOT_FOUND
    pymc.set("c", b"one")
    value, token = pymc.gets("c")
    assert value == b"one" and token.isdigit()
    assert pymc.cas("c", b"two", token) is True
    assert pymc.cas("c", b"three", token) is False  # EXISTS
    assert pymc.get("c") == b"two"
    v2, t2 = pymc.gets("c")
    assert v2 == b"two" and t2 != token
    many = pymc.gets_many(["c", "nope"])
    assert many == {"c": (b"two", t2)}


def test_pymemcache_incr_decr(pymc):
    assert pymc.incr("n", 1) is None
    pymc.set("n", b"10")
    assert pymc.incr("n", 5) == 15
    assert pymc.decr("n", 20) == 0
    assert pymc.incr("n", 18446744073709551615) == 18446744073709551615
    assert pymc.incr("n", 2) == 1
    pymc.set("n", b"100")
    assert pymc.decr("n", 95) == 5
    assert pymc.get("n") == b"5  "
    assert pymc.decr("missing", 1) is None


def test_pymemcache_touch_expiry(pymc, raw):
    assert pymc.touch("nope", 10) is False
    pymc.set("t", b"v", expire=100)
    assert pymc.touch("t", 0) is True
    assert pymc.get("t") == b"v"
    pymc.set("gone", b"v", expire=-1)
    assert pymc.get("gone") is None
    # gat
    assert raw.cmd(b"gat 100 t nope\r\n") == b"VALUE t 0 1\r\nv\r\nEND\r\n"
    assert raw.cmd(b"gats 0 nope\r\n") == b"END\r\n"


def test_pymemcache_expiry_real_time(pymc):
    pymc.set("short", b"v", expire=1)
    assert pymc.get("short") == b"v"
    deadline = time.monotonic() + 4
    while pymc.get("short") is not None:
        assert time.monotonic() < deadline, "an item with exptime 1 lived over 4 s"
        time.sleep(0.2)


def test_pymemcache_flush_all(pymc):
    pymc.set_many({"x": b"1", "y": b"2"})
    assert pymc.flush_all() is True
    assert pymc.get_many(["x", "y"]) == {}
    pymc.set("z", b"3")
    assert pymc.get("z") == b"3"


def test_pymemcache_stats_version(pymc):
    pymc.set("s", b"1")
    pymc.get("s")
    pymc.get("nope")
    st = pymc.stats()
    for name in (b"pid", b"uptime", b"curr_items", b"total_items", b"get_hits",
                 b"get_misses", b"curr_connections", b"cmd_get", b"cmd_set", b"bytes",
                 b"limit_maxbytes", b"evictions", b"version", b"threads"):
        assert name in st, name
    assert st[b"curr_items"] == 1
    assert st[b"get_hits"] >= 1 and st[b"get_misses"] >= 1
    assert st[b"limit_maxbytes"] == 64 * 1024 * 1024
    assert pymc.version() == b"1.6.18" or pymc.version().startswith(b"1.")


# ---------------------------------------------------------------- pylibmc

def test_pylibmc_multi(plc):
    assert plc.set_multi({"a": "1", "b": 2, "c": b"three"}) == []
    assert plc.get_multi(["a", "b", "c", "zz"]) == {"a": "1", "b": 2, "c": b"three"}
    assert plc.delete_multi(["a", "b"]) is True
    assert plc.get_multi(["a", "b", "c"]) == {"c": b"three"}
    assert plc.set_multi({"p1": 1, "p2": 2}, key_prefix="pre:") == []
    assert plc.get_multi(["p1", "p2"], key_prefix="pre:") == {"p1": 1, "p2": 2}


def test_pylibmc_add_replace_append_prepend(plc):
    assert plc.add("k", "v1") is True
    assert plc.add("k", "v2") is False
    assert plc.replace("k", "v3") is True
    assert plc.replace("missing", "v") is False
    assert plc.append("k", "-tail") is True
    assert plc.prepend("k", "head-") is True
    assert plc.get("k") == "head-v3-tail"
    assert plc.append("missing", "x") is False


def test_pylibmc_gets_cas(plc):
    plc.set("c", "one")
    value, cas = plc.gets("c")
    assert value == "one" and isinstance(cas, int)
    assert plc.cas("c", "two", cas) is True
    assert plc.cas("c", "three", cas) is False
    assert plc.get("c") == "two"
    assert plc.gets("nope") == (None, None)


def test_pylibmc_incr_decr(plc):
    plc.set("n", "10")
    assert plc.incr("n") == 11
    assert plc.incr("n", 9) == 20
    assert plc.decr("n", 25) == 0
    with pytest.raises(pylibmc.NotFound):
        plc.incr("missing")
    plc.set("s", "abc")
    with pytest.raises(pylibmc.ClientError):
        plc.incr("s")
    # the connection is still fine after the error
    assert plc.get("n") in ("0", "0 ")


def test_pylibmc_touch_flush_stats(plc):
    plc.set("t", "v")
    assert plc.touch("t", 100) is True
    assert plc.touch("missing", 100) is False
    assert plc.get("t") == "v"
    plc.set("gone", "v", time=-1)
    assert plc.get("gone") is None
    stats = plc.get_stats()
    assert len(stats) == 1
    name, st = stats[0]
    assert name.startswith(b"127.0.0.1:")
    assert int(st["curr_items"]) >= 1
    assert "version" in st and "uptime" in st
    assert plc.flush_all() is True
    assert plc.get("t") is None
    assert plc.get_multi(["t", "n"]) == {}
