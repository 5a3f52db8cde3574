#!/usr/bin/python3
"""cv_forward.py: OpenCV's side of bench/bench_infer (inference against OpenCV's DNN).

Loads a Darknet cfg and weights with cv2.dnn.readNetFromDarknet, on THREADS
threads, and times one forward of BATCH random images per request, so that
bench/bench_infer can interleave it with its own network_predict:

    bench/cv_forward.py CFG WEIGHTS BATCH THREADS

prints "ready VERSION" once built and warmed up (two forwards), then for each line
"forward" on stdin runs one forward and prints its wall and CPU seconds (the
process's, all threads); ends at "quit" or at the end of the input. Only the
forward is timed (the input blob is made once).
"""
import sys
import time

import numpy as np
import cv2


def main():
    if len(sys.argv) != 5:
        sys.stderr.write("usage: cv_forward.py CFG WEIGHTS BATCH THREADS\n")
        sys.exit(2)
    cfg, weights, batch, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    cv2.setNumThreads(threads)
    net = cv2.dnn.readNetFromDarknet(cfg, weights)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    w = h = None
    with open(cfg) as f:
        for line in f:
            line = line.replace(" ", "").strip()
            if line.startswith("width="):
                w = int(line[6:])
            elif line.startswith("height="):
                h = int(line[7:])
    if not w or not h:
        sys.stderr.write("cv_forward: %s: no width= or height= in [net]\n" % cfg)
        sys.exit(1)
    rng = np.random.default_rng(1)
    blob = rng.random((batch, 3, h, w), dtype=np.float32)
    names = net.getUnconnectedOutLayersNames()
    net.setInput(blob)
    for _ in range(2):
        net.forward(names)
    print("ready %s" % cv2.__version__, flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        net.setInput(blob)
        t0, c0 = time.perf_counter(), time.process_time()
        net.forward(names)
        print("%.6f %.6f" % (time.perf_counter() - t0, time.process_time() - c0), flush=True)


main()
