"""The HTTP front (-o http_port=N): curl and Python's http.client against
every endpoint and error, the memcached port and the HTTP port sharing the
same items (flags and CAS included), promtool on /metrics, wrk, and bad
input (huge heads, slowloris, bodies that never come). memg only."""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

from conftest import HOST
from mcraw import Raw

pytestmark = [pytest.mark.memg_only, pytest.mark.relay]


def http_port_of(srv):
    """The port memg printed at start for -o http_port=0 (on the relay
    route: a relay's in front of it)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        m = re.search(r"HTTP on port (\d+)", srv.log_text())
        if m:
            return srv.reach(int(m.group(1)))
        time.sleep(0.02)
    pytest.fail("no HTTP port printed:\n" + srv.log_text())


@pytest.fixture
def web(server_factory):
    """(server, http port) with the HTTP front on any free port."""
    srv = server_factory("-o", "http_port=0", "-I", "64k")
    return srv, http_port_of(srv)


def conn(port):
    return http.client.HTTPConnection(HOST, port, timeout=5)


def request(port, method, path, body=None, headers=None):
    c = conn(port)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def curl(*args, stdin=None):
    """curl -s -i; returns (status, headers dict lower-cased, body)."""
    out = subprocess.run(["curl", "-s", "-i", "--max-time", "5"] + list(args), input=stdin,
                         capture_output=True, timeout=10).stdout
    while out.startswith(b"HTTP/1.1 100 "):  # the interim answer to Expect
        out = out.partition(b"\r\n\r\n")[2]
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    return status, headers, body


def raw_exchange(port, data, timeout=3.0):
    """Send data on a fresh socket, read until the server closes (or time)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(data)
        got = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                return got, True
            got += chunk
        return got, False


def test_curl_every_key_endpoint(web):
    _, port = web
    url = "http://127.0.0.1:%d/k/" % port
    st, h, _ = curl("-X", "PUT", "--data-binary", "hello", url + "greet?ttl=100&flags=42")
    assert st == 204
    etag = h["etag"]
    st, h, body = curl(url + "greet")
    assert (st, body) == (200, b"hello")
    assert h["content-type"] == "application/octet-stream"
    assert h["content-length"] == "5"
    assert h["memg-flags"] == "42"
    assert h["etag"] == etag
    st, h, body = curl("-I", url + "greet")
    assert (st, h["content-length"], body) == (200, "5", b"")
    st, h, body = curl("-H", "If-None-Match: " + etag, url + "greet")
    assert (st, body, h["etag"]) == (304, b"", etag)
    st, _, _ = curl("-X", "PUT", "-H", 'If-Match: "999999"', "--data-binary", "x", url + "greet")
    assert st == 412
    st, h, _ = curl("-X", "PUT", "-H", "If-Match: " + etag, "--data-binary", "new", url + "greet")
    assert st == 204 and h["etag"] != etag
    assert curl(url + "greet")[2] == b"new"
    st, _, _ = curl("-X", "PUT", url + "nolength")
    assert st == 411
    big = b"x" * (64 * 1024 + 1)
    st, _, _ = request(port, "PUT", "/k/big", body=big)
    assert st == 413
    assert curl(url + "big")[0] == 404
    assert curl("-X", "POST", "--data-binary", "v", url + "greet")[0] == 405
    assert curl("-X", "DELETE", url + "greet")[0] == 204
    assert curl("-X", "DELETE", url + "greet")[0] == 404
    assert curl(url + "greet")[0] == 404
    assert curl(url + "%zz")[0] == 400
    assert curl("http://127.0.0.1:%d/nothing" % port)[0] == 404


def test_curl_expect_100_continue_large_value(web):
    _, port = web
    value = os.urandom(60000)
    t0 = time.monotonic()
    st, _, _ = curl("-X", "PUT", "-H", "Expect: 100-continue", "--expect100-timeout", "20",
                    "--data-binary", "@-", "http://127.0.0.1:%d/k/blob" % port, stdin=value)
    assert st == 204
    assert time.monotonic() - t0 < 10  # answered 100 at once: curl would wait 20 s otherwise
    assert request(port, "GET", "/k/blob")[2] == value
    # refused with Expect: 413 at once, then the connection is closed
    got, closed = raw_exchange(port, b"PUT /k/blob HTTP/1.1\r\nHost: x\r\nContent-Length: "
                               b"99999999\r\nExpect: 100-continue\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 413 ") and closed


