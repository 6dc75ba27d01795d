"""Soak: a mixed load over every protocol (text, meta, binary, HTTP) with
random disconnects and malformed requests against memg (meant for the
ASan+UBSan build: `make soak`), checking:

  - no crash, no sanitizer report in memg's log, exit 0 on SIGTERM;
  - zero wrong answers to valid requests: every worker speaks one protocol,
    owns its keys and tracks the value each should hold (a miss is allowed:
    -m is small so eviction is active; a stale or foreign value is not), and
    reads one get in twenty over the text protocol too;
  - each protocol's own rules: meta answers carry the request's opaque and
    quiet gets answer only hits, in order, up to mn; binary answers carry
    the request's magic, opcode and opaque, quiet stores answer only on
    failure and quiet gets only on a hit, up to the noop; HTTP answers are
    framed by their Content-Length, ETag is the CAS If-Match checks;
  - memg's RSS flat after warm-up.

    /usr/bin/python3 fuzz/soak.py --bin build/san/memg --seconds 60

Chaos clients meanwhile send garbage and malformed requests of every
protocol (exact errors are checked), cut values mid-way on the workers' keys
over every protocol (which must change nothing), reset connections with
replies pending, pipeline without reading, and half-close after a batch of
reads (every answer must come, then the close). Loopback only.
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time

HOST = "127.0.0.1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Conn:
    def __init__(self, port, timeout=20):
        self.s = socket.create_connection((HOST, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, d):
        self.s.sendall(d)

    def _more(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError("server closed")
        self.buf += d

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + 2:]
                return out
            self._more()

    def exact(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def values(self):
        """Read VALUE blocks up to END: {key: (flags, value, cas)}."""
        out = {}
        while True:
            h = self.line()
            if h == b"END":
                return out
            p = h.split(b" ")
            if p[0] != b"VALUE":
                raise ValueError("unexpected %r" % h[:100])
            data = self.exact(int(p[3]) + 2)
            if data[-2:] != b"\r\n":
                raise ValueError("value not followed by CRLF")
            out[p[1]] = (int(p[2]), data[:-2], int(p[4]) if len(p) > 4 else None)

    def close(self, reset=False):
        try:
            if reset:
                self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.s.close()
        except OSError:
            pass


def _value(rng, key, ver):
    r = rng.random()
    n = rng.randint(1, 200) if r < 0.6 else rng.randint(200, 8000) if r < 0.95 else \
        rng.randint(20000, 300000)
    head = b"%s:%d:" % (key, ver)
    body = bytes([rng.randrange(256)]) * max(0, n - len(head))
    return head + body


class Wrong(Exception):
    """An answer that breaks the protocol's rules (not a cache miss)."""


def _bin(op, key=b"", value=b"", extras=b"", opaque=0, cas=0):
    return BIN_HEAD.pack(0x80, op, len(key), len(extras), 0, 0,
                         len(extras) + len(key) + len(value), opaque, cas) + extras + key + value


BIN_HEAD = struct.Struct(">BBHBBHIIQ")
(B_GET, B_SET, B_DELETE, B_INCR, B_DECR, B_NOOP, B_GETK, B_APPEND, B_SETQ, B_GETKQ,
 B_TOUCH) = 0x00, 0x01, 0x04, 0x05, 0x06, 0x0a, 0x0c, 0x0e, 0x11, 0x0d, 0x1c


