/* kernels.c: libdarknet's hot non-gemm loops (see kernels.h). Each function keeps
 * the name and arguments of libdarknet's, so that the library's own calls reach it
 * through the PLT, and computes the same arithmetic (the same float and double
 * steps), except that sums are taken in double in vector order: results agree with
 * libdarknet's to float rounding (libdarknet is built with -Ofast, so its own
 * rounding differs from its source's in the last bit here and there). With OHEM_KERNELS=darknet each forwards to the
 * library's own. */
#define _GNU_SOURCE
#include "kernels.h"
#include "plan.h"
#include "sgemm.h"
#include "winograd.h"

#include <dlfcn.h>
#include <float.h>
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "darknet.h"
#include "gemm.h"
#include "im2col.h"
#include "pool.h"

/* The loops' hot parts are built three times, for AVX-512, AVX2 and the baseline,
 * and the loader picks one for the CPU (GCC's target_clones): the same source, the
 * same operations per element in the same order, so the same results, with wider
 * vectors (the batch norm's double-precision divisions and sums gain most). */
#define HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#define GRAIN OHEM_POOL_GRAIN

/* libdarknet's own, for OHEM_KERNELS=darknet. */
static struct {
    void (*activate_array)(float *, const int, const ACTIVATION);
    void (*gradient_array)(const float *, const int, const ACTIVATION, float *);
    void (*fill_cpu)(int, float, float *, int);
    void (*copy_cpu)(int, float *, int, float *, int);
    void (*axpy_cpu)(int, float, float *, int, float *, int);
    void (*scal_cpu)(int, float, float *, int);
    void (*mean_cpu)(float *, int, int, int, float *);
    void (*variance_cpu)(float *, float *, int, int, int, float *);
    void (*normalize_cpu)(float *, float *, float *, int, int, int);
    void (*scale_bias)(float *, float *, int, int, int);
    void (*add_bias)(float *, float *, int, int, int);
    void (*backward_bias)(float *, float *, int, int, int);
    void (*backward_scale_cpu)(float *, float *, int, int, int, float *);
    void (*mean_delta_cpu)(float *, float *, int, int, int, float *);
    void (*variance_delta_cpu)(float *, float *, float *, float *, int, int, int, float *);
    void (*normalize_delta_cpu)(float *, float *, float *, float *, float *, int, int, int, float *);
    void (*forward_maxpool_layer)(const layer, network);
    void (*backward_maxpool_layer)(const layer, network);
    void (*upsample_cpu)(float *, int, int, int, int, int, int, float, float *);
    void (*forward_batchnorm_layer)(layer, network);
    void (*backward_batchnorm_layer)(layer, network);
    void (*forward_convolutional_layer)(layer, network);
    void (*backward_convolutional_layer)(layer, network);
    void (*update_convolutional_layer)(layer, update_args);
    void (*forward_connected_layer)(layer, network);
} dn;
static int use_darknet;

#define FIND(name) (*(void **)&dn.name = dlsym(RTLD_NEXT, #name)) != NULL

/* Finds every original; 0 when all are there. */
static int find_originals(void)
{
    int ok = FIND(activate_array) && FIND(gradient_array) && FIND(fill_cpu) && FIND(copy_cpu) &&
             FIND(axpy_cpu) && FIND(scal_cpu) && FIND(mean_cpu) && FIND(variance_cpu) && FIND(normalize_cpu) &&
             FIND(scale_bias) && FIND(add_bias) && FIND(backward_bias) && FIND(backward_scale_cpu) &&
             FIND(mean_delta_cpu) && FIND(variance_delta_cpu) && FIND(normalize_delta_cpu) &&
             FIND(forward_maxpool_layer) && FIND(backward_maxpool_layer) && FIND(upsample_cpu) &&
             FIND(forward_batchnorm_layer) && FIND(backward_batchnorm_layer) && FIND(forward_convolutional_layer) &&
             FIND(backward_convolutional_layer) && FIND(update_convolutional_layer) &&
             FIND(forward_connected_layer);
    return ok ? 0 : -1;
}

int ohem_kernels_select(const char *name)
{
    if (!strcmp(name, "plugin")) {
        use_darknet = 0;
        return 0;
    }
    if (strcmp(name, "darknet") || find_originals() != 0) return -1;
    use_darknet = 1;
    return 0;
}

void ohem_kernels_threads(int threads)
{
    ohem_pool_set_threads(threads);
}

static int use_winograd = 1;
void ohem_kernels_winograd(int on)
{
    use_winograd = on;
}

static int use_infer = 1;
void ohem_kernels_infer(int on)
{
    use_infer = on;
}

int ohem_kernels_planned(void)
{
    return !use_darknet && use_winograd == 1;
}

/* ---- AlexeyAB's activations (kernels.h) ------------------------------------ */

