/* test_gemm.c: our gemm (src/cpu/sgemm.c), on its AVX-512 kernels and on its AVX2
 * ones, against a naive product in double, on random shapes: all four
 * transpositions, sizes from 1 to past every block (tiles, KC, MC, NC), leading
 * dimensions wider than the matrices, alpha and beta 0, 1 and other; C's padding
 * is never written, beta 0 never reads C, and A, B and the images end at an
 * inaccessible page (a read past them crashes). The threads split a gemm by
 * columns or rows, and every element is the same sum in the same order either
 * way: one thread and two give the same bits. A group whose kernels the CPU lacks
 * is skipped, saying so. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "parser.h"
#include "gemm.h"
#include "oracle.h"
#include "pool.h"
#include "sgemm.h"

/* the padding of C (columns ldc - n) */
#define GUARD 12345.f

typedef struct {
    int ta, tb, m, n, k, lda, ldb, ldc;
    float alpha, beta;
} shape;

static float *fill(long n)
{
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (long i = 0; i < n; i++) v[i] = rng_unit() * 2 - 1;
    return v;
}

/* n random floats that end where an inaccessible page begins: a read past the end
 * (the gemm's A, B or image) crashes the test. Freed with unguard. */
static float *guarded(long n)
{
    long page = sysconf(_SC_PAGESIZE), bytes = (n > 0 ? n : 1) * (long)sizeof(float);
    long span = (bytes + page - 1) / page * page;
    char *base = mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(base != MAP_FAILED);
    assert_int_equal(mprotect(base + span, page, PROT_NONE), 0);
    float *v = (float *)(base + span - bytes);
    for (long i = 0; i < n; i++) v[i] = rng_unit() * 2 - 1;
    return v;
}

static void unguard(float *v, long n)
{
    long page = sysconf(_SC_PAGESIZE), bytes = (n > 0 ? n : 1) * (long)sizeof(float);
    long span = (bytes + page - 1) / page * page;
    munmap((char *)v + bytes - span, span + page);
}

/* One gemm of shape s against the naive product; returns C for the callers that
 * compare threads. Each element must be within the rounding a float sum of k terms
 * can make: k * 2^-23 of the sum of the terms' magnitudes (plus beta C's). */
static float *check(const shape *s, int threads)
{
    long asz = (long)(s->ta ? s->k : s->m) * s->lda, bsz = (long)(s->tb ? s->n : s->k) * s->ldb;
    long csz = (long)s->m * s->ldc;
    float *a = guarded(asz), *b = guarded(bsz), *c = fill(csz), *c0 = malloc(csz * sizeof(float));
    for (int i = 0; i < s->m; i++)
        for (int j = 0; j < s->ldc; j++) {
            float *x = &c[(long)i * s->ldc + j];
            if (j >= s->n) *x = GUARD;
            else if (s->beta == 0) *x = NAN; /* must not be read */
        }
    memcpy(c0, c, csz * sizeof(float));
    ohem_pool_set_threads(threads);
    ohem_sgemm(s->ta, s->tb, s->m, s->n, s->k, s->alpha, a, s->lda, b, s->ldb, s->beta, c, s->ldc);
    ohem_pool_set_threads(2);
    for (int i = 0; i < s->m; i++)
        for (int j = 0; j < s->ldc; j++) {
            float got = c[(long)i * s->ldc + j];
            if (j >= s->n) {
                if (memcmp(&got, &(float){GUARD}, sizeof(float)))
                    fail_msg("ta=%d tb=%d %dx%dx%d: padding C[%d][%d] written (%g)", s->ta, s->tb, s->m, s->n, s->k,
                             i, j, got);
                continue;
            }
            double sum = 0, mag = 0;
            for (int q = 0; q < s->k; q++) {
                double x = s->ta ? a[(long)q * s->lda + i] : a[(long)i * s->lda + q];
                double y = s->tb ? b[(long)j * s->ldb + q] : b[(long)q * s->ldb + j];
                sum += x * y;
                mag += fabs(x * y);
            }
            double want = s->alpha * sum, c_in = c0[(long)i * s->ldc + j];
            mag = fabs(s->alpha) * mag;
            if (s->beta != 0) want += s->beta * c_in, mag += fabs(s->beta * c_in);
            double tol = (s->k + 2) * 0x1p-23 * mag + 1e-30;
            if (!(fabs(got - want) <= tol))
                fail_msg("ta=%d tb=%d %dx%dx%d alpha %g beta %g lda %d ldb %d ldc %d: C[%d][%d] = %.9g, naive %.9g "
                         "(tolerance %g)",
                         s->ta, s->tb, s->m, s->n, s->k, s->alpha, s->beta, s->lda, s->ldb, s->ldc, i, j, got, want,
                         tol);
        }
    unguard(a, asz), unguard(b, bsz), free(c0);
    return c;
}

