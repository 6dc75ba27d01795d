#!/bin/sh
# Footprint of memg: stripped binary sizes (x86-64, aarch64, armhf) and RSS at
# start, written to bench/results/footprint.md. Run by `make footprint`, which
# builds the binaries first.   usage: bench/footprint.sh [native-memg]
# Targets: stripped binary < 150 KB, RSS at start < 1 MB.
set -eu
cd "$(dirname "$0")/.."
NATIVE=${1:-build/memg}
OUT=bench/results/footprint.md
PY=/usr/bin/python3
QEMU_aarch64=${QEMU_aarch64-qemu-aarch64 -L /usr/aarch64-linux-gnu}
QEMU_armhf=${QEMU_armhf-qemu-arm -L /usr/arm-linux-gnueabihf}
TMP=$(mktemp -d)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# stripped size in bytes: strip_size STRIP BIN
strip_size() {
    "$1" -o "$TMP/s" "$2" && stat -c %s "$TMP/s"
}

# Start "$@" -p PORT -l 127.0.0.1, wait (10 s at most) until it listens, write
# "VmRSS RssAnon RssFile Pss Private" in kB to $TMP/rss, stop it with SIGTERM.
rss_at_start() {
    port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$@" -p "$port" -l 127.0.0.1 </dev/null >"$TMP/log" 2>&1 &
    PID=$!
    $PY - "$port" <<'EOF' || { echo "footprint: $* did not start: $(cat "$TMP/log")" >&2; exit 1; }
import socket, sys, time
end = time.monotonic() + 10
while time.monotonic() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
    sleep 0.3 # the connection above has been closed and freed
    cat "/proc/$PID/status" "/proc/$PID/smaps_rollup" | awk '
        /^(VmRSS|RssAnon|RssFile|Pss|Private_Clean|Private_Dirty):/ {v[$1]=$2}
        END {print v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["Pss:"],
                   v["Private_Clean:"] + v["Private_Dirty:"]}' >"$TMP/rss"
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
}

row_size() { # arch strip binary
    if [ -x "$3" ] && command -v "$2" >/dev/null 2>&1; then
        s=$(strip_size "$2" "$3")
        ok=no; [ "$s" -lt 153600 ] && ok=yes
        printf '| %s | `%s` | %s | %s (%s KiB) | %s |\n' "$1" "$3" "$(stat -c %s "$3")" "$s" \
            "$(awk -v s="$s" 'BEGIN {printf "%.1f", s / 1024}')" "$ok"
    else
        printf '| %s | `%s` | — | not built | — |\n' "$1" "$3"
    fi
}

row_rss() { # label command...
    label=$1; shift
    rss_at_start "$@"
    set -- $(cat "$TMP/rss")
    ok=no; [ "$1" -lt 1024 ] && ok=yes
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$1" "$2" "$3" "$4" "$5" "$ok"
}

{
    echo "# memg footprint"
    echo
    echo "Written by \`make footprint\` (bench/footprint.sh) on $(date -u +%Y-%m-%d),"
    echo "$(uname -m) host, $("${CC:-cc}" --version 2>/dev/null | head -1 || echo cc),"
    echo "default flags (-O2 -g, then stripped). Targets: stripped binary < 150 KiB,"
    echo "RSS at start < 1 MiB."
    echo
    echo "## Binary size"
    echo
    echo "| arch | binary | unstripped bytes | stripped bytes | < 150 KiB |"
    echo "|------|--------|-----------------:|---------------:|:---------:|"
    row_size x86-64 strip "$NATIVE"
    row_size aarch64 aarch64-linux-gnu-strip build/aarch64/memg
    row_size armhf arm-linux-gnueabihf-strip build/armhf/memg
    if [ -x build/musl/memg ]; then row_size "x86-64 static musl" strip build/musl/memg; fi
    echo
    echo "The aarch64 file is larger than its code (see \`aarch64-linux-gnu-size\`):"
    echo "the linker aligns its segments to 64 KiB so that one binary runs on 4, 16"
    echo "and 64 KiB page kernels (the Pi 5's kernel uses 16 KiB pages). That padding"
    echo "is file size only; it is not loaded or resident."
    echo
    echo "## RSS at start (kB, from /proc/PID/status, listening, no client)"
    echo
    echo "| process | VmRSS | RssAnon | RssFile | Pss | Private | VmRSS < 1024 |"
    echo "|---------|------:|--------:|--------:|----:|--------:|:------------:|"
    row_rss "x86-64 native, -m 64" "$NATIVE" -m 64
    row_rss "x86-64 native, -m 768" "$NATIVE" -m 768
    row_rss "x86-64 native, -m 3072" "$NATIVE" -m 3072
    if [ -x build/musl/memg ]; then row_rss "x86-64 static musl, -m 64" build/musl/memg -m 64; fi
    if [ -x build/aarch64/memg ] && command -v ${QEMU_aarch64%% *} >/dev/null 2>&1; then
        row_rss "qemu-aarch64 + memg, -m 64" $QEMU_aarch64 build/aarch64/memg -m 64
    fi
    if [ -x build/armhf/memg ] && command -v ${QEMU_armhf%% *} >/dev/null 2>&1; then
        row_rss "qemu-arm + memg, -m 64" $QEMU_armhf build/armhf/memg -m 64
    fi
    echo
    echo "VmRSS counts every resident page mapped, shared or not; Pss divides shared"
    echo "pages among the processes mapping them; Private is memg's alone (USS)."
    echo "The x86-64 rows are the honest figure for memg. Nearly all of their VmRSS"
    echo "is glibc's and ld.so's code (RssFile, shared clean pages every dynamically"
    echo "linked process on the machine already has); memg's own memory at start is"
    echo "the Private column. The static musl build (\`make footprint\` builds it"
    echo "when musl-gcc is installed: Debian package musl-tools) shows what a binary"
    echo "without glibc costs: its VmRSS is under 1 MiB."
    echo
    echo "Under qemu-user the process is the emulator: its RSS adds qemu's own code,"
    echo "its translated-code cache and the guest's libc, so the qemu rows measure"
    echo "qemu, not memg. On a Pi, memg's own memory at start should be close to the"
    echo "x86-64 Private figure (same code, same lazily mapped 1 MiB segments; armhf's"
    echo "32-bit pointers make its tables smaller)."
    echo "\`-m\` barely moves RSS at start: item memory is mapped one segment at a"
    echo "time as items arrive; only the segment table (a few bytes per MiB of -m)"
    echo "and the initial hash table are allocated up front."
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
