/* roi_align.c: RoIAlign and Fast R-CNN RoI max pooling over one RoI of a (c, h, w) map.
 *
 * RoIAlign is separable: a sample point's validity (inside the one-pixel margin) and its
 * bilinear weights are products of a row factor and a column factor, and a bin averages
 * a grid of points that is the product of a row set and a column set. So per RoI we
 * build, once, for each bin row py the map rows it touches with their summed weights
 * (Ay), and for each bin column px the map columns with theirs (Ax); then per channel
 *     out[py][px] = sum_x Ax[px][x] * (sum_y Ay[py][y] * map[y][x])
 * where the inner sum is a few contiguous rows combined over the RoI's column span.
 * The backward is the transpose: each bin row's gradient spread over the span, then
 * added into each map row it touches.
 *
 * Four channels go together where there are four (the *4 functions): the same weights
 * serve all four, so with the four channels interleaved (4x4 transposes) every weight
 * is one 4-wide vector operation. They make the same float operations in the same
 * order as the one-channel code, which stays for the remaining channels (and is what
 * the tests exercise on maps of 1 to 3 channels). Max pooling does the same.
 *
 * The HWC functions do the same sums on a channels-last copy of the map, where one
 * weight scales a whole vector of a pixel's channels (see "The HWC path" below). */
#include "roi_align.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The weights of one axis: bin b owns entries off[b] .. off[b+1]-1, each a map line
 * (row or column) idx, relative to lo, and its weight wt. lo..hi is the span of lines
 * touched by any bin (hi < lo when none). */
typedef struct {
    int *idx;
    float *wt;
    int *off;
    int lo, hi;
} roi_axis;

/* The sample points of one bin along an axis that are visited: all g of a fixed grid;
 * of an adaptive grid, whose points are at least half a pixel apart when there are
 * more than one, no more than can lie within the margin [-1, dim]. */
static long axis_points_cap(double g, int dim, int adaptive)
{
    double cap = 2.0 * dim + 8;
    return (long)(adaptive && g > cap ? cap : g);
}

/* Grid points per bin along an axis: sampling, or ceil(extent / size) for sampling 0,
 * as a double (an absurd extent gives an absurd count, never an overflow). */
static double axis_grid(float a1, float a2, int size, int sampling)
{
    if (sampling > 0) return sampling;
    float g = ceilf((a2 - a1) / (float)size);
    return g > 0 ? g : 0;
}

/* Entries an axis can need: per bin, at most two lines per point and at most dim. */
static long axis_cap(double g, int dim, int size, int adaptive)
{
    long per_bin = 2 * axis_points_cap(g, dim, adaptive);
    if (per_bin > dim) per_bin = dim;
    return (long)size * per_bin;
}

/* Builds the weights of one axis of RoIAlign for corners a1 <= a2 (any order works) on
 * a map of dim lines: sample points start + b * bin + (i + 0.5) * bin / g, the aligned
 * start a1 - 0.5; points beyond the margin dropped, the rest clamped and split between
 * their two neighbouring lines, each weight divided by g (adaptive: g came from the
 * extent, see axis_points_cap). pad4: widen the span to a
 * multiple of four lines where the map allows. acc is dim floats of zeros and is left
 * zeroed. */
static void axis_build(float a1, float a2, int dim, int size, double g, int adaptive, int pad4, roi_axis *ax,
                       float *acc)
{
    float start = a1 - 0.5f, bin = (a2 - a1) / (float)size;
    int n = 0;
    ax->lo = dim;
    ax->hi = -1;
    ax->off[0] = 0;
    if (g <= 0 || !isfinite(start) || !isfinite(bin)) {
        for (int b = 0; b < size; b++) ax->off[b + 1] = 0;
        return;
    }
    float inv = (float)(1.0 / g), step = (float)(bin / g);
    long npts = axis_points_cap(g, dim, adaptive);
    for (int b = 0; b < size; b++) {
        float base = start + b * bin;
        /* the points that can be inside: all of them, or for an adaptive grid far
         * larger than the map, the run whose positions fall in [-1, dim] */
        double i0 = 0;
        if (g > npts && step != 0) {
            double t1 = (-1.0 - base) / step - 0.5, t2 = ((double)dim - base) / step - 0.5;
            i0 = floor(t1 < t2 ? t1 : t2) - 1;
            if (i0 < 0) i0 = 0;
            if (i0 > g - npts) i0 = g - npts;
        }
        int lmin = dim, lmax = -1;
        for (long k = 0; k < npts; k++) {
            float p = base + (float)(i0 + k + 0.5) * step;
            if (p < -1.0f || p > (float)dim) continue;
            if (p <= 0) p = 0;
            int l = (int)p, r;
            if (l >= dim - 1) {
                l = r = dim - 1;
                p = (float)l;
            } else {
                r = l + 1;
            }
            float f = p - l;
            acc[l] += (1.0f - f) * inv;
            acc[r] += f * inv;
            if (l < lmin) lmin = l;
            if (r > lmax) lmax = r;
        }
        for (int l = lmin; l <= lmax; l++) {
            if (acc[l] != 0) {
                ax->idx[n] = l;
                ax->wt[n++] = acc[l];
                if (l < ax->lo) ax->lo = l;
                if (l > ax->hi) ax->hi = l;
            }
            acc[l] = 0;
        }
        ax->off[b + 1] = n;
    }
    if (pad4 && ax->hi >= ax->lo) {
        /* widen the span to a multiple of four lines inside the map, so that the
         * vector loops over it have no scalar tail; the extra lines weigh 0 */
        int n4 = (ax->hi - ax->lo + 4) & ~3;
        if (n4 <= dim) {
            if (ax->lo + n4 > dim) ax->lo = dim - n4;
            ax->hi = ax->lo + n4 - 1;
        }
    }
    for (int e = 0; e < n; e++) ax->idx[e] -= ax->lo;
}

