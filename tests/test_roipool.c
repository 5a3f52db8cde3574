/* test_roipool.c: RoIAlign and RoI max pooling (src/core/roi_align.c) against oracles
 * written a second, simpler way, on random maps and RoIs from explicit seeds.
 *
 * RoIAlign oracle: in double, every sample point of every bin from the formula of
 * roi_align.h, each interpolated by weighting every pixel of the map with the tent
 * function max(0, 1 - |dy|) * max(0, 1 - |dx|) (bilinear interpolation written as a sum
 * over the whole map, no neighbour indexing). Max pooling oracle: every pixel of the
 * channel is tested for membership in each bin with integer inequalities
 * (py * H < (r + 1) * size and r * size < (py + 1) * H for row r of the RoI), the
 * maximum and its first row-major position kept.
 *
 * Tolerances: maps hold values in [-1, 1). The fast RoIAlign works in float: a sample
 * position is off by a few ulps of the coordinates (< 1e-5 for coordinates below 512),
 * bilinear interpolation has slope <= 2 there, and a bin averages <= a few hundred
 * products of float weights, so |fast - oracle| <= 1e-4 is a bound with a margin of
 * about 5x, yet 100x below the size of any indexing or weighting mistake (a misplaced
 * sample moves a value by ~0.1). A sample point within 1e-4 of the margin's edge
 * (-1 or h, -1 or w), where a point stops counting, could fall on either side in float
 * and double; the oracle flags such bins and they are skipped (at most 1% of the bins,
 * asserted). Max pooling involves no arithmetic: values and arg-max are exact. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "oracle.h"
#include "roi_align.h"

#define ALIGN_TOL 1e-4
#define EDGE_EPS 1e-4

/* ---- oracles ---- */

static double tent(double d)
{
    d = fabs(d);
    return d < 1 ? 1 - d : 0;
}

/* One sample point by the definition; *edge set when it is within EDGE_EPS of the
 * margin's edge. */
static double oracle_point(const double *m, int h, int w, double y, double x, int *edge)
{
    if (fabs(y + 1) < EDGE_EPS || fabs(y - h) < EDGE_EPS || fabs(x + 1) < EDGE_EPS || fabs(x - w) < EDGE_EPS)
        *edge = 1;
    if (y < -1 || y > h || x < -1 || x > w) return 0;
    y = fmin(fmax(y, 0), h - 1);
    x = fmin(fmax(x, 0), w - 1);
    double s = 0;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) s += tent(y - i) * tent(x - j) * m[i * w + j];
    return s;
}

/* Points per bin along one axis, as roi_align.h defines it (ceilf of the float
 * quotient for sampling 0). */
static long oracle_grid(float a1, float a2, int size, int sampling)
{
    if (sampling > 0) return sampling;
    float g = ceilf((a2 - a1) / (float)size);
    return g > 0 ? (long)g : 0;
}

/* out (c, size, size) in double; edge (size, size) or NULL: bins with a point at the
 * margin's edge. */
static void oracle_align(const double *map, int c, int h, int w, const float roi[4], int size, int sampling,
                         double *out, unsigned char *edge)
{
    long gy = oracle_grid(roi[1], roi[3], size, sampling), gx = oracle_grid(roi[0], roi[2], size, sampling);
    double bh = ((double)roi[3] - roi[1]) / size, bw = ((double)roi[2] - roi[0]) / size;
    for (int ch = 0; ch < c; ch++)
        for (int py = 0; py < size; py++)
            for (int px = 0; px < size; px++) {
                double s = 0;
                int e = 0;
                for (long iy = 0; iy < gy; iy++)
                    for (long ix = 0; ix < gx; ix++) {
                        double y = roi[1] - 0.5 + py * bh + (iy + 0.5) * bh / gy;
                        double x = roi[0] - 0.5 + px * bw + (ix + 0.5) * bw / gx;
                        s += oracle_point(map + (size_t)ch * h * w, h, w, y, x, &e);
                    }
                out[((size_t)ch * size + py) * size + px] = gy * gx > 0 ? s / ((double)gy * gx) : 0;
                if (edge && ch == 0) edge[py * size + px] = (unsigned char)e;
            }
}

