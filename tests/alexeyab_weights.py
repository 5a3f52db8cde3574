#!/usr/bin/env python3
"""Writes seeded random weights for a cfg in the layout of AlexeyAB's Darknet, as its
save_weights_upto (src/parser.c) writes them, without any of our code: a second,
independent writer of the files that ./darknet must read.

usage: tests/alexeyab_weights.py CFG OUT SEED [--header 0.2.5|0.1.0] [--seen N]

Header: int32 major, minor, revision, then seen, a uint64 when major * 10 + minor
>= 2 (AlexeyAB's 0.2.5) and a uint32 before (pjreddie's early 0.1.0 files). Then,
layer by layer in cfg order, float32:
  [convolutional]  biases (n); with batch_normalize scales, rolling means, rolling
                   variances (n each); weights (n, c / groups, size, size)
  [connected]      biases (out); weights (out, in); with batch_normalize scales,
                   rolling means, rolling variances (out each)
  [batchnorm]      biases, scales, rolling means, rolling variances (c each)
Other sections hold no weights. Weighted [shortcut] and [implicit] (which AlexeyAB
saves too) are refused here. Rolling variances are drawn >= 0.5 so that inference
does not divide by ~0."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opencv_oracle import sections  # noqa: E402  (the oracle's cfg reader)


def arrays(kind, keys, c, h, w, rng):
    """The float32 arrays of one layer in file order, and its output (c, h, w)."""
    out = []

    def uniform(lo, hi, n):
        out.append(rng.uniform(lo, hi, n).astype(np.float32))

    def norms(n):
        uniform(0.5, 1.5, n)    # scales
        uniform(-0.5, 0.5, n)   # rolling means
        uniform(0.5, 1.5, n)    # rolling variances

    if kind == "[convolutional]":
        n, s = int(keys["filters"]), int(keys.get("size", 1))
        st, g = int(keys.get("stride", 1)), int(keys.get("groups", 1))
        pad = s // 2 if int(keys.get("pad", 0)) else int(keys.get("padding", 0))
        fan_in = (c // g) * s * s
        uniform(-1, 1, n)  # biases
        if int(keys.get("batch_normalize", 0)):
            norms(n)
        bound = 2 / np.sqrt(fan_in)
        uniform(-bound, bound, n * fan_in)
        return out, (n, (h + 2 * pad - s) // st + 1, (w + 2 * pad - s) // st + 1)
    if kind == "[connected]":
        n, fan_in = int(keys["output"]), c * h * w
        uniform(-1, 1, n)
        uniform(-2 / np.sqrt(fan_in), 2 / np.sqrt(fan_in), n * fan_in)
        if int(keys.get("batch_normalize", 0)):
            norms(n)
        return out, (n, 1, 1)
    if kind == "[batchnorm]":
        uniform(-1, 1, c)
        norms(c)
        return out, (c, h, w)
    if kind == "[shortcut]" and "weights_type" in keys or kind == "[implicit]":
        sys.exit(f"alexeyab_weights: {kind} with weights is not written here")
    if kind in ("[maxpool]", "[local_avgpool]"):
        st = int(keys.get("stride", 1))
        s = int(keys.get("size", st))
        pad = int(keys.get("padding", s - 1))
        return out, (c, (h + pad - s) // st + 1, (w + pad - s) // st + 1)
    if kind == "[upsample]":
        st = int(keys.get("stride", 2))
        return out, (c, h * st, w * st)
    if kind in ("[avgpool]", "[avg]"):
        return out, (c, 1, 1)
    return out, (c, h, w)  # [yolo], [shortcut], [dropout] ...: the shape goes on


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cfg")
    ap.add_argument("out")
    ap.add_argument("seed", type=int)
    ap.add_argument("--header", default="0.2.5", choices=["0.2.5", "0.1.0"])
    ap.add_argument("--seen", type=int, default=0)
    a = ap.parse_args()
    secs = sections(a.cfg)
    net = secs[0][1]
    c, h, w = int(net["channels"]), int(net["height"]), int(net["width"])
    rng = np.random.default_rng(a.seed)
    major, minor, revision = (int(v) for v in a.header.split("."))
    shapes = {}
    with open(a.out, "wb") as f:
        np.array([major, minor, revision], dtype="<i4").tofile(f)
        np.array([a.seen], dtype="<u8" if major * 10 + minor >= 2 else "<u4").tofile(f)
        for i, (kind, keys) in enumerate(secs[1:]):
            if kind == "[route]":
                ids = [int(v) for v in keys["layers"].split(",")]
                ids = [v if v >= 0 else i + v for v in ids]
                groups = int(keys.get("groups", 1))
                c = sum(shapes[j][0] // groups for j in ids)
                h, w = shapes[ids[0]][1:]
            else:
                if i > 0:
                    c, h, w = shapes[i - 1]
                data, (c, h, w) = arrays(kind, keys, c, h, w, rng)
                for x in data:
                    x.astype("<f4").tofile(f)
            shapes[i] = (c, h, w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