class TextClient(Conn):
    proto = "text"

    def set(self, k, flags, v, quiet=False):
        self.send(b"set %s %d 0 %d%s\r\n%s\r\n" % (k, flags, len(v), b" noreply" if quiet else b"", v))
        if not quiet and self.line() != b"STORED":
            raise Wrong("set %s" % k)

    def get_many(self, keys):
        self.send(b"get " + b" ".join(keys) + b"\r\n")
        return self.values()

    def gets(self, k):
        self.send(b"gets %s\r\n" % k)
        return self.values().get(k)

    def delete(self, k):
        self.send(b"delete %s\r\n" % k)
        return {b"DELETED": True, b"NOT_FOUND": False}[self.line()]

    def cas(self, k, flags, v, cas):
        self.send(b"cas %s %d 0 %d %d\r\n%s\r\n" % (k, flags, len(v), cas, v))
        return {b"STORED": "stored", b"EXISTS": "exists", b"NOT_FOUND": "not_found"}[self.line()]

    def append(self, k, a):
        self.send(b"append %s 0 0 %d\r\n%s\r\n" % (k, len(a), a))
        r = self.line()
        return "too_large" if r.startswith(b"SERVER_ERROR") else \
            {b"STORED": "stored", b"NOT_STORED": "not_stored"}[r]

    def incr(self, k, d, inc):
        self.send(b"%s %s %d\r\n" % (b"incr" if inc else b"decr", k, d))
        r = self.line()
        if r == b"NOT_FOUND":
            return None
        if not r.isdigit():
            raise Wrong("incr %s: %r" % (k, r))
        return int(r)

    def touch(self, k):
        self.send(b"touch %s 0\r\n" % k)
        return {b"TOUCHED": True, b"NOT_FOUND": False}[self.line()]

    def sync(self):
        self.send(b"version\r\n")
        if not self.line().startswith(b"VERSION "):
            raise Wrong("version")

    def cut_set(self, k, v, cut):
        self.send(b"set %s 0 0 %d\r\n%s" % (k, len(v), v[:cut]))


class MetaClient(Conn):
    """Meta commands; every request carries an opaque (O) that must come
    back on its answer, quiet ones (q) answer only when they fail."""
    proto = "meta"
    op = 0

    def _ask(self, line, data=None):
        self.op += 1
        self.send(b"%s O%d\r\n" % (line, self.op) + (b"%s\r\n" % data if data is not None else b""))
        return self._answer(self.op)

    def _answer(self, op):
        r = self.line().split(b" ")
        if r[-1] != b"O%d" % op:
            raise Wrong("meta opaque: %r for O%d" % (b" ".join(r)[:80], op))
        return r

    def set(self, k, flags, v, quiet=False):
        if quiet:
            self.send(b"ms %s %d F%d q\r\n%s\r\n" % (k, len(v), flags, v))
        elif self._ask(b"ms %s %d F%d" % (k, len(v), flags), v)[0] != b"HD":
            raise Wrong("ms %s" % k)

    def _va(self, r):
        data = self.exact(int(r[1]) + 2)
        if data[-2:] != b"\r\n":
            raise Wrong("mg: value not followed by CRLF")
        t = {x[:1]: x[1:] for x in r[2:]}
        return t, (int(t[b"f"]), data[:-2], int(t[b"c"]))

    def get_many(self, keys):
        """Quiet gets (misses say nothing) closed by mn."""
        base = self.op
        self.send(b"".join(b"mg %s v f c k q O%d\r\n" % (k, base + i + 1) for i, k in enumerate(keys))
                  + b"mn\r\n")
        self.op += len(keys)
        out = {}
        while True:
            r = self.line().split(b" ")
            if r == [b"MN"]:
                return out
            if r[0] != b"VA":
                raise Wrong("mg q: %r" % b" ".join(r)[:80])
            t, item = self._va(r)
            i = int(t[b"O"]) - base - 1
            if not 0 <= i < len(keys) or keys[i] != t[b"k"]:
                raise Wrong("mg q: answer for %r as O%s" % (t[b"k"], t[b"O"]))
            out[t[b"k"]] = item

    def gets(self, k):
        r = self._ask(b"mg %s v f c" % k)
        if r[0] == b"EN":
            return None
        if r[0] != b"VA":
            raise Wrong("mg: %r" % r)
        return self._va(r)[1]

    def delete(self, k):
        return {b"HD": True, b"NF": False}[self._ask(b"md %s" % k)[0]]

    def cas(self, k, flags, v, cas):
        r = self._ask(b"ms %s %d F%d C%d" % (k, len(v), flags, cas), v)[0]
        return {b"HD": "stored", b"EX": "exists", b"NF": "not_found"}[r]

    def append(self, k, a):
        r = self._ask(b"ms %s %d MA" % (k, len(a)), a)[0]
        return "too_large" if r == b"SERVER_ERROR" else {b"HD": "stored", b"NS": "not_stored"}[r]

    def incr(self, k, d, inc):
        r = self._ask(b"ma %s D%d M%s v" % (k, d, b"I" if inc else b"D"))
        if r[0] == b"NF":
            return None
        if r[0] != b"VA":
            raise Wrong("ma %s: %r" % (k, r))
        return int(self.exact(int(r[1]) + 2)[:-2])

    def touch(self, k):
        return {b"HD": True, b"EN": False}[self._ask(b"mg %s T0" % k)[0]]

    def sync(self):
        self.send(b"mn\r\n")
        if self.line() != b"MN":
            raise Wrong("mn")

    def cut_set(self, k, v, cut):
        self.send(b"ms %s %d\r\n%s" % (k, len(v), v[:cut]))