/* out and argmax (c, size, size) by scanning every pixel of each channel per bin. */
static void oracle_max(const float *map, int c, int h, int w, const float roi[4], int size, float *out,
                       int *argmax)
{
    long long sx = llround(roi[0]), sy = llround(roi[1]);
    long long W = llround(roi[2]) - sx + 1, H = llround(roi[3]) - sy + 1;
    if (W < 1) W = 1;
    if (H < 1) H = 1;
    for (int ch = 0; ch < c; ch++)
        for (int py = 0; py < size; py++)
            for (int px = 0; px < size; px++) {
                int best = -1;
                for (int i = 0; i < h * w; i++) {
                    long long r = i / w - sy, q = i % w - sx;
                    int in = py * H < (r + 1) * size && r * size < (py + 1) * H && px * W < (q + 1) * size &&
                             q * size < (px + 1) * W;
                    if (in && (best < 0 || map[ch * h * w + i] > map[ch * h * w + best])) best = i;
                }
                size_t o = ((size_t)ch * size + py) * size + px;
                out[o] = best < 0 ? 0 : map[ch * h * w + best];
                argmax[o] = best < 0 ? -1 : ch * h * w + best;
            }
}

/* ---- random cases ---- */

static float rng_range(float a, float b) { return a + (b - a) * rng_unit(); }

/* One axis of a RoI on a map of dim pixels, of a random kind: inside, crossing a
 * border, beyond the margin, within the margin, smaller than a cell, zero or negative
 * extent, far larger than the map, or on a quarter-pixel grid (rounding ties). */
static void random_axis(int dim, float *a1, float *a2, int *kind_out)
{
    int kind = (int)(rng_u32() % 9);
    float a, b;
    switch (kind) {
    case 0: a = rng_range(0, dim); b = a + rng_range(0.5f, dim - a + 0.5f); break;
    case 1: a = rng_range(-3, dim + 1); b = a + rng_range(0, dim + 4); break;
    case 2: a = rng_u32() % 2 ? rng_range(dim + 1.6f, dim + 5) : rng_range(-9, -5);
            b = a + rng_range(0, 3.4f); break;
    case 3: a = rng_u32() % 2 ? rng_range(dim, dim + 1.4f) : rng_range(-2, -0.6f); b = a + rng_range(0, 1); break;
    case 4: a = rng_range(-0.5f, dim + 0.5f); b = a + rng_range(0, 1); break;
    case 5: a = rng_range(0, dim); b = rng_u32() % 2 ? a : a - rng_range(0, 2); break;
    case 6: a = rng_range(-2 * dim - 6, 0); b = rng_range(dim, 3 * dim + 6); break;
    default: a = (float)((int)(rng_u32() % (4 * dim + 8)) - 4) / 4; b = a + (float)(rng_u32() % (4 * dim + 4)) / 4; break;
    }
    *a1 = a;
    *a2 = b;
    if (kind_out) *kind_out = kind;
}

static void random_roi(int h, int w, float roi[4])
{
    random_axis(w, &roi[0], &roi[2], NULL);
    random_axis(h, &roi[1], &roi[3], NULL);
}

/* Map values in [-1, 1), or for ties on a coarse grid of 4 levels. */
static void random_map(float *m, double *md, long n, int coarse)
{
    for (long i = 0; i < n; i++) {
        m[i] = coarse ? (float)(rng_u32() % 4) / 4 - 0.5f : rng_unit() * 2 - 1;
        if (md) md[i] = m[i];
    }
}

typedef struct {
    int c, h, w;
} shape;

/* Maps of every awkward kind: one pixel, one row, one column, c = 1, non-square, and
 * channel counts that are and are not multiples of four (the fast path takes four). */
static const shape shapes[] = {{3, 9, 13}, {1, 1, 1}, {2, 1, 7}, {4, 6, 1}, {1, 5, 5},
                               {5, 16, 11}, {2, 2, 3}, {1, 26, 26}, {8, 7, 9}};
static const int sizes[] = {1, 2, 3, 7};
#define NSHAPES ((int)(sizeof(shapes) / sizeof(shapes[0])))
#define NSIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

/* ---- RoIAlign ---- */

/* Values by hand: on [[1, 2], [3, 4]] the whole-map RoI at size 1 with one point
 * samples the centre (2.5); at size 2 each bin's point lands on a pixel centre. */
