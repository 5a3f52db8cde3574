/* kernels.h: libdarknet's hot non-gemm loops, replaced through the PLT as gemm is
 * (activations, batch normalisation, bias, max pooling, upsampling, the
 * convolutional layer's update, the blas-like helpers): the same results to float rounding, in memory order that the compiler
 * vectorises, split over a small thread pool where a loop is large. */
#ifndef OHEM_KERNELS_H
#define OHEM_KERNELS_H

#include "darknet.h"

/* The replaced functions that darknet.h does not declare (fill_cpu, copy_cpu,
 * axpy_cpu, scal_cpu and normalize_cpu it does), as libdarknet defines them. */
void activate_array(float *x, const int n, const ACTIVATION a);
void gradient_array(const float *x, const int n, const ACTIVATION a, float *delta);
void mean_cpu(float *x, int batch, int filters, int spatial, float *mean);
void variance_cpu(float *x, float *mean, int batch, int filters, int spatial, float *variance);
void scale_bias(float *output, float *scales, int batch, int n, int size);
void add_bias(float *output, float *biases, int batch, int n, int size);
void backward_bias(float *bias_updates, float *delta, int batch, int n, int size);
void backward_scale_cpu(float *x_norm, float *delta, int batch, int n, int size, float *scale_updates);
void mean_delta_cpu(float *delta, float *variance, int batch, int filters, int spatial, float *mean_delta);
void variance_delta_cpu(float *x, float *delta, float *mean, float *variance, int batch, int filters, int spatial,
                        float *variance_delta);
void normalize_delta_cpu(float *x, float *mean, float *variance, float *mean_delta, float *variance_delta, int batch,
                         int filters, int spatial, float *delta);
void forward_maxpool_layer(const layer l, network net);
void backward_maxpool_layer(const layer l, network net);
void upsample_cpu(float *in, int w, int h, int c, int batch, int stride, int forward, float scale, float *out);
void forward_convolutional_layer(layer l, network net);
void backward_convolutional_layer(layer l, network net);
void forward_batchnorm_layer(layer l, network net);
void backward_batchnorm_layer(layer l, network net);
void update_convolutional_layer(layer l, update_args a);
void forward_connected_layer(layer l, network net);
/* for the tests: libdarknet's maxpool, convolutional and connected layers */
layer make_convolutional_layer(int batch, int h, int w, int c, int n, int groups, int size, int stride, int padding,
                               ACTIVATION activation, int batch_normalize, int binary, int xnor, int adam);
layer make_maxpool_layer(int batch, int h, int w, int c, int size, int stride, int padding);
layer make_connected_layer(int batch, int inputs, int outputs, ACTIVATION activation, int batch_normalize, int adam);

/* AlexeyAB's activations, which libdarknet's ACTIVATION lacks: values past its
 * last (SELU), set by the plugin's parser on [convolutional] layers only, so no
 * libdarknet code ever sees them. Their gradient needs the pre-activation value:
 * such a layer keeps it in l.h_cpu (a field only [gru] and [lstm] use),
 * (batch, outputs), allocated by ohem_conv_act_alloc and freed by free_network;
 * batch-norm layers keep it too (it could be recomputed from x_norm, scales and
 * biases), so that one path serves both. */
enum {
    OHEM_MISH = 100,  /* x tanh(softplus(x)), softplus with AlexeyAB's threshold 20 */
    OHEM_SWISH,       /* x logistic(x) */
    OHEM_HARD_MISH,   /* x for x > 0, x^2 / 2 + x on (-2, 0], 0 below */
    OHEM_RELU6,       /* min(max(x, 0), 6) */
};

/* The activation for a cfg word (mish, swish, hard_mish, relu6), or -1. */
int ohem_act_of_word(const char *word);
/* 1 for an OHEM_ value. */
int ohem_act_is_ours(int act);
/* x [n]: pre = x, x = act(x) (pre may be NULL). */
void ohem_act_forward(float *x, float *pre, long n, int act);
/* delta [n] *= act'(pre). */
void ohem_act_gradient(const float *pre, long n, int act, float *delta);
/* (Re)allocates l's pre-activation buffer for its outputs x batch when its
 * activation is ours; 0, or -1 out of memory. */
int ohem_conv_act_alloc(layer *l);
/* Frees it (NULL after). */
void ohem_conv_act_free(layer *l);

/* "plugin" (ours) or "darknet" (libdarknet's own, found with dlsym(RTLD_NEXT));
 * returns 0, or -1 for another name or when the library's are not found.
 * OHEM_KERNELS sets it at start-up. */
int ohem_kernels_select(const char *name);

/* Threads of the kernels' pool, the caller included. */
void ohem_kernels_threads(int threads);

/* 1 (the default, OHEM_CONV=auto): the path of each convolution as planned
 * (plan.h), or by the fixed rules where none was: 3 x 3 stride-1 convolutions with
 * enough channels by Winograd's F(2x2, 3x3) (winograd.h) on our gemm; 0 (gemm):
 * every convolution by im2col and gemm; 2 (winograd): every 3 x 3, stride-1, pad-1
 * convolution by Winograd, where our gemm runs. OHEM_CONV sets it at start-up. */
void ohem_kernels_winograd(int on);

/* 1 (the default): a convolutional layer's forward when not training (net.train 0)
 * takes the inference path: batch norm folded into a scale and a bias per filter,
 * applied with the activation (AlexeyAB's too) in one pass over the output; 0: the
 * training forward's passes (libdarknet's batch norm, then the activation).
 * OHEM_INFER=off sets 0 at start-up. */
void ohem_kernels_infer(int on);
/* 1 when the convolutions' paths may be planned: our kernels (not OHEM_KERNELS=
 * darknet) and OHEM_CONV=auto. */
int ohem_kernels_planned(void);

#endif
