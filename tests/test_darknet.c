/* test_darknet.c: what the plugin replaces in libdarknet: [region]'s backward, the
 * gemm routing (against libdarknet's own naive loops), load_network. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "darknet.h"
#include "kernels.h"
#include "ohem_layer.h"
#include "parser.h"
#include "im2col.h"
#include "weights.h"
#include "oracle.h"

#define TMP "tests/tmp"

/* libdarknet's naive kernels, which the routing leaves in place: the oracle.
 * Each computes C += ALPHA op(A) op(B). */
typedef void (*kernel)(int M, int N, int K, float ALPHA, float *A, int lda, float *B, int ldb, float *C, int ldc);
void gemm_nn(int, int, int, float, float *, int, float *, int, float *, int);
void gemm_nt(int, int, int, float, float *, int, float *, int, float *, int);
void gemm_tn(int, int, int, float, float *, int, float *, int, float *, int);
void gemm_tt(int, int, int, float, float *, int, float *, int, float *, int);
void gemm(int, int, int, int, int, float, float *, int, float *, int, float, float *, int);
void im2col_cpu(float *, int, int, int, int, int, int, float *);
void col2im_cpu(float *, int, int, int, int, int, int, float *);

static void test_gemm_routing(void **state)
{
    (void)state;
    kernel kernels[4] = {gemm_nn, gemm_nt, gemm_tn, gemm_tt};
    void (*lib_gemm)(int, int, int, int, int, float, float *, int, float *, int, float, float *, int) =
        dlsym(RTLD_NEXT, "gemm");
    assert_non_null(lib_gemm);
    assert_true((void *)lib_gemm != (void *)gemm);
    rng_seed(5);
    for (int t = 0; t < 200; t++) {
        int TA = t & 1, TB = (t >> 1) & 1;
        int M = 1 + rng_u32() % 40, N = 1 + rng_u32() % 40, K = 1 + rng_u32() % 60;
        float alpha = rng_unit() * 2 - 1, beta = t % 3 == 0 ? 0 : t % 3 == 1 ? 1 : rng_unit();
        int lda = TA ? M : K, ldb = TB ? K : N, ldc = N;
        float *A = malloc(M * K * sizeof(float)), *B = malloc(K * N * sizeof(float));
        float *C = malloc(M * N * sizeof(float)), *R = malloc(M * N * sizeof(float));
        for (int i = 0; i < M * K; i++) A[i] = rng_unit() * 2 - 1;
        for (int i = 0; i < K * N; i++) B[i] = rng_unit() * 2 - 1;
        for (int i = 0; i < M * N; i++) C[i] = R[i] = rng_unit();
        for (int i = 0; i < M * N; i++) R[i] *= beta;
        kernels[TA * 2 + TB](M, N, K, alpha, A, lda, B, ldb, R, ldc);
        gemm(TA, TB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        for (int i = 0; i < M * N; i++)
            if (fabsf(C[i] - R[i]) > 1e-4f * (1 + fabsf(R[i])))
                fail_msg("gemm TA=%d TB=%d %dx%dx%d: C[%d] = %g, naive %g", TA, TB, M, N, K, i, C[i], R[i]);
        free(A);
        free(B);
        free(C);
        free(R);
    }
}

/* im2col_cpu and col2im_cpu against libdarknet's per-pixel originals, bit for bit. */
static void test_im2col(void **state)
{
    (void)state;
    typedef void (*conv_fn)(float *, int, int, int, int, int, int, float *);
    conv_fn lib_im2col = (conv_fn)dlsym(RTLD_NEXT, "im2col_cpu"), lib_col2im = (conv_fn)dlsym(RTLD_NEXT, "col2im_cpu");
    assert_non_null(lib_im2col);
    assert_non_null(lib_col2im);
    assert_true((void *)lib_im2col != (void *)im2col_cpu);
    rng_seed(9);
    /* random small shapes, then layer-sized ones that the kernels' pool splits (by
     * rows of col, by channels of the image) */
    static const int big[][6] = {{16, 52, 52, 3, 1, 1}, {3, 97, 83, 3, 2, 1}, {8, 40, 41, 5, 1, 2}, {32, 26, 26, 1, 1, 0}};
    for (int t = 0; t < 3000 + 4; t++) {
        int c = 1 + rng_u32() % 4, h = 1 + rng_u32() % 17, w = 1 + rng_u32() % 17;
        int k = 1 + rng_u32() % 5, s = 1 + rng_u32() % 3, p = rng_u32() % 4;
        if (t >= 3000) {
            const int *b = big[t - 3000];
            c = b[0], h = b[1], w = b[2], k = b[3], s = b[4], p = b[5];
        }
        if (h + 2 * p < k || w + 2 * p < k) continue;
        int hc = (h + 2 * p - k) / s + 1, wc = (w + 2 * p - k) / s + 1;
        size_t ni = (size_t)c * h * w, nc = (size_t)c * k * k * hc * wc;
        float *im = malloc(ni * sizeof(float)), *a = malloc(nc * sizeof(float)), *b = malloc(nc * sizeof(float));
        float *ia = malloc(ni * sizeof(float)), *ib = malloc(ni * sizeof(float));
        for (size_t i = 0; i < ni; i++) im[i] = ia[i] = ib[i] = rng_unit() - 0.5f;
        for (size_t i = 0; i < nc; i++) a[i] = b[i] = 99;
        lib_im2col(im, c, h, w, k, s, p, a);
        im2col_cpu(im, c, h, w, k, s, p, b);
        if (memcmp(a, b, nc * sizeof(float)))
            fail_msg("im2col differs: c=%d h=%d w=%d k=%d stride=%d pad=%d", c, h, w, k, s, p);
        for (size_t i = 0; i < nc; i++) a[i] = rng_unit();
        lib_col2im(a, c, h, w, k, s, p, ia);
        col2im_cpu(a, c, h, w, k, s, p, ib);
        if (memcmp(ia, ib, ni * sizeof(float)))
            fail_msg("col2im differs: c=%d h=%d w=%d k=%d stride=%d pad=%d", c, h, w, k, s, p);
        free(im), free(a), free(b), free(ia), free(ib);
    }
}

/* ohem_col2im_rows: all the rows at once is col2im_cpu bit for bit; band by band
 * (each band's rows of col cut out), the same sums to float rounding (a pixel's
 * additions come in another order: at most ksize^2 of them). */
static void test_col2im_rows(void **state)
{
    (void)state;
    rng_seed(10);
    for (int t = 0; t < 300; t++) {
        int c = 1 + rng_u32() % 4, h = 1 + rng_u32() % 30, w = 1 + rng_u32() % 30;
        int k = 1 + rng_u32() % 5, s = 1 + rng_u32() % 3, p = rng_u32() % 4, rows = 1 + rng_u32() % 5;
        if (h + 2 * p < k || w + 2 * p < k) continue;
        int hc = (h + 2 * p - k) / s + 1, wc = (w + 2 * p - k) / s + 1, m = c * k * k;
        size_t ni = (size_t)c * h * w, nc = (size_t)m * hc * wc;
        float *col = malloc(nc * sizeof(float)), *band = malloc(nc * sizeof(float));
        float *ia = malloc(ni * sizeof(float)), *ib = malloc(ni * sizeof(float)), *ic = malloc(ni * sizeof(float));
        for (size_t i = 0; i < ni; i++) ia[i] = ib[i] = ic[i] = rng_unit() - 0.5f;
        for (size_t i = 0; i < nc; i++) col[i] = rng_unit() - 0.5f;
        col2im_cpu(col, c, h, w, k, s, p, ia);
        ohem_col2im_rows(col, c, h, w, k, s, p, 0, hc, ib);
        if (memcmp(ia, ib, ni * sizeof(float)))
            fail_msg("col2im_rows, all rows, differs from col2im_cpu: c=%d h=%d w=%d k=%d stride=%d pad=%d", c, h, w, k,
                     s, p);
        for (int h0 = 0; h0 < hc; h0 += rows) {
            int h1 = h0 + rows < hc ? h0 + rows : hc, nb = (h1 - h0) * wc;
            for (int r = 0; r < m; r++) memcpy(band + (size_t)r * nb, col + (size_t)r * hc * wc + (size_t)h0 * wc, nb * sizeof(float));
            ohem_col2im_rows(band, c, h, w, k, s, p, h0, h1, ic);
        }
        for (size_t i = 0; i < ni; i++)
            if (!(fabsf(ic[i] - ia[i]) <= 1e-6f * (k * k + 1)))
                fail_msg("col2im_rows, bands of %d rows: c=%d h=%d w=%d k=%d stride=%d pad=%d: pixel %zu = %.9g, col2im_cpu "
                         "%.9g",
                         rows, c, h, w, k, s, p, i, ic[i], ia[i]);
        free(col), free(band), free(ia), free(ib), free(ic);
    }
}

/* [region]: the gradient that reaches the layer before equals the layer's delta
 * (a linear convolution passes it on unchanged). */
static void test_region_backward(void **state)
{
    (void)state;
    mkdir(TMP, 0777);
    const char *cfg = TMP "/region_bw.cfg";
    FILE *f = fopen(cfg, "w");
    fprintf(f, "[net]\nbatch=2\nsubdivisions=1\nwidth=32\nheight=32\nchannels=3\n"
               "[convolutional]\nfilters=40\nsize=3\nstride=4\npad=1\nactivation=linear\n"
               "[region]\nanchors=1,1,2,2,3,3,4,4,5,6\nclasses=3\ncoords=4\nnum=5\nsoftmax=1\n");
    fclose(f);
    srand(2);
    network *net = parse_network_cfg((char *)cfg);
    assert_ptr_equal(net->layers[1].backward, ohem_backward_region_layer);
    rng_seed(6);
    for (int i = 0; i < net->inputs * net->batch; i++) net->input[i] = rng_unit();
    memset(net->truth, 0, (size_t)net->truths * net->batch * sizeof(float));
    for (int b = 0; b < 2; b++) {
        float *t = net->truth + b * net->truths;
        t[0] = 0.3f + 0.4f * b, t[1] = 0.6f, t[2] = 0.2f, t[3] = 0.3f, t[4] = (float)b;
    }
    net->train = 1;
    forward_network(net);
    const layer *r = &net->layers[1], *c = &net->layers[0];
    size_t n = (size_t)r->outputs * r->batch;
    float *want = malloc(n * sizeof(float));
    memcpy(want, r->delta, n * sizeof(float));
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) nonzero += want[i] != 0;
    assert_true(nonzero > 0);
    backward_network(net);
    assert_memory_equal(c->delta, want, n * sizeof(float));
    free(want);
    free_network(net);
}

