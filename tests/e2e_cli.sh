#!/bin/sh
# End to end through ./darknet on a small data set made here: training with and
# without [ohem], resuming, -clear, an interrupted run, map/valid/test/show, and the
# data checks. Exits non-zero at the first failure, saying what failed.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e
. tests/lib.sh

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
    # -quiet: no layer table, no "Saving weights to ....tmp-PID"
    grep -q 'layer     filters\|conv  \|Saving weights\|\.tmp-' "$D/out" && { cat "$D/out"; fail "$v: -quiet printed the layer table or a temporary name"; }
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

# the log's ohem_loss_kept and ohem_loss_all are means, the figures of the console line
cp "$D/fashion-ohem.cfg" "$D/means.cfg"
expect_status 0 ./darknet detector train "$DATA" "$D/means.cfg" -seed 5 -max_batches 3 -log "$D/means.csv"
grep -q '\.tmp-\|Saving weights' "$D/out" && fail "the temporary weights name was printed"
expect_text "saved $D/data/backup/means_final.weights"
grep '^ohem [0-9]*: mining' "$D/out" | sed 's/.*mean loss kept \([^ ]*\) vs all \([^ ]*\)$/\1 \2/' >"$D/means.console"
awk -F, 'NR > 1 { printf "%.4g %.4g\n", $11, $12 }' "$D/means.csv" >"$D/means.log"
[ "$(wc -l <"$D/means.console")" -eq 3 ] && cmp -s "$D/means.console" "$D/means.log" ||
    { paste "$D/means.console" "$D/means.log"; fail "ohem_loss_kept/ohem_loss_all are not the means the console prints"; }

# multi-scale (random=1 in the last [yolo]) with [ohem]: resized every 10 iterations,
# the [ohem] layer follows (candidates per image: 15 x (size/16)^2, 4 images)
sed -e 's/^random=0/random=1/' -e 's/^width=.*/width=96/' -e 's/^height=.*/height=96/' "$D/fashion-ohem.cfg" >"$D/multiscale.cfg"
expect_status 0 ./darknet detector train "$DATA" "$D/multiscale.cfg" -max_batches 21 -seed 2 -log "$D/multiscale.csv"
awk -F, 'NR > 1 && !($2 + 0 == $2 && $2 > 0 && $2 < 1e6) { exit 1 }' "$D/multiscale.csv" || fail "multiscale: a loss is not finite"
expect_text "multi-scale training: every 10 iterations a size from 96x96 to 128x128"
sizes=$(grep -o '^multi-scale: [0-9]*' "$D/out" | awk '{ print $2 }' | sort -u | tr '\n' ' ')
[ "$(echo $sizes | wc -w)" -ge 2 ] || fail "multiscale: one size only ($sizes)"
for d in $sizes; do [ "$d" -ge 96 ] && [ "$d" -le 128 ] || fail "multiscale: size $d outside 96..128"; done
# README: a multiple of 32 from 10/13 to 19/13 of the width (at 160: 123 to 233)
sed -e 's/^random=0/random=1/' -e 's/^width=.*/width=160/' -e 's/^height=.*/height=160/' "$D/fashion.cfg" >"$D/ms160.cfg"
expect_status 0 ./darknet detector train "$DATA" "$D/ms160.cfg" -max_batches 31 -seed 3
expect_text "a size from 128x128 to 224x224 (10/13 to 19/13 of the width 160"
for d in $(grep -o '^multi-scale: [0-9]*' "$D/out" | awk '{ print $2 }'); do
    [ "$d" -ge 123 ] && [ "$d" -le 233 ] || fail "multiscale at 160: size $d outside 10/13..19/13 of 160"
done
for v in $(awk -F, 'NR > 1 { print $8 }' "$D/multiscale.csv" | sort -u); do
    ok=0
    for d in $sizes; do [ "$v" -eq $((60 * (d / 16) * (d / 16))) ] && ok=1; done
    [ $ok = 1 ] || fail "multiscale: $v candidates fit none of the sizes $sizes"