static void test_align_known(void **state)
{
    (void)state;
    const float m[4] = {1, 2, 3, 4}, roi[4] = {0, 0, 2, 2};
    float o[4];
    roi_align_forward(m, 1, 2, 2, roi, 1, 1, o);
    assert_float_equal(o[0], 2.5f, 1e-6);
    roi_align_forward(m, 1, 2, 2, roi, 2, 1, o);
    for (int i = 0; i < 4; i++) assert_float_equal(o[i], m[i], 1e-6);
    /* adaptive: extent 2 at size 1 gives 2 x 2 points at 0.5 and 1.5 -> 0, 1 after the
     * shift: the four pixels' mean */
    roi_align_forward(m, 1, 2, 2, roi, 1, 0, o);
    assert_float_equal(o[0], 2.5f, 1e-6);
    /* a point in the margin (x = -0.75) takes the border column, one beyond it is 0 */
    const float r2[4] = {-0.5f, 0.5f, -0.0f, 1.5f}, r3[4] = {-2, 0.5f, -1, 1.5f};
    roi_align_forward(m, 1, 2, 2, r2, 1, 1, o);
    assert_float_equal(o[0], 2.0f, 1e-6);
    roi_align_forward(m, 1, 2, 2, r3, 1, 1, o);
    assert_true(o[0] == 0);
    /* points exactly on the margin's edges (x = -1, x = w, y = h) still count */
    const float r4[4] = {-1, 0.5f, 0, 1.5f}, r5[4] = {2, 0.5f, 3, 1.5f}, r6[4] = {0.5f, 2, 1.5f, 3};
    roi_align_forward(m, 1, 2, 2, r4, 1, 1, o);
    assert_float_equal(o[0], 2.0f, 1e-6);
    roi_align_forward(m, 1, 2, 2, r5, 1, 1, o);
    assert_float_equal(o[0], 3.0f, 1e-6);
    roi_align_forward(m, 1, 2, 2, r6, 1, 1, o);
    assert_float_equal(o[0], 3.5f, 1e-6);
}

/* Forward against the oracle over every shape, size, sampling 0..3 and random RoIs. */
static void test_align_forward(void **state)
{
    (void)state;
    rng_seed(101);
    long bins = 0, skipped = 0, failures = 0;
    for (int si = 0; si < NSHAPES; si++) {
        shape s = shapes[si];
        long n = (long)s.c * s.h * s.w;
        float *m = malloc(n * sizeof(float));
        double *md = malloc(n * sizeof(double));
        for (int zi = 0; zi < NSIZES; zi++) {
            int size = sizes[zi];
            long no = (long)s.c * size * size;
            float *o = malloc(no * sizeof(float));
            double *want = malloc(no * sizeof(double));
            unsigned char *edge = malloc(size * size);
            for (int sampling = 0; sampling <= 3; sampling++)
                for (int t = 0; t < 12; t++) {
                    float roi[4];
                    random_map(m, md, n, 0);
                    random_roi(s.h, s.w, roi);
                    roi_align_forward(m, s.c, s.h, s.w, roi, size, sampling, o);
                    oracle_align(md, s.c, s.h, s.w, roi, size, sampling, want, edge);
                    for (long i = 0; i < no; i++) {
                        int b = (int)(i % (size * size));
                        if (i < size * size) bins++;
                        if (edge[b]) {
                            skipped += i < size * size;
                            continue;
                        }
                        if (fabs(o[i] - want[i]) > ALIGN_TOL && failures++ < 10)
                            print_error("align c=%d h=%d w=%d size=%d sampling=%d roi=(%.9g %.9g %.9g %.9g) "
                                        "out[%ld] = %.9g, oracle %.9g\n",
                                        s.c, s.h, s.w, size, sampling, roi[0], roi[1], roi[2], roi[3], i,
                                        o[i], want[i]);
                    }
                }
            free(o);
            free(want);
            free(edge);
        }
        free(m);
        free(md);
    }
    print_message("align forward: %ld bins, %ld skipped at the margin's edge\n", bins, skipped);
    assert_int_equal(failures, 0);
    assert_true(skipped * 100 <= bins);
}

/* RoIs far outside the map, inside the margin only, and with non-finite corners. */
static void test_align_outside(void **state)
{
    (void)state;
    rng_seed(102);
    float m[3 * 5 * 6], o[3 * 7 * 7];
    random_map(m, NULL, 3 * 5 * 6, 0);
    const float rois[][4] = {{6.6f, 0, 9, 5}, {0, 5.6f, 6, 8}, {-9, -9, -1.6f, -1.6f}, {-3, 0, -1.51f, 5},
                             {NAN, 0, 3, 3}, {0, 0, INFINITY, 3}, {-3e38f, -3e38f, 3e38f, 3e38f}};
    for (int k = 0; k < (int)(sizeof(rois) / sizeof(rois[0])); k++)
        for (int sampling = 0; sampling <= 2; sampling++) {
            for (int i = 0; i < 3 * 7 * 7; i++) o[i] = 99;
            roi_align_forward(m, 3, 5, 6, rois[k], 7, sampling, o);
            for (int i = 0; i < 3 * 7 * 7; i++)
                if (!(o[i] == 0)) fail_msg("roi %d sampling %d: out[%d] = %g, want 0", k, sampling, i, o[i]);
        }
}

/* Adaptive sampling of RoIs far larger than the map (hundreds of points per bin, only
 * the few near the map computed by the fast path) against the oracle. */
