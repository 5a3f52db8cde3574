/* test_kernels.c: every kernel that replaces one of libdarknet's (src/cpu/kernels.c)
 * against the library's own, found with dlsym(RTLD_NEXT), on random shapes (odd
 * sizes, batch 1, loops large enough for the thread pool), forward and backward; and
 * three training steps of a real cfg with our kernels against three with
 * libdarknet's, from the same initial weights. Element-wise results must be equal to
 * the bit (but for normalize_delta_cpu, whose divisions libdarknet's -Ofast build
 * turns into other roundings); sums (taken in double here, in float in libdarknet)
 * agree to float rounding of the sum's terms. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "darknet.h"
#include "kernels.h"
#include "act_oracle.h"
#include "parser.h"
#include "gemm.h"
#include "plan.h"
#include "oracle.h"

float train_network_datum(network *net);

/* libdarknet's own, looked up past our definitions. */
static void *orig(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        print_error("libdarknet's %s not found\n", name);
        fail();
    }
    return f;
}

static float *randv(long n, float lo, float hi)
{
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (long i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng_unit();
    return v;
}

static float *dup_v(const float *v, long n)
{
    float *d = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    memcpy(d, v, (size_t)n * sizeof(float));
    return d;
}

/* a and b (n) equal to the bit. */
static void same(const char *what, const float *a, const float *b, long n)
{
    for (long i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float))) {
            print_error("%s: element %ld: ours %.9g, libdarknet's %.9g\n", what, i, a[i], b[i]);
            fail();
        }
}

/* a and b (n) agree within tol relative to scale (the size of the terms summed). */
static void close_to(const char *what, const float *a, const float *b, long n, double scale, double tol)
{
    for (long i = 0; i < n; i++)
        if (!(fabs((double)a[i] - b[i]) <= tol * (scale + fabs((double)b[i])))) {
            print_error("%s: element %ld: ours %.9g, libdarknet's %.9g (tolerance %g x %g)\n", what, i, a[i], b[i],
                        tol, scale + fabs((double)b[i]));
            fail();
        }
}

/* (batch, filters, spatial) shapes: batch 1, odd sizes, and sizes past the pool's
 * grain so that the threads split the loops. */
static const int shapes[][3] = {{1, 1, 1}, {1, 3, 7}, {2, 5, 13}, {3, 7, 169}, {1, 16, 4096}, {2, 33, 1331}, {2, 3, 40001}};
#define NSHAPES (int)(sizeof(shapes) / sizeof(shapes[0]))

static void test_elementwise(void **state)
{
    (void)state;
    void (*act)(float *, int, ACTIVATION) = orig("activate_array");
    void (*grad)(const float *, int, ACTIVATION, float *) = orig("gradient_array");
    void (*fill)(int, float, float *, int) = orig("fill_cpu");
    void (*copy)(int, float *, int, float *, int) = orig("copy_cpu");
    void (*axpy)(int, float, float *, int, float *, int) = orig("axpy_cpu");
    void (*scal)(int, float, float *, int) = orig("scal_cpu");
    static const ACTIVATION acts[] = {LEAKY, LINEAR, LOGISTIC, RELU, TANH};
    static const int ns[] = {1, 7, 1000, 40001, 300001};
    rng_seed(11);
    for (int t = 0; t < 5; t++) {
        long n = ns[t];
        char what[64];
        for (int k = 0; k < 5; k++) {
            float *x = randv(n, -3, 3), *y = dup_v(x, n);
            activate_array(x, (int)n, acts[k]);
            act(y, (int)n, acts[k]);
            snprintf(what, sizeof(what), "activate_array n=%ld act=%d", n, acts[k]);
            same(what, x, y, n);
            float *d1 = randv(n, -1, 1), *d2 = dup_v(d1, n);
            gradient_array(x, (int)n, acts[k], d1);
            grad(x, (int)n, acts[k], d2);
            snprintf(what, sizeof(what), "gradient_array n=%ld act=%d", n, acts[k]);
            same(what, d1, d2, n);
            free(x), free(y), free(d1), free(d2);
        }
        float *a = randv(n, -2, 2), *b = dup_v(a, n), *src = randv(n, -2, 2);
        fill_cpu((int)n, 0, a, 1), fill(n, 0, b, 1), same("fill_cpu 0", a, b, n);
        fill_cpu((int)n, 0.5f, a, 1), fill(n, 0.5f, b, 1), same("fill_cpu 0.5", a, b, n);
        fill_cpu((int)(n / 2), 2.5f, a, 2), fill(n / 2, 2.5f, b, 2), same("fill_cpu stride 2", a, b, n);
        copy_cpu((int)n, src, 1, a, 1), copy(n, src, 1, b, 1), same("copy_cpu", a, b, n);
        copy_cpu((int)(n / 3), src, 3, a, 1), copy(n / 3, src, 3, b, 1), same("copy_cpu stride 3", a, b, n);
        axpy_cpu((int)n, 0.37f, src, 1, a, 1), axpy(n, 0.37f, src, 1, b, 1), same("axpy_cpu", a, b, n);
        axpy_cpu((int)(n / 2), -1.5f, src, 2, a, 1), axpy(n / 2, -1.5f, src, 2, b, 1), same("axpy_cpu stride", a, b, n);
        scal_cpu((int)n, 0.9f, a, 1), scal(n, 0.9f, b, 1), same("scal_cpu", a, b, n);
        scal_cpu((int)(n / 2), 0.3f, a, 2), scal(n / 2, 0.3f, b, 2), same("scal_cpu stride", a, b, n);
        free(a), free(b), free(src);
    }
}

