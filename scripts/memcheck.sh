#!/bin/sh
# Long-run memory check: trains each of the four fashion cfgs (one-stage and
# two-stage, with and without [ohem]) on tiny inputs for -iters iterations, samples
# the trainer's resident size (VmRSS of /proc/PID/status) each time its -log file
# passes a multiple of -every iterations, and fails when, after -warmup iterations,
# the samples of a run vary by -tolerance percent or more ((max - min) / min). A
# leak too small for that still shows in the slope column, its rate.
#
#   scripts/memcheck.sh [-iters 3000] [-warmup 300] [-every 100] [-tolerance 1]
#                       [-batch 2] [-size 64] [-out bench/tmp-memcheck] [-cfgs "CFG ..."]
#
# Prints one table row per cfg (the samples' first, least and largest size, their
# variation, and the least-squares slope in kB per 1000 iterations) and keeps the
# samples of each run (iteration, kB) under OUT/. Exits 1 when a run grows or
# fails, 2 on bad usage.
set -u
cd "$(dirname "$0")/.."
ITERS=3000
WARMUP=300
EVERY=100
TOL=1
BATCH=2
SIZE=64
OUT=bench/tmp-memcheck
CFGS="cfg/fashion.cfg cfg/fashion-ohem.cfg cfg/fashion-frcnn.cfg cfg/fashion-frcnn-ohem.cfg"
usage() {
    echo "usage: scripts/memcheck.sh [-iters N] [-warmup N] [-every N] [-tolerance PERCENT] [-batch N] [-size S] [-out DIR] [-cfgs \"CFG ...\"]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case "$1" in
    -iters) ITERS=$2 ;;
    -warmup) WARMUP=$2 ;;
    -every) EVERY=$2 ;;
    -tolerance) TOL=$2 ;;
    -batch) BATCH=$2 ;;
    -size) SIZE=$2 ;;
    -out) OUT=$2 ;;
    -cfgs) CFGS=$2 ;;
    *) usage ;;
    esac
    shift 2
done
for n in "$ITERS" "$WARMUP" "$EVERY" "$BATCH" "$SIZE"; do
    case "$n" in '' | *[!0-9]*) echo "memcheck: -iters, -warmup, -every, -batch and -size take integers" >&2; usage ;; esac
done
[ "$EVERY" -gt 0 ] && [ "$BATCH" -gt 0 ] && [ $((SIZE % 32)) -eq 0 ] && [ "$SIZE" -ge 64 ] ||
    { echo "memcheck: -every and -batch must be positive, -size a multiple of 32 from 64" >&2; exit 2; }
[ $((ITERS - WARMUP)) -gt $((2 * EVERY)) ] ||
    { echo "memcheck: -iters must leave at least two samples (more than 2 x -every) after -warmup" >&2; exit 2; }
case "$TOL" in '' | *[!0-9.]*) echo "memcheck: -tolerance takes a percentage" >&2; exit 2 ;; esac
[ -x ./darknet ] || { echo "memcheck: ./darknet is not built (run make)" >&2; exit 1; }

mkdir -p "$OUT"
DATA=$OUT/data/fashion.data
[ -f "$DATA" ] || ./darknet ohem dataset "$OUT/data" -train 64 -valid 8 -size "$SIZE" -seed 1 -quiet ||
    { echo "memcheck: the data set could not be made" >&2; exit 1; }

echo "memcheck: $ITERS iterations per cfg, batch $BATCH, ${SIZE}x$SIZE, VmRSS every $EVERY iterations, after $WARMUP; tolerance $TOL%"
echo "cpu: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
printf '| %-22s | %10s | %7s | %10s | %10s | %10s | %10s | %14s | %7s |\n' cfg iterations samples "first kB" "min kB" "max kB" \
    variation "kB / 1000 it" seconds
echo "|------------------------|------------|---------|------------|------------|------------|------------|----------------|---------|"
status=0
for cfg in $CFGS; do
    name=$(basename "$cfg" .cfg)
    tiny=$OUT/$name.cfg
    # tiny inputs, one subdivision, no multi-scale, steps inside the run
    sed -e "s/^batch=.*/batch=$BATCH/" -e 's/^subdivisions=.*/subdivisions=1/' \
        -e "s/^width=.*/width=$SIZE/" -e "s/^height=.*/height=$SIZE/" -e 's/^random=.*/random=0/' \
        -e 's/^burn_in=.*/burn_in=50/' -e "s/^steps=.*/steps=$((ITERS * 8 / 10)),$((ITERS * 9 / 10))/" \
        "$cfg" >"$tiny" || { status=1; continue; }
    log=$OUT/$name.csv
    samples=$OUT/$name.rss
    rm -f "$log" "$OUT/data/backup/$name"*
    : >"$samples"
    t0=$(date +%s)
    ./darknet detector train "$DATA" "$tiny" -seed 1 -max_batches "$ITERS" -quiet -log "$log" >"$OUT/$name.out" 2>&1 &
    pid=$!
    next=$EVERY
    while kill -0 "$pid" 2>/dev/null; do
        it=$(tail -n 1 "$log" 2>/dev/null | cut -d, -f1)
        case "$it" in '' | *[!0-9]*) it=0 ;; esac
        # the last row is followed by the final save and the teardown: not sampled
        if [ "$it" -ge "$next" ] && [ "$it" -lt "$ITERS" ]; then
            rss=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null)
            [ -n "$rss" ] && echo "$it $rss" >>"$samples"
            while [ "$next" -le "$it" ]; do next=$((next + EVERY)); done
        fi
        sleep 0.05
    done
    wait "$pid"
    st=$?
    secs=$(($(date +%s) - t0))
    if [ "$st" -ne 0 ]; then
        echo "memcheck: $name: training exited with status $st:" >&2
        tail -n 5 "$OUT/$name.out" >&2
        status=1
        continue
    fi
    if ! awk -v w="$WARMUP" -v tol="$TOL" -v name="$name" -v secs="$secs" -v iters="$ITERS" '
        $1 > w {
            n++; if (n == 1) first = $2; if (n == 1 || $2 < lo) lo = $2; if (n == 1 || $2 > hi) hi = $2
            sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2
        }
        END {
            if (n < 2) { printf "memcheck: %s: %d samples after the warm-up (the trainer ran too fast to sample?)\n", name, n > "/dev/stderr"; exit 1 }
            v = 100 * (hi - lo) / lo
            d = n * sxx - sx * sx
            slope = d > 0 ? 1000 * (n * sxy - sx * sy) / d : 0
            printf "| %-22s | %10d | %7d | %10d | %10d | %10d | %9.2f%% | %14.1f | %7d |\n", name, iters, n, first, lo, hi, v, slope, secs
            exit !(v < tol)
        }' "$samples"; then
        echo "memcheck: $name: the resident size varies by $TOL% or more after the warm-up; samples in $samples" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "memcheck: every run kept its resident size within $TOL%"
exit "$status"
