/* sgemm.h: a single-precision gemm of our own for CPUs with AVX-512 (sgemm.c). */
#ifndef OHEM_SGEMM_H
#define OHEM_SGEMM_H

/* 1 when the CPU and the operating system run the kernels named: 512 (AVX-512: F,
 * CD, BW, DQ, VL) or 256 (AVX2 and FMA). */
int ohem_sgemm_available(int set);

/* The kernels to use from now on, 512 (the default) or 256; -1 when the CPU lacks
 * them. */
int ohem_sgemm_use(int set);

/* The kernels in use: 512 or 256. */
int ohem_sgemm_kernels(void);

/* C = alpha op(A) op(B) + beta C, row-major: op(A) is m x k (A is k x m when ta),
 * op(B) is k x n (B is n x k when tb), C is m x n. beta 0 never reads C. Split over
 * the kernels' pool. Only where the kernels in use are available. */
void ohem_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                float beta, float *c, int ldc);

/* An image as the B of a gemm, through its im2col (never written out): col is
 * (channels * ksize * ksize) x (hc * wc), libdarknet's im2col_cpu layout. */
typedef struct {
    const float *im; /* (channels, height, width) */
    int channels, height, width, ksize, stride, pad;
} ohem_im2col_src;

/* ohem_sgemm with B = col (tb 0: k = channels ksize^2, n = hc wc) or col' (tb 1:
 * k = hc wc, n = channels ksize^2): a convolution's forward and weight gradient
 * without the im2col pass; the same results as im2col_cpu then ohem_sgemm, bit for
 * bit. */
void ohem_sgemm_im2col(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                       const ohem_im2col_src *b, float beta, float *c, int ldc);

/* A convolution's gemms over a batch of images, as one split of the pool (the
 * images' im at src->im + i im_stride): the forward, out_i (m x n) = w (m x k)
 * col_i + beta out_i for each image (out + i out_stride), the same bits as
 * ohem_sgemm_im2col image by image; and the weight gradient, wu (m x n) += the sum
 * over images of delta_i (m x k, delta + i delta_stride) col_i': in image order,
 * the same bits as ohem_sgemm_im2col(0, 1, ..., beta 1) image by image, except for
 * few filters (at most 64 with stride 1, or a gradient of at most 32 x 32), which
 * sum fixed groups of images (float rounding of that; the same bits whatever the
 * threads). */
void ohem_sgemm_conv_forward(int batch, int m, int n, int k, const float *w, const ohem_im2col_src *src,
                             long im_stride, float *out, long out_stride, float beta);
/* 1 when ohem_sgemm_conv_forward of m rows and k = channels ksize^2 reads src's
 * image in place (a stride-1 convolution with few filters and output rows of at
 * least a panel, on the AVX-512 kernels), rather than packing its im2col. */
int ohem_sgemm_conv_direct(int m, int k, const ohem_im2col_src *src);
void ohem_sgemm_conv_weights(int batch, int m, int n, int k, const float *delta, long delta_stride,
                             const ohem_im2col_src *src, long im_stride, float *wu);

#endif
