#!/bin/sh
# End to end with negative images (an empty label file: an image with nothing to
# find): a data set where half the images are negative and one where all are, so
# that whole batches hold no truth. The data checks accept them; the one-stage and
# two-stage cfgs, with and without [ohem], train with finite losses; detector map
# counts the detections on negative images as false positives; ohem show and ohem
# mine run on them. Exits non-zero at the first failure, saying what failed.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e_negatives
. tests/lib.sh

expect_status 0 ./darknet ohem dataset "$D/half" -train 16 -valid 8 -size 64 -seed 3 -quiet
expect_status 0 ./darknet ohem dataset "$D/none" -train 8 -valid 4 -size 64 -seed 4 -quiet
# half: every other label file emptied (valid too); none: every label file emptied
n=0
for f in "$D"/half/labels/*.txt; do
    n=$((n + 1))
    [ $((n % 2)) = 0 ] && : >"$f"
done
for f in "$D"/none/labels/*.txt; do : >"$f"; done
[ "$(find "$D/half/labels" -empty | wc -l)" -ge 12 ] || fail "too few negative images made"

for v in fashion fashion-ohem fashion-frcnn fashion-frcnn-ohem; do
    sed -e 's/^batch=.*/batch=4/' -e 's/^subdivisions=.*/subdivisions=1/' -e 's/^width=.*/width=64/' \
        -e 's/^height=.*/height=64/' -e 's/^max_batches=.*/max_batches=4/' -e 's/^burn_in=.*/burn_in=0/' \
        -e 's/^rois=.*/rois=32/' -e 's/^rois_per_image=.*/rois_per_image=16/' -e 's/^proposals=.*/proposals=32/' \
        -e 's/^per_image=.*/per_image=16/' cfg/$v.cfg >"$D/$v.cfg"
    for set in half none; do
        expect_status 0 ./darknet detector train "$D/$set/fashion.data" "$D/$v.cfg" -seed 3 -quiet -log "$D/$v-$set.csv"
        expect_text "done: 4 iterations"
        # every figure of the log is finite: no NaN, no inf
        grep -qi 'nan\|inf' "$D/$v-$set.csv" && fail "$v on $set: a figure of the log is not finite"
        awk -F, 'NR > 1 && !($2 + 0 == $2 && $2 >= 0 && $2 < 1e6) { exit 1 }' "$D/$v-$set.csv" ||
            fail "$v on $set: a loss is not finite"
    done
done
# the two-stage heads trained with no foreground at all where there is no truth
awk -F, 'NR > 1 && $21 != 0 { exit 1 }' "$D/fashion-frcnn-none.csv" || fail "foreground RoIs trained without any truth"
# the sampler's background starts at bg_iou's low end: from 0, negative images train
# the RoI head as background
sed 's/^bg_iou=.*/bg_iou=0,0.5/' "$D/fashion-frcnn.cfg" >"$D/bg0.cfg"
expect_status 0 ./darknet detector train "$D/none/fashion.data" "$D/bg0.cfg" -seed 3 -quiet -log "$D/bg0.csv"
awk -F, 'NR > 1 && !($20 > 0 && $21 == 0 && $17 > 0) { exit 1 }' "$D/bg0.csv" ||
    fail "bg_iou=0,0.5: negative images did not train the RoI head as background"

# Inference needs detections to count: networks trained for 4 iterations have batch
# norm statistics too young to detect anything, so these cfgs leave batch norm out.
for v in fashion fashion-frcnn; do
    sed 's/^batch_normalize=1/batch_normalize=0/' "$D/$v.cfg" >"$D/$v-nobn.cfg"
    expect_status 0 ./darknet detector train "$D/half/fashion.data" "$D/$v-nobn.cfg" -seed 3 -quiet -max_batches 2
done
# detector map: on negative images every detection is a false positive (TP 0, no AP);
# on half-negative data the table is there
for v in fashion-nobn fashion-frcnn-nobn; do
    W=$D/half/backup/${v}_final.weights
    expect_status 0 ./darknet detector map "$D/none/fashion.data" "$D/$v.cfg" "$W" -thresh 0
    expect_text "mAP@0.50 = 0.0000"
    awk 'NF == 8 && $1 != "class" { d += $3; if ($2 != 0 || $7 != 0 || $3 != $8 || $4 != "n/a") bad = 1 }
        END { exit bad || d == 0 }' "$D/out" ||
        { cat "$D/out"; fail "$v: on negative images, not every detection (-thresh 0) is a false positive, or none at all"; }
    expect_status 0 ./darknet detector map "$D/half/fashion.data" "$D/$v.cfg" "$W"
    tail -1 "$D/out" | grep -Eq '^mAP@0\.50 = [01]\.[0-9]{4}$' || fail "$v: map on half-negative data"
done

# ohem show on a negative image: no ground truth drawn, no positive
NEG=$(head -1 "$D/none/train.txt")
for v in fashion-ohem fashion-frcnn-ohem; do
    expect_status 0 ./darknet ohem show "$D/none/fashion.data" "$D/$v.cfg" "$D/none/backup/${v}_final.weights" "$NEG" -out "$D/show-$v"
    expect_text "positives 0/0"
    [ -s "$D/show-$v.png" ] || fail "ohem show wrote no picture for a negative image"
done

# ohem mine over negative images: no truth, no miss, every detection false
for v in fashion fashion-frcnn; do
    expect_status 0 ./darknet ohem mine "$D/half/fashion.data" "$D/$v-nobn.cfg" "$D/half/backup/$v-nobn_final.weights" \
        -top 4 -thresh 0.01 -out "$D/mine-$v"
    neg=$(find "$D/half/labels" -name 'train_*' -empty | wc -l)
    expect_text "16 images ($neg without boxes)"
    awk -F, -v neg="$neg" 'NR > 1 && $4 == 0 { n++; d += $5; if ($7 != 0 || $6 != $5) bad = 1 } END { exit bad || n != neg || d == 0 }' \
        "$D/mine-$v/mine.csv" || fail "$v: mine.csv: a negative image with a miss, a true positive, or no detection at all"
done
echo "e2e_negatives: all passed"
