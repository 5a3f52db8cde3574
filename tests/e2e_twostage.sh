#!/bin/sh
# End to end through ./darknet with a two-stage cfg (cfg/fashion-frcnn.cfg, smaller):
# training lowers both the RPN's and the RoI head's loss, detector map, valid and
# test run on the result, and a bad key is an error with file and line. Exits
# non-zero at the first failure, saying what failed.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e_twostage
. tests/lib.sh

expect_status 0 ./darknet ohem dataset "$D/data" -train 64 -valid 16 -seed 4 -quiet
DATA=$D/data/fashion.data
# 8 images a step, 32 RoIs each, 120 iterations
sed -e 's/^batch=.*/batch=8/' -e 's/^subdivisions=.*/subdivisions=1/' -e 's/^burn_in=.*/burn_in=20/' \
    -e 's/^rois=.*/rois=32/' -e 's/^rois_per_image=.*/rois_per_image=16/' -e 's/^proposals=.*/proposals=32/' \
    cfg/fashion-frcnn.cfg >"$D/frcnn.cfg"
expect_status 0 ./darknet detector train "$DATA" "$D/frcnn.cfg" -seed 2 -max_batches 120 -quiet -log "$D/train.csv"
expect_text "done: 120 iterations"
W=$D/data/backup/frcnn_final.weights
[ -s "$W" ] || fail "no final weights"
# columns: 14 rpn_loss, 17 roi_loss; both finite, both lower at the end than at the start
awk -F, 'NR > 1 && !($14 + 0 == $14 && $17 + 0 == $17 && $14 > 0 && $17 > 0 && $2 < 1e6) { exit 1 }' "$D/train.csv" ||
    fail "a two-stage loss is missing or not finite"
awk -F, 'NR > 1 && NR <= 11 { r0 += $14; h0 += $17 } NR > 111 { r1 += $14; h1 += $17 }
    END { printf "rpn %.4f -> %.4f, roi %.4f -> %.4f\n", r0 / 10, r1 / 10, h0 / 10, h1 / 10; exit !(r1 < 0.8 * r0 && h1 < 0.8 * h0) }' \
    "$D/train.csv" || fail "the losses did not fall by a fifth over 120 iterations"
awk -F, 'NR > 1 && !($15 + $16 > 0.999 * $14 && $15 + $16 < 1.001 * $14 + 1e-6) { exit 1 }' "$D/train.csv" ||
    fail "rpn_obj + rpn_box != rpn_loss"
awk -F, 'NR > 1 && !($21 > 0 && $21 <= 8 * 16 && $22 <= $21 * 0.25 + 8) { exit 1 }' "$D/train.csv" ||
    fail "RoIs trained per iteration out of the sampler's bounds"

expect_status 0 ./darknet detector map "$DATA" "$D/frcnn.cfg" "$W"
tail -1 "$D/out" | grep -Eq '^mAP@0\.50 = [01]\.[0-9]{4}$' || fail "map: last line is not mAP@0.50 = x"
expect_status 0 ./darknet detector valid "$DATA" "$D/frcnn.cfg" "$W" -out "$D/results/det_"
for c in tshirt sneaker pullover; do [ -f "$D/results/det_$c.txt" ] || fail "valid: no det_$c.txt"; done
IMG=$(head -1 "$D/data/valid.txt")
expect_status 0 ./darknet detector test "$DATA" "$D/frcnn.cfg" "$W" "$IMG" -thresh 0.01 -out "$D/pred"
[ -s "$D/pred.png" ] || fail "test wrote no picture"
expect_text "detections at -thresh 0.01"

# a bad key: exit 1, file, line, section, key
sed 's/^rois=32$/rois=0/' "$D/frcnn.cfg" >"$D/bad.cfg"
expect_status 1 ./darknet detector train "$DATA" "$D/bad.cfg" -max_batches 1 -quiet
line=$(grep -n '^rois=0$' "$D/bad.cfg" | cut -d: -f1)
expect_text "$D/bad.cfg:$line: [roipool] rois=0: out of range"
echo "e2e_twostage: all passed"