static void test_align_adaptive_large(void **state)
{
    (void)state;
    rng_seed(103);
    const int c = 2, h = 5, w = 6;
    double md[2 * 5 * 6], want[2 * 3 * 3];
    float m[2 * 5 * 6], o[2 * 3 * 3];
    unsigned char edge[9];
    for (int t = 0; t < 12; t++) {
        int size = 1 + t % 3;
        float roi[4] = {rng_range(-400, 0), rng_range(-300, 1), rng_range(w, 350), rng_range(h - 1, 420)};
        random_map(m, md, c * h * w, 0);
        roi_align_forward(m, c, h, w, roi, size, 0, o);
        oracle_align(md, c, h, w, roi, size, 0, want, edge);
        for (int i = 0; i < c * size * size; i++)
            if (!edge[i % (size * size)] && fabs(o[i] - want[i]) > ALIGN_TOL)
                fail_msg("roi (%g %g %g %g) size %d: out[%d] = %.9g, oracle %.9g", roi[0], roi[1], roi[2],
                         roi[3], size, i, o[i], want[i]);
    }
}

/* Fixed sampling denser than the map (40 x 40 points per bin on a 5 x 6 map): every
 * point counts, none may be skipped as far from the map. */
static void test_align_dense_sampling(void **state)
{
    (void)state;
    rng_seed(106);
    const int c = 2, h = 5, w = 6;
    double md[2 * 5 * 6], want[2 * 3 * 3];
    float m[2 * 5 * 6], o[2 * 3 * 3], d[2 * 5 * 6];
    unsigned char edge[9];
    for (int t = 0; t < 12; t++) {
        int size = 1 + t % 3, sampling = t < 6 ? 40 : 25;
        float roi[4];
        random_roi(h, w, roi);
        random_map(m, md, c * h * w, 0);
        roi_align_forward(m, c, h, w, roi, size, sampling, o);
        oracle_align(md, c, h, w, roi, size, sampling, want, edge);
        for (int i = 0; i < c * size * size; i++)
            if (!edge[i % (size * size)] && fabs(o[i] - want[i]) > ALIGN_TOL)
                fail_msg("roi (%g %g %g %g) size %d sampling %d: out[%d] = %.9g, oracle %.9g", roi[0], roi[1],
                         roi[2], roi[3], size, sampling, i, o[i], want[i]);
        /* and the backward stays its adjoint */
        double a = 0, b = 0, scale = 0;
        memset(d, 0, sizeof(d));
        roi_align_backward(o, c, h, w, roi, size, sampling, d);
        for (int i = 0; i < c * size * size; i++) a += (double)o[i] * o[i], scale += (double)o[i] * o[i];
        for (int i = 0; i < c * h * w; i++) b += (double)m[i] * d[i], scale += fabs((double)m[i] * d[i]);
        if (fabs(a - b) > 1e-5 * (scale + 1e-30)) fail_msg("adjoint, sampling %d: %.9g vs %.9g", sampling, a, b);
    }
}

/* Backward by finite differences of L(x) = <oracle_align(x), g>, g random: L is
 * linear, so a central difference is the exact coefficient up to double rounding.
 * Tolerance 1e-5 * (1 + |want|): the fast backward sums at most size^2 * 4 * points
 * float products of magnitude <= 1. dmap starts non-zero: the backward adds. */
static void test_align_backward_fd(void **state)
{
    (void)state;
    rng_seed(104);
    const shape fs[] = {{2, 5, 6}, {1, 1, 1}, {1, 3, 1}, {2, 4, 4}, {4, 5, 6}};
    for (int si = 0; si < 5; si++) {
        shape s = fs[si];
        int n = s.c * s.h * s.w;
        for (int size = 1; size <= 3; size++)
            for (int sampling = 0; sampling <= 2; sampling++)
                for (int t = 0; t < 4; t++) {
                    float roi[4], g[4 * 9], base[4 * 5 * 6], d[4 * 5 * 6];
                    double md[4 * 5 * 6], gd[4 * 9], op[4 * 9], om[4 * 9];
                    unsigned char edge[9];
                    random_roi(s.h, s.w, roi);
                    random_map(g, gd, s.c * size * size, 0);
                    random_map(base, md, n, 0);
                    memcpy(d, base, sizeof(float) * n);
                    roi_align_backward(g, s.c, s.h, s.w, roi, size, sampling, d);
                    oracle_align(md, s.c, s.h, s.w, roi, size, sampling, op, edge);
                    int any_edge = 0;
                    for (int b = 0; b < size * size; b++) any_edge |= edge[b];
                    if (any_edge) continue;
                    for (int i = 0; i < n; i++) {
                        const double eps = 0.25;
                        double keep = md[i], lp = 0, lm = 0;
                        md[i] = keep + eps;
                        oracle_align(md, s.c, s.h, s.w, roi, size, sampling, op, NULL);
                        md[i] = keep - eps;
                        oracle_align(md, s.c, s.h, s.w, roi, size, sampling, om, NULL);
                        md[i] = keep;
                        for (int k = 0; k < s.c * size * size; k++) lp += op[k] * gd[k], lm += om[k] * gd[k];
                        double want = (lp - lm) / (2 * eps), got = (double)d[i] - base[i];
                        if (fabs(got - want) > 1e-5 * (1 + fabs(want)))
                            fail_msg("backward c=%d h=%d w=%d size=%d sampling=%d roi=(%.9g %.9g %.9g %.9g) "
                                     "dmap[%d] += %.9g, finite difference %.9g",
                                     s.c, s.h, s.w, size, sampling, roi[0], roi[1], roi[2], roi[3], i, got, want);
                    }
                }
    }
}

