#!/bin/sh
# Writes the cfgs of make bench's [ohem]-on-RoIs rows into bench/: fashion-frcnn at
# R = 256 RoIs per image with Fast R-CNN's sampler (64 per image), with [ohem]
# keeping K = 64 (the sparse trainable pass), and with [ohem] and the dense masked
# backward (sparse=0). [ohem]'s stats line is off (stats=0), so that the bench's table
# on standard output holds only the table.
set -eu
cd "$(dirname "$0")/.."
R256='s/^rois=128$/rois=256/; s/^proposals=128$/proposals=256/; s/^rois_per_image=32$/rois_per_image=64/; s/^per_image=32$/per_image=64/'
sed "$R256" cfg/fashion-frcnn.cfg >bench/tmp-sampler-256.cfg
{ sed "$R256" cfg/fashion-frcnn-ohem.cfg; echo "stats=0"; } >bench/tmp-ohem-256.cfg
{ cat bench/tmp-ohem-256.cfg; echo "sparse=0"; } >bench/tmp-dense-256.cfg