done

# resume: the count continues; -clear restarts it
W=$D/data/backup/fashion-ohem_final.weights
expect_status 0 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" "$W" -max_batches 6 -quiet -log "$D/resume.csv"
[ "$(sed -n 2p "$D/resume.csv" | cut -d, -f1)" = 5 ] || fail "resume did not continue at iteration 5"
cp "$W" "$D/final.copy"
# a resume with nothing left to train is refused, and _final.weights stays as it was
expect_status 1 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" "$W" -max_batches 3 -quiet
expect_text "is at iteration 6 and max_batches is 3: there is nothing to train"
expect_status 1 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" "$W" -max_batches 6 -quiet
cmp -s "$W" "$D/final.copy" || fail "a refused resume changed $W"
expect_status 0 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" "$W" -clear -max_batches 2 -quiet -log "$D/clear.csv"
[ "$(sed -n 2p "$D/clear.csv" | cut -d, -f1)" = 1 ] || fail "-clear did not restart the count"

# -map N evaluates during training
expect_status 0 ./darknet detector train "$DATA" "$D/fashion.cfg" -max_batches 2 -map 1 -quiet -log "$D/map.csv"
expect_text "mAP@0.50"
awk -F, 'NR > 1 && $13 == "" { exit 1 }' "$D/map.csv" || fail "-map left the map column empty"

# AlexeyAB's and hank.ai's command lines: -dont_show ignored, flags before the
# subcommand, -map without a number (every 4 epochs but at least 100 iterations
# apart, and at the end: here only the last of 3 iterations)
expect_status 0 ./darknet detector -map -dont_show train "$DATA" "$D/fashion.cfg" -max_batches 3 -quiet -log "$D/mapauto.csv"
awk -F, 'NR > 1 && NR < 4 && $13 != "" { exit 1 } NR == 4 && $13 == "" { exit 1 }' "$D/mapauto.csv" ||
    fail "-map without a number did not evaluate at the last iteration only"
expect_status 0 ./darknet detector train "$DATA" "$D/fashion.cfg" -max_batches 1 -quiet -dont_show -map
expect_text "mAP@0.50"

# partial CFG WEIGHTS OUT N: the first N layers' weights, byte for byte, after
# AlexeyAB's header (0, 2, 5, seen 0); training starts from it
W=$D/data/backup/fashion_final.weights
expect_status 0 ./darknet partial "$D/fashion.cfg" "$W" "$D/backbone.weights" 4
[ "$(od -A n -t d4 -N 20 "$D/backbone.weights" | tr -s ' \n' ' ')" = " 0 2 5 0 0 " ] || fail "partial: header is not 0 2 5 seen 0"
size=$(wc -c <"$D/backbone.weights")
cmp -s -i 20 -n $((size - 20)) "$D/backbone.weights" "$W" || fail "partial: the layers' weights differ from the trained ones"
[ "$size" -gt 1000 ] && [ "$size" -lt "$(wc -c <"$W")" ] || fail "partial: $size bytes"
expect_status 0 ./darknet detector train "$DATA" "$D/fashion.cfg" "$D/backbone.weights" -max_batches 1 -quiet
expect_status 2 ./darknet partial "$D/fashion.cfg" "$W" "$D/backbone.weights" x
expect_status 1 ./darknet partial "$D/fashion.cfg" "$W" "$D/backbone.weights" 99
expect_text "has 20 layers"