int ohem_act_of_word(const char *w)
{
    static const struct {
        const char *word;
        int act;
    } words[] = {{"mish", OHEM_MISH}, {"swish", OHEM_SWISH}, {"hard_mish", OHEM_HARD_MISH}, {"relu6", OHEM_RELU6}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (!strcmp(w, words[i].word)) return words[i].act;
    return -1;
}

int ohem_act_is_ours(int act)
{
    return act >= OHEM_MISH && act <= OHEM_RELU6;
}

/* AlexeyAB's softplus: x above 20, exp(x) below -20, else log(1 + exp(x)). */
static float softplus20(float x)
{
    if (x > 20.f) return x;
    if (x < -20.f) return expf(x);
    return log1pf(expf(x));
}

static float logistic1(float x)
{
    return 1.f / (1.f + expf(-x));
}

/* x [b, e) = act(x) (pre [b, e) = x before, when pre is given): one of ours. */
static void act_ours_range(float *x, float *pre, long b, long e, int act)
{
    for (long i = b; i < e; i++) {
        float v = x[i], y = v;
        if (pre) pre[i] = v;
        switch (act) {
        case OHEM_MISH: y = v * tanhf(softplus20(v)); break;
        case OHEM_SWISH: y = v * logistic1(v); break;
        case OHEM_HARD_MISH: y = v > 0 ? v : v > -2 ? v * v / 2 + v : 0; break;
        case OHEM_RELU6: y = v < 0 ? 0 : v > 6 ? 6 : v; break;
        }
        x[i] = y;
    }
}

typedef struct {
    float *x, *pre;
    int act;
} act_ours_args;

static void act_ours_part(void *ctx, long b, long e)
{
    const act_ours_args *p = ctx;
    act_ours_range(p->x, p->pre, b, e, p->act);
}

/* Split over the pool: each element on its own, so the same bits whatever the
 * threads; mish and swish cost a few transcendental calls an element, hence the
 * smaller grain. */
void ohem_act_forward(float *x, float *pre, long n, int act)
{
    act_ours_args p = {x, pre, act};
    ohem_pool_for(n, act == OHEM_MISH || act == OHEM_SWISH ? GRAIN / 32 : GRAIN, act_ours_part, &p);
}

void ohem_act_gradient(const float *pre, long n, int act, float *delta)
{
    for (long i = 0; i < n; i++) {
        float v = pre[i], g = 1;
        switch (act) {
        case OHEM_MISH: { /* d/dx x tanh(sp(x)) = tanh(sp) + x (1 - tanh^2(sp)) sp', sp' = 1 - exp(-sp) */
            float sp = softplus20(v), t = tanhf(sp);
            g = t + v * (1 - t * t) * (1 - expf(-sp));
            break;
        }
        case OHEM_SWISH: {
            float s = logistic1(v);
            g = s + v * s * (1 - s);
            break;
        }
        case OHEM_HARD_MISH: g = v > 0 ? 1 : v > -2 ? v + 1 : 0; break;
        case OHEM_RELU6: g = v > 0 && v < 6; break;
        }
        delta[i] *= g;
    }
}

int ohem_conv_act_alloc(layer *l)
{
    if (!ohem_act_is_ours(l->activation)) return 0;
    float *p = realloc(l->h_cpu, sizeof(float) * (size_t)l->outputs * l->batch);
    if (!p) return -1;
    l->h_cpu = p;
    return 0;
}

void ohem_conv_act_free(layer *l)
{
    if (!ohem_act_is_ours(l->activation)) return;
    free(l->h_cpu);
    l->h_cpu = NULL;
}

/* ---- element-wise loops ---------------------------------------------------- */

typedef struct {
    float *x, *y;
    const float *cx;
    float a;
    int act;
} elem_args;

/* x [b, e): x = activation(x), as libdarknet's activate() per element (leaky, relu,
 * logistic; linear is nothing to do). */
HOT static void act_range(float *x, long b, long e, int act)
{
    switch (act) {
    case LEAKY:
        for (long i = b; i < e; i++) {
            float v = x[i], neg = (float)(.1 * v); /* both sides, then a select: it vectorises */
            x[i] = v > 0 ? v : neg;
        }
        break;
    case RELU:
        for (long i = b; i < e; i++) x[i] = x[i] > 0 ? x[i] : 0.f;
        break;
    case LOGISTIC:
        for (long i = b; i < e; i++) x[i] = (float)(1. / (1. + exp(-x[i])));
        break;
    }
}

HOT static void activate_part(void *ctx, long b, long e)
{
    elem_args *p = ctx;
    act_range(p->x, b, e, p->act);
}

void activate_array(float *x, const int n, const ACTIVATION a)
{
    if (ohem_act_is_ours(a)) {
        ohem_act_forward(x, NULL, n, a);
        return;
    }
    if (use_darknet || (a != LEAKY && a != RELU && a != LOGISTIC && a != LINEAR)) {
        if (!dn.activate_array) find_originals();
        dn.activate_array(x, n, a);
        return;
    }
    if (a == LINEAR) return;
    elem_args p = {.x = x, .act = a};
    ohem_pool_for(n, a == LOGISTIC ? GRAIN / 8 : GRAIN, activate_part, &p);
}

/* x [b, e) the activated output, d [b, e): d *= activation'(x), as libdarknet's
 * gradient() per element (leaky, relu, logistic; linear is nothing to do). */
HOT static void grad_range(const float *x, float *d, long b, long e, int act)
{
    switch (act) {
    case LEAKY:
        for (long i = b; i < e; i++) {
            float g = x[i] > 0 ? 1.f : .1f;
            d[i] = d[i] * g;
        }
        break;
    case RELU:
        for (long i = b; i < e; i++) {
            float g = x[i] > 0 ? 1.f : 0.f;
            d[i] = d[i] * g;
        }
        break;
    case LOGISTIC:
        for (long i = b; i < e; i++) d[i] *= (1 - x[i]) * x[i];
        break;
    }
}

HOT static void gradient_part(void *ctx, long b, long e)
{
    elem_args *p = ctx;
    grad_range(p->cx, p->y, b, e, p->act);
}

void gradient_array(const float *x, const int n, const ACTIVATION a, float *delta)
{
    /* AlexeyAB's activations take their gradient from the pre-activation
     * (ohem_act_gradient); from the output alone it is a programmer's error */
    assert(!ohem_act_is_ours(a));
    if (use_darknet || (a != LEAKY && a != RELU && a != LOGISTIC && a != LINEAR)) {
        if (!dn.gradient_array) find_originals();
        dn.gradient_array(x, n, a, delta);
        return;
    }
    if (a == LINEAR) return;
    elem_args p = {.cx = x, .y = delta, .act = a};
    ohem_pool_for(n, GRAIN, gradient_part, &p);
}

static void fill_part(void *ctx, long b, long e)
{
    elem_args *p = ctx;
    if (p->a == 0) memset(p->x + b, 0, (size_t)(e - b) * sizeof(float));
    else
        for (long i = b; i < e; i++) p->x[i] = p->a;
}

/* X (N, stride INCX) = ALPHA. */
void fill_cpu(int N, float ALPHA, float *X, int INCX)
{
    if (use_darknet || INCX != 1) {
        if (!dn.fill_cpu) find_originals();
        dn.fill_cpu(N, ALPHA, X, INCX);
        return;
    }
    elem_args p = {.x = X, .a = ALPHA};
    ohem_pool_for(N, GRAIN * 4, fill_part, &p);
}

static void copy_part(void *ctx, long b, long e)
{
    elem_args *p = ctx;
    memcpy(p->y + b, p->cx + b, (size_t)(e - b) * sizeof(float));
}

/* Y (N, INCY) = X (N, INCX). */
void copy_cpu(int N, float *X, int INCX, float *Y, int INCY)
{
    if (use_darknet || INCX != 1 || INCY != 1 || X == Y) {
        if (!dn.copy_cpu) find_originals();
        dn.copy_cpu(N, X, INCX, Y, INCY);
        return;
    }
    elem_args p = {.cx = X, .y = Y};
    ohem_pool_for(N, GRAIN * 4, copy_part, &p);
}

HOT static void axpy_part(void *ctx, long b, long e)
{
    elem_args *p = ctx;
    const float *x = p->cx;
    float *y = p->y, a = p->a;
    for (long i = b; i < e; i++) y[i] += a * x[i];
}

/* Y (N, INCY) += ALPHA X (N, INCX). */
void axpy_cpu(int N, float ALPHA, float *X, int INCX, float *Y, int INCY)
{
    if (use_darknet || INCX != 1 || INCY != 1) {
        if (!dn.axpy_cpu) find_originals();
        dn.axpy_cpu(N, ALPHA, X, INCX, Y, INCY);
        return;
    }
    elem_args p = {.cx = X, .y = Y, .a = ALPHA};
    ohem_pool_for(N, GRAIN, axpy_part, &p);
}

HOT static void scal_part(void *ctx, long b, long e)
{
    elem_args *p = ctx;
    float *x = p->x, a = p->a;
    for (long i = b; i < e; i++) x[i] *= a;
}

/* X (N, INCX) *= ALPHA. */
void scal_cpu(int N, float ALPHA, float *X, int INCX)
{
    if (use_darknet || INCX != 1) {
        if (!dn.scal_cpu) find_originals();
        dn.scal_cpu(N, ALPHA, X, INCX);
        return;
    }
    elem_args p = {.x = X, .a = ALPHA};
    ohem_pool_for(N, GRAIN, scal_part, &p);
}

/* ---- per-channel loops over (batch, filters, spatial) ----------------------- */

typedef struct {
    float *x, *y, *mean, *variance, *mean_delta, *variance_delta, *out;
    int batch, filters, spatial;
} chan_args;

/* Sums over a row of n floats, in double, in 8 lanes (so that they vectorise
 * without -ffast-math), then the lanes in order. m is subtracted from x first where
 * given; y multiplies. */
#define LANES 8
#define BLOCK 128
HOT static double sum_row(const float *x, int n)
{
    double a[LANES] = {0}, s = 0;
    int k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int j = 0; j < LANES; j++) a[j] += x[k + j];
    for (; k < n; k++) s += x[k];
    for (int j = 0; j < LANES; j++) s += a[j];
    return s;
}

/* sum of (x - m)^2 */
HOT static double sumsq_row(const float *x, float m, int n)
{
    double a[LANES] = {0}, s = 0;
    int k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int j = 0; j < LANES; j++) {
            float d = x[k + j] - m;
            a[j] += (double)d * d;
        }
    for (; k < n; k++) {
        float d = x[k] - m;
        s += (double)d * d;
    }
    for (int j = 0; j < LANES; j++) s += a[j];
    return s;
}

/* sum of y * (x - m) (the product in float, as libdarknet's) */
static double dot_row(const float *x, float m, const float *y, int n)
{
    double a[LANES] = {0}, s = 0;
    int k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int j = 0; j < LANES; j++) a[j] += y[k + j] * (x[k + j] - m);
    for (; k < n; k++) s += y[k] * (x[k] - m);
    for (int j = 0; j < LANES; j++) s += a[j];
    return s;
}

/* mean (filters) of x (batch, filters, spatial) over batch and spatial. */
HOT static void mean_part(void *ctx, long b, long e)
{
    chan_args *p = ctx;
    float scale = 1. / (p->batch * p->spatial);
    for (long f = b; f < e; f++) {
        double s = 0;
        for (int j = 0; j < p->batch; j++) s += sum_row(p->x + ((long)j * p->filters + f) * p->spatial, p->spatial);
        p->out[f] = (float)s * scale;
    }
}

void mean_cpu(float *x, int batch, int filters, int spatial, float *mean)
{
    if (use_darknet) {
        dn.mean_cpu(x, batch, filters, spatial, mean);
        return;
    }
    chan_args p = {.x = x, .batch = batch, .filters = filters, .spatial = spatial, .out = mean};
    ohem_pool_for(filters, ohem_pool_grain((long)batch * spatial), mean_part, &p);
}