/* Four floats in one SSE register (GCC/Clang vector extension; __builtin_shufflevector
 * below needs GCC 12 or Clang); loads and stores through memcpy, so any alignment. */
typedef float f4 __attribute__((vector_size(16)));
static inline f4 f4_load(const float *p)
{
    f4 v;
    memcpy(&v, p, sizeof(v));
    return v;
}
static inline void f4_store(float *p, f4 v) { memcpy(p, &v, sizeof(v)); }

/* v[0..n) = sum over k < nr of wt[k] * row[k][0..n), in the order of k. */
static void rows_combine(float *v, const float *const *row, const float *wt, int nr, int n)
{
    int x = 0;
    for (; x + 4 <= n; x += 4) {
        f4 s = wt[0] * f4_load(row[0] + x);
        for (int k = 1; k < nr; k++) s += wt[k] * f4_load(row[k] + x);
        f4_store(v + x, s);
    }
    for (; x < n; x++) {
        float s = wt[0] * row[0][x];
        for (int k = 1; k < nr; k++) s += wt[k] * row[k][x];
        v[x] = s;
    }
}

/* The 4 x 4 transpose of rows a, b, c, d into r[0..4). */
static inline void f4_transpose(f4 a, f4 b, f4 c, f4 d, f4 *r)
{
    f4 t0 = __builtin_shufflevector(a, b, 0, 4, 1, 5), t1 = __builtin_shufflevector(a, b, 2, 6, 3, 7);
    f4 t2 = __builtin_shufflevector(c, d, 0, 4, 1, 5), t3 = __builtin_shufflevector(c, d, 2, 6, 3, 7);
    r[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
    r[1] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
    r[2] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
    r[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
}

/* dst[0..n) += sum over k < nr of wt[k] * row[k][0..n), in the order of k. */
static void rows_accumulate(float *dst, const float *const *row, const float *wt, int nr, int n)
{
    int x = 0;
    for (; x + 4 <= n; x += 4) {
        f4 s = f4_load(dst + x);
        for (int k = 0; k < nr; k++) s += wt[k] * f4_load(row[k] + x);
        f4_store(dst + x, s);
    }
    for (; x < n; x++) {
        float s = dst[x];
        for (int k = 0; k < nr; k++) s += wt[k] * row[k][x];
        dst[x] = s;
    }
}

/* align_gather for four channels at once (map and out at the first one's), a column
 * span of at least four: per bin row, four columns of the four channels'
 * combined rows at a time, transposed so that v4[x] holds column x of the four, then
 * each column weight of a bin is one vector operation for all four. rowoff: each Ay
 * entry's offset in a channel; wy4, wx4: the Ay and Ax weights broadcast. The same sums
 * in the same order as one channel at a time. */
static void align_gather4(const float *map, int h, int w, int size, const roi_axis *ay, const roi_axis *ax,
                          const size_t *rowoff, const f4 *wy4, const f4 *wx4, float *out)
{
    int nx = ax->hi - ax->lo + 1;
    size_t plane = (size_t)h * w, ss = (size_t)size * size;
    f4 v4[nx];
    for (int py = 0; py < size; py++) {
        float *o = out + (size_t)py * size;
        int e0 = ay->off[py], e1 = ay->off[py + 1];
        if (e0 == e1) {
            for (int q = 0; q < 4; q++)
                for (int px = 0; px < size; px++) o[q * ss + px] = 0;
            continue;
        }
        for (int x4 = 0; x4 < nx; x4 += 4) {
            int x = x4 + 4 <= nx ? x4 : nx - 4; /* a last chunk overlaps the one before */
            const float *r = map + rowoff[e0] + x;
            f4 s0 = wy4[e0] * f4_load(r), s1 = wy4[e0] * f4_load(r + plane);
            f4 s2 = wy4[e0] * f4_load(r + 2 * plane), s3 = wy4[e0] * f4_load(r + 3 * plane);
            for (int e = e0 + 1; e < e1; e++) {
                r = map + rowoff[e] + x;
                s0 += wy4[e] * f4_load(r), s1 += wy4[e] * f4_load(r + plane);
                s2 += wy4[e] * f4_load(r + 2 * plane), s3 += wy4[e] * f4_load(r + 3 * plane);
            }
            f4_transpose(s0, s1, s2, s3, v4 + x);
        }
        for (int px = 0; px < size; px++) {
            f4 t = {0, 0, 0, 0};
            for (int e = ax->off[px]; e < ax->off[px + 1]; e++) t += wx4[e] * v4[ax->idx[e]];
            o[px] = t[0], o[ss + px] = t[1], o[2 * ss + px] = t[2], o[3 * ss + px] = t[3];
        }
    }
}

/* out (c, size, size) = Ay . map[ch] . Ax^T for each channel: per bin row, the map
 * rows it touches combined over the RoI's column span (v), then each bin's few
 * columns of v. Channels by four (align_gather4), the rest one by one. */
static void align_gather(const float *map, int c, int h, int w, int size, const roi_axis *ay,
                         const roi_axis *ax, float *out)
{
    int nx = ax->hi - ax->lo + 1, ny_e = ay->off[size], nx_e = ax->off[size];
    float v[nx];
    const float *row[ny_e + 1];
    int ch = 0;
    if (nx >= 4 && c >= 4) {
        size_t rowoff[ny_e + 1];
        f4 wy4[ny_e + 1], wx4[nx_e + 1];
        for (int e = 0; e < ny_e; e++) {
            rowoff[e] = (size_t)(ay->idx[e] + ay->lo) * w + ax->lo;
            wy4[e] = (f4){ay->wt[e], ay->wt[e], ay->wt[e], ay->wt[e]};
        }
        for (int e = 0; e < nx_e; e++) wx4[e] = (f4){ax->wt[e], ax->wt[e], ax->wt[e], ax->wt[e]};
        for (; ch + 4 <= c; ch += 4)
            align_gather4(map + (size_t)ch * h * w, h, w, size, ay, ax, rowoff, wy4, wx4,
                          out + (size_t)ch * size * size);
    }
    for (; ch < c; ch++) {
        const float *m = map + (size_t)ch * h * w + ax->lo;
        float *o = out + (size_t)ch * size * size;
        for (int py = 0; py < size; py++, o += size) {
            int e0 = ay->off[py], e1 = ay->off[py + 1];
            if (e0 == e1) {
                for (int px = 0; px < size; px++) o[px] = 0;
                continue;
            }
            for (int e = e0; e < e1; e++) row[e] = m + (size_t)(ay->idx[e] + ay->lo) * w;
            rows_combine(v, row + e0, ay->wt + e0, e1 - e0, nx);
            for (int px = 0; px < size; px++) {
                float s = 0;
                for (int e = ax->off[px]; e < ax->off[px + 1]; e++) s += ax->wt[e] * v[ax->idx[e]];
                o[px] = s;
            }
        }
    }
}

/* The transpose of an axis: for each line l (relative to lo) of the span, the bins
 * that touch it, entries toff[l] .. toff[l+1]-1 with bin tbin and weight twt, bins
 * ascending. */
static void axis_transpose(const roi_axis *a, int size, int *toff, int *tbin, float *twt)
{
    int n = a->hi - a->lo + 1, next[n];
    for (int l = 0; l <= n; l++) toff[l] = 0;
    for (int e = 0; e < a->off[size]; e++) toff[a->idx[e] + 1]++;
    for (int l = 0; l < n; l++) toff[l + 1] += toff[l], next[l] = toff[l];
    for (int b = 0; b < size; b++)
        for (int e = a->off[b]; e < a->off[b + 1]; e++) {
            int k = next[a->idx[e]]++;
            tbin[k] = b;
            twt[k] = a->wt[e];
        }
}

/* align_scatter's work for four channels at once (dout and dmap at the first one's):
 * the bins' gradients of the four interleaved, so that each column weight is one
 * vector operation, the spread rows de-interleaved by 4x4 transposes into U (four
 * planes of size x n4, the span rounded up to four), then every map row of the span
 * of the four channels updated once. The transposed axes and the broadcast weights
 * (wx4, wy4) come from align_scatter. The same sums in the same order. */
static void align_scatter4(const float *dout, int h, int w, int size, const roi_axis *ay, const roi_axis *ax,
                           const int *xoff, const int *xbin, const f4 *wx4, const int *yoff, const int *ybin,
                           const f4 *wy4, float *U, float *dmap)
{
    int nx = ax->hi - ax->lo + 1, ny = ay->hi - ay->lo + 1, n4 = (nx + 3) & ~3;
    size_t plane = (size_t)h * w, ss = (size_t)size * size, us = (size_t)size * n4;
    f4 d4[size], u4[n4];
    for (int x = nx; x < n4; x++) u4[x] = (f4){0, 0, 0, 0};
    for (int py = 0; py < size; py++) {
        if (ay->off[py] == ay->off[py + 1]) continue;
        const float *d = dout + (size_t)py * size;
        for (int px = 0; px < size; px++) d4[px] = (f4){d[px], d[ss + px], d[2 * ss + px], d[3 * ss + px]};
        for (int x = 0; x < nx; x++) {
            f4 t = {0, 0, 0, 0};
            for (int k = xoff[x]; k < xoff[x + 1]; k++) t += wx4[k] * d4[xbin[k]];
            u4[x] = t;
        }
        float *u = U + (size_t)py * n4;
        for (int x = 0; x < n4; x += 4) {
            f4 r[4];
            f4_transpose(u4[x], u4[x + 1], u4[x + 2], u4[x + 3], r);
            for (int q = 0; q < 4; q++) f4_store(u + q * us + x, r[q]);
        }
    }
    float *m = dmap + (size_t)ay->lo * w + ax->lo;
    for (int y = 0; y < ny; y++, m += w) {
        int k0 = yoff[y], k1 = yoff[y + 1];
        if (k0 == k1) continue;
        int x = 0;
        for (; x + 4 <= nx; x += 4) {
            f4 s0 = f4_load(m + x), s1 = f4_load(m + plane + x);
            f4 s2 = f4_load(m + 2 * plane + x), s3 = f4_load(m + 3 * plane + x);
            for (int k = k0; k < k1; k++) {
                const float *u = U + (size_t)ybin[k] * n4 + x;
                s0 += wy4[k] * f4_load(u), s1 += wy4[k] * f4_load(u + us);
                s2 += wy4[k] * f4_load(u + 2 * us), s3 += wy4[k] * f4_load(u + 3 * us);
            }
            f4_store(m + x, s0), f4_store(m + plane + x, s1);
            f4_store(m + 2 * plane + x, s2), f4_store(m + 3 * plane + x, s3);
        }
        for (; x < nx; x++)
            for (int q = 0; q < 4; q++) {
                float t = m[q * plane + x];
                for (int k = k0; k < k1; k++) t += wy4[k][0] * U[q * us + (size_t)ybin[k] * n4 + x];
                m[q * plane + x] = t;
            }
    }
}

/* dmap[ch] += Ay^T . dout[ch] . Ax for each channel: first each bin row's gradient
 * spread over the column span (U, gathered through the transposed Ax), then each map
 * row of the span updated once with the bin rows that touch it. */
static void align_scatter(const float *dout, int c, int h, int w, int size, const roi_axis *ay,
                          const roi_axis *ax, float *dmap)
{
    int nx = ax->hi - ax->lo + 1, ny = ay->hi - ay->lo + 1, nx_e = ax->off[size], ny_e = ay->off[size];
    int xoff[nx + 1], xbin[nx_e + 1], yoff[ny + 1], ybin[ny_e + 1];
    float xwt[nx_e + 1], ywt[ny_e + 1], U[4 * size * ((nx + 3) & ~3)];
    const float *urow[ny_e + 1];
    axis_transpose(ax, size, xoff, xbin, xwt);
    axis_transpose(ay, size, yoff, ybin, ywt);
    int ch = 0;
    if (c >= 4) {
        f4 wx4[nx_e + 1], wy4[ny_e + 1];
        for (int k = 0; k < nx_e; k++) wx4[k] = (f4){xwt[k], xwt[k], xwt[k], xwt[k]};
        for (int k = 0; k < ny_e; k++) wy4[k] = (f4){ywt[k], ywt[k], ywt[k], ywt[k]};
        for (; ch + 4 <= c; ch += 4)
            align_scatter4(dout + (size_t)ch * size * size, h, w, size, ay, ax, xoff, xbin, wx4, yoff, ybin, wy4,
                           U, dmap + (size_t)ch * h * w);
    }
    for (int k = 0; k < ny_e; k++) urow[k] = U + ybin[k] * nx;
    for (; ch < c; ch++) {
        float *m = dmap + (size_t)ch * h * w + (size_t)ay->lo * w + ax->lo;
        const float *d = dout + (size_t)ch * size * size;
        for (int py = 0; py < size; py++, d += size) {
            if (ay->off[py] == ay->off[py + 1]) continue;
            float *u = U + py * nx;
            for (int x = 0; x < nx; x++) {
                float s = 0;
                for (int k = xoff[x]; k < xoff[x + 1]; k++) s += xwt[k] * d[xbin[k]];
                u[x] = s;
            }
        }
        for (int y = 0; y < ny; y++, m += w)
            if (yoff[y] < yoff[y + 1])
                rows_accumulate(m, urow + yoff[y], ywt + yoff[y], yoff[y + 1] - yoff[y], nx);
    }
}

/* ---- The HWC path: the map in (h, w, cs) layout, a pixel's channels contiguous
 * and padded with zeros to cs, a multiple of CPAD, so that one weight scales a vector
 * of channels with no transposes and no tails. The kernels come in three sets, one
 * for each width of vector: AVX-512 (16 floats), AVX2 (8) and the baseline SSE (4),
 * each with the vector type of its width (GCC splits a wider one through memory);
 * the widest the CPU runs is taken. All three make the same float operations in the
 * same order, so the same bytes. ---- */
#define INNER static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 8") /* the loops over a call's vectors */
#define CB 64   /* channels of a block: the stack holds (span + bins) x CB floats */
#define CPAD 16 /* the channels of a pixel are a multiple of this */
#define XC 64   /* map columns of the backward's spread at a time (its stack: size x XC x CB floats) */
typedef float f8 __attribute__((vector_size(8 * sizeof(float))));
#define AVX512 __attribute__((target("avx512f")))
/* (tuned as for Haswell: GCC's generic tuning splits each unaligned 256-bit load
 * and store in two) */
#define AVX2 __attribute__((target("avx2,tune=haswell")))

int roi_align_hwc_channels(int c)
{
    return (c + CPAD - 1) / CPAD * CPAD;
}

/* dst[j * lddst + i] = src[i * ldsrc + j] for i < rows, j < cols: 8 x 8 blocks
 * transposed in vectors (the rest one by one). */
INNER void transpose8(const float *src, long ldsrc, int rows, int cols, float *dst, long lddst)
{
    int r8 = rows / 8 * 8, c8 = cols / 8 * 8;
    for (int j = 0; j < c8; j += 8) {
        for (int i = 0; i < r8; i += 8) {
            f8 r[8], t[8], u[8];
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++) memcpy(&r[q], src + (i + q) * ldsrc + j, sizeof(f8));
#pragma GCC unroll 4
            for (int q = 0; q < 8; q += 2) {
                t[q] = __builtin_shufflevector(r[q], r[q + 1], 0, 8, 1, 9, 4, 12, 5, 13);
                t[q + 1] = __builtin_shufflevector(r[q], r[q + 1], 2, 10, 3, 11, 6, 14, 7, 15);
            }
#pragma GCC unroll 2
            for (int q = 0; q < 8; q += 4) {
                u[q] = __builtin_shufflevector(t[q], t[q + 2], 0, 1, 8, 9, 4, 5, 12, 13);
                u[q + 1] = __builtin_shufflevector(t[q], t[q + 2], 2, 3, 10, 11, 6, 7, 14, 15);
                u[q + 2] = __builtin_shufflevector(t[q + 1], t[q + 3], 0, 1, 8, 9, 4, 5, 12, 13);
                u[q + 3] = __builtin_shufflevector(t[q + 1], t[q + 3], 2, 3, 10, 11, 6, 7, 14, 15);
            }
            /* u[q] holds columns q and q + 4 of rows 0..3, u[4 + q] of rows 4..7 */
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++) {
                f8 lo = __builtin_shufflevector(u[q], u[q + 4], 0, 1, 2, 3, 8, 9, 10, 11);
                f8 hi = __builtin_shufflevector(u[q], u[q + 4], 4, 5, 6, 7, 12, 13, 14, 15);
                memcpy(dst + (j + q) * lddst + i, &lo, sizeof(f8));
                memcpy(dst + (j + q + 4) * lddst + i, &hi, sizeof(f8));
            }
        }
        for (int q = j; q < j + 8; q++)
            for (int i = r8; i < rows; i++) dst[q * lddst + i] = src[i * ldsrc + q];
    }
    for (int q = c8; q < cols; q++)
        for (int i = 0; i < rows; i++) dst[q * lddst + i] = src[i * ldsrc + q];
}