# an interrupted run saves a backup that loads and resumes; the command it prints
# continues the run with the flags it was started with
interrupt() { # out, then the command: runs it until its log has grown by 2 rows, then SIGINT
    out=$1; shift
    rows=$( [ -f "$D/int.csv" ] && wc -l <"$D/int.csv" || echo 0)
    "$@" >"$out" 2>&1 &
    pid=$!
    for _ in $(seq 1 150); do [ -f "$D/int.csv" ] && [ "$(wc -l <"$D/int.csv")" -ge $((rows + 2)) ] && break; sleep 0.2; done
    kill -INT $pid
    wait $pid
    st=$?
    [ "$st" -eq 130 ] || { cat "$out"; fail "SIGINT: exit status $st, expected 130"; }
}
B=$D/data/backup/fashion-ohem.backup
interrupt "$D/int.out" ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" -max_batches 100000 -seed 9 -quiet -log "$D/int.csv"
want="resume with: ./darknet detector train $DATA $D/fashion-ohem.cfg $B -seed 9 -max_batches 100000 -log $D/int.csv -quiet"
grep -qxF "$want" "$D/int.out" || { cat "$D/int.out"; fail "the resume line is not: $want"; }
last=$(tail -1 "$D/int.csv" | cut -d, -f1)
[ -s "$B" ] || fail "no backup after SIGINT"
# run the printed command as printed: it continues at the next iteration, in the same log
interrupt "$D/int2.out" sh -c "exec $(sed -n 's/^resume with: //p' "$D/int.out")"
[ "$(sed -n "$((last + 2))p" "$D/int.csv" | cut -d, -f1)" = $((last + 1)) ] || fail "the printed resume command did not continue at $((last + 1))"
grep -qxF "$want" "$D/int2.out" || fail "the resumed run printed another resume line"
last=$(tail -1 "$D/int.csv" | cut -d, -f1)
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
# Boxes are clipped to the image on both sides. Non-square images are letterboxed,
# so a [yolo] box centred in the padding lies partly or wholly outside the image.
# Untrained weights (no batch norm, learning rate 0: the initial ones) give many
# detections of every size. Images: PPM bytes under a .png name (stb reads by
# content; the label path follows the name), 96x32 and 32x96.
X=$D/clip; mkdir -p "$X/images" "$X/labels"
LC_ALL=C awk 'BEGIN { printf "P6\n96 32\n255\n"; for (i = 0; i < 96 * 32 * 3; i++) printf "%c", 1 + (i * 7) % 250 }' >"$X/images/wide.png"
LC_ALL=C awk 'BEGIN { printf "P6\n32 96\n255\n"; for (i = 0; i < 96 * 32 * 3; i++) printf "%c", 1 + (i * 13) % 250 }' >"$X/images/tall.png"
printf '0 0.1 0.5 0.2 0.5\n' >"$X/labels/wide.txt"
printf '1 0.5 0.9 0.5 0.2\n' >"$X/labels/tall.txt"
printf '%s\n' "$X/images/wide.png" "$X/images/tall.png" >"$X/valid.txt"
sed "s#^valid=.*#valid=$X/valid.txt#" "$DATA" >"$X/clip.data"
sed -e 's/^batch_normalize=1/batch_normalize=0/' -e 's/^learning_rate=.*/learning_rate=0/' "$D/fashion.cfg" >"$X/clip.cfg"
expect_status 0 ./darknet detector train "$DATA" "$X/clip.cfg" -seed 5 -max_batches 1 -quiet
CW=$D/data/backup/clip_final.weights
expect_status 0 ./darknet detector valid "$X/clip.data" "$X/clip.cfg" "$CW" -out "$X/r_"
# VOC corners, 1-based: 1 <= xmin <= xmax <= width, 1 <= ymin <= ymax <= height;
# some on the image's edge, so that clipping had work to do
cat "$X"/r_*.txt | awk '{ w = $1 == "wide" ? 96 : 32; h = $1 == "wide" ? 32 : 96 }
    !(NF == 6 && ($1 == "wide" || $1 == "tall") && $3 >= 1 && $3 <= $5 && $5 <= w && $4 >= 1 && $4 <= $6 && $6 <= h) { print "bad box: " $0; bad++ }
    $3 == 1 || $4 == 1 || $5 == w || $6 == h { edge++ }
    END { if (NR < 100 || edge < 10) print NR " boxes, " edge + 0 " on an edge: too few to test the clipping"; exit bad || NR < 100 || edge < 10 }' ||
    fail "valid: boxes outside the image or inverted"
