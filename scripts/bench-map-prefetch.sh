#!/bin/sh
# `detector map` with the images loaded ahead of the forward on the loader thread (the
# default) against each loaded in its turn (OHEM_PREFETCH=off), in alternation.
# Debian's yolov3-tiny at 416 with seeded random weights (bench/bench_infer -forwards
# writes them), the objectness bias of its [yolo] layers' convolutions set to -6.3 so
# that about 50 boxes an image pass map's 0.005 threshold (with random weights nearly
# all 2535 do, in every class, and libdarknet's NMS over them takes seconds); a list of N images: Debian's 7 sample photos (/usr/share/darknet/data,
# JPEG, 500 to 1600 pixels wide) copied under N names, each with 1 to 4 seeded random
# boxes of the 80 COCO classes. Prints each run's wall seconds and the evaluation
# loop's rate (the progress bar's last img/s: after the list's up-front check and the
# network's build), then the medians and the median of the pair ratios. With CMD mine,
# `ohem mine` over the same list instead (its rate: the progress line's images/s of
# the ranking pass; the files and summary compared between the two).
#   scripts/bench-map-prefetch.sh [N] [PAIRS] [map|mine]      (defaults 120, 5, map)
set -eu
cd "$(dirname "$0")/.."
N=${1:-120}
PAIRS=${2:-5}
CMD=${3:-map}
D=bench/tmp-prefetch
make -s darknet bench/bench_infer
bench/bench_infer -forwards 1 yolov3-tiny 2>/dev/null
CFG=bench/tmp-infer-yolov3-tiny-1.cfg
python3 - "$CFG" "$CFG.weights" -6.3 <<'PY'
import re, struct, sys
# The weights file: a header, then per [convolutional] its biases (filters), with batch
# norm its scales, means and variances, then its weights (filters x channels x size^2).
cfg, weights, bias = sys.argv[1], sys.argv[2], float(sys.argv[3])
secs = []
for m in re.finditer(r'\[(\w+)\]([^\[]*)', open(cfg).read()):
    kv = {}
    for line in m.group(2).splitlines():
        line = line.split('#')[0].replace(' ', '')
        if '=' in line:
            k, v = line.split('=', 1)
            kv[k] = v
    secs.append((m.group(1), kv))
data = bytearray(open(weights, 'rb').read())
major, minor = struct.unpack_from('ii', data, 0)
off = 12 + (8 if major * 10 + minor >= 2 else 4)
chans, c = [], int(secs[0][1]['channels'])
for i, (t, kv) in enumerate(secs[1:]):
    if t == 'convolutional':
        n, size, bn = int(kv['filters']), int(kv['size']), int(kv.get('batch_normalize', 0))
        if i + 2 < len(secs) and secs[i + 2][0] == 'yolo':
            for a in range(3):  # 3 anchors of (x, y, w, h, objectness, 80 classes)
                struct.pack_into('f', data, off + 4 * (a * (n // 3) + 4), bias)
        off += 4 * n * (4 if bn else 1) + 4 * n * c * size * size
        c = n
    elif t == 'route':
        c = sum(chans[int(x)] for x in kv['layers'].split(','))
    chans.append(c)
assert off == len(data), (off, len(data))
open(weights, 'wb').write(data)
PY
rm -rf "$D"
mkdir -p "$D/images" "$D/labels"
set -- /usr/share/darknet/data/*.jpg
i=0
: >"$D/valid.txt"
while [ "$i" -lt "$N" ]; do
    k=$((i % $# + 1))
    eval "src=\${$k}"
    name=$(printf 'im%04d' "$i")
    cp "$src" "$D/images/$name.jpg"
    echo "$D/images/$name.jpg" >>"$D/valid.txt"
    awk -v seed="$i" 'BEGIN { srand(seed + 1); n = 1 + int(4 * rand());
        for (r = 0; r < n; r++) { w = .1 + .5 * rand(); h = .1 + .5 * rand();
            printf "%d %.4f %.4f %.4f %.4f\n", int(80 * rand()), w / 2 + (1 - w) * rand(), h / 2 + (1 - h) * rand(), w, h } }' \
        >"$D/labels/$name.txt"
    i=$((i + 1))
done
printf 'classes=80\ntrain=%s/valid.txt\nvalid=%s/valid.txt\nnames=/usr/share/darknet/data/coco.names\n' "$D" "$D" >"$D/bench.data"
run() { # mode: one run; prints "seconds img/s", keeps its table in $D/map-mode.txt
    t0=$(date +%s.%N)
    if [ "$CMD" = mine ]; then
        OHEM_PREFETCH=$1 ./darknet ohem mine "$D/bench.data" "$CFG" "$CFG.weights" -out "$D/mine" >"$D/map-$1.txt" 2>"$D/map-$1.err"
        cat "$D/mine/mine.csv" >>"$D/map-$1.txt"
    else
        OHEM_PREFETCH=$1 ./darknet detector map "$D/bench.data" "$CFG" "$CFG.weights" >"$D/map-$1.txt" 2>"$D/map-$1.err"
    fi
    t1=$(date +%s.%N)
    rate=$(tr '\r' '\n' <"$D/map-$1.err" | sed -n 's/.*, \([0-9.]*\) img\/s$/\1/p; s/^mine: .*, \([0-9.]*\) images\/s, .*/\1/p' | tail -1)
    echo "$t0 $t1 $rate" | awk '{ printf "%.3f %s\n", $2 - $1, $3 }'
}
echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) cores online; $CMD, $N images, $PAIRS pairs"
run on >/dev/null # warm-up: page cache, plan cache
echo "pair  off_s  off_img/s  on_s  on_img/s"
p=1
: >"$D/pairs.txt"
while [ "$p" -le "$PAIRS" ]; do
    a=$(run off)
    b=$(run on)
    cmp -s "$D/map-off.txt" "$D/map-on.txt" || { echo "the tables differ"; exit 1; }
    echo "$p $a $b" | tee -a "$D/pairs.txt"
    p=$((p + 1))
done
sort_median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median wall: off $(awk '{ print $2 }' "$D/pairs.txt" | sort_median) s, on $(awk '{ print $4 }' "$D/pairs.txt" | sort_median) s;" \
    "median of off/on: $(awk '{ print $2 / $4 }' "$D/pairs.txt" | sort_median)"
echo "median loop rate: off $(awk '{ print $3 }' "$D/pairs.txt" | sort_median) img/s, on $(awk '{ print $5 }' "$D/pairs.txt" | sort_median) img/s;" \
    "median of on/off: $(awk '{ print $5 / $3 }' "$D/pairs.txt" | sort_median)"