/* load_network (ours) parses [ohem] and loads weights; clear resets seen. */
static void test_load_network(void **state)
{
    (void)state;
    const char *cfg = TMP "/load.cfg";
    FILE *f = fopen(cfg, "w");
    fprintf(f, "[net]\nbatch=1\nwidth=16\nheight=16\nchannels=3\n"
               "[convolutional]\nfilters=24\nsize=1\nstride=1\nactivation=linear\n"
               "[yolo]\nmask=0,1,2\nanchors=1,1,2,2,3,3\nclasses=3\nnum=3\n[ohem]\nper_image=5\n");
    fclose(f);
    srand(1);
    network *a = load_network((char *)cfg, NULL, 0);
    *a->seen = 1234;
    save_weights(a, TMP "/load.weights");
    network *b = load_network((char *)cfg, TMP "/load.weights", 0);
    assert_true(is_ohem_layer(&b->layers[2]));
    assert_int_equal(*b->seen, 1234);
    assert_memory_equal(a->layers[0].weights, b->layers[0].weights, a->layers[0].nweights * sizeof(float));
    network *c = load_network((char *)cfg, TMP "/load.weights", 1);
    assert_int_equal(*c->seen, 0);
    free_network(a);
    free_network(b);
    free_network(c);
}

static void write_bytes(const char *path, const char *src, long n, const char *extra, int nextra)
{
    FILE *in = fopen(src, "rb"), *out = fopen(path, "wb");
    for (long i = 0; i < n; i++) {
        int c = fgetc(in);
        if (c == EOF) break;
        fputc(c, out);
    }
    if (extra) fwrite(extra, 1, nextra, out);
    fclose(in);
    fclose(out);
}