# map's columns: ranked counts every detection AP ranks; TP + FP those at -thresh,
# all of them at -thresh 0
expect_status 0 ./darknet detector map "$X/clip.data" "$X/clip.cfg" "$CW"
expect_text "ranked: the detections AP ranks (score > 0.005, after NMS); TP + FP, precision and recall: those with score >= 0.25 (-thresh)"
awk '$1 ~ /^(tshirt|sneaker|pullover)$/ { n++; if (!($7 + $8 <= $3)) bad++ } END { exit bad || n != 3 }' "$D/out" || fail "map: TP + FP above ranked"
expect_status 0 ./darknet detector map "$X/clip.data" "$X/clip.cfg" "$CW" -thresh 0
awk '$1 ~ /^(tshirt|sneaker|pullover)$/ { n++; s += $3; if ($7 + $8 != $3) bad++ } END { exit bad || n != 3 || s < 100 }' "$D/out" ||
    fail "map -thresh 0: TP + FP is not ranked"
# The images loaded ahead of the forward on a thread (the default) and each loaded
# when its turn comes (OHEM_PREFETCH=off): the same table and the same results files,
# byte for byte, on a list that wraps the loader's ring several times (the data set's
# images and the two non-square ones, three times over, the untrained weights'
# many detections)
for _ in 1 2 3; do cat "$D/data/valid.txt" "$X/valid.txt"; done >"$X/mix.txt"
sed "s#^valid=.*#valid=$X/mix.txt#" "$DATA" >"$X/mix.data"
for p in off on; do
    OHEM_PREFETCH=$p ./darknet detector map "$X/mix.data" "$X/clip.cfg" "$CW" -thresh 0.1 >"$X/map-$p.txt" 2>"$X/map-$p.err" ||
        { cat "$X/map-$p.err"; fail "map with OHEM_PREFETCH=$p"; }
    OHEM_PREFETCH=$p ./darknet detector valid "$X/mix.data" "$X/clip.cfg" "$CW" -out "$X/mix-$p/r_" 2>"$X/valid-$p.err" ||
        { cat "$X/valid-$p.err"; fail "valid with OHEM_PREFETCH=$p"; }
done
grep -q "30/30" "$X/map-on.err" || fail "map: no progress bar up to 30/30"
[ "$(wc -l <"$X/map-on.txt")" -eq 6 ] && cmp "$X/map-off.txt" "$X/map-on.txt" || fail "map: another table with the images loaded ahead"
for c in tshirt sneaker pullover; do
    [ "$(wc -l <"$X/mix-on/r_$c.txt")" -gt 100 ] && cmp "$X/mix-off/r_$c.txt" "$X/mix-on/r_$c.txt" ||
        fail "valid: another r_$c.txt with the images loaded ahead"
done
# detector test prints the clipped box, relative: every edge in [0, 1] (to the 3 decimals printed)
expect_status 0 ./darknet detector test "$X/clip.data" "$X/clip.cfg" "$CW" "$X/images/wide.png" -thresh 0.01 -out "$X/pred"
grep ' at x=' "$D/out" | sed 's/.* at x=\([^ ]*\) y=\([^ ]*\) w=\([^ ]*\) h=\([^ ]*\)$/\1 \2 \3 \4/' |
    awk '{ n++ } !($1 - $3 / 2 > -0.002 && $1 + $3 / 2 < 1.002 && $2 - $4 / 2 > -0.002 && $2 + $4 / 2 < 1.002 && $3 > 0 && $4 > 0) { print; bad++ }
        END { exit bad || n < 10 }' || fail "test: a printed box is outside the image"
