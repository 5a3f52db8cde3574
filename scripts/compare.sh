#!/bin/sh
# Trains cfg/fashion.cfg and cfg/fashion-ohem.cfg (identical but for [ohem]) on the
# same data with the same seeds, evaluates mAP@0.5 on the valid set at checkpoints,
# and writes a report folder: report.md, the plots (gnuplot PNGs), the logs.
#
#   scripts/compare.sh [-seeds "1 2 3"] [-iters N] [-map N] [-out DIR] [-data DIR]
#                      [-variant "LABEL:key=value,key=value"]...
#
# -variant adds a run of cfg/fashion.cfg with an [ohem] section of those keys (for
# tuning), e.g. -variant "p128:per_image=128,nms=0.5". The learning-rate steps are
# put at 80% and 93% of -iters for every run.
set -eu
cd "$(dirname "$0")/.."
SEEDS=1
ITERS=300
MAPN=100
OUT=report
DATA=data/fashion
VARIANTS="baseline: ohem:per_image=64,nms=0.7"
EXTRA=""
while [ $# -gt 0 ]; do
    case "$1" in
    -seeds) SEEDS=$2; shift 2 ;;
    -iters) ITERS=$2; shift 2 ;;
    -map) MAPN=$2; shift 2 ;;
    -out) OUT=$2; shift 2 ;;
    -data) DATA=$2; shift 2 ;;
    -variant) EXTRA="$EXTRA $2"; shift 2 ;;
    *) echo "usage: scripts/compare.sh [-seeds \"1 2 3\"] [-iters N] [-map N] [-out DIR] [-data DIR] [-variant LABEL:keys]" >&2; exit 2 ;;
    esac
done
VARIANTS="$VARIANTS$EXTRA"
for n in $ITERS $MAPN; do
    case "$n" in ''|*[!0-9]*) echo "compare: -iters and -map take positive integers" >&2; exit 2 ;; esac
done
make --no-print-directory all >/dev/null
[ -f "$DATA/fashion.data" ] || ./darknet ohem dataset "$DATA"
mkdir -p "$OUT/runs"
S1=$((ITERS * 80 / 100))
S2=$((ITERS * 93 / 100))
[ "$S2" -gt "$S1" ] || S2=$((S1 + 1))
T0=$(date +%s)
COMMANDS="$OUT/commands.txt"
: >"$COMMANDS"
for v in $VARIANTS; do
    label=${v%%:*}
    keys=${v#*:}
    cfg=$OUT/runs/fashion-$label.cfg
    sed -e "s/^max_batches=.*/max_batches=$ITERS/" -e "s/^steps=.*/steps=$S1,$S2/" cfg/fashion.cfg >"$cfg"
    if [ -n "$keys" ]; then
        printf '\n[ohem]\n%s\n' "$(echo "$keys" | tr ',' '\n')" >>"$cfg"
    fi
    for s in $SEEDS; do
        run=$OUT/runs/$label-s$s
        mkdir -p "$run"
        sed "s#^backup=.*#backup=$run#" "$DATA/fashion.data" >"$run/fashion.data"
        echo "== $label, seed $s: $ITERS iterations =="
        cmd="./darknet detector train $run/fashion.data $cfg -seed $s -max_batches $ITERS -map $MAPN -log $run/train.csv -quiet"
        echo "$cmd" >>"$COMMANDS"
        OHEM_THREADS=${OHEM_THREADS:-1} $cmd 2>&1 | grep -v '^Saving weights\|^Loading weights' | tail -n 2
        cmd="./darknet detector map $run/fashion.data $cfg $run/fashion-${label}_final.weights"
        echo "$cmd" >>"$COMMANDS"
        $cmd 2>/dev/null >"$run/map.txt"
        tail -n 1 "$run/map.txt"
    done
done
ELAPSED=$(( $(date +%s) - T0 ))
sh scripts/report.sh "$OUT" "$ELAPSED" $VARIANTS