static void test_batchnorm(void **state)
{
    (void)state;
    void (*mean_o)(float *, int, int, int, float *) = orig("mean_cpu");
    void (*var_o)(float *, float *, int, int, int, float *) = orig("variance_cpu");
    void (*norm_o)(float *, float *, float *, int, int, int) = orig("normalize_cpu");
    void (*sb_o)(float *, float *, int, int, int) = orig("scale_bias");
    void (*ab_o)(float *, float *, int, int, int) = orig("add_bias");
    void (*bb_o)(float *, float *, int, int, int) = orig("backward_bias");
    void (*bs_o)(float *, float *, int, int, int, float *) = orig("backward_scale_cpu");
    void (*md_o)(float *, float *, int, int, int, float *) = orig("mean_delta_cpu");
    void (*vd_o)(float *, float *, float *, float *, int, int, int, float *) = orig("variance_delta_cpu");
    void (*nd_o)(float *, float *, float *, float *, float *, int, int, int, float *) = orig("normalize_delta_cpu");
    rng_seed(12);
    for (int s = 0; s < NSHAPES; s++) {
        int b = shapes[s][0], f = shapes[s][1], sp = shapes[s][2];
        long n = (long)b * f * sp, per = (long)b * sp;
        double tol = 4e-7 * sqrt((double)per) + 2e-7; /* a float sum of per terms against a double one */
        if (per > 256) tol = 1e-6 * sqrt((double)per);
        float *x = randv(n, -1, 3), *mean = randv(f, 0, 0), *mean2 = randv(f, 0, 0);
        mean_cpu(x, b, f, sp, mean);
        mean_o(x, b, f, sp, mean2);
        close_to("mean_cpu", mean, mean2, f, 3, tol);
        float *var = randv(f, 0, 0), *var2 = randv(f, 0, 0);
        variance_cpu(x, mean2, b, f, sp, var);
        var_o(x, mean2, b, f, sp, var2);
        if (per > 1) close_to("variance_cpu", var, var2, f, 4, tol);
        for (int i = 0; i < f; i++) var2[i] = 0.2f + rng_unit(); /* the rest from known statistics */
        float *y = dup_v(x, n), *y2 = dup_v(x, n);
        normalize_cpu(y, mean2, var2, b, f, sp);
        norm_o(y2, mean2, var2, b, f, sp);
        same("normalize_cpu", y, y2, n);
        float *sc = randv(f, -2, 2);
        scale_bias(y, sc, b, f, sp), sb_o(y2, sc, b, f, sp), same("scale_bias", y, y2, n);
        add_bias(y, sc, b, f, sp), ab_o(y2, sc, b, f, sp), same("add_bias", y, y2, n);
        float *d = randv(n, -1, 1), *u = randv(f, -1, 1), *u2 = dup_v(u, f);
        backward_bias(u, d, b, f, sp), bb_o(u2, d, b, f, sp);
        close_to("backward_bias", u, u2, f, sp * 0.5 + 1, tol);
        memcpy(u, u2, f * sizeof(float));
        backward_scale_cpu(y, d, b, f, sp, u), bs_o(y, d, b, f, sp, u2);
        close_to("backward_scale_cpu", u, u2, f, sp * 2.0 + 1, tol);
        float *md = randv(f, 0, 0), *md2 = randv(f, 0, 0);
        mean_delta_cpu(d, var2, b, f, sp, md), md_o(d, var2, b, f, sp, md2);
        close_to("mean_delta_cpu", md, md2, f, per * 0.5 * 2.3 + 1, tol);
        float *vd = randv(f, 0, 0), *vd2 = randv(f, 0, 0);
        variance_delta_cpu(x, d, mean2, var2, b, f, sp, vd), vd_o(x, d, mean2, var2, b, f, sp, vd2);
        close_to("variance_delta_cpu", vd, vd2, f, per * 2.0 * 6 + 1, tol);
        float *e = dup_v(d, n), *e2 = dup_v(d, n);
        normalize_delta_cpu(x, mean2, var2, md2, vd2, b, f, sp, e);
        nd_o(x, mean2, var2, md2, vd2, b, f, sp, e2);
        float big = 0;
        for (long i = 0; i < n; i++) big = fmaxf(big, fabsf(e2[i]));
        close_to("normalize_delta_cpu", e, e2, n, big, 1e-6); /* libdarknet's -Ofast reorders it */
        free(x), free(mean), free(mean2), free(var), free(var2), free(y), free(y2), free(sc), free(d), free(u);
        free(u2), free(md), free(md2), free(vd), free(vd2), free(e), free(e2);
    }
}

/* The training forward's batch statistics, taken in one pass, on channels whose
 * values sit far from 0 against their spread (3e4 + [0, 0.03), 1 + [0, 1e-4),
 * ...): the variance (of x about the layer's own float mean) against a two-pass
 * sum in double. A sum of x^2 taken about 0 would lose it. */
static void test_batch_stats_offset(void **state)
{
    (void)state;
    static const float offset[] = {3e4f, 1.f, -3e3f, 0.f}, spread[] = {3e-2f, 1e-4f, 0.5f, 1.f};
    rng_seed(16);
    int b = 4, n = 4, w = 33, h = 31;
    layer a = make_convolutional_layer(b, h, w, 3, n, 1, 3, 1, 1, LEAKY, 1, 0, 0, 0);
    long sp = (long)w * h;
    for (int j = 0; j < b; j++)
        for (int f = 0; f < n; f++)
            for (long k = 0; k < sp; k++) a.output[(j * n + f) * sp + k] = offset[f] + spread[f] * rng_unit();
    network net = {0};
    net.train = 1;
    forward_batchnorm_layer(a, net);
    for (int f = 0; f < n; f++) {
        double ss = 0;
        for (int j = 0; j < b; j++)
            for (long k = 0; k < sp; k++) {
                double d = (double)a.x[(j * n + f) * sp + k] - a.mean[f];
                ss += d * d;
            }
        double want = ss / (b * sp - 1);
        if (!(fabs(a.variance[f] - want) <= 1e-5 * want)) {
            print_error("variance of channel %d (offset %g, spread %g): ours %.9g, two passes in double %.9g\n", f,
                        offset[f], spread[f], a.variance[f], want);
            fail();
        }
    }
    free_layer(a);
}

