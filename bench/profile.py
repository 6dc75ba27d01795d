#!/usr/bin/python3
"""Where a server's user-space instructions per request go, under callgrind.

Each server runs under `valgrind --tool=callgrind` twice, through the same
start and prefill and then n or 3n requests of the workload; the difference
of the two dumps is 2n requests and nothing else, per function. Instruction
counts do not depend on what else runs on the machine, so they are the
before/after evidence for a change to the request path (wall and CPU times
on a shared machine are not). Kernel time (recv, send, epoll) is not in them.

    bench/profile.py --memg build/memg --tool build/memg-bench \
        [--memcached145 PATH] [--floor PATH] [--only B,B-bin] [--ops N]

Writes bench/results/profile.md: instructions per request for each server
and workload, and memg's top functions (self and inclusive) per workload.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import compare

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = {  # the pipelined rows of compare.py, with their generator arguments
    "B": (compare.B_ARGS, False),
    "B-bin": (compare.B_ARGS, True),
    "B-meta": (compare.B_ARGS + ["--meta"], False),
    "C": (compare.C_ARGS, False),
}
FLOOR_OK = ("B",)  # the only pipelined row memg-floor answers
# C's requests get 100 keys each: a tenth as many of them keeps a run's length
# near the others' (at --ops 200000 it ran 60M keys under callgrind: an hour).
OPS_DIVISOR = {"C": 10}
# Work a server does on its clock, not per request: under valgrind's slowdown
# (which other load on the machine changes) it would count per request as
# many times more. Left out of Ir/request, shown apart. memg: the 100 ms tick;
# memcached: its background threads.
CLOCK_WORK = ("_on_tick", "lru_maintainer_thread", "item_crawler_thread", "logger_thread",
              "clock_handler", "slab_rebalance_thread", "storage_compact_thread")


def _callgrind(name, binary, logdir, binproto, out):
    """A Server whose command runs under callgrind."""
    vg = ["valgrind", "--tool=callgrind", "--dump-instr=no", f"--callgrind-out-file={out}"]
    proto = (["-B", "binary"] if binproto else None)
    if os.geteuid() == 0:  # callgrind reopens its dump at exit: it must be nobody's from the start
        vg = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + vg
    # valgrind keeps 12 of the 1,024 descriptors for itself and refuses any other
    # limit: memcached sets its limit to -c and starts only when they agree
    return compare.Server(name, binary, logdir, proto_args=proto, wrap=vg, ready_limit=60.0,
                          conns=1024 - 12, as_user=False)


def _annotated(path, inclusive):
    """{function: Ir} from callgrind_annotate, and the total."""
    cmd = ["callgrind_annotate", "--threshold=100", "--auto=no"] + (["--inclusive=yes"] if inclusive else [])
    p = subprocess.run(cmd + [path], capture_output=True, text=True, timeout=120)
    fns, total = {}, None
    for line in p.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) != 2 or not parts[0].replace(",", "").isdigit():
            continue
        ir = int(parts[0].replace(",", ""))
        what = parts[1].split(")", 1)[-1].split(" [")[0].strip()  # past "(30.1%)"
        if what == "PROGRAM TOTALS":
            total = ir
        elif ":" in what:
            src, fn = what.rsplit(":", 1)
            name = f"{os.path.basename(src)}:{fn}"
            fns[name] = fns.get(name, 0) + ir
    return fns, total


def _run(o, name, binary, wl, logdir, n):
    """One server under callgrind: start, prefill, n requests, stop."""
    args, binproto = WORKLOADS[wl]
    out = os.path.join(logdir, f"cg-{name.replace(' ', '_')}-{wl}-{n}.out")
    s = _callgrind(name, binary, logdir, binproto, out)
    if not s.ready:
        s.stop()
        return None
    cmd = [o.tool, "-s", compare.HOST, "-p", str(s.port), "-q", "--prefill", "--seed", "1",
           "-n", str(n)] + args + (["--binary"] if binproto else [])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    s.stop()
    for _ in range(300):  # callgrind writes its dump at exit
        if os.path.exists(out) and os.path.getsize(out):
            break
        time.sleep(0.1)
    res, _ = compare.parse_result(p.stdout)
    if not res or res.get("errors") or not os.path.exists(out):
        compare.log(f"profile: {name} {wl} n={n}: no result ({p.stdout[-300:]} {p.stderr[-300:]})")
        return None
    return {"ops": res["ops"], "file": out, "self": _annotated(out, False),
            "incl": _annotated(out, True)}


def _reread(o, name, wl, logdir):
    """An earlier run's two dumps (--reread DIR), annotated again."""
    base = os.path.join(logdir, f"cg-{name.replace(' ', '_')}-{wl}-")
    runs = []
    n1 = max(1000, o.ops // OPS_DIVISOR.get(wl, 1))
    for n in (n1, 3 * n1):
        if not os.path.exists(f"{base}{n}.out"):
            return None
        runs.append({"ops": n, "file": f"{base}{n}.out", "self": _annotated(f"{base}{n}.out", False),
                     "incl": _annotated(f"{base}{n}.out", True)})
    return runs


def run_one(o, name, binary, wl, logdir):
    """Two runs, n and 3n requests after the same start and prefill: their
    difference is 2n requests and nothing else (callgrind_control cannot
    reach a server asleep in epoll_wait, so counters are not zeroed)."""
    if o.reread:
        a, b = _reread(o, name, wl, logdir) or (None, None)
    else:
        n = max(1000, o.ops // OPS_DIVISOR.get(wl, 1))
        a = _run(o, name, binary, wl, logdir, n)
        b = _run(o, name, binary, wl, logdir, 3 * n) if a else None
    if not b or b["ops"] <= a["ops"] or a["self"][1] is None or b["self"][1] is None:
        return None
    ops = b["ops"] - a["ops"]

    def diff(kind):
        fa, fb = a[kind][0], b[kind][0]
        d = {f: (fb.get(f, 0) - fa.get(f, 0)) / ops for f in fb}
        return sorted(d.items(), key=lambda kv: -kv[1])
    incl = diff("incl")
    clock = sum(v for f, v in incl if f.split(":")[-1] in CLOCK_WORK)
    return {"per": (b["self"][1] - a["self"][1]) / ops - clock, "clock": clock,
            "self": diff("self"), "incl": incl, "file": b["file"]}


def _shown(path):
    """A path as the table shows it: inside the repository, relative to it."""
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else os.path.basename(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--memg", default=os.path.join(ROOT, "build/memg"))
    ap.add_argument("--memcached145", default=compare.MC145_DEFAULT)
    ap.add_argument("--floor")
    ap.add_argument("--tool", default=os.path.join(ROOT, "build/memg-bench"))
    ap.add_argument("--only", default="B,B-bin,B-meta,C")
    ap.add_argument("--ops", type=int, default=200000)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "profile.md"))
    ap.add_argument("--keep", help="copy the callgrind dumps into this directory")
    ap.add_argument("--reread", help="annotate the dumps an earlier run left in this directory "
                    "(its --ops) instead of running")
    o = ap.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        sys.exit("profile: valgrind is not installed (apt-get install valgrind)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))  # see _callgrind
    logdir = o.reread or tempfile.mkdtemp(prefix="memg-profile-")
    os.chmod(logdir, 0o777)  # the dump is written after -u nobody
    wls = [w.strip() for w in o.only.split(",") if w.strip()]
    servers = [("memg", o.memg)]
    if o.memcached145 and os.access(o.memcached145, os.X_OK):
        servers.append(("memcached 1.6.45", o.memcached145))
    res = {}
    for wl in wls:
        for name, binary in servers + ([("memg-floor", o.floor)]
                                       if o.floor and wl in FLOOR_OK else []):
            compare.log(f"profile: {wl} {name}")
            res[(name, wl)] = run_one(o, name, binary, wl, logdir)
    names = [n for n, _ in servers] + (["memg-floor"] if o.floor else [])
    lines = ["# Where the user-space instructions per request go (callgrind)", "",
             f"- commit: {compare.commit()}; memg `{_shown(o.memg)}`",
             f"- {o.ops:,} requests per run (C: a tenth as many, of 100 keys each) after a prefill the counters do not see; "
             "instructions (Ir) in user space only: recv, send and epoll's kernel time is "
             "not here. Counts do not move with other load on the machine, except the share "
             "of a read's fixed cost each pipelined request bears (how many requests one read "
             "brings depends on timing): repeated runs differ by about 5%.",
             "- work done on the clock (memg's 100 ms tick: the expiry sweep; memcached's "
             "background threads) is left out of Ir/request and shown under each row: under "
             "valgrind's slowdown it would count many times over.",
             "- generated by bench/profile.py (`make bench-profile`, a step of `make bench`)", "",
             "| workload | " + " | ".join(f"{n} Ir/request" for n in names)
             + " | memg / 1.6.45 | memg / floor |",
             "|---|" + "---:|" * (len(names) + 2)]
    for wl in wls:
        per = {n: (res.get((n, wl)) or {}).get("per") for n in names}
        cells = [f"{per[n]:,.0f}" if per[n] else "—" for n in names]
        m, c, f = per.get("memg"), per.get("memcached 1.6.45"), per.get("memg-floor")
        lines.append(f"| {wl} | " + " | ".join(cells) + f" | {m / c:.2f}x |" if m and c
                     else f"| {wl} | " + " | ".join(cells) + " | — |")
        lines[-1] += f" {m / f:.2f}x |" if m and f else " — |"
    for wl in wls:
        r = res.get(("memg", wl))
        if not r:
            continue
        lines += ["", f"## memg, {wl}: top functions, Ir per request", "",
                  "| self | function | inclusive | function |", "|---:|---|---:|---|"]
        selfs, incl = r["self"][:o.top], r["incl"][:o.top]
        for i in range(max(len(selfs), len(incl))):
            x = selfs[i] if i < len(selfs) else None
            y = incl[i] if i < len(incl) else None
            lines.append("| " + (f"{x[1]:.1f} | `{x[0]}`" if x else " | ")
                         + " | " + (f"{y[1]:.1f} | `{y[0]}`" if y else " | ") + " |")
        lines.append(f"\nClock-driven work left out of the Ir/request above: {r['clock']:.1f} "
                     "per request in this run.")
        if o.keep:
            os.makedirs(o.keep, exist_ok=True)
            shutil.copy(r["file"], os.path.join(o.keep, os.path.basename(r["file"])))
    md = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(o.out), exist_ok=True)
    with open(o.out, "w") as fh:
        fh.write(md)
    print(md)


if __name__ == "__main__":
    main()