static shape random_shape(int max_m, int max_n, int max_k, int t)
{
    shape s;
    s.ta = t & 1, s.tb = (t >> 1) & 1;
    s.m = 1 + (int)(rng_u32() % max_m), s.n = 1 + (int)(rng_u32() % max_n), s.k = 1 + (int)(rng_u32() % max_k);
    int pad = rng_u32() % 3 == 0 ? (int)(rng_u32() % 7) : 0;
    s.lda = (s.ta ? s.m : s.k) + pad, s.ldb = (s.tb ? s.k : s.n) + pad, s.ldc = s.n + pad;
    int kind = (t >> 2) % 3;
    s.alpha = kind == 0 ? 1 : rng_unit() * 4 - 2;
    s.beta = kind == 1 ? 0 : kind == 2 ? 1 : rng_unit() * 2 - 1;
    if (rng_u32() % 4 == 0) s.beta = rng_unit() * 2 - 1;
    return s;
}

/* the kernels the group under test runs: 512 (AVX-512) or 256 (AVX2) */
static int kernels;

static int skip_unless_kernels(void)
{
    if (ohem_sgemm_use(kernels) == 0) return 0;
    print_message("this CPU lacks the %s kernels: skipped\n", kernels == 512 ? "AVX-512" : "AVX2");
    return 1;
}

/* Small shapes (every edge of the 12 x 32 tile), all transpositions and scalings. */
static void test_small(void **state)
{
    (void)state;
    if (skip_unless_kernels()) skip();
    rng_seed(21);
    for (int t = 0; t < 600; t++) {
        shape s = random_shape(40, 70, 40, t);
        free(check(&s, 1 + t % 2));
    }
    /* k = 0: C = beta C (beta 0: zeros) */
    for (int t = 0; t < 8; t++) {
        shape s = {t & 1, (t >> 1) & 1, 5, 9, 0, 5, 9, 11, 1.5f, t < 4 ? 0.f : 0.5f};
        free(check(&s, 1));
    }
}

/* Shapes past the blocks: k > KC (several passes adding into C), m > MC, n > NC,
 * splits by rows with all of B packed once or by each part, and the layer shapes of a convolutional network (a 16 x 27 forward of a wide
 * image, the weight gradient's long k). */
static void test_blocked(void **state)
{
    (void)state;
    if (skip_unless_kernels()) skip();
    rng_seed(22);
    static const int fixed[][5] = {
        {0, 0, 16, 4099, 27}, {0, 1, 16, 27, 3001}, {1, 0, 27, 1500, 16}, {0, 0, 200, 169, 600},
        {0, 1, 64, 288, 700}, {1, 0, 400, 169, 64},  {0, 0, 13, 3100, 5},  {1, 1, 197, 45, 300},
        {0, 1, 100, 40, 30000}, /* split by rows with a B too large to pack once for all parts */
    };
    for (size_t t = 0; t < sizeof(fixed) / sizeof(fixed[0]); t++) {
        const int *f = fixed[t];
        shape s = {f[0], f[1], f[2], f[3], f[4], f[0] ? f[2] : f[4], f[1] ? f[4] : f[3], f[3], 1, t % 2 ? 0.f : 1.f};
        free(check(&s, 2));
    }
    for (int t = 0; t < 12; t++) {
        shape s = random_shape(260, 400, 700, t);
        free(check(&s, 2));
    }
}