/* Copies the batch-norm state of a onto b (same shapes). */
static void copy_bn_state(const layer *a, layer *b)
{
    long n = (long)a->outputs * a->batch;
    memcpy(b->output, a->output, n * sizeof(float));
    memcpy(b->delta, a->delta, n * sizeof(float));
    memcpy(b->x, a->x, n * sizeof(float));
    memcpy(b->x_norm, a->x_norm, n * sizeof(float));
    size_t c = (size_t)a->out_c * sizeof(float);
    memcpy(b->scales, a->scales, c), memcpy(b->biases, a->biases, c);
    memcpy(b->mean, a->mean, c), memcpy(b->variance, a->variance, c);
    memcpy(b->rolling_mean, a->rolling_mean, c), memcpy(b->rolling_variance, a->rolling_variance, c);
    memcpy(b->bias_updates, a->bias_updates, c), memcpy(b->scale_updates, a->scale_updates, c);
}

/* The fused batch norm of a convolutional layer, forward then backward, against
 * libdarknet's forward_batchnorm_layer and backward_batchnorm_layer. */
static void test_batchnorm_layer(void **state)
{
    (void)state;
    void (*fwd)(layer, network) = orig("forward_batchnorm_layer");
    void (*bwd)(layer, network) = orig("backward_batchnorm_layer");
    static const int cases[][4] = {{1, 1, 2, 1}, {1, 3, 5, 7}, {2, 5, 13, 13}, {3, 8, 9, 11}, {2, 16, 52, 52}};
    rng_seed(15);
    for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        int b = cases[t][0], n = cases[t][1], w = cases[t][2], h = cases[t][3];
        layer a = make_convolutional_layer(b, h, w, 3, n, 1, 3, 1, 1, LEAKY, 1, 0, 0, 0);
        layer o = make_convolutional_layer(b, h, w, 3, n, 1, 3, 1, 1, LEAKY, 1, 0, 0, 0);
        long cnt = (long)a.outputs * a.batch, per = (long)b * w * h;
        for (long i = 0; i < cnt; i++) a.output[i] = -1 + 4 * rng_unit(), a.delta[i] = -1 + 2 * rng_unit();
        for (int i = 0; i < n; i++) {
            a.scales[i] = 0.5f + rng_unit(), a.biases[i] = rng_unit() - 0.5f;
            a.rolling_mean[i] = rng_unit(), a.rolling_variance[i] = 0.5f + rng_unit();
            a.bias_updates[i] = rng_unit(), a.scale_updates[i] = rng_unit();
        }
        copy_bn_state(&a, &o);
        network net = {0};
        net.train = 1;
        forward_batchnorm_layer(a, net);
        fwd(o, net);
        double tol = 1e-6 * sqrt((double)per) + 1e-6;
        char what[80];
        snprintf(what, sizeof(what), "forward_batchnorm_layer case %zu mean", t);
        close_to(what, a.mean, o.mean, n, 3, tol);
        if (per > 1) {
            snprintf(what, sizeof(what), "forward_batchnorm_layer case %zu variance", t);
            close_to(what, a.variance, o.variance, n, 4, tol);
            snprintf(what, sizeof(what), "forward_batchnorm_layer case %zu rolling_variance", t);
            close_to(what, a.rolling_variance, o.rolling_variance, n, 4, tol);
            snprintf(what, sizeof(what), "forward_batchnorm_layer case %zu output", t);
            close_to(what, a.output, o.output, cnt, 4, 1e-5);
            snprintf(what, sizeof(what), "forward_batchnorm_layer case %zu x_norm", t);
            close_to(what, a.x_norm, o.x_norm, cnt, 4, 1e-5);
        }
        snprintf(what, sizeof(what), "forward_batchnorm_layer case %zu x", t);
        same(what, a.x, o.x, cnt);
        /* backward from the same state (libdarknet's statistics) */
        copy_bn_state(&o, &a);
        backward_batchnorm_layer(a, net);
        bwd(o, net);
        snprintf(what, sizeof(what), "backward_batchnorm_layer case %zu bias_updates", t);
        close_to(what, a.bias_updates, o.bias_updates, n, per * 0.5 + 1, tol);
        snprintf(what, sizeof(what), "backward_batchnorm_layer case %zu scale_updates", t);
        close_to(what, a.scale_updates, o.scale_updates, n, per * 2.0 + 1, tol);
        float big = 0;
        for (long i = 0; i < cnt; i++) big = fmaxf(big, fabsf(o.delta[i]));
        snprintf(what, sizeof(what), "backward_batchnorm_layer case %zu delta", t);
        close_to(what, a.delta, o.delta, cnt, big, 1e-5);
        free_layer(a);
        free_layer(o);
    }
}

/* The convolutional forward (gemm into the output, the batch norm's last pass or the
 * bias fused with the activation) against libdarknet's, in training and inference;
 * and the backward (the activation's gradient fused into the batch norm's) from the
 * same state; on each path the planner can choose (ours batched, ours image by
 * image, Winograd, OpenBLAS) and on the fixed rules. */
