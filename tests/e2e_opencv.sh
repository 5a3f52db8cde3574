#!/bin/sh
# OpenCV's Darknet importer (python3-opencv) as an independent oracle of the forward:
# yolov4-tiny-shaped cfgs with [route] groups, maxpool, upsample, leaky, mish and
# swish, seeded random weights written by our network, every layer output OpenCV
# exposes and the decoded [yolo] boxes compared (tests/opencv_oracle.py).
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e_opencv
. tests/lib.sh

# Debian's python3 (python3-opencv's), not one first on PATH
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import cv2' 2>/dev/null || fail "python3-opencv is missing (scripts/install-deps.sh installs it)"
for c in tiny-leaky tiny-mish; do
    expect_status 0 tests/opencv_dump "tests/opencv/$c.cfg" "$D/$c.weights" "$D" 7
    expect_status 0 "$PY" tests/opencv_oracle.py "tests/opencv/$c.cfg" "$D/$c.weights" "$D"
    cp "$D/out" "$D/$c.log"
done
echo "e2e_opencv: all passed"
