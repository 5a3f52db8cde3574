/* env.c: every environment variable the project reads, checked one way: an unset
 * variable takes its default, a value outside the allowed ones is an error that names
 * the variable, the value and what is allowed. */
#include "env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ohem_env_choice(const char *name, const char *const *choices, int dflt, int *out, ohem_err *e)
{
    const char *v = getenv(name);
    *out = dflt;
    if (!v) return 0;
    for (int i = 0; choices[i]; i++)
        if (!strcmp(v, choices[i])) {
            *out = i;
            return 0;
        }
    char allowed[256] = "";
    for (int i = 0; choices[i]; i++) {
        size_t n = strlen(allowed);
        snprintf(allowed + n, sizeof(allowed) - n, "%s%s", i ? ", " : "", choices[i]);
    }
    ohem_err_set(e, "environment variable %s='%s': expected one of %s (default %s when unset)", name, v,
                 allowed, choices[dflt]);
    return -1;
}

int ohem_env_long(const char *name, long lo, long hi, long dflt, long *out, ohem_err *e)
{
    const char *v = getenv(name);
    *out = dflt;
    if (!v) return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end == v || *end || errno || n < lo || n > hi) {
        ohem_err_set(e, "environment variable %s='%s': expected an integer from %ld to %ld", name, v, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

int ohem_env_plan(ohem_env *env, ohem_err *e)
{
    static const char *const modes[] = {"auto", "measure", "off"};
    const char *v = getenv("OHEM_PLAN");
    env->plan = 0;
    env->plan_file = NULL;
    if (!v) return 0;
    for (int i = 0; i < 3; i++)
        if (!strcmp(v, modes[i])) {
            env->plan = i;
            return 0;
        }
    if (strchr(v, '/') && v[strlen(v) - 1] != '/') {
        env->plan_file = v;
        return 0;
    }
    ohem_err_set(e, "environment variable OHEM_PLAN='%s': expected auto, measure, off or a cache file's path with a / in it (./plan.tsv) (default auto when unset)", v);
    return -1;
}

int ohem_env_prefetch(int *off, ohem_err *e)
{
    static const char *const onoff[] = {"on", "off", NULL};
    return ohem_env_choice("OHEM_PREFETCH", onoff, 0, off, e);
}

int ohem_env_read(ohem_env *env, ohem_err *e)
{
    static const char *const gemm[] = {"auto", "plugin", "avx2", "openblas", "darknet", NULL};
    static const char *const plugin[] = {"plugin", "darknet", NULL};
    static const char *const core[] = {"auto", "keep", "best", NULL};
    static const char *const conv[] = {"auto", "gemm", "winograd", NULL};
    static const char *const infer[] = {"auto", "off", NULL};
    static const char *const isa[] = {"auto", "avx2", NULL};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    if (cores > 64) cores = 64;
    if (ohem_env_long("OHEM_THREADS", 1, 64, cores, &env->threads, e) != 0) return -1;
    if (ohem_env_long("OHEM_KERNEL_THREADS", 1, 64, env->threads, &env->kernel_threads, e) != 0) return -1;
    if (ohem_env_choice("OHEM_GEMM", gemm, 0, &env->gemm, e) != 0) return -1;
    if (ohem_env_choice("OHEM_IM2COL", plugin, 0, &env->im2col, e) != 0) return -1;
    if (ohem_env_choice("OHEM_KERNELS", plugin, 0, &env->kernels, e) != 0) return -1;
    if (ohem_env_choice("OHEM_OPENBLAS_CORE", core, 0, &env->openblas_core, e) != 0) return -1;
    if (ohem_env_choice("OHEM_BACKWARD", plugin, 0, &env->backward, e) != 0) return -1;
    if (ohem_env_choice("OHEM_CONV", conv, 0, &env->conv, e) != 0) return -1;
    if (ohem_env_choice("OHEM_INFER", infer, 0, &env->infer, e) != 0) return -1;
    if (ohem_env_choice("OHEM_ISA", isa, 0, &env->isa, e) != 0) return -1;
    if (ohem_env_prefetch(&env->prefetch, e) != 0) return -1;
    if (ohem_env_plan(env, e) != 0) return -1;
    if (ohem_env_long("OHEM_PLAN_SECONDS", 1, 3600, 3, &env->plan_seconds, e) != 0) return -1;
    return 0;
}