/* The adjoint identity <align(x), g> == <x, align_backward(g)> on every shape, size
 * and sampling, both sides from the fast code, summed in double. Tolerance 1e-5 of the
 * sum of |terms| (float weights and float sums of a few hundred terms). */
static void test_align_adjoint(void **state)
{
    (void)state;
    rng_seed(105);
    for (int si = 0; si < NSHAPES; si++) {
        shape s = shapes[si];
        long n = (long)s.c * s.h * s.w;
        float *x = malloc(n * sizeof(float)), *dx = malloc(n * sizeof(float));
        for (int zi = 0; zi < NSIZES; zi++) {
            int size = sizes[zi];
            long no = (long)s.c * size * size;
            float *o = malloc(no * sizeof(float)), *g = malloc(no * sizeof(float));
            for (int sampling = 0; sampling <= 3; sampling++)
                for (int t = 0; t < 20; t++) {
                    float roi[4];
                    random_roi(s.h, s.w, roi);
                    random_map(x, NULL, n, 0);
                    random_map(g, NULL, no, 0);
                    memset(dx, 0, n * sizeof(float));
                    roi_align_forward(x, s.c, s.h, s.w, roi, size, sampling, o);
                    roi_align_backward(g, s.c, s.h, s.w, roi, size, sampling, dx);
                    double a = 0, b = 0, scale = 0;
                    for (long i = 0; i < no; i++) a += (double)o[i] * g[i], scale += fabs((double)o[i] * g[i]);
                    for (long i = 0; i < n; i++) b += (double)x[i] * dx[i], scale += fabs((double)x[i] * dx[i]);
                    if (fabs(a - b) > 1e-5 * (scale + 1e-30))
                        fail_msg("adjoint c=%d h=%d w=%d size=%d sampling=%d roi=(%.9g %.9g %.9g %.9g): "
                                 "<align(x), g> = %.9g, <x, backward(g)> = %.9g",
                                 s.c, s.h, s.w, size, sampling, roi[0], roi[1], roi[2], roi[3], a, b);
                }
            free(o);
            free(g);
        }
        free(x);
        free(dx);
    }
}

/* The HWC path (roi_align_map_hwc, then roi_align_forward_hwc; roi_align_backward_hwc
 * and roi_align_map_chw) on one set of vectors (bits): the layout with its zero
 * padding, then on channel counts below, at and past the vector widths and the block
 * of 64 (1, 3, 13, 16, 17, 40, 64, 65, 130), random RoIs of every kind (partly
 * outside, beyond the margin, empty, inverted, far larger than the map) and a few
 * fixed ones: each forward output against the oracle and equal to the CHW path's to
 * the byte (the same float operations in the same order), nothing written past the
 * output; the backward of the same RoIs in turn into a non-zero map, taken to HWC and
 * back, equal to the CHW backward's to the byte with the padding still zero, and each
 * RoI's HWC pair adjoint. A map 150 wide takes the backward's spread in chunks of
 * columns. */