# ohem show draws at the image's own aspect: 96x32 scaled by 6 to 576x192
expect_status 0 ./darknet ohem show "$X/clip.data" "$D/fashion-ohem.cfg" "$D/data/backup/fashion-ohem_final.weights" "$X/images/wide.png" -out "$X/show"
[ "$(od -An -tu1 -j16 -N8 "$X/show.png" | awk '{ print $3 * 256 + $4 "x" $7 * 256 + $8 }')" = 576x192 ] ||
    fail "ohem show: the picture is not 576x192 (the image's aspect)"
# an image operand that is a directory is named as one
for cmd in "ohem show $DATA $D/fashion-ohem.cfg $D/data/backup/fashion-ohem_final.weights" "detector test $DATA $D/fashion.cfg $D/data/backup/fashion_final.weights"; do
    expect_status 1 ./darknet $cmd "$X/images/"
    expect_text "error: $X/images/: is a directory, where an image should be"
done
IMG=$(head -1 "$D/data/valid.txt")
expect_status 0 ./darknet detector test "$DATA" "$D/fashion.cfg" "$D/data/backup/fashion_final.weights" "$IMG" -thresh 0.01 -out "$D/pred"
[ -s "$D/pred.png" ] || fail "test wrote no picture"
expect_text "detections at -thresh 0.01"
# pictures that cannot be written are errors (status 1), never "wrote X.png"
FW=$D/data/backup/fashion_final.weights
OW=$D/data/backup/fashion-ohem_final.weights
LONG=$D/$(printf '%0300d' 0)
DEEP=$D/deep/$(printf '%040d/' 1 2 3 4 5 6 7)pic
mkdir -p "$(dirname "$DEEP")"
for cmd in "detector test $DATA $D/fashion.cfg $FW" "ohem show $DATA $D/fashion-ohem.cfg $OW"; do
    expect_status 1 ./darknet $cmd "$IMG" -out "$D/no/such/folder/pic"
    expect_text "no/such/folder/pic.png: cannot write the picture: No such file or directory"
    grep -q "^wrote" "$D/out" && fail "$cmd: 'wrote' after a failed write"
    expect_status 1 ./darknet $cmd "$IMG" -out "/proc/pic"
    expect_text "/proc/pic.png: cannot write the picture"
    # a name of 300 characters: the file system refuses it (libdarknet's saver crashed)
    expect_status 1 ./darknet $cmd "$IMG" -out "$LONG"
    expect_text "cannot write the picture: File name too long"
    # a path of 350 characters in short folders is fine
    rm -f "$DEEP.png"
    expect_status 0 ./darknet $cmd "$IMG" -out "$DEEP"
    [ -s "$DEEP.png" ] || fail "$cmd: no picture at a 350-character path"
    # past CLI_PATH_MAX (3800): refused before anything runs
    expect_status 1 ./darknet $cmd "$IMG" -out "$D/$(printf '%03900d' 0)"
    expect_text "-out: the path is 39"
    expect_status 1 ./darknet $cmd "$D/$(printf '%03900d' 0)"
    expect_text "IMAGE: the path is 39"
done
expect_status 1 ./darknet detector train "$D/$(printf '%03900d' 0)" "$D/fashion.cfg"
expect_text "DATA: the path is 39"
X=$D/longlist; rm -rf "$X"; mkdir -p "$X"
{ head -3 "$D/data/train.txt"; echo "$D/$(printf '%03900d' 0).png"; } >"$X/train.txt"
sed "s#^train=.*#train=$X/train.txt#" "$DATA" >"$X/x.data"
expect_status 1 ./darknet detector train "$X/x.data" "$D/fashion.cfg" -quiet
expect_text "train.txt: entry 4: the path is 39"
# what the documented commands leave at the top of the repository is ignored by git
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    for f in predictions.png ohem.png results/comp4_det_test_tshirt.txt; do
        git check-ignore -q "$f" || fail "$f (written by a documented command) is not in .gitignore"
    done
