#!/bin/sh
# One line for `make test`: the tests passed and failed in every suite's log
# (cmocka's "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)", pytest's
# "N passed, M failed, K error"), plus each stage that failed without saying
# how many (a build error). Exit status: 1 when anything failed.
passed=0 failed=0 broken=
for log in "$@"; do
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p; s/.* \([0-9][0-9]*\) passed.*/\1/p' "$log" |
        awk '{s += $1} END {print s + 0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p; s/.* \([0-9][0-9]*\) failed.*/\1/p;
                s/.* \([0-9][0-9]*\) errors\{0,1\}\( in\|,\).*/\1/p' "$log" |
        awk '{s += $1} END {print s + 0}')
    passed=$((passed + p))
    failed=$((failed + f))
    if grep -q '^make-exit [1-9]' "$log" && [ "$f" -eq 0 ]; then
        broken="$broken $(basename "$log" .log)"
    fi
done
echo "make test: $passed passed, $failed failed${broken:+ (stopped early:$broken)}"
[ "$failed" -eq 0 ] && [ -z "$broken" ]