static void align_hwc_case(int bits)
{
    rng_seed(107);
    static const shape hshapes[] = {{1, 5, 7}, {3, 9, 13}, {13, 16, 16}, {16, 1, 9}, {17, 9, 1},
                                    {40, 6, 5}, {64, 16, 16}, {65, 6, 11}, {130, 7, 5}, {5, 3, 150}};
    static const int hsizes[] = {1, 2, 5, 7};
    const float fixed[][4] = {{-3, -2, 4, 5}, {10, 3, 30, 12}, {-9, -9, -1.6f, -1.6f}, {4, 4, 4, 6},
                              {5, 5, 2, 8}, {NAN, 0, 3, 3}, {-300, -200, 250, 400}, {0.25f, 0.75f, 2.75f, 1.25f}};
    long bins = 0, skipped = 0, failures = 0;
    for (int si = 0; si < (int)(sizeof(hshapes) / sizeof(hshapes[0])); si++) {
        shape s = hshapes[si];
        int cs = roi_align_hwc_channels(s.c);
        long n = (long)s.c * s.h * s.w, nh = (long)cs * s.h * s.w;
        assert_true(cs >= s.c && cs % 16 == 0 && cs - s.c < 16);
        float *m = malloc(n * sizeof(float)), *hwc = malloc(nh * sizeof(float));
        double *md = malloc(n * sizeof(double));
        random_map(m, md, n, 0);
        for (long i = 0; i < nh; i++) hwc[i] = NAN;
        roi_align_map_hwc(m, s.c, s.h, s.w, hwc);
        for (int y = 0; y < s.h; y++)
            for (int x = 0; x < s.w; x++)
                for (int k = 0; k < cs; k++) {
                    float got = hwc[((long)y * s.w + x) * cs + k];
                    float want = k < s.c ? m[((long)k * s.h + y) * s.w + x] : 0;
                    if (memcmp(&got, &want, sizeof(float)))
                        fail_msg("hwc c=%d h=%d w=%d: (%d, %d, %d) = %g, want %g", s.c, s.h, s.w, y, x, k, got, want);
                }
        for (int zi = 0; zi < 4; zi++) {
            int size = hsizes[zi];
            long no = (long)s.c * size * size;
            float *o = malloc((no + 16) * sizeof(float)), *ref = malloc(no * sizeof(float));
            double *want = malloc(no * sizeof(double));
            unsigned char *edge = malloc(size * size);
            float *g = malloc(no * sizeof(float)), *dm = malloc(n * sizeof(float));
            float *dref = malloc(n * sizeof(float)), *dh = malloc(nh * sizeof(float));
            random_map(dm, NULL, n, 0);
            memcpy(dref, dm, n * sizeof(float));
            roi_align_map_hwc(dm, s.c, s.h, s.w, dh);
            for (int sampling = 0; sampling <= 3; sampling++)
                for (int t = 0; t < 14; t++) {
                    float roi[4];
                    if (t < 8) memcpy(roi, fixed[t], sizeof(roi));
                    else random_roi(s.h, s.w, roi);
                    random_map(g, NULL, no, 0);
                    roi_align_backward(g, s.c, s.h, s.w, roi, size, sampling, dref);
                    roi_align_backward_hwc(g, s.c, s.h, s.w, roi, size, sampling, dh);
                    for (long i = 0; i < no + 16; i++) o[i] = 99;
                    roi_align_forward_hwc(hwc, s.c, s.h, s.w, roi, size, sampling, o);
                    if (t % 3 == 0) { /* <forward(x), g> = <x, backward(g)>, from a zero map */
                        float *dx = calloc(nh, sizeof(float));
                        roi_align_backward_hwc(g, s.c, s.h, s.w, roi, size, sampling, dx);
                        double a = 0, bb = 0, scale = 0;
                        for (long i = 0; i < no; i++) a += (double)o[i] * g[i], scale += fabs((double)o[i] * g[i]);
                        for (long i = 0; i < nh; i++)
                            bb += (double)hwc[i] * dx[i], scale += fabs((double)hwc[i] * dx[i]);
                        if (!(fabs(a - bb) <= 1e-5 * (scale + 1e-30)) && failures++ < 10)
                            print_error("hwc adjoint c=%d size=%d sampling=%d: %.9g vs %.9g\n", s.c, size,
                                        sampling, a, bb);
                        free(dx);
                    }
                    roi_align_forward(m, s.c, s.h, s.w, roi, size, sampling, ref);
                    oracle_align(md, s.c, s.h, s.w, roi, size, sampling, want, edge);
                    for (long i = no; i < no + 16; i++)
                        if (o[i] != 99) fail_msg("hwc c=%d size=%d: out[%ld] written past the end", s.c, size, i);
                    if (memcmp(o, ref, no * sizeof(float)))
                        for (long i = 0; i < no; i++)
                            if (memcmp(&o[i], &ref[i], sizeof(float)) && failures++ < 10)
                                print_error("hwc c=%d h=%d w=%d size=%d sampling=%d roi=(%.9g %.9g %.9g %.9g) "
                                            "out[%ld] = %.9g, CHW path %.9g\n",
                                            s.c, s.h, s.w, size, sampling, roi[0], roi[1], roi[2], roi[3], i, o[i],
                                            ref[i]);
                    for (long i = 0; i < no; i++) {
                        int b = (int)(i % (size * size));
                        if (i < size * size) bins++;
                        if (edge[b]) {
                            skipped += i < size * size;
                            continue;
                        }
                        int bad = isnan(roi[0]) ? !(o[i] == 0) : !(fabs(o[i] - want[i]) <= ALIGN_TOL);
                        if (bad && failures++ < 10)
                            print_error("hwc c=%d h=%d w=%d size=%d sampling=%d roi=(%.9g %.9g %.9g %.9g) "
                                        "out[%ld] = %.9g, oracle %.9g\n",
                                        s.c, s.h, s.w, size, sampling, roi[0], roi[1], roi[2], roi[3], i, o[i],
                                        want[i]);
                    }
                }
            for (long i = 0; i < nh; i++)
                if (i % cs >= s.c && dh[i] != 0 && failures++ < 10)
                    print_error("hwc backward c=%d size=%d: padding %ld = %g\n", s.c, size, i, dh[i]);
            roi_align_map_chw(dh, s.c, s.h, s.w, dm);
            if (memcmp(dm, dref, n * sizeof(float)))
                for (long i = 0; i < n; i++)
                    if (memcmp(&dm[i], &dref[i], sizeof(float)) && failures++ < 10)
                        print_error("hwc backward c=%d h=%d w=%d size=%d: dmap[%ld] = %.9g, CHW path %.9g\n", s.c,
                                    s.h, s.w, size, i, dm[i], dref[i]);
            free(o);
            free(ref);
            free(want);
            free(edge);
            free(g);
            free(dm);
            free(dref);
            free(dh);
        }
        free(m);
        free(md);
        free(hwc);
    }
    print_message("align hwc, %d-bit vectors: %ld bins, %ld skipped at the margin's edge\n", bits, bins, skipped);
    assert_int_equal(failures, 0);
    /* the fixed RoIs' whole-number corners put points on the margin's edge more often
     * than random ones do (those bins are still held to the CHW path's bytes) */
    assert_true(skipped * 20 <= bins);
}

