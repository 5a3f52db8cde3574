/* sgemm.h: a single-precision gemm of our own for CPUs with AVX-512 (sgemm.c). */
#ifndef OHEM_SGEMM_H
#define OHEM_SGEMM_H

/* 1 when the CPU and the operating system support AVX-512 (F, CD, BW, DQ, VL). */
int ohem_sgemm_supported(void);

/* C = alpha op(A) op(B) + beta C, row-major: op(A) is m x k (A is k x m when ta),
 * op(B) is k x n (B is n x k when tb), C is m x n. beta 0 never reads C. Split over
 * the kernels' pool. Only where ohem_sgemm_supported(). */
void ohem_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                float beta, float *c, int ldc);

#endif
