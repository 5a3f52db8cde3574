#!/bin/bash
# Trains cfg/fashion.cfg and cfg/fashion-ohem.cfg (identical but for [ohem]) on the
# same data with the same seeds, evaluates mAP@0.5 on the valid set at checkpoints,
# and writes a report folder: report.md, the plots (gnuplot PNGs), the logs.
#
#   scripts/compare.sh [-seeds "1 2 3"] [-iters N] [-map N] [-out DIR] [-data DIR]
#                      [-jobs N] [-variant "LABEL:key=value,key=value"]... [-variant-seeds "1"]
#
# -jobs runs that many trainings side by side (default 2: on 2 cores, two runs with
# one OpenBLAS thread each take little more than one run alone; see
# docs/performance.md); every run then sees the same conditions, so their times
# compare.
# -variant adds runs of cfg/fashion.cfg with an [ohem] section of those keys (for
# tuning), e.g. -variant "p128:per_image=128,nms=0.5", with the seeds of
# -variant-seeds (default: those of -seeds). A first key cfg=FILE trains FILE
# instead of cfg/fashion.cfg (e.g. -variant "frcnn:cfg=cfg/fashion-frcnn.cfg"); when
# FILE ends in an [ohem] section, the other keys go into it (e.g.
# "rank-class:cfg=cfg/fashion-frcnn-ohem.cfg,rank=class"). A first key env=NAME=VALUE
# (before cfg=) runs the variant with that environment variable (e.g.
# "darknet:env=OHEM_BACKWARD=darknet,cfg=cfg/fashion-res.cfg").
# -main "LABEL:keys ..." replaces the two main variants (baseline and ohem). The learning-rate steps are
# put at 80% and 93% of -iters for every run.
set -eu
cd "$(dirname "$0")/.."
SEEDS=1
ITERS=300
MAPN=100
OUT=report
DATA=data/fashion
JOBS=2
VSEEDS=""
VARIANTS="baseline: ohem:per_image=64,nms=0.7"
EXTRA=""
while [ $# -gt 0 ]; do
    case "$1" in
    -seeds) SEEDS=$2; shift 2 ;;
    -iters) ITERS=$2; shift 2 ;;
    -map) MAPN=$2; shift 2 ;;
    -out) OUT=$2; shift 2 ;;
    -data) DATA=$2; shift 2 ;;
    -jobs) JOBS=$2; shift 2 ;;
    -variant) EXTRA="$EXTRA $2"; shift 2 ;;
    -variant-seeds) VSEEDS=$2; shift 2 ;;
    -main) VARIANTS=$2; shift 2 ;;
    *) echo "usage: scripts/compare.sh [-seeds \"1 2 3\"] [-iters N] [-map N] [-out DIR] [-data DIR] [-variant LABEL:keys] [-main \"LABEL:keys ...\"]" >&2; exit 2 ;;
    esac
