#!/bin/sh
# End to end through ./darknet with AlexeyAB's augmentation keys: cfg/fashion-v4tiny.cfg
# with [net] mosaic=1, letter_box=1 and [yolo] resize=1.5 trains a few iterations
# (with -map) without a warning about a key it uses, and a second run with the
# same seed, or one stopped and resumed, writes the same weights; a key still only
# warned about (cutmix=) warns once although -map builds a second network; detector
# map runs letterboxed and stretched; bad values are errors naming file, line and key.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e_augment
. tests/lib.sh

expect_status 0 ./darknet ohem dataset "$D/data" -train 24 -valid 8 -size 64 -seed 3 -quiet
DATA=$D/data/fashion.data
sed -e 's/^batch=.*/batch=4/' -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' \
    -e 's/^max_batches=.*/max_batches=4/' -e 's/^burn_in=.*/burn_in=0/' \
    -e 's/^\[net\]/[net]\nmosaic=1\nletter_box=1/' -e 's/^random=0/random=0\nresize=1.5/' \
    cfg/fashion-v4tiny.cfg >"$D/aug.cfg"
[ "$(grep -c '^mosaic=1\|^letter_box=1\|^resize=1.5' "$D/aug.cfg")" -eq 4 ] || fail "aug.cfg lacks the keys"
expect_status 0 ./darknet detector train "$DATA" "$D/aug.cfg" -seed 5 -map 2 -log "$D/aug.csv"
expect_text "training images: AlexeyAB's crops (jitter=0.2, resize=1.5, letter_box: aspect kept), mosaic in half the batches"
expect_text "done: 4 iterations"
if grep -i "warning" "$D/out"; then fail "a warning training aug.cfg"; fi
awk -F, 'NR > 1 && !($2 + 0 == $2 && $2 > 0 && $2 < 1e6) { exit 1 }' "$D/aug.csv" || fail "aug: a loss is not finite"
cp "$D/data/backup/aug_final.weights" "$D/first.weights"
expect_status 0 ./darknet detector train "$DATA" "$D/aug.cfg" -seed 5 -quiet
cmp -s "$D/first.weights" "$D/data/backup/aug_final.weights" || fail "the same seed gave other weights"
# stopped after 2 iterations and resumed: the weights of the straight run
rm -f "$D/data/backup/aug"*
expect_status 0 ./darknet detector train "$DATA" "$D/aug.cfg" -seed 5 -max_batches 2 -quiet
expect_status 0 ./darknet detector train "$DATA" "$D/aug.cfg" "$D/data/backup/aug_final.weights" -seed 5 -max_batches 4
expect_text "continuing exactly"
cmp -s "$D/first.weights" "$D/data/backup/aug_final.weights" || fail "2 + 2 iterations gave other weights than 4"
expect_status 0 ./darknet detector map "$DATA" "$D/aug.cfg" "$D/first.weights"
expect_text "mAP"
# stretched (mosaic without letter_box): detection resizes to the input
sed '/^letter_box=1/d' "$D/aug.cfg" >"$D/stretch.cfg"
expect_status 0 ./darknet detector map "$DATA" "$D/stretch.cfg" "$D/first.weights"
expect_text "mAP"

# a warned key warns once, though -map builds a second network from the cfg
sed 's/^\[net\]/[net]\ncutmix=1/' "$D/aug.cfg" >"$D/cutmix.cfg"
expect_status 0 ./darknet detector train "$DATA" "$D/cutmix.cfg" -seed 5 -map 2 -max_batches 1
[ "$(grep -c 'cutmix=1: AlexeyAB' "$D/out")" -eq 1 ] || { grep cutmix "$D/out"; fail "the cutmix= warning should print once"; }

# bad values: errors naming file, line and key
sed 's/^mosaic=1/mosaic=2/' "$D/aug.cfg" >"$D/bad.cfg"
line=$(grep -n '^mosaic=2' "$D/bad.cfg" | cut -d: -f1)
expect_status 1 ./darknet detector train "$DATA" "$D/bad.cfg"
expect_text "$D/bad.cfg:$line: [net] mosaic=2: expected 0 or 1"
sed 's/^resize=1.5/resize=-1/' "$D/aug.cfg" >"$D/bad.cfg"
line=$(grep -n '^resize=-1' "$D/bad.cfg" | head -1 | cut -d: -f1)
expect_status 1 ./darknet detector train "$DATA" "$D/bad.cfg"
expect_text "$D/bad.cfg:$line: [yolo] resize=-1: expected a number in [0.1, 10]"
echo "e2e_augment: all passed"
