/* gemm.h: libdarknet's gemm and gemm_cpu, replaced through the PLT and routed to our
 * gemm (sgemm.h), to OpenBLAS, or back to libdarknet's own. */
#ifndef OHEM_GEMM_H
#define OHEM_GEMM_H

/* "auto" (per convolutional layer as planned, plan.h; elsewhere ours where the
 * CPU has AVX-512 or AVX2, else OpenBLAS), "plugin" (ours, on the best kernels the CPU
 * runs), "avx2" (ours on the AVX2 kernels), "openblas" or "darknet"; returns 0, or
 * -1 for another name or for kernels the CPU lacks. Any name but auto forces that
 * gemm on every call. */
int ohem_gemm_select(const char *name);

/* 1 when the gemm is forced (a name other than auto): no planning. */
int ohem_gemm_forced(void);

/* 1 when our kernels are selected, so that a layer may run on them. */
int ohem_gemm_can_ours(void);

/* Under auto: the engine from now on, ours (1) or OpenBLAS (0); returns the one
 * before, to give back. Forced, it changes nothing. */
int ohem_gemm_engine(int ours);

/* The engine outside planned layers: 1 ours, 0 OpenBLAS. */
int ohem_gemm_default_ours(void);

/* 1 when libdarknet's own gemm is selected. */
int ohem_gemm_is_darknet(void);

/* 1 when our own gemm is selected. */
int ohem_gemm_is_ours(void);

/* The gemm in use, in words ("ours, AVX-512 kernels", "OpenBLAS's, core Haswell",
 * ...), for start-up lines and reports. */
const char *ohem_gemm_name(void);

#endif