/* variance (filters): sum of (x - mean)^2 over batch and spatial, / (n - 1). */
HOT static void variance_part(void *ctx, long b, long e)
{
    chan_args *p = ctx;
    float scale = 1. / (p->batch * p->spatial - 1);
    for (long f = b; f < e; f++) {
        double s = 0;
        float m = p->mean[f];
        for (int j = 0; j < p->batch; j++) s += sumsq_row(p->x + ((long)j * p->filters + f) * p->spatial, m, p->spatial);
        p->out[f] = (float)s * scale;
    }
}

void variance_cpu(float *x, float *mean, int batch, int filters, int spatial, float *variance)
{
    if (use_darknet) {
        dn.variance_cpu(x, mean, batch, filters, spatial, variance);
        return;
    }
    chan_args p = {.x = x, .mean = mean, .batch = batch, .filters = filters, .spatial = spatial, .out = variance};
    ohem_pool_for(filters, ohem_pool_grain((long)batch * spatial), variance_part, &p);
}

/* A row's sum of x and of (x - s)^2, in double, in LANES lanes (the sum of x in
 * sum_row's order: the same bits). */
HOT static void stats_row(const float *x, int n, double s, double *sum, double *sq)
{
    double a[LANES] = {0}, q[LANES] = {0}, ta = 0, tq = 0;
    int k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int j = 0; j < LANES; j++) {
            double v = x[k + j], d = v - s;
            a[j] += v;
            q[j] += d * d;
        }
    for (; k < n; k++) {
        double v = x[k], d = v - s;
        ta += v;
        tq += d * d;
    }
    for (int j = 0; j < LANES; j++) ta += a[j], tq += q[j];
    *sum += ta, *sq += tq;
}

/* mean and variance (filters) of x in one pass: mean as mean_part's (the same
 * bits); the variance's sum of (x - mean)^2 from the sums of x - s and (x - s)^2,
 * s the channel's first value (so that the two sums stay of the data's spread, and
 * the difference cancels little), in double: float rounding of variance_part's. */
HOT static void stats_part(void *ctx, long b, long e)
{
    chan_args *p = ctx;
    long n = (long)p->batch * p->spatial;
    float scale = 1. / n, vscale = 1. / (n - 1);
    for (long f = b; f < e; f++) {
        double s = p->x[f * p->spatial], sum = 0, sq = 0;
        for (int j = 0; j < p->batch; j++)
            stats_row(p->x + ((long)j * p->filters + f) * p->spatial, p->spatial, s, &sum, &sq);
        float m = (float)sum * scale;
        double dm = (double)m - s, a = sum - n * s, v = sq - 2 * dm * a + n * dm * dm;
        p->mean[f] = m;
        p->variance[f] = (float)(v > 0 ? v : 0) * vscale;
    }
}

/* mean_cpu and variance_cpu of x (batch, filters, spatial) in one pass (above). */
static void batch_stats(float *x, int batch, int filters, int spatial, float *mean, float *variance)
{
    if (use_darknet) {
        mean_cpu(x, batch, filters, spatial, mean);
        variance_cpu(x, mean, batch, filters, spatial, variance);
        return;
    }
    chan_args p = {.x = x, .mean = mean, .variance = variance, .batch = batch, .filters = filters, .spatial = spatial};
    ohem_pool_for(filters, ohem_pool_grain((long)batch * spatial), stats_part, &p);
}

/* Row r of (batch*filters) rows of spatial: channel r % filters. */
HOT static void normalize_part(void *ctx, long b, long e)
{
    chan_args *p = ctx;
    for (long r = b; r < e; r++) {
        int f = (int)(r % p->filters);
        float m = p->mean[f];
        double den = sqrt(p->variance[f]) + .000001f;
        float *x = p->x + r * p->spatial;
        for (int k = 0; k < p->spatial; k++) x[k] = (float)((x[k] - m) / den);
    }
}

/* x (batch, filters, spatial) = (x - mean) / (sqrt(variance) + 1e-6), per filter. */
void normalize_cpu(float *x, float *mean, float *variance, int batch, int filters, int spatial)
{
    if (use_darknet) {
        dn.normalize_cpu(x, mean, variance, batch, filters, spatial);
        return;
    }
    chan_args p = {.x = x, .mean = mean, .variance = variance, .batch = batch, .filters = filters, .spatial = spatial};
    ohem_pool_for((long)batch * filters, ohem_pool_grain(spatial), normalize_part, &p);
}

HOT static void scale_bias_part(void *ctx, long b, long e)
{
    chan_args *p = ctx;
    for (long r = b; r < e; r++) {
        float s = p->mean[r % p->filters];
        float *x = p->x + r * p->spatial;
        for (int k = 0; k < p->spatial; k++) x[k] *= s;
    }
}

/* output (batch, n, size) *= scales (n). */
void scale_bias(float *output, float *scales, int batch, int n, int size)
{
    if (use_darknet) {
        dn.scale_bias(output, scales, batch, n, size);
        return;
    }
    chan_args p = {.x = output, .mean = scales, .batch = batch, .filters = n, .spatial = size};
    ohem_pool_for((long)batch * n, ohem_pool_grain(size), scale_bias_part, &p);
}

HOT static void add_bias_part(void *ctx, long b, long e)
{
    chan_args *p = ctx;
    for (long r = b; r < e; r++) {
        float s = p->mean[r % p->filters];
        float *x = p->x + r * p->spatial;
        for (int k = 0; k < p->spatial; k++) x[k] += s;
    }
}

/* output (batch, n, size) += biases (n). */
void add_bias(float *output, float *biases, int batch, int n, int size)
{
    if (use_darknet) {
        dn.add_bias(output, biases, batch, n, size);
        return;
    }
    chan_args p = {.x = output, .mean = biases, .batch = batch, .filters = n, .spatial = size};
    ohem_pool_for((long)batch * n, ohem_pool_grain(size), add_bias_part, &p);
}

/* out[f] += sum over batch and spatial of x (and of x * y when y is given). */
HOT static void sum_part(void *ctx, long b, long e)
{
    chan_args *p = ctx;
    for (long f = b; f < e; f++) {
        double s = 0;
        for (int j = 0; j < p->batch; j++) {
            long o = ((long)j * p->filters + f) * p->spatial;
            const float *x = p->x + o;
            if (p->y) {
                s += dot_row(p->y + o, 0.f, x, p->spatial); /* x * (y - 0): the same float product */
            } else {
                s += sum_row(x, p->spatial);
            }
        }
        p->out[f] += (float)s;
    }
}

/* bias_updates (n) += the sums of delta (batch, n, size). */
void backward_bias(float *bias_updates, float *delta, int batch, int n, int size)
{
    if (use_darknet) {
        dn.backward_bias(bias_updates, delta, batch, n, size);
        return;
    }
    chan_args p = {.x = delta, .batch = batch, .filters = n, .spatial = size, .out = bias_updates};
    ohem_pool_for(n, ohem_pool_grain((long)batch * size), sum_part, &p);
}

/* scale_updates (n) += the sums of delta * x_norm (batch, n, size). */
void backward_scale_cpu(float *x_norm, float *delta, int batch, int n, int size, float *scale_updates)
{
    if (use_darknet) {
        dn.backward_scale_cpu(x_norm, delta, batch, n, size, scale_updates);
        return;
    }
    chan_args p = {.x = delta, .y = x_norm, .batch = batch, .filters = n, .spatial = size, .out = scale_updates};
    ohem_pool_for(n, ohem_pool_grain((long)batch * size), sum_part, &p);
}

HOT static void mean_delta_part(void *ctx, long b, long e)
{
    chan_args *p = ctx;
    for (long f = b; f < e; f++) {
        double s = 0;
        for (int j = 0; j < p->batch; j++) s += sum_row(p->x + ((long)j * p->filters + f) * p->spatial, p->spatial);
        p->out[f] = (float)((float)s * (-1. / sqrt(p->variance[f] + .00001f)));
    }
}

