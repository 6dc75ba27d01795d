#!/usr/bin/python3
"""Production-shaped cache quality: memg against memcached -t 1 on request
streams shaped by Twitter's published cluster statistics (bench/prod.c).

    bench/prod.py --memg build/memg --tool build/memg-bench --sim build/memg-sim [--quick]

For each cluster and each -m both servers are started fresh and fed the
same stream by memg-bench --through --cluster (gets, with a set after each
miss; the cluster's own sets, adds, incrs and deletes), paced to a fixed
rate so that the exptimes, which are seconds, mean the same requests to
both; memg-sim gives the floor (an infinite cache) and the offline
optimum over the same stream. Writes bench/results/prod.md; bench/README.md ("Production-shaped
workloads") explains the scaling. Loopback only; every run has a time limit.
"""
import argparse
import datetime
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import log  # noqa: E402  (same directory)
from qruns import run_server, run_sim  # noqa: E402

GOAL = 0.85
# cluster, production miss ratio (stat/2020Mar.md), request rate here, requests
# (cluster 37's 20 KB values: a slower rate, fewer requests)
CLUSTERS = [("c52", 0.0189, 20000, 400000), ("c17", 0.0002, 20000, 400000),
            ("c24", 0.0087, 20000, 400000), ("c29", 0.2242, 20000, 400000),
            ("c45", 0.3685, 20000, 400000), ("c12", 0.0058, 20000, 400000),
            ("c37", 0.5938, 5000, 150000), ("c22", 0.875, 20000, 400000)]
MEMS = [4, 16]
WARM = 0.4  # the first 40% of the requests warm the cache up


def stream(cluster, rate, total):
    """The stream's options (memg-sim takes them too) and memg-bench's pacing."""
    warm = int(total * WARM)
    return ["--cluster", cluster, "--warm", str(warm), "--measure", str(total - warm),
            "--run-secs", f"{total / rate:.1f}"], ["-R", str(rate)]


def bounds(o, args, mems):
    """{mem: (floor, Belady, FPB)} over the same stream (sim_prod.h)."""
    sim = run_sim(o, args, mems, "inf,opt,fpb")
    return {m: tuple(float(sim[(m, p, "memg")]["miss_ratio"]) for p in ("inf", "opt", "fpb"))
            for m in mems}


def verdict(floor, best, mc):
    if floor / mc > GOAL:
        return "out of reach: the floor alone"
    if best / mc > GOAL:
        return "out of reach of the offline policies"
    return "within the optimum's reach"


def _rss(x):
    kb = x.get("srv_rss_kb")
    return f"{kb / 1024:.1f}" if kb else "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--memg", required=True)
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("--tool", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--quick", action="store_true", help="-m 16 only")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--limit", type=int, default=240)
    o = ap.parse_args()
    o.logdir = tempfile.mkdtemp(prefix="memg-prod-")
    mems = [16] if o.quick else MEMS
    rows = []
    for cluster, prod_mr, rate, total in CLUSTERS:
        args, pace = stream(cluster, rate, total)
        sim = bounds(o, args, mems)
        for mem in mems:
            res = {}
            for name, binary in (("memg", o.memg), ("memcached", o.memcached)):
                log(f"prod: {cluster} -m {mem} {name}")
                res[name] = run_server(o, name, binary, mem, args + pace)
            rows.append((cluster, prod_mr, rate, total, mem, res, sim[mem]))
    lines = [f"# Production-shaped miss ratios ({datetime.date.today()}, shared 2-core machine)",
             "", f"The first {WARM:.0%} of each stream's requests warm up, the rest are measured,"
             " paced; miss ratio of the measured gets. *floor*: an infinite cache (every get of a"
             " key not stored, or expired or deleted since, misses: no policy does better);"
             " *OPT*: the lower of Belady's and FPB over the same stream, expiry as in the infinite"
             " cache (an approximation: sim_prod.h). Verdict against the goal memg/memcached <="
             f" {GOAL}. bench/README.md, \"Production-shaped workloads\".", "",
             "| cluster | production | -m MB | requests | req/s | memcached | memg | memg/memcached"
             " | floor | OPT | floor/mc | OPT/mc | memg RSS MB | mc RSS MB | memg CPU ns/req"
             " | memcached CPU ns/req | verdict |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for cluster, prod_mr, rate, total, mem, res, (floor, bel, fpb) in rows:
        g, c = res["memg"], res["memcached"]
        best = min(bel, fpb)
        if "error" in g or "error" in c:
            lines.append(f"| {cluster} | {prod_mr} | {mem} | {total} | {rate} | "
                         f"{c.get('error', '')} | {g.get('error', '')} | | {floor:.4f} | {best:.4f}"
                         " | | | | | | | |")
            continue
        gm, cm = g["miss_ratio"], c["miss_ratio"]
        ratio = f"{gm / cm:.2f}" if cm > 0 else "-"
        lines.append(f"| {cluster} | {prod_mr} | {mem} | {total} | {rate} | {cm:.4f} | {gm:.4f}"
                     f" | {ratio} | {floor:.4f} | {best:.4f}"
                     f" | {floor / cm if cm else 0:.2f} | {best / cm if cm else 0:.2f}"
                     f" | {_rss(g)} | {_rss(c)}"
                     f" | {g['srv_ns_per_op']:.0f} | {c['srv_ns_per_op']:.0f}"
                     f" | {verdict(floor, best, cm) if cm else '-'} |")
    os.makedirs(o.out, exist_ok=True)
    with open(os.path.join(o.out, "prod.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
