/* blas.c: libdarknet's gemm, routed to OpenBLAS. The library's own is a naive
 * single-threaded loop; its internal calls go through the PLT, so these replace it.
 * Semantics as Darknet's: C = ALPHA op(A) op(B) + BETA C, row-major. */
#include "ohem_parser.h"

#include <cblas.h>
#include <stdlib.h>
#include <unistd.h>

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
    route_gemm(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
              int ldb, float BETA, float *C, int ldc)
{
    route_gemm(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
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
}
