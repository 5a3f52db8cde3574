/* gemm.c: libdarknet's gemm, routed to our own gemm (sgemm.c) or to OpenBLAS: per
 * convolutional layer as the planner chose (plan.h), elsewhere ours where the CPU
 * has AVX-512 or AVX2 with FMA, else OpenBLAS (OHEM_GEMM forces one). The library's own is a naive
 * single-threaded loop; its internal calls go through the PLT, so these replace
 * it. Semantics as Darknet's: C = ALPHA op(A) op(B) + BETA C, row-major. */
#define _GNU_SOURCE
#include "gemm.h"
#include "sgemm.h"

#include <cblas.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void (*gemm_fn)(int, int, int, int, int, float, float *, int, float *, int, float, float *, int);

/* libdarknet's own kernels, for OHEM_GEMM=darknet (benchmarks and comparisons). */
static gemm_fn darknet_gemm, darknet_gemm_cpu;
/* use_ours: the engine now (a planned layer's while it runs); default_ours: the
 * engine elsewhere; can_ours: our kernels are selected, so a layer may be given
 * them; forced: OHEM_GEMM named one, which the planner must not change */
static int use_darknet, use_ours, default_ours, can_ours, forced;

/* A is (M, K) or (K, M) when TA; B is (K, N) or (N, K) when TB; C is (M, N). */
static void route_gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda,
                       float *B, int ldb, float BETA, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (use_ours) {
        ohem_sgemm(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
        return;
    }
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

/* 1 when libdarknet's own gemm is in use (OHEM_GEMM=darknet). */
int ohem_gemm_is_darknet(void)
{
    return use_darknet;
}

/* 1 when our own gemm is in use. */
int ohem_gemm_is_ours(void)
{
    return use_ours && !use_darknet;
}

int ohem_gemm_forced(void)
{
    return forced || use_darknet;
}

int ohem_gemm_can_ours(void)
{
    return can_ours && !use_darknet;
}

int ohem_gemm_engine(int ours)
{
    int was = use_ours;
    if (!forced && (!ours || can_ours)) use_ours = ours;
    return was;
}

int ohem_gemm_default_ours(void)
{
    return default_ours;
}

const char *ohem_gemm_name(void)
{
    static char name[96];
    if (use_darknet) return "libdarknet's own (OHEM_GEMM=darknet)";
    if (use_ours) return ohem_sgemm_kernels() == 512 ? "ours, AVX-512 kernels" : "ours, AVX2 kernels";
    snprintf(name, sizeof(name), "OpenBLAS's, core %s", openblas_get_corename());
    return name;
}

int ohem_gemm_select(const char *name)
{
    int is_auto = !strcmp(name, "auto");
    /* auto: ours on the best kernels the CPU runs (AVX-512, else AVX2), else
     * OpenBLAS, where no plan says otherwise (docs/performance.md: on an AVX2 view
     * ours is ahead of OpenBLAS's Haswell kernels, as the plans find) */
    if (is_auto) {
        can_ours = ohem_sgemm_use(ohem_sgemm_available(512) ? 512 : 256) == 0;
        use_darknet = 0;
        use_ours = default_ours = can_ours;
        forced = 0;
        return 0;
    }
    if (!strcmp(name, "openblas")) {
        use_darknet = use_ours = default_ours = can_ours = 0;
        forced = 1;
        return 0;
    }
    /* plugin: ours on the best kernels the CPU runs; avx2: ours on the AVX2 ones */
    if (!strcmp(name, "plugin") || !strcmp(name, "avx2")) {
        int set = !strcmp(name, "avx2") || !ohem_sgemm_available(512) ? 256 : 512;
        if (ohem_sgemm_use(set) != 0) return -1;
        use_darknet = 0;
        use_ours = default_ours = can_ours = 1;
        forced = 1;
        return 0;
    }
    if (strcmp(name, "darknet")) return -1;
    darknet_gemm = (gemm_fn)dlsym(RTLD_NEXT, "gemm");
    darknet_gemm_cpu = (gemm_fn)dlsym(RTLD_NEXT, "gemm_cpu");
    if (!darknet_gemm || !darknet_gemm_cpu) return -1;
    use_darknet = forced = 1;
    return 0;
}