/* mean_delta (filters) = -sum(delta) / sqrt(variance + 1e-5). */
void mean_delta_cpu(float *delta, float *variance, int batch, int filters, int spatial, float *mean_delta)
{
    if (use_darknet) {
        dn.mean_delta_cpu(delta, variance, batch, filters, spatial, mean_delta);
        return;
    }
    chan_args p = {.x = delta, .variance = variance, .batch = batch, .filters = filters, .spatial = spatial,
                   .out = mean_delta};
    ohem_pool_for(filters, ohem_pool_grain((long)batch * spatial), mean_delta_part, &p);
}

HOT static void variance_delta_part(void *ctx, long b, long e)
{
    chan_args *p = ctx;
    for (long f = b; f < e; f++) {
        double s = 0;
        float m = p->mean[f];
        for (int j = 0; j < p->batch; j++) {
            long o = ((long)j * p->filters + f) * p->spatial;
            s += dot_row(p->x + o, m, p->y + o, p->spatial);
        }
        p->out[f] = (float)((float)s * (-.5 * pow(p->variance[f] + .00001f, (float)(-3. / 2.))));
    }
}

/* variance_delta (filters) = sum(delta * (x - mean)) * -0.5 (variance + 1e-5)^-1.5. */
void variance_delta_cpu(float *x, float *delta, float *mean, float *variance, int batch, int filters, int spatial,
                        float *variance_delta)
{
    if (use_darknet) {
        dn.variance_delta_cpu(x, delta, mean, variance, batch, filters, spatial, variance_delta);
        return;
    }
    chan_args p = {.x = x, .y = delta, .mean = mean, .variance = variance, .batch = batch, .filters = filters,
                   .spatial = spatial, .out = variance_delta};
    ohem_pool_for(filters, ohem_pool_grain((long)batch * spatial), variance_delta_part, &p);
}

/* As libdarknet's formula, with its two divisions per element taken as products
 * by reciprocals (in double: the float results agree to rounding). */
HOT static void normalize_delta_part(void *ctx, long b, long e)
{
    chan_args *p = ctx;
    double n = (double)p->spatial * p->batch;
    for (long r = b; r < e; r++) {
        int f = (int)(r % p->filters);
        double inv = 1. / sqrt(p->variance[f] + .00001f), vd = p->variance_delta[f] * 2. / n;
        float md = p->mean_delta[f] / (float)(p->spatial * p->batch);
        float m = p->mean[f];
        const float *x = p->x + r * p->spatial;
        float *d = p->y + r * p->spatial;
        for (int k = 0; k < p->spatial; k++) d[k] = (float)(d[k] * inv + vd * (x[k] - m) + md);
    }
}

/* delta (batch, filters, spatial): the batch-norm gradient through the
 * normalisation, from x, mean, variance, mean_delta and variance_delta. */
void normalize_delta_cpu(float *x, float *mean, float *variance, float *mean_delta, float *variance_delta, int batch,
                         int filters, int spatial, float *delta)
{
    if (use_darknet) {
        dn.normalize_delta_cpu(x, mean, variance, mean_delta, variance_delta, batch, filters, spatial, delta);
        return;
    }
    chan_args p = {.x = x, .y = delta, .mean = mean, .variance = variance, .mean_delta = mean_delta,
                   .variance_delta = variance_delta, .batch = batch, .filters = filters, .spatial = spatial};
    ohem_pool_for((long)batch * filters, ohem_pool_grain(spatial), normalize_delta_part, &p);
}

/* ---- batch normalisation of a convolutional layer, fused ------------------- */

typedef struct {
    const layer *l;
    int act;    /* -1: none; else the activation to apply to each row after (fused) */
    int x_made; /* the pre-normalisation values are in x already (not in output) */
} bn_args;

/* Rows (batch * out_c): x = output, x_norm = (output - mean) / (sqrt(variance) +
 * 1e-6), output = x_norm * scale + bias: what libdarknet does in four passes
 * (copy, normalize, copy, scale_bias, add_bias), the same float steps in one. */
HOT static void bn_forward_part(void *ctx, long b, long e)
{
    const layer *l = ((bn_args *)ctx)->l;
    int sp = l->out_h * l->out_w;
    for (long r = b; r < e; r++) {
        int f = (int)(r % l->out_c);
        float m = l->mean[f], sc = l->scales[f], bi = l->biases[f];
        double den = sqrt(l->variance[f]) + .000001f;
        float *out = l->output + r * sp, *x = l->x + r * sp, *xn = l->x_norm + r * sp;
        if (((bn_args *)ctx)->x_made)
            for (int k = 0; k < sp; k++) {
                float n = (float)((x[k] - m) / den);
                xn[k] = n;
                out[k] = n * sc + bi;
            }
        else
            for (int k = 0; k < sp; k++) {
                float v = out[k], n = (float)((v - m) / den);
                x[k] = v;
                xn[k] = n;
                out[k] = n * sc + bi;
            }
        if (((bn_args *)ctx)->act >= 0) act_range(out, 0, sp, ((bn_args *)ctx)->act);
    }
}

/* The training forward of l's batch norm: statistics of the values before it (in
 * x when x_made, else in the output), the rolling averages (.99 and .01, as
 * libdarknet's), then one fused pass, with the activation act (-1: none). */
static void bn_train_forward(const layer *l, int act, int x_made)
{
    int sp = l->out_h * l->out_w;
    batch_stats(x_made ? l->x : l->output, l->batch, l->out_c, sp, l->mean, l->variance);
    scal_cpu(l->out_c, .99, l->rolling_mean, 1);
    axpy_cpu(l->out_c, .01, l->mean, 1, l->rolling_mean, 1);
    scal_cpu(l->out_c, .99, l->rolling_variance, 1);
    axpy_cpu(l->out_c, .01, l->variance, 1, l->rolling_variance, 1);
    bn_args p = {l, act, x_made};
    ohem_pool_for((long)l->batch * l->out_c, ohem_pool_grain(sp), bn_forward_part, &p);
}

/* Training forward of the batch norm of a convolutional layer (above). Other
 * layer kinds and inference go to libdarknet's own. */
void forward_batchnorm_layer(layer l, network net)
{
    if (use_darknet || l.type != CONVOLUTIONAL || !net.train) {
        if (!dn.forward_batchnorm_layer) find_originals();
        dn.forward_batchnorm_layer(l, net);
        return;
    }
    bn_train_forward(&l, -1, 0);
}

/* One row of bn_backward_part: the activation's gradient (factor low where xn
 * scale + bias is not > 0), the two sums in LANES float lanes per BLOCK (then the
 * lanes in order, in double; a row's last block shorter, so that rows of 64 or
 * 169 pixels are vectorised too), delta scaled. Written with GCC's vector type, as the
 * loop vectoriser leaves the lanes' sums scalar. */
typedef float lanes_f __attribute__((vector_size(LANES * sizeof(float))));
typedef int lanes_i __attribute__((vector_size(LANES * sizeof(int))));

HOT static void bn_backward_row(float *restrict dd, const float *restrict xn, int sp, float sc, float bi, float low,
                                double *sbp, double *ssp)
{
    double sb = *sbp, ss = *ssp;
    lanes_f zero = {0}, vsc = zero + sc, vbi = zero + bi, one = zero + 1.f, vlow = zero + low;
    int k = 0;
    while (k + LANES <= sp) {
        int end = k + BLOCK <= sp ? k + BLOCK : k + (sp - k) / LANES * LANES;
        lanes_f fb = zero, fs = zero;
        for (int t = k; t < end; t += LANES) {
            lanes_f n, d;
            memcpy(&n, xn + t, sizeof n);
            memcpy(&d, dd + t, sizeof d);
            lanes_i pos = n * vsc + vbi > zero;
            lanes_f v = d * (lanes_f)(((lanes_i)one & pos) | ((lanes_i)vlow & ~pos));
            fb += v;
            fs += v * n;
            v *= vsc;
            memcpy(dd + t, &v, sizeof v);
        }
        for (int q = 0; q < LANES; q++) sb += fb[q], ss += fs[q];
        k = end;
    }
    for (; k < sp; k++) {
        float n = xn[k], v = dd[k] * (n * sc + bi > 0 ? 1.f : low);
        sb += v;
        ss += v * n;
        dd[k] = v * sc;
    }
    *sbp = sb, *ssp = ss;
}

