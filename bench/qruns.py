"""The quality bench's workloads and its two kinds of run, shared by
bench/quality.py, reach.py, prod.py and sizeaware.py: a server fed a
read-through stream by memg-bench, and memg-sim's policies over the same
stream."""
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import Server, parse_result  # noqa: E402  (same directory)

MEMS = [16, 32, 64, 128]
# 1M keys: the largest cache (-m 128) holds about a fifth of them (a quarter
# of their bytes at 100-1000 B). 1M warm-up requests, 1M measured: about
# 6 s per run against memcached -t 1 here, 56 runs in ~10 minutes.
BASE = ["--stream-keys", "1000000", "--warm", "1000000", "--measure", "1000000"]
WORKLOADS = [
    ("zipf-0.8", "Zipf 0.8, values 100-1000 B", ["--alpha", "0.8"]),
    ("zipf-0.9", "Zipf 0.9, values 100-1000 B", ["--alpha", "0.9"]),
    ("zipf-1.0", "Zipf 1.0, values 100-1000 B", ["--alpha", "1.0"]),
    ("zipf-1.2", "Zipf 1.2, values 100-1000 B", ["--alpha", "1.2"]),
    ("heavy-1.0", "Zipf 1.0, heavy-tailed values (2% 1-10 KB, 0.2% 100 KB)",
     ["--alpha", "1.0", "--sizes", "heavy"]),
    ("scan-1.0", "Zipf 1.0; from measured request 400k, 300k keys read once (one request in two)",
     ["--alpha", "1.0", "--measure", "1500000", "--scan-at", "400000", "--scan-len", "300000"]),
    ("churn-1.0", "Zipf 1.0; every 100k requests 5k new keys take the top ranks",
     ["--alpha", "1.0", "--churn-every", "100000", "--churn-step", "5000"]),
]
CONNS, DEPTH = ["-c", "8"], ["-d", "4"]  # 32 requests in flight: little reordering


def run_server(o, name, binary, mem, stream):
    srv = Server(name, binary, o.logdir, mem=mem, conns=1024)
    try:
        if not srv.ready:
            return {"error": f"did not start: {srv.log_tail()}"}
        cmd = [o.tool, "-s", "127.0.0.1", "-p", str(srv.port), "--server-pid", str(srv.pid),
               "--through", "-q"] + CONNS + DEPTH + stream
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=o.limit)
        except subprocess.TimeoutExpired:
            return {"error": f"load generator timed out after {o.limit}s"}
        res, first = parse_result(p.stdout)
        if res is None or p.returncode not in (0,):
            return {"error": f"rc {p.returncode}: {first or p.stderr.strip()[-200:]}"}
        return res
    finally:
        srv.stop()


def run_sim(o, stream, mems=MEMS, policies=None):
    cmd = [o.sim, "--mem", ",".join(map(str, mems))] + (["--policy", policies] if policies else [])
    p = subprocess.run(cmd + stream, capture_output=True, text=True, timeout=o.limit, check=True)
    out = {}
    for line in p.stdout.splitlines():
        if not line.startswith("SIM "):
            continue
        kv = dict(x.split("=", 1) for x in line.split()[1:])
        out[(int(float(kv["mem"])), kv["policy"], kv["charge"])] = kv
    return out


def mem_for(curve, target):
    """MB at which a miss-ratio curve (mem -> ratio, falling) reaches target,
    linear in log2(mem) between measured sizes; a bound outside them."""
    pts = sorted((m, r) for m, r in curve.items() if r is not None)
    if not pts:
        return None
    if pts[0][1] <= target:
        return f"< {pts[0][0]}"
    for (m0, r0), (m1, r1) in zip(pts, pts[1:]):
        if r1 <= target <= r0:
            f = (r0 - target) / (r0 - r1) if r0 != r1 else 0
            return f"{2 ** (math.log2(m0) + f * (math.log2(m1) - math.log2(m0))):.0f}"
    return f"> {pts[-1][0]}"