class BinClient(Conn):
    """The binary protocol: each answer's magic, opcode and opaque checked;
    quiet stores answer only on failure, quiet gets only on a hit."""
    proto = "binary"
    op = 0

    def _send(self, opcode, key=b"", value=b"", extras=b"", cas=0):
        self.op += 1
        self.send(_bin(opcode, key, value, extras, self.op, cas))
        return self.op

    def _recv(self):
        h = BIN_HEAD.unpack(self.exact(24))
        body = self.exact(h[6])
        if h[0] != 0x81:
            raise Wrong("binary magic %#x" % h[0])
        return h, body

    def _ask(self, opcode, key=b"", value=b"", extras=b"", cas=0):
        op = self._send(opcode, key, value, extras, cas)
        h, body = self._recv()
        if h[1] != opcode or h[7] != op:
            raise Wrong("binary answer op %#x opaque %d for %#x/%d" % (h[1], h[7], opcode, op))
        return h[5], h, body

    def set(self, k, flags, v, quiet=False):
        ext = struct.pack(">II", flags, 0)
        if quiet:
            self._send(B_SETQ, k, v, ext)
        elif self._ask(B_SET, k, v, ext)[0] != 0:
            raise Wrong("set %s" % k)

    def get_many(self, keys):
        first = self.op + 1
        for k in keys:
            self._send(B_GETKQ, k)
        end = self._send(B_NOOP)
        out = {}
        while True:
            h, body = self._recv()
            if h[1] == B_NOOP and h[7] == end:
                return out
            i = h[7] - first
            if h[1] != B_GETKQ or h[5] != 0 or not 0 <= i < len(keys):
                raise Wrong("getkq: op %#x status %d opaque %d" % (h[1], h[5], h[7]))
            k = body[h[3]:h[3] + h[2]]
            if k != keys[i]:
                raise Wrong("getkq: key %r for %r" % (k, keys[i]))
            out[k] = (struct.unpack(">I", body[:4])[0], body[h[3] + h[2]:], h[8])

    def gets(self, k):
        st, h, body = self._ask(B_GET, k)
        if st == 1:
            return None
        if st != 0:
            raise Wrong("get status %d" % st)
        return struct.unpack(">I", body[:4])[0], body[4:], h[8]

    def delete(self, k):
        return {0: True, 1: False}[self._ask(B_DELETE, k)[0]]

    def cas(self, k, flags, v, cas):
        st = self._ask(B_SET, k, v, struct.pack(">II", flags, 0), cas)[0]
        return {0: "stored", 2: "exists", 1: "not_found"}[st]

    def append(self, k, a):
        return {0: "stored", 5: "not_stored", 3: "too_large"}[self._ask(B_APPEND, k, a)[0]]

    def incr(self, k, d, inc):
        ext = struct.pack(">QQI", d, 0, 0xffffffff)  # no initial value: a miss stays one
        st, h, body = self._ask(B_INCR if inc else B_DECR, k, extras=ext)
        if st == 1:
            return None
        if st != 0 or len(body) != 8:
            raise Wrong("incr status %d" % st)
        return struct.unpack(">Q", body)[0]

    def touch(self, k):
        return {0: True, 1: False}[self._ask(B_TOUCH, k, extras=struct.pack(">I", 0))[0]]

    def sync(self):
        self._ask(B_NOOP)

    def cut_set(self, k, v, cut):
        self.send(_bin(B_SET, k, v, struct.pack(">II", 0, 0))[:24 + 8 + len(k) + cut])