static void test_conv_forward(void **state)
{
    (void)state;
    void (*fwd)(layer, network) = orig("forward_convolutional_layer");
    void (*bwd)(layer, network) = orig("backward_convolutional_layer");
    static const int cases[][10] = {/* batch, c, w, h, n, size, stride, batch_normalize, activation, groups */
                                    {1, 1, 1, 1, 1, 1, 1, 0, LEAKY, 1},    {1, 1, 2, 1, 1, 1, 1, 1, LEAKY, 1},
                                    {1, 3, 7, 5, 4, 3, 1, 1, LEAKY, 1},    {2, 5, 13, 11, 7, 3, 2, 1, LINEAR, 1},
                                    {3, 4, 9, 9, 6, 1, 1, 0, LINEAR, 1},   {2, 3, 16, 16, 8, 3, 1, 0, LOGISTIC, 1},
                                    {1, 2, 6, 7, 3, 3, 1, 1, RELU, 1},     {2, 16, 52, 52, 16, 3, 1, 1, LEAKY, 1},
                                    {2, 4, 12, 10, 6, 3, 1, 1, LEAKY, 2},  {3, 8, 9, 9, 8, 3, 2, 1, LEAKY, 8},
                                    /* the input delta band by band (col past 8 MB, 64 pixels wide or more) */
                                    {2, 24, 128, 128, 8, 3, 1, 1, LEAKY, 1}, {1, 16, 180, 100, 4, 3, 1, 1, LEAKY, 1},
                                    /* the input delta as a forward with the weights turned round (at most 32
                                     * channels, rows of 32 pixels or more); 5 x 5 */
                                    {1, 8, 40, 33, 12, 3, 1, 1, LEAKY, 1}, {2, 3, 35, 6, 5, 5, 1, 1, LINEAR, 1},
                                    /* Winograd's F(2x2, 3x3) (at least 32 channels and filters): odd sizes,
                                     * blocks across images, a row of tiles wider than a block, batch 1 */
                                    {2, 32, 16, 16, 64, 3, 1, 1, LEAKY, 1}, {1, 40, 13, 11, 33, 3, 1, 1, LEAKY, 1},
                                    {3, 32, 9, 7, 40, 3, 1, 0, LOGISTIC, 1}, {1, 32, 151, 5, 32, 3, 1, 1, LINEAR, 1},
                                    {4, 64, 8, 8, 128, 3, 1, 1, RELU, 1},
                                    /* Winograd on images of one pixel, and of 2 x 3 */
                                    {4, 32, 1, 1, 32, 3, 1, 1, LEAKY, 1}, {2, 32, 2, 3, 32, 3, 1, 1, LINEAR, 1}};
    rng_seed(16);
    /* on every path the planner chooses from (plan.h), and on the fixed rules */
    for (int path = OHEM_PATH_RULES; path < OHEM_PATHS; path++)
    for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        const int *c = cases[t];
        ohem_plan_force(path);
        for (int train = 0; train < 2; train++) {
            layer a = make_convolutional_layer(c[0], c[3], c[2], c[1], c[4], c[9], c[5], c[6], c[5] / 2,
                                               (ACTIVATION)c[8], c[7], 0, 0, 0);
            layer o = make_convolutional_layer(c[0], c[3], c[2], c[1], c[4], c[9], c[5], c[6], c[5] / 2,
                                               (ACTIVATION)c[8], c[7], 0, 0, 0);
            memcpy(o.weights, a.weights, a.nweights * sizeof(float));
            for (int i = 0; i < a.n; i++) a.biases[i] = rng_unit() - 0.5f;
            if (c[7])
                for (int i = 0; i < a.n; i++) {
                    a.scales[i] = 0.5f + rng_unit();
                    a.rolling_mean[i] = rng_unit() - 0.5f, a.rolling_variance[i] = 0.5f + rng_unit();
                }
            if (c[7]) copy_bn_state(&a, &o);
            else memcpy(o.biases, a.biases, a.n * sizeof(float));
            long in_n = (long)c[0] * c[1] * c[2] * c[3], cnt = (long)a.outputs * a.batch;
            float *in = randv(in_n, -1, 1);
            float *ws = malloc(a.workspace_size > 0 ? a.workspace_size : 4);
            network net = {0};
            net.train = train;
            net.input = in;
            net.workspace = ws;
            forward_convolutional_layer(a, net);
            fwd(o, net);
            float big = 0;
            for (long i = 0; i < cnt; i++) big = fmaxf(big, fabsf(o.output[i]));
            char what[80];
            snprintf(what, sizeof(what), "forward_convolutional_layer case %zu train %d path %s", t, train,
                     ohem_plan_path_name(path));
            /* the product's sums and the statistics round differently: relative to the largest output */
            close_to(what, a.output, o.output, cnt, big, 1e-5);
            if (c[7] && train) {
                snprintf(what, sizeof(what), "forward_convolutional_layer case %zu x path %s", t, ohem_plan_path_name(path));
                close_to(what, a.x, o.x, cnt, big, 1e-5);
                snprintf(what, sizeof(what), "forward_convolutional_layer case %zu rolling_mean path %s", t, ohem_plan_path_name(path));
                close_to(what, a.rolling_mean, o.rolling_mean, a.n, 1, 1e-5);
            }
            /* backward from libdarknet's forward state, with the input's delta */
            if (train) {
                if (c[7]) copy_bn_state(&o, &a);
                else memcpy(a.output, o.output, cnt * sizeof(float));
                for (long i = 0; i < cnt; i++) a.delta[i] = o.delta[i] = rng_unit() - 0.5f;
                memset(a.weight_updates, 0, a.nweights * sizeof(float));
                memset(o.weight_updates, 0, a.nweights * sizeof(float));
                float *nd = randv(in_n, -1, 1), *nd2 = dup_v(nd, in_n);
                net.delta = nd;
                backward_convolutional_layer(a, net);
                net.delta = nd2;
                bwd(o, net);
                big = 0;
                for (long i = 0; i < cnt; i++) big = fmaxf(big, fabsf(o.delta[i]));
                snprintf(what, sizeof(what), "backward_convolutional_layer case %zu delta path %s", t, ohem_plan_path_name(path));
                close_to(what, a.delta, o.delta, cnt, big, 1e-5);
                big = 0;
                for (int i = 0; i < a.nweights; i++) big = fmaxf(big, fabsf(o.weight_updates[i]));
                snprintf(what, sizeof(what), "backward_convolutional_layer case %zu weight_updates path %s", t, ohem_plan_path_name(path));
                close_to(what, a.weight_updates, o.weight_updates, a.nweights, big, 1e-5);
                snprintf(what, sizeof(what), "backward_convolutional_layer case %zu bias_updates path %s", t, ohem_plan_path_name(path));
                close_to(what, a.bias_updates, o.bias_updates, a.n, cnt / a.n + 1, 1e-5);
                big = 0;
                for (long i = 0; i < in_n; i++) big = fmaxf(big, fabsf(nd2[i]));
                snprintf(what, sizeof(what), "backward_convolutional_layer case %zu input delta path %s", t, ohem_plan_path_name(path));
                close_to(what, nd, nd2, in_n, big, 1e-5);
                free(nd);
                free(nd2);
            }
            free(in);
            free(ws);
            free_layer(a);
            free_layer(o);
        }
        ohem_plan_force(OHEM_PATH_RULES);
    }
}

/* Winograd's F(2x2, 3x3) layers give the same bits on one thread as on two (the
 * weight gradient sums fixed groups of tiles, added in order), and differ from the
 * gemm path (OHEM_CONV=gemm) only by float rounding: forward, weight gradient and
 * input delta, odd sizes, blocks across images. */
