/* startup.c: the start-up of every program that links libohem.a, and the list of
 * libdarknet functions that the plugin replaces.
 *
 * libohem.a is a linker script that asks for ohem_startup and ohem_parse_network, so
 * this file and the parser are linked into every program that names libohem.a,
 * before or after -ldarknet. The table below refers to each replacement that no
 * other linked code names, so that its object is linked too, and its definition
 * takes the place of libdarknet's (calls inside libdarknet go through the PLT). */
#include "env.h"
#include "keep_delta.h"
#include "coretype.h"
#include "gemm.h"
#include "im2col.h"
#include "kernels.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

int resize_network(network *net, int w, int h);
void im2col_cpu(float *im, int channels, int height, int width, int ksize, int stride, int pad, float *col);

/* Replacements linked by reference from here: resize.c (multi-scale training with
 * plugin layers), network.c (two-stage batch and boxes), im2col.c. gemm.c, kernels.c
 * and keep_delta.c are linked by ohem_startup's own calls, the rest by the parser. */
__attribute__((used)) static const void *const replacements[] = {
    (const void *)resize_network, (const void *)set_batch_network, (const void *)get_network_boxes,
    (const void *)im2col_cpu,
};

/* Runs before main (glibc passes argc, argv and envp to constructors): checks every
 * environment variable the project reads, puts OpenBLAS on the best kernels the CPU
 * supports, sets the threads and the kernels chosen. A bad variable is an error
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
