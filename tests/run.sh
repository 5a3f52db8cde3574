#!/bin/sh
# Runs every test program and end-to-end script; prints "N passed, N failed" last and
# exits non-zero when anything failed.
cd "$(dirname "$0")/.." || exit 1
mkdir -p tests/tmp
# The convolutions' paths are planned (src/cpu/plan.h) into a cache of this run's
# own, so that every program after the first takes the same paths.
rm -f tests/tmp/plan.tsv
export OHEM_PLAN="${OHEM_PLAN:-$PWD/tests/tmp/plan.tsv}"
# Under SANITIZE=1: leaks of libdarknet's own (and of the libraries it loads) are
# suppressed, ours are not; any report fails the test.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:suppressions=$PWD/tests/asan.supp"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
passed=0
failed=0
failures=""
run() {
    name=$1
    shift
    log="tests/tmp/$name.log"
    start=$(date +%s)
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "PASS $name ($(( $(date +%s) - start ))s)"
    else
        failed=$((failed + 1))
        failures="$failures $name"
        echo "FAIL $name ($(( $(date +%s) - start ))s): last lines of $log:"
        grep -v '^Region\|^ *[0-9][0-9]* \(conv\|max\|yolo\|route\|upsample\|detection\|res\)' "$log" | tail -n 25 | sed 's/^/    /'
    fi
}
for t in tests/test_*; do
    case "$t" in *.c|*.h|*.sh) continue ;; esac
    [ -x "$t" ] && run "$(basename "$t")" "$t"
done
# The fuzz targets (built by `make test` where clang-14 exists) replay their seed
# corpus once, so a target that builds but no longer runs fails here.
for t in cfg labels; do
    f=tests/fuzz/fuzz_$t
    [ -x "$f" ] && run "fuzz_$t-corpus" env ASAN_OPTIONS=detect_leaks=1 "$f" -runs=0 "tests/fuzz/corpus_$t"
done
for t in tests/e2e_*.sh; do
    run "$(basename "$t" .sh)" sh "$t"
done
echo
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
