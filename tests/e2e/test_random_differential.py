"""Seeded random command streams, sent in batches to memcached and to the
server under test; the reply streams must be byte-identical (CAS uniques
masked by order of first appearance, as in test_differential)."""
import random
import re
import socket
import threading
import time

import pytest

from conftest import SERVER_KIND
from test_differential import normalise

PADDED = re.compile(rb"VALUE (n\d) (\d+) (\d+)( <cas#\d+>)?\r\n(\d+) *\r\n")


def mask_padding(b):
    return PADDED.sub(lambda m: b"VALUE %s %s *%s\r\n%s\r\n" % (
        m.group(1), m.group(2), m.group(4) or b"", m.group(5)), b)

# Text keys take any value and every command but incr/decr; number keys only
# ever hold decimal numbers and are the only ones incr/decr touch. (memcached
# rewrites an incr/decr result in place, space padded, only when no other
# thread or pending reply holds the item; otherwise it stores it unpadded.
# Which one happens is a race, so padded numbers must not feed later
# append/incr decisions, and their padding is masked in replies. The padding
# itself is checked deterministically by diff_script.txt.)
KEYS = [b"k%d" % i for i in range(8)] + [b"K" * 250]
NKEYS = [b"n1", b"n2", b"n3"]
NUMBERS = [0, 1, 7, 42, 99, 100, 255, 18446744073709551615, 18446744073709551614]
BATCH = 10
SENTINEL = b"version\r\n"


def gen_value(rng):
    kind = rng.random()
    if kind < 0.3:
        return b"%d" % rng.choice([0, 1, 7, 42, 99, 100, 255, 18446744073709551615,
                                   rng.randrange(0, 1 << 64)])
    if kind < 0.35:
        return b""
    n = rng.choice([1, 2, 5, 10, 100, 1000, 5000])
    return bytes(rng.choice(b"abcdefxyz \r\n\x00\xff") for _ in range(n))


def gen_number(rng):
    if rng.random() < 0.7:
        return b"%d" % rng.choice(NUMBERS)
    return b"%d" % rng.randrange(0, 1 << rng.choice([8, 32, 64]))


def gen_command(rng):
    key = rng.choice(KEYS + NKEYS)
    numeric = key in NKEYS
    noreply = b" noreply" if rng.random() < 0.15 else b""
    r = rng.random()
    exp = rng.choice([b"0", b"0", b"0", b"1000", b"-1", b"2592001"])
    if r < 0.35:
        if numeric:
            cmd = rng.choice([b"set", b"set", b"add", b"replace", b"cas"])
            v = gen_number(rng)
        else:
            cmd = rng.choice([b"set", b"set", b"add", b"replace", b"append", b"prepend", b"cas"])
            v = gen_value(rng)
        flags = b"%d" % rng.choice([0, 1, 4294967295])
        n = len(v)
        tail = b"\r\n"
        bad = rng.random()
        if bad < 0.03 and not numeric:
            tail = b"XX\r\n"  # bad data chunk; the leftover is a command line
        elif bad < 0.05:
            flags = b"abc"
        casarg = b" 99999999999" if cmd == b"cas" else b""
        return b"%s %s %s %s %d%s%s\r\n%s%s" % (cmd, key, flags, exp, n, casarg, noreply, v, tail)
    if r < 0.6:
        cmd = rng.choice([b"get", b"gets", b"gat", b"gats"])
        keys = b" ".join(rng.choice(KEYS + NKEYS) for _ in range(rng.randint(1, 4)))
        if cmd in (b"gat", b"gats"):
            return b"%s %s %s\r\n" % (cmd, rng.choice([b"0", b"1000"]), keys)
        return b"%s %s\r\n" % (cmd, keys)
    if r < 0.75:
        cmd = rng.choice([b"incr", b"decr"])
        delta = rng.choice([b"0", b"1", b"5", b"100", b"18446744073709551615", b"abc", b"-1"])
        key = rng.choice(NKEYS + [b"nx"])
        return b"%s %s %s%s\r\n" % (cmd, key, delta, noreply)
    if r < 0.83:
        return b"delete %s%s\r\n" % (key, rng.choice([b"", b" 0", noreply]))
    if r < 0.9:
        return b"touch %s %s%s\r\n" % (key, rng.choice([b"0", b"1000", b"abc"]), noreply)
    if r < 0.92:
        return b"flush_all%s\r\n" % noreply
    return rng.choice([b"bogus\r\n", b"\r\n", b"get\r\n", b"set k0\r\n", b"verbosity 1\r\n",
                       b"incr\r\n", b"delete k0 k1 k2\r\n", b"set k0 0 0 -1\r\n",
                       b"stats reset\r\n"])


