/* bench_roi.c: `make bench` (after bench/bench). Time per RoI of RoIAlign forward and
 * backward (sampling 2, and adaptive), on the (c, h, w) map and on its HWC copy
 * (roi_align_map_hwc, and roi_align_map_chw after the backward, timed once per 256
 * RoIs as [roipool] does them once per image),
 * and of RoI max pooling, with 256 RoIs of random size on two maps: 256 channels,
 * 26 x 26, size 7, and cfg/fashion-frcnn.cfg's 64 channels, 16 x 16, size 5 (RoIs of
 * 1.5 to 8 cells). One thread, best of several repetitions (CLOCK_MONOTONIC). For
 * scale, also a per-sample-point RoIAlign forward (four indices and four weights
 * precomputed per point, then every channel), the usual CPU layout.
 * Prints a markdown section to stdout and, with -a, appends it to FILE too. -bits
 * runs the HWC functions on that set of vectors (roi_align_hwc_select: 512, 256 or
 * 128) instead of the widest the CPU has.
 *   bench/bench_roi [-quick] [-a FILE] [-bits N] */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "roi_align.h"
#include "bench_util.h"

enum { NROI = 256 };

/* the map and output of the section being run */
static int C, H, W, SIZE;


static uint64_t rng = 88172645463325252ull;
static float unit(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (rng >> 40) / 16777216.0f;
}

/* The per-point layout for comparison: for each bin and point, four map offsets and
 * four weights, then per channel a loop over bins and points. Fixed sampling only. */
static void point_align_forward(const float *map, const float roi[4], int sampling, float *dst)
{
    int np = SIZE * SIZE * sampling * sampling, k = 0;
    int idx[np][4];
    float wt[np][4];
    float bh = (roi[3] - roi[1]) / SIZE, bw = (roi[2] - roi[0]) / SIZE;
    for (int py = 0; py < SIZE; py++)
        for (int px = 0; px < SIZE; px++)
            for (int iy = 0; iy < sampling; iy++)
                for (int ix = 0; ix < sampling; ix++, k++) {
                    float y = roi[1] - 0.5f + py * bh + (iy + 0.5f) * bh / sampling;
                    float x = roi[0] - 0.5f + px * bw + (ix + 0.5f) * bw / sampling;
                    if (y < -1 || y > H || x < -1 || x > W) {
                        memset(idx[k], 0, sizeof(idx[k]));
                        memset(wt[k], 0, sizeof(wt[k]));
                        continue;
                    }
                    y = y <= 0 ? 0 : y;
                    x = x <= 0 ? 0 : x;
                    int y0 = (int)y, x0 = (int)x, y1 = y0 + 1, x1 = x0 + 1;
                    if (y0 >= H - 1) y0 = y1 = H - 1, y = (float)y0;
                    if (x0 >= W - 1) x0 = x1 = W - 1, x = (float)x0;
                    float ly = y - y0, lx = x - x0, hy = 1 - ly, hx = 1 - lx;
                    idx[k][0] = y0 * W + x0, idx[k][1] = y0 * W + x1;
                    idx[k][2] = y1 * W + x0, idx[k][3] = y1 * W + x1;
                    wt[k][0] = hy * hx, wt[k][1] = hy * lx, wt[k][2] = ly * hx, wt[k][3] = ly * lx;
                }
    int per = sampling * sampling;
    float inv = 1.0f / per;
    for (int c = 0; c < C; c++) {
        const float *m = map + c * H * W;
        for (int b = 0; b < SIZE * SIZE; b++) {
            float s = 0;
            for (int p = b * per; p < (b + 1) * per; p++)
                s += wt[p][0] * m[idx[p][0]] + wt[p][1] * m[idx[p][1]] + wt[p][2] * m[idx[p][2]] +
                     wt[p][3] * m[idx[p][3]];
            *dst++ = s * inv;
        }
    }
}

typedef struct {
    const float *map, *dout;
    float *hwc;  /* the map's HWC copy, remade by run_align_hwc at RoI 0 */
    float *dhwc; /* dmap in HWC for run_align_bwd_hwc: taken there at RoI 0, back at the last */
    float *out, *dmap;
    int *argmax;
    float (*rois)[4];
    int sampling;
} bench_args;

typedef void (*bench_fn)(const bench_args *a, int r);

