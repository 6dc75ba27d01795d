"""The dashboard at / in headless Chromium: the page loads with no console
message, its numbers change after traffic, and a screenshot is saved under
the test output (build/test-output/dashboard.png). memg only."""
import os
import re
import shutil
import subprocess
import threading

import pytest

from conftest import ROOT
from test_http import http_port_of, request

pytestmark = pytest.mark.memg_only

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(url, *extra, tmp):
    """Run headless Chromium on url; (stdout, the console lines it logged)."""
    assert CHROMIUM, "chromium missing (Debian package chromium; make deps installs it)"
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--user-data-dir=%s" % tmp, "--enable-logging=stderr", "--v=0",
            "--virtual-time-budget=4000"] + list(extra) + [url]
    res = subprocess.run(argv, capture_output=True, timeout=90, text=True, cwd=tmp)
    console = [ln for ln in res.stderr.splitlines() if ":CONSOLE" in ln]
    return res.stdout, console


def numbers(dom):
    """The six charts' current values and the info line."""
    outs = re.findall(r'<div class="c" id="chart\d">.*?<output>([^<]*)</output>', dom)
    info = re.search(r'id="info">([^<]*)<', dom).group(1)
    return outs, info


def test_dashboard_in_headless_chromium(server_factory, tmp_path):
    srv = server_factory("-o", "http_port=0")
    port = http_port_of(srv)
    url = "http://127.0.0.1:%d/" % port
    # the console check sees errors: a broken page is caught
    broken = tmp_path / "broken.html"
    broken.write_text("<script>undefinedFunction();</script>")
    _, console = chromium(broken.as_uri(), "--dump-dom", tmp=str(tmp_path))
    assert any("undefinedFunction" in ln for ln in console), console

    dom, console = chromium(url, "--dump-dom", tmp=str(tmp_path))
    assert console == [], console
    before, info_before = numbers(dom)
    assert len(before) == 6, dom[:2000]
    assert "0 items stored" in info_before

    with srv.raw() as r:
        for i in range(200):
            assert r.set(b"key%d" % i, b"v" * 500) == b"STORED\r\n"
        for i in range(300):
            r.get(b"key%d" % (i % 250))
    for i in range(20):
        request(port, "GET", "/k/key%d" % i)
    stop = threading.Event()

    def load():  # gets while the page polls: its rates are not zero
        with srv.raw() as r:
            while not stop.is_set():
                r.get(b"key1")
                r.get(b"missing")

    t = threading.Thread(target=load)
    t.start()
    try:
        dom, console = chromium(url, "--dump-dom", tmp=str(tmp_path))
    finally:
        stop.set()
        t.join(10)
    assert console == [], console
    after, info_after = numbers(dom)
    assert "200 items stored" in info_after, info_after
    gets = int(re.search(r"(\d+) gets since start", info_after).group(1))
    assert gets > 320, info_after
    assert after[3] == "200"                       # items
    assert after[2] != before[2]                   # memory used
    assert not after[0].startswith("0 "), after    # get requests/s
    assert after[1] not in ("-%", "0%", "100%"), after  # about half the gets hit

    out_dir = os.path.join(ROOT, "build", "test-output")
    os.makedirs(out_dir, exist_ok=True)
    shot = os.path.join(out_dir, "dashboard.png")
    if os.path.exists(shot):
        os.unlink(shot)
    _, console = chromium(url, "--screenshot=%s" % shot, "--window-size=1100,640",
                          "--hide-scrollbars", tmp=str(tmp_path))
    assert console == [], console
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(shot) > 10000
