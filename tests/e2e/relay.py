"""A chopping relay: a loopback TCP proxy that re-cuts the byte stream in both
directions into random pieces (1 byte to 4 KB) with short random pauses, as a
real network does, so that requests and replies reach the other side in
several reads at arbitrary offsets.

Relay(("127.0.0.1", port), seed) listens on a free 127.0.0.1 port; every
client connection gets its own connection to the target and two pump threads.
The cuts of connection i in direction d come from Random("seed:i:d"): the same
seed gives the same cuts of the same bytes. stop() is bounded in time.
"""
import random
import socket
import struct
import threading
import time

HOST = "127.0.0.1"
GATHER = 1 << 18        # bytes gathered at most before cutting
PAUSE_CHANCE = 0.05     # after a piece, chance of a pause
PAUSE_MAX = 0.002       # seconds
RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close sends RST
# (chance, smallest, largest): tiny pieces, inside a line, about one TCP
# segment (1,448 bytes of payload), and bigger than one
PIECES = ((0.2, 1, 8), (0.3, 9, 300), (0.35, 301, 1448), (0.15, 1449, 4096))


def piece_size(rng):
    r = rng.random()
    for chance, lo, hi in PIECES:
        if r < chance:
            return rng.randint(lo, hi)
        r -= chance
    return PIECES[-1][2]


class Relay:
    def __init__(self, target, seed):
        self.target, self.seed = target, seed
        self.lock = threading.Lock()
        # per direction ("up": to the server, "down": to the client)
        self.pieces = {"up": 0, "down": 0}
        self.bytes = {"up": 0, "down": 0}
        self.sizes = {"up": set(), "down": set()}
        self.conns = []
        self.threads = []
        self.stopping = False
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((HOST, 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self._start(self._accept)

    def __repr__(self):
        return "Relay(:%d -> %s:%d, seed %d)" % ((self.port,) + tuple(self.target) + (self.seed,))

    def _start(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        with self.lock:
            self.threads.append(t)
        t.start()

    def _accept(self):
        n = 0
        while not self.stopping:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(self.target, timeout=5)
            except OSError:
                down.close()  # the server refused: so does the relay
                continue
            up.settimeout(None)
            for s in (up, down):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (down, up, [2])  # [pumps still running]
            with self.lock:
                self.conns.append(pair)
            self._start(self._pump, pair, down, up, "up", random.Random("%d:%d:up" % (self.seed, n)))
            self._start(self._pump, pair, up, down, "down",
                        random.Random("%d:%d:down" % (self.seed, n)))
            n += 1

    def _pump(self, pair, src, dst, way, rng):
        """src -> dst in random pieces, in the order things happened: a
        broken dst stops only this pump (the other one reads dst and sees the
        break); a reset of src reaches dst as a reset after all that src sent
        before it."""
        try:
            while True:
                data, reset = _read(src)
                if data:
                    self._send_cut(dst, data, way, rng)
                if reset:
                    dst.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
                    dst.shutdown(socket.SHUT_RD)  # wakes the other pump; the close resets
                    break
                if not data:
                    dst.shutdown(socket.SHUT_WR)  # pass a half-close on
                    break
        except OSError:
            pass
        with self.lock:
            pair[2][0] -= 1
            done = pair[2][0] == 0
        if done:
            for s in pair[:2]:
                s.close()

    def _send_cut(self, dst, data, way, rng):
        at = 0
        while at < len(data):
            piece = data[at:at + piece_size(rng)]
            at += len(piece)
            with self.lock:  # counted first: the reader may be done when sendall returns
                self.pieces[way] += 1
                self.bytes[way] += len(piece)
                self.sizes[way].add(len(piece))
            dst.sendall(piece)
            if rng.random() < PAUSE_CHANCE:
                time.sleep(rng.uniform(0, PAUSE_MAX))

    def counts(self, way):
        """(pieces, bytes) sent so far in direction way ("up" or "down")."""
        with self.lock:
            return self.pieces[way], self.bytes[way]

    def stop(self, timeout=3.0):
        self.stopping = True
        _shut(self.listener)
        self.listener.close()
        with self.lock:
            conns, threads = list(self.conns), list(self.threads)
        for down, up, _ in conns:
            _shut(down)
            _shut(up)
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))


def _read(src):
    """(data, reset): what has come on src, b"" at its end; all that is
    already there (up to GATHER bytes), so that cuts cross the sender's writes."""
    data = b""
    try:
        data = src.recv(65536)
        while data and len(data) < GATHER:
            more = src.recv(65536, socket.MSG_DONTWAIT)
            if not more:
                break  # the end: the next blocking recv says so again
            data += more
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:
        return data, True
    return data, False


def _shut(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