done
MAIN="$VARIANTS"
VARIANTS="$VARIANTS$EXTRA"
VSEEDS=${VSEEDS:-$SEEDS}
for n in $ITERS $MAPN $JOBS; do
    case "$n" in ''|*[!0-9]*|0) echo "compare: -iters, -map and -jobs take positive integers" >&2; exit 2 ;; esac
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
# run LABEL SEED CFG: one training and its final mAP, output in the run's folder
run() {
    local label=$1 s=$2 cfg=$3 dir=$OUT/runs/$1-s$2
    env ${ENV_OF[$label]:-} OHEM_THREADS=${OHEM_THREADS:-1} ./darknet detector train "$dir/fashion.data" "$cfg" -seed "$s" \
        -max_batches "$ITERS" -map "$MAPN" -log "$dir/train.csv" -quiet >"$dir/train.out" 2>&1 || {
        echo "compare: $label seed $s failed; see $dir/train.out" >&2
        return 1
    }
    ./darknet detector map "$dir/fashion.data" "$cfg" "$dir/fashion-${label}_final.weights" >"$dir/map.txt" 2>/dev/null
    echo "$label, seed $s: $(tail -n 1 "$dir/map.txt"), $(grep '^done:' "$dir/train.out")"
}
declare -A ENV_OF
for v in $VARIANTS; do
    label=${v%%:*}
    keys=${v#*:}
    # a first key env=NAME=VALUE runs the variant with that environment variable
    case "$keys" in
    env=*)
        ENV_OF[$label]=${keys%%,*}
        ENV_OF[$label]=${ENV_OF[$label]#env=}
        case "$keys" in *,*) keys=${keys#*,} ;; *) keys="" ;; esac
        ;;
    esac
    cfg=$OUT/runs/fashion-$label.cfg
    base=cfg/fashion.cfg
    case "$keys" in
    cfg=*)
        base=${keys%%,*}
        base=${base#cfg=}
        case "$keys" in *,*) keys=${keys#*,} ;; *) keys="" ;; esac
        [ -f "$base" ] || { echo "compare: variant $label: $base: no such cfg" >&2; exit 2; }
        ;;
    esac
    sed -e "s/^max_batches=.*/max_batches=$ITERS/" -e "s/^steps=.*/steps=$S1,$S2/" "$base" >"$cfg"
    if [ -n "$keys" ]; then
        # a cfg that ends in [ohem] takes the keys into that section
        last=$(grep -E '^\[' "$base" | tail -n 1)
        if [ "$last" = "[ohem]" ]; then
            # a key the section already has takes the new value in place; the others
            # go at its end
            awk -v keys="$keys" 'BEGIN { n = split(keys, kv, ","); for (i = 1; i <= n; i++) { k = kv[i]; sub(/=.*/, "", k); val[k] = kv[i] } }
                /^\[/ { inohem = ($0 == "[ohem]") }
                { k = $0; sub(/=.*/, "", k); if (inohem && (k in val)) { print val[k]; done[k] = 1 } else print }
                END { for (i = 1; i <= n; i++) { k = kv[i]; sub(/=.*/, "", k); if (!(k in done)) print kv[i] } }' \
                "$cfg" >"$cfg.tmp" && mv "$cfg.tmp" "$cfg"
        else
            printf '\n[ohem]\n%s\n' "$(echo "$keys" | tr ',' '\n')" >>"$cfg"
        fi
    fi
done
# every (variant, seed) pair, the main variants first
PAIRS=""
for s in $SEEDS; do for v in $MAIN; do PAIRS="$PAIRS $s@$v"; done; done
for s in $VSEEDS; do for v in $EXTRA; do PAIRS="$PAIRS $s@$v"; done; done
echo "compare: $(echo $PAIRS | wc -w) runs ($(echo $VARIANTS | wc -w) variants), $ITERS iterations each, $JOBS at a time"
for pair in $PAIRS; do
        s=${pair%%@*}
        v=${pair#*@}
        label=${v%%:*}
        cfg=$OUT/runs/fashion-$label.cfg
        dir=$OUT/runs/$label-s$s
        mkdir -p "$dir"
        sed "s#^backup=.*#backup=$dir#" "$DATA/fashion.data" >"$dir/fashion.data"
        echo "${ENV_OF[$label]:+${ENV_OF[$label]} }OHEM_THREADS=${OHEM_THREADS:-1} ./darknet detector train $dir/fashion.data $cfg -seed $s -max_batches $ITERS -map $MAPN -log $dir/train.csv -quiet" >>"$COMMANDS"
        echo "./darknet detector map $dir/fashion.data $cfg $dir/fashion-${label}_final.weights" >>"$COMMANDS"
        while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
        run "$label" "$s" "$cfg" &
done
wait
ELAPSED=$(( $(date +%s) - T0 ))
JOBS=$JOBS bash scripts/report.sh "$OUT" "$ELAPSED" $VARIANTS
