/* im2col.c: im2col_cpu and col2im_cpu, replacing libdarknet's (which call a function
 * per pixel): whole rows at a time, with the padding filled around them. With our
 * gemm they are split over the kernels' pool (im2col by rows of col, col2im by
 * channels of the image, each channel's additions in libdarknet's order); with
 * OpenBLAS's, whose threads start on the gemm that follows, they run in the caller
 * (the pool's workers, still spinning after a loop, would take a core from them).
 * Same results bit for bit. */
#define _GNU_SOURCE
#include "im2col.h"
#include "gemm.h"
#include "pool.h"

#include <dlfcn.h>
#include <string.h>

typedef struct {
    float *im, *col;
    int channels, height, width, ksize, stride, pad, hc, wc;
    int h0, h1; /* col2im: col holds the output rows [h0, h1) only */
} conv_args;

typedef void (*conv_fn)(float *, int, int, int, int, int, int, float *);

/* libdarknet's own, for comparisons (OHEM_IM2COL=darknet, ohem_im2col_select). */
static conv_fn darknet_im2col, darknet_col2im;

int ohem_im2col_select(const char *name)
{
    if (!strcmp(name, "plugin")) {
        darknet_im2col = darknet_col2im = NULL;
        return 0;
    }
    if (strcmp(name, "darknet")) return -1;
    darknet_im2col = (conv_fn)dlsym(RTLD_NEXT, "im2col_cpu");
    darknet_col2im = (conv_fn)dlsym(RTLD_NEXT, "col2im_cpu");
    return darknet_im2col && darknet_col2im ? 0 : -1;
}

void ohem_im2col_span(int kx, int stride, int pad, int width, int wc, int *w0, int *w1)
{
    int lo = pad - kx > 0 ? (pad - kx + stride - 1) / stride : 0;
    int num = width - 1 + pad - kx;
    int hi = num < 0 ? 0 : num / stride + 1;
    if (hi > wc) hi = wc;
    if (lo > hi) lo = hi;
    *w0 = lo;
    *w1 = hi;
}

/* Rows [b, e) of col (channel, ky, kx). */
static void im2col_part(void *ctx, long b, long e)
{
    const conv_args *a = ctx;
    int ksize = a->ksize, stride = a->stride, pad = a->pad, width = a->width, height = a->height;
    int hc = a->hc, wc = a->wc;
    for (long c = b; c < e; c++) {
        int kx = c % ksize, ky = (c / ksize) % ksize, ci = c / ksize / ksize;
        const float *plane = a->im + (size_t)ci * height * width;
        int w0, w1;
        ohem_im2col_span(kx, stride, pad, width, wc, &w0, &w1);
        for (int h = 0; h < hc; h++) {
            float *dst = a->col + ((size_t)c * hc + h) * wc;
            int row = ky + h * stride - pad;
            if (row < 0 || row >= height) {
                memset(dst, 0, wc * sizeof(float));
                continue;
            }
            const float *src = plane + (size_t)row * width;
            int x0 = kx - pad;
            memset(dst, 0, w0 * sizeof(float));
            if (stride == 1) memcpy(dst + w0, src + x0 + w0, (w1 - w0) * sizeof(float));
            else
                for (int w = w0; w < w1; w++) dst[w] = src[x0 + w * stride];
            memset(dst + w1, 0, (wc - w1) * sizeof(float));
        }
    }
}

static conv_args conv_of(float *im, float *col, int channels, int height, int width, int ksize, int stride, int pad)
{
    int hc = (height + 2 * pad - ksize) / stride + 1, wc = (width + 2 * pad - ksize) / stride + 1;
    return (conv_args){im, col, channels, height, width, ksize, stride, pad, hc, wc, 0, hc};
}

/* fn over items [0, n) of about `each` floats: split over the pool with our gemm,
 * in the caller with OpenBLAS's (see the top). */
static void conv_for(long n, long each, ohem_pool_fn fn, conv_args *a)
{
    if (ohem_gemm_is_ours()) ohem_pool_for(n, ohem_pool_grain(each), fn, a);
    else fn(a, 0, n);
}

/* im is (channels, height, width); col is (channels*ksize*ksize, hc*wc). */
void im2col_cpu(float *im, int channels, int height, int width, int ksize, int stride, int pad, float *col)
{
    if (darknet_im2col) {
        darknet_im2col(im, channels, height, width, ksize, stride, pad, col);
        return;
    }
    conv_args a = conv_of(im, col, channels, height, width, ksize, stride, pad);
    conv_for((long)channels * ksize * ksize, (long)a.hc * a.wc, im2col_part, &a);
}

/* dst (n) += src (n): one addition per element, so vectorising it keeps the
 * results (and col2im's order of additions into each pixel). */
static void add_row(float *restrict dst, const float *restrict src, int n)
{
    for (int w = 0; w < n; w++) dst[w] += src[w];
}

/* Channels [b, e) of the image: each adds its ksize*ksize rows of col in order.
 * Built for AVX-512, AVX2 and the baseline, the loader picking one (as kernels.c's
 * loops): the same additions in the same order. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void col2im_part(void *ctx, long b, long e)
{
    const conv_args *a = ctx;
    int ksize = a->ksize, stride = a->stride, pad = a->pad, width = a->width, height = a->height;
    int h0 = a->h0, h1 = a->h1, wc = a->wc;
    for (long c = b * ksize * ksize; c < e * ksize * ksize; c++) {
        int kx = c % ksize, ky = (c / ksize) % ksize, ci = c / ksize / ksize;
        float *plane = a->im + (size_t)ci * height * width;
        int w0, w1;
        ohem_im2col_span(kx, stride, pad, width, wc, &w0, &w1);
        for (int h = h0; h < h1; h++) {
            int row = ky + h * stride - pad;
            if (row < 0 || row >= height) continue;
            const float *src = a->col + ((size_t)c * (h1 - h0) + h - h0) * wc;
            float *dst = plane + (size_t)row * width;
            int x0 = kx - pad;
            if (stride == 1) add_row(dst + x0 + w0, src + w0, w1 - w0);
            else
                for (int w = w0; w < w1; w++) dst[x0 + w * stride] += src[w];
        }
    }
}

/* col is (channels*ksize*ksize, hc*wc); adds into im, (channels, height, width). */
void col2im_cpu(float *col, int channels, int height, int width, int ksize, int stride, int pad, float *im)
{
    if (darknet_col2im) {
        darknet_col2im(col, channels, height, width, ksize, stride, pad, im);
        return;
    }
    conv_args a = conv_of(im, col, channels, height, width, ksize, stride, pad);
    conv_for(channels, (long)ksize * ksize * a.hc * a.wc, col2im_part, &a);
}

void ohem_col2im_rows(const float *col, int channels, int height, int width, int ksize, int stride, int pad, int h0,
                      int h1, float *im)
{
    conv_args a = conv_of(im, (float *)col, channels, height, width, ksize, stride, pad);
    a.h0 = h0, a.h1 = h1;
    conv_for(channels, (long)ksize * ksize * (h1 - h0) * a.wc, col2im_part, &a);
}
