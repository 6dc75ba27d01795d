"""pylibmc (libmemcached) with binary=True against HOST:PORT.

Usage: python3 pylibmc_binary.py HOST PORT [USER PASS [--check-refusal]]
Run in its own process: libmemcached asserts (aborts the process) on some
replies it does not expect. Prints one line per check; exits 1 at the first
mismatch, 2 on bad usage, 3 (skip) when pylibmc was built without SASL.
--check-refusal: stores a key as USER/PASS, then checks that a client with a
wrong password and a client without credentials can neither write nor read.
"""
import os
import sys

import pylibmc


def check(what, got, want):
    if got != want or type(got) is not type(want):
        show = (lambda v: "<%d bytes>" % len(v) if isinstance(v, bytes) and len(v) > 64 else repr(v))
        print("FAIL %s: got %s, want %s" % (what, show(got), show(want)))
        sys.exit(1)
    print("ok", what)


def client(host, port, user=None, password=None):
    kw = {"username": user, "password": password} if user is not None else {}
    return pylibmc.Client(["%s:%s" % (host, port)], binary=True,
                          behaviors={"cas": True, "connect_timeout": 2000,
                                     "receive_timeout": 5000000, "send_timeout": 5000000},
                          **kw)


def check_raises(what, exc, fn):
    try:
        r = fn()
    except exc:
        print("ok", what)
        return
    check(what, r, exc.__name__)


def refused(what, fn):
    try:
        r = fn()
    except pylibmc.Error as e:
        print("  (%s: %s: %s)" % (what, type(e).__name__, str(e).split(",")[0]))
        return True
    return r in (None, False, {})


def check_refusal(host, port, user, password):
    mc = client(host, port, user, password)
    check("authenticated set", mc.set("py:secret", "hidden"), True)
    # no incr here: libmemcached 1.1.4 aborts on an auth error to INCREMENT
    for what, u, p in (("wrong password", user, password + "x"), ("no credentials", None, None)):
        bad = client(host, port, u, p)
        check(what + ": set refused", refused(what, lambda: bad.set("py:secret", "overwritten")), True)
        check(what + ": get reads nothing", refused(what, lambda: bad.get("py:secret")), True)
        check(what + ": get_multi reads nothing",
              refused(what, lambda: bad.get_multi(["py:secret"])), True)
        bad.disconnect_all()
    check("secret unchanged", mc.get("py:secret"), "hidden")
    print("PYLIBMC REFUSAL OK")


