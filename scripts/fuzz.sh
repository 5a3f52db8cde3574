#!/bin/sh
# Runs each fuzz target for SECONDS from its seed corpus (tests/fuzz/corpus_*), new
# inputs into tests/tmp/fuzz_*; prints the executions and fails on any finding.
set -u
SECONDS_EACH=${1:-60}
cd "$(dirname "$0")/.."
status=0
for t in cfg labels; do
    mkdir -p "tests/tmp/fuzz_$t" tests/tmp
    log=tests/tmp/fuzz_$t.log
    if ASAN_OPTIONS=detect_leaks=1 "tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -artifact_prefix="tests/tmp/fuzz_$t-" "tests/tmp/fuzz_$t" "tests/fuzz/corpus_$t" >"$log" 2>&1; then
        echo "fuzz_$t: $(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}') executions in ${SECONDS_EACH}s, no finding"
    else
        status=1
        echo "fuzz_$t: FOUND A PROBLEM (see $log and tests/tmp/fuzz_$t-*):"
        grep -E 'ERROR|SUMMARY' "$log" | head -n 5
    fi
done
exit $status
