#!/bin/sh
# Resuming is exact: with -seed, a run stopped part-way (by -max_batches, or by
# SIGINT) and resumed gives the same weights, byte for byte, as a run that never
# stopped, on one process and on 2 MPI ranks (where ./darknet has MPI). The cfgs
# draw from every generator a run has: the loader (data order, augmentation), the
# main thread ([dropout], the multi-scale size), [rpn] and [roi_loss]; the momentum
# is not in the weights file. Also: the warnings for a missing or mismatched state
# file, and the resume line naming the program as started. Exits non-zero at the
# first failure, saying what failed.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e_resume
. tests/lib.sh
expect_status 0 ./darknet ohem dataset "$D/data" -train 16 -valid 4 -size 64 -seed 3 -quiet
DATA=$D/data/fashion.data
BK=$D/data/backup
# [ohem] with multi-scale training (random=1 at 96: sizes 96 and 128, drawn every
# 10 iterations); the two-stage detector with a [dropout] in its RoI head
sed -e 's/^batch=.*/batch=2/' -e 's/^width=.*/width=96/' -e 's/^height=.*/height=96/' -e 's/^burn_in=.*/burn_in=0/' \
    -e 's/^random=0/random=1/' cfg/fashion-ohem.cfg >"$D/ms-base.cfg"
sed -e 's/^batch=.*/batch=2/' -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' -e 's/^burn_in=.*/burn_in=0/' \
    -e 's/^# (3 + 1) class scores.*/[dropout]\nprobability=.2\n\n&/' cfg/fashion-frcnn.cfg >"$D/rcnn-base.cfg"
grep -q '^random=1' "$D/ms-base.cfg" && grep -q '^\[dropout\]' "$D/rcnn-base.cfg" || fail "the test cfgs lack random=1 or [dropout]"

# same A B what: the two weights files are equal, byte for byte
same() { cmp "$1" "$2" >/dev/null 2>&1 || fail "$3: the resumed run ends with other weights than the straight run"; }

SEED=5
# straight NAME CFG N [launcher...]: trains N iterations from scratch; the final
# weights are copied to $D/NAME.straight
straight() {
    name=$1 cfg=$2 n=$3
    shift 3
    cp "$cfg" "$D/$name.cfg"
    expect_status 0 "$@" ./darknet detector train "$DATA" "$D/$name.cfg" -seed "$SEED" -max_batches "$n" -quiet
    cp "$BK/${name}_final.weights" "$D/$name.straight"
}
# stopped NAME CFG K N [launcher...]: K iterations, then resumed from the final
# weights to N; compared with the straight run of N
stopped() {
    name=$1 cfg=$2 k=$3 n=$4
    shift 4
    straight "$name" "$cfg" "$n" "$@"
    rm -f "$BK/$name"*
    expect_status 0 "$@" ./darknet detector train "$DATA" "$D/$name.cfg" -seed "$SEED" -max_batches "$k" -quiet
    [ -s "$BK/${name}_final.weights.state" ] || fail "$name: no state beside the final weights"
    expect_status 0 "$@" ./darknet detector train "$DATA" "$D/$name.cfg" "$BK/${name}_final.weights" -seed "$SEED" -max_batches "$n"
    expect_text "continuing exactly"
    same "$D/$name.straight" "$BK/${name}_final.weights" "$name, $k + $((n - k)) iterations${*:+ under $*}"
}

# one process: stopped at a multi-scale step (10: the prefetched batch of the old
# size is dropped and a size drawn), and the two-stage cfg
stopped ms10 "$D/ms-base.cfg" 10 13
stopped rcnn "$D/rcnn-base.cfg" 2 4