class HttpClient(Conn):
    """The HTTP front: PUT, GET (pipelined for several keys), DELETE, and
    If-Match with the ETag (the CAS) for a conditional PUT. Every answer's
    head is checked (status line, Content-Length that frames its body)."""
    proto = "http"

    def _req(self, method, k, body=b"", extra=b""):
        path = b"/k/" + k.replace(b":", b"%3A")
        return (b"%s %s HTTP/1.1\r\nHost: soak\r\n%sContent-Length: %d\r\n\r\n%s"
                % (method, path, extra, len(body), body)) if method == b"PUT" else \
            b"%s %s HTTP/1.1\r\nHost: soak\r\n\r\n" % (method, path)

    def _answer(self):
        status = self.line()
        if not status.startswith(b"HTTP/1.1 "):
            raise Wrong("http status line %r" % status[:80])
        h = {}
        while True:
            ln = self.line()
            if not ln:
                break
            name, _, v = ln.partition(b":")
            h[name.lower()] = v.strip()
        return int(status.split()[1]), h, self.exact(int(h[b"content-length"]))

    def _item(self, h, body):
        return int(h[b"memg-flags"]), body, int(h[b"etag"].strip(b'"'))

    def set(self, k, flags, v, quiet=False):
        self.send(self._req(b"PUT", k + b"?flags=%d" % flags, v))
        if self._answer()[0] != 204:
            raise Wrong("PUT %s" % k)

    def get_many(self, keys):
        self.send(b"".join(self._req(b"GET", k) for k in keys))
        out = {}
        for k in keys:
            st, h, body = self._answer()
            if st == 200:
                out[k] = self._item(h, body)
            elif st != 404:
                raise Wrong("GET %s: %d" % (k, st))
        return out

    def gets(self, k):
        return self.get_many([k]).get(k)

    def delete(self, k):
        self.send(self._req(b"DELETE", k))
        return {204: True, 404: False}[self._answer()[0]]

    def cas(self, k, flags, v, cas):
        self.send(self._req(b"PUT", k + b"?flags=%d" % flags, v, b'If-Match: "%d"\r\n' % cas))
        return {204: "stored", 412: "gone"}[self._answer()[0]]

    def _unsupported(self, *args):
        raise NotImplementedError

    append = incr = touch = _unsupported

    def sync(self):
        self.send(b"GET /healthz HTTP/1.1\r\nHost: soak\r\n\r\n")
        if self._answer()[2] != b"ok\n":
            raise Wrong("healthz")

    def cut_set(self, k, v, cut):
        self.send(self._req(b"PUT", k, v)[:-len(v) + cut if cut < len(v) else None])


CLIENTS = {c.proto: c for c in (TextClient, MetaClient, BinClient, HttpClient)}


