#!/bin/sh
# memg-floor answers the bench's workloads right, so its E / A means something:
# a second of A-like load (prefill, sets and gets, pipelined) with no wrong reply.
#   bench/floor_check.sh MEMG-FLOOR MEMG-BENCH
set -eu
FLOOR=$1 TOOL=$2
PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$FLOOR" -p "$PORT" -l 127.0.0.1 &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
i=0
until "$TOOL" -p "$PORT" -c 1 -n 1 -q >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 50 ] || { echo "floor_check: memg-floor did not answer on port $PORT"; exit 1; }
    sleep 0.1
done
OUT=$(timeout 60 "$TOOL" -p "$PORT" -c 20 -d 4 -P -k 5000 -r 1:4 -v 10-2000 -t 1 -q) || true
case "$OUT" in
*" served=20 "*" errors=0 "*) echo "floor_check: ok: $(echo "$OUT" | grep -o ' ops=[0-9]*') requests, no wrong reply" ;;
*) echo "floor_check: FAILED: $OUT"; exit 1 ;;
esac
# row L's values, received into and sent from their items, two in flight
# (requests wait behind a large reply)
OUT=$(timeout 60 "$TOOL" -p "$PORT" -c 4 -d 2 -P -k 200 -r 9:1 -v 4096-1000000 -t 0.5 -q) || true
case "$OUT" in
*" served=4 "*" errors=0 "*) echo "floor_check: ok: $(echo "$OUT" | grep -o ' ops=[0-9]*') large values, no wrong reply" ;;
*) echo "floor_check: FAILED (large values): $OUT"; exit 1 ;;
esac
