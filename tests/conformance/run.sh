#!/bin/sh
# Run memcached's own t/ suite against memg: run.sh SRC MEMG RUNDIR [t/FILE.t ...]
# SRC is an unpacked memcached source (fetch.sh), MEMG the server to test,
# RUNDIR a scratch folder where the harness runs: RUNDIR/t holds links to
# SRC/t's files and a copy of t/lib/MemcachedTest.pm changed in a few places
# (patch-lib.pl): it starts MEMG instead of ./memcached-debug, without the
# debug build's "-o relaxed_privileges", and without a UDP port. timedrun, which
# the harness starts each server under, is built from SRC/timedrun.c. Every
# t/ file runs except those left-out-VERSION.txt beside this script names.
# With CONFORMANCE_UNLIKE=OTHER_SRC, a file whose copy in OTHER_SRC/t is the
# same byte for byte is not run here (it runs with OTHER_SRC's suite).
# Single tests of a file that run (known-VERSION.txt, CONFORMANCE_KNOWN) are
# known differences: run as TODO tests, their failures counted apart.
# Ends with "conformance: N passed, M failed[, K known differences]" (tests),
# exit 1 on any failure.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$1" && pwd) memg=$2 run=$3
shift 3
version=$(sed -n 's/.*VERSION_NUMBER\], \[\([^]]*\)\].*/\1/p' "$src/version.m4")
list=${CONFORMANCE_LIST:-$here/left-out-$version.txt}
# Single tests known to differ, run as TODO tests (patch-lib.pl): FILE.t N REASON
known=${CONFORMANCE_KNOWN:-$here/known-$version.txt}
[ -f "$known" ] || known=
if [ ! -f "$list" ]; then
    echo "conformance: no $list (one line per t/ file left out: FILE.t REASON)" >&2
    exit 1
fi
mkdir -p "$run/t/lib"
run=$(cd "$run" && pwd)
for f in "$src"/t/*; do
    [ "${f##*/}" = lib ] || ln -sfn "$f" "$run/t/${f##*/}"
done
ln -sfn "$src/doc" "$run/doc" # t/line-lengths.t reads doc/protocol.txt
perl "$here/patch-lib.pl" < "$src/t/lib/MemcachedTest.pm" > "$run/t/lib/MemcachedTest.pm"
[ "$run/timedrun" -nt "$src/timedrun.c" ] || ${CC_FOR_TIMEDRUN:-cc} -O2 -o "$run/timedrun" "$src/timedrun.c"
if [ $# -eq 0 ]; then
    same=0
    for f in "$src"/t/*.t; do
        b=${f##*/}
        grep -q "^$b[[:space:]]" "$list" && continue
        if [ -n "${CONFORMANCE_UNLIKE:-}" ] && cmp -s "$f" "$CONFORMANCE_UNLIKE/t/$b"; then
            same=$((same + 1))
            continue
        fi
        set -- "$@" "t/$b"
    done
    echo "conformance: memcached $version t/: $# files, $(grep -c '^[^#[:space:]]' "$list") left out ($list)${CONFORMANCE_UNLIKE:+, $same the same in $CONFORMANCE_UNLIKE}"
fi
case $memg in /*) ;; *) memg=$(pwd)/$memg ;; esac
log=$run/prove.log
rm -f "$run/known.log"
cd "$run"
# Each file at most CONFORMANCE_FILE_SECONDS (a hang fails that file only);
# the harness stops its servers when a file ends (timedrun 600 at worst).
MEMG_BIN=$memg CONFORMANCE_KNOWN=$known CONFORMANCE_KNOWN_LOG=$run/known.log timeout -k 10 "${CONFORMANCE_SECONDS:-1200}" \
    prove --norc --timer -j "${CONFORMANCE_JOBS:-3}" \
    --exec "timeout -k 5 ${CONFORMANCE_FILE_SECONDS:-180} perl" "$@" > "$log" 2>&1 || true
cat "$log"
# prove's report has "t/x.t (Wstat: 256 (exited 1) Tests: 6 Failed: 2)" per
# bad file; one that failed no test (it died, or its plan was wrong) counts 1.
tests=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log")
# A file listed with Wstat 0 passed (it is listed for a known difference that passed).
set -- $(sed -n '/(Wstat: 0 /d; s/^t\/.* (Wstat: .* Failed: \([0-9]*\))$/\1/p' "$log" |
         awk '{s += $1; d += ($1 == 0)} END {print s + 0, d + 0}')
kfailed=$(cat "$run/known.log" 2>/dev/null | wc -l)
passed=$((${tests:-0} - $1 - kfailed)) failed=$(($1 + $2))
[ -n "$tests" ] && grep -q '^Result: PASS' "$log" || [ "$failed" -gt 0 ] || failed=1
if [ -n "$known" ]; then
    # each known difference that failed, by file and test number
    [ "$kfailed" -eq 0 ] || echo "known differences that failed (TODO): $(sort "$run/known.log" | tr '\n' ' ')"
    echo "conformance: $passed passed, $failed failed, $kfailed known differences ($known)"
else
    echo "conformance: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
