"""Winograd's F(2x2, 3x3) and F(4x4, 3x3) in float against the direct convolution,
each against a sum in double: the largest error relative to the largest output
(the table in docs/performance.md, Winograd, F(4x4, 3x3)). Needs python3-torch
(scripts/install-deps.sh bench).

    python3 bench/winograd_error.py
"""
import torch

F23 = (  # B', G, A' of F(2x2, 3x3)
    [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
    [[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]],
    [[1, 1, 1, 0], [0, 1, -1, -1]],
)
F43 = (  # B', G, A' of F(4x4, 3x3), points 0, 1, -1, 2, -2
    [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
     [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
    [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
     [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
    [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
)


def winograd(x, w, mats):
    """x (c, h, w), h and w multiples of the tile; w (f, c, 3, 3); pad 1; float."""
    bt, g, at = (torch.tensor(m, dtype=torch.float32) for m in mats)
    m, a = at.shape
    c, h, wd = x.shape
    xp = torch.nn.functional.pad(x, (1, a - m - 1, 1, a - m - 1))
    u = torch.einsum('ij,fcjk,lk->fcil', g, w, g)
    out = torch.zeros(w.shape[0], h, wd)
    for ty in range(h // m):
        for tx in range(wd // m):
            d = xp[:, ty * m:ty * m + a, tx * m:tx * m + a]
            v = torch.einsum('ij,cjk,lk->cil', bt, d, bt)
            y = torch.einsum('fcij,cij->fij', u, v)
            out[:, ty * m:ty * m + m, tx * m:tx * m + m] = torch.einsum('ij,fjk,lk->fil', at, y, at)
    return out


def main():
    torch.manual_seed(0)
    print("| layer | direct sum | F(2x2, 3x3) | F(4x4, 3x3) |")
    print("|---|---|---|---|")
    for c, f in [(192, 128), (128, 256), (32, 64)]:
        x = torch.randn(c, 16, 16)
        w = torch.randn(f, c, 3, 3) * 0.05
        ref = torch.nn.functional.conv2d(x.double()[None], w.double(), padding=1)[0]
        big = ref.abs().max().item()
        direct = torch.nn.functional.conv2d(x[None], w, padding=1)[0]
        errs = [(y.double() - ref).abs().max().item() / big
                for y in (direct, winograd(x, w, F23), winograd(x, w, F43))]
        print("| %d to %d channels | %.1e | %.1e | %.1e |" % (c, f, *errs))


if __name__ == "__main__":
    main()