static void test_winograd_threads(void **state)
{
    (void)state;
    static const int cases[][5] = {/* batch, c, w, h, n */ {3, 48, 12, 10, 40}, {2, 64, 9, 9, 32}, {5, 32, 8, 8, 64}};
    rng_seed(31);
    for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        const int *c = cases[t];
        layer l = make_convolutional_layer(c[0], c[3], c[2], c[1], c[4], 1, 3, 1, 1, LEAKY, 1, 0, 0, 0);
        long in_n = (long)l.inputs * l.batch, cnt = (long)l.outputs * l.batch;
        float *in = randv(in_n, -1, 1), *d0 = randv(cnt, -0.5f, 0.5f);
        float *out[3], *wu[3], *nd[3];
        network net = {0};
        net.train = 1;
        net.input = in;
        net.workspace = malloc(l.workspace_size);
        for (int run = 0; run < 3; run++) { /* two threads, one thread (Winograd: OHEM_CONV=winograd), the gemm path */
            ohem_kernels_threads(run == 1 ? 1 : 2);
            ohem_kernels_winograd(run != 2 ? 2 : 0);
            forward_convolutional_layer(l, net);
            out[run] = dup_v(l.output, cnt);
            memcpy(l.delta, d0, cnt * sizeof(float));
            memset(l.weight_updates, 0, l.nweights * sizeof(float));
            nd[run] = calloc(in_n, sizeof(float));
            net.delta = nd[run];
            backward_convolutional_layer(l, net);
            wu[run] = dup_v(l.weight_updates, l.nweights);
        }
        ohem_kernels_threads(2);
        ohem_kernels_winograd(1);
        same("winograd output, 1 thread against 2", out[1], out[0], cnt);
        same("winograd weight_updates, 1 thread against 2", wu[1], wu[0], l.nweights);
        same("winograd input delta, 1 thread against 2", nd[1], nd[0], in_n);
        float big[3] = {0, 0, 0};
        for (long i = 0; i < cnt; i++) big[0] = fmaxf(big[0], fabsf(out[2][i]));
        for (int i = 0; i < l.nweights; i++) big[1] = fmaxf(big[1], fabsf(wu[2][i]));
        for (long i = 0; i < in_n; i++) big[2] = fmaxf(big[2], fabsf(nd[2][i]));
        close_to("winograd output against the gemm path", out[0], out[2], cnt, big[0], 1e-5);
        /* and the layer did go by Winograd (other sums, other bits somewhere) where
         * the gemm is ours; with OpenBLAS's (OHEM_GEMM=openblas, or a CPU without
         * AVX2) it does not, and the bits are the gemm path's */
        int wg = ohem_gemm_is_ours();
        assert_int_equal(memcmp(out[0], out[2], cnt * sizeof(float)) != 0, wg);
        assert_int_equal(memcmp(wu[0], wu[2], l.nweights * sizeof(float)) != 0, wg);
        assert_int_equal(memcmp(nd[0], nd[2], in_n * sizeof(float)) != 0, wg);
        close_to("winograd weight_updates against the gemm path", wu[0], wu[2], l.nweights, big[1], 1e-5);
        close_to("winograd input delta against the gemm path", nd[0], nd[2], in_n, big[2], 1e-5);
        for (int run = 0; run < 3; run++) free(out[run]), free(wu[run]), free(nd[run]);
        free(in);
        free(d0);
        free(net.workspace);
        free_layer(l);
    }
}

/* The [connected] layer's forward (gemm writing the output, the bias fused with the
 * activation) against libdarknet's forward_connected_layer: batch 1, odd sizes, the
 * rows of a two-stage head (4096 x 1600 -> 256, past the pool's grain), every
 * supported activation: the output equal to the bit. */
static void test_connected_forward(void **state)
{
    (void)state;
    void (*fwd)(layer, network) = orig("forward_connected_layer");
    static const int cases[][4] = {/* batch, inputs, outputs, activation */
                                   {1, 1, 1, LEAKY}, {1, 7, 3, LINEAR}, {3, 13, 11, LOGISTIC}, {5, 33, 17, RELU},
                                   {4096, 1600, 256, LEAKY}, {4096, 256, 16, LINEAR}};
    rng_seed(23);
    for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        const int *c = cases[t];
        layer a = make_connected_layer(c[0], c[1], c[2], (ACTIVATION)c[3], 0, 0);
        layer o = make_connected_layer(c[0], c[1], c[2], (ACTIVATION)c[3], 0, 0);
        memcpy(o.weights, a.weights, (size_t)c[1] * c[2] * sizeof(float));
        for (int i = 0; i < c[2]; i++) a.biases[i] = o.biases[i] = rng_unit() - 0.5f;
        float *in = randv((long)c[0] * c[1], -1, 1);
        /* stale outputs: ours must not read them */
        for (long i = 0; i < (long)c[0] * c[2]; i++) a.output[i] = o.output[i] = rng_unit();
        network net = {0};
        net.train = 1;
        net.input = in;
        forward_connected_layer(a, net);
        fwd(o, net);
        char what[80];
        snprintf(what, sizeof(what), "forward_connected_layer case %zu", t);
        same(what, a.output, o.output, (long)c[0] * c[2]);
        free(in);
        free_layer(a);
        free_layer(o);
    }
}

/* The convolutional layer's SGD update (the weights' three passes fused into one)
 * against libdarknet's update_convolutional_layer, with and without batch norm
 * (scales), batch 1 and odd sizes, and weights past the pool's grain: every weight,
 * bias, scale and update equal to the bit. */
