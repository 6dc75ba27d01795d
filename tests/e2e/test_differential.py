"""Differential test: the same scripted session against memcached and the
server under test; the transcripts must match byte for byte.

The scripts are diff_script.txt (behaviour any client may meet) and
diff_quirks.txt (memcached's odder corners); see diff_script.txt for the
syntax. With E2E_SERVER=memcached both sides are memcached, which checks the
scripts are deterministic.
"""
import codecs
import difflib
import os
import re
import socket
import threading
import time

import pytest

from conftest import IS_MEMCACHED, SERVER_KIND

HERE = os.path.dirname(os.path.abspath(__file__))

FIRST_BYTE_WAIT = 0.5    # no reply at all within this: the command answers nothing (generous: CI may be loaded)
QUIET_AFTER_REPLY = 0.015  # a complete reply, then this long quiet: it is over
PARTIAL_WAIT = 3.0       # an incomplete reply gets this long to complete

REP_RE = re.compile(rb"\{(.)\*(\d+)\}")
CAS_RE = re.compile(rb"\{cas:([^}]*)\}")


def load_script(name):
    units = []
    with open(os.path.join(HERE, name), "rb") as f:
        for lineno, line in enumerate(f.read().split(b"\n"), 1):
            if not line.strip() or line.lstrip().startswith(b"#"):
                continue
            units.append((lineno, line))
    return units


def expand(text, casvals):
    if text == b"!reconnect":
        return None
    raw = text.startswith(b"raw:")
    if raw:
        text = text[4:]
    text = REP_RE.sub(lambda m: m.group(1) * int(m.group(2)), text)
    text = CAS_RE.sub(lambda m: casvals.get(m.group(1), b"0"), text)
    data = codecs.escape_decode(text)[0]
    return data if raw else data + b"\r\n"


def reply_complete(buf):
    """True when buf is a sequence of whole replies (VALUE blocks with their
    data, STAT blocks with their END, single lines)."""
    i, n = 0, len(buf)
    in_stats = False
    while i < n:
        j = buf.find(b"\r\n", i)
        if j < 0:
            return False
        line = buf[i:j]
        i = j + 2
        if line.startswith(b"VALUE "):
            parts = line.split(b" ")
            if len(parts) < 4 or not parts[3].isdigit():
                continue
            i += int(parts[3]) + 2
            if i > n:
                return False
            if i == n:
                return False  # END still to come
            continue
        if line.startswith(b"VA "):  # meta: the value follows, nothing after it
            parts = line.split(b" ")
            if parts[1].isdigit():
                i += int(parts[1]) + 2
                if i > n:
                    return False
            continue
        if line.startswith(b"STAT "):
            in_stats = True
            if i == n:
                return False
            continue
        in_stats = False
    return not in_stats


def read_reply(sock):
    """Everything the server answers to one unit; b'<closed>' marks EOF."""
    buf = b""
    while True:
        if not buf:
            wait = FIRST_BYTE_WAIT
        elif reply_complete(buf):
            wait = QUIET_AFTER_REPLY
        else:
            wait = PARTIAL_WAIT
        sock.settimeout(wait)
        try:
            d = sock.recv(1 << 20)
        except socket.timeout:
            return buf, False
        except ConnectionResetError:
            return buf + b"<closed>", True
        if not d:
            return buf + b"<closed>", True
        buf += d


def normalise(reply, cas_order, casvals):
    """Mask what legitimately differs: CAS uniques (numbered by first
    appearance), the version string, stats blocks. Records raw CAS values per
    key in casvals for {cas:KEY}."""
    out = []
    i, n = 0, len(reply)
    while i < n:
        j = reply.find(b"\r\n", i)
        if j < 0:
            out.append(reply[i:])
            break
        line = reply[i:j]
        i = j + 2
        if line.startswith(b"VALUE "):
            parts = line.split(b" ")
            if len(parts) == 5 and parts[4].isdigit():
                casvals[parts[1]] = parts[4]
                if parts[4] not in cas_order:
                    cas_order[parts[4]] = len(cas_order) + 1
                parts[4] = b"<cas#%d>" % cas_order[parts[4]]
            out.append(b" ".join(parts) + b"\r\n")
            if len(parts) >= 4 and parts[3].isdigit():
                k = int(parts[3]) + 2
                out.append(reply[i:i + k])
                i += k
            continue
        if line.split(b" ", 1)[0] in (b"VA", b"HD", b"EN", b"NF", b"NS", b"EX", b"ME"):
            # meta: mask c<cas> tokens and ME's cas= by order of appearance
            parts = line.split(b" ")
            for k, tok in enumerate(parts):
                for pre in (b"c", b"cas="):
                    if k > 0 and tok.startswith(pre) and tok[len(pre):].isdigit() and \
                            (pre == b"cas=") == (parts[0] == b"ME"):
                        v = tok[len(pre):]
                        if v != b"0":
                            casvals[b"_"] = v
                            if v not in cas_order:
                                cas_order[v] = len(cas_order) + 1
                            parts[k] = pre + b"<cas#%d>" % cas_order[v]
            if parts[0] == b"ME":  # seconds since the last access: when the clock ticks
                parts = [b"la=<age>" if p.startswith(b"la=") else p for p in parts]
            out.append(b" ".join(parts) + b"\r\n")
            if line.startswith(b"VA ") and parts[1].isdigit():
                k = int(parts[1]) + 2
                out.append(reply[i:i + k])
                i += k
            continue
        if line.startswith(b"VERSION "):
            out.append(b"VERSION <masked>\r\n")
            continue
        if line.startswith(b"STAT "):
            if not out or out[-1] != b"STAT <masked>\r\n":
                out.append(b"STAT <masked>\r\n")
            continue
        out.append(line + b"\r\n")
    return b"".join(out)


