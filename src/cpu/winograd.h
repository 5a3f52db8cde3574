/* winograd.h: 3 x 3, stride-1, pad-1 convolutions by Winograd's minimal filtering
 * F(2x2, 3x3) (winograd.c): the forward, and the input's delta as a forward of
 * delta with the weights turned round. */
#ifndef OHEM_WINOGRAD_H
#define OHEM_WINOGRAD_H

/* The floats of a transformed weight set: 16 x f x c. */
static inline long ohem_winograd_u_floats(int f, int c)
{
    return 16L * f * c;
}

/* The transformed weights u = G g G' of each 3 x 3 kernel g, as 16 matrices of f
 * rows x c columns (u[xi][a][b]). Not turned: f filters of c channels, g = w[a][b]
 * (w: f x c x 3 x 3, libdarknet's weights). Turned (a layer's input delta): f is the
 * layer's channels and c its filters (w: c x f x 3 x 3), and g = w[b][a] turned
 * round (g[y][x] = w[b][a][2 - y][2 - x]). Split over the kernels' pool. */
void ohem_winograd_weights(int f, int c, const float *w, int turned, float *u);

/* out_i = u * in_i + beta out_i for each of batch images: in_i (c x h x w, at in +
 * i in_stride) convolved with 3 x 3 kernels, stride 1, pad 1, into out_i (f x h x w,
 * at out + i out_stride); u from ohem_winograd_weights. Each output is the sum over
 * channels of 16 products, taken by our gemm (sgemm.h), transformed back: float
 * rounding of the direct sum (a few ulps more). Split over the kernels' pool, by
 * blocks of about 64 tiles of 2 x 2 outputs. */
void ohem_winograd_conv(int batch, int c, int h, int w, int f, const float *u, const float *in, long in_stride,
                        float *out, long out_stride, float beta);

/* wu (f x c x 3 x 3) += the weight gradient of that convolution: for each kernel,
 * the sum over images of delta_i (f x h x w, at delta + i delta_stride) correlated
 * with in_i (c x h x w, pad 1). Float rounding of the direct sum; the same bits
 * whatever the threads. */
void ohem_winograd_grad(int batch, int c, int h, int w, int f, const float *in, long in_stride, const float *delta,
                        long delta_stride, float *wu);

#endif