static void test_conv_update(void **state)
{
    (void)state;
    void (*upd)(layer, update_args) = orig("update_convolutional_layer");
    static const int cases[][6] = {/* batch, c, n, size, batch_normalize, learning_rate_scale x 4 */
                                   {1, 1, 1, 1, 0, 4}, {1, 3, 5, 3, 1, 4}, {2, 7, 13, 3, 1, 2}, {3, 5, 9, 1, 0, 4},
                                   {2, 135, 33, 3, 1, 4}, {1, 64, 129, 3, 0, 1}};
    rng_seed(23);
    for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        const int *c = cases[t];
        layer a = make_convolutional_layer(c[0], 5, 5, c[1], c[2], 1, c[3], 1, c[3] / 2, LEAKY, c[4], 0, 0, 0);
        layer o = make_convolutional_layer(c[0], 5, 5, c[1], c[2], 1, c[3], 1, c[3] / 2, LEAKY, c[4], 0, 0, 0);
        a.learning_rate_scale = o.learning_rate_scale = c[5] / 4.f;
        for (int i = 0; i < a.nweights; i++) {
            o.weights[i] = a.weights[i] = rng_unit() - 0.5f;
            o.weight_updates[i] = a.weight_updates[i] = 10 * (rng_unit() - 0.5f);
        }
        for (int i = 0; i < a.n; i++) {
            o.biases[i] = a.biases[i] = rng_unit() - 0.5f;
            o.bias_updates[i] = a.bias_updates[i] = rng_unit() - 0.5f;
            if (c[4]) {
                o.scales[i] = a.scales[i] = 0.5f + rng_unit();
                o.scale_updates[i] = a.scale_updates[i] = rng_unit() - 0.5f;
            }
        }
        update_args args = {.batch = 64 * c[0], .learning_rate = 0.001f + 0.01f * rng_unit(),
                            .momentum = 0.9f, .decay = 0.0005f};
        for (int step = 0; step < 2; step++) {
            update_convolutional_layer(a, args);
            upd(o, args);
        }
        char what[80];
        snprintf(what, sizeof(what), "update_convolutional_layer case %zu weights", t);
        same(what, a.weights, o.weights, a.nweights);
        snprintf(what, sizeof(what), "update_convolutional_layer case %zu weight_updates", t);
        same(what, a.weight_updates, o.weight_updates, a.nweights);
        snprintf(what, sizeof(what), "update_convolutional_layer case %zu biases", t);
        same(what, a.biases, o.biases, a.n);
        snprintf(what, sizeof(what), "update_convolutional_layer case %zu bias_updates", t);
        same(what, a.bias_updates, o.bias_updates, a.n);
        if (c[4]) {
            snprintf(what, sizeof(what), "update_convolutional_layer case %zu scales", t);
            same(what, a.scales, o.scales, a.n);
            snprintf(what, sizeof(what), "update_convolutional_layer case %zu scale_updates", t);
            same(what, a.scale_updates, o.scale_updates, a.n);
        }
        free_layer(a);
        free_layer(o);
    }
}

/* Max pooling (sizes, strides, paddings as cfgs use them, and odd input sizes) and
 * upsampling, forward and backward. */
static void test_pool_upsample(void **state)
{
    (void)state;
    void (*fwd)(const layer, network) = orig("forward_maxpool_layer");
    void (*bwd)(const layer, network) = orig("backward_maxpool_layer");
    void (*up)(float *, int, int, int, int, int, int, float, float *) = orig("upsample_cpu");
    static const int cases[][6] = {/* batch, c, w, h, size, stride */
                                   {1, 1, 1, 1, 2, 2},  {1, 3, 5, 7, 2, 2},   {2, 4, 13, 13, 2, 1},
                                   {2, 16, 52, 52, 2, 2}, {3, 5, 11, 9, 3, 2}, {1, 2, 8, 8, 3, 1},
                                   {2, 8, 104, 104, 2, 2}};
    rng_seed(13);
    for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        const int *c = cases[t];
        layer l = make_maxpool_layer(c[0], c[3], c[2], c[1], c[4], c[5], c[4] - 1);
        layer l2 = make_maxpool_layer(c[0], c[3], c[2], c[1], c[4], c[5], c[4] - 1);
        long in_n = (long)c[0] * c[1] * c[2] * c[3], out_n = (long)l.outputs * l.batch;
        float *in = randv(in_n, -1, 1);
        /* ties: equal values in a window pick the first, as libdarknet does */
        for (long i = 0; i < in_n; i += 7) in[i] = 0.25f;
        network net = {0};
        net.input = in;
        forward_maxpool_layer(l, net);
        net.input = in;
        fwd(l2, net);
        char what[80];
        snprintf(what, sizeof(what), "forward_maxpool_layer case %zu", t);
        same(what, l.output, l2.output, out_n);
        for (long i = 0; i < out_n; i++)
            if (l.indexes[i] != l2.indexes[i]) {
                print_error("%s: index %ld: ours %d, libdarknet's %d\n", what, i, l.indexes[i], l2.indexes[i]);
                fail();
            }
        float *dl = randv(out_n, -1, 1);
        memcpy(l.delta, dl, out_n * sizeof(float));
        memcpy(l2.delta, dl, out_n * sizeof(float));
        float *nd = randv(in_n, -1, 1), *nd2 = dup_v(nd, in_n);
        net.delta = nd;
        backward_maxpool_layer(l, net);
        net.delta = nd2;
        bwd(l2, net);
        snprintf(what, sizeof(what), "backward_maxpool_layer case %zu", t);
        same(what, nd, nd2, in_n);
        net.delta = NULL; /* the first layer of a network: no input delta, no crash */
        backward_maxpool_layer(l, net);
        /* upsampling by stride 2 (and 3) of the same input */
        int s = 2 + (int)(t % 2);
        long up_n = in_n * s * s;
        float *o = randv(up_n, 0, 0), *o2 = randv(up_n, 0, 0);
        upsample_cpu(in, c[2], c[3], c[1], c[0], s, 1, 1.f, o);
        up(in, c[2], c[3], c[1], c[0], s, 1, 1.f, o2);
        snprintf(what, sizeof(what), "upsample_cpu forward case %zu", t);
        same(what, o, o2, up_n);
        float *g = randv(up_n, -1, 1), *i1 = randv(in_n, -1, 1), *i2 = dup_v(i1, in_n);
        upsample_cpu(i1, c[2], c[3], c[1], c[0], s, 0, 0.5f, g);
        up(i2, c[2], c[3], c[1], c[0], s, 0, 0.5f, g);
        snprintf(what, sizeof(what), "upsample_cpu backward case %zu", t);
        same(what, i1, i2, in_n);
        free(in), free(dl), free(nd), free(nd2), free(o), free(o2), free(g), free(i1), free(i2);
        free_layer(l);
        free_layer(l2);
    }
}


