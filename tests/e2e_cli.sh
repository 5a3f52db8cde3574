#!/bin/sh
# End to end through ./darknet on a small data set made here: training with and
# without [ohem], resuming, -clear, an interrupted run, map/valid/test/show, and the
# data checks. Exits non-zero at the first failure, saying what failed.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e
rm -rf "$D"
mkdir -p "$D"
fail() { echo "FAIL: $*"; exit 1; }
expect_status() { # want cmd...: runs cmd, output in $D/out, checks the exit status
    want=$1; shift
    "$@" >"$D/out" 2>&1; got=$?
    [ "$got" -eq "$want" ] || { tail -n 20 "$D/out"; fail "exit status $got, expected $want: $*"; }
}
expect_text() { grep -qF -- "$1" "$D/out" || { tail -n 20 "$D/out"; fail "output lacks '$1'"; }; }

expect_status 0 ./darknet ohem dataset "$D/data" -train 24 -valid 8 -size 64 -seed 3 -quiet
DATA=$D/data/fashion.data
for v in fashion fashion-ohem; do
    sed -e 's/^batch=.*/batch=4/' -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' \
        -e 's/^max_batches=.*/max_batches=4/' -e 's/^burn_in=.*/burn_in=0/' cfg/$v.cfg >"$D/$v.cfg"
done

# training with and without [ohem]: finite losses, the figures only with [ohem]
for v in fashion fashion-ohem; do
    expect_status 0 ./darknet detector train "$DATA" "$D/$v.cfg" -seed 5 -quiet -log "$D/$v.csv"
    expect_text "done: 4 iterations"
    [ -s "$D/data/backup/${v}_final.weights" ] || fail "no $v final weights"
    [ "$(wc -l <"$D/$v.csv")" -eq 5 ] || fail "$v.csv should have a header and 4 rows"
    awk -F, 'NR > 1 && !($2 + 0 == $2 && $2 > 0 && $2 < 1e6) { exit 1 }' "$D/$v.csv" || fail "$v: a loss is not finite"
done
head -1 "$D/fashion.csv" | grep -q '^iteration,loss,avg_loss,learning_rate,seconds,images,ohem_kept,ohem_candidates,ohem_positives_kept,ohem_positives,ohem_loss_kept,ohem_loss_all,map,rpn_loss,rpn_obj,rpn_box,roi_loss,roi_cls,roi_box,roi_trained,roi_foreground$' || fail "log header"
awk -F, 'NR > 1 && $7 != "" { exit 1 }' "$D/fashion.csv" || fail "ohem columns filled without [ohem]"
awk -F, 'NR > 1 && !($7 > 0 && $8 == 4 * 240 && $7 <= $8) { exit 1 }' "$D/fashion-ohem.csv" || fail "ohem columns wrong"
# the same seed gives the same data and the same first loss (computed before the mask)
[ "$(sed -n 2p "$D/fashion.csv" | cut -d, -f2)" = "$(sed -n 2p "$D/fashion-ohem.csv" | cut -d, -f2)" ] || fail "same seed, different first loss"
expect_status 0 ./darknet detector train "$DATA" "$D/fashion.cfg" -seed 5 -quiet -log "$D/again.csv" -max_batches 2
[ "$(sed -n 3p "$D/again.csv" | cut -d, -f2)" = "$(sed -n 3p "$D/fashion.csv" | cut -d, -f2)" ] || fail "-seed does not reproduce the run"

# multi-scale (random=1 in the last [yolo]) with [ohem]: resized every 10 iterations,
# the [ohem] layer follows (candidates per image: 15 x (size/16)^2, 4 images)
sed -e 's/^random=0/random=1/' -e 's/^width=.*/width=96/' -e 's/^height=.*/height=96/' "$D/fashion-ohem.cfg" >"$D/multiscale.cfg"
expect_status 0 ./darknet detector train "$DATA" "$D/multiscale.cfg" -max_batches 21 -seed 3 -log "$D/multiscale.csv"
awk -F, 'NR > 1 && !($2 + 0 == $2 && $2 > 0 && $2 < 1e6) { exit 1 }' "$D/multiscale.csv" || fail "multiscale: a loss is not finite"
sizes=$(grep -o '^multi-scale: [0-9]*' "$D/out" | awk '{ print $2 }' | sort -u | tr '\n' ' ')
[ "$(echo $sizes | wc -w)" -ge 2 ] || fail "multiscale: one size only ($sizes)"
for v in $(awk -F, 'NR > 1 { print $8 }' "$D/multiscale.csv" | sort -u); do
    ok=0
    for d in $sizes; do [ "$v" -eq $((60 * (d / 16) * (d / 16))) ] && ok=1; done
    [ $ok = 1 ] || fail "multiscale: $v candidates fit none of the sizes $sizes"
