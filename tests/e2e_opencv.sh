#!/bin/sh
# OpenCV's Darknet importer (python3-opencv) as an independent oracle of the forward:
# yolov4-tiny-shaped cfgs with [route] groups, maxpool, upsample, leaky, mish and
# swish, a yolov4-shaped one ([shortcut], SPP, PAN) and a yolov7-tiny-shaped one
# (ELAN routes, SPP, new_coords, scale_x_y=2); seeded random weights written by our
# network, every layer output OpenCV exposes and the decoded [yolo] boxes compared
# (tests/opencv_oracle.py). Then
# weights in AlexeyAB's layout from an independent writer (tests/alexeyab_weights.py):
# read by ours and by OpenCV, both forwards compared; the header's forms, a
# truncated file and one with bytes past the last layer.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e_opencv
. tests/lib.sh

# Debian's python3 (python3-opencv's), not one first on PATH
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import cv2' 2>/dev/null || fail "python3-opencv is missing (scripts/install-deps.sh installs it)"
for c in tiny-leaky tiny-mish v4-small v7-tiny; do
    expect_status 0 tests/opencv_dump "tests/opencv/$c.cfg" "$D/$c.weights" "$D" 7
    expect_status 0 "$PY" tests/opencv_oracle.py "tests/opencv/$c.cfg" "$D/$c.weights" "$D"
    cp "$D/out" "$D/$c.log"
done

# AlexeyAB's header 0.2.5 with seen as 64 bits (a count above 2^32), and pjreddie's
# early 0.1.0 with seen as 32 bits: the same forward as OpenCV's on the same file
C=tests/opencv/tiny-alexeyab.cfg
for h in 0.2.5:5000000123 0.1.0:123456; do
    W=$D/ab-${h%:*}.weights
    expect_status 0 "$PY" tests/alexeyab_weights.py "$C" "$W" 11 --header "${h%:*}" --seen "${h#*:}"
    [ "$(od -A n -t d4 -N 12 "$W" | tr -s ' ')" = " $(echo "${h%:*}" | tr . ' ')" ] || fail "$W: header"
    expect_status 0 tests/opencv_dump "$C" "$W" "$D" 7 load
    expect_text "seen ${h#*:}"
    expect_status 0 "$PY" tests/opencv_oracle.py "$C" "$W" "$D"
    expect_text "22 layers compared, 0 differ"
    cp "$D/out" "$D/ab-${h%:*}.log"
done
# the parameters we read are those written: partial over all 22 layers writes the
# same bytes after its header 0 2 5 (seen 0)
W=$D/ab-0.2.5.weights
expect_status 0 ./darknet partial "$C" "$W" "$D/resaved.weights" 22
[ "$(od -A n -t d4 -N 20 "$D/resaved.weights" | tr -s ' \n' ' ')" = " 0 2 5 0 0 " ] || fail "partial: header is not 0 2 5 seen 0"
cmp -s -i 20 "$W" "$D/resaved.weights" || fail "partial of AlexeyAB's file: not the same parameters"
# a truncated file: an error naming the file and the layer, from ./darknet and the
# loader alike; a cut header too
size=$(wc -c <"$W")
head -c $((size - 6)) "$W" >"$D/short.weights"
expect_status 1 ./darknet partial "$C" "$D/short.weights" "$D/x.weights" 3
expect_text "short.weights: $((size - 6)) bytes end inside layer 20's weights ([convolutional]"
expect_status 1 tests/opencv_dump "$C" "$D/short.weights" "$D" 7 load
expect_text "short.weights: $((size - 6)) bytes end inside layer 20's weights"
head -c 18 "$W" >"$D/short.weights"
expect_status 1 ./darknet partial "$C" "$D/short.weights" "$D/x.weights" 3
expect_text "short.weights: truncated: 18 bytes, shorter than its header (20 bytes)"
# bytes past the last layer (which AlexeyAB's Darknet and OpenCV ignore): refused
cp "$W" "$D/long.weights"
printf 'abcdefgh' >>"$D/long.weights"
expect_status 1 ./darknet partial "$C" "$D/long.weights" "$D/x.weights" 3
expect_text "long.weights: $((size + 8)) bytes, 8 more than the $size this cfg's network reads"
echo "e2e_opencv: all passed"