/* The inference forward of a convolutional layer (net.train 0: the batch norm
 * folded into a scale and a bias per filter, applied with the activation in one
 * pass) against libdarknet's own unfolded one (its batch norm with the rolling
 * statistics, then its activation; for AlexeyAB's activations, its linear forward
 * then the activation in double), within float rounding of the largest output:
 * shapes of the gemm, the direct, the 1 x 1 and the Winograd paths, every
 * activation; the same after the weights and statistics change between two
 * forwards (nothing kept stale); and with the inference path off. */
static void test_inference_forward(void **state)
{
    (void)state;
    void (*fwd)(layer, network) = orig("forward_convolutional_layer");
    static const int cases[][9] = {/* batch, c, w, h, n, size, stride, batch_normalize, activation */
                                   {1, 3, 17, 13, 8, 3, 2, 1, LEAKY},        {1, 16, 52, 52, 16, 3, 1, 1, LEAKY},
                                   {2, 8, 9, 9, 12, 1, 1, 1, LINEAR},        {1, 32, 26, 26, 64, 3, 1, 1, LEAKY},
                                   {2, 40, 13, 11, 33, 3, 1, 1, RELU},       {1, 32, 16, 16, 32, 3, 1, 0, LOGISTIC},
                                   {1, 32, 20, 20, 48, 3, 1, 1, OHEM_MISH},  {2, 6, 15, 15, 10, 3, 1, 1, OHEM_SWISH},
                                   {1, 32, 9, 9, 40, 3, 1, 1, OHEM_HARD_MISH}, {1, 12, 8, 8, 24, 1, 1, 0, OHEM_RELU6},
                                   {1, 64, 52, 52, 128, 3, 1, 1, OHEM_MISH}};
    rng_seed(26);
    for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        const int *c = cases[t];
        int ours = ohem_act_is_ours(c[8]);
        layer a = make_convolutional_layer(c[0], c[3], c[2], c[1], c[4], 1, c[5], c[6], c[5] / 2, (ACTIVATION)c[8], c[7],
                                           0, 0, 0);
        layer o = make_convolutional_layer(c[0], c[3], c[2], c[1], c[4], 1, c[5], c[6], c[5] / 2,
                                           ours ? LINEAR : (ACTIVATION)c[8], c[7], 0, 0, 0);
        assert_int_equal(ohem_conv_act_alloc(&a), 0); /* the inference path off keeps the pre-activation */
        long in_n = (long)c[0] * c[1] * c[2] * c[3], cnt = (long)a.outputs * a.batch;
        float *in = randv(in_n, -1, 1), *ws = malloc(a.workspace_size > 0 ? a.workspace_size : 4);
        float *want = malloc(sizeof(float) * cnt);
        network net = {0};
        net.input = in;
        net.workspace = ws;
        for (int round = 0; round < 3; round++) {
            /* new parameters each round: the forward must follow them */
            for (int i = 0; i < a.nweights; i++) a.weights[i] = (rng_unit() - 0.5f) * 2 / sqrtf((float)a.nweights / a.n);
            for (int i = 0; i < a.n; i++) a.biases[i] = rng_unit() - 0.5f;
            if (c[7])
                for (int i = 0; i < a.n; i++) {
                    a.scales[i] = 0.5f + rng_unit();
                    a.rolling_mean[i] = rng_unit() - 0.5f, a.rolling_variance[i] = 0.2f + rng_unit();
                }
            memcpy(o.weights, a.weights, a.nweights * sizeof(float));
            memcpy(o.biases, a.biases, a.n * sizeof(float));
            if (c[7]) {
                memcpy(o.scales, a.scales, a.n * sizeof(float));
                memcpy(o.rolling_mean, a.rolling_mean, a.n * sizeof(float));
                memcpy(o.rolling_variance, a.rolling_variance, a.n * sizeof(float));
            }
            ohem_kernels_infer(round < 2); /* the last round: the inference path off */
            forward_convolutional_layer(a, net);
            ohem_kernels_infer(1);
            fwd(o, net);
            float big = 0;
            for (long i = 0; i < cnt; i++) {
                want[i] = ours ? (float)act_double(c[8], o.output[i]) : o.output[i];
                big = fmaxf(big, fabsf(want[i]));
            }
            char what[96];
            snprintf(what, sizeof(what), "inference forward case %zu round %d", t, round);
            close_to(what, a.output, want, cnt, big, 2e-6);
        }
        free(in);
        free(ws);
        free(want);
        ohem_conv_act_free(&a);
        free_layer(a);
        free_layer(o);
    }
}

/* A small network of every path and activation the inference forward takes: a
 * stride-2 layer, Winograd's 3 x 3 layers (32 channels and more), 1 x 1 layers,
 * [route] groups, max pooling, upsampling, [yolo]; AlexeyAB's activations. */
static const char infer_cfg[] = "[net]\nbatch=1\nwidth=64\nheight=64\nchannels=3\n"
    "[convolutional]\nbatch_normalize=1\nfilters=32\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
    "[convolutional]\nbatch_normalize=1\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=mish\n"
    "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n"
    "[convolutional]\nbatch_normalize=1\nfilters=32\nsize=3\nstride=1\npad=1\nactivation=swish\n"
    "[convolutional]\nbatch_normalize=1\nfilters=32\nsize=1\nstride=1\npad=1\nactivation=hard_mish\n"
    "[route]\nlayers=-1,-4\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nbatch_normalize=1\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=relu6\n"
    "[convolutional]\nbatch_normalize=1\nfilters=32\nsize=1\nstride=1\npad=1\nactivation=relu\n"
    "[upsample]\nstride=2\n"
    "[route]\nlayers=-1,1\n"
    "[convolutional]\nfilters=21\nsize=1\nstride=1\npad=1\nactivation=linear\n"
    "[yolo]\nmask=0,1,2\nanchors=10,14, 23,27, 37,58\nclasses=2\nnum=3\n";

/* network_predict of that network (ours: the inference forward, no delta
 * cleared) against libdarknet's network_predict with libdarknet's loops and gemm
 * (OHEM_KERNELS=darknet, OHEM_GEMM=darknet: the batch norm unfolded, every delta
 * cleared): every layer's output within float rounding of its largest value. */