fi
expect_status 0 ./darknet ohem show "$DATA" "$D/fashion-ohem.cfg" "$D/data/backup/fashion-ohem_final.weights" "$IMG" -out "$D/show"
[ -s "$D/show.png" ] || fail "ohem show wrote no picture"
expect_text "/240, positives"
expect_status 1 ./darknet ohem show "$DATA" "$D/fashion.cfg" "$D/data/backup/fashion_final.weights" "$IMG"
expect_text "has no [ohem] section"
# a .data file whose classes differ from the network's is an error in every command
X=$D/classes4; rm -rf "$X"; mkdir -p "$X"
{ cat "$D/data/fashion.names"; echo extra; } >"$X/four.names"
sed -e 's/^classes=.*/classes=4/' -e "s#^names=.*#names=$X/four.names#" "$DATA" >"$X/four.data"
for cmd in "detector test $X/four.data $D/fashion.cfg $FW $IMG -out $X/out" "detector valid $X/four.data $D/fashion.cfg $FW -out $X/r_" \
           "detector map $X/four.data $D/fashion.cfg $FW" "ohem show $X/four.data $D/fashion-ohem.cfg $OW $IMG -out $X/out" \
           "detector train $X/four.data $D/fashion.cfg -quiet"; do
    expect_status 1 ./darknet $cmd
    expect_text "four.data says classes=4 but $D/fashion"
done

# map and valid check their list before the network is loaded: a text file posing
# as a .jpg is named with the line of the list that holds it (a blank line before it)
X=$D/fakejpg; rm -rf "$X"; cp -r "$D/data" "$X"
sed "s#$D/data#$X#g" "$DATA" >"$X/fashion.data"
{ sed -n 1,2p "$D/data/valid.txt"; echo; echo "$D/data/images/fake.jpg"; sed -n '3,$p' "$D/data/valid.txt"; } | sed "s#$D/data#$X#g" >"$X/valid.txt"
echo "a text file, not a JPEG" >"$X/images/fake.jpg"
echo "0 0.5 0.5 0.1 0.1" >"$X/labels/fake.txt"
expect_status 1 ./darknet detector map "$X/fashion.data" "$D/fashion.cfg" "$FW"
expect_text "error: $X/images/fake.jpg: the image is missing or does not decode (line 4 of $X/valid.txt)"
grep -q "mAP@" "$D/out" && fail "map: evaluated a list with a broken image"
expect_status 1 ./darknet detector valid "$X/fashion.data" "$D/fashion.cfg" "$FW" -out "$X/r_"
expect_text "error: $X/images/fake.jpg: the image is missing or does not decode (line 4 of $X/valid.txt)"
# valid needs no labels: a missing label file is no error there, and is one in map
rm "$X/labels/fake.txt"; cp "$D/data/images/$(basename "$(head -1 "$D/data/valid.txt")")" "$X/images/fake.jpg"
expect_status 0 ./darknet detector valid "$X/fashion.data" "$D/fashion.cfg" "$FW" -out "$X/r_"
expect_status 1 ./darknet detector map "$X/fashion.data" "$D/fashion.cfg" "$FW"
expect_text "fake.txt: cannot open the label file: No such file or directory (the labels of $X/images/fake.jpg, line 4 of $X/valid.txt"

