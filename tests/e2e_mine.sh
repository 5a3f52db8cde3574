#!/bin/sh
# End to end through ./darknet ohem mine: the files it writes and their format
# (mine.csv ranked hardest first, hard.txt its first N paths, train-hard.txt the
# training list plus N x K, hard.png), the same with OHEM_PREFETCH=off, -by errors, -list valid and FILE, the false
# positives and misses against detector map's TP and FP at the same -thresh, and the
# error paths (status 1 for bad input, 2 for bad usage). Exits non-zero at the first
# failure, saying what failed.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e_mine
. tests/lib.sh

expect_status 0 ./darknet ohem dataset "$D/data" -train 24 -valid 8 -size 64 -seed 5 -quiet
DATA=$D/data/fashion.data
# no batch norm: two iterations give a network that detects something (young batch
# norm statistics would not)
sed -e 's/^batch=.*/batch=4/' -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' \
    -e 's/^max_batches=.*/max_batches=2/' -e 's/^burn_in=.*/burn_in=0/' -e 's/^batch_normalize=1/batch_normalize=0/' \
    cfg/fashion.cfg >"$D/fashion.cfg"
expect_status 0 ./darknet detector train "$DATA" "$D/fashion.cfg" -seed 2 -quiet
W=$D/data/backup/fashion_final.weights

# the default: -list train, -top 100 (capped at the list), -out beside the weights
expect_status 0 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W"
expect_text "mine: 24/24 images"
expect_text "24 images ("
M=$D/data/backup/mine
for f in mine.csv hard.txt hard.png; do [ -s "$M/$f" ] || fail "no $M/$f"; done
[ ! -e "$M/train-hard.txt" ] || fail "train-hard.txt without -repeat"
[ "$(head -1 "$M/mine.csv")" = "rank,path,loss,truths,detections,false_positives,misses" ] || fail "mine.csv header"
[ "$(grep -c . "$M/hard.txt")" = 24 ] || fail "-top 100 over 24 images: hard.txt should hold 24"

expect_status 0 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -top 5 -repeat 3 -thresh 0.1 -out "$D/m1"
C=$D/m1/mine.csv
[ "$(($(wc -l <"$C") - 1))" = 24 ] || fail "mine.csv: not one row per image"
# ranks 1..n, losses finite and descending, counts consistent, every listed image once
awk -F, 'NR > 1 { if ($1 != NR - 1 || NF != 7 || !($3 + 0 == $3) || $3 < 0) bad = 1
    if (NR > 2 && $3 > prev) bad = 1; prev = $3
    if ($6 > $5 || $7 > $4 || $5 - $6 != $4 - $7) bad = 1 } END { exit bad }' "$C" ||
    fail "mine.csv: ranks, loss order or counts wrong (a true positive matches one truth: detections - fp = truths - misses)"
[ "$(tail -n +2 "$C" | cut -d, -f2 | sort)" = "$(sort "$D/data/train.txt")" ] || fail "mine.csv does not hold the train list"
tail -n +2 "$C" | head -5 | cut -d, -f2 >"$D/top5"
cmp -s "$D/top5" "$D/m1/hard.txt" || fail "hard.txt is not the first 5 paths of mine.csv"
{ cat "$D/data/train.txt"; cat "$D/top5" "$D/top5" "$D/top5"; } >"$D/want-repeat"
cmp -s "$D/want-repeat" "$D/m1/train-hard.txt" || fail "train-hard.txt is not train.txt plus the top 5 three times"
[ "$(head -c 4 "$D/m1/hard.png" | od -An -c | tr -d ' ')" = '211PNG' ] || fail "hard.png is not a PNG"
# the repeated list trains
sed -e "s#^train=.*#train=$D/m1/train-hard.txt#" -e "s#^backup=.*#backup=$D/hard-backup#" "$DATA" >"$D/hard.data"
expect_status 0 ./darknet detector train "$D/hard.data" "$D/fashion.cfg" "$W" -max_batches 3 -quiet