/* Channels: one pass over delta and x_norm that takes the sums of libdarknet's
 * backward_bias, backward_scale_cpu, mean_delta_cpu and variance_delta_cpu and
 * scales delta (its scale_bias) on the way. Two sums are enough: with v the delta
 * and xn = (x - mean) / den, mean_delta's sum of v scale is scale times the bias
 * sum, and variance_delta's sum of v scale (x - mean) is scale den times the scale
 * sum (float rounding apart); so x is not read. The activation's gradient, fused,
 * decides leaky and relu from xn scale + bias, the forward's pre-activation output
 * to the bit (the same float operations), so the output is not read either; a
 * logistic reads it. */
HOT static void bn_backward_part(void *ctx, long b, long e)
{
    const layer *l = ((bn_args *)ctx)->l;
    int sp = l->out_h * l->out_w, act = ((bn_args *)ctx)->act;
    /* leaky and relu: the gradient's factor where the pre-activation is not > 0 (1
     * for the others: v * 1 is v) */
    int by_sign = act == LEAKY || act == RELU;
    float low = act == LEAKY ? .1f : act == RELU ? 0.f : 1.f;
    for (long f = b; f < e; f++) {
        float sc = l->scales[f], bi = l->biases[f];
        double sb = 0, ss = 0;
        for (int j = 0; j < l->batch; j++) {
            long o = ((long)j * l->out_c + f) * sp;
            if (act >= 0 && !by_sign) grad_range(l->output + o, l->delta + o, 0, sp, act);
            bn_backward_row(l->delta + o, l->x_norm + o, sp, sc, bi, low, &sb, &ss);
        }
        double den = sqrt(l->variance[f]) + .000001f;
        l->bias_updates[f] += (float)sb;
        l->scale_updates[f] += (float)ss;
        l->mean_delta[f] = (float)((float)(sc * sb) * (-1. / sqrt(l->variance[f] + .00001f)));
        l->variance_delta[f] =
            (float)((float)(sc * den * ss) * (-.5 * pow(l->variance[f] + .00001f, (float)(-3. / 2.))));
    }
}

/* Training backward of the batch norm of a convolutional layer: the fused pass
 * above, then normalize_delta_cpu. Others go to libdarknet's own. */
void backward_batchnorm_layer(layer l, network net)
{
    if (use_darknet || l.type != CONVOLUTIONAL || !net.train) {
        if (!dn.backward_batchnorm_layer) find_originals();
        dn.backward_batchnorm_layer(l, net);
        return;
    }
    int sp = l.out_h * l.out_w;
    bn_args p = {&l, -1, 0};
    ohem_pool_for(l.out_c, ohem_pool_grain((long)l.batch * sp), bn_backward_part, &p);
    normalize_delta_cpu(l.x, l.mean, l.variance, l.mean_delta, l.variance_delta, l.batch, l.out_c, sp, l.delta);
}

/* ---- the convolutional layer's forward ------------------------------------ */

void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B, int ldb, float BETA, float *C,
          int ldc);

typedef struct {
    const layer *l;
} bias_args;

/* Rows (batch * n): output += bias, then the activation, in one visit of the row. */
HOT static void bias_act_part(void *ctx, long b, long e)
{
    const layer *l = ((bias_args *)ctx)->l;
    int sp = l->out_h * l->out_w;
    for (long r = b; r < e; r++) {
        float bi = l->biases[r % l->n], *out = l->output + r * sp;
        for (int k = 0; k < sp; k++) out[k] += bi;
        act_range(out, 0, sp, l->activation);
    }
}

/* Image (or group) im of layer l as the B of our gemm (sgemm.h): its im2col. */
static ohem_im2col_src conv_src(const layer *l, const float *im)
{
    return (ohem_im2col_src){im, l->c / l->groups, l->h, l->w, l->size, l->stride, l->pad};
}

/* ---- Winograd's F(2x2, 3x3) for the 3 x 3 layers (winograd.h) --------------
 *
 * A 3 x 3, stride-1, pad-1 layer with at least WG_MIN_C channels and WG_MIN_F
 * filters, weights of at most WG_MAX_FC kernels (their transform, 16 floats a
 * kernel, is read again by every block of tiles), and at least one tile of 2 x 2
 * outputs in the batch for every WG_TILES_PER kernels (the weights' transforms and
 * the gradient's groups cost per kernel, what they save per tile), goes by
 * Winograd on our gemm: its forward, its input's delta as a forward of delta with
 * the weights turned round, and its weight gradient. These fixed bounds apply where
 * no plan chose (plan.h: OHEM_PLAN=off, or a shape past the planning time cap);
 * OHEM_CONV=winograd takes every 3 x 3 shape. The bounds are where Winograd
 * gains: every fashion.cfg and yolov3-tiny layer inside them is faster than by
 * im2col and gemm, every one outside slower (such as yolov3-tiny's 13 x 13 x 256
 * to 512, past WG_MAX_FC, or fashion.cfg's 8 x 8 x 128 to 256 at batch 2, 1024
 * kernels a tile); see docs/performance.md, Winograd. */
#define WG_MIN_C 32
#define WG_MIN_F 32
#define WG_MAX_FC (256L * 256)
#define WG_TILES_PER 256

static int winograd_fits(const layer *l)
{
    if (!use_winograd || use_darknet || !ohem_gemm_is_ours() || !ohem_plan_winograd_shape(l)) return 0;
    int path = ohem_plan_current();
    if (use_winograd == 2) return 1; /* OHEM_CONV=winograd */
    if (path != OHEM_PATH_RULES) return path == OHEM_PATH_WINOGRAD;
    return l->c >= WG_MIN_C && l->n >= WG_MIN_F && (long)l->n * l->c <= WG_MAX_FC &&
           (long)l->batch * ((l->h + 1) / 2) * ((l->w + 1) / 2) * WG_TILES_PER >= (long)l->n * l->c;
}

/* 1 when our gemm takes the batch's images in one split (the forward's weights,
 * m x k, read by every part) rather than image by image: as planned, else where
 * the weights are at most 2^19 floats. */
static int conv_batched(const layer *l, long mk)
{
    if (!ohem_gemm_is_ours() || l->size == 1 || l->groups != 1) return 0;
    int path = ohem_plan_current();
    if (path == OHEM_PATH_OURS_IMAGES) return 0;
    return path == OHEM_PATH_OURS || mk <= (1L << 19);
}

/* l's weights transformed (turned round for the input's delta), in the calling
 * thread's buffer. */
static float *winograd_u(const layer *l, int turned)
{
    static __thread void *buf;
    static __thread size_t cap;
    float *u = ohem_thread_buffer(&buf, &cap, sizeof(float) * ohem_winograd_u_floats(l->n, l->c),
                                  "the transformed weights (a Winograd convolution)");
    if (turned) ohem_winograd_weights(l->c, l->n, l->weights, 1, u);
    else ohem_winograd_weights(l->n, l->c, l->weights, 0, u);
    return u;
}

/* ---- the inference forward's output pass ---------------------------------
 *
 * Not training, a batch norm is an affine map per filter: (x - rolling_mean) /
 * (sqrt(rolling_variance) + 1e-6) * scale + bias is x * s + (bias - rolling_mean
 * s), s = scale / (sqrt(rolling_variance) + 1e-6). OpenCV folds s into the weights
 * once; here s and the bias are made per forward (a few operations per filter, so
 * nothing to keep or to invalidate when the weights change) and applied, with the
 * activation, in one pass over the output instead of libdarknet's five (copy to x,
 * normalize, scale, bias, activation). Each output then differs from libdarknet's
 * by float rounding of that rearrangement. */

typedef struct {
    const layer *l;
    const float *scale, *bias; /* per filter */
} infer_args;

/* Rows (batch * n) of l's output: x * scale + bias of the row's filter, then the
 * activation (ours too), in one visit of the row. */
HOT static void infer_out_part(void *ctx, long b, long e)
{
    const infer_args *p = ctx;
    const layer *l = p->l;
    int sp = l->out_h * l->out_w, act = l->activation, ours = ohem_act_is_ours(act);
    for (long r = b; r < e; r++) {
        int f = (int)(r % l->n);
        float s = p->scale[f], c = p->bias[f], *out = l->output + r * sp;
        for (int k = 0; k < sp; k++) out[k] = out[k] * s + c;
        if (ours) act_ours_range(out, NULL, 0, sp, act);
        else act_range(out, 0, sp, act);
    }
}

/* l's output (the product of the weights and the input) through the batch norm
 * with the rolling statistics (or the bias) and the activation, as above. */