# ohem show draws [detection] (YOLOv1) candidates too: 4 x 4 cells, 2 boxes each
cat >"$D/v1.cfg" <<'CFG'
[net]
batch=4
subdivisions=1
width=64
height=64
channels=3
learning_rate=0.001
momentum=0.9
decay=0.0005
max_batches=2
[convolutional]
filters=8
size=3
stride=4
pad=1
activation=leaky
[maxpool]
size=2
stride=4
[connected]
output=208
activation=linear
[detection]
classes=3
coords=4
rescore=1
side=4
num=2
softmax=0
sqrt=1
jitter=.2
object_scale=1
noobject_scale=.5
class_scale=1
coord_scale=5
[ohem]
per_image=8
CFG
expect_status 0 ./darknet detector train "$DATA" "$D/v1.cfg" -seed 1 -quiet
# [detection] trains one box per cell: two centres in one cell of its 4x4 grid are a warning
X=$D/v1cell; rm -rf "$X"; cp -r "$D/data" "$X"
sed "s#$D/data#$X#g" "$D/data/train.txt" >"$X/train.txt"
sed "s#$D/data#$X#g" "$DATA" >"$X/fashion.data"
printf '0 0.30 0.30 0.1 0.1\n1 0.80 0.80 0.1 0.1\n2 0.35 0.40 0.2 0.2\n' >"$X/labels/train_00002.txt"
expect_status 0 ./darknet detector train "$X/fashion.data" "$D/v1.cfg" -max_batches 1 -quiet
expect_text "warning: $X/labels/train_00002.txt: boxes 1 and 3 share a cell of the 4x4 grid"
for IMG2 in $(cat "$D/data/valid.txt"); do [ -s "$(echo "$IMG2" | sed 's#/images/#/labels/#; s/\.png$/.txt/')" ] && break; done
expect_status 0 ./darknet ohem show "$DATA" "$D/v1.cfg" "$D/data/backup/v1_final.weights" "$IMG2" -out "$D/v1show"
[ -s "$D/v1show.png" ] || fail "ohem show wrote no picture for [detection]"
expect_text "/32, positives"
npos=$(sed -n 's/.*positives [0-9]*\/\([0-9]*\),.*/\1/p' "$D/out")
[ "$npos" -ge 2 ] || fail "ohem show [detection]: $npos positives, expected 2 per labelled cell"

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
# more boxes in a label file than the loader keeps: a warning that names the file
bad_many() {
    X=$D/many; rm -rf "$X"; cp -r "$D/data" "$X"
    sed "s#$D/data#$X#g" "$D/data/train.txt" >"$X/train.txt"
    sed "s#$D/data#$X#g" "$DATA" >"$X/fashion.data"
    for _ in $(seq 1 95); do echo "1 0.5 0.5 0.1 0.1"; done >"$X/labels/train_00002.txt"
}
bad_many
expect_status 0 ./darknet detector train "$X/fashion.data" "$D/fashion.cfg" -max_batches 1 -quiet
expect_text "warning: $X/labels/train_00002.txt: 95 boxes; training reads the first 90"
expect_status 0 ./darknet ohem show "$X/fashion.data" "$D/fashion-ohem.cfg" "$OW" "$X/images/train_00002.png" -out "$D/many"
expect_text "warning: $X/labels/train_00002.txt: 95 boxes; the network takes the first 90"
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
expect_text "detector map"
# a group without its subcommand prints the group's usage
expect_status 2 ./darknet detector
expect_text "detector train DATA CFG"
grep -q "unknown command" "$D/out" && fail "'./darknet detector' says unknown command"
expect_status 2 ./darknet ohem
expect_text "ohem show"
# a flag's value that looks like a flag is a usage error
expect_status 2 ./darknet detector train "$DATA" "$D/fashion.cfg" -log -quiet
expect_text "-log -quiet: -log needs a value"
[ -e -quiet ] && fail "-log -quiet wrote a file named -quiet"
expect_status 2 ./darknet detector test "$DATA" "$D/fashion.cfg" "$W" "$IMG" -out -thresh 0.5
expect_status 2 ./darknet ohem show "$DATA" "$D/fashion-ohem.cfg" "$W" "$IMG" -out -x
# integer flags say their range
expect_status 2 ./darknet detector train "$DATA" "$D/fashion.cfg" -seed 4294967296
expect_text "-seed 4294967296: expected an integer in 0..4294967295"
expect_status 2 ./darknet detector train "$DATA" "$D/fashion.cfg" -max_batches -1
expect_text "expected an integer in 0..2000000000"
expect_status 2 ./darknet detector map "$DATA" "$D/fashion.cfg" "$W" -points 7
# cfg and path checks: each file named as what it is and where it came from
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
# Darknet's "# Testing" batch lines in force, its "# Training" ones commented out:
# training warns at its start (with -quiet too), naming the lines to swap
sed -e 's/^batch=.*/# Testing\nbatch=1\nsubdivisions=1\n# Training\n# batch=4\n# subdivisions=2/' -e '/^subdivisions=/d' \
    "$D/fashion.cfg" >"$D/testing.cfg"