def main(host, port, user=None, password=None):
    mc = client(host, port, user, password)

    # set / get; pylibmc keeps the Python type in the flags
    check("set", mc.set("py:k1", "v1"), True)
    check("get", mc.get("py:k1"), "v1")
    check("get missing", mc.get("py:nope"), None)
    check("set bytes", mc.set("py:b", b"\x00\xffbin\r\n"), True)
    check("get bytes", mc.get("py:b"), b"\x00\xffbin\r\n")
    check("set int", mc.set("py:i", 42), True)
    check("get int", mc.get("py:i"), 42)
    check("set pickled", mc.set("py:o", {"a": [1, 2]}), True)
    check("get pickled", mc.get("py:o"), {"a": [1, 2]})

    # multi
    check("set_multi", mc.set_multi({"py:m1": "one", "py:m2": "two", "py:m3": "three"}), [])
    check("get_multi", mc.get_multi(["py:m1", "py:m2", "py:m3", "py:nope"]),
          {"py:m1": "one", "py:m2": "two", "py:m3": "three"})
    check("get_multi none", mc.get_multi(["py:x1", "py:x2"]), {})

    # add / replace / append / prepend
    check("add new", mc.add("py:a", "mid"), True)
    check("add existing", mc.add("py:a", "x"), False)
    check("replace", mc.replace("py:a", "mid"), True)
    # binary NOT_FOUND (text: NOT_STORED -> False)
    check_raises("replace missing raises NotFound", pylibmc.NotFound,
                 lambda: mc.replace("py:nope", "x"))
    check("append", mc.append("py:a", "-tail"), True)
    check("prepend", mc.prepend("py:a", "head-"), True)
    check("get appended", mc.get("py:a"), "head-mid-tail")
    check("append missing", mc.append("py:nope", "x"), False)

    # delete
    check("delete", mc.delete("py:m2"), True)
    check("delete again", mc.delete("py:m2"), False)
    check("get deleted", mc.get("py:m2"), None)
    check("delete_multi", mc.delete_multi(["py:m1", "py:m3"]), True)
    check("get_multi deleted", mc.get_multi(["py:m1", "py:m3"]), {})

    # incr / decr (binary: exptime 0xffffffff, a missing key is not created)
    check("set counter", mc.set("py:n", "10"), True)
    check("incr", mc.incr("py:n", 5), 15)
    check("decr to floor", mc.decr("py:n", 20), 0)
    # pylibmc takes deltas up to a C int: start near the top
    check("set near max", mc.set("py:n", str(2 ** 64 - 2)), True)
    check("incr to max", mc.incr("py:n", 1), 2 ** 64 - 1)
    check("incr wraps", mc.incr("py:n", 2), 1)
    check("incr big delta", mc.incr("py:n", 2 ** 31 - 1), 2 ** 31)
    check_raises("incr missing raises NotFound", pylibmc.NotFound,
                 lambda: mc.incr("py:nocount", 1))
    check("incr missing created nothing", mc.get("py:nocount"), None)
    check("set counter 2", mc.set("py:n2", "100"), True)
    check("decr", mc.decr("py:n2", 1), 99)
    check("counter text", mc.get("py:n2"), "99 ")  # memcached pads in place

    # cas
    value, token = mc.gets("py:k1")
    check("gets value", value, "v1")
    check("gets token", isinstance(token, int) and token > 0, True)
    check("cas", mc.cas("py:k1", "v2", token), True)
    check("cas stale", mc.cas("py:k1", "v3", token), False)
    check("after cas", mc.get("py:k1"), "v2")
    value2, token2 = mc.gets("py:k1")
    check("gets after cas", (value2, token2 != token), ("v2", True))
    check("gets missing", mc.gets("py:nope"), (None, None))

    # touch
    check("touch", mc.touch("py:k1", 100), True)
    check("touch missing", mc.touch("py:nope", 100), False)
    check("after touch", mc.get("py:k1"), "v2")

    # quiet commands: with _noreply libmemcached sends setq/deleteq and reads
    # nothing back; the next get on the same connection must see their effect
    q = client(host, port, user, password)
    q.behaviors["_noreply"] = True
    q.set("py:q1", "a")
    q.set("py:q2", "b")
    q.delete("py:q1")
    q.set("py:q3", "c")
    q.add("py:q2", "not stored")  # a failing quiet command does answer (an error)
    check("after quiet commands", q.get_multi(["py:q1", "py:q2", "py:q3"]),
          {"py:q2": "b", "py:q3": "c"})
    check("after quiet commands, other connection", mc.get("py:q3"), "c")
    q.disconnect_all()

    # 500 KB value
    big = os.urandom(500 * 1024)
    check("set 500KB", mc.set("py:big", big), True)
    check("get 500KB", mc.get("py:big"), big)
    check("get_multi 500KB", mc.get_multi(["py:big", "py:k1"]), {"py:big": big, "py:k1": "v2"})

    # stats (0x10) and flush (0x08)
    stats = mc.get_stats()
    check("stats", len(stats) == 1 and "curr_items" in stats[0][1] and "pid" in stats[0][1], True)
    check("flush_all", mc.flush_all(), True)
    check("get after flush", mc.get("py:k1"), None)
    mc.disconnect_all()
    print("PYLIBMC OK")


if __name__ == "__main__":
    args = sys.argv[1:]
    refusal = "--check-refusal" in args
    if refusal:
        args.remove("--check-refusal")
    if len(args) not in (2, 4) or (refusal and len(args) != 4):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    print("pylibmc %s, libmemcached %s, SASL %s" % (
        pylibmc.__version__, pylibmc.libmemcached_version, pylibmc.support_sasl))
    if len(args) == 4 and not pylibmc.support_sasl:
        print("SKIP: pylibmc/libmemcached was built without SASL support")
        sys.exit(3)
    (check_refusal if refusal else main)(*args)
