#!/bin/sh
# Data-parallel training under mpirun (2 ranks on this machine): the equivalence of
# 2 ranks x batch 2 with 1 rank x batch 4 (tests/mpi_equiv), -np 1 and -seed, the
# [ohem] figures summed over ranks, -map on rank 0, a missing label on one rank's
# shard (every rank exits, one error line, no hang), and kill -INT of mpirun (one
# backup, loadable, resumed with 1 and 2 ranks), a failed save on rank 0 during
# training and a cfg error (printed once). Skipped when ./darknet was built
# without MPI. Exits non-zero at the first failure, saying what failed.
set -u
cd "$(dirname "$0")/.."
if ! command -v mpirun >/dev/null 2>&1 || ! ldd ./darknet | grep -q libmpi; then
    echo "skipped: ./darknet was built without MPI (make MPI=0, or no mpicc)"
    exit 0
fi
D=tests/tmp/e2e_mpi
. tests/lib.sh
mkdir -p "$D/equiv"
# Open MPI refuses root without these; --oversubscribe: 2 ranks may exceed the cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Open MPI's components stay loaded, so that LeakSanitizer (make test SANITIZE=1)
# can name, and tests/lsan.supp suppress, their own start-up allocations (Open MPI
# has no frame pointers: the slow unwinder finds its frames).
export OMPI_MCA_mca_base_component_disable_dlclose=1
if [ "${SANITIZE:-}" = 1 ]; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0" LSAN_OPTIONS="${LSAN_OPTIONS:-}:fast_unwind_on_malloc=0"
fi
MPIRUN="timeout 120 mpirun -q --oversubscribe"

# 2 ranks x batch 2 = 1 rank x batch 4, to float rounding (and the sharding)
expect_status 0 $MPIRUN -np 2 -x OHEM_MPI_ALL_OUTPUT=1 tests/mpi_equiv "$D/equiv"
grep '^weights:' "$D/out"

expect_status 0 ./darknet ohem dataset "$D/data" -train 24 -valid 8 -size 64 -seed 3 -quiet
DATA=$D/data/fashion.data
for v in fashion fashion-ohem; do
    sed -e 's/^batch=.*/batch=4/' -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' \
        -e 's/^max_batches=.*/max_batches=3/' -e 's/^burn_in=.*/burn_in=0/' -e 's/^per_image=.*/per_image=200/' -e 's/^nms=.*/nms=0.3/' \
        cfg/$v.cfg >"$D/$v.cfg"
done

# -np 1 trains as without mpirun: the same losses and the same weights for a seed
expect_status 0 ./darknet detector train "$DATA" "$D/fashion.cfg" -seed 5 -quiet -log "$D/plain.csv"
cp "$D/data/backup/fashion_final.weights" "$D/plain.weights"
expect_status 0 $MPIRUN -np 1 ./darknet detector train "$DATA" "$D/fashion.cfg" -seed 5 -quiet -log "$D/np1.csv"
[ "$(cut -d, -f1-4 "$D/plain.csv")" = "$(cut -d, -f1-4 "$D/np1.csv")" ] || fail "-np 1 trains differently from no mpirun"
cmp -s "$D/plain.weights" "$D/data/backup/fashion_final.weights" || fail "-np 1 saves other weights than no mpirun"

# 2 ranks: the same seed gives the same run; the images column counts both ranks
for run in a b; do
    expect_status 0 $MPIRUN -np 2 ./darknet detector train "$DATA" "$D/fashion.cfg" -seed 5 -quiet -log "$D/seed-$run.csv"
    expect_text "mpi: 2 ranks, 4 images per iteration each, 8 in all"
    expect_text "done: 3 iterations"
    cp "$D/data/backup/fashion_final.weights" "$D/seed-$run.weights"
done
[ "$(cut -d, -f1-4 "$D/seed-a.csv")" = "$(cut -d, -f1-4 "$D/seed-b.csv")" ] || fail "2 ranks, -seed 5 twice: different losses"
cmp -s "$D/seed-a.weights" "$D/seed-b.weights" || fail "2 ranks, -seed 5 twice: different weights"
[ "$(tail -1 "$D/seed-a.csv" | cut -d, -f6)" = 24 ] || fail "images column: $(tail -1 "$D/seed-a.csv" | cut -d, -f6), expected 3 x 8"
[ "$(grep -c 'loss' "$D/out")" -eq 3 ] || fail "the progress line is printed more than once per iteration"

