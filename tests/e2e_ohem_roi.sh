#!/bin/sh
# End to end through ./darknet: [ohem] mining the RoIs of a two-stage cfg
# (cfg/fashion-frcnn-ohem.cfg, smaller). Training runs with finite losses; the CSV
# holds the [ohem] figures (kept <= per_image x images, candidates = images x RoIs
# in the paper's setting, bg_iou unset), the RoIs trained are the kept ones, the
# loss is RPN + RoI; warmup trains every labelled RoI; detector map runs on the
# result. Exits non-zero at the first failure, saying what failed.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e_ohem_roi
. tests/lib.sh

expect_status 0 ./darknet ohem dataset "$D/data" -train 64 -valid 16 -seed 4 -quiet
DATA=$D/data/fashion.data
# 8 images a step, 32 RoIs each, 8 kept per image; bg_iou unset: every RoI labelled
sed -e 's/^batch=.*/batch=8/' -e 's/^subdivisions=.*/subdivisions=1/' -e 's/^burn_in=.*/burn_in=20/' \
    -e 's/^rois=.*/rois=32/' -e 's/^proposals=.*/proposals=32/' -e 's/^per_image=.*/per_image=8/' \
    -e '/^bg_iou=/d' cfg/fashion-frcnn-ohem.cfg >"$D/frcnn-ohem.cfg"
grep -q '^\[ohem\]' "$D/frcnn-ohem.cfg" || fail "the cfg has no [ohem]"
expect_status 0 ./darknet detector train "$DATA" "$D/frcnn-ohem.cfg" -seed 2 -max_batches 30 -log "$D/train.csv"
expect_text "ohem 30: mining, kept"
expect_text "roi_loss   3 classes, the sampler off: [ohem] chooses the RoIs that train"
expect_text "done: 30 iterations"
[ "$(wc -l <"$D/train.csv")" -eq 31 ] || fail "train.csv has not 30 rows"
# columns: 2 loss, 7 ohem_kept, 8 ohem_candidates, 11/12 mean loss kept/all,
# 14 rpn_loss, 17 roi_loss, 20 roi_trained
awk -F, 'NR > 1 && !($2 + 0 == $2 && $2 > 0 && $2 < 1e6 && $14 > 0 && $17 > 0 && $11 > 0 && $12 > 0) { exit 1 }' "$D/train.csv" ||
    fail "a loss is missing, zero or not finite"
awk -F, 'NR > 1 && !($7 > 0 && $7 <= 8 * 8 && $8 == 8 * 32) { print; exit 1 }' "$D/train.csv" ||
    fail "ohem_kept not in (0, per_image x images] or ohem_candidates != images x RoIs"
awk -F, 'NR > 1 && $20 != $7 { print; exit 1 }' "$D/train.csv" || fail "roi_trained != ohem_kept"
awk -F, 'NR > 1 && !($2 > 0.999 * ($14 + $17) - 1e-6 && $2 < 1.001 * ($14 + $17) + 1e-6) { print; exit 1 }' "$D/train.csv" ||
    fail "loss != rpn_loss + roi_loss"
W=$D/data/backup/frcnn-ohem_final.weights
[ -s "$W" ] || fail "no final weights"
expect_status 0 ./darknet detector map "$DATA" "$D/frcnn-ohem.cfg" "$W"
tail -1 "$D/out" | grep -Eq '^mAP@0\.50 = [01]\.[0-9]{4}$' || fail "map: last line is not mAP@0.50 = x"

# warmup: the first 4 iterations train every labelled RoI (the cfg's bg_iou=0.1,0.5:
# fewer than all rows), mining after
sed -e 's/^batch=.*/batch=8/' -e 's/^subdivisions=.*/subdivisions=1/' -e 's/^rois=.*/rois=32/' \
    -e 's/^proposals=.*/proposals=32/' -e 's/^per_image=.*/per_image=2/' cfg/fashion-frcnn-ohem.cfg >"$D/warmup.cfg"
printf 'warmup=4\n' >>"$D/warmup.cfg"
expect_status 0 ./darknet detector train "$DATA" "$D/warmup.cfg" -seed 3 -max_batches 8 -log "$D/warmup.csv"
expect_text "ohem 4: warmup, kept"
expect_text "ohem 5: mining, kept"
awk -F, 'NR > 1 && NR <= 5 && !($7 == $8 && $8 > 0 && $8 <= 8 * 32 && $20 == $7) { print; exit 1 }' "$D/warmup.csv" ||
    fail "warmup: not every labelled RoI trained"
awk -F, 'NR > 5 && !($7 > 0 && $7 <= 2 * 8 && $7 < $8 && $20 == $7) { print; exit 1 }' "$D/warmup.csv" ||
    fail "after warmup: kept not in (0, 16] or not below the candidates"

# rank=obj: an error naming file, line, section and key
sed 's/^per_image=8$/rank=obj/' "$D/frcnn-ohem.cfg" >"$D/bad.cfg"
expect_status 1 ./darknet detector train "$DATA" "$D/bad.cfg" -max_batches 1 -quiet
line=$(grep -n '^rank=obj$' "$D/bad.cfg" | cut -d: -f1)
expect_text "$D/bad.cfg:$line: [ohem] rank=obj: a RoI of [roi_loss] has no objectness loss"
echo "e2e_ohem_roi: all passed"
