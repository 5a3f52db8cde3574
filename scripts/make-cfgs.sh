#!/bin/sh
# Writes [ohem] versions of Debian's standard Darknet cfgs into cfg/ (built, not
# committed): yolov3-tiny, yolov3 and yolov2-tiny (YOLOv2's [region], which learns
# with the plugin's backward). Each is Darknet's file with the section appended.
set -eu
cd "$(dirname "$0")/.."
SRC=/usr/share/darknet/cfg
for name in yolov3-tiny yolov3 yolov2-tiny; do
    out=cfg/$name-ohem.cfg
    [ "$out" -nt "$SRC/$name.cfg" ] && [ "$out" -nt "$0" ] && continue
    {
        echo "# $SRC/$name.cfg with online hard example mining appended (made by scripts/make-cfgs.sh)."
        echo "# Set classes= in each [yolo]/[region] and the filters= of the convolution before it for your data."
        cat "$SRC/$name.cfg"
        printf '\n[ohem]\nper_image=64\nnms=0.7\n'
    } >"$out.tmp"
    mv "$out.tmp" "$out"
done
