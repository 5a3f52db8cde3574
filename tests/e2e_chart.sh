#!/bin/sh
# End to end: detector train keeps a PNG chart: -chart PATH, the default in the
# backup folder, -chart none, and a place that cannot be written (an error before
# training). Exits non-zero at the first failure, saying what failed.
set -u
cd "$(dirname "$0")/.."
D=tests/tmp/e2e_chart
. tests/lib.sh

# a PNG starts with its 8-byte signature and an IHDR chunk
is_png() { [ "$(head -c 16 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a0000000d49484452 ]; }

expect_status 0 ./darknet ohem dataset "$D/data" -train 8 -valid 4 -size 64 -seed 3 -quiet
DATA=$D/data/fashion.data
sed -e 's/^batch=.*/batch=2/' -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' \
    -e 's/^burn_in=.*/burn_in=0/' cfg/fashion-ohem.cfg >"$D/small.cfg"

# a temporary chart of a killed run (its process is gone) is removed
: >"$D/x.png.tmp-999999999"
expect_status 0 ./darknet detector train "$DATA" "$D/small.cfg" -seed 1 -max_batches 12 -map 6 -quiet -chart "$D/x.png"
expect_text "removed $D/x.png.tmp-999999999"
[ -s "$D/x.png" ] && is_png "$D/x.png" || fail "-chart $D/x.png: no PNG"
ls "$D" | grep -q 'tmp-' && fail "a temporary chart file was left: $(ls "$D")"
[ -e "$D/data/backup/chart_small.png" ] && fail "-chart PATH also wrote the default chart"

# the default: chart_<cfg>.png in the backup folder
expect_status 0 ./darknet detector train "$DATA" "$D/small.cfg" -seed 1 -max_batches 2 -quiet
is_png "$D/data/backup/chart_small.png" || fail "no default chart in the backup folder"

# -chart none: no chart anywhere
rm -f "$D/data/backup/chart_small.png"
expect_status 0 ./darknet detector train "$DATA" "$D/small.cfg" -seed 1 -max_batches 2 -quiet -chart none
[ -e "$D/data/backup/chart_small.png" ] || [ -e none ] && fail "-chart none wrote a chart"

# a folder that does not exist: an error naming the file, before training
expect_status 1 ./darknet detector train "$DATA" "$D/small.cfg" -seed 1 -max_batches 2 -quiet -chart "$D/no/such/c.png"
expect_text "$D/no/such/c.png: could not write the chart"
grep -q '^1/2' "$D/out" && fail "trained although the chart cannot be written"
expect_status 2 ./darknet detector train "$DATA" "$D/small.cfg" -chart -quiet
echo "e2e_chart: all passed"
