/* coretype.c: OpenBLAS on the best kernels the CPU supports (see coretype.h). */
#define _GNU_SOURCE
#include "coretype.h"

#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *openblas_get_corename(void);

/* Set in the environment of the restarted program: it must not restart again. */
#define RESTART_MARK "OHEM_OPENBLAS_RESTARTED"

static unsigned long long xgetbv0(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

/* OHEM_ISA=avx2: AVX-512 hidden from every caller of ohem_cpu_detect. */
static int isa_avx2_only;

void ohem_cpu_limit_avx2(int on)
{
    isa_avx2_only = on;
}

int ohem_cpu_limited(void)
{
    return isa_avx2_only;
}

void ohem_cpu_detect(ohem_cpu *cpu)
{
    memset(cpu, 0, sizeof(*cpu));
    if (isa_avx2_only) {
        ohem_cpu full;
        isa_avx2_only = 0;
        ohem_cpu_detect(&full);
        isa_avx2_only = 1;
        *cpu = full;
        cpu->avx512 = cpu->avx512_bf16 = 0;
        return;
    }
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    unsigned max = a;
    cpu->amd = b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u; /* AuthenticAMD */
    __get_cpuid(1, &a, &b, &c, &d);
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    int os_ymm = (xcr0 & 6) == 6, os_zmm = (xcr0 & 0xe6) == 0xe6;
    cpu->avx = avx && os_ymm;
    cpu->fma = fma && cpu->avx;
    if (max < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    cpu->avx2 = ((b >> 5) & 1) && cpu->avx;
    /* F 16, DQ 17, CD 28, BW 30, VL 31 */
    unsigned skx = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
    cpu->avx512 = (b & skx) == skx && os_zmm;
    __cpuid_count(7, 1, a, b, c, d);
    cpu->avx512_bf16 = ((a >> 5) & 1) && cpu->avx512;
}

int ohem_core_level(const char *core)
{
    static const struct {
        const char *name;
        int level;
    } levels[] = {
        {"Sandybridge", 1}, {"Bulldozer", 1}, {"Piledriver", 2}, {"Steamroller", 2}, {"Excavator", 2},
        {"Haswell", 2},     {"Zen", 2},       {"SkylakeX", 3},   {"Cooperlake", 4},  {"SapphireRapids", 4},
    };
    for (size_t i = 0; core && i < sizeof(levels) / sizeof(levels[0]); i++)
        if (!strcasecmp(core, levels[i].name)) return levels[i].level;
    return 0;
}

const char *ohem_core_best(const ohem_cpu *cpu)
{
    if (cpu->avx512 && cpu->avx512_bf16) return "Cooperlake";
    if (cpu->avx512) return "SkylakeX";
    if (cpu->avx2 && cpu->fma) return cpu->amd ? "Zen" : "Haswell";
    if (cpu->avx) return "Sandybridge";
    return NULL;
}

const char *ohem_core_upgrade(const ohem_cpu *cpu, const char *current)
{
    const char *best = ohem_core_best(cpu);
    if (!best || ohem_core_level(best) <= ohem_core_level(current)) return NULL;
    return best;
}

void ohem_core_fix(int mode, char **argv)
{
    if (getenv(RESTART_MARK)) {
        unsetenv(RESTART_MARK); /* programs this one starts check for themselves */
        return;
    }
    if (mode == 1 || !argv || !argv[0]) return;
    ohem_cpu cpu;
    ohem_cpu_detect(&cpu);
    const char *current = openblas_get_corename();
    const char *best = ohem_core_upgrade(&cpu, current);
    /* OHEM_ISA=avx2 asks for a CPU without AVX-512: OpenBLAS's too, whatever its core was */
    const char *lower = isa_avx2_only ? ohem_core_best(&cpu) : NULL;
    if (lower && ohem_core_level(current) > ohem_core_level(lower)) {
        fprintf(stderr, "ohem: OHEM_ISA=avx2: restarting with OPENBLAS_CORETYPE=%s (OpenBLAS chose its %s kernels)\n", lower,
                current);
        best = lower;
    } else if (!best || (mode == 0 && getenv("OPENBLAS_CORETYPE")))
        return;
    else
        fprintf(stderr, "ohem: OpenBLAS chose its %s kernels, this CPU supports %s: restarting with OPENBLAS_CORETYPE=%s (set OPENBLAS_CORETYPE to choose yourself)\n",
                current, best, best);
    fflush(NULL);
    setenv("OPENBLAS_CORETYPE", best, 1);
    setenv(RESTART_MARK, "1", 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "ohem: restart failed; staying on OpenBLAS's %s kernels\n", current);
    unsetenv(RESTART_MARK);
}

void ohem_cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            const char *v = strchr(line, ':') + 1;
            while (*v == ' ' || *v == '\t') v++;
            snprintf(out, cap, "%s", v);
            out[strcspn(out, "\n")] = 0;
            break;
        }
    if (f) fclose(f);
}