done

# resume: the count continues; -clear restarts it
W=$D/data/backup/fashion-ohem_final.weights
expect_status 0 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" "$W" -max_batches 6 -quiet -log "$D/resume.csv"
[ "$(sed -n 2p "$D/resume.csv" | cut -d, -f1)" = 5 ] || fail "resume did not continue at iteration 5"
expect_status 0 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" "$W" -clear -max_batches 2 -quiet -log "$D/clear.csv"
[ "$(sed -n 2p "$D/clear.csv" | cut -d, -f1)" = 1 ] || fail "-clear did not restart the count"

# -map N evaluates during training
expect_status 0 ./darknet detector train "$DATA" "$D/fashion.cfg" -max_batches 2 -map 1 -quiet -log "$D/map.csv"
expect_text "mAP@0.50"
awk -F, 'NR > 1 && $13 == "" { exit 1 }' "$D/map.csv" || fail "-map left the map column empty"

# an interrupted run saves a backup that loads and resumes
./darknet detector train "$DATA" "$D/fashion-ohem.cfg" -max_batches 100000 -quiet -log "$D/int.csv" >"$D/int.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -f "$D/int.csv" ] && [ "$(wc -l <"$D/int.csv")" -ge 3 ] && break; sleep 0.2; done
kill -INT $pid
wait $pid
st=$?
[ "$st" -eq 130 ] || { cat "$D/int.out"; fail "SIGINT: exit status $st, expected 130"; }
grep -q "resume with: ./darknet detector train" "$D/int.out" || fail "no resume hint after SIGINT"
last=$(tail -1 "$D/int.csv" | cut -d, -f1)
B=$D/data/backup/fashion-ohem.backup
[ -s "$B" ] || fail "no backup after SIGINT"
expect_status 0 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" "$B" -max_batches $((last + 1)) -quiet -log "$D/int2.csv"
[ "$(sed -n 2p "$D/int2.csv" | cut -d, -f1)" = $((last + 1)) ] || fail "the backup did not resume at iteration $((last + 1))"
ls "$D"/data/backup/*.tmp-* >/dev/null 2>&1 && fail "a temporary weights file was left behind"

# a loss that turns NaN or infinite stops training, with status 1
sed -e 's/^learning_rate=.*/learning_rate=1000000/' "$D/fashion.cfg" >"$D/nan.cfg"
expect_status 1 ./darknet detector train "$DATA" "$D/nan.cfg" -max_batches 50 -quiet
expect_text "training stopped before any backup was saved"

# map, valid, test, show
expect_status 0 ./darknet detector map "$DATA" "$D/fashion.cfg" "$D/data/backup/fashion_final.weights"
tail -1 "$D/out" | grep -Eq '^mAP@0\.50 = [01]\.[0-9]{4}$' || fail "map: last line is not mAP@0.50 = x"
expect_text "tshirt"
expect_status 0 ./darknet detector map "$DATA" "$D/fashion.cfg" "$D/data/backup/fashion_final.weights" -iou 0.75 -points 11
tail -1 "$D/out" | grep -Eq '^mAP@0\.75 = ' || fail "map -iou 0.75"
expect_status 0 ./darknet detector valid "$DATA" "$D/fashion.cfg" "$D/data/backup/fashion_final.weights" -out "$D/results/det_"
for c in tshirt sneaker pullover; do [ -f "$D/results/det_$c.txt" ] || fail "valid: no det_$c.txt"; done
awk 'NF != 6 { exit 1 }' "$D"/results/det_*.txt || fail "valid: lines are not 'id score x1 y1 x2 y2'"
IMG=$(head -1 "$D/data/valid.txt")
expect_status 0 ./darknet detector test "$DATA" "$D/fashion.cfg" "$D/data/backup/fashion_final.weights" "$IMG" -thresh 0.01 -out "$D/pred"
[ -s "$D/pred.png" ] || fail "test wrote no picture"
expect_text "detections at -thresh 0.01"
expect_status 0 ./darknet ohem show "$DATA" "$D/fashion-ohem.cfg" "$D/data/backup/fashion-ohem_final.weights" "$IMG" -out "$D/show"
[ -s "$D/show.png" ] || fail "ohem show wrote no picture"
expect_text "/240, positives"
expect_status 1 ./darknet ohem show "$DATA" "$D/fashion.cfg" "$D/data/backup/fashion_final.weights" "$IMG"
expect_text "has no [ohem] section"