/* align_hwc_case on each set of vectors the CPU runs (AVX-512, AVX2, SSE), then the
 * default; a width that is not one of them is refused. */
static void test_align_hwc(void **state)
{
    (void)state;
    static const int widths[] = {512, 256, 128};
    assert_int_equal(roi_align_hwc_select(64), -1);
    assert_int_equal(roi_align_hwc_select(-1), -1);
    assert_int_equal(roi_align_hwc_select(128), 0); /* every x86-64 CPU has SSE */
    for (int i = 0; i < 3; i++) {
        if (roi_align_hwc_select(widths[i]) != 0) {
            print_message("this CPU lacks %d-bit vectors: skipped\n", widths[i]);
            continue;
        }
        align_hwc_case(widths[i]);
    }
    assert_int_equal(roi_align_hwc_select(0), 0);
}

/* ---- RoI max pooling ---- */

/* By hand: on a 4 x 4 ramp, RoI (0, 0)-(1, 1) rounds to rows and columns 0..1, so at
 * size 2 each bin is one pixel; an empty RoI beyond the map gives 0 and -1. */
static void test_max_known(void **state)
{
    (void)state;
    float m[16], o[4];
    int a[4];
    for (int i = 0; i < 16; i++) m[i] = (float)i;
    const float roi[4] = {0, 0, 1, 1}, out[4] = {5, 5, 9, 9};
    roi_max_forward(m, 1, 4, 4, roi, 2, o, a);
    const int want[4] = {0, 1, 4, 5};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(a[i], want[i]);
        assert_true(o[i] == m[want[i]]);
    }
    roi_max_forward(m, 1, 4, 4, out, 2, o, a);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(a[i], -1);
        assert_true(o[i] == 0);
    }
}

/* Forward against the scanning oracle, exactly (values and arg-max), half the maps on
 * four levels so that ties are common. */
static void test_max_forward(void **state)
{
    (void)state;
    rng_seed(201);
    long failures = 0;
    for (int si = 0; si < NSHAPES; si++) {
        shape s = shapes[si];
        long n = (long)s.c * s.h * s.w;
        float *m = malloc(n * sizeof(float));
        for (int zi = 0; zi < NSIZES; zi++) {
            int size = sizes[zi];
            long no = (long)s.c * size * size;
            float *o = malloc(no * sizeof(float)), *wo = malloc(no * sizeof(float));
            int *a = malloc(no * sizeof(int)), *wa = malloc(no * sizeof(int));
            for (int t = 0; t < 60; t++) {
                float roi[4];
                random_map(m, NULL, n, t % 2);
                random_roi(s.h, s.w, roi);
                roi_max_forward(m, s.c, s.h, s.w, roi, size, o, a);
                oracle_max(m, s.c, s.h, s.w, roi, size, wo, wa);
                for (long i = 0; i < no; i++)
                    if ((a[i] != wa[i] || o[i] != wo[i]) && failures++ < 10)
                        print_error("max c=%d h=%d w=%d size=%d roi=(%.9g %.9g %.9g %.9g) out[%ld] = %g at %d, "
                                    "oracle %g at %d\n",
                                    s.c, s.h, s.w, size, roi[0], roi[1], roi[2], roi[3], i, o[i], a[i], wo[i],
                                    wa[i]);
            }
            free(o);
            free(wo);
            free(a);
            free(wa);
        }
        free(m);
    }
    assert_int_equal(failures, 0);
}