def worker(wid, proto, ports, seconds, seed, q):
    """Valid traffic over one protocol on keys w<wid>:*, each answer
    checked against the model; one get in twenty also read over the text
    protocol (the same item, whichever protocol stored it)."""
    rng = random.Random(seed)
    model = {}  # key -> (flags, value), None (known absent); missing: unknown
    nums = {}   # numeric keys -> int
    make = CLIENTS[proto]
    c = make(ports[proto])
    peek = TextClient(ports["text"]) if proto != "text" else c
    st = {"ops": 0, "wrong": 0, "misses": 0, "reconnects": 0, "cut_sets": 0,
          "ops_" + proto: 0, "errors": []}

    def wrong(msg):
        st["wrong"] += 1
        if len(st["errors"]) < 20:
            st["errors"].append("%s: %s" % (proto, msg))

    def missed(k):
        if model.get(k) is not None:
            st["misses"] += 1  # evicted: allowed
        model[k] = None

    def check_get(keys, via=None):
        got = (via or c).get_many(keys)
        for k in got:
            if k not in keys:
                wrong("get: key %r not asked for" % k)
        for k in keys:
            if k in got:
                fl, v, _ = got[k]
                if k not in model:  # state unknown (after eviction): must be ours
                    if not v.startswith(k + b":") and not v.startswith(b"+"):
                        wrong("get %s: foreign value %r" % (k, v[:40]))
                    model[k] = (fl, v)
                elif model[k] is None or (fl, v) != model[k]:
                    wrong("get %s: got %r want %r" % (k, v[:40], model[k] and model[k][1][:40]))
            else:
                missed(k)

    def op_set(k, ver, prev_unsynced):
        flags = rng.randrange(1 << 32)
        v = _value(rng, k, ver)
        quiet = proto != "http" and rng.random() < 0.1
        c.set(k, flags, v, quiet)
        model[k] = (flags, v)
        return quiet

    def found(what, k, hit):
        """A delete's or touch's answer: a hit on a key known absent is wrong."""
        if not hit:
            missed(k)
        elif k in model and model[k] is None:
            wrong("%s %s: found but absent" % (what, k))

    def op_delete(k):
        found("delete", k, c.delete(k))
        model[k] = None

    def op_cas(k, ver):
        got = c.gets(k)
        if got is None:
            return missed(k)
        if k in model and got[:2] != model[k]:
            wrong("gets %s: got %r want %r" % (k, got[1][:40], model[k] and model[k][1][:40]))
        v = _value(rng, k, ver)
        r = c.cas(k, 5, v, got[2])
        if r == "stored":
            model[k] = (5, v)
        elif r == "not_found":  # evicted in between
            missed(k)
        elif r == "gone":  # HTTP's 412: evicted, or changed (not by another: the keys are ours)
            st["misses"] += model.get(k) is not None
            model.pop(k, None)
        else:
            wrong("cas %s: %r" % (k, r))

    def op_append(k, ver):
        a = b"+%d" % ver
        r = c.append(k, a)
        cur = model.get(k)
        if r == "stored":
            if cur is not None:
                model[k] = (cur[0], cur[1] + a)
            elif k in model:
                wrong("append %s: STORED on an absent key" % k)
        elif r == "not_stored":
            missed(k)

    def op_incr():
        nk = b"w%d:n%d" % (wid, rng.randrange(20))
        if nk not in nums:
            start = rng.randrange(1 << 40)
            c.set(nk, 0, b"%d" % start)
            nums[nk] = start
        d = rng.randrange(1 << 20)
        inc = rng.random() < 0.6
        r = c.incr(nk, d, inc)
        if r is None:
            st["misses"] += 1
            del nums[nk]
            return
        want = (nums[nk] + d) % (1 << 64) if inc else max(0, nums[nk] - d)
        if r != want:
            wrong("%s %s: %r want %d" % ("incr" if inc else "decr", nk, r, want))
        nums[nk] = want

    def op_touch(k):
        found("touch", k, c.touch(k))

    end = time.monotonic() + seconds
    unsynced = False
    ver = 0
    nkeys = 400
    while time.monotonic() < end:
        st["ops"] += 1
        st["ops_" + proto] += 1
        ver += 1
        prev_unsynced, unsynced = unsynced, False
        k = b"w%d:%d" % (wid, rng.randrange(nkeys))
        op = rng.random()
        try:
            try:
                if op < 0.30:
                    unsynced = op_set(k, ver, prev_unsynced)
                elif op < 0.55:
                    check_get([k], peek if rng.random() < 0.05 else None)
                elif op < 0.62:
                    check_get(list({b"w%d:%d" % (wid, rng.randrange(nkeys))
                                    for _ in range(rng.randint(2, 20))}))
                elif op < 0.67:
                    op_delete(k)
                elif op < 0.74:
                    op_cas(k, ver)
                elif op < 0.80:
                    op_append(k, ver)
                elif op < 0.88:
                    op_incr()
                elif op < 0.90:  # a set cut mid-way, then gone: nothing changes
                    if prev_unsynced:
                        c.sync()
                    v = _value(rng, k, ver)
                    c.cut_set(k, v, rng.randrange(len(v)) if len(v) > 1 else 0)
                    c.close(reset=rng.random() < 0.5)
                    c = make(ports[proto])
                    st["cut_sets"] += 1
                    check_get([k])
                elif op < 0.92:  # random disconnect between requests
                    if prev_unsynced:
                        c.sync()
                    c.close(reset=rng.random() < 0.5)
                    c = make(ports[proto])
                    st["reconnects"] += 1
                elif op < 0.97:
                    op_touch(k)
                else:
                    c.sync()
            except NotImplementedError:  # not in this protocol (HTTP: no append, incr, touch)
                check_get([k])
        except (EOFError, OSError, ValueError, KeyError, Wrong) as e:
            wrong("%s on %s: %r" % (type(e).__name__, k, e))
            c.close()
            try:
                c = make(ports[proto])
                if proto == "text":
                    peek = c
            except OSError:
                break
        if proto == "text":
            peek = c
    c.close()
    q.put(("worker", st))