# SIGINT: the backup and its state; the printed command, run with a nearer
# -max_batches, ends where a straight run of that length does
cp "$D/ms-base.cfg" "$D/int.cfg"
"$PWD/darknet" detector train "$DATA" "$D/int.cfg" -seed 5 -max_batches 100000 -quiet -log "$D/int.csv" >"$D/int.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do [ -f "$D/int.csv" ] && [ "$(wc -l <"$D/int.csv")" -ge 3 ] && break; sleep 0.1; done
kill -INT $pid
wait $pid
st=$?
[ "$st" -eq 130 ] || { cat "$D/int.out"; fail "SIGINT: exit status $st, expected 130"; }
k=$(sed -n 's/^interrupted at iteration \([0-9]*\);.*/\1/p' "$D/int.out")
[ -n "$k" ] && [ -s "$BK/int.backup.state" ] || { cat "$D/int.out"; fail "SIGINT: no 'interrupted' line or no state beside the backup"; }
cmd=$(sed -n 's/^resume with: //p' "$D/int.out")
case "$cmd" in "$PWD/darknet detector train "*) ;; *) fail "the resume line does not name the program as started ($PWD/darknet): $cmd" ;; esac
# to 13, across the multi-scale step at 10, as ms10's straight run (or further)
n=13
[ "$k" -lt 10 ] || n=$((k + 12))
expect_status 0 sh -c "exec $(echo "$cmd" | sed "s/-max_batches 100000/-max_batches $n/")"
grep -q 'training state' "$D/out" && { cat "$D/out"; fail "the printed resume command did not find the state"; }
if [ $n -eq 13 ]; then
    cp "$D/ms10.straight" "$D/int.straight"
else
    cp "$BK/int_final.weights" "$D/int.resumed"
    straight int "$D/ms-base.cfg" $n
    cp "$D/int.resumed" "$BK/int_final.weights"
fi
same "$D/int.straight" "$BK/int_final.weights" "SIGINT at $k, resumed to $n"

# the warnings: no state beside the weights; a state of another seed; of another cfg
cp "$BK/int.backup" "$D/copy.weights"
cp "$BK/int.backup.state" "$D/int.state"
expect_status 0 ./darknet detector train "$DATA" "$D/int.cfg" "$D/copy.weights" -seed 5 -max_batches $((k + 1)) -quiet
expect_text "copy.weights.state: cannot read the training state saved beside the weights"
expect_text "it will not be the run an uninterrupted one would have been"
cp "$D/int.state" "$D/copy.weights.state"
expect_status 0 ./darknet detector train "$DATA" "$D/int.cfg" "$D/copy.weights" -seed 6 -max_batches $((k + 1)) -quiet
expect_text "saved by a run with -seed 5; this one has seed 6 (hint: -seed 5)"
cp "$BK/rcnn_final.weights.state" "$D/copy.weights.state"
expect_status 0 ./darknet detector train "$DATA" "$D/int.cfg" "$D/copy.weights" -seed 5 -max_batches $((k + 1)) -quiet
expect_text "saved for another network"

# 2 ranks: each rank's generators (loader, [dropout], [rpn], [roi_loss]) and
# multi-scale size are its own
if command -v mpirun >/dev/null 2>&1 && ldd ./darknet | grep -q libmpi; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mca_base_component_disable_dlclose=1
    MPIRUN="timeout 120 mpirun -q --oversubscribe -np 2"
    stopped mpi_rcnn "$D/rcnn-base.cfg" 2 4 $MPIRUN
    # each rank draws its own multi-scale size: resumed off a multi-scale step
    # (seed 1: the ranks' first sizes differ)
    SEED=1
    stopped mpi_ms "$D/ms-base.cfg" 7 11 $MPIRUN
    # a state of 2 ranks does not fit 1
    expect_status 0 ./darknet detector train "$DATA" "$D/mpi_rcnn.cfg" "$BK/mpi_rcnn_final.weights" -seed 5 -max_batches 5 -quiet
    expect_text "saved by a run on 2 ranks; this one has 1"
else
    echo "MPI checks skipped: ./darknet was built without MPI"
fi
echo "e2e_resume: all passed"