# without -seed, every rank takes rank 0's clock seed (else the shards would differ)
expect_status 0 $MPIRUN -np 2 --tag-output -x OHEM_MPI_ALL_OUTPUT=1 ./darknet detector train "$DATA" "$D/fashion.cfg" -quiet -max_batches 1
[ "$(grep -o 'per iteration, seed [0-9]*' "$D/out" | sort -u | wc -l)" -eq 1 ] || fail "without -seed, the ranks took different seeds"

# [ohem]: the kept figures rank 0 logs are the sums of what each rank mined
# (each rank prints its own line on stdout with OHEM_MPI_ALL_OUTPUT=1)
expect_status 0 $MPIRUN -np 2 --tag-output -x OHEM_MPI_ALL_OUTPUT=1 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" \
    -seed 5 -log "$D/ohem.csv"
for it in 1 2 3; do
    want=$(sed -n 's/^\[1,[01]\]<stdout>:ohem '"$it"': mining, kept \([0-9]*\)\/\([0-9]*\) .*positives \([0-9]*\)\/\([0-9]*\),.*/\1 \2 \3 \4/p' "$D/out" |
        awk 'NF == 4 { k += $1; c += $2; pk += $3; p += $4; n++ } END { if (n == 2) printf "%d,%d,%d,%d", k, c, pk, p }')
    got=$(awk -F, -v it="$it" '$1 == it { print $7 "," $8 "," $9 "," $10 }' "$D/ohem.csv")
    [ -n "$want" ] && [ "$want" = "$got" ] || fail "[ohem] iteration $it: the log has $got, the ranks' own lines sum to '$want'"
done
awk -F, 'NR > 1 && $7 == 2 * 4 * 200 { exit 1 }' "$D/ohem.csv" || fail "[ohem]: NMS never dropped a candidate; the sum check is weak"

# two-stage ([rpn], [roipool], [roi_loss]) on 2 ranks: the loss is the mean over
# ranks and equals its parts rpn + roi, the RoI counts filled
sed -e 's/^batch=.*/batch=2/' -e 's/^max_batches=.*/max_batches=3/' -e 's/^burn_in=.*/burn_in=0/' cfg/fashion-frcnn.cfg >"$D/frcnn.cfg"
expect_status 0 $MPIRUN -np 2 ./darknet detector train "$DATA" "$D/frcnn.cfg" -seed 3 -quiet -log "$D/frcnn.csv"
awk -F, 'NR > 1 && !($2 + 0 > 0 && ($2 - $14 - $17) ^ 2 < 1e-6 && $20 > 0) { exit 1 }' "$D/frcnn.csv" ||
    fail "two-stage on 2 ranks: the log's loss is not rpn + roi, or no RoI trained"

# -map runs on rank 0
expect_status 0 $MPIRUN -np 2 ./darknet detector train "$DATA" "$D/fashion.cfg" -max_batches 2 -map 1 -quiet -log "$D/map.csv"
[ "$(grep -c 'mAP@0.50' "$D/out")" -eq 2 ] || fail "-map: expected 2 evaluations, on rank 0"
awk -F, 'NR > 1 && $13 == "" { exit 1 }' "$D/map.csv" || fail "-map left the map column empty"

# a missing label on one rank's shard: every rank exits with status 1, the error is
# printed once, no hang (timeout). The seeds vary the shard until each rank has
# had the missing file (--tag-output says which rank printed).
X=$D/missing
rm -rf "$X"
cp -r "$D/data" "$X"
sed "s#$D/data#$X#g" "$DATA" >"$X/fashion.data"
sed -i "s#$D/data#$X#g" "$X/train.txt"
rm "$X/labels/train_00002.txt"
seen=""
for seed in 1 2 3 4 5 6 7 8 9 10; do
    expect_status 1 $MPIRUN -np 2 --tag-output ./darknet detector train "$X/fashion.data" "$D/fashion.cfg" -seed $seed -quiet
    [ "$(grep -c 'train_00002.txt: cannot open the label file' "$D/out")" -eq 1 ] || { cat "$D/out"; fail "missing label: not exactly one error line"; }
    line=$(grep -n 'train_00002.png$' "$X/train.txt" | cut -d: -f1)
    expect_text "line $line of $X/train.txt"
    [ "$(grep -c 'error' "$D/out")" -eq 1 ] || { cat "$D/out"; fail "missing label: other errors printed"; }
    r=$(sed -n 's/^\[1,\([01]\)\]<stderr>:error: .*train_00002.txt: cannot open.*/\1/p' "$D/out")
    case " $seen " in *" $r "*) ;; *) seen="$seen $r" ;; esac
    [ "$(echo $seen | wc -w)" -eq 2 ] && break