/* Non-finite corners give empty bins everywhere. */
static void test_max_nonfinite(void **state)
{
    (void)state;
    float m[6] = {1, 2, 3, 4, 5, 6}, o[4];
    int a[4];
    const float rois[][4] = {{NAN, 0, 1, 1}, {0, -INFINITY, 1, 1}};
    for (int k = 0; k < 2; k++) {
        roi_max_forward(m, 1, 2, 3, rois[k], 2, o, a);
        for (int i = 0; i < 4; i++) assert_true(a[i] == -1 && o[i] == 0);
    }
}

/* Backward by arg-max bookkeeping: with the oracle's arg-max, each bin's gradient is
 * added (in double) at its arg-max position, summed where bins share one; every other
 * position stays exactly as it was. Tolerance: 1e-6 * (1 + |want|) for the float sum
 * of a few terms of magnitude <= 1. */
static void test_max_backward(void **state)
{
    (void)state;
    rng_seed(202);
    long shared = 0;
    for (int si = 0; si < NSHAPES; si++) {
        shape s = shapes[si];
        long n = (long)s.c * s.h * s.w;
        float *m = malloc(n * sizeof(float)), *d = malloc(n * sizeof(float)), *base = malloc(n * sizeof(float));
        double *want = malloc(n * sizeof(double));
        int *hits = malloc(n * sizeof(int));
        for (int zi = 0; zi < NSIZES; zi++) {
            int size = sizes[zi];
            long no = (long)s.c * size * size;
            float *o = malloc(no * sizeof(float)), *g = malloc(no * sizeof(float));
            int *a = malloc(no * sizeof(int)), *wa = malloc(no * sizeof(int));
            for (int t = 0; t < 30; t++) {
                float roi[4];
                random_map(m, NULL, n, t % 2);
                random_map(base, NULL, n, 0);
                random_map(g, NULL, no, 0);
                random_roi(s.h, s.w, roi);
                roi_max_forward(m, s.c, s.h, s.w, roi, size, o, a);
                oracle_max(m, s.c, s.h, s.w, roi, size, o, wa);
                memcpy(d, base, n * sizeof(float));
                roi_max_backward(g, a, s.c, size, d);
                for (long i = 0; i < n; i++) want[i] = base[i], hits[i] = 0;
                for (long i = 0; i < no; i++)
                    if (wa[i] >= 0) want[wa[i]] += g[i], shared += hits[wa[i]]++ > 0;
                for (long i = 0; i < n; i++) {
                    int bad = hits[i] ? fabs(d[i] - want[i]) > 1e-6 * (1 + fabs(want[i])) : d[i] != base[i];
                    if (bad)
                        fail_msg("max backward c=%d h=%d w=%d size=%d roi=(%.9g %.9g %.9g %.9g): dmap[%ld] = %.9g, "
                                 "want %.9g (%d bins)",
                                 s.c, s.h, s.w, size, roi[0], roi[1], roi[2], roi[3], i, d[i], want[i], hits[i]);
                }
            }
            free(o);
            free(g);
            free(a);
            free(wa);
        }
        free(m);
        free(d);
        free(base);
        free(want);
        free(hits);
    }
    print_message("max backward: %ld bins shared an arg-max with an earlier bin\n", shared);
    assert_true(shared > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_align_known),
        cmocka_unit_test(test_align_forward),
        cmocka_unit_test(test_align_outside),
        cmocka_unit_test(test_align_adaptive_large),
        cmocka_unit_test(test_align_dense_sampling),
        cmocka_unit_test(test_align_backward_fd),
        cmocka_unit_test(test_align_adjoint),
        cmocka_unit_test(test_align_hwc),
        cmocka_unit_test(test_max_known),
        cmocka_unit_test(test_max_forward),
        cmocka_unit_test(test_max_nonfinite),
        cmocka_unit_test(test_max_backward),
    };
    return cmocka_run_group_tests_name("roi_align", tests, NULL, NULL);
}
