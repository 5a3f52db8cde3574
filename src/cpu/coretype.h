/* coretype.h: making sure OpenBLAS runs the best kernels the CPU supports.
 * Debian's OpenBLAS 0.3.21 picks its kernels ("core") from the CPU model when it
 * loads; on CPUs it does not know (recent Intel server parts) it falls back to the
 * generic SSE3 "Prescott" kernels, far slower on a training step
 * (docs/performance.md, OpenBLAS's core). OpenBLAS reads OPENBLAS_CORETYPE only when
 * it loads, so the fix restarts the program once with it set (ohem_core_fix, run at
 * start-up by startup.c). */
#ifndef OHEM_CORETYPE_H
#define OHEM_CORETYPE_H

#include <stddef.h>

/* What the CPU and the operating system support, as cpuid and xgetbv report it. */
typedef struct {
    int amd;                    /* vendor AuthenticAMD */
    int avx, fma, avx2;         /* usable: the OS saves the AVX state */
    int avx512;                 /* F, CD, BW, DQ and VL usable (the OS saves ZMM state) */
    int avx512_bf16;
} ohem_cpu;

/* Fills cpu from cpuid and xgetbv (without AVX-512 under ohem_cpu_limit_avx2). */
void ohem_cpu_detect(ohem_cpu *cpu);

/* on 1 (OHEM_ISA=avx2, set at start-up before anything asks): the CPU looks AVX2-only
 * to ohem_cpu_detect, so to our gemm, Winograd's gemm and the choice of OpenBLAS's
 * core; a Zen 3-like machine measured on an AVX-512 one. GCC's target clones of the
 * element-wise loops still pick by cpuid. */
void ohem_cpu_limit_avx2(int on);
/* 1 under that limit. */
int ohem_cpu_limited(void);

/* The CPU's model name ("model name" of /proc/cpuinfo), or "unknown". */
void ohem_cpu_model(char *out, size_t cap);

/* The ISA level of an OpenBLAS core name, as openblas_get_corename() spells it:
 * 0 SSE only (Prescott, Nehalem, ..., and names it does not know), 1 AVX
 * (Sandybridge, Bulldozer), 2 AVX2/FMA (Haswell, Zen, Piledriver, Steamroller,
 * Excavator), 3 AVX-512 (SkylakeX), 4 AVX-512 with BF16 (Cooperlake). */
int ohem_core_level(const char *core);

/* The best core of Debian's OpenBLAS 0.3.21 for cpu: "Cooperlake", "SkylakeX", "Zen"
 * (AMD) or "Haswell", "Sandybridge", or NULL when only SSE kernels apply. */
const char *ohem_core_best(const ohem_cpu *cpu);

/* The core to restart with: ohem_core_best(cpu) when it is a higher level than
 * current, else NULL (keep current). The pure decision, tested by hand cases. */
const char *ohem_core_upgrade(const ohem_cpu *cpu, const char *current);

/* Start-up: when OpenBLAS runs a lower-level core than the CPU supports, says so in
 * one line on stderr and re-executes the program (argv, /proc/self/exe) with
 * OPENBLAS_CORETYPE set. mode 0 (auto): only when the user has not set
 * OPENBLAS_CORETYPE; 1 (keep): never; 2 (best): even over the user's setting. A
 * marker variable stops a second restart. Under ohem_cpu_limit_avx2, a core above
 * AVX2 restarts with the AVX2 one whatever the mode but keep. Returns only when no
 * restart happened. */
void ohem_core_fix(int mode, char **argv);

#endif