/* transpose8 with 4 x 4 blocks (SSE). */
static void transpose4(const float *src, long ldsrc, int rows, int cols, float *dst, long lddst)
{
    int r4 = rows / 4 * 4, c4 = cols / 4 * 4;
    for (int j = 0; j < c4; j += 4) {
        for (int i = 0; i < r4; i += 4) {
            f4 r[4];
            f4_transpose(f4_load(src + i * ldsrc + j), f4_load(src + (i + 1) * ldsrc + j),
                         f4_load(src + (i + 2) * ldsrc + j), f4_load(src + (i + 3) * ldsrc + j), r);
            for (int q = 0; q < 4; q++) f4_store(dst + (j + q) * lddst + i, r[q]);
        }
        for (int q = j; q < j + 4; q++)
            for (int i = r4; i < rows; i++) dst[q * lddst + i] = src[i * ldsrc + q];
    }
    for (int q = c4; q < cols; q++)
        for (int i = 0; i < rows; i++) dst[q * lddst + i] = src[i * ldsrc + q];
}

AVX512 static void transpose_512(const float *src, long ldsrc, int rows, int cols, float *dst, long lddst)
{
    transpose8(src, ldsrc, rows, cols, dst, lddst);
}

AVX2 static void transpose_256(const float *src, long ldsrc, int rows, int cols, float *dst, long lddst)
{
    transpose8(src, ldsrc, rows, cols, dst, lddst);
}

