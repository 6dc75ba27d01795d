"""A small raw client for memcached's binary protocol, for the e2e tests.

Requests are plain bytes built by pack() (any header field can be forced to
a wrong value to build malformed packets) or by the helpers below it.
Responses are read by their 24-byte header into Response objects. Every
socket operation carries a timeout and every read loop has a deadline, so a
server that answers nothing or too little never hangs a test. Only the
address the caller gives (the fixtures' 127.0.0.1 ports) is contacted.

Header layout (memcached's protocol_binary.h), all integers big-endian:
  magic(1) opcode(1) keylen(2) extlen(1) datatype(1) vbucket|status(2)
  bodylen(4) opaque(4) cas(8), then extras, key, value.
"""
import hashlib
import socket
import struct
import time

from mcraw import Raw

REQ_MAGIC = 0x80
RES_MAGIC = 0x81
HEADER = struct.Struct(">BBHBBHIIQ")
HEADER_LEN = HEADER.size  # 24

# opcodes (protocol_binary.h)
OP_GET = 0x00
OP_SET = 0x01
OP_ADD = 0x02
OP_REPLACE = 0x03
OP_DELETE = 0x04
OP_INCREMENT = 0x05
OP_DECREMENT = 0x06
OP_QUIT = 0x07
OP_FLUSH = 0x08
OP_GETQ = 0x09
OP_NOOP = 0x0a
OP_VERSION = 0x0b
OP_GETK = 0x0c
OP_GETKQ = 0x0d
OP_APPEND = 0x0e
OP_PREPEND = 0x0f
OP_STAT = 0x10
OP_SETQ = 0x11
OP_ADDQ = 0x12
OP_REPLACEQ = 0x13
OP_DELETEQ = 0x14
OP_INCREMENTQ = 0x15
OP_DECREMENTQ = 0x16
OP_QUITQ = 0x17
OP_FLUSHQ = 0x18
OP_APPENDQ = 0x19
OP_PREPENDQ = 0x1a
OP_VERBOSITY = 0x1b
OP_TOUCH = 0x1c
OP_GAT = 0x1d
OP_GATQ = 0x1e
OP_SASL_LIST_MECHS = 0x20
OP_SASL_AUTH = 0x21
OP_SASL_STEP = 0x22
OP_GATK = 0x23
OP_GATKQ = 0x24

OPCODES = {name[3:]: code for name, code in globals().items() if name.startswith("OP_")}
OPNAMES = {v: k for k, v in OPCODES.items()}

STATUS = {
    0x00: "OK", 0x01: "KEY_ENOENT", 0x02: "KEY_EEXISTS", 0x03: "E2BIG",
    0x04: "EINVAL", 0x05: "NOT_STORED", 0x06: "DELTA_BADVAL",
    0x07: "NOT_MY_VBUCKET", 0x20: "AUTH_ERROR", 0x21: "AUTH_CONTINUE",
    0x81: "UNKNOWN_COMMAND", 0x82: "ENOMEM",
}


class Timeout(AssertionError):
    pass


def pack(opcode, key=b"", value=b"", extras=b"", opaque=0, cas=0, datatype=0,
         vbucket=0, magic=REQ_MAGIC, keylen=None, extlen=None, bodylen=None):
    """One request. keylen/extlen/bodylen override the computed header fields
    (for malformed requests); the bytes sent are always extras+key+value."""
    if keylen is None:
        keylen = len(key)
    if extlen is None:
        extlen = len(extras)
    if bodylen is None:
        bodylen = len(extras) + len(key) + len(value)
    return HEADER.pack(magic, opcode, keylen, extlen, datatype, vbucket, bodylen,
                       opaque, cas) + extras + key + value


# --- extras --------------------------------------------------------------

def ext_store(flags=0, exptime=0):
    """set/add/replace: flags(4) expiration(4)."""
    return struct.pack(">II", flags, exptime)


def ext_delta(delta=1, initial=0, exptime=0):
    """incr/decr: delta(8) initial(8) expiration(4)."""
    return struct.pack(">QQI", delta, initial, exptime)


def ext_exptime(exptime=0):
    """touch/gat/flush: expiration(4); verbosity: level(4)."""
    return struct.pack(">I", exptime)


# --- request helpers -----------------------------------------------------

def _op(op):
    return OPCODES[op.upper()] if isinstance(op, str) else op


