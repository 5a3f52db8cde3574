#!/bin/sh
# The README's example program: a plain libdarknet program linked with libohem.a
# before -ldarknet parses [ohem] and routes gemm to OpenBLAS, with no other change.
set -u
cd "$(dirname "$0")/.."
out=$(./tests/example cfg/fashion-ohem.cfg 2>tests/tmp/example.err) || { cat tests/tmp/example.err; echo "FAIL: example exited $?"; exit 1; }
[ "$out" = "21 layers, 6144 outputs" ] || { echo "FAIL: example printed '$out'"; exit 1; }
grep -q "ohem       64 per image" tests/tmp/example.err || { echo "FAIL: [ohem] was not built"; exit 1; }
REPLACED="parse_network_cfg load_network free_network resize_network set_batch_network get_network_boxes gemm gemm_cpu im2col_cpu forward_convolutional_layer"
for sym in $REPLACED; do
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
# libohem.a linked after -ldarknet (the order mistake), from another folder: the
# plugin is still linked (libohem.a is a linker script), never the stock parser
top=$PWD
san=; [ "${SANITIZE:-}" = 1 ] && san=-fsanitize=address,undefined
(cd tests/tmp && ${CC:-cc} $san -I/usr/lib/darknet/include -o example-after "$top/tests/example.c" -L/usr/lib/darknet -ldarknet \
    "$top/libohem.a" -Wl,-rpath,/usr/lib/darknet -lopenblas -lm -pthread) || { echo "FAIL: linking libohem.a after -ldarknet"; exit 1; }
out=$(./tests/tmp/example-after cfg/fashion-ohem.cfg 2>tests/tmp/example.err)
[ "$out" = "21 layers, 6144 outputs" ] || { tail -n 3 tests/tmp/example.err; echo "FAIL: linked after -ldarknet, the example printed '$out'"; exit 1; }
for sym in $REPLACED; do
    nm -D --defined-only tests/tmp/example-after | grep -q " T $sym\$" || { echo "FAIL: linked after -ldarknet, the example does not carry $sym"; exit 1; }
done
# the start-up line says what is in force: fraction=0.1 of 960 candidates keeps 96
sed '/^per_image=/d' cfg/fashion-ohem.cfg >tests/tmp/fraction.cfg
printf 'fraction=0.1\nrank=class\n' >>tests/tmp/fraction.cfg
./tests/example tests/tmp/fraction.cfg >/dev/null 2>tests/tmp/example.err || { tail -n 3 tests/tmp/example.err; echo "FAIL: fraction.cfg"; exit 1; }
grep -q "ohem       fraction 0.1: 96 of 960 per image, nms 0.70, 960 candidates per image, rank class" tests/tmp/example.err ||
    { grep ohem tests/tmp/example.err; echo "FAIL: the [ohem] line does not say fraction 0.1: 96 of 960"; exit 1; }
# `make` builds tests/example (README uses it): a change to example.c rebuilds it
make -s -n -W tests/example.c all | grep -q "tests/example" || { echo "FAIL: make does not build tests/example"; exit 1; }
echo "e2e_example: all passed"