static void test_inference_network(void **state)
{
    (void)state;
    float *(*their_predict)(network *, float *) = orig("network_predict");
    FILE *f = fopen("tests/tmp/kernels-infer.cfg", "w");
    assert_non_null(f);
    fputs(infer_cfg, f);
    fclose(f);
    network *net = parse_network_cfg("tests/tmp/kernels-infer.cfg");
    rng_seed(27);
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL) continue;
        for (int k = 0; k < l->nweights; k++) l->weights[k] = (rng_unit() - 0.5f) * 4 / sqrtf((float)l->nweights / l->n);
        for (int k = 0; k < l->n; k++) l->biases[k] = rng_unit() - 0.5f;
        if (l->batch_normalize)
            for (int k = 0; k < l->n; k++) {
                l->scales[k] = 0.5f + rng_unit();
                l->rolling_mean[k] = rng_unit() - 0.5f, l->rolling_variance[k] = 0.5f + rng_unit();
            }
    }
    float *in = randv(net->inputs, 0, 1);
    network_predict(net, in);
    float **ours = malloc(sizeof(float *) * net->n);
    for (int i = 0; i < net->n; i++) ours[i] = dup_v(net->layers[i].output, net->layers[i].outputs);
    assert_int_equal(ohem_kernels_select("darknet"), 0);
    assert_int_equal(ohem_gemm_select("darknet"), 0);
    their_predict(net, in);
    assert_int_equal(ohem_gemm_select("auto"), 0);
    assert_int_equal(ohem_kernels_select("plugin"), 0);
    for (int i = 0; i < net->n; i++) {
        const layer *l = &net->layers[i];
        float big = 0;
        for (int k = 0; k < l->outputs; k++) big = fmaxf(big, fabsf(l->output[k]));
        char what[64];
        snprintf(what, sizeof(what), "network_predict layer %d", i);
        close_to(what, ours[i], l->output, l->outputs, big, 1e-5);
        free(ours[i]);
    }
    free(ours);
    free(in);
    free_network(net);
}

/* A network of cfg built with srand(seed), random input and three boxes per image. */
static network *build(const char *cfg)
{
    srand(5);
    network *net = parse_network_cfg((char *)cfg);
    net->train = 1;
    rng_seed(14);
    for (long i = 0; i < (long)net->inputs * net->batch; i++) net->input[i] = rng_unit();
    for (int b = 0; b < net->batch; b++)
        for (int t = 0; t < 3; t++) {
            float *tr = net->truth + b * net->truths + 5 * t;
            tr[0] = 0.2f + 0.6f * rng_unit(), tr[1] = 0.2f + 0.6f * rng_unit();
            tr[2] = 0.1f + 0.3f * rng_unit(), tr[3] = 0.1f + 0.3f * rng_unit();
            tr[4] = (float)t;
        }
    return net;
}

/* Three training steps of a real cfg (our fashion detector, batch 8 for time) with
 * our kernels and with libdarknet's: losses, outputs and every weight agree to float
 * rounding (relative 1e-4 of each layer's largest value: sums in a different order
 * compound over the steps). */
static void test_training_steps(void **state)
{
    (void)state;
    FILE *in = fopen("cfg/fashion.cfg", "r"), *out = fopen("tests/tmp/kernels-fashion.cfg", "w");
    assert_non_null(in);
    assert_non_null(out);
    char line[1024];
    while (fgets(line, sizeof(line), in)) fputs(strncmp(line, "batch=", 6) ? line : "batch=8\n", out);
    fclose(in);
    fclose(out);
    network *ours = build("tests/tmp/kernels-fashion.cfg"), *theirs = build("tests/tmp/kernels-fashion.cfg");
    for (int it = 0; it < 3; it++) {
        assert_int_equal(ohem_kernels_select("plugin"), 0);
        float a = train_network_datum(ours);
        assert_int_equal(ohem_kernels_select("darknet"), 0);
        float b = train_network_datum(theirs);
        assert_int_equal(ohem_kernels_select("plugin"), 0);
        if (!(fabsf(a - b) <= 1e-4f * fabsf(b))) {
            print_error("step %d: loss ours %.7g, libdarknet's %.7g\n", it, a, b);
            fail();
        }
    }
    for (int i = 0; i < ours->n; i++) {
        layer *l = &ours->layers[i], *m = &theirs->layers[i];
        char what[64];
        float big = 0;
        for (int k = 0; k < l->outputs * l->batch; k++) big = fmaxf(big, fabsf(m->output[k]));
        snprintf(what, sizeof(what), "layer %d output", i);
        close_to(what, l->output, m->output, (long)l->outputs * l->batch, big, 1e-4);
        if (l->nweights) {
            big = 0;
            for (int k = 0; k < l->nweights; k++) big = fmaxf(big, fabsf(m->weights[k]));
            snprintf(what, sizeof(what), "layer %d weights", i);
            close_to(what, l->weights, m->weights, l->nweights, big, 1e-4);
            snprintf(what, sizeof(what), "layer %d biases", i);
            close_to(what, l->biases, m->biases, l->n, 1, 1e-4);
        }
        if (l->batch_normalize) {
            snprintf(what, sizeof(what), "layer %d scales", i);
            close_to(what, l->scales, m->scales, l->n, 1, 1e-4);
            snprintf(what, sizeof(what), "layer %d rolling_variance", i);
            close_to(what, l->rolling_variance, m->rolling_variance, l->n, 1, 1e-4);
        }
    }
    free_network(ours);
    free_network(theirs);
}

int main(void)
{
    ohem_kernels_threads(2); /* the pool splits the large loops even on one core */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elementwise),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_batchnorm_layer),
        cmocka_unit_test(test_batch_stats_offset),
        cmocka_unit_test(test_conv_forward),
        cmocka_unit_test(test_winograd_threads),
        cmocka_unit_test(test_connected_forward),
        cmocka_unit_test(test_conv_update),
        cmocka_unit_test(test_pool_upsample),
        cmocka_unit_test(test_training_steps),
        cmocka_unit_test(test_inference_forward),
        cmocka_unit_test(test_inference_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
