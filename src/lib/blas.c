/* blas.c: libdarknet's gemm, routed to our own gemm (sgemm.c) where the CPU has
 * AVX-512, else to OpenBLAS (OHEM_GEMM chooses otherwise). The library's own is a naive single-threaded loop;
 * its internal calls go through the PLT, so these replace it. Semantics as
 * Darknet's: C = ALPHA op(A) op(B) + BETA C, row-major. */
#include "ohem_parser.h"
#include "coretype.h"
#include "env.h"
#include "kernels.h"
#include "sgemm.h"

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
static int use_darknet, use_ours;

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
    /* auto: ours with AVX-512, else OpenBLAS */
    if (!strcmp(name, "openblas") || (is_auto && !ohem_sgemm_available(512))) {
        use_darknet = use_ours = 0;
        return 0;
    }
    /* plugin: ours on the best kernels the CPU runs; avx2: ours on the AVX2 ones */
    if (is_auto || !strcmp(name, "plugin") || !strcmp(name, "avx2")) {
        int set = !strcmp(name, "avx2") || !ohem_sgemm_available(512) ? 256 : 512;
        if (ohem_sgemm_use(set) != 0) return -1;
        use_darknet = 0;
        use_ours = 1;
        return 0;
    }
    if (strcmp(name, "darknet")) return -1;
    darknet_gemm = (gemm_fn)dlsym(RTLD_NEXT, "gemm");
    darknet_gemm_cpu = (gemm_fn)dlsym(RTLD_NEXT, "gemm_cpu");
    if (!darknet_gemm || !darknet_gemm_cpu) return -1;
    use_darknet = 1;
    return 0;
}

/* Start-up of every program that links libohem.a (glibc passes argc, argv and envp
 * to constructors): checks every environment variable the project reads, puts
 * OpenBLAS on the best kernels the CPU supports, sets the threads and the kernels
 * chosen. A bad variable is an error before main runs. */
__attribute__((constructor)) static void ohem_startup(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)envp;
    ohem_env env;
    ohem_err e;
    if (ohem_env_read(&env, &e) != 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        exit(1);
    }
    ohem_core_fix(env.openblas_core, argv);
    openblas_set_num_threads((int)env.threads);
    static const char *const gemms[] = {"auto", "plugin", "avx2", "openblas", "darknet"};
    if (ohem_gemm_select(gemms[env.gemm]) != 0) {
        fprintf(stderr, "error: OHEM_GEMM=%s: %s\n", gemms[env.gemm],
                env.gemm == 1   ? "our gemm needs a CPU with AVX-512 (F, CD, BW, DQ, VL) or AVX2 and FMA; this one has neither"
                : env.gemm == 2 ? "our AVX2 gemm needs a CPU with AVX2 and FMA; this one has not"
                                : "libdarknet's own gemm is not found (dlsym)");
        exit(1);
    }
    ohem_im2col_select(env.im2col ? "darknet" : "plugin");
    ohem_keep_input_deltas_select(!env.backward);
    ohem_kernels_threads((int)env.kernel_threads);
    ohem_kernels_winograd(!env.conv);
    if (ohem_kernels_select(env.kernels ? "darknet" : "plugin") != 0) {
        fprintf(stderr, "error: OHEM_KERNELS=darknet: libdarknet's own kernels are not found (dlsym)\n");
        exit(1);
    }
}

/* Referenced by the parser, so that linking the parser links this file and its
 * start-up; the work is done there. */
void ohem_blas_init(void)
{
}