/* align_gather for N = NV W channels, vectors V of W floats in the ISA of attribute A:
 * from channel k of the map (cs a pixel) into column col of v (nx x CB: the bin
 * row's map rows combined over the column span) and of bins (size x size, CB). The
 * same float operations in the same order as align_gather, per channel; the NV
 * vectors' sums side by side, so that their additions overlap. */
#define HWC_GATHER(name, A, W, NV)                                                                                   \
    A static void name(const float *hwc, int cs, int w, int k, int col, int size, const roi_axis *ay,                \
                       const roi_axis *ax, float *v, float *bins)                                                    \
    {                                                                                                                \
        typedef float V __attribute__((vector_size(W * sizeof(float))));                                             \
        int nx = ax->hi - ax->lo + 1;                                                                                \
        const float *m = hwc + (size_t)ax->lo * cs + k;                                                              \
        for (int py = 0; py < size; py++) {                                                                          \
            int e0 = ay->off[py], e1 = ay->off[py + 1];                                                              \
            float *b = bins + (size_t)py * size * CB + col;                                                          \
            if (e0 == e1) {                                                                                          \
                for (int px = 0; px < size; px++) memset(b + px * CB, 0, NV * W * sizeof(float));                    \
                continue;                                                                                            \
            }                                                                                                        \
            for (int x = 0; x < nx; x++) {                                                                           \
                V s[NV], t;                                                                                          \
                const float *r = m + ((size_t)(ay->idx[e0] + ay->lo) * w + x) * cs;                                  \
                UNROLL for (int j = 0; j < NV; j++) {                                                                \
                    memcpy(&t, r + j * W, sizeof(t));                                                                \
                    s[j] = ay->wt[e0] * t;                                                                           \
                }                                                                                                    \
                for (int e = e0 + 1; e < e1; e++) {                                                                  \
                    r = m + ((size_t)(ay->idx[e] + ay->lo) * w + x) * cs;                                            \
                    UNROLL for (int j = 0; j < NV; j++) {                                                            \
                        memcpy(&t, r + j * W, sizeof(t));                                                            \
                        s[j] += ay->wt[e] * t;                                                                       \
                    }                                                                                                \
                }                                                                                                    \
                UNROLL for (int j = 0; j < NV; j++) memcpy(v + (size_t)x * CB + col + j * W, &s[j], sizeof(t));      \
            }                                                                                                        \
            for (int px = 0; px < size; px++, b += CB) {                                                             \
                V s[NV], t;                                                                                          \
                UNROLL for (int j = 0; j < NV; j++) s[j] = (V){0};                                                   \
                for (int e = ax->off[px]; e < ax->off[px + 1]; e++) {                                                \
                    const float *u = v + (size_t)ax->idx[e] * CB + col;                                              \
                    UNROLL for (int j = 0; j < NV; j++) {                                                            \
                        memcpy(&t, u + j * W, sizeof(t));                                                            \
                        s[j] += ax->wt[e] * t;                                                                       \
                    }                                                                                                \
                }                                                                                                    \
                UNROLL for (int j = 0; j < NV; j++) memcpy(b + j * W, &s[j], sizeof(t));                             \
            }                                                                                                        \
        }                                                                                                            \
    }

