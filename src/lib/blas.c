/* blas.c: libdarknet's gemm, routed to OpenBLAS. The library's own is a naive
 * single-threaded loop; its internal calls go through the PLT, so these replace it.
 * Semantics as Darknet's: C = ALPHA op(A) op(B) + BETA C, row-major. */
#include "ohem_parser.h"

#define _GNU_SOURCE
#include <cblas.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void (*gemm_fn)(int, int, int, int, int, float, float *, int, float *, int, float, float *, int);

/* libdarknet's own kernels, for OHEM_GEMM=darknet (benchmarks and comparisons). */
static gemm_fn darknet_gemm, darknet_gemm_cpu;
static int use_darknet;

/* A is (M, K) or (K, M) when TA; B is (K, N) or (N, K) when TB; C is (M, N). */
static void route_gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda,
                       float *B, int ldb, float BETA, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    cblas_sgemm(CblasRowMajor, TA ? CblasTrans : CblasNoTrans, TB ? CblasTrans : CblasNoTrans, M,
                N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B, int ldb,
          float BETA, float *C, int ldc)
{
    if (use_darknet) darknet_gemm(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
    else route_gemm(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
              int ldb, float BETA, float *C, int ldc)
{
    if (use_darknet) darknet_gemm_cpu(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
    else route_gemm(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

int ohem_gemm_select(const char *name)
{
    if (!strcmp(name, "openblas")) {
        use_darknet = 0;
        return 0;
    }
    if (strcmp(name, "darknet")) return -1;
    darknet_gemm = (gemm_fn)dlsym(RTLD_NEXT, "gemm");
    darknet_gemm_cpu = (gemm_fn)dlsym(RTLD_NEXT, "gemm_cpu");
    if (!darknet_gemm || !darknet_gemm_cpu) return -1;
    use_darknet = 1;
    return 0;
}

void ohem_blas_init(void)
{
    static int done;
    if (done) return;
    done = 1;
    const char *env = getenv("OHEM_THREADS");
    long n = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    openblas_set_num_threads((int)n);
    const char *which = getenv("OHEM_GEMM");
    if (which && ohem_gemm_select(which) != 0)
        fprintf(stderr, "warning: OHEM_GEMM=%s: expected openblas or darknet; using openblas\n", which);
    which = getenv("OHEM_IM2COL");
    if (which && ohem_im2col_select(which) != 0)
        fprintf(stderr, "warning: OHEM_IM2COL=%s: expected plugin or darknet; using plugin\n", which);
}