static void infer_out(const layer *l)
{
    static __thread void *buf;
    static __thread size_t cap;
    float *s = ohem_thread_buffer(&buf, &cap, sizeof(float) * 2 * l->n, "the folded batch norm (a convolution)");
    for (int f = 0; f < l->n; f++) {
        double d = l->batch_normalize ? l->scales[f] / (sqrt(l->rolling_variance[f]) + .000001f) : 1;
        s[f] = (float)d;
        /* without batch norm, x * 1 + bias: the same bits as x + bias */
        s[l->n + f] = l->batch_normalize ? (float)(l->biases[f] - l->rolling_mean[f] * d) : l->biases[f];
    }
    infer_args p = {l, s, s + l->n};
    int sp = l->out_h * l->out_w, act = l->activation, dear = act == OHEM_MISH || act == OHEM_SWISH;
    ohem_pool_for((long)l->batch * l->n, ohem_pool_grain(dear ? 32L * sp : sp), infer_out_part, &p);
}

/* libdarknet's forward of a convolutional layer (output (batch, n, out_h, out_w) =
 * activation(batch norm or bias of weights * im2col(input))), with the output
 * written by gemm (or by Winograd's output transform, for the 3 x 3 layers it
 * fits) instead of cleared and accumulated into, and the batch norm's last pass,
 * or the bias, fused with the activation; not training, the batch norm folded
 * (above) and AlexeyAB's activations fused too. Binary and XNOR layers and other
 * activations go to libdarknet's own. */
static void conv_forward(layer l, network net)
{
    int act = l.activation;
    int own_act = act == LEAKY || act == RELU || act == LOGISTIC || act == LINEAR;
    int infer = use_infer && !use_darknet && !net.train && !l.xnor && !l.binary && (own_act || ohem_act_is_ours(act));
    if (ohem_act_is_ours(act) && !infer) { /* linear, then the activation, keeping its input */
        layer lin = l;
        lin.activation = LINEAR;
        forward_convolutional_layer(lin, net);
        ohem_act_forward(l.output, l.h_cpu, (long)l.outputs * l.batch, act);
        return;
    }
    if (!infer && (use_darknet || l.xnor || l.binary || !own_act)) {
        if (!dn.forward_convolutional_layer) find_originals();
        dn.forward_convolutional_layer(l, net);
        return;
    }
    int m = l.n / l.groups, k = l.size * l.size * l.c / l.groups, n = l.out_w * l.out_h;
    /* training with batch norm: the product goes to x, which the batch norm keeps
     * (libdarknet copies it there from the output), and the batch norm's pass writes
     * the output from it: one pass over the output less (docs/performance.md, the
     * kernels) */
    int to_x = l.batch_normalize && net.train;
    float *prod = to_x ? l.x : l.output;
    /* libdarknet's own gemm reads C even with beta 0 (0 * C): clear it for that one */
    int beta = 0;
    if (ohem_gemm_is_darknet()) fill_cpu(l.outputs * l.batch, 0, prod, 1), beta = 1;
    /* our gemm: the batch's images in one split of the pool where the weights are
     * small enough for every part to read them (else image by image, split by rows) */
    int batched = conv_batched(&l, (long)m * k);
    if (winograd_fits(&l)) {
        float *u = winograd_u(&l, 0);
        ohem_winograd_conv(l.batch, l.c, l.h, l.w, l.n, u, net.input, l.inputs, prod, l.outputs, 0);
    } else if (batched) {
        ohem_im2col_src src = conv_src(&l, net.input);
        ohem_sgemm_conv_forward(l.batch, m, n, k, l.weights, &src, l.inputs, prod, l.outputs, 0);
    }
    for (int i = 0; i < l.batch && !batched; i++)
        for (int j = 0; j < l.groups; j++) {
            float *a = l.weights + j * l.nweights / l.groups, *b = net.workspace;
            float *c = prod + (long)(i * l.groups + j) * n * m;
            float *im = net.input + (long)(i * l.groups + j) * l.c / l.groups * l.h * l.w;
            if (l.size != 1 && ohem_gemm_is_ours()) { /* col made inside the gemm's packing */
                ohem_im2col_src src = conv_src(&l, im);
                ohem_sgemm_im2col(0, 0, m, n, k, 1, a, k, &src, 0, c, n);
                continue;
            }
            if (l.size == 1) b = im;
            else im2col_cpu(im, l.c / l.groups, l.h, l.w, l.size, l.stride, l.pad, b);
            gemm(0, 0, m, n, k, 1, a, k, b, n, beta, c, n);
        }
    if (to_x) bn_train_forward(&l, act == LINEAR ? -1 : act, 1);
    else if (infer) infer_out(&l);
    else if (l.batch_normalize) {
        forward_batchnorm_layer(l, net);
        activate_array(l.output, l.outputs * l.batch, l.activation);
    } else {
        bias_args p = {&l};
        ohem_pool_for((long)l.batch * l.n, ohem_pool_grain(n), bias_act_part, &p);
    }
}

/* The forward above on the path planned for l's shape (plan.h). */
void forward_convolutional_layer(layer l, network net)
{
    int token = ohem_plan_enter(&l, net);
    conv_forward(l, net);
    ohem_plan_leave(token);
}

/* Rows [b, e) of a [connected] layer's output: + bias, then the activation. */
HOT static void conn_bias_act_part(void *ctx, long b, long e)
{
    const layer *l = ((bias_args *)ctx)->l;
    for (long r = b; r < e; r++) {
        float *out = l->output + r * l->outputs;
        for (int k = 0; k < l->outputs; k++) out[k] += l->biases[k];
        act_range(out, 0, l->outputs, l->activation);
    }
}

/* libdarknet's forward of a [connected] layer without batch norm (output (batch,
 * outputs) = activation(input * weights' + bias)), with the output written by gemm
 * instead of cleared and accumulated into (0 + x is x: the same bits), and the bias
 * fused with the activation in one pass over rows. A two-stage head runs it over
 * every RoI of a batch. Batch-normalised layers and other activations go to
 * libdarknet's own. */
void forward_connected_layer(layer l, network net)
{
    int act = l.activation;
    if (use_darknet || l.batch_normalize || (act != LEAKY && act != RELU && act != LOGISTIC && act != LINEAR)) {
        if (!dn.forward_connected_layer) find_originals();
        dn.forward_connected_layer(l, net);
        return;
    }
    int beta = 0;
    if (ohem_gemm_is_darknet()) fill_cpu(l.outputs * l.batch, 0, l.output, 1), beta = 1;
    gemm(0, 1, l.batch, l.outputs, l.inputs, 1, net.input, l.inputs, l.weights, l.inputs, beta, l.output, l.outputs);
    bias_args p = {&l};
    ohem_pool_for(l.batch, ohem_pool_grain(l.outputs), conn_bias_act_part, &p);
}

/* ---- the input's delta of a large convolution, band by band -------------------
 *
 * libdarknet makes an image's whole col (channels ksize^2 x out_h out_w) for its
 * input delta, then adds it into the image (col2im). Past the caches (yolov3-tiny's
 * 208-pixel layer: 25 MB an image) that col goes to memory and back; made a band
 * of output rows at a time, it stays in L2. With our gemm, images past BAND_FROM
 * bytes of col and at least BAND_WIDTH pixels wide; a band is about BAND_FLOATS of
 * col. Each col element is the same sum; each pixel's additions come band by band
 * (float rounding of col2im's order). */
#define BAND_FROM (8L << 20)
#define BAND_WIDTH 64
#define BAND_FLOATS 65536L

typedef struct {
    const layer *l;
    float *delta; /* the input's delta (net.delta) */
    int rows;     /* output rows of a band */
} band_args;

/* Images [b, e) of a's layer, each band by band (with one image a part, the
 * gemm and col2im run in this thread). */
static void band_part(void *ctx, long b, long e)
{
    const band_args *p = ctx;
    const layer *l = p->l;
    static __thread void *buf;
    static __thread size_t cap;
    int n = l->size * l->size * l->c, k = l->out_w * l->out_h;
    float *col = ohem_thread_buffer(&buf, &cap, sizeof(float) * n * p->rows * l->out_w,
                              "a band of col (the backward of a convolutional layer)");
    for (long i = b; i < e; i++)
        for (int h0 = 0; h0 < l->out_h; h0 += p->rows) {
            int h1 = h0 + p->rows < l->out_h ? h0 + p->rows : l->out_h, nb = (h1 - h0) * l->out_w;
            gemm(1, 0, n, nb, l->n, 1, l->weights, n, l->delta + i * l->outputs + (long)h0 * l->out_w, k, 0, col, nb);
            ohem_col2im_rows(col, l->c, l->h, l->w, l->size, l->stride, l->pad, h0, h1, p->delta + i * l->inputs);
        }
}