def test_pages(web):
    srv, port = web
    with srv.raw() as r:
        assert r.set(b"a", b"1") == b"STORED\r\n"
        assert r.get(b"a") == b"1"
    st, h, body = request(port, "GET", "/healthz")
    assert (st, body) == (200, b"ok\n")
    st, h, body = request(port, "GET", "/stats.json")
    assert st == 200 and h["Content-Type"] == "application/json"
    stats = json.loads(body)
    assert stats["curr_items"] == 1 and stats["get_hits"] == 1 and stats["version"] == "0.1.0"  # memg's own, as -V
    assert stats["pid"] == srv.proc.pid
    st, h, body = request(port, "GET", "/metrics")
    assert st == 200 and h["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b'memcached_commands_total{command="get",status="hit"} 1\n' in body
    st, h, body = request(port, "GET", "/", headers={"Accept-Encoding": "gzip"})
    assert st == 200 and h["Content-Encoding"] == "gzip"
    import gzip
    page = gzip.decompress(body)
    assert page.startswith(b"<!doctype html>") and b"stats.json" in page
    assert b"http://" not in page and b"https://" not in page  # no external asset
    assert request(port, "HEAD", "/metrics")[2] == b""
    assert request(port, "PUT", "/metrics", body=b"x")[0] == 405


def test_dashboard_encoding_as_the_client_accepts(web):
    """The dashboard is gzip only for a client that accepts gzip: curl
    --compressed gets gzip and shows the page; plain curl, a raw request
    without Accept-Encoding, identity and gzip;q=0 get the page as it is.
    Every answer says Vary: Accept-Encoding."""
    import gzip
    _, port = web
    url = "http://127.0.0.1:%d/" % port
    here = os.path.dirname(__file__)
    page = open(os.path.join(here, "..", "..", "src", "proto", "http", "dashboard.html"),
                "rb").read()
    out = subprocess.run(["curl", "-s", "--max-time", "5", "--compressed", "-D", "-", url],
                         capture_output=True, timeout=10).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"\r\nContent-Encoding: gzip\r\n" in head and body == page  # curl inflated it
    st, h, body = curl(url)
    assert st == 200 and "content-encoding" not in h and body == page
    assert h["content-length"] == str(len(page)) and h["vary"] == "Accept-Encoding"
    for ae, gz in ((None, False), (b"identity", False), (b"gzip;q=0, identity", False),
                   (b"*;q=0", False), (b"br, gzip;q=0.5", True), (b"*", True)):
        req = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        if ae is not None:
            req += b"Accept-Encoding: " + ae + b"\r\n"
        got, closed = raw_exchange(port, req + b"\r\n")
        head, _, body = got.partition(b"\r\n\r\n")
        assert closed and head.startswith(b"HTTP/1.1 200 OK\r\n"), ae
        assert (b"\r\nContent-Encoding: gzip\r\n" in head) == gz, (ae, head)
        assert (gzip.decompress(body) if gz else body) == page, ae


def test_memcached_port_and_http_share_items(web):
    srv, port = web
    with srv.raw() as r:
        assert r.cmd(b"set fromtext 123 0 5\r\nhello\r\n") == b"STORED\r\n"
        gets = r.cmd(b"gets fromtext\r\n")
    cas = int(gets.split(b"\r\n")[0].split()[4])
    st, h, body = request(port, "GET", "/k/fromtext")
    assert (st, body, h["Memg-Flags"], h["ETag"]) == (200, b"hello", "123", '"%d"' % cas)
    st, h, _ = request(port, "PUT", "/k/fromhttp?flags=77", body=b"world")
    assert st == 204
    with srv.raw() as r:
        reply = r.cmd(b"gets fromhttp\r\n")
        assert reply == b"VALUE fromhttp 77 5 %s\r\nworld\r\nEND\r\n" % h["ETag"].strip('"').encode()
        # a cas over the text port bumps the ETag the HTTP side sees
        assert r.cmd(b"cas fromhttp 1 0 2 %s\r\nhi\r\n" % h["ETag"].strip('"').encode()) == \
            b"STORED\r\n"
    st, h2, body = request(port, "GET", "/k/fromhttp")
    assert (body, h2["Memg-Flags"]) == (b"hi", "1") and h2["ETag"] != h["ETag"]


def test_keep_alive_pipelining_http10_close(web):
    _, port = web
    c = conn(port)
    try:
        for i in range(20):  # one connection, many requests
            c.request("PUT", "/k/ka%d" % i, body=b"v%d" % i)
            assert c.getresponse().read() == b""
        for i in range(20):
            c.request("GET", "/k/ka%d" % i)
            assert c.getresponse().read() == b"v%d" % i
    finally:
        c.close()
    pipelined = b"".join(b"GET /k/ka%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5))
    got, closed = raw_exchange(port, pipelined + b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
    assert closed, "Connection: close was not honoured"
    assert got.count(b"HTTP/1.1 200 OK") == 6
    assert [got.find(b"\r\n\r\nv%d" % i) for i in range(5)] == sorted(
        got.find(b"\r\n\r\nv%d" % i) for i in range(5))
    got, closed = raw_exchange(port, b"GET /k/ka1 HTTP/1.0\r\n\r\n")
    assert closed and got.startswith(b"HTTP/1.1 200 OK\r\n") and got.endswith(b"\r\n\r\nv1")
    got, closed = raw_exchange(port, b"GET /k/ka1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                               timeout=0.5)
    assert not closed and b"Connection: keep-alive\r\n" in got


def test_close_after_a_body_received_into_its_item(web):
    """A PUT whose body is too big for the read buffer goes straight into its
    item; with Connection: close (or HTTP/1.0) memg still hangs up after the
    reply, without waiting for the client."""
    _, port = web
    body = b"b" * 60000
    for head in (b"PUT /k/bigclose HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                 b"PUT /k/bigclose HTTP/1.0\r\n"):
        got, closed = raw_exchange(port, head + b"Content-Length: %d\r\n\r\n" % len(body) + body,
                                   timeout=3)
        assert got.startswith(b"HTTP/1.1 204 ") and closed, got[:200]
    st, _, value = request(port, "GET", "/k/bigclose")
    assert st == 200 and value == body


@pytest.mark.parametrize("data,status", [
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431),
    (b"GET /k/a HTTP/1.1 junk\r\nHost: x\r\n\r\n", 400),
    (b"GET /k/a\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    (b"GET /k/%G1 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /k/" + b"k" * 251 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"PUT /k/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", 501),
    (b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
])
def test_bad_heads_answered_and_closed(web, data, status):
    srv, port = web
    got, closed = raw_exchange(port, data)
    assert got.startswith(b"HTTP/1.1 %d " % status), got[:80]
    assert b"Connection: close\r\n" in got and closed
    assert srv.alive()


def test_unknown_method_405_keeps_connection(web):
    _, port = web
    got, closed = raw_exchange(port, b"BREW /k/a HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=0.5)
    assert got.startswith(b"HTTP/1.1 405 ") and b"Allow: GET, HEAD, PUT, DELETE" in got
    assert got.endswith(b"ok\n") and not closed


def test_readonly(server_factory):
    srv = server_factory("-o", "http_port=0,http_readonly")
    port = http_port_of(srv)
    with srv.raw() as r:
        assert r.set(b"k", b"v") == b"STORED\r\n"
    st, h, _ = request(port, "PUT", "/k/k", body=b"changed")
    assert st == 405 and h["Allow"] == "GET, HEAD"
    assert request(port, "DELETE", "/k/k")[0] == 405
    assert request(port, "GET", "/k/k")[2] == b"v"
    assert request(port, "GET", "/metrics")[0] == 200


def test_memcached_port_still_refuses_http(web):
    srv, _ = web
    got, closed = raw_exchange(srv.port, b"GET /k/a HTTP/1.1\r\nHost: x\r\n\r\n")
    assert closed and b"HTTP/1.1" not in got


def test_http_port_taken_is_refused(server_factory):
    srv = server_factory("-o", "http_port=0")
    port = http_port_of(srv)
    from conftest import AS_ROOT, memg_bin, free_port
    r = subprocess.run([memg_bin(), "-p", str(free_port()), "-l", HOST, "-U", "0"] + AS_ROOT + ["-o",
                        "http_port=%d" % port], capture_output=True, timeout=5)
    assert r.returncode != 0 and b"failed to listen" in r.stderr


def test_slowloris_and_stalled_bodies(server_factory):
    """Partial heads and bodies that never complete hold no more than their
    bytes, are closed by idle_timeout, change no item, and the memcached
    port answers meanwhile."""
    srv = server_factory("-o", "http_port=0,idle_timeout=2")
    port = http_port_of(srv)
    with srv.raw() as r:
        assert r.set(b"keep", b"old") == b"STORED\r\n"
    socks = []
    try:
        for i in range(100):
            s = socket.create_connection((HOST, port), timeout=5)
            if i % 2:
                s.sendall(b"GET /k/keep HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            else:
                s.sendall(b"PUT /k/keep HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n" +
                          b"n" * 20000)
            socks.append(s)
        for _ in range(3):
            for s in socks:
                try:
                    s.sendall(b"a")
                except OSError:
                    pass
            t0 = time.monotonic()
            with srv.raw() as r:
                assert r.get(b"keep") == b"old"
            assert time.monotonic() - t0 < 0.5
            time.sleep(0.3)
        deadline = time.monotonic() + 6
        for s in socks:  # all of them hung up by the idle sweep
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                while s.recv(4096):
                    pass
            except ConnectionResetError:
                pass
        with srv.raw() as r:
            assert r.get(b"keep") == b"old"
            stats = r.cmd(b"stats\r\n")
        assert re.search(rb"STAT curr_connections (\d+)", stats).group(1) == b"1", stats[:400]
    finally:
        for s in socks:
            s.close()
    assert request(port, "GET", "/k/keep")[2] == b"old"


def test_promtool_accepts_metrics(web, tmp_path):
    srv, port = web
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing (Debian package prometheus; make deps installs it)"
    with srv.raw() as r:
        r.set(b"x", b"y")
        r.get(b"x")
        r.get(b"nope")
    body = request(port, "GET", "/metrics")[2]
    (tmp_path / "metrics.txt").write_bytes(body)
    res = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                         timeout=20)
    assert res.returncode == 0, res.stdout + res.stderr
    for name in ("memcached_up", "memcached_commands_total", "memcached_current_items",
                 "memcached_current_bytes", "memcached_limit_bytes",
                 "memcached_items_evicted_total", "memcached_current_connections",
                 "memcached_read_bytes_total", "memcached_written_bytes_total",
                 "memcached_uptime_seconds", "memcached_items_total",
                 "memcached_connections_total", "memg_bytes_per_item", "memg_segments"):
        assert re.search(rb"^%s(\{| )" % name.encode(), body, re.M), name
    assert b'memcached_commands_total{command="get",status="miss"} 1\n' in body
    assert b"memcached_current_items 1\n" in body


def test_wrk_two_seconds(web):
    srv, port = web
    wrk = shutil.which("wrk")
    assert wrk, "wrk missing (Debian package wrk; make deps installs it)"
    assert request(port, "PUT", "/k/bench", body=b"v" * 32)[0] == 204
    res = subprocess.run([wrk, "-t1", "-c50", "-d2s", "http://127.0.0.1:%d/k/bench" % port],
                         capture_output=True, timeout=30, text=True)
    assert res.returncode == 0, res.stderr
    m = re.search(r"(\d+) requests in", res.stdout)
    assert m and int(m.group(1)) > 0, res.stdout
    assert "Socket errors" not in res.stdout, res.stdout
    assert "Non-2xx" not in res.stdout, res.stdout
    with srv.raw() as r:
        stats = r.cmd(b"stats\r\n")
    hits = int(re.search(rb"STAT get_hits (\d+)", stats).group(1))
    assert hits >= int(m.group(1))


def test_error_answer_survives_a_client_still_sending(web):
    """A head too long is answered 431 and closed while the client's upload
    is still in flight. Its next bytes must not meet a closed socket: the
    kernel's RST would take the answer with it. memg shuts its side and
    drops what still comes until the client closes (a lingering close)."""
    _, port = web
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000)
        time.sleep(0.2)  # answered and shut by now
        for _ in range(8):  # the rest of a slow client's upload
            s.sendall(b"b" * 65536)
            time.sleep(0.05)
        got = b""
        while True:
            chunk = s.recv(65536)  # ECONNRESET here: the answer was destroyed
            if not chunk:
                break
            got += chunk
    assert got.startswith(b"HTTP/1.1 431 "), got[:80]
