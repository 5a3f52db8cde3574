#!/bin/sh
# The README's example program: a plain libdarknet program linked with libohem.a
# before -ldarknet parses [ohem] and routes gemm to OpenBLAS, with no other change.
set -u
cd "$(dirname "$0")/.."
out=$(./tests/example cfg/fashion-ohem.cfg 2>tests/tmp/example.err) || { cat tests/tmp/example.err; echo "FAIL: example exited $?"; exit 1; }
[ "$out" = "21 layers, 6144 outputs" ] || { echo "FAIL: example printed '$out'"; exit 1; }
grep -q "ohem       64 per image" tests/tmp/example.err || { echo "FAIL: [ohem] was not built"; exit 1; }
for sym in parse_network_cfg load_network gemm gemm_cpu resize_network; do
    nm -D --defined-only tests/example | grep -q " T $sym\$" || { echo "FAIL: the example does not carry $sym"; exit 1; }
done
./tests/example tests/tmp/no-such.cfg 2>tests/tmp/example.err && { echo "FAIL: a missing cfg succeeded"; exit 1; }
grep -q "no-such.cfg: cannot open" tests/tmp/example.err || { echo "FAIL: no error for a missing cfg"; exit 1; }
# the [ohem] versions of Debian's cfgs (made by `make cfgs`) parse, with their candidates
for pair in yolov3-tiny:2535 yolov3:22743 yolov2-tiny:845; do
    name=${pair%%:*}
    ./tests/example "cfg/$name-ohem.cfg" >/dev/null 2>tests/tmp/example.err || { tail -n 3 tests/tmp/example.err; echo "FAIL: cfg/$name-ohem.cfg"; exit 1; }
    grep -q "${pair#*:} candidates per image" tests/tmp/example.err || { echo "FAIL: cfg/$name-ohem.cfg: not ${pair#*:} candidates"; exit 1; }
done
echo "e2e_example: all passed"