[ "$(grep -n '^batch=1$\|^subdivisions=1$\|^# batch=4$\|^# subdivisions=2$' "$D/testing.cfg" | cut -d: -f1 | tr '\n' ' ')" = "6 7 9 10 " ] ||
    fail "testing.cfg: the batch lines are not on lines 6, 7, 9 and 10"
expect_status 0 ./darknet detector train "$DATA" "$D/testing.cfg" -max_batches 1 -quiet
expect_text "warning: $D/testing.cfg trains one image per iteration (batch=1 on line 6, subdivisions=1 on line 7), Darknet's testing setting; its training batch is commented out (# batch=4 on line 9, # subdivisions=2 on line 10) (hint: uncomment lines 9 and 10, and comment out lines 6 and 7)"
[ "$(grep -n 'trains one image per iteration\|^1/1:' "$D/out" | cut -d: -f2 | cut -c1-7)" = "$(printf 'warning\n1/1')" ] ||
    { cat "$D/out"; fail "testing.cfg: the batch warning does not come before the first iteration"; }
expect_status 0 ./darknet detector train "$DATA" "$D/fashion.cfg" -max_batches 1 -quiet
grep -q "trains one image per iteration" "$D/out" && fail "fashion.cfg (batch=4): a batch warning"
# the [ohem] versions of Debian's cfgs (make cfgs) train at Darknet's "# Training" batch
for c in yolov3-tiny:2 yolov3:16 yolov2-tiny:2; do
    f=cfg/${c%:*}-ohem.cfg
    [ "$(awk '/^\[/ { n++ } n == 1 && /^(batch|subdivisions)=/' "$f" | tr '\n' ' ')" = "batch=64 subdivisions=${c#*:} " ] ||
        fail "$f: the batch lines in force are not batch=64 subdivisions=${c#*:}"
done
# a weights file of 10 bytes is truncated
head -c 10 "$W" >"$D/short.weights"
expect_status 1 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" "$D/short.weights" -quiet
expect_text "short.weights: truncated: 10 bytes"
# a step much shorter than loading its batch (a 1 x 1 [convolutional] behind a
# stride-32 [maxpool], 320 x 320 mosaics of the 64 x 64 images): the progress line
# says how long the step waited for the loader, from the second iteration on (the
# first has nothing to load behind)
cat >"$D/slowload.cfg" <<'CFG'
[net]
batch=16
subdivisions=1
width=320
height=320
channels=3
mosaic=1
learning_rate=0.001
max_batches=6
saturation=1.5
exposure=1.5
hue=.1
[maxpool]
size=32
stride=32
[convolutional]
filters=8
size=1
activation=linear
[yolo]
mask=0
anchors=64,64
classes=3
num=1
CFG
expect_status 0 ./darknet detector train "$DATA" "$D/slowload.cfg" -seed 1
grep -q '^1/6: .*waiting for the loader' "$D/out" && fail "slowload: the first iteration's wait is shown"
[ "$(grep -c '^[2-6]/6: .*, [0-9.]*s ([0-9.]*s waiting for the loader), ' "$D/out")" -ge 3 ] ||
    { grep '^[0-9]/6:' "$D/out"; fail "slowload: the loader's wait is not shown"; }
echo "e2e_cli: all passed"
