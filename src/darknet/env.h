/* env.h: the environment variables the project reads, each checked the same way.
 * A value outside the allowed ones is an error naming the variable, the value and
 * what is allowed; never a silent default. */
#ifndef OHEM_ENV_H
#define OHEM_ENV_H

#include "cfg.h"

/* Reads name; *out is the index in choices (a NULL-terminated list) of its value, or
 * dflt when name is unset. Returns 0, or -1 with e set for any other value
 * (including an empty one). */
int ohem_env_choice(const char *name, const char *const *choices, int dflt, int *out, ohem_err *e);

/* Reads name as a decimal integer in [lo, hi]; *out is dflt when name is unset.
 * Returns 0, or -1 with e set (not a number, trailing characters, out of range). */
int ohem_env_long(const char *name, long lo, long hi, long dflt, long *out, ohem_err *e);

/* The settings read from the environment at start-up (ohem_env_read). */
typedef struct {
    long threads;     /* OHEM_THREADS: 1..64, default the online cores (at most 64) */
    long kernel_threads; /* OHEM_KERNEL_THREADS: 1..64, default threads */
    int gemm;         /* OHEM_GEMM: 0 auto (default), 1 plugin, 2 avx2, 3 openblas, 4 darknet */
    int im2col;       /* OHEM_IM2COL: 0 plugin (default), 1 darknet */
    int kernels;      /* OHEM_KERNELS: 0 plugin (default), 1 darknet */
    int openblas_core; /* OHEM_OPENBLAS_CORE: 0 auto (default), 1 keep, 2 best */
    int backward;     /* OHEM_BACKWARD: 0 plugin (default: gradients kept), 1 darknet */
    int conv;         /* OHEM_CONV: 0 auto (default: as planned), 1 gemm, 2 winograd (every 3 x 3 layer it can take) */
    int infer;        /* OHEM_INFER: 0 auto (default: the inference forward, batch norm folded), 1 off */
    int isa;          /* OHEM_ISA: 0 auto (default: what the CPU has), 1 avx2 (AVX-512 hidden) */
    int prefetch;     /* OHEM_PREFETCH: 0 on (default: detection's images loaded ahead on a thread), 1 off */
    int plan;         /* OHEM_PLAN: 0 auto (default: the cache, then measure), 1 measure, 2 off */
    const char *plan_file; /* OHEM_PLAN given a path: the cache file (plan 0); NULL: the default one */
    long plan_seconds; /* OHEM_PLAN_SECONDS: 1..3600, default 3: the planning time cap of a network */
} ohem_env;

/* Reads OHEM_PLAN into env->plan and env->plan_file: auto, measure, off, or a path
 * (a value with a / in it, not ending in one) of the cache file. Returns 0, or -1
 * with e set. */
int ohem_env_plan(ohem_env *env, ohem_err *e);

/* Reads OHEM_PREFETCH: *off is 1 for off, 0 for on (the default). Returns 0, or -1
 * with e set. */
int ohem_env_prefetch(int *off, ohem_err *e);

/* Reads and checks every variable above into env. Returns 0, or -1 with e set for
 * the first bad one. */
int ohem_env_read(ohem_env *env, ohem_err *e);

#endif