/* align_scatter for N = NV W channels, as HWC_GATHER, over columns x0 .. x1 - 1 of
 * the span: from column col of bins (the RoI's gradient, size x size, CB) through U
 * (size, x1 - x0, CB: each bin row's gradient spread over those columns) into
 * channel k of dmap (cs a pixel). The transposed axes as align_scatter's; the same
 * float operations in the same order, per channel. */
#define HWC_SCATTER(name, A, W, NV)                                                                                  \
    A static void name(const float *bins, int cs, int w, int k, int col, int size, const roi_axis *ay,               \
                       const roi_axis *ax, int x0, int x1, const int *xoff, const int *xbin, const float *xwt,       \
                       const int *yoff, const int *ybin, const float *ywt, float *U, float *dmap)                    \
    {                                                                                                                \
        typedef float V __attribute__((vector_size(W * sizeof(float))));                                             \
        int nx = x1 - x0, ny = ay->hi - ay->lo + 1;                                                                  \
        for (int py = 0; py < size; py++) {                                                                          \
            if (ay->off[py] == ay->off[py + 1]) continue;                                                            \
            const float *d = bins + (size_t)py * size * CB + col;                                                    \
            for (int x = 0; x < nx; x++) {                                                                           \
                V s[NV], t;                                                                                          \
                UNROLL for (int j = 0; j < NV; j++) s[j] = (V){0};                                                   \
                for (int q = xoff[x0 + x]; q < xoff[x0 + x + 1]; q++)                                                \
                    UNROLL for (int j = 0; j < NV; j++) {                                                            \
                        memcpy(&t, d + (size_t)xbin[q] * CB + j * W, sizeof(t));                                     \
                        s[j] += xwt[q] * t;                                                                          \
                    }                                                                                                \
                UNROLL for (int j = 0; j < NV; j++)                                                                  \
                    memcpy(U + ((size_t)py * nx + x) * CB + col + j * W, &s[j], sizeof(t));                          \
            }                                                                                                        \
        }                                                                                                            \
        float *m = dmap + ((size_t)ay->lo * w + ax->lo + x0) * cs + k;                                               \
        for (int y = 0; y < ny; y++, m += (size_t)w * cs) {                                                          \
            int q0 = yoff[y], q1 = yoff[y + 1];                                                                      \
            if (q0 == q1) continue;                                                                                  \
            for (int x = 0; x < nx; x++) {                                                                           \
                V s[NV], t;                                                                                          \
                float *p = m + (size_t)x * cs;                                                                       \
                UNROLL for (int j = 0; j < NV; j++) memcpy(&s[j], p + j * W, sizeof(t));                             \
                for (int q = q0; q < q1; q++) {                                                                      \
                    const float *u = U + ((size_t)ybin[q] * nx + x) * CB + col;                                      \
                    UNROLL for (int j = 0; j < NV; j++) {                                                            \
                        memcpy(&t, u + j * W, sizeof(t));                                                            \
                        s[j] += ywt[q] * t;                                                                          \
                    }                                                                                                \
                }                                                                                                    \
                UNROLL for (int j = 0; j < NV; j++) memcpy(p + j * W, &s[j], sizeof(t));                             \
            }                                                                                                        \
        }                                                                                                            \
    }

