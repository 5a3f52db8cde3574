#!/bin/bash
# Faults: kill -9 during training and around saves leaves a backup that loads and
# resumes; a full disk (a file-size limit) is an error that keeps the previous
# backup intact; weights that do not fit are refused before anything loads.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/faults
. tests/lib.sh
./darknet ohem dataset "$D/data" -train 16 -valid 4 -size 64 -seed 9 -quiet || fail "dataset"
sed -e 's/^batch=.*/batch=2/' -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' \
    -e 's/^burn_in=.*/burn_in=0/' cfg/fashion-ohem.cfg >"$D/net.cfg"
DATA=$D/data/fashion.data
B=$D/data/backup/net.backup

# kill -9 at random moments once a backup exists (it is saved every 100 iterations)
RANDOM=7
for round in 1 2 3 4 5; do
    ./darknet detector train "$DATA" "$D/net.cfg" $([ -f "$B" ] && echo "$B") -max_batches 1000000 -quiet >"$D/run.out" 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do [ -f "$B" ] && break; sleep 0.1; done
    sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
    kill -9 $pid
    wait $pid 2>/dev/null
    [ -s "$B" ] || fail "round $round: no backup"
    ./tests/example "$D/net.cfg" "$B" >"$D/load.out" 2>&1 || { cat "$D/load.out"; fail "round $round: the backup does not load"; }
done
# a run resumes from it, at the iteration after the saved one
./darknet detector train "$DATA" "$D/net.cfg" "$B" -max_batches 1000000 -quiet -log "$D/resume.csv" >"$D/run.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -f "$D/resume.csv" ] && [ "$(wc -l <"$D/resume.csv")" -ge 2 ] && break; sleep 0.1; done
kill -TERM $pid
wait $pid
st=$?
[ $st -eq 143 ] || { cat "$D/run.out"; fail "SIGTERM: exit status $st, expected 143"; }
first=$(sed -n 2p "$D/resume.csv" | cut -d, -f1)
[ $((first % 100)) -eq 1 ] || fail "resumed at iteration $first, not just after a saved backup"
ls "$D"/data/backup/*.tmp-* >/dev/null 2>&1 && fail "temporary weights files left after a clean stop"

# a full disk: past a file-size limit the save fails, is reported, and the previous
# backup stays as it was
sum=$(md5sum <"$B")
( ulimit -f 64; exec ./darknet detector train "$DATA" "$D/net.cfg" "$B" -max_batches 1000000 -quiet ) >"$D/full.out" 2>&1
st=$?
[ $st -eq 1 ] || { tail -n 5 "$D/full.out"; fail "full disk: exit status $st, expected 1"; }
grep -q "could not write the weights" "$D/full.out" || fail "full disk: no error message"
[ "$(md5sum <"$B")" = "$sum" ] || fail "full disk: the previous backup changed"
ls "$D"/data/backup/*.tmp-* >/dev/null 2>&1 && fail "full disk: a temporary file was left"

# weights that do not fit are refused, with the file named
head -c 1000 "$B" >"$D/short.weights"
./darknet detector map "$DATA" "$D/net.cfg" "$D/short.weights" >"$D/w.out" 2>&1
[ $? -eq 1 ] && grep -q "short.weights: .* end inside layer" "$D/w.out" || { cat "$D/w.out" | tail -3; fail "a truncated weights file was not refused"; }
./darknet detector map "$DATA" /usr/share/darknet/cfg/yolov3-tiny.cfg "$B" >"$D/w.out" 2>&1
[ $? -eq 1 ] && grep -q "another cfg" "$D/w.out" || fail "weights of another network were not refused"
echo "e2e_faults: all passed"
