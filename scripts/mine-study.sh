#!/bin/bash
# One round of offline image-level hard example mining against plain training, on the
# built-in fashion data set, and its report.
#
#   scripts/mine-study.sh [-seeds "1 2 3"] [-iters T] [-top N] [-repeat K] [-cfg CFG]
#                         [-data DIR] [-out DIR] [-jobs N]
#
# Per seed: train T iterations from scratch on train.txt (the shared start); then
#   plain:  continue to 2T on train.txt,
#   mined:  `./darknet ohem mine` the train list with the start's weights and continue
#           to 2T on its train-hard.txt (train.txt with the N hardest images K more times).
# Both continuations restart from the same weights file with the same seed, so they
# differ in the list only. mAP@0.5 of each on the valid set by `detector map`.
# Every step is skipped when its output exists, so an interrupted study resumes.
# The runs go to -runs DIR (default mine-study/, not kept); OUT/report.md is
# written anew from them.
set -eu
cd "$(dirname "$0")/.."
SEEDS="1 2 3"
T=100
TOP=300
REPEAT=3
BASE=cfg/fashion.cfg
DATA=data/fashion
OUT=docs/results/mine
RUNS=""
JOBS=3
while [ $# -gt 0 ]; do
    case "$1" in
    -seeds) SEEDS=$2; shift 2 ;;
    -iters) T=$2; shift 2 ;;
    -top) TOP=$2; shift 2 ;;
    -repeat) REPEAT=$2; shift 2 ;;
    -cfg) BASE=$2; shift 2 ;;
    -data) DATA=$2; shift 2 ;;
    -out) OUT=$2; shift 2 ;;
    -runs) RUNS=$2; shift 2 ;;
    -jobs) JOBS=$2; shift 2 ;;
    *) echo "usage: scripts/mine-study.sh [-seeds \"1 2 3\"] [-iters T] [-top N] [-repeat K] [-cfg CFG] [-data DIR] [-out DIR] [-runs DIR] [-jobs N]" >&2; exit 2 ;;
    esac
done
for n in $T $TOP $REPEAT $JOBS; do
    case "$n" in ''|*[!0-9]*|0) echo "mine-study: -iters, -top, -repeat and -jobs take positive integers" >&2; exit 2 ;; esac
done
# the runs (weights, logs) go outside docs/ unless told: only the report is kept
RUNS=${RUNS:-mine-study}
make --no-print-directory all >/dev/null
[ -f "$DATA/fashion.data" ] || ./darknet ohem dataset "$DATA" -quiet
mkdir -p "$RUNS" "$OUT"
T2=$((2 * T))
# the learning-rate steps at 80% and 93% of 2T, in the second half for both arms
S1=$((T2 * 80 / 100))
S2=$((T2 * 93 / 100))
CFG=$RUNS/fashion.cfg
sed -e "s/^max_batches=.*/max_batches=$T2/" -e "s/^steps=.*/steps=$S1,$S2/" "$BASE" >"$CFG"
export OHEM_THREADS=${OHEM_THREADS:-1}
T0=$(date +%s)
LOG=$RUNS/commands.txt
: >"$LOG"
# step NAME DIR CMD...: runs CMD into DIR/NAME.out unless DIR/NAME.done exists
step() {
    local name=$1 dir=$2
    shift 2
    [ -f "$dir/$name.done" ] && return 0
    echo "$*" >>"$LOG"
    "$@" >"$dir/$name.out" 2>&1 || { echo "mine-study: failed: $*; see $dir/$name.out" >&2; return 1; }
    touch "$dir/$name.done"
}
# data DIR LIST: a .data file whose backup is DIR and whose train list is LIST
data() { sed -e "s#^backup=.*#backup=$1#" -e "s#^train=.*#train=$2#" "$DATA/fashion.data" >"$1/fashion.data"; }
# seed S: the shared start, the mining, and the two continuations
seed() {
    local s=$1 d=$RUNS/s$1
    mkdir -p "$d/start" "$d/plain" "$d/mined"
    data "$d/start" "$DATA/train.txt"
    step train "$d/start" ./darknet detector train "$d/start/fashion.data" "$CFG" -seed "$s" -max_batches "$T" \
        -log "$d/start/train.csv" -quiet
    local w=$d/start/fashion_final.weights
    step mine "$d/start" ./darknet ohem mine "$d/start/fashion.data" "$CFG" "$w" -list train -top "$TOP" \
        -repeat "$REPEAT" -out "$d/start/mine"
    data "$d/plain" "$DATA/train.txt"
    data "$d/mined" "$d/start/mine/train-hard.txt"
    for arm in plain mined; do
        step train "$d/$arm" ./darknet detector train "$d/$arm/fashion.data" "$CFG" "$w" -seed "$((s + 100))" \
            -max_batches "$T2" -log "$d/$arm/train.csv" -quiet
        step map "$d/$arm" ./darknet detector map "$d/$arm/fashion.data" "$CFG" "$d/$arm/fashion_final.weights"
    done
    step map "$d/start" ./darknet detector map "$d/start/fashion.data" "$CFG" "$w"
}
for s in $SEEDS; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    seed "$s" &
done
fail=0
for j in $(jobs -p); do wait "$j" || fail=1; done
[ $fail = 0 ] || exit 1
ELAPSED=$(( $(date +%s) - T0 ))

