#!/usr/bin/python3
"""What is reachable, per cell of bench/quality.py: the offline optimum
(Belady's and the future-requests-per-byte oracle), the compulsory floor
and LFU per byte with exact counts, each against memcached's measured miss
ratio; and the MB the optimum needs to match memcached's -m 64.

Called by bench/quality.py with the miss ratios it has just measured, and
by bench/sizeaware.py with memcached's from the last bench/results/quality.md.
Writes bench/results/reach.md; bench/README.md ("What is reachable")
explains it.
"""
import datetime
import os
import re

from qruns import MEMS, WORKLOADS, mem_for, run_sim

GOAL, GOAL_MB = 0.85, 32
SMALL = [2, 4, 8]  # budgets below the table's, for the MB the optimum needs
ORACLES = "opt,fpb,inf,lfu,s3fifo"
# Online candidates a segment store could run (bench/README.md, "Size-aware
# policies"): the best of them per cell is the *cand* column.
CANDIDATES = ("s3bit", "s3size", "s3fb", "s3gcut", "s3gwin", "s3gfill")


def sim_curves(o, stream):
    """(mem, policy) -> miss ratio for the oracles at SMALL + MEMS."""
    res = run_sim(o, stream, SMALL + MEMS, ORACLES)
    res.update(run_sim(o, stream, MEMS, ",".join(CANDIDATES)))
    return {(m, p): float(kv["miss_ratio"]) for (m, p, ch), kv in res.items() if ch == "memg"}


def _num(text):
    try:
        return float(text)
    except ValueError:
        return None


def _back_cell(text):
    """'0.43 s (50000 req)' or 'never' -> (seconds, requests); -1 for never."""
    if text == "never":
        return -1.0, -1.0
    m = re.match(r"([\d.]+) s \((\d+) req\)", text)
    return (float(m.group(1)), float(m.group(2))) if m else (None, None)


def cells_from_table(path):
    """{workload: {mem: {...}}} for memcached's columns of a quality.md, as
    run_server gives them: miss_ratio, rps, srv_rss_kb and the scan recovery."""
    out, name, head = {}, None, []
    with open(path) as f:
        for line in f:
            m = re.match(r"## (\S+):", line)
            if m:
                name, head = m.group(1), []
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not name or len(cells) < 4:
                continue
            if cells[0] == "-m MB":
                head = cells
                continue
            if not cells[0].isdigit():
                continue
            row, x = dict(zip(head, cells)), out.setdefault(name, {}).setdefault(int(cells[0]), {})
            for col, key in (("memcached", "miss_ratio"), ("mc req/s", "rps"),
                             ("memcached before", "scan_pre"), ("memcached worst", "scan_low")):
                if col in row and _num(row[col]) is not None:
                    x[key] = _num(row[col])
            if _num(row.get("mc RSS MB", "")) is not None:
                x["srv_rss_kb"] = _num(row["mc RSS MB"]) * 1024
            if "memcached back after" in row:
                x["scan_back_s"], x["scan_back_req"] = _back_cell(row["memcached back after"])
    return out


def mc_from_table(path):
    """{workload: {mem: memcached miss ratio}} from a quality.md."""
    return {n: {m: x["miss_ratio"] for m, x in r.items() if "miss_ratio" in x}
            for n, r in cells_from_table(path).items()}


def verdict(floor, best, cand, mc):
    if floor / mc > GOAL:
        return "out of reach: the floor alone"
    if best / mc > GOAL:
        return "out of reach of the offline policies"
    if cand / mc > GOAL:
        return "offline only: no online candidate"
    return "reachable online"


def table(curves, mc, measured_at, memg=None):
    """curves: {workload: {(mem, policy): ratio}}; mc: {workload: {mem: ratio}};
    memg: optional {workload: {mem: ratio}} measured with the new policy."""
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    out = [f"# What is reachable: offline bounds against memcached ({now})", "",
           f"memcached's miss ratio measured {measured_at}; the rest computed by memg-sim over the"
           " same stream, items charged as memg charges them. *floor*: compulsory misses (an"
           " infinite cache: a lower bound for every policy, whatever the sizes). *Belady*: keep"
           " what is needed soonest; *FPB*: keep the most future requests per byte; *best*: the"
           " lower of the two (the best offline figure found, not a proven bound: the optimum"
           " with sizes is NP-hard). *LFU/B*: exact request counts of every key since the start,"
           " per byte (an online policy with unbounded metadata). *S3*: S3-FIFO per item."
           " *cand*: the best per cell of the online candidates a segment store could run"
           " (S3-FIFO with memg's 1-bit mark, S3-size, S3 with a sketch per byte,"
           " the size-aware ghost and fill;"
           " sizeaware.md; GDSF's heap is left out)."
           f" Goal memg/mc <= {GOAL}; MB to match memcached's -m 64 <= {GOAL_MB}.", "",
           "| workload | -m MB | memcached | floor | Belady | FPB | best | floor/mc | best/mc "
           "| LFU/B /mc | S3/mc | cand/mc | cand |" + (" memg/mc |" if memg else "") + " verdict |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|" + ("---:|" if memg else "")
           + "---|"]
    mb_rows = []
    for name, _, _ in WORKLOADS:
        if name not in curves or name not in mc:
            continue
        c = curves[name]
        for m in MEMS:
            cm = mc[name].get(m)
            if not cm:
                continue
            fl, bel, fpb = c[(m, "inf")], c[(m, "opt")], c[(m, "fpb")]
            best, lfu, s3 = min(bel, fpb), c[(m, "lfu")], c[(m, "s3fifo")]
            g = memg.get(name, {}).get(m) if memg else None
            cand = min(CANDIDATES, key=lambda p: c[(m, p)])
            out.append(f"| {name} | {m} | {cm:.4f} | {fl:.4f} | {bel:.4f} | {fpb:.4f} | {best:.4f} "
                       f"| {fl / cm:.2f} | {best / cm:.2f} | {lfu / cm:.2f} | {s3 / cm:.2f} "
                       f"| {c[(m, cand)] / cm:.2f} | {cand} |"
                       + (f" {g / cm:.2f} |" if g else (" n/a |" if memg else ""))
                       + f" {verdict(fl, best, c[(m, cand)], cm)} |")
        target = mc[name].get(64)
        if target:
            mems = SMALL + MEMS
            need = {p: mem_for({m: c[(m, p)] for m in mems}, target)
                    for p in ("opt", "fpb", "lfu", "s3fifo")}
            best = {m: min(c[(m, "opt")], c[(m, "fpb")]) for m in mems}
            cand = {m: min(c[(m, p)] for p in CANDIDATES) for m in MEMS}
            mb_rows.append(f"| {name} | {target:.4f} | {need['opt']} | {need['fpb']} "
                           f"| {mem_for(best, target)} | {need['lfu']} | {need['s3fifo']} "
                           f"| {mem_for(cand, target)} |")
    out += ["", f"MB each needs to match memcached's miss ratio at -m 64 (goal <= {GOAL_MB};"
            f" budgets {', '.join(map(str, SMALL + MEMS))} MB, log-linear between them):", "",
            "| workload | memcached -m 64 | Belady | FPB | best | LFU/B | S3 | cand |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"] + mb_rows
    return "\n".join(out) + "\n"


def write(out_dir, text):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "reach.md"), "w") as f:
        f.write(text)
