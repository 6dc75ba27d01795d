#!/bin/sh
# Footprint of memg: stripped binary sizes (x86-64, aarch64, armhf) and RSS at
# start, written to bench/results/footprint.md. Run by `make footprint`, which
# builds the binaries first.   usage: bench/footprint.sh [native-memg [glibc-memg]]
# Targets: stripped binary <= 256 KB, RSS at start <= 1 MB.
set -eu
cd "$(dirname "$0")/.."
NATIVE=${1:-build/memg}
GLIBC=${2:-}
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
    asroot=; [ "$(id -u)" = 0 ] && asroot="-u nobody" # memg, as memcached, refuses root without -u
    "$@" -p "$port" -l 127.0.0.1 $asroot </dev/null >"$TMP/log" 2>&1 &
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
    # Under qemu-user the guest's memory lies below the emulator's own binary
    # (guest_base 0: the guest's addresses are the host's): the resident pages
    # of the mappings before the first qemu-* one are memg's.
    awk '/^[0-9a-f]+-[0-9a-f]+ / {if ($6 ~ /\/qemu-[a-z0-9_]+$/) stop = 1}
         /^Rss:/ {if (!stop) g += $2}
         END {print g + 0}' "/proc/$PID/smaps" >"$TMP/guest"
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
}

row_size() { # arch strip binary
    if [ -x "$3" ] && command -v "$2" >/dev/null 2>&1; then
        s=$(strip_size "$2" "$3")
        ok=no; [ "$s" -le 262144 ] && ok=yes
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

row_guest() { # label command...
    label=$1; shift
    rss_at_start "$@"
    set -- $(cat "$TMP/rss") $(cat "$TMP/guest")
    ok=no; [ "$6" -lt 1024 ] && ok=yes
    printf '| %s | %s | %s | %s |\n' "$label" "$1" "$6" "$ok"
}

libc_of() { # binary: "static" or "dynamic"
    if readelf -lW "$1" 2>/dev/null | grep -q INTERP; then echo dynamic; else echo static; fi
}

{
    echo "# memg footprint"
    echo
    echo "Written by \`make footprint\` (bench/footprint.sh) on $(date -u +%Y-%m-%d),"
    echo "$(uname -m) host, $("${CC:-cc}" --version 2>/dev/null | head -1 || echo cc),"
    echo "default flags (-O2 -g, cold modules -Os, no unwind tables, --gc-sections; then stripped). Targets: stripped binary <= 256 KB (262,144 bytes),"
    echo "RSS at start <= 1 MiB."
    echo
    echo "## Binary size"
    echo
    echo "| arch | binary | unstripped bytes | stripped bytes | <= 256 KB |"
    echo "|------|--------|-----------------:|---------------:|:---------:|"
    row_size "x86-64 ($(libc_of "$NATIVE"))" strip "$NATIVE"
    if [ -n "$GLIBC" ]; then row_size "x86-64 (glibc, dynamic)" strip "$GLIBC"; fi
    row_size "aarch64 ($(libc_of build/aarch64/memg))" aarch64-linux-gnu-strip build/aarch64/memg
    row_size "armhf ($(libc_of build/armhf/memg))" arm-linux-gnueabihf-strip build/armhf/memg
    echo
    echo "static: linked against musl (the default when Debian's musl-tools, or"
    echo "musl-dev:arm64/armhf for the cross builds, is installed); dynamic: glibc."
    echo "A dynamic aarch64 file is larger than its code: the linker aligns its"
    echo "segments to 64 KiB so that one binary runs on 4, 16 and 64 KiB page kernels."
    echo
    echo "## RSS at start (kB, from /proc/PID/status, listening, no client)"
    echo
    echo "| process | VmRSS | RssAnon | RssFile | Pss | Private | VmRSS < 1024 |"
    echo "|---------|------:|--------:|--------:|----:|--------:|:------------:|"
    row_rss "x86-64 $(libc_of "$NATIVE"), -m 64" "$NATIVE" -m 64
    row_rss "x86-64 $(libc_of "$NATIVE"), -m 768" "$NATIVE" -m 768
    row_rss "x86-64 $(libc_of "$NATIVE"), -m 3072" "$NATIVE" -m 3072
    if [ -n "$GLIBC" ]; then row_rss "x86-64 glibc (dynamic), -m 64" "$GLIBC" -m 64; fi
    echo
    echo "VmRSS counts every resident page mapped, shared or not; Pss divides shared"
    echo "pages among the processes mapping them; Private is memg's alone (USS)."
    echo "Linked against glibc, most of VmRSS is glibc's and ld.so's code (RssFile,"
    echo "clean pages shared with every dynamically linked process); the static musl"
    echo "binary maps no shared library, so its VmRSS is its own memory."
    echo "\`-m\` barely moves RSS at start: item memory is mapped one segment at a"
    echo "time as items arrive; only the segment table (a few bytes per MiB of -m)"
    echo "and the initial hash table are allocated up front."
    echo
    echo "## RSS at start on ARM, under qemu-user (kB)"
    echo
    echo "| process | qemu VmRSS | memg (guest) RSS | guest < 1024 |"
    echo "|---------|-----------:|-----------------:|:------------:|"
    if [ -x build/aarch64/memg ] && command -v ${QEMU_aarch64%% *} >/dev/null 2>&1; then
        row_guest "aarch64 $(libc_of build/aarch64/memg), -m 64" $QEMU_aarch64 build/aarch64/memg -m 64
    fi
    if [ -x build/armhf/memg ] && command -v ${QEMU_armhf%% *} >/dev/null 2>&1; then
        row_guest "armhf $(libc_of build/armhf/memg), -m 64" $QEMU_armhf build/armhf/memg -m 64
    fi
    echo
    echo "The emulator's own VmRSS (its code, translation cache, host libraries)"
    echo "says nothing about memg. qemu-user places the guest at the host's"
    echo "addresses, below the emulator's binary: the guest column sums the resident"
    echo "pages of those mappings (memg's binary, its stack, heap and mmaps, and for"
    echo "a dynamic build the guest's ld.so and libc). Guest pages are 4 KiB, as on a"
    echo "Pi 3 under Raspberry Pi OS."
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