/* Weights files are checked before libdarknet reads them: header, size, layer
 * boundaries; a file of the first layers only (like darknet53.conv.74) is fine. */
static void test_weights_check(void **state)
{
    (void)state;
    const char *cfg = TMP "/wcheck.cfg", *other = TMP "/wcheck_other.cfg";
    FILE *f = fopen(cfg, "w");
    fprintf(f, "[net]\nbatch=1\nwidth=16\nheight=16\nchannels=3\n"
               "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
               "[convolutional]\nfilters=24\nsize=1\nstride=1\nactivation=linear\n"
               "[yolo]\nmask=0,1,2\nanchors=1,1,2,2,3,3\nclasses=3\nnum=3\n[ohem]\n");
    fclose(f);
    f = fopen(other, "w");
    fprintf(f, "[net]\nbatch=1\nwidth=16\nheight=16\nchannels=3\n"
               "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
               "[convolutional]\nfilters=24\nsize=1\nstride=1\nactivation=linear\n"
               "[yolo]\nmask=0,1,2\nanchors=1,1,2,2,3,3\nclasses=3\nnum=3\n");
    fclose(f);
    network *net = parse_network_cfg((char *)cfg), *net2 = parse_network_cfg((char *)other);
    const char *w = TMP "/wcheck.weights", *bad = TMP "/wcheck_bad.weights";
    save_weights(net, (char *)w);
    long full = 20 + (8 + 8 * 27 + 3 * 8 + 24 + 24 * 8) * 4;
    assert_int_equal(ohem_weights_bytes(net), full);
    ohem_err e;
    assert_int_equal(ohem_check_weights(net, w, &e), 0);
    write_bytes(bad, w, full - 10, NULL, 0);
    assert_int_equal(ohem_check_weights(net, bad, &e), -1);
    assert_non_null(strstr(e.msg, "end inside layer 1"));
    write_bytes(bad, w, full, "abcd", 4);
    assert_int_equal(ohem_check_weights(net, bad, &e), -1);
    assert_non_null(strstr(e.msg, "another cfg"));
    write_bytes(bad, w, 20 + (8 + 8 * 27 + 3 * 8) * 4, NULL, 0);
    assert_int_equal(ohem_check_weights(net, bad, &e), 0); /* the first layer only */
    /* a file that ends inside layer 0 names layer 0, not the last layer */
    write_bytes(bad, w, 20 + 100, NULL, 0);
    assert_int_equal(ohem_check_weights(net, bad, &e), -1);
    if (!strstr(e.msg, "120 bytes end inside layer 0's weights ([convolutional], bytes 20 to 1012)")) fail_msg("%s", e.msg);
    /* shorter than a header: truncated, not "not a weights file" */
    write_bytes(bad, w, 8, NULL, 0);
    assert_int_equal(ohem_check_weights(net, bad, &e), -1);
    if (!strstr(e.msg, "truncated: 8 bytes, shorter than a Darknet weights header (20 bytes)")) fail_msg("%s", e.msg);
    write_bytes(bad, w, 10, NULL, 0);
    assert_int_equal(ohem_check_weights(net, bad, &e), -1);
    if (!strstr(e.msg, "truncated: 10 bytes")) fail_msg("%s", e.msg);
    write_bytes(bad, w, 16, NULL, 0);
    assert_int_equal(ohem_check_weights(net, bad, &e), -1);
    if (!strstr(e.msg, "truncated: 16 bytes, shorter than its header (20 bytes)")) fail_msg("%s", e.msg);
    assert_int_equal(ohem_check_weights(net, TMP, &e), -1);
    if (!strstr(e.msg, TMP ": is a directory, where the weights file should be")) fail_msg("%s", e.msg);
    f = fopen(bad, "wb");
    fwrite((int[]){-5, 7, 0, 0, 0}, sizeof(int), 5, f);
    fclose(f);
    assert_int_equal(ohem_check_weights(net, bad, &e), -1);
    assert_non_null(strstr(e.msg, "not a Darknet weights file"));
    f = fopen(bad, "wb");
    fputs("this is not a weights file at all, just text", f);
    fclose(f);
    assert_int_equal(ohem_check_weights(net, bad, &e), -1);
    assert_int_equal(ohem_check_weights(net, TMP "/none.weights", &e), -1);
    assert_non_null(strstr(e.msg, "cannot open"));
    save_weights(net2, (char *)bad);
    assert_int_equal(ohem_check_weights(net, bad, &e), -1);

    /* ohem_save_weights: AlexeyAB's header 0 2 5, seen as 64 bits, then the bytes
     * libdarknet's save_weights writes; the first layers only with a cutoff */
    *net->seen = 5000000123ull;
    assert_int_equal(ohem_save_weights(net, bad, net->n, &e), 0);
    FILE *a = fopen(w, "rb"), *b = fopen(bad, "rb");
    int32_t head[3];
    uint64_t seen;
    assert_int_equal(fread(head, sizeof(head), 1, b), 1);
    assert_int_equal(fread(&seen, sizeof(seen), 1, b), 1);
    assert_int_equal(head[0], 0);
    assert_int_equal(head[1], 2);
    assert_int_equal(head[2], 5);
    assert_true(seen == 5000000123ull);
    fseek(a, 20, SEEK_SET);
    for (long k = 20; k < full; k++) assert_int_equal(fgetc(a), fgetc(b));
    assert_int_equal(fgetc(b), EOF);
    fclose(a);
    fclose(b);
    assert_int_equal(ohem_check_weights(net, bad, &e), 0);
    assert_int_equal(ohem_save_weights(net, bad, 1, &e), 0);
    struct stat st;
    assert_int_equal(stat(bad, &st), 0);
    assert_int_equal(st.st_size, 20 + (8 + 8 * 27 + 3 * 8) * 4);
    assert_int_equal(ohem_save_weights(net, TMP "/no/such/dir.weights", net->n, &e), -1);
    if (!strstr(e.msg, TMP "/no/such/dir.weights: cannot write the weights: No such file")) fail_msg("%s", e.msg);
    free_network(net);
    free_network(net2);
}

int main(void)
{
    ohem_kernels_threads(2); /* the pool splits im2col and col2im even on one core */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_routing),
        cmocka_unit_test(test_im2col),
        cmocka_unit_test(test_col2im_rows),
        cmocka_unit_test(test_region_backward),
        cmocka_unit_test(test_load_network),
        cmocka_unit_test(test_weights_check),
    };
    return cmocka_run_group_tests_name("darknet_glue", tests, NULL, NULL);
}