/* 1 when l's input delta goes band by band (above), having done it. */
static int backward_input_bands(const layer *l, float *delta)
{
    long col = (long)l->size * l->size * l->c * l->out_h * l->out_w * (long)sizeof(float);
    if (!ohem_gemm_is_ours() || !delta || l->size == 1 || l->groups != 1 || col < BAND_FROM ||
        l->out_w < BAND_WIDTH)
        return 0;
    long per_row = (long)l->size * l->size * l->c * l->out_w;
    band_args p = {l, delta, (int)(BAND_FLOATS / per_row > 0 ? BAND_FLOATS / per_row : 1)};
    if (l->batch > 1) ohem_pool_for(l->batch, 1, band_part, &p); /* an image a part */
    else {
        p.rows *= 4; /* one image: bands the pool's threads share, larger so that each has its part */
        band_part(&p, 0, 1);
    }
    return 1;
}

/* ---- the input's delta of a convolution with few input channels, as a forward --
 *
 * For stride 1, the input's delta is the convolution of delta with the weights
 * turned round: channel c of the input's delta, at (y, x), is the sum over
 * filters f and (ky, kx) of delta_f at (y + pad - ky, x + pad - kx) times w[f][c][ky]
 * [kx]; that is a forward of delta (f channels, padded by ksize - 1 - pad) with
 * weights w'[c][f][ksize - 1 - ky][ksize - 1 - kx]. Where that forward reads delta
 * in place (ohem_sgemm_conv_direct: few input channels, wide rows), it replaces the
 * gemm into col and col2im, and adds into the input's delta directly. Each pixel
 * is the same sum, in another order (float rounding of col2im's). Against the gemm
 * into col and col2im it is faster with at most FLIP_C input channels (fashion.cfg's
 * 64x64x16 layer) and slower with 64 (yolov3-tiny's 52x52x64); the band path, where
 * it applies, is faster still (docs/performance.md, convolution paths). */
#define FLIP_C 32
static int backward_input_flipped(const layer *l, float *delta)
{
    int ks = l->size, kk = ks * ks, k = l->n * kk;
    ohem_im2col_src src = {l->delta, l->n, l->out_h, l->out_w, ks, 1, ks - 1 - l->pad};
    if (!ohem_gemm_is_ours() || !delta || l->groups != 1 || l->stride != 1 || ks == 1 || l->pad > ks - 1 ||
        l->out_h != l->h || l->out_w != l->w || l->c > FLIP_C || !ohem_sgemm_conv_direct(l->c, k, &src))
        return 0;
    static __thread void *buf;
    static __thread size_t cap;
    float *wf = ohem_thread_buffer(&buf, &cap, sizeof(float) * l->c * k,
                                   "the turned weights (the backward of a convolutional layer)");
    for (int f = 0; f < l->n; f++)
        for (int c = 0; c < l->c; c++) {
            const float *w = l->weights + ((long)f * l->c + c) * kk;
            float *t = wf + ((long)c * l->n + f) * kk;
            for (int q = 0; q < kk; q++) t[kk - 1 - q] = w[q];
        }
    ohem_sgemm_conv_forward(l->batch, l->c, l->h * l->w, k, wf, &src, l->outputs, delta, l->inputs, 1);
    return 1;
}

/* libdarknet's backward of a convolutional layer with the activation's gradient
 * fused into the batch norm's backward pass; the rest (weight updates, the input's
 * delta, col2im) as libdarknet's, call for call, except that the 3 x 3 layers
 * Winograd fits take its weight gradient and input delta (winograd.h), a large
 * image's input delta goes band by band, and that of a layer with few input
 * channels as a forward with the weights turned round (above). */
static void conv_backward(layer l, network net)
{
    int act = l.activation;
    if (ohem_act_is_ours(act)) { /* the activation's gradient, then a linear layer's backward */
        ohem_act_gradient(l.h_cpu, (long)l.outputs * l.batch, act, l.delta);
        layer lin = l;
        lin.activation = LINEAR;
        backward_convolutional_layer(lin, net);
        return;
    }
    if (use_darknet || l.xnor || l.binary || !l.batch_normalize || !net.train ||
        (act != LEAKY && act != RELU && act != LOGISTIC && act != LINEAR)) {
        if (!dn.backward_convolutional_layer) find_originals();
        dn.backward_convolutional_layer(l, net);
        return;
    }
    int m = l.n / l.groups, n = l.size * l.size * l.c / l.groups, k = l.out_w * l.out_h;
    bn_args p = {&l, act == LINEAR ? -1 : act, 0};
    ohem_pool_for(l.out_c, ohem_pool_grain((long)l.batch * k), bn_backward_part, &p);
    normalize_delta_cpu(l.x, l.mean, l.variance, l.mean_delta, l.variance_delta, l.batch, l.out_c, k, l.delta);
    /* our gemm: the weight gradient of the whole batch in one split of the pool
     * (col' made inside its packing), summed in image order as below, or by fixed
     * groups of images for few filters (sgemm.h) */
    int wg = winograd_fits(&l),
        batched = wg || (ohem_gemm_is_ours() && l.size != 1 && l.groups == 1 && ohem_plan_current() != OHEM_PATH_OURS_IMAGES);
    if (wg) /* fits only where batched */
        ohem_winograd_grad(l.batch, l.c, l.h, l.w, l.n, net.input, l.inputs, l.delta, l.outputs, l.weight_updates);
    else if (batched) {
        ohem_im2col_src src = conv_src(&l, net.input);
        ohem_sgemm_conv_weights(l.batch, m, n, k, l.delta, l.outputs, &src, l.inputs, l.weight_updates);
    }
    int input_done = 0;
    if (net.delta && wg) {
        float *u = winograd_u(&l, 1);
        ohem_winograd_conv(l.batch, l.n, l.h, l.w, l.c, u, l.delta, l.outputs, net.delta, l.inputs, 1);
        input_done = 1;
    }
    input_done = input_done || backward_input_bands(&l, net.delta) || backward_input_flipped(&l, net.delta);
    for (int i = 0; i < l.batch; i++)
        for (int j = 0; j < l.groups; j++) {
            float *a = l.delta + (long)(i * l.groups + j) * m * k, *b = net.workspace;
            float *c = l.weight_updates + j * l.nweights / l.groups;
            float *im = net.input + (long)(i * l.groups + j) * l.c / l.groups * l.h * l.w;
            float *imd = net.delta ? net.delta + (long)(i * l.groups + j) * l.c / l.groups * l.h * l.w : NULL;
            if (l.size != 1 && ohem_gemm_is_ours() && !batched) { /* groups: image by image */
                ohem_im2col_src src = conv_src(&l, im);
                ohem_sgemm_im2col(0, 1, m, n, k, 1, a, k, &src, 1, c, n);
            } else if (!batched) {
                if (l.size == 1) b = im;
                else im2col_cpu(im, l.c / l.groups, l.h, l.w, l.size, l.stride, l.pad, b);
                gemm(0, 1, m, n, k, 1, a, k, b, k, 1, c, n);
            }
            if (net.delta && !input_done) {
                a = l.weights + j * l.nweights / l.groups;
                b = l.delta + (long)(i * l.groups + j) * m * k;
                c = l.size == 1 ? imd : net.workspace;
                gemm(1, 0, n, k, m, 1, a, n, b, k, 0, c, k);
                if (l.size != 1) col2im_cpu(net.workspace, l.c / l.groups, l.h, l.w, l.size, l.stride, l.pad, imd);
            }
        }
}

/* The backward above on the path planned for l's shape (plan.h). */
void backward_convolutional_layer(layer l, network net)
{
    int token = ohem_plan_enter(&l, net);
    conv_backward(l, net);
    ohem_plan_leave(token);
}

/* ---- the convolutional layer's update ------------------------------------- */

typedef struct {
    float *w, *wu;
    float decay, rate, momentum;
} update_part_args;

