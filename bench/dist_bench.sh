#!/bin/sh
# bench/dist_bench.sh [OUT]: the cost of the update allreduce of data-parallel
# training (bench/dist_bench under mpirun -np 2, one OpenBLAS thread per rank) for
# yolov3-tiny (416x416, batch 2 per step, iterations of 64 images) and cfg/fashion.cfg
# (its own batch, 32); prints the tables and writes them to OUT
# (default bench/results-mpi.md). Skipped where there is no MPI.
set -eu
cd "$(dirname "$0")/.."
out=${1:-bench/results-mpi.md}
if ! command -v mpirun >/dev/null 2>&1 || ! ldd bench/dist_bench | grep -q libmpi; then
    echo "dist_bench: skipped, built without MPI"
    exit 0
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OHEM_THREADS=1
tiny=bench/tmp-mpi-yolov3-tiny.cfg
sed -e 's/^batch=.*/batch=2/' -e 's/^subdivisions=.*/subdivisions=1/' /usr/share/darknet/cfg/yolov3-tiny.cfg >"$tiny"
# Each run's table goes to the report and is printed; its exit status is checked
# (no pipe), and a failing run's messages are printed before the script fails.
log=bench/tmp-mpi-stderr.log
run() {
    if ! mpirun -q --oversubscribe -np 2 bench/dist_bench "$@" >bench/tmp-mpi-out.md 2>"$log"; then
        cat "$log" >&2
        echo "dist_bench: bench/dist_bench $* failed" >&2
        exit 1
    fi
    cat bench/tmp-mpi-out.md
    cat bench/tmp-mpi-out.md >>"$out"
}
echo "## Data-parallel training: the update allreduce ($(date -u +%Y-%m-%d), make bench)" | tee "$out"
run "$tiny" -iter 64 -reps 3
run cfg/fashion.cfg -reps 5
rm -f "$tiny" bench/tmp-mpi-out.md "$log"