done
[ "$(echo $seen | wc -w)" -eq 2 ] || fail "missing label: only rank$seen had it in 10 seeds"

# fewer images than ranks
head -1 "$D/data/train.txt" >"$D/one.txt"
sed "s#^train=.*#train=$D/one.txt#" "$DATA" >"$D/one.data"
expect_status 1 $MPIRUN -np 2 ./darknet detector train "$D/one.data" "$D/fashion.cfg" -quiet
[ "$(grep -c 'error: 1 images in the training list for 2 ranks' "$D/out")" -eq 1 ] || fail "1 image, 2 ranks: not one error line"

# kill -INT of mpirun: one backup, loadable; resumed with 1 rank and with 2
# (mpirun's own --timeout: a background `timeout` would not pass SIGINT on; the
# SIGKILL that follows mpirun's SIGTERM waits 3 s, not 1: time for the backup)
mpirun -q --oversubscribe --timeout 120 -np 2 --mca odls_base_sigkill_timeout 3 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" -max_batches 100000 \
    -quiet -log "$D/int.csv" >"$D/int.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -f "$D/int.csv" ] && [ "$(wc -l <"$D/int.csv")" -ge 3 ] && break; sleep 0.2; done
kill -INT $pid
wait $pid
st=$?
[ "$st" -ne 0 ] && [ "$st" -ne 124 ] || { cat "$D/int.out"; fail "SIGINT to mpirun: exit status $st"; }
[ "$(grep -c '^interrupted at iteration' "$D/int.out")" -eq 1 ] || { cat "$D/int.out"; fail "SIGINT: expected one 'interrupted' line"; }
B=$D/data/backup/fashion-ohem.backup
[ -s "$B" ] || fail "no backup after SIGINT"
ls "$D"/data/backup/*.tmp-* >/dev/null 2>&1 && fail "a temporary weights file was left behind"
last=$(tail -1 "$D/int.csv" | cut -d, -f1)
# both resumes from a copy: a resumed run saves its own backup over $B when it
# passes a multiple of 100 iterations (an interrupt at 199 made the second resume
# start at 201)
cp "$B" "$D/interrupted.backup"
expect_status 0 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" "$D/interrupted.backup" -max_batches $((last + 1)) -quiet -log "$D/int1.csv"
[ "$(sed -n 2p "$D/int1.csv" | cut -d, -f1)" = $((last + 1)) ] || fail "1 rank: the backup did not resume at iteration $((last + 1))"
expect_status 0 $MPIRUN -np 2 ./darknet detector train "$DATA" "$D/fashion-ohem.cfg" "$D/interrupted.backup" -max_batches $((last + 2)) -quiet -log "$D/int2.csv"
[ "$(sed -n 2p "$D/int2.csv" | cut -d, -f1)" = $((last + 1)) ] || fail "2 ranks: the backup did not resume at iteration $((last + 1))"
# a failure on one rank during training: rank 0's backup at iteration 100 cannot
# be renamed onto a folder of that name; rank 0 leaves, the other rank too, no hang
mkdir -p "$D/data/backup/fashion.backup/x"
expect_status 1 $MPIRUN -np 2 ./darknet detector train "$DATA" "$D/fashion.cfg" "$B" -max_batches 1000 -quiet
[ "$(grep -c 'could not write the weights' "$D/out")" -eq 1 ] || { tail -n 5 "$D/out"; fail "a failed save on rank 0: not one error line"; }
rm -rf "$D/data/backup/fashion.backup"

# a cfg error on every rank: printed once
printf '[net]\nbatch=2\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nfilters=x\n' >"$D/bad.cfg"
expect_status 1 $MPIRUN -np 2 ./darknet detector train "$DATA" "$D/bad.cfg" -quiet
[ "$(grep -c 'filters=x' "$D/out")" -eq 1 ] || fail "a bad cfg: not one error line"
echo "all MPI checks passed"
