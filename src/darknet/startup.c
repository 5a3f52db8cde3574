/* startup.c: the start-up of every program that links libohem.a.
 *
 * libohem.a is a linker script that asks for ohem_startup and ohem_load_network, two
 * names libdarknet does not have, so this file and network.c are linked into every
 * program that names libohem.a, before or after -ldarknet; with them come every
 * object they call (the parser, the layers, the kernels, gemm.c, im2col.c). A linked
 * object's definitions of libdarknet's functions take the place of the library's,
 * whose own calls go through the PLT. A file of replacements that nothing here
 * calls would stay out when libohem.a comes after -ldarknet. */
#include "env.h"
#include "keep_delta.h"
#include "coretype.h"
#include "gemm.h"
#include "im2col.h"
#include "kernels.h"
#include "plan.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs before main (glibc passes argc, argv and envp to constructors): checks every
 * environment variable the project reads, puts OpenBLAS on the best kernels the CPU
 * supports (or those OHEM_ISA allows), sets the threads, the kernels chosen and the
 * planner's mode. A bad variable is an error
 * before main runs. */
__attribute__((constructor)) void ohem_startup(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)envp;
    ohem_env env;
    ohem_err e;
    if (ohem_env_read(&env, &e) != 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        exit(1);
    }
    ohem_cpu_limit_avx2(env.isa == 1);
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
    ohem_kernels_winograd(env.conv == 0 ? 1 : env.conv == 1 ? 0 : 2);
    ohem_kernels_infer(!env.infer);
    ohem_plan_set(env.plan, env.plan_file);
    ohem_plan_cap((double)env.plan_seconds);
    if (ohem_kernels_select(env.kernels ? "darknet" : "plugin") != 0) {
        fprintf(stderr, "error: OHEM_KERNELS=darknet: libdarknet's own kernels are not found (dlsym)\n");
        exit(1);
    }
}
