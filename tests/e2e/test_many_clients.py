"""Many simultaneous clients, and the -c connection limit."""
import resource
import socket
import time

from mcraw import Raw

N_CLIENTS = 1000


def _raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def test_thousand_clients_at_once(server):
    _raise_nofile(N_CLIENTS + 200)
    deadline = time.monotonic() + 60
    conns = []
    try:
        for i in range(N_CLIENTS):
            conns.append(Raw(server.host, server.port, timeout=10))
        assert len(conns) == N_CLIENTS
        # every client writes its own key while all are connected
        for i, c in enumerate(conns):
            v = b"value-%d" % i
            c.send(b"set client%d %d 0 %d\r\n%s\r\n" % (i, i, len(v), v))
        for i, c in enumerate(conns):
            assert c.read_line() == b"STORED\r\n", "client %d" % i
        assert time.monotonic() < deadline
        # each reads its own key back, and the one of its neighbour
        for i, c in enumerate(conns):
            j = (i + 1) % N_CLIENTS
            c.send(b"get client%d client%d\r\n" % (i, j))
        for i, c in enumerate(conns):
            j = (i + 1) % N_CLIENTS
            want = b"VALUE client%d %d %d\r\nvalue-%d\r\n" % (i, i, len(b"value-%d" % i), i)
            want += b"VALUE client%d %d %d\r\nvalue-%d\r\nEND\r\n" % (
                j, j, len(b"value-%d" % j), j)
            assert c.read_until(b"END\r\n") == want, "client %d" % i
        assert time.monotonic() < deadline
        # all still open and served
        for c in conns:
            c.send(b"version\r\n")
        for c in conns:
            assert c.read_line().startswith(b"VERSION ")
    finally:
        for c in conns:
            c.close()
    assert server.alive()
    with server.raw() as r:
        assert r.get(b"client999") == b"value-999"


def test_connection_limit(server_factory):
    # memcached's -c counts file descriptors (listeners and its threads' own
    # included), so it needs a bigger number and one worker thread for a
    # handful of clients; memg's -c counts client connections.
    srv = server_factory("-c", "10", memcached_args=("-c", "16", "-t", "1"))
    socks = []
    accepted, refused = [], 0
    try:
        for i in range(30):
            s = socket.create_connection(srv.addr, timeout=5)
            socks.append(s)
            s.sendall(b"version\r\n")
            data = b""
            while not data.endswith(b"\r\n"):
                d = s.recv(100)
                if not d:
                    break
                data += d
            if data.startswith(b"VERSION "):
                accepted.append(s)
            else:
                assert data == b"ERROR Too many open connections\r\n"
                s.settimeout(2)
                try:
                    assert s.recv(1) == b""  # then closed
                except ConnectionResetError:
                    pass
                refused += 1
        assert 1 <= len(accepted) <= 10
        assert refused == 30 - len(accepted)
        # the accepted ones still work
        for s in accepted:
            s.sendall(b"set a 0 0 1\r\nx\r\n")
            assert s.recv(100) == b"STORED\r\n"
    finally:
        for s in socks:
            s.close()
    # once they are gone, new clients are served again
    deadline = time.monotonic() + 5
    while True:
        with Raw(srv.host, srv.port) as r:
            reply = r.cmd(b"version\r\n")
        if reply.startswith(b"VERSION ") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert reply.startswith(b"VERSION ")
