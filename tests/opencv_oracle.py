#!/usr/bin/env python3
"""OpenCV's Darknet importer as a second computation of a network's forward.

usage: tests/opencv_oracle.py CFG WEIGHTS DIR
DIR holds input.bin and layer_<i>.bin from tests/opencv_dump. Every Darknet layer
whose output OpenCV exposes (its last layer named *_<i>) must agree with ours to
1e-4 (absolute, plus 1e-4 relative); a [yolo] layer's rows (x, y, w, h,
objectness, class scores; cells then anchors, relative to the input) are compared
with our output decoded the same way. Exits 1 on any difference."""
import math
import re
import sys

import cv2
import numpy as np

TOL = 1e-4


def sections(path):
    out = []
    for line in open(path):
        line = line.split("#")[0].strip()
        if not line:
            continue
        if line.startswith("["):
            out.append([line, {}])
        else:
            k, v = line.split("=", 1)
            out[-1][1][k.strip()] = v.strip()
    return out


def close(a, b):
    return np.abs(a - b) <= TOL + TOL * np.abs(b)


def main():
    cfg, weights, d = sys.argv[1:4]
    secs = sections(cfg)
    net_s, layers = secs[0][1], secs[1:]
    W, H, C = int(net_s["width"]), int(net_s["height"]), int(net_s["channels"])
    x = np.fromfile(f"{d}/input.bin", dtype=np.float32).reshape(1, C, H, W)
    net = cv2.dnn.readNetFromDarknet(cfg, weights)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.enableFusion(False)  # every layer's own output, not fused ones
    names = list(net.getLayerNames())
    chosen = {}
    acts = ("leaky_", "mish_", "swish_", "logistic_", "relu_", "tanh_")
    for i in range(len(layers)):
        mine = [k for k, n in enumerate(names) if re.search(r"_%d$" % i, n) and not n.startswith(acts)]
        if mine:
            k = mine[-1]
            # OpenCV names a convolution's activation after the next layer's index
            if k + 1 < len(names) and names[k + 1].startswith(acts):
                k += 1
            chosen[i] = names[k]
    net.setInput(x)
    outs = net.forward([chosen[i] for i in sorted(chosen)])
    failed, compared = 0, 0
    shapes = {}  # Darknet layer -> (c, h, w) of its output, followed through the cfg
    c, h, w = C, H, W
    for i, (kind, keys) in enumerate(layers):
        if kind == "[convolutional]":
            s, st, f = int(keys.get("size", 1)), int(keys.get("stride", 1)), int(keys["filters"])
            pad = s // 2 if int(keys.get("pad", 0)) else 0
            c, h, w = f, (h + 2 * pad - s) // st + 1, (w + 2 * pad - s) // st + 1
        elif kind == "[maxpool]":
            st = int(keys.get("stride", 1))
            s = int(keys.get("size", st))
            pad = int(keys.get("padding", s - 1))
            h, w = (h + pad - s) // st + 1, (w + pad - s) // st + 1
        elif kind == "[upsample]":
            st = int(keys.get("stride", 2))
            h, w = h * st, w * st
        elif kind == "[route]":
            ids = [int(v) for v in keys["layers"].split(",")]
            ids = [v if v >= 0 else i + v for v in ids]
            g = int(keys.get("groups", 1))
            c = sum(shapes[j][0] // g for j in ids)
            h, w = shapes[ids[0]][1], shapes[ids[0]][2]
        shapes[i] = (c, h, w)
        ours = np.fromfile(f"{d}/layer_{i}.bin", dtype=np.float32)
        if i not in chosen:
            continue
        theirs = outs[sorted(chosen).index(i)]
        if kind == "[yolo]":
            mask = [int(v) for v in keys["mask"].split(",")]
            anchors = [float(v) for v in keys["anchors"].split(",")]
            ncls = int(keys["classes"])
            new_coords = int(keys.get("new_coords", 0))
            na, cells = len(mask), h * w
            o = ours.reshape(na, 5 + ncls, h, w)
            rows = np.zeros((h, w, na, 5 + ncls), dtype=np.float64)
            for a in range(na):
                for yy in range(h):
                    for xx in range(w):
                        e = o[a, :, yy, xx].astype(np.float64)
                        rows[yy, xx, a, 0] = (xx + e[0]) / w
                        rows[yy, xx, a, 1] = (yy + e[1]) / h
                        if new_coords:  # AlexeyAB's: w = (2 t)^2 x anchor, t already logistic
                            rows[yy, xx, a, 2] = e[2] * e[2] * 4 * anchors[2 * mask[a]] / W
                            rows[yy, xx, a, 3] = e[3] * e[3] * 4 * anchors[2 * mask[a] + 1] / H
                        else:
                            rows[yy, xx, a, 2] = math.exp(e[2]) * anchors[2 * mask[a]] / W
                            rows[yy, xx, a, 3] = math.exp(e[3]) * anchors[2 * mask[a] + 1] / H
                        rows[yy, xx, a, 4] = e[4]
                        rows[yy, xx, a, 5:] = e[4] * e[5:]
            rows = rows.reshape(cells * na, 5 + ncls)
            t = theirs.reshape(cells * na, 5 + ncls).astype(np.float64)
            # under new_coords OpenCV 4.6 reports another value in the objectness
            # column (its class scores are still objectness x class, as ours): the
            # boxes and the class scores are compared, the objectness is held against
            # a hand computation in tests/test_yolo.c (test_new_coords)
            cols = 4 if new_coords else 5
            ok = close(t[:, :cols], rows[:, :cols]).all()
            # OpenCV zeroes class scores under its threshold: compare the others
            kept = t[:, 5:] != 0
            ok = ok and close(t[:, 5:][kept], rows[:, 5:][kept]).all()
            what = f"{cells * na} boxes, {int(kept.sum())} class scores" + (" (new_coords: objectness not compared)" if new_coords else "")
        else:
            t = theirs.reshape(-1)
            ok = t.size == ours.size and close(t, ours).all()
            if t.size == ours.size:
                what = f"{t.size} values, max |diff| {np.abs(t - ours).max():.2g}"
            else:
                what = f"{t.size} values, ours {ours.size}"
        compared += 1
        print(f"layer {i} {kind} as {chosen[i]}: {what}: {'ok' if ok else 'DIFFERS'}")
        failed += not ok
    print(f"{compared} layers compared, {failed} differ")
    if compared < len(layers) // 2:
        print("too few layers compared")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
