"""Error replies, byte for byte, and the connection surviving each of them."""
import pytest

KEY250 = b"k" * 250
KEY251 = b"k" * 251


def usable(raw):
    """The connection still answers and still stores."""
    assert raw.cmd(b"version\r\n").startswith(b"VERSION ")
    assert raw.set(b"alive", b"yes") == b"STORED\r\n"
    assert raw.get(b"alive") == b"yes"
    assert raw.read_quiet(0.05) == b""  # no stray bytes left behind


@pytest.mark.parametrize("line", [b"bogus", b"GET foo", b"sett k 0 0 1", b" get k", b"mx foo"])
def test_unknown_command(raw, line):
    assert raw.cmd(line + b"\r\n") == b"ERROR\r\n"
    usable(raw)


# memcached 1.6.45: a known command short of its arguments is a format error
# (1.6.18 answered ERROR); extra tokens after them are ignored
@pytest.mark.parametrize("line", [b"get", b"gets", b"gat 0", b"set foo", b"set k 0 0", b"incr",
                                  b"incr k", b"touch k", b"delete", b"verbosity", b"mg", b"ms k"])
def test_short_command(raw, line):
    assert raw.cmd(line + b"\r\n") == b"CLIENT_ERROR bad command line format\r\n"
    usable(raw)


def test_extra_tokens_ignored(raw):
    assert raw.cmd(b"set k 0 0 1 noreply extra tokens\r\nx\r\n") == b"STORED\r\n"
    assert raw.cmd(b"incr k 1 extra\r\n") == b"CLIENT_ERROR cannot increment or decrement " \
        b"non-numeric value\r\n"
    assert raw.cmd(b"delete k 0 extra\r\n") == b"DELETED\r\n"
    assert raw.cmd(b"verbosity 1 2 3\r\n") == b"OK\r\n"
    usable(raw)


# the data length is read first: a line without a readable one skips nothing
@pytest.mark.parametrize("line", [b"set k 0 0 abc", b"set k 0 0 -1", b"set k 0 0 +1",
                                  b"verbosity abc"])
def test_malformed_lines(raw, line):
    assert raw.cmd(line + b"\r\n") == b"CLIENT_ERROR bad command line format\r\n"
    usable(raw)


# ... with one, a line refused for another field has its data skipped
@pytest.mark.parametrize("line", [b"set k abc 0 1", b"set k 0 abc 1", b"set k -1 0 1",
                                  b"cas k 0 0 1 abc", b"cas k 0 0 1", b"set " + KEY251 + b" 0 0 1"])
def test_malformed_lines_skip_data(raw, line):
    raw.send(line + b"\r\nx\r\n")
    assert raw.read_line() == b"CLIENT_ERROR bad command line format\r\n"
    usable(raw)


def test_bad_data_chunk(raw):
    assert raw.set(b"k", b"before") == b"STORED\r\n"
    # two bytes too many: the two bytes after the value must be \r\n, are
    # "de"; what follows (\r\n) is then read as a command line too short
    raw.send(b"set k 0 0 3\r\nabcde\r\n")
    assert raw.read_line() == b"CLIENT_ERROR bad data chunk\r\n"
    assert raw.read_line() == b"CLIENT_ERROR bad command line format\r\n"
    assert raw.get(b"k") == b"before"
    # the byte after the value is \r but the next is not \n
    raw.send(b"set k 0 0 3\r\nabc\rX")
    assert raw.read_line() == b"CLIENT_ERROR bad data chunk\r\n"
    assert raw.get(b"k") == b"before"
    # noreply hides the CLIENT_ERROR, not the one for the leftover
    raw.send(b"set k 0 0 3 noreply\r\nabcde\r\n")
    assert raw.read_line() == b"CLIENT_ERROR bad command line format\r\n"
    usable(raw)
    assert raw.get(b"k") == b"before"


