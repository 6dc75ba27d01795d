"""Differential test of text-protocol authentication (memcached's `-Y FILE`,
`user:password` lines): the same scripted session against memcached 1.6.18
and the server under test; the transcripts must match byte for byte.

Before authenticating, the only accepted command is
`set <any key> <any flags> <any exptime> <N>\\r\\n<user> <password>\\r\\n`;
it answers STORED (nothing is stored). Everything else is refused with a
CLIENT_ERROR and the connection stays open.

Every step sends one command and waits for its reply before the next: before
authentication memcached 1.6.18 answers only the LAST of several refused
commands that arrive in one read (each refusal overwrites the previous reply),
which depends on how the bytes are split, so pipelining before auth is left out.
"""
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

import conftest
from conftest import SERVER_KIND
from test_differential import read_reply, run_steps, show

USERS = b"alice:secret\nbob:hunter2\n"


@pytest.fixture
def auth_file():
    """A world-readable `user:password` file (memcached reads it after
    dropping root to nobody)."""
    d = tempfile.mkdtemp(prefix="memg-auth-")
    try:
        os.chmod(d, 0o755)
        path = os.path.join(d, "users")
        with open(path, "wb") as f:
            f.write(USERS)
        os.chmod(path, 0o644)
        yield path
    finally:
        shutil.rmtree(d, ignore_errors=True)


# (note, bytes to send) or (note, None) for a new connection
SCRIPT = [
    ("a get before auth", b"get a\r\n"),
    ("version before auth", b"version\r\n"),
    ("quit before auth is refused, not obeyed", b"quit\r\n"),
    ("an unknown command", b"bogus\r\n"),
    ("an empty line", b"\r\n"),
    ("set with too few tokens", b"set x 0 0\r\n"),
    ("set with a non-numeric length", b"set x 0 0 abc\r\n"),
    ("add is not the auth command", b"add x 0 0 12\r\n"),
    ("...and its data line is a refused command too", b"alice secret\r\n"),
    ("SET in capitals", b"SET x 0 0 12\r\n"),
    ("wrong password", b"set x 0 0 11\r\nalice wrong\r\n"),
    ("unknown user", b"set x 0 0 12\r\nnobody secret\r\n"),
    ("user names are case-sensitive", b"set x 0 0 12\r\nALICE secret\r\n"),
    ("no space in the token", b"set x 0 0 11\r\nalicesecret\r\n"),
    ("a tab is not a separator", b"set x 0 0 12\r\nalice\tsecret\r\n"),
    ("data not ended by \\r\\n", b"set x 0 0 12\r\nalice secretXY"),
    ("still refused after failures", b"get a\r\n"),
    ("auth line alone: no answer yet", b"set anykey 0 0 12\r\n"),
    ("then the token: STORED", b"alice secret\r\n"),
    ("authenticated: the auth set stored nothing", b"get anykey\r\n"),
    ("ordinary commands work", b"set a 0 0 1\r\n1\r\n"),
    ("", b"get a\r\n"),
    ("", b"version\r\n"),
    (None, None),
    ("flags, exptime, key and noreply of the auth set are ignored",
     b"set k 5 100 12 noreply\r\nalice secret\r\n"),
    ("", b"get a\r\n"),
    (None, None),
    ("second user", b"set x 0 0 10\r\nbob hunter\r\n"),
    ("second user, right password", b"set x 0 0 11\r\nbob hunter2\r\n"),
    ("", b"get a\r\n"),
    (None, None),
    ("extra tokens after the password are ignored", b"set x 0 0 18\r\nalice secret extra\r\n"),
    (None, None),
    ("two spaces between user and password", b"set x 0 0 13\r\nalice  secret\r\n"),
    (None, None),
    ("a line over 2048 bytes without newline closes", b"x" * 3000),
]


def run_session(addr):
    return run_steps(addr, [(note, data, data) for note, data in SCRIPT], 60)


def test_text_auth_differential(server_factory, auth_file):
    ref = server_factory("-Y", auth_file, kind="memcached")
    sut = server_factory("-Y", auth_file)
    a = run_session(ref.addr)
    b = run_session(sut.addr)
    assert sut.alive(), sut.log_text()
    sut_name = "memcached#2" if SERVER_KIND == "memcached" else "memg"
    if [r for _, _, r in a] != [r for _, _, r in b]:
        lines = []
        for (note, data, ra), (_, _, rb) in zip(a, b):
            mark = "  " if ra == rb else "!!"
            lines.append("%s > %s   (%s)" % (mark, show(data[:60]), note))
            lines.append("     memcached: %s" % show(ra))
            if ra != rb:
                lines.append("     %-9s: %s" % (sut_name, show(rb)))
        pytest.fail("text auth transcripts differ:\n" + "\n".join(lines), pytrace=False)
    # the script really exercised memcached's answers
    allr = b"".join(r for _, _, r in a)
    for must in (b"CLIENT_ERROR unauthenticated\r\n", b"CLIENT_ERROR authentication failure\r\n",
                 b"CLIENT_ERROR bad authentication token format\r\n",
                 b"CLIENT_ERROR bad command line termination\r\n", b"STORED\r\n",
                 b"VALUE a 0 1\r\n1\r\nEND\r\n", b"<closed>"):
        assert must in allr, must


def test_text_auth_refuses_binary(auth_file):
    """`-Y FILE -B binary` is refused at start: memcached prints "ERROR: You
    cannot allow the BINARY protocol while using ascii authentication
    tokens." and exits non-zero."""
    conftest.assert_refused_at_start(["-Y", auth_file, "-B", "binary"],
                                     b"You cannot allow the BINARY protocol while using ascii")


def test_text_auth_binary_bytes_read_as_text(server_factory, auth_file):
    """With -Y the protocol is text even when the first byte is 0x80: a
    binary NOOP (its opcode byte 0x0a is a newline) is one refused line."""
    import mcbin
    for srv in (server_factory("-Y", auth_file, kind="memcached"),
                server_factory("-Y", auth_file)):
        with socket.create_connection(srv.addr, timeout=5) as s:
            s.sendall(mcbin.noop(0x01020304))
            reply, closed = read_reply(s)
        assert (reply, closed) == (b"CLIENT_ERROR unauthenticated\r\n", False), (srv.kind, reply)
