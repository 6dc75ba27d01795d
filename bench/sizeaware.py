#!/usr/bin/python3
"""Size-aware, frequency-aware candidates in memg-sim against S3-FIFO, LRU
and the optimum, on bench/quality.py's streams (offline: no server).

    bench/sizeaware.py --sim build/memg-sim

Writes bench/results/sizeaware.md; bench/README.md ("Size-aware policies")
explains the candidates.
"""
import argparse
import datetime
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from quality import BASE, MEMS, WORKLOADS, run_sim  # noqa: E402  (same directory)
from compare import log  # noqa: E402

POLICIES = [("lru", "LRU"), ("s3fifo", "S3"), ("s3size", "S3-size"), ("gdsf", "GDSF"),
            ("opt", "OPT")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sim", required=True)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--limit", type=int, default=600)
    o = ap.parse_args()
    lines = [f"# Size-aware candidates, offline ({datetime.date.today()})", "",
             "Miss ratio of the measured requests, charged as memg charges an item; "
             "best online policy of a row in bold. bench/README.md, \"Size-aware policies\".",
             "", "| workload | -m MB | " + " | ".join(p[1] for p in POLICIES) +
             " | S3-size/S3 | GDSF/S3 |", "|---|---:|" + "---:|" * (len(POLICIES) + 2)]
    for name, _, args in WORKLOADS:
        log(f"sizeaware: {name}")
        res = run_sim(o, BASE + args)
        for mem in MEMS:
            mr = {p: float(res[(mem, p, "memg")]["miss_ratio"]) for p, _ in POLICIES}
            best = min(mr[p] for p, _ in POLICIES if p != "opt")
            cells = [f"**{mr[p]:.4f}**" if p != "opt" and mr[p] == best else f"{mr[p]:.4f}"
                     for p, _ in POLICIES]
            lines.append(f"| {name} | {mem} | " + " | ".join(cells) +
                         f" | {mr['s3size'] / mr['s3fifo']:.3f} | {mr['gdsf'] / mr['s3fifo']:.3f} |")
    os.makedirs(o.out, exist_ok=True)
    with open(os.path.join(o.out, "sizeaware.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