def get(key, opaque=0, op="GET", **kw):
    """GET, GETQ, GETK or GETKQ."""
    return pack(_op(op), key=key, opaque=opaque, **kw)


def store(op, key, value, flags=0, exptime=0, cas=0, opaque=0, **kw):
    """SET/ADD/REPLACE and their quiet forms."""
    return pack(_op(op), key=key, value=value, extras=ext_store(flags, exptime),
                cas=cas, opaque=opaque, **kw)


def set_(key, value, flags=0, exptime=0, cas=0, opaque=0, quiet=False):
    return store("SETQ" if quiet else "SET", key, value, flags, exptime, cas, opaque)


def concat(op, key, value, cas=0, opaque=0, **kw):
    """APPEND/PREPEND and their quiet forms (no extras)."""
    return pack(_op(op), key=key, value=value, cas=cas, opaque=opaque, **kw)


def delete(key, cas=0, opaque=0, quiet=False, **kw):
    return pack(OP_DELETEQ if quiet else OP_DELETE, key=key, cas=cas, opaque=opaque, **kw)


def delta(op, key, by=1, initial=0, exptime=0, cas=0, opaque=0, **kw):
    """INCREMENT/DECREMENT and their quiet forms."""
    return pack(_op(op), key=key, extras=ext_delta(by, initial, exptime), cas=cas,
                opaque=opaque, **kw)


def touch(op, key, exptime=0, opaque=0, **kw):
    """TOUCH, GAT, GATQ, GATK, GATKQ."""
    return pack(_op(op), key=key, extras=ext_exptime(exptime), opaque=opaque, **kw)


def flush(delay=None, opaque=0, quiet=False, **kw):
    extras = b"" if delay is None else ext_exptime(delay)
    return pack(OP_FLUSHQ if quiet else OP_FLUSH, extras=extras, opaque=opaque, **kw)


def noop(opaque=0):
    return pack(OP_NOOP, opaque=opaque)


def version(opaque=0):
    return pack(OP_VERSION, opaque=opaque)


def quit(opaque=0, quiet=False):  # noqa: A001 - the protocol's name
    return pack(OP_QUITQ if quiet else OP_QUIT, opaque=opaque)


def stat(group=b"", opaque=0):
    return pack(OP_STAT, key=group, opaque=opaque)


def verbosity(level=0, opaque=0):
    return pack(OP_VERBOSITY, extras=ext_exptime(level), opaque=opaque)


def sasl_list(opaque=0):
    return pack(OP_SASL_LIST_MECHS, opaque=opaque)


def sasl_auth(mech=b"PLAIN", data=b"", opaque=0, step=False):
    return pack(OP_SASL_STEP if step else OP_SASL_AUTH, key=mech, value=data, opaque=opaque)


def plain(user, password, authzid=b""):
    """The PLAIN mechanism's message: authzid NUL user NUL password."""
    return authzid + b"\0" + user + b"\0" + password


# --- responses -----------------------------------------------------------

class Response:
    __slots__ = ("magic", "opcode", "keylen", "extlen", "datatype", "status",
                 "bodylen", "opaque", "cas", "extras", "key", "value")

    def __init__(self, header, body):
        (self.magic, self.opcode, self.keylen, self.extlen, self.datatype,
         self.status, self.bodylen, self.opaque, self.cas) = HEADER.unpack(header)
        self.extras = body[:self.extlen]
        self.key = body[self.extlen:self.extlen + self.keylen]
        self.value = body[self.extlen + self.keylen:]

    @property
    def opname(self):
        return OPNAMES.get(self.opcode, "0x%02x" % self.opcode)

    @property
    def status_name(self):
        return STATUS.get(self.status, "0x%04x" % self.status)

    @property
    def flags(self):
        return struct.unpack(">I", self.extras)[0] if self.extlen == 4 else None

    @property
    def number(self):
        """The 8-byte counter of an incr/decr reply."""
        return struct.unpack(">Q", self.value)[0] if len(self.value) == 8 else None

    def describe(self, cas=None):
        """A one-line readable form; cas replaces the raw CAS when given."""
        parts = ["%s %s opaque=0x%x cas=%s" % (
            self.opname, self.status_name, self.opaque,
            self.cas if cas is None else cas)]
        if self.magic != RES_MAGIC:
            parts.append("magic=0x%02x" % self.magic)
        if self.datatype:
            parts.append("datatype=0x%02x" % self.datatype)
        if self.extras:
            parts.append("extras=%s" % self.extras.hex())
        if self.key:
            parts.append("key=" + _short(self.key))
        if self.value:
            parts.append("value=" + _short(self.value))
        return " ".join(parts)

    __repr__ = describe