/* per set: N channels a call, and CPAD (the padded tail of a block) */
HWC_GATHER(gather_512, AVX512, 16, 4)
HWC_GATHER(gather_512_pad, AVX512, 16, 1)
HWC_GATHER(gather_256, AVX2, 8, 8)
HWC_GATHER(gather_256_pad, AVX2, 8, 2)
HWC_GATHER(gather_128, , 4, 8)
HWC_GATHER(gather_128_pad, , 4, 4)
HWC_SCATTER(scatter_512, AVX512, 16, 4)
HWC_SCATTER(scatter_512_pad, AVX512, 16, 1)
HWC_SCATTER(scatter_256, AVX2, 8, 8)
HWC_SCATTER(scatter_256_pad, AVX2, 8, 2)
HWC_SCATTER(scatter_128, , 4, 8)
HWC_SCATTER(scatter_128_pad, , 4, 4)

typedef void (*gather_fn)(const float *hwc, int cs, int w, int k, int col, int size, const roi_axis *ay,
                          const roi_axis *ax, float *v, float *bins);
typedef void (*scatter_fn)(const float *bins, int cs, int w, int k, int col, int size, const roi_axis *ay,
                           const roi_axis *ax, int x0, int x1, const int *xoff, const int *xbin, const float *xwt,
                           const int *yoff, const int *ybin, const float *ywt, float *U, float *dmap);
typedef void (*transpose_fn)(const float *src, long ldsrc, int rows, int cols, float *dst, long lddst);

/* One set: its vectors' bits, the channels of a call of gather and scatter (then of
 * gather_pad and scatter_pad: CPAD), its transpose. */
typedef struct {
    int bits, n;
    gather_fn gather, gather_pad;
    scatter_fn scatter, scatter_pad;
    transpose_fn transpose;
} hwc_set;

static const hwc_set hwc_sets[] = {
    {512, 64, gather_512, gather_512_pad, scatter_512, scatter_512_pad, transpose_512},
    {256, 64, gather_256, gather_256_pad, scatter_256, scatter_256_pad, transpose_256},
    {128, 32, gather_128, gather_128_pad, scatter_128, scatter_128_pad, transpose4},
};

static int hwc_bits; /* roi_align_hwc_select's; 0: the widest */

static int cpu_has(int bits)
{
    return bits == 512 ? __builtin_cpu_supports("avx512f") : bits == 256 ? __builtin_cpu_supports("avx2") : bits == 128;
}

int roi_align_hwc_select(int bits)
{
    if (bits != 0 && (bits != 512 && bits != 256 && bits != 128)) return -1;
    if (bits && !cpu_has(bits)) return -1;
    hwc_bits = bits;
    return 0;
}

/* The set roi_align_hwc_select chose, or the widest the CPU runs. */
static const hwc_set *hwc_pick(void)
{
    for (int i = 0; i < 2; i++)
        if (hwc_bits ? hwc_sets[i].bits == hwc_bits : cpu_has(hwc_sets[i].bits)) return &hwc_sets[i];
    return &hwc_sets[2];
}

void roi_align_map_hwc(const float *map, int c, int h, int w, float *hwc)
{
    long hw = (long)h * w;
    int cs = roi_align_hwc_channels(c);
    hwc_pick()->transpose(map, hw, c, (int)hw, hwc, cs);
    for (long p = 0; p < hw; p++)
        for (int k = c; k < cs; k++) hwc[p * cs + k] = 0;
}

void roi_align_map_chw(const float *hwc, int c, int h, int w, float *map)
{
    long hw = (long)h * w;
    hwc_pick()->transpose(hwc, roi_align_hwc_channels(c), (int)hw, c, map, hw);
}

/* out (c, size, size) from the map in HWC: by blocks of CB channels, each block's
 * bins transposed into out. */