/* weight_updates += decay * weights; weights += rate * weight_updates;
 * weight_updates *= momentum: libdarknet's three passes (axpy, axpy, scal), the
 * same float steps per element in one. */
HOT static void update_part(void *ctx, long b, long e)
{
    const update_part_args *p = ctx;
    float *w = p->w, *wu = p->wu, decay = p->decay, rate = p->rate, momentum = p->momentum;
    for (long i = b; i < e; i++) {
        float u = wu[i] + decay * w[i];
        w[i] += rate * u;
        wu[i] = u * momentum;
    }
}

/* libdarknet's SGD update of a convolutional layer (biases and scales by their
 * summed updates times learning_rate / batch, then the updates times momentum; the
 * weights with decay as well), the weights' three passes fused into one. Adam goes
 * to libdarknet's own. */
void update_convolutional_layer(layer l, update_args a)
{
    if (use_darknet || a.adam) {
        if (!dn.update_convolutional_layer) find_originals();
        dn.update_convolutional_layer(l, a);
        return;
    }
    float rate = a.learning_rate * l.learning_rate_scale / a.batch;
    axpy_cpu(l.n, rate, l.bias_updates, 1, l.biases, 1);
    scal_cpu(l.n, a.momentum, l.bias_updates, 1);
    if (l.scales) {
        axpy_cpu(l.n, rate, l.scale_updates, 1, l.scales, 1);
        scal_cpu(l.n, a.momentum, l.scale_updates, 1);
    }
    update_part_args p = {l.weights, l.weight_updates, -a.decay * a.batch, rate, a.momentum};
    ohem_pool_for(l.nweights, GRAIN, update_part, &p);
}

/* ---- max pooling ------------------------------------------------------------ */

typedef struct {
    const layer *l;
    const float *in;
    float *in_delta;
} pool_args;

/* Output row i of a 2x2 max pool of stride s (2, or 1: yolov3-tiny's) with no
 * offset: the windows whose two input columns are inside the plane, branch-free so
 * that it vectorises (with branches, the compares mispredict on every window of
 * random data); the same order of compares as libdarknet's (row by row, the first of
 * equal maxima kept, a window of values not above -FLT_MAX gives -FLT_MAX and index
 * -1). Returns the number of outputs done. */
HOT static int maxpool_row_2x2(const float *in, int w, int s, int i, int ow, float *out, int *idx, long base)
{
    int n = (w - 2) / s + 1 < ow ? (w - 2) / s + 1 : ow;
    const float *r0 = in + (long)(s * i) * w, *r1 = r0 + w;
    int k0 = s * i * w;
    for (int j = 0; j < n; j++) {
        float a = r0[s * j], b = r0[s * j + 1], c = r1[s * j], d = r1[s * j + 1];
        int k = k0 + s * j;
        int valid = a > -FLT_MAX;
        float m = valid ? a : -FLT_MAX;
        int bi = valid ? k : -1;
        bi = b > m ? k + 1 : bi;
        m = b > m ? b : m;
        bi = c > m ? k + w : bi;
        m = c > m ? c : m;
        bi = d > m ? k + w + 1 : bi;
        m = d > m ? d : m;
        out[j] = m;
        idx[j] = bi < 0 ? -1 : (int)(bi + base);
    }
    return n;
}

/* Planes (batch * c) of the input; each output cell the max of its window, its
 * input index in indexes (the first of equal maxima, as libdarknet's). */
HOT static void maxpool_part(void *ctx, long b, long e)
{
    const pool_args *p = ctx;
    const layer *l = p->l;
    int ow = l->out_w, oh = l->out_h, w = l->w, h = l->h, off = -l->pad / 2, size = l->size, s = l->stride;
    for (long plane = b; plane < e; plane++) {
        const float *in = p->in + plane * w * h;
        float *out = l->output + plane * ow * oh;
        int *idx = l->indexes + plane * ow * oh;
        long base = plane * w * h;
        for (int i = 0; i < oh; i++) {
            int j = 0;
            if (size == 2 && (s == 2 || s == 1) && off == 0 && s * i + 1 < h && w >= 2)
                j = maxpool_row_2x2(in, w, s, i, ow, out + i * ow, idx + i * ow, base);
            for (; j < ow; j++) {
                int y0 = off + i * s, x0 = off + j * s;
                if (size == 2 && y0 >= 0 && y0 + 1 < h && x0 >= 0 && x0 + 1 < w) {
                    /* a 2x2 window inside the plane: four compares, in libdarknet's
                     * order (row by row), the first of equal maxima kept */
                    int k = y0 * w + x0, best = k;
                    float max = in[k];
                    if (!(max > -FLT_MAX)) max = -FLT_MAX, best = -1;
                    if (in[k + 1] > max) max = in[k + 1], best = k + 1;
                    if (in[k + w] > max) max = in[k + w], best = k + w;
                    if (in[k + w + 1] > max) max = in[k + w + 1], best = k + w + 1;
                    out[i * ow + j] = max;
                    idx[i * ow + j] = best < 0 ? -1 : (int)(best + base);
                    continue;
                }
                float max = -FLT_MAX;
                int max_i = -1;
                for (int n = 0; n < size; n++) {
                    int y = y0 + n;
                    if (y < 0 || y >= h) continue;
                    for (int m = 0; m < size; m++) {
                        int x = x0 + m;
                        if (x < 0 || x >= w) continue;
                        float v = in[y * w + x];
                        if (v > max) {
                            max = v;
                            max_i = y * w + x;
                        }
                    }
                }
                out[i * ow + j] = max;
                idx[i * ow + j] = max_i < 0 ? -1 : (int)(max_i + base);
            }
        }
    }
}

void forward_maxpool_layer(const layer l, network net)
{
    if (use_darknet) {
        dn.forward_maxpool_layer(l, net);
        return;
    }
    pool_args p = {&l, net.input, NULL};
    ohem_pool_for((long)l.batch * l.c, ohem_pool_grain((long)l.out_w * l.out_h), maxpool_part, &p);
}

static void maxpool_back_part(void *ctx, long b, long e)
{
    const pool_args *p = ctx;
    const layer *l = p->l;
    long n = (long)l->out_w * l->out_h;
    for (long plane = b; plane < e; plane++)
        for (long i = plane * n; i < (plane + 1) * n; i++) {
            int index = l->indexes[i];
            if (index >= 0) p->in_delta[index] += l->delta[i];
        }
}

/* net.delta (the input's) += delta at each output's max; windows of a plane stay
 * in their plane, so planes run in parallel. No net.delta (the network's first
 * layer): nothing to do. */
void backward_maxpool_layer(const layer l, network net)
{
    if (!net.delta) return;
    if (use_darknet) {
        dn.backward_maxpool_layer(l, net);
        return;
    }
    pool_args p = {&l, NULL, net.delta};
    ohem_pool_for((long)l.batch * l.c, ohem_pool_grain((long)l.out_w * l.out_h), maxpool_back_part, &p);
}

/* ---- upsampling ------------------------------------------------------------- */

typedef struct {
    float *in, *out, scale;
    int w, h, stride, forward;
} up_args;

HOT static void upsample_part(void *ctx, long b, long e)
{
    const up_args *p = ctx;
    int w = p->w, h = p->h, s = p->stride, ow = w * s;
    for (long plane = b; plane < e; plane++) {
        float *in = p->in + plane * w * h, *out = p->out + plane * w * h * s * s;
        for (int j = 0; j < h * s; j++) {
            float *irow = in + (j / s) * w, *orow = out + (long)j * ow;
            if (p->forward)
                for (int i = 0; i < ow; i++) orow[i] = p->scale * irow[i / s];
            else
                for (int i = 0; i < ow; i++) irow[i / s] += p->scale * orow[i];
        }
    }
}

/* forward: out (batch, c, h*stride, w*stride) = scale * in (batch, c, h, w), each
 * input pixel repeated; backward: in += scale * the sum of its copies in out. */
void upsample_cpu(float *in, int w, int h, int c, int batch, int stride, int forward, float scale, float *out)
{
    if (use_darknet) {
        dn.upsample_cpu(in, w, h, c, batch, stride, forward, scale, out);
        return;
    }
    up_args p = {in, out, scale, w, h, stride, forward};
    ohem_pool_for((long)batch * c, ohem_pool_grain((long)w * h * stride * stride), upsample_part, &p);
}