def run_steps(addr, steps, limit):
    """Send each step's bytes and read its reply on one connection (a new one
    where a step's data is None); returns [(label, shown, reply)]. A step is
    (label, shown, data) where data is bytes, None, or a function of the CAS
    values seen so far returning one of those."""
    transcript = []
    cas_order, casvals = {}, {}
    sock = None
    deadline = time.monotonic() + limit
    try:
        for label, shown, data in steps:
            assert time.monotonic() < deadline, "session took over %d s" % limit
            if callable(data):
                data = data(casvals)
            if data is None or sock is None:
                if sock is not None:
                    sock.close()
                sock = socket.create_connection(addr, timeout=5)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if data is None:
                    transcript.append((label, shown, b""))
                    continue
            try:
                sock.sendall(data)
            except OSError as e:
                transcript.append((label, shown, b"<send failed: %s>" % str(e).encode()))
                sock.close()
                sock = None
                continue
            reply, closed = read_reply(sock)
            transcript.append((label, shown, normalise(reply, cas_order, casvals)))
            if closed:
                sock.close()
                sock = None
    finally:
        if sock is not None:
            sock.close()
    return transcript


def run_session(addr, units):
    """Send every unit, read its reply; returns [(lineno, text, reply)]."""
    return run_steps(addr, [(lineno, text, lambda cv, t=text: expand(t, cv))
                            for lineno, text in units], 120)


def show(b):
    return repr(b)[2:-1] if b else "(nothing)"


def cmd_text(t):
    """A script line as written in the file."""
    return t.decode("latin-1")


def compare(script, ref, sut, ref_name, sut_name):
    if [r for _, _, r in ref] == [r for _, _, r in sut]:
        return
    if b"".join(r for _, _, r in ref) == b"".join(r for _, _, r in sut):
        return  # same bytes, only split differently across commands (timing)
    for idx, ((lineno, text, a), (_, _, b)) in enumerate(zip(ref, sut)):
        if a != b:
            break
    ctx = []
    for lineno2, text2, r in ref[max(0, idx - 4):idx]:
        ctx.append("    %s:%d  > %s\n        < %s" % (script, lineno2, cmd_text(text2), show(r)))
    msg = ["%s and %s differ first at %s line %d:" % (ref_name, sut_name, script, lineno),
           "  context (same on both):"] + ctx + [
           "  command: %s" % cmd_text(text),
           "  %-10s %s" % (ref_name + ":", show(a)),
           "  %-10s %s" % (sut_name + ":", show(b))]
    # and a short diff of the rest of the transcripts
    def lines(tr):
        out = []
        for ln, t, r in tr:
            out += ["%4d > %s" % (ln, cmd_text(t)), "     < %s" % show(r)]
        return out
    ra, rb = lines(ref[idx:]), lines(sut[idx:])
    d = list(difflib.unified_diff(ra, rb, ref_name, sut_name, lineterm="", n=1))
    nd = sum(1 for x, y in zip(ref, sut) if x[2] != y[2])
    msg.append("  %d of %d commands differ; diff from there (first 60 lines):" % (nd, len(ref)))
    msg += ["    " + line for line in d[:60]]
    pytest.fail("\n".join(msg), pytrace=False)


REFS = {"memcached": "1.6.18", "memcached145": "1.6.45"}