/* One thread and two give the same bits, for splits by columns and by rows. */
static void test_threads_same_bits(void **state)
{
    (void)state;
    if (skip_unless_kernels()) skip();
    static const int sizes[][3] = {{64, 3000, 300}, {500, 40, 300}, {37, 1111, 600}};
    for (int t = 0; t < 3; t++) {
        shape s = {t == 2, t == 1, sizes[t][0], sizes[t][1], sizes[t][2], 0, 0, 0, 1, 0};
        s.lda = s.ta ? s.m : s.k, s.ldb = s.tb ? s.k : s.n, s.ldc = s.n;
        rng_seed(30 + t);
        float *one = check(&s, 1);
        rng_seed(30 + t);
        float *two = check(&s, 2);
        if (memcmp(one, two, (size_t)s.m * s.ldc * sizeof(float)))
            fail_msg("%dx%dx%d: one thread and two differ", s.m, s.n, s.k);
        free(one), free(two);
    }
}

void im2col_cpu(float *im, int channels, int height, int width, int ksize, int stride, int pad, float *col);

/* ohem_sgemm_im2col (col made inside the packing) against im2col_cpu then
 * ohem_sgemm, bit for bit: the forward (B = col) and the weight gradient (B = col'),
 * kernel sizes 1 to 5, strides 1 to 3, pads 0 to 2, output rows shorter and longer
 * than a panel, and shapes split by rows (B packed once for all parts); and the
 * forwards that read B from the image in place (stride 1, output rows of a panel
 * or more, few filters), with a last partial panel, pads 0 to 2, two blocks of k. */
static void test_im2col(void **state)
{
    (void)state;
    if (skip_unless_kernels()) skip();
    rng_seed(23);
    static const int fixed[][7] = {
        /* channels, height, width, ksize, stride, pad, filters */
        {3, 70, 70, 3, 1, 1, 16}, {16, 26, 26, 3, 1, 1, 40}, {5, 13, 13, 3, 1, 1, 300}, {4, 33, 17, 5, 2, 2, 9},
        {2, 9, 40, 3, 3, 0, 7},   {7, 20, 21, 1, 1, 0, 12},  {3, 64, 64, 3, 2, 1, 33},
        /* B in place */
        {16, 64, 64, 3, 1, 1, 32}, {32, 40, 45, 3, 1, 1, 64}, {8, 34, 40, 3, 1, 0, 20}, {3, 36, 36, 5, 1, 2, 12},
        {30, 12, 34, 3, 1, 1, 10}, {64, 5, 32, 1, 1, 0, 7},
    };
    int nfixed = (int)(sizeof(fixed) / sizeof(fixed[0]));
    for (int t = 0; t < 60; t++) {
        int c, h, w, ks, st, pad, m;
        if (t < nfixed) {
            const int *f = fixed[t];
            c = f[0], h = f[1], w = f[2], ks = f[3], st = f[4], pad = f[5], m = f[6];
        } else {
            c = 1 + rng_u32() % 6, h = 1 + rng_u32() % 40, w = 1 + rng_u32() % 40, ks = 1 + rng_u32() % 5;
            st = 1 + rng_u32() % 3, pad = rng_u32() % 3, m = 1 + rng_u32() % 50;
        }
        if (h + 2 * pad < ks || w + 2 * pad < ks) continue;
        int hc = (h + 2 * pad - ks) / st + 1, wc = (w + 2 * pad - ks) / st + 1;
        int k = c * ks * ks, n = hc * wc;
        float *im = guarded((long)c * h * w), *col = fill((long)k * n);
        im2col_cpu(im, c, h, w, ks, st, pad, col);
        ohem_im2col_src src = {im, c, h, w, ks, st, pad};
        /* forward: C (m x n) = A (m x k) col */
        float *a = fill((long)m * k), *c1 = fill((long)m * n), *c2 = malloc(sizeof(float) * m * n);
        ohem_sgemm(0, 0, m, n, k, 1, a, k, col, n, 0, c1, n);
        ohem_sgemm_im2col(0, 0, m, n, k, 1, a, k, &src, 0, c2, n);
        if (memcmp(c1, c2, sizeof(float) * m * n))
            fail_msg("forward c=%d h=%d w=%d ksize=%d stride=%d pad=%d m=%d: differs from im2col_cpu + gemm", c, h, w,
                     ks, st, pad, m);
        /* weight gradient: C (m x k) += D (m x n) col' */
        float *d = fill((long)m * n), *g1 = fill((long)m * k), *g2 = malloc(sizeof(float) * m * k);
        memcpy(g2, g1, sizeof(float) * m * k);
        ohem_sgemm(0, 1, m, k, n, 1, d, n, col, n, 1, g1, k);
        ohem_sgemm_im2col(0, 1, m, k, n, 1, d, n, &src, 1, g2, k);
        if (memcmp(g1, g2, sizeof(float) * m * k))
            fail_msg("weight gradient c=%d h=%d w=%d ksize=%d stride=%d pad=%d m=%d: differs from im2col_cpu + gemm", c,
                     h, w, ks, st, pad, m);
        unguard(im, (long)c * h * w), free(col), free(a), free(c1), free(c2), free(d), free(g1), free(g2);
    }
}