static void align_gather_hwc(const float *hwc, int c, int h, int w, int size, const roi_axis *ay,
                             const roi_axis *ax, float *out)
{
    (void)h;
    const hwc_set *k = hwc_pick();
    int nx = ax->hi - ax->lo + 1, ss = size * size, cs = roi_align_hwc_channels(c);
    float v[(size_t)nx * CB], bins[(size_t)ss * CB];
    for (int k0 = 0; k0 < c; k0 += CB) {
        int nc = cs - k0 < CB ? cs - k0 : CB;
        for (int col = 0; col < nc;) {
            int full = nc - col >= k->n;
            (full ? k->gather : k->gather_pad)(hwc, cs, w, k0 + col, col, size, ay, ax, v, bins);
            col += full ? k->n : CPAD;
        }
        k->transpose(bins, CB, ss, c - k0 < nc ? c - k0 : nc, out + (size_t)k0 * ss, ss);
    }
}

/* dmap (h, w, cs) += the adjoint of align_gather_hwc applied to dout (c, size, size):
 * by blocks of CB channels, each block of dout transposed into bins (the channels
 * past c zero), then spread through the transposed axes. */
static void align_scatter_hwc(const float *dout, int c, int h, int w, int size, const roi_axis *ay,
                              const roi_axis *ax, float *dmap)
{
    (void)h;
    const hwc_set *k = hwc_pick();
    int nx = ax->hi - ax->lo + 1, ny = ay->hi - ay->lo + 1, nx_e = ax->off[size], ny_e = ay->off[size];
    int ss = size * size, cs = roi_align_hwc_channels(c);
    int xoff[nx + 1], xbin[nx_e + 1], yoff[ny + 1], ybin[ny_e + 1];
    float xwt[nx_e + 1], ywt[ny_e + 1], U[(size_t)size * (nx < XC ? nx : XC) * CB], bins[(size_t)ss * CB];
    axis_transpose(ax, size, xoff, xbin, xwt);
    axis_transpose(ay, size, yoff, ybin, ywt);
    for (int k0 = 0; k0 < c; k0 += CB) {
        int nc = cs - k0 < CB ? cs - k0 : CB, real = c - k0 < nc ? c - k0 : nc;
        k->transpose(dout + (size_t)k0 * ss, ss, real, ss, bins, CB);
        for (int b = 0; b < ss; b++)
            for (int q = real; q < nc; q++) bins[(size_t)b * CB + q] = 0;
        for (int x0 = 0; x0 < nx; x0 += XC) /* a map column takes only its own sums */
            for (int col = 0, x1 = nx - x0 < XC ? nx : x0 + XC; col < nc;) {
                int full = nc - col >= k->n;
                (full ? k->scatter : k->scatter_pad)(bins, cs, w, k0 + col, col, size, ay, ax, x0, x1, xoff, xbin,
                                                     xwt, yoff, ybin, ywt, U, dmap);
                col += full ? k->n : CPAD;
            }
    }
}

/* The RoI's axes built on the stack (ax widened to a multiple of four lines for
 * the CHW vector loops, pad4), then fn(src, ..., dst) over them; a RoI with a
 * non-finite corner, or none of whose points is inside the margin, calls none (and
 * returns 0), else returns 1. */
typedef void (*align_fn)(const float *src, int c, int h, int w, int size, const roi_axis *ay, const roi_axis *ax,
                         float *dst);

static int align_run(const float *src, int c, int h, int w, const float roi[4], int size, int sampling, int pad4,
                     align_fn fn, float *dst)
{
    assert(c > 0 && h > 0 && w > 0 && size > 0 && sampling >= 0);
    int ok = isfinite(roi[0]) && isfinite(roi[1]) && isfinite(roi[2]) && isfinite(roi[3]);
    double gy = ok ? axis_grid(roi[1], roi[3], size, sampling) : 0;
    double gx = ok ? axis_grid(roi[0], roi[2], size, sampling) : 0;
    long cy = axis_cap(gy, h, size, sampling == 0), cx = axis_cap(gx, w, size, sampling == 0);
    int yidx[cy + 1], xidx[cx + 1], yoff[size + 1], xoff[size + 1];
    float ywt[cy + 1], xwt[cx + 1], acc[(h > w ? h : w) + 1];
    memset(acc, 0, sizeof(acc));
    roi_axis ay = {yidx, ywt, yoff, 0, -1}, ax = {xidx, xwt, xoff, 0, -1};
    axis_build(roi[1], roi[3], h, size, gy, sampling == 0, 0, &ay, acc);
    axis_build(roi[0], roi[2], w, size, gx, sampling == 0, pad4, &ax, acc);
    if (ay.hi < ay.lo || ax.hi < ax.lo) return 0;
    fn(src, c, h, w, size, &ay, &ax, dst);
    return 1;
}

void roi_align_forward(const float *map, int c, int h, int w, const float roi[4], int size,
                       int sampling, float *out)
{
    if (!align_run(map, c, h, w, roi, size, sampling, 1, align_gather, out))
        memset(out, 0, (size_t)c * size * size * sizeof(float));
}

void roi_align_forward_hwc(const float *hwc, int c, int h, int w, const float roi[4], int size, int sampling,
                           float *out)
{
    if (!align_run(hwc, c, h, w, roi, size, sampling, 0, align_gather_hwc, out))
        memset(out, 0, (size_t)c * size * size * sizeof(float));
}

void roi_align_backward(const float *dout, int c, int h, int w, const float roi[4], int size,
                        int sampling, float *dmap)
{
    align_run(dout, c, h, w, roi, size, sampling, 1, align_scatter, dmap);
}

void roi_align_backward_hwc(const float *dout, int c, int h, int w, const float roi[4], int size, int sampling,
                            float *dhwc)
{
    align_run(dout, c, h, w, roi, size, sampling, 0, align_scatter_hwc, dhwc);
}

/* Fast R-CNN's bin edges along one axis, clipped to [0, dim]: bin b covers
 * [lo[b], hi[b]). Corners are clamped to +-2^30 pixels before rounding. */