# data problems: each an error naming file and line, exit status 1, before training
bad() { # name, then a shell snippet that breaks $X (a copy of the data set)
    X=$D/bad_$1
    rm -rf "$X"; cp -r "$D/data" "$X"
    sed "s#$D/data#$X#g" "$D/data/train.txt" >"$X/train.txt"
    sed "s#$D/data#$X#g" "$DATA" >"$X/fashion.data"
    L=$X/labels/train_00002.txt
    eval "$2"
    expect_status 1 ./darknet detector train "$X/fashion.data" "$D/fashion.cfg" -quiet
    expect_text "$3"
    grep -q "^1/" "$D/out" && fail "$1: training started"
}
bad missing_label 'rm $L' "train_00002.txt: cannot open the label file"
bad bad_class 'echo "7 0.5 0.5 0.1 0.1" >>$L' "train_00002.txt:$(($(wc -l <"$D/data/labels/train_00002.txt") + 1)): class '7'"
bad nan_coord 'echo "1 nan 0.5 0.1 0.1" >$L' "train_00002.txt:1: x = 'nan'"
bad four_fields 'echo "1 0.5 0.5 0.1" >$L' "train_00002.txt:1: expected 5 fields"
bad out_of_range 'echo "1 0.5 1.5 0.1 0.1" >$L' "train_00002.txt:1: y = '1.5'"
bad missing_image 'rm $X/images/train_00003.png' "train_00003.png: the image is missing or does not decode"
bad broken_image 'echo garbage >$X/images/train_00003.png' "train_00003.png: the image is missing or does not decode"
bad empty_list ': >$X/train.txt' "train.txt: the image list is empty"
bad no_classes 'sed -i /^classes/d $X/fashion.data' "the key 'classes' is missing"
bad bad_backup 'sed -i "s#^backup=.*#backup=/proc/nope#" $X/fashion.data' "the backup folder cannot be created"
# CRLF line ends and trailing blank lines are fine
X=$D/crlf; rm -rf "$X"; cp -r "$D/data" "$X"
sed "s#$D/data#$X#g; s/\$/\r/" "$D/data/train.txt" >"$X/train.txt"; printf '\r\n\n' >>"$X/train.txt"
sed "s#$D/data#$X#g" "$DATA" >"$X/fashion.data"
for f in "$X"/labels/*.txt; do sed -i 's/$/\r/' "$f"; printf '\n\n' >>"$f"; done
expect_status 0 ./darknet detector train "$X/fashion.data" "$D/fashion.cfg" -max_batches 1 -quiet

# usage errors: status 2
expect_status 2 ./darknet detector train "$DATA"
expect_status 2 ./darknet detector train "$DATA" "$D/fashion.cfg" -bogus
expect_status 2 ./darknet detector frobnicate
expect_status 2 ./darknet detector map "$DATA" "$D/fashion.cfg" "$W" -points 7
# ---- issue 12, cfg checks: each file named as what it is and where it came from ----
CWD=$(pwd)
# a directory where a file should be: DATA, CFG, WEIGHTS, a list, a label file
expect_status 1 ./darknet detector train "$D/data" "$D/fashion.cfg" -quiet
expect_text "$D/data: is a directory, where the .data file should be"
expect_status 1 ./darknet detector train "$DATA" "$D/data" -max_batches 1 -quiet
expect_text "$D/data: is a directory, where the cfg file should be"
expect_status 1 ./darknet detector train "$DATA" "$D/fashion.cfg" "$D/data" -max_batches 1 -quiet
expect_text "$D/data: is a directory, where the weights file should be"
bad list_is_dir 'sed -i "s#^train=.*#train=$X/images#" $X/fashion.data' "images: is a directory, where the image list should be (train= on line 2 of"
bad label_is_dir 'rm $L; mkdir $L' "train_00002.txt: is a directory, where the label file should be (the labels of"
bad image_is_dir 'rm $X/images/train_00003.png; mkdir $X/images/train_00003.png' "train_00003.png: is a directory, where an image should be (line 4 of"
# relative paths: the file and line that held the path, and the working directory
bad relative_list 'sed -i "s#^train=.*#train=no/such/train.txt#" $X/fashion.data' \
    "no/such/train.txt: cannot open the image list: No such file or directory (train= on line 2 of"
expect_text "; a relative path is resolved against the working directory $CWD)"
bad relative_image 'rm $X/images/train_00003.png' "train_00003.png: the image is missing or does not decode (line 4 of $D/bad_relative_image/train.txt"
expect_text "; a relative path is resolved against the working directory $CWD)"
bad relative_label 'rm $L' "train_00002.txt: cannot open the label file: No such file or directory (the labels of $D/bad_relative_label/images/train_00002.png, line 3 of $D/bad_relative_label/train.txt"
# a UTF-8 byte-order mark: skipped in the .data file, a list and a cfg (whose numbers
# may carry a comment, as libdarknet allows); named in a label file, which
# libdarknet's loader would read as empty
bad label_bom 'printf "\357\273\277" | cat - $L >$L.new; mv $L.new $L' "train_00002.txt:1: the file starts with a UTF-8 byte-order mark"
X=$D/bom; rm -rf "$X"; cp -r "$D/data" "$X"
{ printf '\357\273\277'; sed "s#$D/data#$X#g" "$D/data/train.txt"; } >"$X/train.txt"
{ printf '\357\273\277'; sed -e "s#$D/data#$X#g" -e 's/^classes=.*/& # a comment, as libdarknet allows/' "$DATA"; } >"$X/fashion.data"
{ printf '\357\273\277'; sed -e 's/^\(filters=[0-9]*\)$/\1  # a comment, as libdarknet allows/' "$D/fashion.cfg"; } >"$X/fashion.cfg"
grep -q '^filters=[0-9]*  # a comment' "$X/fashion.cfg" || fail "no comment written into the cfg"
expect_status 0 ./darknet detector train "$X/fashion.data" "$X/fashion.cfg" -max_batches 1 -quiet
expect_text "done: 1 iterations"
# cfgs that libdarknet aborts on: exit status 1 and the line, not 134
sed -e 's/^batch=.*/batch=1/' -e 's/^subdivisions=.*/subdivisions=1/' -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' \
    -e 's/^output=.*/output=1000/' /usr/share/darknet/cfg/yolov1-tiny.cfg >"$D/v1bad.cfg"
expect_status 1 ./darknet detector train "$DATA" "$D/v1bad.cfg" -quiet
expect_text "v1bad.cfg:$(grep -n '^\[detection\]' "$D/v1bad.cfg" | cut -d: -f1): [detection] expects 1470 inputs"
sed -e 's/^batch=.*/batch=1/' -e 's/^subdivisions=.*/subdivisions=1/' -e 's/^width=.*/width=100/' -e 's/^height=.*/height=100/' \
    /usr/share/darknet/cfg/yolov3-tiny.cfg >"$D/tiny100.cfg"
expect_status 1 ./darknet detector train "$DATA" "$D/tiny100.cfg" -quiet
expect_text "tiny100.cfg:$(grep -n '^layers *= *-1, *8' "$D/tiny100.cfg" | cut -d: -f1): [route] layers=-1,8 joins maps of different sizes"
expect_text "multiples of 32"
# a weights file of 10 bytes is truncated
head -c 10 "$W" >"$D/short.weights"
expect_status 1 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" "$D/short.weights" -quiet
expect_text "short.weights: truncated: 10 bytes"
echo "e2e_cli: all passed"
