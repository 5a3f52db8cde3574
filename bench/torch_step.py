#!/usr/bin/python3
"""torch_step.py: the PyTorch anchor of `make bench`.

Rebuilds a Darknet cfg in PyTorch and times its training step (forward, backward,
SGD step with the cfg's momentum and decay) on random input, one step per request,
so that bench/bench can interleave it with Darknet's step on the same cfg:

    bench/torch_step.py CFG BATCH WIDTH HEIGHT THREADS

prints "ready PARAMETERS VERSION" once built, then for each line "step" on stdin runs one
step and prints its seconds; ends at "quit" or end of input.

Sections: [net], [convolutional] (batch_normalize, filters, size, stride, pad,
activation leaky or linear), [maxpool] (size, stride, Darknet's padding of size-1,
so size 2 stride 1 keeps the size), [upsample], [route], [shortcut] (linear), and
[yolo] / [region] / [detection], each replaced by a loss of the same shape and cost
as Darknet's: the logistic of the entries Darknet squashes, then a squared error.
Another section is an error naming the cfg, its line and the section.
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def fail(msg):
    sys.stderr.write("torch_step: %s\n" % msg)
    sys.exit(1)


def read_cfg(path):
    sections = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = "".join(line.split())
            if not line or line[0] in "#;":
                continue
            if line[0] == "[":
                sections.append((line, lineno, {}))
            elif "=" in line and sections:
                k, v = line.split("=", 1)
                sections[-1][2].setdefault(k, v)
            else:
                fail("%s:%d: cannot read '%s'" % (path, lineno, line))
    return sections


def leaky(x):
    return F.leaky_relu(x, 0.1)


class Net(nn.Module):
    """Darknet's layers in order; forward returns the loss."""

    def __init__(self, path, c, h, w):
        super().__init__()
        self.steps = []
        self.mods = nn.ModuleList()
        shapes = []
        for kind, line, o in read_cfg(path)[1:]:
            where = "%s:%d: %s" % (path, line, kind)
            if kind == "[convolutional]":
                n, size = int(o.get("filters", 1)), int(o.get("size", 1))
                stride, pad = int(o.get("stride", 1)), int(o.get("pad", 0))
                padding = size // 2 if pad else int(o.get("padding", 0))
                bn = int(o.get("batch_normalize", 0))
                act = o.get("activation", "logistic")
                if act not in ("leaky", "linear"):
                    fail("%s: activation %s is not rebuilt" % (where, act))
                conv = nn.Conv2d(c, n, size, stride, padding, bias=not bn)
                self.mods.append(conv)
                norm = nn.BatchNorm2d(n, eps=1e-6) if bn else None
                if norm is not None:
                    self.mods.append(norm)
                self.steps.append(("conv", conv, norm, act == "leaky"))
                c, h, w = n, (h + 2 * padding - size) // stride + 1, (w + 2 * padding - size) // stride + 1
            elif kind == "[maxpool]":
                size = int(o.get("size", 1))
                stride = int(o.get("stride", size))
                padding = int(o.get("padding", size - 1))
                self.steps.append(("maxpool", size, stride, padding))
                h, w = (h + padding - size) // stride + 1, (w + padding - size) // stride + 1
            elif kind == "[upsample]":
                s = int(o.get("stride", 2))
                self.steps.append(("upsample", s))
                h, w = h * s, w * s
            elif kind == "[route]":
                idx = [int(v) for v in o["layers"].split(",")]
                idx = [len(shapes) + i if i < 0 else i for i in idx]
                self.steps.append(("route", idx))
                c = sum(shapes[i][0] for i in idx)
                h, w = shapes[idx[0]][1], shapes[idx[0]][2]
            elif kind == "[shortcut]":
                i = int(o["from"])
                i = len(shapes) + i if i < 0 else i
                if o.get("activation", "linear") != "linear":
                    fail("%s: activation is not rebuilt" % where)
                self.steps.append(("shortcut", i))
            elif kind in ("[yolo]", "[region]", "[detection]"):
                num = len(o.get("mask", "").split(",")) if "mask" in o else int(o.get("num", 1))
                classes = int(o.get("classes", 20))
                self.steps.append(("loss", num, 5 + classes))
            else:
                fail("%s: not rebuilt in PyTorch" % where)
            shapes.append((c, h, w))

    def forward(self, x):
        outs, loss = [], 0
        for s in self.steps:
            if s[0] == "conv":
                x = s[1](x)
                if s[2] is not None:
                    x = s[2](x)
                if s[3]:
                    x = leaky(x)
            elif s[0] == "maxpool":
                size, stride, padding = s[1:]
                if padding:
                    x = F.pad(x, (padding // 2, padding - padding // 2, padding // 2, padding - padding // 2),
                              value=float("-inf"))
                x = F.max_pool2d(x, size, stride)
            elif s[0] == "upsample":
                x = F.interpolate(x, scale_factor=s[1], mode="nearest")
            elif s[0] == "route":
                x = torch.cat([outs[i] for i in s[1]], 1) if len(s[1]) > 1 else outs[s[1][0]]
            elif s[0] == "shortcut":
                x = x + outs[s[1]]
            elif s[0] == "loss":
                num, entries = s[1], s[2]
                b, _, h, w = x.shape
                v = x.view(b, num, entries, h, w)
                # Darknet squashes x, y, objectness and the classes; w and h stay linear
                y = torch.cat([torch.sigmoid(v[:, :, 0:2]), v[:, :, 2:4], torch.sigmoid(v[:, :, 4:])], 2)
                loss = loss + (y * y).sum()
                x = x  # the next layer sees the raw output, as in Darknet
            outs.append(x)
        return loss


def main():
    if len(sys.argv) != 6:
        fail("usage: torch_step.py CFG BATCH WIDTH HEIGHT THREADS")
    path = sys.argv[1]
    batch, width, height, threads = (int(v) for v in sys.argv[2:6])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net_opts = read_cfg(path)[0][2]
    c = int(net_opts.get("channels", 3))
    lr = float(net_opts.get("learning_rate", 0.001))
    net = Net(path, c, height, width)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=float(net_opts.get("momentum", 0.9)),
                          weight_decay=float(net_opts.get("decay", 0.0005)))
    x = torch.rand(batch, c, height, width)
    print("ready %d %s" % (sum(p.numel() for p in net.parameters()), torch.__version__), flush=True)
    for line in sys.stdin:
        if line.strip() != "step":
            break
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = net(x)
        loss.backward()
        opt.step()
        print("%.6f %.6f" % (time.perf_counter() - t0, time.process_time() - c0), flush=True)


if __name__ == "__main__":
    main()
