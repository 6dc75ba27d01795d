#!/usr/bin/python3
"""Cache quality: the miss ratio of a read-through workload at equal memory,
memg against memcached -t 1 and against the offline LRU, S3-FIFO and optimum.

    bench/quality.py --memg build/memg --tool build/memg-bench --sim build/memg-sim

For each workload and each -m (16, 32, 64, 128 MB) both servers are started
fresh and fed the same deterministic stream (memg-bench --through: get, and
on a miss set); memg-sim computes LRU, S3-FIFO and Belady's optimum over the very same
stream with the same byte budget. Writes bench/results/quality.md (the table)
and bench/results/quality.svg (miss ratio against -m, one panel a workload),
and bench/results/reach.md (bench/reach.py: what the offline optimum reaches
against the memcached figures just measured).
bench/README.md ("Cache quality") explains the workloads and the columns.
Loopback only; every step has a time limit.
"""
import argparse
import datetime
import math
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import log  # noqa: E402  (same directory)

from qruns import BASE, MEMS, WORKLOADS, mem_for, run_server, run_sim  # noqa: E402

def fmt(x, d=4):
    return "n/a" if x is None else f"{x:.{d}f}"


def table(o, results):
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    out = [f"# Cache quality: read-through miss ratio ({now})", "",
           "memg and `memcached -t 1` at the same `-m`, each started fresh per cell; offline LRU,"
           " S3-FIFO per item (S3: memg's policy without segments, 1-bit marks or ghost bytes)"
           " and optimum (OPT) over the same stream with the same byte budget, items charged"
           " memg's record + 8 B of table (LRU-mc: memcached's slab chunk). Ratios: lower is"
           " better; goal memg/memcached <= 0.85 (S3/mc: what the per-item policy would give)."
           " One run per cell. `-m` counts item memory in both: memcached's slab pages, memg's"
           " segments (its table and ghost queue beside them up to an eighth of -m, as memcached's"
           " table is beside its pages); the RSS"
           " columns are what each process holds." + (f" memcached's columns are taken from"
           f" {o.memcached_from_what} (its figures do not depend on memg's code)."
           if o.memcached_from else ""), ""]
    summary = []
    for name, desc, _ in WORKLOADS:
        r = results.get(name)
        if not r:
            continue
        out += [f"## {name}: {desc}", "",
                "| -m MB | memg | memcached | memg/mc | LRU | LRU-mc | S3 | S3/mc | OPT | memg/OPT "
                "| OPT/mc | memg req/s | mc req/s | memg RSS MB | mc RSS MB |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        curves = {"memg": {}, "memcached": {}, "LRU": {}, "S3": {}, "OPT": {}}
        for m in MEMS:
            g, c = r["memg"].get(m, {}), r["memcached"].get(m, {})
            sim = r["sim"]
            gm, cm = g.get("miss_ratio"), c.get("miss_ratio")
            lru = float(sim[(m, "lru", "memg")]["miss_ratio"])
            lmc = float(sim[(m, "lru", "memcached")]["miss_ratio"])
            opt = float(sim[(m, "opt", "memg")]["miss_ratio"])
            s3 = float(sim[(m, "s3fifo", "memg")]["miss_ratio"])
            curves["memg"][m], curves["memcached"][m] = gm, cm
            curves["LRU"][m], curves["S3"][m], curves["OPT"][m] = lru, s3, opt
            ratio = gm / cm if gm is not None and cm else None
            summary.append((name, m, ratio))
            rss = [x.get("srv_rss_kb") for x in (g, c)]
            out.append(
                f"| {m} | {fmt(gm)} | {fmt(cm)} | {fmt(ratio, 2)} | {lru:.4f} | {lmc:.4f} "
                f"| {s3:.4f} | {fmt(s3 / cm if cm else None, 2)} | {opt:.4f} | {fmt(gm / opt if gm is not None and opt else None, 2)} "
                f"| {fmt(opt / cm if cm else None, 2)} "
                f"| {fmt(g.get('rps'), 0)} | {fmt(c.get('rps'), 0)} "
                f"| {fmt(rss[0] / 1024 if rss[0] else None, 1)} "
                f"| {fmt(rss[1] / 1024 if rss[1] else None, 1)} |")
            for who, x in (("memg", g), ("memcached", c)):
                if "error" in x:
                    out.append(f"|  | **{who}: {x['error']}** |")
        target = curves["memcached"].get(64)
        if target is not None:
            out += ["", f"MB each needs to reach memcached's miss ratio at -m 64 ({target:.4f}):"
                    + "".join(f" {k} {mem_for(v, target)};" for k, v in curves.items())]
            rss = {who: {r[who][m]["srv_rss_kb"] / 1024: curves[who][m] for m in MEMS
                         if r[who].get(m, {}).get("srv_rss_kb") and curves[who].get(m) is not None}
                   for who in ("memg", "memcached")}
            held = r["memcached"].get(64, {}).get("srv_rss_kb")
            if held:
                out += ["", f"The same in RSS (MB the process holds; memcached holds {held / 1024:.1f}"
                        f" at -m 64): memg {mem_for(rss['memg'], target)}; memcached"
                        f" {mem_for(rss['memcached'], target)}."]
        if "scan" in name:
            out += ["", "Scan recovery (hot keys' hit ratio back within 1% of before the scan;"
                    " goal: within 10 s of the scan's end):", "",
                    "| -m MB | memg before | memg worst | memg back after | memcached before "
                    "| memcached worst | memcached back after | LRU back after | S3 back after "
                    "| OPT back after |",
                    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for m in MEMS:
                g, c, sim = r["memg"].get(m, {}), r["memcached"].get(m, {}), r["sim"]
                out.append(f"| {m} | {fmt(g.get('scan_pre'))} | {fmt(g.get('scan_low'))} "
                           f"| {_back(g)} | {fmt(c.get('scan_pre'))} | {fmt(c.get('scan_low'))} "
                           f"| {_back(c)} | {_back_req(sim[(m, 'lru', 'memg')])} "
                           f"| {_back_req(sim[(m, 's3fifo', 'memg')])} "
                           f"| {_back_req(sim[(m, 'opt', 'memg')])} |")
        out.append("")
    ok = [x for x in summary if x[2] is not None]
    worst = max(ok, key=lambda x: x[2]) if ok else None
    out.insert(4, f"Cells with memg/memcached <= 0.85: {sum(x[2] <= 0.85 for x in ok)} of "
               f"{len(summary)}" + (f"; worst {worst[2]:.2f} ({worst[0]}, -m {worst[1]})."
                                    if worst else ".") + "\n")
    return "\n".join(out) + "\n"


def _back(x):
    s = x.get("scan_back_s")
    if s is None:
        return "n/a"
    return "never" if s < 0 else f"{s:.2f} s ({int(x['scan_back_req'])} req)"


def _back_req(kv):
    v = int(kv["scan_back_req"])
    return "never" if v < 0 else f"{v} req"


def chart(results, path):
    """One panel per workload: miss ratio against -m (log scale), five lines."""
    names = [n for n, _, _ in WORKLOADS if n in results]
    cols, pw, ph, pad = 4, 300, 220, 50
    rows = (len(names) + cols - 1) // cols
    w, h = cols * (pw + pad) + pad, rows * (ph + pad + 20) + 60
    series = [("memg", "#d62728"), ("memcached", "#1f77b4"), ("LRU", "#7f7f7f"),
              ("S3", "#ff7f0e"), ("OPT", "#2ca02c")]
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="11">', f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{pad}" y="22" font-size="15">Read-through miss ratio against -m (MB)</text>']
    for i, (label, color) in enumerate(series):
        x = pad + 330 + i * 95
        svg.append(f'<line x1="{x}" y1="18" x2="{x + 20}" y2="18" stroke="{color}" stroke-width="2"/>'
                   f'<text x="{x + 25}" y="22">{label}</text>')
    for idx, name in enumerate(names):
        r = results[name]
        x0 = pad + (idx % cols) * (pw + pad)
        y0 = 60 + (idx // cols) * (ph + pad + 20)
        pts = {"memg": {m: r["memg"].get(m, {}).get("miss_ratio") for m in MEMS},
               "memcached": {m: r["memcached"].get(m, {}).get("miss_ratio") for m in MEMS},
               "LRU": {m: float(r["sim"][(m, "lru", "memg")]["miss_ratio"]) for m in MEMS},
               "S3": {m: float(r["sim"][(m, "s3fifo", "memg")]["miss_ratio"]) for m in MEMS},
               "OPT": {m: float(r["sim"][(m, "opt", "memg")]["miss_ratio"]) for m in MEMS}}
        top = max(v for s in pts.values() for v in s.values() if v is not None) * 1.1 or 1

        def xy(m, v):
            fx = (math.log2(m) - 4) / 3
            return x0 + fx * pw, y0 + ph - v / top * ph

        svg.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>'
                   f'<text x="{x0}" y="{y0 - 6}" font-size="12">{name}</text>')
        for m in MEMS:
            x, _ = xy(m, 0)
            svg.append(f'<text x="{x - 8}" y="{y0 + ph + 14}">{m}</text>')
        for k in range(5):
            v = top * k / 4
            _, y = xy(16, v)
            svg.append(f'<text x="{x0 - 36}" y="{y + 4}">{v:.2f}</text>'
                       f'<line x1="{x0}" y1="{y}" x2="{x0 + pw}" y2="{y}" stroke="#eee"/>')
        for label, color in series:
            p = [xy(m, v) for m, v in sorted(pts[label].items()) if v is not None]
            if p:
                d = " ".join(f"{x:.1f},{y:.1f}" for x, y in p)
                svg.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
                svg += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>' for x, y in p]
    svg.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(svg) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--memg", default=os.environ.get("MEMG_BIN", os.path.join(HERE, "../build/memg")))
    ap.add_argument("--memcached", default=os.environ.get("MEMCACHED_BIN", "/usr/bin/memcached"))
    ap.add_argument("--tool", default=os.path.join(HERE, "../build/memg-bench"))
    ap.add_argument("--sim", default=os.path.join(HERE, "../build/memg-sim"))
    ap.add_argument("--only", default="", help="workloads, comma-separated (default: all)")
    ap.add_argument("--servers", default="memg,memcached")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "quality"))
    ap.add_argument("--limit", type=int, default=240, help="seconds per run at most")
    ap.add_argument("--memcached-from", default="",
                    help="a quality.md whose memcached figures are taken instead of running it")
    o = ap.parse_args()
    import reach  # noqa: E402
    # memcached's miss ratios do not depend on memg's code: a memg change can
    # be measured against the memcached figures of an earlier run
    reused = reach.cells_from_table(o.memcached_from) if o.memcached_from else {}
    if o.memcached_from:
        with open(o.memcached_from) as f:
            o.memcached_from_what = "the run of " + f.readline().split("(")[-1].rstrip(")\n")
    o.logdir = tempfile.mkdtemp(prefix="memg-quality-")
    want = set(filter(None, o.only.split(",")))
    results, t0 = {}, time.time()
    for name, _, args in WORKLOADS:
        if want and name not in want:
            continue
        stream = BASE + args
        r = results[name] = {"sim": run_sim(o, stream, policies="lru,s3fifo,opt"), "memg": {},
                             "memcached": {}, "reach": reach.sim_curves(o, stream)}
        for m in MEMS:
            for who, binary in (("memg", o.memg), ("memcached", o.memcached)):
                if who == "memcached" and reused:
                    r[who][m] = reused.get(name, {}).get(m, {"error": "not in " + o.memcached_from})
                elif who in o.servers.split(","):
                    r[who][m] = run_server(o, who, binary, m, stream)
            log(f"{name} -m {m}: memg {fmt(r['memg'].get(m, {}).get('miss_ratio'))} memcached "
                f"{fmt(r['memcached'].get(m, {}).get('miss_ratio'))} LRU "
                f"{r['sim'][(m, 'lru', 'memg')]['miss_ratio']} S3 "
                f"{r['sim'][(m, 's3fifo', 'memg')]['miss_ratio']} OPT "
                f"{r['sim'][(m, 'opt', 'memg')]['miss_ratio']}  ({time.time() - t0:.0f} s)")
    md = table(o, results)
    os.makedirs(os.path.dirname(o.out), exist_ok=True)
    with open(o.out + ".md", "w") as f:
        f.write(md)
    chart(results, o.out + ".svg")
    print(md)
    ratios = {who: {n: {m: x.get("miss_ratio") for m, x in r[who].items()} for n, r in results.items()}
              for who in ("memg", "memcached")}
    reach.write(os.path.dirname(o.out), reach.table(
        {n: r["reach"] for n, r in results.items()}, ratios["memcached"],
        f"in {o.memcached_from_what}" if o.memcached_from else
        f"in this run ({datetime.datetime.now():%Y-%m-%d %H:%M})", ratios["memg"]))
    log(f"wrote {o.out}.md and {o.out}.svg in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