# the report
map_of() { tail -n 1 "$1" | awk '{ print $3 }'; }
stats() { awk '{ s += $1; q += $1 * $1; n++ } END { m = s / n; sd = n > 1 ? sqrt((q - n * m * m) / (n - 1)) : 0
    if (sd != sd) sd = 0; printf "%.4f ± %.4f", m, sd }'; }
R=$OUT/report.md
{
    echo "# One round of offline hard-image mining (\`ohem mine -repeat\`) against plain training"
    echo
    echo "Written by \`scripts/mine-study.sh\` on $(date -u '+%Y-%m-%d %H:%M') UTC in $((ELAPSED / 60)) min"
    echo "(steps already done by an earlier, interrupted run are not in that time), at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
    echo
    echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), family $(grep -m1 'cpu family' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores shared with other work; OHEM_THREADS=$OHEM_THREADS, $JOBS runs side by side."
    echo
    echo "Reproduce: \`scripts/mine-study.sh -seeds \"$SEEDS\" -iters $T -top $TOP -repeat $REPEAT -cfg $BASE\`"
    echo
    echo "## Set-up"
    echo
    echo "- cfg: \`$BASE\` with max_batches=$T2 and steps=$S1,$S2; data: \`$DATA\` ($(wc -l <"$DATA/train.txt") training, $(wc -l <"$DATA/valid.txt") valid images)."
    echo "- Per seed S: train $T iterations from scratch (\`-seed S\`). From those weights, two"
    echo "  continuations to $T2 iterations with \`-seed S+100\`: **plain** on train.txt, and"
    echo "  **mined** on the \`train-hard.txt\` that \`ohem mine -list train -top $TOP -repeat $REPEAT\` wrote"
    echo "  from the same weights (train.txt, then its $TOP hardest images $REPEAT more times)."
    echo "- mAP@0.5 by \`./darknet detector map\` on the valid set."
    echo
    echo "## Result"
    echo
    echo "| seed | mAP at $T (start) | plain, $T2 | mined, $T2 | mined - plain |"
    echo "|---|---|---|---|---|"
    for s in $SEEDS; do
        d=$RUNS/s$s
        a=$(map_of "$d/start/map.out"); p=$(map_of "$d/plain/map.out"); m=$(map_of "$d/mined/map.out")
        echo "| $s | $a | $p | $m | $(awk -v p="$p" -v m="$m" 'BEGIN { printf "%+.4f", m - p }') |"
    done
    printf "| mean ± sd | %s | %s | %s | %s |\n" \
        "$(for s in $SEEDS; do map_of "$RUNS/s$s/start/map.out"; done | stats)" \
        "$(for s in $SEEDS; do map_of "$RUNS/s$s/plain/map.out"; done | stats)" \
        "$(for s in $SEEDS; do map_of "$RUNS/s$s/mined/map.out"; done | stats)" \
        "$(for s in $SEEDS; do echo "$(map_of "$RUNS/s$s/mined/map.out") $(map_of "$RUNS/s$s/plain/map.out")"; done |
            awk '{ print $1 - $2 }' | stats)"
    echo
    echo "## What the mining found (seed $(echo $SEEDS | cut -d' ' -f1))"
    echo
    s=$(echo $SEEDS | cut -d' ' -f1)
    csv=$RUNS/s$s/start/mine/mine.csv
    echo "From \`$(basename "$csv")\` over the $(($(wc -l <"$csv") - 1)) training images, the top $TOP against the rest (means):"
    echo
    echo "| images | loss | truths | detections | false positives | misses |"
    echo "|---|---|---|---|---|---|"
    # rows are hardest first (rank is the first column)
    awk -F, -v top="$TOP" 'NR > 1 { g = (NR - 1 <= top) ? 1 : 2; n[g]++; l[g] += $3; t[g] += $4; d[g] += $5; f[g] += $6; m[g] += $7 }
        END { printf "| top %d | %.3f | %.2f | %.2f | %.2f | %.2f |\n", top, l[1] / n[1], t[1] / n[1], d[1] / n[1], f[1] / n[1], m[1] / n[1]
              printf "| the other %d | %.3f | %.2f | %.2f | %.2f | %.2f |\n", n[2], l[2] / n[2], t[2] / n[2], d[2] / n[2], f[2] / n[2], m[2] / n[2] }' "$csv"
    echo
    echo "The contact sheet of the top images: \`$RUNS/s$s/start/mine/hard.png\` (not kept in the repository)."
} >"$R"
cat "$R"
