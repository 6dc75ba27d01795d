#!/usr/bin/python3
"""Production-shaped cache quality: memg against memcached -t 1 on request
streams shaped by Twitter's published cluster statistics (bench/prod.c).

    bench/prod.py --memg build/memg --tool build/memg-bench [--quick]

For each cluster and each -m both servers are started fresh and fed the
same stream by memg-bench --through --cluster (gets, with a set after each
miss; the cluster's own sets, adds, incrs and deletes), paced to a fixed
rate so that the exptimes, which are seconds, mean the same requests to
both. Writes bench/results/prod.md; bench/README.md ("Production-shaped
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
from qruns import run_server  # noqa: E402

# cluster, production miss ratio (stat/2020Mar.md), request rate here
CLUSTERS = [("c52", 0.0189, 15000), ("c17", 0.0002, 15000), ("c24", 0.0087, 15000),
            ("c29", 0.2242, 15000), ("c45", 0.3685, 15000), ("c12", 0.0058, 15000),
            ("c37", 0.5938, 5000), ("c22", 0.875, 15000)]
MEMS = [8, 32]
WARM, MEASURE = 100000, 100000


def stream(cluster, rate):
    secs = (WARM + MEASURE) / rate
    return ["--cluster", cluster, "--warm", str(WARM), "--measure", str(MEASURE),
            "--run-secs", f"{secs:.1f}", "-R", str(rate)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--memg", required=True)
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("--tool", required=True)
    ap.add_argument("--quick", action="store_true", help="-m 16 only")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--limit", type=int, default=240)
    o = ap.parse_args()
    o.logdir = tempfile.mkdtemp(prefix="memg-prod-")
    mems = [16] if o.quick else MEMS
    rows = []
    for cluster, prod_mr, rate in CLUSTERS:
        for mem in mems:
            res = {}
            for name, binary in (("memg", o.memg), ("memcached", o.memcached)):
                log(f"prod: {cluster} -m {mem} {name}")
                res[name] = run_server(o, name, binary, mem, stream(cluster, rate))
            rows.append((cluster, prod_mr, rate, mem, res))
    lines = [f"# Production-shaped miss ratios ({datetime.date.today()}, shared 2-core machine)",
             "", f"{WARM:,} requests of warm-up, {MEASURE:,} measured, paced; miss ratio of "
             "the measured gets. bench/README.md, \"Production-shaped workloads\".", "",
             "| cluster | production | -m MB | req/s | memcached | memg | memg/memcached |"
             " memg CPU ns/req | memcached CPU ns/req |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for cluster, prod_mr, rate, mem, res in rows:
        g, c = res["memg"], res["memcached"]
        if "error" in g or "error" in c:
            lines.append(f"| {cluster} | {prod_mr} | {mem} | {rate} | "
                         f"{c.get('error', '')} | {g.get('error', '')} | | | |")
            continue
        gm, cm = g["miss_ratio"], c["miss_ratio"]
        ratio = f"{gm / cm:.2f}" if cm > 0 else "-"
        lines.append(f"| {cluster} | {prod_mr} | {mem} | {rate} | {cm:.4f} | {gm:.4f} | {ratio} |"
                     f" {g['srv_ns_per_op']:.0f} | {c['srv_ns_per_op']:.0f} |")
    os.makedirs(o.out, exist_ok=True)
    with open(os.path.join(o.out, "prod.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