/* ohem_sgemm_conv_forward (a batch in one split of the pool) against
 * ohem_sgemm_im2col image by image, bit for bit: split by columns across images, by
 * rows with all of B packed for every image, batch 1. ohem_sgemm_conv_weights
 * against a sum in double over images and pixels of im2col_cpu's col, to float
 * rounding (with few filters and stride 1 it sums transposed, in groups of
 * images), and one thread against two, bit for bit. */
static void test_conv_batch(void **state)
{
    (void)state;
    if (skip_unless_kernels()) skip();
    rng_seed(24);
    static const int cases[][8] = {
        /* batch, channels, height, width, ksize, stride, pad, filters */
        {3, 3, 40, 40, 3, 1, 1, 16}, {2, 16, 13, 13, 3, 1, 1, 200}, {4, 5, 17, 9, 5, 2, 2, 7}, {1, 8, 20, 20, 3, 1, 1, 30},
        {5, 4, 8, 8, 3, 1, 1, 64}, {2, 16, 40, 64, 3, 1, 1, 32}, {3, 30, 10, 33, 3, 1, 1, 50},
        /* images of whole panels: more filters than a block of rows, 8 panels an
         * image, 16 images of 32 panels (more than a block of columns) */
        {6, 16, 8, 8, 3, 1, 1, 200}, {4, 10, 16, 16, 3, 1, 1, 130}, {16, 3, 32, 32, 3, 1, 1, 70},
        /* the transposed weight gradient: more groups than threads, uneven groups,
         * rows past a block of k, 16 and 64 filters, pad 0 and 2, 17 filters */
        {11, 8, 20, 23, 3, 1, 1, 16}, {3, 8, 9, 40, 5, 1, 2, 64}, {2, 30, 7, 7, 3, 1, 0, 17}, {9, 8, 35, 3, 3, 1, 1, 5},
        /* a weight gradient of at most 32 x 32 by groups of images: more groups than
         * threads, uneven; stride 2 and 5 x 5 */
        {10, 2, 30, 30, 3, 1, 1, 32}, {2, 1, 50, 70, 5, 2, 2, 8},
    };
    for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
        const int *f = cases[t];
        int b = f[0], c = f[1], h = f[2], w = f[3], ks = f[4], st = f[5], pad = f[6], m = f[7];
        int hc = (h + 2 * pad - ks) / st + 1, wc = (w + 2 * pad - ks) / st + 1, k = c * ks * ks, n = hc * wc;
        long ims = (long)c * h * w;
        float *im = fill(ims * b), *a = fill((long)m * k), *o1 = fill((long)b * m * n), *o2 = fill((long)b * m * n);
        ohem_im2col_src src = {im, c, h, w, ks, st, pad};
        ohem_sgemm_conv_forward(b, m, n, k, a, &src, ims, o1, (long)m * n, 0);
        for (int i = 0; i < b; i++) {
            ohem_im2col_src one = {im + i * ims, c, h, w, ks, st, pad};
            ohem_sgemm_im2col(0, 0, m, n, k, 1, a, k, &one, 0, o2 + (long)i * m * n, n);
        }
        if (memcmp(o1, o2, sizeof(float) * b * m * n)) fail_msg("conv_forward case %zu: differs image by image", t);
        float *d = fill((long)b * m * n), *g1 = fill((long)m * k), *g2 = malloc(sizeof(float) * m * k);
        float *g0 = malloc(sizeof(float) * m * k), *col = malloc(sizeof(float) * k * n);
        memcpy(g0, g1, sizeof(float) * m * k);
        memcpy(g2, g1, sizeof(float) * m * k);
        ohem_sgemm_conv_weights(b, m, k, n, d, (long)m * n, &src, ims, g1);
        ohem_pool_set_threads(1);
        ohem_sgemm_conv_weights(b, m, k, n, d, (long)m * n, &src, ims, g2);
        ohem_pool_set_threads(2);
        if (memcmp(g1, g2, sizeof(float) * m * k)) fail_msg("conv_weights case %zu: one thread and two differ", t);
        double *want = calloc((size_t)m * k, sizeof(double)), *mag = calloc((size_t)m * k, sizeof(double));
        for (int i = 0; i < b; i++) {
            im2col_cpu(im + i * ims, c, h, w, ks, st, pad, col);
            for (int f = 0; f < m; f++)
                for (int r = 0; r < k; r++)
                    for (int p = 0; p < n; p++) {
                        double x = (double)d[((long)i * m + f) * n + p] * col[(long)r * n + p];
                        want[(long)f * k + r] += x, mag[(long)f * k + r] += fabs(x);
                    }
        }
        for (long q = 0; q < (long)m * k; q++) {
            double wq = want[q] + g0[q], tol = ((double)b * n + 2) * 0x1p-23 * (mag[q] + fabs(g0[q]));
            if (!(fabs(g1[q] - wq) <= tol))
                fail_msg("conv_weights case %zu: element %ld = %.9g, in double %.9g (tolerance %g)", t, q, g1[q], wq, tol);
        }
        free(im), free(a), free(o1), free(o2), free(d), free(g1), free(g2), free(g0), free(col), free(want), free(mag);
    }
}