# Meta commands mixed in (seeds of test_random_meta_stream): only what 1.6.18
# answers as the current memcached does and what does not hang on the clock:
# no t/l/h (TTLs, access ages, fetch marks of touch), no me (its exp sign), no
# q on md or on an ma that creates (newer memcached hides more), no E, x or
# ms s/N. Numeric keys are read back without their (maybe padded) value, and
# are never marked stale or won: memcached keeps those marks through an incr
# done in place but drops them when a pending reply made it copy the item.
def gen_meta(rng):
    key = rng.choice(KEYS + NKEYS)
    numeric = key in NKEYS
    opaque = b" O%d" % rng.randrange(1000) if rng.random() < 0.3 else b""
    r = rng.random()
    if r < 0.35:
        pool = [b"k", b"f", b"c", b"q"] + ([] if numeric else [b"v", b"s"] * 2)
        flags = rng.sample(pool, rng.randint(0, 3))
        if rng.random() < 0.15:
            flags.append(rng.choice([b"T1000", b"u"] + ([] if numeric else [b"N30", b"R30"])))
        return b"mg %s%s%s\r\n" % (key, b"".join(b" " + f for f in flags), opaque)
    if r < 0.6:
        v = gen_number(rng) if numeric else gen_value(rng)
        flags = [b"F%d" % rng.choice([0, 5, 4294967295])]
        if not numeric and rng.random() < 0.3:
            flags.append(rng.choice([b"ME", b"MA", b"MP", b"MR", b"MS"]))
        if rng.random() < 0.2:
            flags.append(rng.choice([b"C99999999999", b"C0"] + ([] if numeric else [b"C1 I"])))
        flags += rng.sample([b"k", b"c", b"q", b"T1000", b"T-1"], rng.randint(0, 2))
        tail = b"XX\r\n" if rng.random() < 0.03 and not numeric else b"\r\n"
        return b"ms %s %d%s%s\r\n%s%s" % (key, len(v), b"".join(b" " + f for f in flags),
                                           opaque, v, tail)
    if r < 0.75:
        flags = rng.sample([b"k", b"C1", b"T1000"] + ([] if numeric else [b"I"]), rng.randint(0, 2))
        return b"md %s%s%s\r\n" % (key, b"".join(b" " + f for f in flags), opaque)
    if r < 0.92:
        # not text keys: memcached's incr reads a number past the end of a
        # value of white space (what follows in its slab); memg refuses it
        key = rng.choice(NKEYS + [b"nx"])
        flags = rng.sample([b"v", b"c", b"k", b"MD", b"D7", b"D18446744073709551615",
                            b"N0 J5"], rng.randint(0, 3))
        if b"N0 J5" not in flags and rng.random() < 0.2:
            flags.append(b"q")
        return b"ma %s%s%s\r\n" % (key, b"".join(b" " + f for f in flags), opaque)
    return rng.choice([b"mn\r\n", b"mg\r\n", b"mg k0 zz\r\n", b"ms k0 x\r\n",
                       b"md k0 v v\r\n", b"ma k0 MX\r\n", b"mx k0\r\n"])


# memcached 1.6.18 drops every reply still queued on the connection when a
# get names a too-long key (conn_release_items in process_get_command), so
# replies of commands pipelined before it in the same batch vanish. That is
# a memcached bug, not a contract: the bad get only ever starts a batch here.
BAD_GET = b"get k0 " + b"x" * 251 + b" k1\r\n"


# memcached rewrites an incr/decr result in place (space padded) only while
# no pending reply holds the item; pipelined behind a get of the same key it
# makes a new, unpadded item instead. So incr/decr go alone in their batch,
# where the outcome is deterministic (the padded form).
def gen_batches(seed, ncmds, meta=False):
    rng = random.Random(seed)
    batches, cur = [], []
    for _ in range(ncmds):
        c = gen_meta(rng) if meta and rng.random() < 0.5 else gen_command(rng)
        if c.startswith((b"incr ", b"decr ", b"ma ")):
            if cur:
                batches.append(cur)
            batches.append([c])
            cur = []
            continue
        if not cur and rng.random() < 0.1:
            cur.append(BAD_GET)
        cur.append(c)
        if len(cur) >= BATCH:
            batches.append(cur)
            cur = []
    if cur:
        batches.append(cur)
    return batches


def run_stream(addr, batches):
    sock = socket.create_connection(addr, timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    cas_order, casvals = {}, {}
    deadline = time.monotonic() + 60
    try:
        for batch in batches:
            sock.sendall(b"".join(batch) + SENTINEL)
            buf = b""
            while not (buf.endswith(b"\r\n") and b"VERSION " in buf[-40:]
                       and buf[buf.rfind(b"VERSION ", 0, len(buf)):].count(b"\r\n") == 1):
                assert time.monotonic() < deadline, "stream took over 60 s"
                d = sock.recv(1 << 20)
                if not d:
                    buf += b"<closed>"
                    break
                buf += d
            out.append(mask_padding(normalise(buf, cas_order, casvals)))
            if buf.endswith(b"<closed>"):
                break
    finally:
        sock.close()
    return out


def _compare_streams(server_factory, seed, batches):
    ref_srv = server_factory(kind="memcached145")  # memg answers as the current release
    sut_srv = server_factory()
    res = {}

    def worker(name, srv):
        try:
            res[name] = run_stream(srv.addr, batches)
        except BaseException as e:  # pragma: no cover
            res[name] = e

    ts = [threading.Thread(target=worker, args=a, daemon=True)
          for a in (("ref", ref_srv), ("sut", sut_srv))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(90)
    for name in ("ref", "sut"):
        if isinstance(res.get(name), BaseException):
            raise res[name]
        assert name in res, name + " did not finish"
    ref, sut = res["ref"], res["sut"]
    for i, (a, b) in enumerate(zip(ref, sut)):
        if a != b:
            j = next(k for k in range(min(len(a), len(b)) + 1)
                     if k == min(len(a), len(b)) or a[k] != b[k])
            sut_name = "memcached#2" if SERVER_KIND == "memcached" else "memg"
            pytest.fail("seed %d batch %d differs at byte %d\nrequests:\n%s\n"
                        "memcached: %r\n%s: %r" % (
                            seed, i, j, "\n".join(repr(c)[:300] for c in batches[i]),
                            a[max(0, j - 200):j + 200], sut_name, b[max(0, j - 200):j + 200]),
                        pytrace=False)
    assert len(ref) == len(sut)
    assert sut_srv.alive()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_stream(server_factory, seed):
    _compare_streams(server_factory, seed, gen_batches(seed, 3000))


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_random_meta_stream(server_factory, seed):
    """Classic and meta commands mixed at random on one connection."""
    _compare_streams(server_factory, seed, gen_batches(seed, 3000, meta=True))
