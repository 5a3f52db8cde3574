#!/bin/sh
# Writes [ohem] versions of Debian's standard Darknet cfgs into cfg/ (built, not
# committed): yolov3-tiny, yolov3 and yolov2-tiny (YOLOv2's [region], which learns
# with the plugin's backward). Each is Darknet's file with the section appended, and
# with its "# Training" batch lines in force: Darknet's cfgs keep the "# Testing"
# ones (batch=1, subdivisions=1), at which training would take one image per step.
set -eu
cd "$(dirname "$0")/.."
SRC=/usr/share/darknet/cfg

# Copies a cfg with the batch lines of its [net] set for training: a commented
# batch= above 1 and the commented subdivisions= after it are uncommented, and
# batch=1 and subdivisions=1 in force are commented out (only when such a commented
# batch exists: yolov3.cfg has its training lines in force already).
training_batch() {
    awk '
        { lines[NR] = $0 }
        /^\[/ { section++ }
        section == 1 && /^[ \t]*#[ \t]*batch[ \t]*=[ \t]*[0-9]+[ \t]*$/ {
            v = $0; sub(/.*=/, "", v); if (v + 0 > 1 && !train) train = NR
        }
        END {
            section = 0
            for (i = 1; i <= NR; i++) {
                l = lines[i]
                if (l ~ /^\[/) section++
                if (section == 1 && train) {
                    if (i == train) { sub(/^[ \t]*#[ \t]*/, "", l); subs = 1 }
                    else if (subs == 1 && l ~ /^[ \t]*#[ \t]*subdivisions[ \t]*=/) { sub(/^[ \t]*#[ \t]*/, "", l); subs = 2 }
                    else if (l ~ /^[ \t]*(batch|subdivisions)[ \t]*=[ \t]*1[ \t]*$/) { sub(/^[ \t]*/, "", l); l = "# " l }
                }
                print l
            }
        }'
}
for name in yolov3-tiny yolov3 yolov2-tiny; do
    out=cfg/$name-ohem.cfg
    [ "$out" -nt "$SRC/$name.cfg" ] && [ "$out" -nt "$0" ] && continue
    {
        echo "# $SRC/$name.cfg with online hard example mining appended (made by scripts/make-cfgs.sh)."
        echo "# Set classes= in each [yolo]/[region] and the filters= of the convolution before it for your data."
        training_batch <"$SRC/$name.cfg"
        printf '\n[ohem]\nper_image=64\nnms=0.7\n'
    } >"$out.tmp"
    mv "$out.tmp" "$out"
done

# cfg/yolov3-tiny-frcnn.cfg: Debian's yolov3-tiny backbone (its layers 0..13, the
# same as in yolov3-tiny.cfg, so its weights' first 14 layers load) with the
# two-stage head of docs/two-stage.md: a stride-16 map as yolov3-tiny's
# second scale builds it, the RPN with yolov3-tiny's anchors, RoIAlign 7x7, two
# [connected] of 512, [roi_loss] for 80 classes. Training batch 64 in 16 pieces.
out=cfg/yolov3-tiny-frcnn.cfg
if ! { [ "$out" -nt "$SRC/yolov3-tiny.cfg" ] && [ "$out" -nt "$0" ]; }; then
    {
        echo "# $SRC/yolov3-tiny.cfg's backbone (layers 0..13) with a two-stage head (made by scripts/make-cfgs.sh)."
        echo "# For your data: set classes= in [roi_loss] and output= (5 x classes + 1) in the last [connected]."
        awk '/^\[/ { n++ } n <= 15' "$SRC/yolov3-tiny.cfg" |
            sed 's/^batch=1$/batch=64/; s/^subdivisions=1$/subdivisions=16/; s/^learning_rate=.*/learning_rate=0.01/'
        cat <<'CFG'

# 14: a stride-16 map, as yolov3-tiny's second scale builds it
[convolutional]
batch_normalize=1
filters=128
size=1
stride=1
pad=1
activation=leaky

[upsample]
stride=2

[route]
layers=-1,8

# 17: the shared map: the RPN runs on it and the RoIs are cut from it
[convolutional]
batch_normalize=1
filters=256
size=3
stride=1
pad=1
activation=leaky

[convolutional]
batch_normalize=1
filters=256
size=3
stride=1
pad=1
activation=leaky

# 6 anchors x (objectness + 4 deltas)
[convolutional]
size=1
stride=1
pad=1
filters=30
activation=linear

[rpn]
anchors=10,14, 23,27, 37,58, 81,82, 135,169, 344,319
proposals=300
nms=0.7
min_size=4

[roipool]
from=17
size=7
mode=align
rois=256

[connected]
output=512
activation=leaky

[connected]
output=512
activation=leaky

# (80 + 1) scores and 4 x 80 box deltas
[connected]
output=401
activation=linear

[roi_loss]
classes=80
fg_iou=0.5
bg_iou=0.1,0.5
rois_per_image=64
fg_fraction=0.25
CFG
    } >"$out.tmp"
    mv "$out.tmp" "$out"
fi