/* OHEM_GEMM's choice: auto takes ours exactly where the CPU has AVX-512; plugin is
 * refused without it; openblas and darknet are not ours. */
static void test_select(void **state)
{
    (void)state;
    assert_int_equal(ohem_gemm_select("auto"), 0);
    assert_int_equal(ohem_gemm_is_ours(), ohem_sgemm_available(512));
    int any = ohem_sgemm_available(512) || ohem_sgemm_available(256);
    assert_int_equal(ohem_gemm_select("plugin"), any ? 0 : -1);
    assert_int_equal(ohem_gemm_is_ours(), any);
    assert_int_equal(ohem_gemm_select("avx2"), ohem_sgemm_available(256) ? 0 : -1);
    assert_int_equal(ohem_sgemm_use(512), ohem_sgemm_available(512) ? 0 : -1);
    assert_int_equal(ohem_sgemm_use(128), -1);
    assert_int_equal(ohem_gemm_select("openblas"), 0);
    assert_int_equal(ohem_gemm_is_ours(), 0);
    assert_int_equal(ohem_gemm_select("darknet"), 0);
    assert_int_equal(ohem_gemm_is_ours(), 0);
    assert_int_equal(ohem_gemm_select("fast"), -1);
    assert_int_equal(ohem_gemm_select("auto"), 0);
}

static int use_kernels_512(void **state)
{
    (void)state;
    kernels = 512;
    return 0;
}

static int use_kernels_256(void **state)
{
    (void)state;
    kernels = 256;
    return 0;
}

/* The same tests on the AVX-512 kernels and on the AVX2 ones (each group skipped
 * where the CPU lacks its kernels). */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small),
        cmocka_unit_test(test_blocked),
        cmocka_unit_test(test_threads_same_bits),
        cmocka_unit_test(test_im2col),
        cmocka_unit_test(test_conv_batch),
    };
    const struct CMUnitTest select[] = {cmocka_unit_test(test_select)};
    int failed = cmocka_run_group_tests_name("AVX-512 kernels", tests, use_kernels_512, NULL);
    failed += cmocka_run_group_tests_name("AVX2 kernels", tests, use_kernels_256, NULL);
    failed += cmocka_run_group_tests_name("OHEM_GEMM", select, NULL, NULL);
    return failed != 0;
}
