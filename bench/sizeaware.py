#!/usr/bin/python3
"""Size-aware, frequency-aware candidates in memg-sim against S3-FIFO, LRU
and the optimum, on bench/quality.py's streams (offline: no server); and
what is reachable at all (bench/reach.py), against memcached's miss ratios
of the last bench/results/quality.md.

    bench/sizeaware.py --sim build/memg-sim

Writes bench/results/sizeaware.md and bench/results/reach.md;
bench/README.md ("Size-aware policies", "What is reachable") explains them.
"""
import argparse
import datetime
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from qruns import BASE, MEMS, WORKLOADS, run_sim  # noqa: E402  (same directory)
from compare import log  # noqa: E402
import reach  # noqa: E402

POLICIES = [("lru", "LRU"), ("s3fifo", "S3"), ("s3bit", "S3-1bit"), ("s3size", "S3-size"),
            ("gdsf", "GDSF"), ("s3adm", "S3+adm"), ("s3tlfu", "S3+TinyLFU"), ("s3fb", "S3+sketch/B"),
            ("s3gcut", "S3+ghost<=mean"), ("s3gwin", "S3+ghost-window"),
            ("s3gfill", "+fill"),
            ("lfu", "LFU/B"), ("opt", "OPT")]
OFFLINE = ("opt", "lfu")  # not online policies memg could run as they are


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sim", required=True)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--quality", default=os.path.join(HERE, "results", "quality.md"),
                    help="memcached's miss ratios for the reach table")
    ap.add_argument("--limit", type=int, default=600)
    o = ap.parse_args()
    lines = [f"# Size-aware candidates, offline ({datetime.date.today()})", "",
             "Miss ratio of the measured requests, charged as memg charges an item; "
             "best practical policy of a row in bold (LFU/B and OPT are references). "
             "bench/README.md, \"Size-aware policies\".",
             "", "| workload | -m MB | " + " | ".join(p[1] for p in POLICIES) +
             " | best/S3-1bit |", "|---|---:|" + "---:|" * (len(POLICIES) + 1)]
    curves = {}
    for name, _, args in WORKLOADS:
        log(f"sizeaware: {name}")
        res = run_sim(o, BASE + args, policies=",".join(p for p, _ in POLICIES))
        for mem in MEMS:
            mr = {p: float(res[(mem, p, "memg")]["miss_ratio"]) for p, _ in POLICIES}
            best = min(mr[p] for p, _ in POLICIES if p not in OFFLINE)
            cells = [f"**{mr[p]:.4f}**" if p not in OFFLINE and mr[p] == best else f"{mr[p]:.4f}"
                     for p, _ in POLICIES]
            lines.append(f"| {name} | {mem} | " + " | ".join(cells) +
                         f" | {best / mr['s3bit']:.3f} |")
        curves[name] = reach.sim_curves(o, BASE + args)
    os.makedirs(o.out, exist_ok=True)
    with open(os.path.join(o.out, "sizeaware.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    if os.path.exists(o.quality):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(o.quality)))
        with open(o.quality) as f:
            head = f.readline().strip()
        text = reach.table(curves, reach.mc_from_table(o.quality),
                           f"by bench/quality.py ({head.split('(')[-1].rstrip(')') or when})")
        reach.write(o.out, text)
        print(text)


if __name__ == "__main__":
    main()
