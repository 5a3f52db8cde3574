#!/usr/bin/env python3
"""Compares the detections two Darknets print for one image.

usage: scripts/compare_detections.py OURS.txt THEIRS.txt IMAGE_W IMAGE_H
OURS.txt: ./darknet detector test's lines, "name: 44% at x=0.879 y=0.075 w=0.241 h=0.150"
(box centre and size relative to the image, clipped to it). THEIRS.txt: AlexeyAB's
`detector test ... -ext_output` lines, "name: 44%  (left_x: 93 top_y: -8 width: 32
height: 30)" (pixels, rounded, not clipped). Each of ours must match one of theirs of
the same class with the score within 1 point and the clipped box within 1.5 pixels;
prints the counts and the largest differences, exits 1 when any box is unmatched."""
import re
import sys


def main():
    ours_path, theirs_path, iw, ih = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    ours, theirs = [], []
    for line in open(ours_path):
        m = re.match(r"(\S+): (\d+)% at x=(\S+) y=(\S+) w=(\S+) h=(\S+)", line)
        if m:
            x, y, w, h = (float(v) for v in m.groups()[2:])
            ours.append((m[1], int(m[2]), ((x - w / 2) * iw, (y - h / 2) * ih, (x + w / 2) * iw, (y + h / 2) * ih)))
    for line in open(theirs_path):
        m = re.match(r"(\S+): (\d+)%\s+\(left_x:\s*(-?\d+)\s+top_y:\s*(-?\d+)\s+width:\s*(\d+)\s+height:\s*(\d+)", line)
        if m:
            l, t, w, h = (float(v) for v in m.groups()[2:])
            box = (max(l, 0), max(t, 0), min(l + w, iw), min(t + h, ih))
            if box[2] > box[0] and box[3] > box[1]:
                theirs.append((m[1], int(m[2]), box))
    left = list(theirs)
    unmatched, dp, db = 0, 0, 0.0
    for name, p, box in ours:
        cands = [(max(abs(a - b) for a, b in zip(box, tb)), abs(p - tp), k)
                 for k, (tn, tp, tb) in enumerate(left) if tn == name and abs(p - tp) <= 1]
        best = min(cands, default=None)
        if best is None or best[0] > 1.5:
            unmatched += 1
            print(f"unmatched: {name} {p}% {tuple(round(v, 1) for v in box)}")
            continue
        db, dp = max(db, best[0]), max(dp, best[1])
        left.pop(best[2])
    print(f"ours {len(ours)}, theirs {len(theirs)} (inside the image), matched {len(ours) - unmatched}, "
          f"theirs left over {len(left)}; largest differences: score {dp} points, box {db:.2f} pixels")
    return 1 if unmatched or left else 0


if __name__ == "__main__":
    sys.exit(main())