MALFORMED = [
    (b"set k 0 0 -1\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"set k 0 0 abc\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"set k 0 0 18446744073709551616\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"get " + b"k" * 251 + b"\r\n", b"CLIENT_ERROR bad command line format\r\n\r\n"),  # 1.6.45 ends it twice
    (b"incr k -1\r\n", b"CLIENT_ERROR invalid numeric delta argument\r\n"),
    (b"bogus command\r\n", b"ERROR\r\n"),
    (b"\x00\xff\xfe\r\n", b"ERROR\r\n"),
    (b"touch k x\r\n", b"CLIENT_ERROR invalid exptime argument\r\n"),
    (b"set chaos 0 0 3\r\nabcde\r\n", b"CLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line format\r\n"),
    (b"set chaos 0 0 2000000\r\n" + b"z" * 2000000 + b"\r\n",
     b"SERVER_ERROR object too large for cache\r\n"),
]


def _one_get(proto, k):
    """A single read of k over proto, as bytes, and the answer that closes a
    batch of them (its sentinel request and reply)."""
    if proto == "text":
        return b"get %s\r\n" % k
    if proto == "meta":
        return b"mg %s v f\r\n" % k
    if proto == "binary":
        return _bin(B_GETK, k)
    return b"GET /k/%s HTTP/1.1\r\nHost: soak\r\n\r\n" % k


def _exchange(port, data, half_close=False, timeout=20):
    """Send data (then shutdown(SHUT_WR) when asked) and read until the
    close or, without half_close, until nothing comes for 0.3 s."""
    s = socket.create_connection((HOST, port), timeout=timeout if half_close else 0.3)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        got = []
        while True:
            try:
                d = s.recv(1 << 20)
            except socket.timeout:
                if half_close:
                    raise
                break
            if not d:
                break
            got.append(d)
        return b"".join(got)
    finally:
        s.close()


def half_close_check(proto, port, rng, cid):
    """A batch of reads of one item, then a half-close: every answer must
    come (hits, or misses if it was evicted meanwhile), then the close."""
    k = b"chaos:hc%d:%s" % (cid, proto.encode())
    v = bytes([rng.randrange(97, 123)]) * rng.randint(1, 40000)
    c = CLIENTS[proto](port)
    c.set(k, 0, v)
    c.close()
    hit = len(_exchange(port, _one_get(proto, k)))
    miss = len(_exchange(port, _one_get(proto, k + b":never")))
    if proto == "binary":  # a miss names the key: as long as k's, not k:never's
        miss -= len(b":never")
    n = rng.randint(50, 400)
    got = len(_exchange(port, _one_get(proto, k) * n, half_close=True))
    hits = (got - n * miss) // (hit - miss) if hit != miss else n
    return 0 <= hits <= n and hits * hit + (n - hits) * miss == got, (proto, n, hit, miss, got)


# Per protocol: a request and the start of its exact answer (the rest may
# vary), and whether the connection is then closed.
MALFORMED_OTHER = [
    ("meta", b"mg k v zz\r\n", b"CLIENT_ERROR invalid flag\r\n", False),
    ("meta", b"ms k abc\r\n", b"CLIENT_ERROR bad command line format\r\n", False),
    ("binary", _bin(B_GET), b"\x81\x00\x00\x00\x00\x00\x00\x04", True),  # no key
    ("http", b"GET /k/%zz HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n", True),
    ("http", b"PATCH /k/a HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 405 Method Not Allowed\r\n",
     False),
    ("http", b"GET /k/a HTTP/2.0\r\nHost: x\r\n\r\n", b"HTTP/1.1 505 ", True),
]


def chaos(cid, ports, seconds, seed, q):
    rng = random.Random(seed)
    st = {"malformed": 0, "malformed_wrong": 0, "garbage": 0, "resets": 0, "hogs": 0,
          "cut_values": 0, "half_closes": 0, "half_close_wrong": 0, "errors": []}
    end = time.monotonic() + seconds
    big = b"h" * 400000
    port = ports["text"]

    def fail(kind, msg):
        st[kind] += 1
        if len(st["errors"]) < 10:
            st["errors"].append(msg)

    try:
        c = Conn(port)
        c.send(b"set chaos:big 0 0 %d\r\n%s\r\n" % (len(big), big))
        c.line()
        c.close()
    except OSError:
        pass
    while time.monotonic() < end:
        r = rng.random()
        proto = rng.choice(list(ports))
        pp = ports[proto]
        try:
            if r < 0.25:
                sent, want = rng.choice(MALFORMED)
                c = Conn(port)
                c.send(sent)
                got = c.exact(len(want))
                st["malformed"] += 1
                if got != want:
                    fail("malformed_wrong", "%r -> %r" % (sent[:40], got[:80]))
                c.close()
            elif r < 0.4:  # another protocol's malformed request: its exact error
                mproto, sent, want, closes = rng.choice(MALFORMED_OTHER)
                got = _exchange(ports[mproto], sent)
                st["malformed"] += 1
                if not got.startswith(want):
                    fail("malformed_wrong", "%s %r -> %r" % (mproto, sent[:40], got[:80]))
            elif r < 0.5:  # garbage, then gone
                c = Conn(pp)
                c.send(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000))))
                time.sleep(0.005)
                c.close(reset=rng.random() < 0.5)
                st["garbage"] += 1
            elif r < 0.62:  # replies pending, then reset
                c = Conn(pp)
                c.send(_one_get(proto, b"chaos:big") * rng.randint(1, 15))
                time.sleep(0.005)
                c.close(reset=True)
                st["resets"] += 1
            elif r < 0.7:  # pipelines and never reads, for a while
                c = Conn(pp)
                c.s.setblocking(False)
                try:
                    c.s.send(_one_get(proto, b"chaos:big") * 500)
                except BlockingIOError:
                    pass
                time.sleep(0.3)
                c.close(reset=rng.random() < 0.5)
                st["hogs"] += 1
            elif r < 0.82:  # a half-close after a batch: every answer, then the close
                ok, what = half_close_check(proto, pp, rng, cid)
                st["half_closes"] += 1
                if not ok:
                    fail("half_close_wrong", "half-close %r" % (what,))
            else:  # a value on a worker key cut mid-way (must change nothing)
                c = CLIENTS[proto](pp)
                k = b"w%d:%d" % (rng.randrange(4), rng.randrange(400))
                v = b"X" * rng.randint(10, 200000)
                c.cut_set(k, v, rng.randrange(len(v)))
                c.close(reset=rng.random() < 0.5)
                st["cut_values"] += 1
        except (OSError, EOFError, Wrong) as e:
            if len(st["errors"]) < 10:
                st["errors"].append("%s: %r" % (proto, e))
    q.put(("chaos", st))


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "san", "memg"))
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=4, help="protocols in turn")
    ap.add_argument("--protocols", default="text,meta,binary,http")
    ap.add_argument("--chaos", type=int, default=2)
    ap.add_argument("--mem", default="16", help="-m; >= 128: no eviction, so a miss is wrong")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()

    port = _free_port()
    log_path = "/tmp/memg-soak-%d.log" % port
    log = open(log_path, "wb")
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "quarantine_size_mb=16:malloc_context_size=8:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    http_port = _free_port()
    proc = subprocess.Popen([a.bin, "-p", str(port), "-l", HOST, "-U", "0"]
                            + (["-u", "root"] if os.geteuid() == 0 else []) + ["-m", a.mem,
                             "-c", "4096", "-o", "http_port=%d" % http_port],
                            stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            socket.create_connection((HOST, http_port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                print("memg did not start")
                return 1
            time.sleep(0.05)

    # text, meta and binary share memg's port (-B auto: a first byte of 0x80 is binary)
    ports = {"text": port, "meta": port, "binary": port, "http": http_port}
    protos = [p for p in a.protocols.split(",") if p]
    q = mp.Queue()
    procs = [mp.Process(target=worker, args=(i, protos[i % len(protos)], ports, a.seconds,
                                             a.seed * 100 + i, q))
             for i in range(a.workers)]
    procs += [mp.Process(target=chaos, args=(i, {p: ports[p] for p in protos}, a.seconds,
                                             a.seed * 100 + 50 + i, q))
              for i in range(a.chaos)]
    for p in procs:
        p.start()
    rss = []
    t0 = time.monotonic()
    while any(p.is_alive() for p in procs) and time.monotonic() - t0 < a.seconds + 60:
        rss.append((round(time.monotonic() - t0, 1), rss_kb(proc.pid)))
        if proc.poll() is not None:
            break
        time.sleep(2)
    results = []
    while len(results) < len(procs):
        try:
            results.append(q.get(timeout=5))
        except Exception:
            break
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()

    alive = proc.poll() is None
    exit_code = None
    if alive:
        proc.send_signal(signal.SIGTERM)
        try:
            exit_code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            exit_code = "hung"
    else:
        exit_code = proc.returncode
    log.close()
    text = open(log_path, "rb").read().decode("utf-8", "replace")
    san = [l for l in text.splitlines() if "Sanitizer" in l or "runtime error" in l]

    tot = {}
    for kind, st in results:
        for k, v in st.items():
            if k == "errors":
                tot.setdefault("errors", []).extend(v)
            else:
                tot[k] = tot.get(k, 0) + v
    warm = [r for t, r in rss if t >= a.seconds * 0.25]
    summary = {
        "seed": a.seed, "seconds": a.seconds, "binary": a.bin,
        "server_alive_at_end": alive, "exit_code": exit_code, "sanitizer_lines": san[:10],
        "rss_kb_series": rss, "rss_after_warmup_kb": (min(warm), max(warm)) if warm else None,
        "rss_growth_after_warmup_kb": (warm[-1] - warm[0]) if len(warm) > 1 else None,
        "reports": len(results),
    }
    summary.update(tot)
    print(json.dumps(summary, indent=1, default=str))
    ok = (alive and exit_code == 0 and not san and tot.get("wrong", 1) == 0
          and tot.get("malformed_wrong", 0) == 0 and tot.get("half_close_wrong", 0) == 0
          and len(results) == len(procs)
          and (summary["rss_growth_after_warmup_kb"] or 0) < 16 * 1024
          and (int(a.mem) < 128 or tot.get("misses", 0) == 0))  # no eviction: no miss
    print("SOAK %s (log %s)" % ("OK" if ok else "FAILED", log_path))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