static void run_align_fwd(const bench_args *a, int r)
{
    roi_align_forward(a->map, C, H, W, a->rois[r], SIZE, a->sampling, a->out + (size_t)r * C * SIZE * SIZE);
}
static void run_align_hwc(const bench_args *a, int r)
{
    if (r == 0) roi_align_map_hwc(a->map, C, H, W, a->hwc);
    roi_align_forward_hwc(a->hwc, C, H, W, a->rois[r], SIZE, a->sampling, a->out + (size_t)r * C * SIZE * SIZE);
}
static void run_align_bwd(const bench_args *a, int r)
{
    roi_align_backward(a->dout + (size_t)r * C * SIZE * SIZE, C, H, W, a->rois[r], SIZE, a->sampling, a->dmap);
}
static void run_align_bwd_hwc(const bench_args *a, int r)
{
    if (r == 0) roi_align_map_hwc(a->dmap, C, H, W, a->dhwc);
    roi_align_backward_hwc(a->dout + (size_t)r * C * SIZE * SIZE, C, H, W, a->rois[r], SIZE, a->sampling, a->dhwc);
    if (r == NROI - 1) roi_align_map_chw(a->dhwc, C, H, W, a->dmap);
}
static void run_align_both(const bench_args *a, int r)
{
    run_align_hwc(a, r);
    run_align_bwd_hwc(a, r);
}
static void run_point_fwd(const bench_args *a, int r)
{
    point_align_forward(a->map, a->rois[r], a->sampling, a->out + (size_t)r * C * SIZE * SIZE);
}
static void run_max_fwd(const bench_args *a, int r)
{
    size_t o = (size_t)r * C * SIZE * SIZE;
    roi_max_forward(a->map, C, H, W, a->rois[r], SIZE, a->out + o, a->argmax + o);
}
static void run_max_bwd(const bench_args *a, int r)
{
    size_t o = (size_t)r * C * SIZE * SIZE;
    roi_max_backward(a->dout + o, a->argmax + o, C, SIZE, a->dmap);
}

/* Seconds for one pass over all RoIs: the RoIs in chunks of 16 (short, so rarely interrupted),
 * each chunk timed reps times and its best kept, so that a pass interrupted by
 * another process on a shared machine does not count. */
static double best_of(bench_fn fn, const bench_args *a, int reps)
{
    double total = 0;
    for (int r0 = 0; r0 < NROI; r0 += 16) {
        double best = 1e30;
        for (int k = 0; k < reps; k++) {
            double t = now();
            for (int r = r0; r < r0 + 16 && r < NROI; r++) fn(a, r);
            t = now() - t;
            if (t < best) best = t;
        }
        total += best;
    }
    return total;
}

static void row(const char *what, double sec)
{
    double per_roi = sec / NROI;
    out("| %s | %.2f us/RoI, %.2f ns/output |\n", what, per_roi * 1e6, per_roi * 1e9 / (C * SIZE * SIZE));
}

/* One table: c channels, an h x w map, size x size bins, RoIs of lo to hi cells a
 * side anywhere inside the map. Returns 0, or 1 out of memory or on a non-finite
 * result. */
