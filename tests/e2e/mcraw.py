"""A tiny raw memcached text-protocol client for the e2e tests.

Every call is bounded in time: sockets carry timeouts and every read loop has
a deadline. Only 127.0.0.1 is ever contacted (the fixtures pick the port).
"""
import socket
import time

TERMINAL_LINES = (
    b"END", b"STORED", b"NOT_STORED", b"EXISTS", b"NOT_FOUND", b"DELETED",
    b"TOUCHED", b"OK", b"RESET", b"ERROR",
)


def parse_stats(text):
    """A `stats` reply's STAT lines as a dict of str."""
    out = {}
    for line in text.split(b"\r\n"):
        parts = line.split(b" ", 2)
        if len(parts) == 3 and parts[0] == b"STAT":
            out[parts[1].decode()] = parts[2].decode()
    return out


class Timeout(AssertionError):
    pass


class Raw:
    """One TCP connection: send bytes, read until a terminator, with timeouts."""

    def __init__(self, host, port, timeout=5.0, unix_path=None):
        self.host, self.port, self.timeout = host, port, timeout
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(timeout)
            self.sock.connect(unix_path)
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout("timed out; have %r" % self.buf[:200])
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(1 << 20)
        except socket.timeout:
            raise Timeout("timed out; have %r" % self.buf[:200]) from None
        return d

    def read_until(self, term, timeout=None):
        """Bytes up to and including the first occurrence of term."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            i = self.buf.find(term)
            if i >= 0:
                out, self.buf = self.buf[: i + len(term)], self.buf[i + len(term):]
                return out
            d = self._fill(deadline)
            if not d:
                raise EOFError("connection closed; have %r" % self.buf[:200])
            self.buf += d

    def read_exact(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            d = self._fill(deadline)
            if not d:
                raise EOFError("connection closed after %d of %d bytes" % (len(self.buf), n))
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self, timeout=None):
        return self.read_until(b"\r\n", timeout)

    def read_quiet(self, quiet=0.15, timeout=None):
        """Everything that arrives until the connection is quiet for `quiet` s."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out, self.buf = self.buf, b""
        while time.monotonic() < deadline:
            self.sock.settimeout(quiet)
            try:
                d = self.sock.recv(1 << 20)
            except socket.timeout:
                break
            if not d:
                break
            out += d
        return out

    def is_closed(self, timeout=2.0):
        """True when the server closed the connection (EOF or reset)."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def read_reply(self, timeout=None):
        """One whole reply: a terminal line, a number (incr/decr), or a
        VALUE... END block. Returns the bytes."""
        out = b""
        while True:
            line = self.read_line(timeout)
            out += line
            word = line[:-2]
            if word.startswith(b"VALUE "):
                n = int(word.split()[3])
                out += self.read_exact(n + 2, timeout)
                continue
            if word.startswith(b"STAT "):
                continue
            return out

    def cmd(self, data, timeout=None):
        """Send data and read one whole reply."""
        self.send(data)
        return self.read_reply(timeout)

    # conveniences
    def set(self, key, value, flags=0, exptime=0, cmd=b"set"):
        return self.cmd(b"%s %s %d %d %d\r\n%s\r\n" % (cmd, key, flags, exptime, len(value), value))

    def get(self, key):
        """The value or None."""
        r = self.cmd(b"get " + key + b"\r\n")
        if r == b"END\r\n":
            return None
        head, rest = r.split(b"\r\n", 1)
        n = int(head.split()[3])
        assert rest[n:] == b"\r\nEND\r\n", r[:200]
        return rest[:n]