def _short(b, limit=80):
    """repr of b; beyond `limit` bytes a prefix, the length and a digest (so
    that comparing two descriptions still compares the whole bytes)."""
    if len(b) <= limit:
        return repr(b)
    return "%r...(%d bytes, sha1 %s)" % (b[:40], len(b), hashlib.sha1(b).hexdigest()[:16])


def parse(buf):
    """(complete responses in buf, the remaining bytes)."""
    out, i = [], 0
    while len(buf) - i >= HEADER_LEN:
        bodylen = struct.unpack_from(">I", buf, i + 8)[0]
        end = i + HEADER_LEN + bodylen
        if len(buf) < end:
            break
        out.append(Response(buf[i:i + HEADER_LEN], buf[i + HEADER_LEN:end]))
        i = end
    return out, buf[i:]


class Conn(Raw):
    """One TCP connection speaking the binary protocol (mcraw.Raw's socket)."""

    def __init__(self, host, port=None, timeout=5.0):
        if port is None:
            host, port = host
        super().__init__(host, port, timeout)
        self.eof = False

    def send(self, data):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def _recv(self, wait):
        """More bytes into self.buf; False on timeout; sets eof on EOF/reset."""
        if self.eof:
            return False
        self.sock.settimeout(max(wait, 0.001))
        try:
            d = self.sock.recv(1 << 20)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def _take(self):
        rs, self.buf = parse(self.buf)
        return rs

    def recv_response(self, timeout=None):
        """The next whole response; None on EOF; raises Timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            rs, rest = parse(self.buf)
            if rs:
                r = rs[0]
                n = HEADER_LEN + r.bodylen
                self.buf = self.buf[n:]
                return r
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no whole response within %.1f s; have %r"
                              % (timeout or self.timeout, self.buf[:100]))
            self._recv(left)

    def read_until(self, stop, timeout=None):
        """Responses up to and including the first one for which stop(r) is
        true, or up to EOF. Returns (responses, stopped); raises Timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out = []
        while True:
            for r in self._take():
                out.append(r)
                if stop(r):
                    return out, True
            if self.eof:
                return out, False
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("stop response not seen within %.1f s; got %r, pending %r"
                              % (timeout or self.timeout, out, self.buf[:100]))
            self._recv(left)

    def read_until_noop(self, opaque, timeout=None, opcode=OP_NOOP):
        """Everything up to the NOOP reply carrying this opaque (the usual end
        of a quiet pipeline) or EOF: (responses without the noop, closed).
        opcode=OP_VERSION waits for a VERSION reply instead (VERSION is the
        one request a SASL server answers before authentication)."""
        out, stopped = self.read_until(
            lambda r: r.opcode == opcode and r.opaque == opaque, timeout)
        if stopped:
            return out[:-1], False
        return out, True

    def pipeline(self, data, sentinel=0xFEEDF00D, timeout=None, opcode=OP_NOOP):
        """Send data then a NOOP (or VERSION) with opaque `sentinel`; every
        response before its reply. Returns (responses, closed)."""
        self.send(data + pack(opcode, opaque=sentinel))
        return self.read_until_noop(sentinel, timeout, opcode)

    def drain(self, quiet=0.2, timeout=None):
        """Responses until the connection stays quiet `quiet` s or closes:
        (responses, trailing partial bytes, closed)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof and time.monotonic() < deadline:
            if not self._recv(min(quiet, deadline - time.monotonic())):
                break
        rs = self._take()
        return rs, self.buf, self.eof

    def wait_closed(self, timeout=2.0):
        """True once the server closed the connection (bytes before the EOF
        stay in self.buf)."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._recv(deadline - time.monotonic())
        return self.eof

    def cmd(self, data, timeout=None):
        """Send one request that answers exactly once; its response."""
        self.send(data)
        r = self.recv_response(timeout)
        if r is None:
            raise EOFError("connection closed; pending %r" % self.buf[:100])
        return r
