"""pylibmc (libmemcached) stores and reads back values of the given sizes.

Usage: python3 pylibmc_values.py HOST PORT text|binary SIZE...
Run in its own process: libmemcached may abort on a reply it does not expect.
Each value is random bytes, written with set and read with get and get_multi;
exits 1 at the first mismatch (or pylibmc error), prints "VALUES OK" at the end.
"""
import os
import sys

import pylibmc


def main(host, port, proto, sizes):
    mc = pylibmc.Client(["%s:%s" % (host, port)], binary=proto == "binary",
                        behaviors={"connect_timeout": 2000, "receive_timeout": 5000000,
                                   "send_timeout": 5000000})
    for size in sizes:
        key = "v:%d" % size
        value = os.urandom(size)
        try:
            ok = (mc.set(key, value), mc.get(key) == value,
                  mc.get_multi([key, "v:none"]) == {key: value})
        except pylibmc.Error as e:
            ok = "%s: %s" % (type(e).__name__, e)
        if ok != (True, True, True):
            print("FAIL %s %d bytes: %s" % (proto, size, ok))
            sys.exit(1)
        print("ok %s %d bytes" % (proto, size))
    print("VALUES OK")


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[3] not in ("text", "binary"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2], sys.argv[3], [int(a) for a in sys.argv[4:]])