static int section(int c, int h, int w, int size, float lo, float hi, int reps)
{
    C = c, H = h, W = w, SIZE = size;
    size_t nout = (size_t)NROI * C * SIZE * SIZE;
    float *map = malloc(sizeof(float) * C * H * W), *dmap = calloc(C * H * W, sizeof(float));
    float *hwc = malloc(sizeof(float) * roi_align_hwc_channels(C) * H * W);
    float *dhwc = malloc(sizeof(float) * roi_align_hwc_channels(C) * H * W);
    float *feat = malloc(sizeof(float) * nout), *ref = malloc(sizeof(float) * nout);
    float *dout = malloc(sizeof(float) * nout);
    int *argmax = malloc(sizeof(int) * nout);
    float(*rois)[4] = malloc(sizeof(float[4]) * NROI);
    if (!map || !dmap || !hwc || !dhwc || !feat || !ref || !dout || !argmax || !rois) {
        fprintf(stderr, "bench_roi: out of memory\n");
        return 1;
    }
    for (int i = 0; i < C * H * W; i++) map[i] = unit() * 2 - 1;
    for (size_t i = 0; i < nout; i++) dout[i] = unit() * 2 - 1;
    for (int r = 0; r < NROI; r++) {
        float bw = lo + (hi - lo) * unit(), bh = lo + (hi - lo) * unit();
        float x = unit() * (W - bw), y = unit() * (H - bh);
        rois[r][0] = x, rois[r][1] = y, rois[r][2] = x + bw, rois[r][3] = y + bh;
    }
    bench_args a = {map, dout, hwc, dhwc, feat, dmap, argmax, rois, 2};

    out("\n%d channels, %dx%d map, output %dx%d, %d RoIs of %g..%g pixels a side (one thread, no BLAS;\n",
        C, H, W, SIZE, SIZE, NROI, lo, hi);
    out("each chunk of 16 RoIs timed %d times, best kept).\n\n", reps);
    out("| measurement | result |\n|---|---|\n");
    double tf = best_of(run_align_fwd, &a, reps);
    row("RoIAlign forward, sampling 2", tf);
    memcpy(ref, feat, sizeof(float) * nout);
    double th = best_of(run_align_hwc, &a, reps);
    int same = !memcmp(ref, feat, sizeof(float) * nout);
    row(same ? "RoIAlign forward from HWC, sampling 2 (the same bytes)"
             : "RoIAlign forward from HWC, sampling 2 (DIFFERENT bytes)",
        th);
    double tb = best_of(run_align_bwd, &a, reps);
    row("RoIAlign backward, sampling 2", tb);
    double tbh = best_of(run_align_bwd_hwc, &a, reps);
    row("RoIAlign backward into HWC, sampling 2", tbh);
    row("RoIAlign forward + backward in HWC, sampling 2", best_of(run_align_both, &a, reps));
    double tp = best_of(run_point_fwd, &a, reps);
    double diff = 0;
    for (size_t i = 0; i < nout; i++) diff = fmax(diff, fabs(feat[i] - ref[i]));
    char what[160];
    snprintf(what, sizeof(what), "for scale: per-point RoIAlign forward, sampling 2 (max abs difference %.1e)", diff);
    row(what, tp);
    a.sampling = 0;
    row("RoIAlign forward, adaptive sampling (sampling 0)", best_of(run_align_fwd, &a, reps));
    row("RoIAlign forward from HWC, adaptive sampling", best_of(run_align_hwc, &a, reps));
    row("RoIAlign backward, adaptive sampling", best_of(run_align_bwd, &a, reps));
    row("RoIAlign backward into HWC, adaptive sampling", best_of(run_align_bwd_hwc, &a, reps));
    row("RoI max pooling forward", best_of(run_max_fwd, &a, reps));
    row("RoI max pooling backward", best_of(run_max_bwd, &a, reps));
    out("\nsampling 2: forward from HWC %.2fx faster, backward into HWC %.2fx; the per-point layout %.2fx slower\n",
        tf / th, tb / tbh, tp / tf);
    double sum = 0;
    for (int i = 0; i < C * H * W; i++) sum += dmap[i];
    free(map);
    free(dmap);
    free(hwc);
    free(dhwc);
    free(feat);
    free(ref);
    free(dout);
    free(argmax);
    free(rois);
    return !isfinite(sum) || !same;
}

int main(int argc, char **argv)
{
    int reps = 15, bits = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-quick")) {
            reps = 3;
        } else if (!strcmp(argv[i], "-bits") && i + 1 < argc) {
            bits = atoi(argv[++i]);
            if (roi_align_hwc_select(bits) != 0) {
                fprintf(stderr, "bench_roi: -bits %s: expected 512, 256 or 128 that this CPU runs\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "-a") && i + 1 < argc) {
            if (!(report = fopen(argv[++i], "a"))) {
                fprintf(stderr, "bench_roi: cannot append to %s\n", argv[i]);
                return 1;
            }
        } else {
            fprintf(stderr, "usage: bench_roi [-quick] [-a FILE] [-bits N]\n");
            return 2;
        }
    }
    char cpu[256] = "?";
    cpu_model(cpu, sizeof(cpu));
    out("\n## RoI feature extraction (bench/bench_roi)\n");
    out("\nMachine: %s, %ld cores online; the HWC functions on %s vectors.\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
        bits == 512 ? "512-bit" : bits == 256 ? "256-bit" : bits == 128 ? "128-bit" : "the widest");
    if (section(256, 26, 26, 7, 2, 26, reps) || section(64, 16, 16, 5, 1.5f, 8, reps)) return 1;
    if (report && fclose(report)) {
        fprintf(stderr, "bench_roi: cannot write the report\n");
        return 1;
    }
    return 0;
}
