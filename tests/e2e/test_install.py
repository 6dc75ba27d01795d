"""Install as an operator installs: `make install` with PREFIX and DESTDIR
lays out the binary, memg(1), the systemd units and the flags file;
`systemd-analyze verify` accepts the units; `man --warnings` is silent on the
man page; the amd64 .deb installs with dpkg (files, the memg system user, a
conffile) and purges cleanly."""
import glob
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, memg_bin

pytestmark = pytest.mark.memg_only
UNITS = ("memg.service", "memg@.service")


def make(*args, timeout=300):
    # the installed binary is the release build, whatever make runs this test
    # (make e2e SANITIZE=... passes its variables down through MAKEFLAGS)
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "SANITIZE", "BUILD")}
    r = subprocess.run(["make", "--no-print-directory", "-C", ROOT] + list(args),
                       capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)


def test_install_destdir_and_uninstall(tmp_path):
    dest = str(tmp_path / "dest")
    make("install", "DESTDIR=" + dest)
    assert files(dest) == sorted([
        "usr/local/bin/memg", "usr/local/etc/memg/memg.conf",
        "usr/local/lib/systemd/system/memg.service",
        "usr/local/lib/systemd/system/memg@.service", "usr/local/share/man/man1/memg.1"])
    unit = open(os.path.join(dest, "usr/local/lib/systemd/system/memg.service")).read()
    assert "ExecStart=/usr/local/bin/memg --conf-file=/usr/local/etc/memg/memg.conf" in unit
    assert "Type=notify" in unit
    r = subprocess.run(["file", os.path.join(dest, "usr/local/bin/memg")], capture_output=True,
                       text=True)
    assert "stripped" in r.stdout and "not stripped" not in r.stdout, r.stdout
    # an operator's flags file survives a reinstall and an uninstall
    conf = os.path.join(dest, "usr/local/etc/memg/memg.conf")
    with open(conf, "a") as f:
        f.write("-v\n")
    make("install", "DESTDIR=" + dest)
    assert open(conf).read().endswith("-v\n")
    make("uninstall", "DESTDIR=" + dest)
    assert files(dest) == ["usr/local/etc/memg/memg.conf"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze missing")
def test_units_verify_and_are_less_exposed_than_memcached(tmp_path):
    prefix = str(tmp_path / "prefix")
    make("install", "PREFIX=" + prefix)
    units = [os.path.join(prefix, "lib/systemd/system", u) for u in UNITS]
    env = dict(os.environ, MANPATH=os.path.join(prefix, "share/man"))
    r = subprocess.run(["systemd-analyze", "verify"] + units, capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    exposure = {}
    for name, path in (("memg", units[0]), ("memcached", "/usr/lib/systemd/system/memcached.service")):
        if not os.path.exists(path):
            continue
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", path],
                           capture_output=True, text=True, timeout=60)
        line = [l for l in r.stdout.splitlines() if "Overall exposure level" in l][-1]
        exposure[name] = float(line.split(":")[1].split()[0])
    print("systemd-analyze security exposure:", exposure)
    assert exposure["memg"] <= 2.0
    if "memcached" in exposure:
        assert exposure["memg"] < exposure["memcached"]


def test_man_page_has_no_warnings():
    page = os.path.join(ROOT, "dist", "memg.1")
    r = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="80"), timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    text = r.stdout
    for section in ("OPTIONS", "COMMANDS", "SIGNALS", "FILES", "EXIT STATUS",
                    "DIFFERENCES FROM MEMCACHED"):
        assert section in text, section
    usage = subprocess.run([memg_bin(), "-h"], capture_output=True, text=True).stdout
    flags = {w.rstrip(",") for w in usage.split() if w.startswith("--") and len(w) > 3}
    for flag in flags:  # every long flag of -h is in the man page
        name = flag.split("=")[0].split("[")[0]
        assert name.replace("-", "\u2010") in text or name in text, name


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("dpkg"), reason="dpkg as root")
def test_deb_installs_and_purges(tmp_path):
    make("deb", "DEB_ARCHS=amd64", timeout=600)
    deb = sorted(glob.glob(os.path.join(ROOT, "build", "deb", "memg_*_amd64.deb")))[-1]
    if subprocess.run(["dpkg", "-s", "memg"], capture_output=True).returncode == 0:
        pytest.fail("a memg package is already installed here: not touching it")
    try:
        r = subprocess.run(["dpkg", "-i", deb], capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout + r.stderr
        listed = subprocess.run(["dpkg", "-L", "memg"], capture_output=True, text=True).stdout
        for path in ("/usr/bin/memg", "/usr/share/man/man1/memg.1.gz",
                     "/lib/systemd/system/memg.service", "/lib/systemd/system/memg@.service",
                     "/etc/memg/memg.conf", "/usr/share/doc/memg/copyright"):
            assert path in listed.split("\n"), path
            assert os.path.exists(path), path
        assert subprocess.run(["/usr/bin/memg", "-V"], capture_output=True,
                              text=True).stdout.startswith("memg ")
        user = subprocess.run(["getent", "passwd", "memg"], capture_output=True, text=True)
        assert user.returncode == 0 and "/nonexistent" in user.stdout, user.stdout
        conf = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", "memg"],
                              capture_output=True, text=True).stdout
        assert "/etc/memg/memg.conf" in conf
    finally:
        r = subprocess.run(["dpkg", "--purge", "memg"], capture_output=True, text=True,
                           timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists("/usr/bin/memg") and not os.path.exists("/etc/memg")
    assert subprocess.run(["getent", "passwd", "memg"], capture_output=True).returncode != 0