# the images loaded ahead on the loader thread (the default, as above) or each in its
# turn (OHEM_PREFETCH=off): the same files and summary, byte for byte
OHEM_PREFETCH=off expect_status 0 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -top 5 -repeat 3 -thresh 0.1 -out "$D/m1off"
grep -v '^mine: \|images/s' "$D/out" >"$D/off.txt"
expect_status 0 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -top 5 -repeat 3 -thresh 0.1 -out "$D/m1"
grep -v '^mine: \|images/s' "$D/out" | sed "s#$D/m1/#$D/m1off/#g; s#$D/m1,#$D/m1off,#g" >"$D/on.txt"
for f in mine.csv hard.txt train-hard.txt hard.png; do
    cmp -s "$D/m1off/$f" "$D/m1/$f" || fail "$f differs with OHEM_PREFETCH=off"
done
cmp -s "$D/off.txt" "$D/on.txt" || fail "the summary differs with OHEM_PREFETCH=off"

# -by errors: false positives + misses descending, then loss
expect_status 0 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -top 3 -thresh 0.1 -by errors -out "$D/m2"
awk -F, 'NR > 1 { e = $6 + $7; if (NR > 2 && (e > pe || (e == pe && $3 > pl))) bad = 1; pe = e; pl = $3 } END { exit bad }' \
    "$D/m2/mine.csv" || fail "-by errors: not ranked by false positives + misses, then loss"

# -list valid: the false positives and misses are detector map's FP and truths - TP
for t in 0.02 0.1; do
    expect_status 0 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -list valid -thresh $t -out "$D/mv"
    mine=$(awk -F, 'NR > 1 { f += $6; m += $7; d += $5 } END { print f, m, d }' "$D/mv/mine.csv")
    expect_status 0 ./darknet detector map "$DATA" "$D/fashion.cfg" "$W" -thresh $t
    map=$(awk 'NF == 8 && $1 != "class" { f += $8; m += $2 - $7; d += $7 + $8 } END { print f, m, d }' "$D/out")
    [ "$mine" = "$map" ] || fail "-thresh $t: mine's false positives, misses, detections ($mine) are not detector map's ($map)"
    [ "${mine%% *}" -gt 0 ] || fail "-thresh $t: no false positive at all, the comparison says nothing"
done
# -list FILE
head -3 "$D/data/valid.txt" >"$D/three.txt"
expect_status 0 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -list "$D/three.txt" -top 2 -out "$D/m3"
[ "$(($(wc -l <"$D/m3/mine.csv") - 1))" = 3 ] || fail "-list FILE: not 3 rows"

# bad input: status 1, the file named
expect_status 1 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$D/no.weights"
expect_text "$D/no.weights: cannot read the weights file"
expect_status 1 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -list "$D/no-list.txt"
expect_text "$D/no-list.txt"
grep -v '^valid' "$DATA" >"$D/novalid.data"
expect_status 1 ./darknet ohem mine "$D/novalid.data" "$D/fashion.cfg" "$W" -list valid
expect_text "the key 'valid' is missing"
expect_status 1 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -out /proc/mine
expect_text "/proc/mine: cannot create the directory"
sed 's/^classes=.*/classes=4/' "$DATA" >"$D/four.data"
expect_status 1 ./darknet ohem mine "$D/four.data" "$D/fashion.cfg" "$W"
expect_text "classes=4"
# a broken label file stops it, naming file and line
cp -r "$D/data" "$D/bad"
sed "s#$D/data#$D/bad#g" "$D/data/valid.txt" >"$D/bad/valid.txt"
sed "s#$D/data#$D/bad#g" "$DATA" >"$D/bad/fashion.data"
L=$(sed -n 1p "$D/bad/valid.txt" | sed 's#/images/#/labels/#; s/\.png$/.txt/')
echo "7 0.5 0.5 0.1 0.1" >"$L"
expect_status 1 ./darknet ohem mine "$D/bad/fashion.data" "$D/fashion.cfg" "$W" -list valid
expect_text "$L:1: class '7' is not an integer in 0..2"
# bad usage: status 2
expect_status 2 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -top 0
expect_text "-top 0: expected an integer in 1"
expect_status 2 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -repeat 0
expect_status 2 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -thresh 1.5
expect_status 2 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -by size
expect_status 2 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -top -out
expect_status 2 ./darknet ohem mine "$DATA" "$D/fashion.cfg" "$W" -nope 1
expect_status 2 ./darknet ohem mine "$DATA" "$D/fashion.cfg"
expect_text "missing operand"
echo "e2e_mine: all passed"