static void max_edges(float a1, float a2, int dim, int size, int *lo, int *hi)
{
    const double big = 1073741824.0;
    double s = round(fmin(fmax(a1, -big), big)), e = round(fmin(fmax(a2, -big), big));
    long long start = (long long)s, len = (long long)e - start + 1;
    if (len < 1) len = 1;
    for (int b = 0; b < size; b++) {
        long long l = start + (long long)b * len / size;
        long long r = start + ((long long)(b + 1) * len + size - 1) / size;
        lo[b] = (int)(l < 0 ? 0 : l > dim ? dim : l);
        hi[b] = (int)(r < 0 ? 0 : r > dim ? dim : r);
    }
}

typedef int i4 __attribute__((vector_size(16)));

/* One channel: each bin scanned in row-major order from its first pixel, a later
 * pixel taken only when strictly greater. base is the channel's first index. */
static void max_forward1(const float *m, int w, int size, const int *ylo, const int *yhi, const int *xlo,
                         const int *xhi, int base, float *out, int *argmax)
{
    for (int py = 0; py < size; py++) {
        for (int px = 0; px < size; px++, out++, argmax++) {
            if (ylo[py] >= yhi[py] || xlo[px] >= xhi[px]) {
                *out = 0;
                *argmax = -1;
                continue;
            }
            int best = ylo[py] * w + xlo[px];
            float mx = m[best];
            for (int y = ylo[py]; y < yhi[py]; y++) {
                const float *r = m + y * w;
                for (int x = xlo[px]; x < xhi[px]; x++)
                    if (r[x] > mx) mx = r[x], best = y * w + x;
            }
            *out = mx;
            *argmax = base + best;
        }
    }
}

/* max_forward1 for four channels at once (map, out and argmax at the first one's):
 * each row of a bin row is interleaved (r4[x] holds pixel x of the four, by 4x4
 * transposes), then every bin keeps four maxima and four arg-maxima in vectors and
 * takes a pixel where it is strictly greater, without a branch: the same comparisons
 * in the same order. */
static void max_forward4(const float *m, int h, int w, int size, const int *ylo, const int *yhi, const int *xlo,
                         const int *xhi, int base, float *out, int *argmax)
{
    size_t plane = (size_t)h * w, ss = (size_t)size * size;
    int x0 = w, x1 = 0;
    for (int px = 0; px < size; px++)
        if (xlo[px] < xhi[px]) x0 = xlo[px] < x0 ? xlo[px] : x0, x1 = xhi[px] > x1 ? xhi[px] : x1;
    int nx = x1 > x0 ? x1 - x0 : 0;
    f4 r4[nx + 1], mx[size];
    i4 at[size];
    for (int py = 0; py < size; py++) {
        float *o = out + (size_t)py * size;
        int *a = argmax + (size_t)py * size;
        if (ylo[py] >= yhi[py] || nx == 0) {
            for (int q = 0; q < 4; q++)
                for (int px = 0; px < size; px++) o[q * ss + px] = 0, a[q * ss + px] = -1;
            continue;
        }
        for (int px = 0; px < size; px++) {
            int i = ylo[py] * w + (xlo[px] < xhi[px] ? xlo[px] : 0);
            mx[px] = (f4){m[i], m[plane + i], m[2 * plane + i], m[3 * plane + i]};
            at[px] = (i4){i, i, i, i};
        }
        for (int y = ylo[py]; y < yhi[py]; y++) {
            const float *r = m + (size_t)y * w + x0;
            int x = 0;
            for (; x + 4 <= nx; x += 4)
                f4_transpose(f4_load(r + x), f4_load(r + plane + x), f4_load(r + 2 * plane + x),
                             f4_load(r + 3 * plane + x), r4 + x);
            for (; x < nx; x++) r4[x] = (f4){r[x], r[plane + x], r[2 * plane + x], r[3 * plane + x]};
            for (int px = 0; px < size; px++) {
                f4 best = mx[px];
                i4 where = at[px];
                for (int x = xlo[px]; x < xhi[px]; x++) {
                    f4 v = r4[x - x0];
                    i4 gt = v > best, i = {y * w + x, y * w + x, y * w + x, y * w + x};
                    best = (f4)(((i4)v & gt) | ((i4)best & ~gt));
                    where = (i & gt) | (where & ~gt);
                }
                mx[px] = best;
                at[px] = where;
            }
        }
        for (int px = 0; px < size; px++)
            for (int q = 0; q < 4; q++) {
                int empty = xlo[px] >= xhi[px];
                o[q * ss + px] = empty ? 0 : mx[px][q];
                a[q * ss + px] = empty ? -1 : base + (int)(q * plane) + at[px][q];
            }
    }
}

void roi_max_forward(const float *map, int c, int h, int w, const float roi[4], int size,
                     float *out, int *argmax)
{
    assert(c > 0 && h > 0 && w > 0 && size > 0);
    int ylo[size], yhi[size], xlo[size], xhi[size];
    if (!(isfinite(roi[0]) && isfinite(roi[1]) && isfinite(roi[2]) && isfinite(roi[3]))) {
        for (long i = 0; i < (long)c * size * size; i++) out[i] = 0, argmax[i] = -1;
        return;
    }
    max_edges(roi[1], roi[3], h, size, ylo, yhi);
    max_edges(roi[0], roi[2], w, size, xlo, xhi);
    size_t plane = (size_t)h * w, ss = (size_t)size * size;
    int ch = 0;
    for (; ch + 4 <= c; ch += 4)
        max_forward4(map + ch * plane, h, w, size, ylo, yhi, xlo, xhi, (int)(ch * plane), out + ch * ss,
                     argmax + ch * ss);
    for (; ch < c; ch++)
        max_forward1(map + ch * plane, w, size, ylo, yhi, xlo, xhi, (int)(ch * plane), out + ch * ss,
                     argmax + ch * ss);
}

void roi_max_backward(const float *dout, const int *argmax, int c, int size, float *dmap)
{
    long n = (long)c * size * size;
    for (long i = 0; i < n; i++)
        if (argmax[i] >= 0) dmap[argmax[i]] += dout[i];
}