@pytest.mark.parametrize("ref", sorted(REFS))
@pytest.mark.parametrize("script", ["diff_script.txt", "diff_quirks.txt", "diff_meta.txt"])
def test_differential(server_factory, script, ref):
    if IS_MEMCACHED and ref != SERVER_KIND:
        pytest.skip("E2E_SERVER=%s checks the scripts against itself only" % SERVER_KIND)
    units = load_script(script)
    assert len(units) > 20
    ref_srv = server_factory(kind=ref)
    sut_srv = server_factory()
    results = {}

    def worker(name, srv):
        try:
            results[name] = run_session(srv.addr, units)
        except BaseException as e:  # pragma: no cover - reported below
            results[name] = e

    threads = [threading.Thread(target=worker, args=(n, s), daemon=True)
               for n, s in (("ref", ref_srv), ("sut", sut_srv))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    for name in ("ref", "sut"):
        if isinstance(results.get(name), BaseException):
            raise results[name]
        assert name in results, "%s session did not finish" % name
    assert sut_srv.alive(), "server under test died:\n" + sut_srv.log_text()
    if ref == "memcached" and not IS_MEMCACHED:
        compare_1618(script, results["ref"], results["sut"])
        return
    compare(script, results["ref"], results["sut"], "memcached " + REFS[ref],
            "memcached#2" if IS_MEMCACHED else "memg")


def known_1618(script):
    """diff_1618.txt's lines for this script: {line: (command, 1.6.18's reply)}."""
    out = {}
    with open(os.path.join(HERE, "diff_1618.txt"), "rb") as f:
        for line in f.read().split(b"\n"):
            if not line or line.startswith(b"#"):
                continue
            where, cmd, reply = line.split(b"\t")
            name, lineno = where.decode().split(":")
            if name == script:
                out[int(lineno)] = (cmd, codecs.escape_decode(reply)[0])
    return out


def compare_1618(script, ref, sut):
    """memg answers as 1.6.45: against 1.6.18 the commands that differ are
    exactly those diff_1618.txt lists, and 1.6.18 answers them as listed."""
    known = known_1618(script)
    assert known, "diff_1618.txt lists nothing for %s" % script
    seen = {}
    i = 0
    while i < min(len(ref), len(sut)):
        if ref[i][2] == sut[i][2]:
            i += 1
            continue
        # the same bytes split otherwise over a few commands: timing, not a difference
        ends = [j for j in range(i + 1, min(i + 4, len(ref), len(sut)))
                if b"".join(r for _, _, r in ref[i:j + 1]) == b"".join(r for _, _, r in sut[i:j + 1])]
        if ends:
            i = ends[0] + 1
            continue
        seen[ref[i][0]] = (ref[i][1], ref[i][2])
        i += 1
    wrong = ["%s:%d > %s\n    1.6.18: %s\n    memg:   %s\n    listed: %s" % (
        script, n, cmd_text(seen[n][0]), show(seen[n][1]),
        show(next(b for ln, _, b in sut if ln == n)),
        show(known[n][1]) if n in known else "(not listed)")
        for n in sorted(seen) if known.get(n) != seen[n]]
    same = ["%s:%d > %s: listed, but 1.6.18 answers as memg" % (script, n, cmd_text(known[n][0]))
            for n in sorted(set(known) - set(seen))]
    if wrong or same:
        pytest.fail("\n".join(wrong + same), pytrace=False)


def stat_names(srv):
    with srv.raw() as r:
        reply = r.cmd(b"stats\r\n")
    names = []
    for line in reply.split(b"\r\n"):
        if line.startswith(b"STAT "):
            names.append(line.split(b" ")[1].decode())
    return names


# docs/STATS.md: memg prints no `libevent` and five names of its own at the end
MEMCACHED_ONLY_STATS = ["libevent"]
MEMG_ONLY_STATS = ["segments_total", "segments_free", "segment_size", "restored_items",
                   "restore_time_us"]


# 1.6.18's name where 1.6.45 has two (README: where 1.6.18 answered otherwise)
STATS_1618 = {"slab_reassign_evictions_nomem": None, "slab_reassign_busy_nomem": 1,
              "slab_reassign_last_busy_status": 1}


@pytest.mark.parametrize("opts", [(), ("-o", "no_lru_crawler,no_lru_maintainer")],
                         ids=["defaults", "no_crawler_no_maintainer"])
def test_stats_names_match_memcached(server_factory, opts):
    """`stats` names the same general counters as memcached 1.6.45, in the
    same order (values are not compared), but for the documented exceptions;
    with stats.t's options too (no crawler, no LRU maintainer: their lines go)."""
    ref = stat_names(server_factory(*opts, kind="memcached" if SERVER_KIND == "memcached"
                                    else "memcached145"))
    sut = stat_names(server_factory(*opts))
    if not IS_MEMCACHED:
        ref = [n for n in ref if n not in MEMCACHED_ONLY_STATS]
        assert sut[-len(MEMG_ONLY_STATS):] == MEMG_ONLY_STATS, sut[-5:]
        sut = sut[:-len(MEMG_ONLY_STATS)]
    missing = [n for n in ref if n not in sut]
    extra = [n for n in sut if n not in ref]
    assert not missing and not extra, "missing: %s; extra: %s" % (missing, extra)
    assert ref == sut
    if SERVER_KIND == "memg" and not opts:  # 1.6.18 differs from 1.6.45 only there
        old = [n for n in stat_names(server_factory(kind="memcached"))
               if n not in MEMCACHED_ONLY_STATS]
        assert [n for n in old if n not in STATS_1618] == \
            [n for n in sut if n not in STATS_1618]
        assert "slab_reassign_evictions_nomem" in old