def test_key_length_limit(raw):
    assert raw.set(KEY250, b"v") == b"STORED\r\n"
    assert raw.get(KEY250) == b"v"
    # 1.6.45 ends this error with an empty line
    raw.send(b"get " + KEY251 + b"\r\n")
    assert raw.read_exact(40) == b"CLIENT_ERROR bad command line format\r\n\r\n"
    usable(raw)
    for cmd in (b"delete ", b"incr ", b"touch "):
        tail = {b"delete ": b"", b"incr ": b" 1", b"touch ": b" 0"}[cmd]
        assert raw.cmd(cmd + KEY251 + tail + b"\r\n") == b"CLIENT_ERROR bad command line format\r\n"
    usable(raw)


def test_empty_lines(raw):
    # 1.6.45: a line under 4 bytes (its newline included) is a format error
    for line in (b"\r\n", b"\n", b"x\r\n", b"mn\n"):
        assert raw.cmd(line) == b"CLIENT_ERROR bad command line format\r\n"
    raw.send(b"\r\n\r\n\r\n")
    assert raw.read_exact(3 * 38) == b"CLIENT_ERROR bad command line format\r\n" * 3
    assert raw.cmd(b"   \r\n") == b"ERROR\r\n"
    usable(raw)


def test_bare_newline_terminators(raw):
    # memcached accepts \n alone at the end of a command line
    raw.send(b"set nl 0 0 2\nab\r\nget nl\n")
    assert raw.read_until(b"END\r\n") == b"STORED\r\nVALUE nl 0 2\r\nab\r\nEND\r\n"


def test_other_client_errors(raw):
    assert raw.set(b"n", b"abc") == b"STORED\r\n"
    assert raw.cmd(b"incr n 1\r\n") == (
        b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
    assert raw.cmd(b"incr n x\r\n") == b"CLIENT_ERROR invalid numeric delta argument\r\n"
    assert raw.cmd(b"incr n +1\r\n") == b"CLIENT_ERROR invalid numeric delta argument\r\n"
    assert raw.cmd(b"touch n x\r\n") == b"CLIENT_ERROR invalid exptime argument\r\n"
    assert raw.cmd(b"touch n 4294967295\r\n") == b"CLIENT_ERROR invalid exptime argument\r\n"
    assert raw.cmd(b"gat x n\r\n") == b"CLIENT_ERROR invalid exptime argument\r\n"
    assert raw.cmd(b"flush_all x\r\n") == b"CLIENT_ERROR invalid exptime argument\r\n"
    assert raw.cmd(b"shutdown\r\n") == b"SERVER_ERROR: shutdown not enabled\r\n"
    usable(raw)


def test_disconnect_mid_value_loses_nothing(server):
    with server.raw() as r:
        for i in range(20):
            assert r.set(b"keep%d" % i, b"v%d" % i) == b"STORED\r\n"
    # half a command line, then gone
    with server.raw() as r:
        r.send(b"set keep0 0 0 10")
    # half a value, then gone
    with server.raw() as r:
        r.send(b"set keep1 0 0 100000\r\n" + b"x" * 50000)
    # a whole value but no terminator, then gone
    with server.raw() as r:
        r.send(b"set keep2 0 0 5\r\nhello")
    # a pipelined batch whose last request is cut
    with server.raw() as r:
        r.send(b"set new1 0 0 1\r\na\r\nset keep3 0 0 9\r\nabc")
        # (memcached holds the STORED for new1 while it waits for keep3's
        # data, so the reply is not awaited here)
        r.read_quiet(0.1)
    assert server.alive()
    with server.raw() as r:
        for i in range(20):
            assert r.get(b"keep%d" % i) == b"v%d" % i
        assert r.get(b"new1") == b"a"


def test_shutdown_with_A(server_factory):
    srv = server_factory("-A")
    with srv.raw() as r:
        r.send(b"shutdown\r\n")
        assert r.is_closed(timeout=5)
    srv.proc.wait(5)
    assert not srv.alive()
