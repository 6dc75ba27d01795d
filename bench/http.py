#!/usr/bin/python3
"""HTTP GET with wrk at 400 connections: memg's HTTP front against what a
user would otherwise put in front of memcached for HTTP, nginx's memcached
module (memcached_pass, upstream keep-alive for every connection, 1 worker) to memcached -t 1.
Values of 32 B and 4 KB, one key each. Also memg's text GET (memg-bench,
400 connections, the same key) for memg's CPU per request over HTTP against
its own text protocol. Server CPU is utime+stime from /proc (nginx: master
and workers, plus memcached). Ratios of one run; --rounds repeats.

usage: bench/http.py --memg build/memg --tool build/glibc/memg-bench [--seconds 5]
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
TICK = os.sysconf("SC_CLK_TCK")
SIZES = [("32 B", 32, "k32"), ("4 KB", 4096, "k4k")]


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, limit=5.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except OSError:
                pass
    return out


def preload(port):
    with socket.create_connection((HOST, port), timeout=5) as s:
        for _, size, key in SIZES:
            s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key.encode(), size, b"v" * size))
            assert s.recv(100) == b"STORED\r\n"


def wrk(url, seconds, conns, pids):
    before = cpu_ticks(pids)
    p = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, url],
                       capture_output=True, text=True, timeout=seconds + 60)
    cpu = (cpu_ticks(pids) - before) / TICK
    m = re.search(r"(\d+) requests in", p.stdout)
    n = int(m.group(1)) if m else 0
    bad = re.search(r"(Socket errors.*|Non-2xx.*)", p.stdout)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", p.stdout).group(1)) if m else 0.0
    return {"rps": rps, "cpu_us": 1e6 * cpu / n if n else 0.0,
            "errors": bad.group(1) if bad else ""}


NGINX_CONF = """
worker_processes 1;
daemon off;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log error;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %(dir)s;
    proxy_temp_path %(dir)s;
    fastcgi_temp_path %(dir)s;
    uwsgi_temp_path %(dir)s;
    scgi_temp_path %(dir)s;
    upstream mc { server 127.0.0.1:%(mc)d; keepalive 1024; }
    server {
        listen 127.0.0.1:%(port)d;
        location ~ ^/k/(.+)$ {
            set $memcached_key $1;
            memcached_pass mc;
            default_type application/octet-stream;
        }
    }
}
"""


def run_once(o, tmp):
    procs, res = [], {}
    try:
        mport, hport = free_port(), free_port()
        memg = subprocess.Popen([o.memg, "-p", str(mport), "-l", HOST, "-U", "0", "-c", "4096",
                                 "-m", "256", "-o", "http_port=%d" % hport]
                                + (["-u", "nobody"] if os.geteuid() == 0 else []),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(memg)
        mc_port, ng_port = free_port(), free_port()
        mc = subprocess.Popen([o.memcached, "-p", str(mc_port), "-l", HOST, "-U", "0",
                               "-t", "1", "-c", "4096", "-m", "256"]
                              + (["-u", "nobody"] if os.geteuid() == 0 else []),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(mc)
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF % {"dir": tmp, "mc": mc_port, "port": ng_port})
        ng = subprocess.Popen([o.nginx, "-c", conf, "-p", tmp], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        procs.append(ng)
        for port in (mport, hport, mc_port, ng_port):
            if not wait_port(port):
                sys.exit("http bench: nothing listens on %d" % port)
        preload(mport)
        preload(mc_port)
        ng_pids = [ng.pid] + children(ng.pid) + [mc.pid]
        for name, size, key in SIZES:
            res[("memg", name)] = wrk("http://%s:%d/k/%s" % (HOST, hport, key), o.seconds,
                                      o.conns, [memg.pid])
            res[("nginx", name)] = wrk("http://%s:%d/k/%s" % (HOST, ng_port, key), o.seconds,
                                       o.conns, ng_pids)
            text = subprocess.run([o.tool, "-s", HOST, "-p", str(mport), "-c", str(o.conns),
                                   "-k", "1", "-v", str(size),
                                   "-r", "0:1", "-P", "-t", str(o.seconds), "-q",
                                   "--server-pid", str(memg.pid)],
                                  capture_output=True, text=True, timeout=o.seconds + 60)
            m = re.search(r"rps=([\d.]+).*?srv_ns_per_op=([\d.]+)", text.stdout)
            res[("text", name)] = {"rps": float(m.group(1)) if m else 0.0,
                                   "cpu_us": float(m.group(2)) / 1000 if m else 0.0,
                                   "errors": "" if m else text.stdout + text.stderr}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--memg", default="build/memg")
    ap.add_argument("--tool", default="build/glibc/memg-bench")
    ap.add_argument("--memcached", default="/usr/bin/memcached",
                    help="the memcached behind nginx (make bench runs 1.6.18 and 1.6.45)")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--conns", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=1)
    o = ap.parse_args()
    for need in ("wrk", o.nginx):
        if not shutil.which(need):
            sys.exit("http bench: %s missing (Debian packages wrk, nginx)" % need)
    ver = subprocess.run([o.memcached, "-V"], capture_output=True, text=True).stdout.strip()
    print("nginx in front of %s (`%s`)\n" % (ver, o.memcached))
    print("| values | memg HTTP req/s | nginx+memcached req/s | ratio (>= 2.0) "
          "| memg CPU us/req | nginx+memcached CPU us/req | ratio (<= 0.5) "
          "| memg text GET CPU us/req | HTTP / text CPU |")
    print("|---|---|---|---|---|---|---|---|---|")
    for _ in range(o.rounds):
        with tempfile.TemporaryDirectory(prefix="memg-http-bench-") as tmp:
            res = run_once(o, tmp)
        for name, _s, _k in SIZES:
            m, n, t = res[("memg", name)], res[("nginx", name)], res[("text", name)]
            print("| %s | %.0f | %.0f | %.2fx | %.2f | %.2f | %.2fx | %.2f | %.2fx |" % (
                name, m["rps"], n["rps"], m["rps"] / n["rps"] if n["rps"] else 0,
                m["cpu_us"], n["cpu_us"], m["cpu_us"] / n["cpu_us"] if n["cpu_us"] else 0,
                t["cpu_us"], m["cpu_us"] / t["cpu_us"] if t["cpu_us"] else 0))
            for who, r in (("memg", m), ("nginx", n), ("text", t)):
                if r["errors"]:
                    print("  %s %s: %s" % (who, name, r["errors"].strip()[:300]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
