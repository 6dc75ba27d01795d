"""Real client libraries over memcached's BINARY protocol, with and without
SASL PLAIN authentication, end to end.

Each client runs a scenario script from tests/e2e/clients/ in its own process
(set/get, multi-get, add/replace/append/prepend, delete, incr/decr, cas, touch,
a 500 KB value, stats, flush) and exits non-zero at the first wrong answer:

- pylibmc (libmemcached) with binary=True      clients/pylibmc_binary.py
- PHP's Memcached extension, OPT_BINARY_PROTOCOL clients/php_binary.php
- Ruby's Dalli 3.0 (binary only)                clients/dalli_binary.rb
- memjs for Node (binary only)                  clients/memjs_binary.js

Servers: `-B binary` (an ASCII request would fail), the default `-B auto`
(first byte 0x80 selects binary), and `-S` (SASL; binary only) with users
from the file named by MEMCACHED_SASL_PWDB (`user:password` lines). Debian's
memcached is built without that file's support: as the reference
(E2E_SERVER=memcached) it checks PLAIN passwords in a Cyrus sasldb written
here with saslpasswd2 (SASL_CONF_PATH names its directory).

Packages: tests/deps.sh; memjs comes from the npm registry through
clients/install_memjs.sh (into build/npm), run by the memjs fixture.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

from conftest import IS_MEMCACHED, ROOT

# [direct] and [relay]: also through the chopping relay (conftest.py)
pytestmark = pytest.mark.relay

CLIENTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")
MEMJS_INSTALL = "sh tests/e2e/clients/install_memjs.sh"
TIMEOUT = 30  # seconds, per client run

# The second line is ours: the server must find a user past the first line.
SASL_USERS = [("other-user", "not-this-one"), ("memg-e2e", "plain-Secret-42")]
SASL_USER, SASL_PASS = SASL_USERS[-1]

# name: (interpreter, script in clients/, Debian packages, word of its success line)
CLIENTS = {
    "pylibmc": (sys.executable, "pylibmc_binary.py", "python3-pylibmc", "PYLIBMC"),
    "php": ("php", "php_binary.php", "php-cli php-memcached", "PHP"),
    "dalli": ("ruby", "dalli_binary.rb", "ruby ruby-dalli", "DALLI"),
    "memjs": ("node", "memjs_binary.js", "nodejs npm", "MEMJS"),
}


@pytest.fixture(scope="module")
def memjs_node_path():
    """NODE_PATH holding memjs, installed on first use (idempotent)."""
    prefix = os.path.join(ROOT, "build", "npm")
    try:
        p = subprocess.run(["sh", os.path.join(CLIENTS_DIR, "install_memjs.sh"), prefix],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("installing memjs took over 120 s; run: %s" % MEMJS_INSTALL)
    if p.returncode != 0:
        pytest.fail("memjs is not installed:\n%s\nrun: %s"
                    % (p.stdout.decode("utf-8", "replace"), MEMJS_INSTALL))
    return os.path.join(prefix, "node_modules")


def run_client(request, name, server, *args):
    """Run client `name`'s scenario against server; fail with its output."""
    interp, script, pkgs, ok_word = CLIENTS[name]
    if not shutil.which(interp):
        pytest.fail("%s is missing: apt-get install %s (or sh tests/deps.sh as root)"
                    % (interp, pkgs))
    env = dict(os.environ)
    if name == "memjs":
        env["NODE_PATH"] = request.getfixturevalue("memjs_node_path")
    argv = [interp, os.path.join(CLIENTS_DIR, script), server.host, str(server.port)] + list(args)
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        pytest.fail("%s did not finish within %d s:\n%s\n--- server log:\n%s"
                    % (name, TIMEOUT, out[-3000:], server.log_text()))
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode == 3 and "SKIP:" in out:
        pytest.skip(out[out.index("SKIP:") + 5:].strip())
    want = "%s %s" % (ok_word, "REFUSAL OK" if "--check-refusal" in args else "OK")
    if p.returncode != 0 or want not in out:
        pytest.fail("%s exited %d:\n%s\n--- server (%s) alive=%s, log:\n%s"
                    % (name, p.returncode, out[-3000:], " ".join(server.argv), server.alive(),
                       server.log_text()), pytrace=False)
    if not server.alive():
        pytest.fail("server died:\n" + server.log_text(), pytrace=False)
    return out


def _memcached_sasldb(d):
    """For Debian's memcached: a Cyrus sasldb with SASL_USERS in the realm it
    uses (its host name) and a config that names it and allows PLAIN."""
    if not shutil.which("saslpasswd2"):
        pytest.fail("saslpasswd2 is missing: apt-get install sasl2-bin libsasl2-modules")
    db = os.path.join(d, "sasldb2")
    for user, password in SASL_USERS:
        subprocess.run(["saslpasswd2", "-p", "-c", "-f", db, "-a", "memcached",
                        "-u", socket.gethostname(), user],
                       input=password.encode(), check=True, timeout=TIMEOUT)
    os.chmod(db, 0o644)
    with open(os.path.join(d, "memcached.conf"), "w") as f:
        f.write("mech_list: plain\nsasldb_path: %s\n" % db)
    return {"SASL_CONF_PATH": d}


@pytest.fixture
def sasl_server(server_factory):
    """A server started with -S, knowing SASL_USERS."""
    # readable by memcached, which drops root to nobody (tmp_path is 0700)
    d = tempfile.mkdtemp(prefix="memg-sasl-")
    try:
        os.chmod(d, 0o755)
        pwdb = os.path.join(d, "pwdb")
        with open(pwdb, "w") as f:
            f.write("".join("%s:%s\n" % u for u in SASL_USERS))
        os.chmod(pwdb, 0o644)
        env = {"MEMCACHED_SASL_PWDB": pwdb}
        if IS_MEMCACHED:
            env.update(_memcached_sasldb(d))
        yield server_factory("-S", env=env)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("name", list(CLIENTS))
def test_binary_only_server(request, server_factory, name):
    """-B binary: the whole scenario in the binary protocol."""
    run_client(request, name, server_factory("-B", "binary"))


@pytest.mark.parametrize("name", list(CLIENTS))
def test_auto_negotiated(request, server_factory, name):
    """Default -B auto: the first byte (0x80) selects binary for the connection."""
    run_client(request, name, server_factory())


@pytest.mark.parametrize("name", list(CLIENTS))
def test_sasl_plain(request, sasl_server, name):
    """-S: the client authenticates with PLAIN, then runs the whole scenario."""
    run_client(request, name, sasl_server, SASL_USER, SASL_PASS)


@pytest.mark.parametrize("name", list(CLIENTS))
def test_sasl_refusal(request, sasl_server, name):
    """-S: a wrong password and no credentials can neither write nor read."""
    run_client(request, name, sasl_server, SASL_USER, SASL_PASS, "--check-refusal")
