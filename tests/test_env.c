/* test_env.c: the environment variables (every one checked the same way) and the
 * OpenBLAS core choice: the decision by hand cases over cpuid-like inputs, and end to
 * end that a program linking libohem.a runs the core the decision names. The
 * caller's OPENBLAS_CORETYPE is left as it is for this process; only the children
 * this test starts get the environments under test. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "coretype.h"
#include "env.h"
#include "parser.h"

char *openblas_get_corename(void);

static char self[4096];

/* Runs this program as "--corename" with the given environment changes
 * ("NAME=VALUE" sets, "NAME" unsets); stdout and stderr of the child into out/err.
 * Returns its exit status. */
static int run_child(const char *const *env, char *out, size_t nout, char *err, size_t nerr)
{
    int po[2], pe[2];
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; env[i]; i++) {
            const char *eq = strchr(env[i], '=');
            if (eq) {
                char name[64];
                snprintf(name, sizeof(name), "%.*s", (int)(eq - env[i]), env[i]);
                setenv(name, eq + 1, 1);
            } else {
                unsetenv(env[i]);
            }
        }
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execl(self, self, "--corename", (char *)NULL);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    ssize_t n = read(po[0], out, nout - 1);
    out[n > 0 ? n : 0] = 0;
    size_t got = 0;
    while (got < nerr - 1 && (n = read(pe[0], err + got, nerr - 1 - got)) > 0) got += (size_t)n;
    err[got] = 0;
    close(po[0]);
    close(pe[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_env_values(void **state)
{
    (void)state;
    static const struct {
        const char *set;
        const char *says;
    } bad[] = {
        {"OHEM_THREADS=abc", "OHEM_THREADS='abc': expected an integer from 1 to 64"},
        {"OHEM_THREADS=0", "OHEM_THREADS='0': expected an integer from 1 to 64"},
        {"OHEM_THREADS=2x", "OHEM_THREADS='2x': expected an integer from 1 to 64"},
        {"OHEM_THREADS=", "OHEM_THREADS='': expected an integer from 1 to 64"},
        {"OHEM_THREADS=99999999999999999999", "expected an integer from 1 to 64"},
        {"OHEM_KERNEL_THREADS=-1", "OHEM_KERNEL_THREADS='-1': expected an integer from 1 to 64"},
        {"OHEM_KERNELS=fast", "OHEM_KERNELS='fast': expected one of plugin, darknet (default plugin when unset)"},
        {"OHEM_GEMM=foo", "OHEM_GEMM='foo': expected one of auto, plugin, avx2, openblas, darknet (default auto when unset)"},
        {"OHEM_IM2COL=Plugin", "OHEM_IM2COL='Plugin': expected one of plugin, darknet"},
        {"OHEM_OPENBLAS_CORE=fast", "OHEM_OPENBLAS_CORE='fast': expected one of auto, keep, best"},
        {"OHEM_BACKWARD=libdarknet", "OHEM_BACKWARD='libdarknet': expected one of plugin, darknet (default plugin when unset)"},
        {"OHEM_CONV=fft", "OHEM_CONV='fft': expected one of auto, gemm, winograd (default auto when unset)"},
        {"OHEM_ISA=avx512", "OHEM_ISA='avx512': expected one of auto, avx2 (default auto when unset)"},
        {"OHEM_PLAN=on", "OHEM_PLAN='on': expected auto, measure, off or a cache file's path"},
        {"OHEM_PLAN=/tmp/", "OHEM_PLAN='/tmp/': expected auto, measure, off"},
        {"OHEM_PLAN_SECONDS=0", "OHEM_PLAN_SECONDS='0': expected an integer from 1 to 3600"},
        {"OHEM_INFER=on", "OHEM_INFER='on': expected one of auto, off (default auto when unset)"},
        {"OHEM_PREFETCH=auto", "OHEM_PREFETCH='auto': expected one of on, off (default on when unset)"},
    };
    char out[4096], err[4096];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *env[] = {bad[i].set, NULL};
        int st = run_child(env, out, sizeof(out), err, sizeof(err));
        if (st != 1 || !strstr(err, bad[i].says) || !strstr(err, "error: environment variable ")) {
            print_error("%s: status %d, stderr '%s', expected '%s'\n", bad[i].set, st, err, bad[i].says);
            fail();
        }
    }
    static const char *const good[] = {"OHEM_THREADS=1", "OHEM_THREADS=64", "OHEM_GEMM=darknet", "OHEM_GEMM=openblas", "OHEM_GEMM=auto",
                                       "OHEM_IM2COL=darknet", "OHEM_OPENBLAS_CORE=keep", "OHEM_KERNELS=darknet",
                                       "OHEM_KERNEL_THREADS=1", "OHEM_BACKWARD=darknet", "OHEM_CONV=gemm",
                                       "OHEM_CONV=auto", "OHEM_CONV=winograd", "OHEM_PLAN=off", "OHEM_PLAN=measure",
                                       "OHEM_PLAN=auto", "OHEM_PLAN=./plan.tsv", "OHEM_ISA=avx2", "OHEM_ISA=auto", "OHEM_PLAN_SECONDS=60",
                                       "OHEM_INFER=off", "OHEM_INFER=auto", "OHEM_PREFETCH=off", "OHEM_PREFETCH=on"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const char *env[] = {good[i], NULL};
        int st = run_child(env, out, sizeof(out), err, sizeof(err));
        if (st != 0 || err[0]) {
            print_error("%s: status %d, stderr '%s'\n", good[i], st, err);
            fail();
        }
    }
}

/* The parsers of single values, in process. */
static void test_env_parsers(void **state)
{
    (void)state;
    static const char *const ch[] = {"a", "bb", NULL};
    ohem_err e;
    int k;
    long n;
    unsetenv("OHEM_TEST_X");
    assert_int_equal(ohem_env_choice("OHEM_TEST_X", ch, 1, &k, &e), 0);
    assert_int_equal(k, 1);
    assert_int_equal(ohem_env_long("OHEM_TEST_X", 1, 9, 7, &n, &e), 0);
    assert_int_equal(n, 7);
    setenv("OHEM_TEST_X", "bb", 1);
    assert_int_equal(ohem_env_choice("OHEM_TEST_X", ch, 0, &k, &e), 0);
    assert_int_equal(k, 1);
    assert_int_equal(ohem_env_long("OHEM_TEST_X", 1, 9, 7, &n, &e), -1);
    assert_non_null(strstr(e.msg, "OHEM_TEST_X='bb': expected an integer from 1 to 9"));
    setenv("OHEM_TEST_X", "9", 1);
    assert_int_equal(ohem_env_long("OHEM_TEST_X", 1, 9, 7, &n, &e), 0);
    assert_int_equal(n, 9);
    setenv("OHEM_TEST_X", "10", 1);
    assert_int_equal(ohem_env_long("OHEM_TEST_X", 1, 9, 7, &n, &e), -1);
    setenv("OHEM_TEST_X", " 3", 1);
    assert_int_equal(ohem_env_choice("OHEM_TEST_X", ch, 0, &k, &e), -1);
    assert_non_null(strstr(e.msg, "expected one of a, bb (default a when unset)"));
    unsetenv("OHEM_TEST_X");
}

/* The decision, by hand: {amd, avx, fma, avx2, avx512, avx512_bf16}. */
static void test_core_decision(void **state)
{
    (void)state;
    static const struct {
        ohem_cpu cpu;
        const char *current;
        const char *upgrade; /* NULL: keep */
    } cases[] = {
        /* Sapphire Rapids (family 6 model 143/207) that 0.3.21 does not know */
        {{0, 1, 1, 1, 1, 1}, "Prescott", "Cooperlake"},
        {{0, 1, 1, 1, 1, 0}, "Prescott", "SkylakeX"},
        {{0, 1, 1, 1, 1, 0}, "SkylakeX", NULL},
        {{0, 1, 1, 1, 1, 1}, "Cooperlake", NULL},
        {{0, 1, 1, 1, 1, 1}, "SkylakeX", "Cooperlake"},
        /* a user or an environment that set Haswell on an AVX-512 machine: level 2 < 4 */
        {{1, 1, 1, 1, 1, 1}, "Haswell", "Cooperlake"},
        /* AVX2 machines */
        {{0, 1, 1, 1, 0, 0}, "Prescott", "Haswell"},
        {{1, 1, 1, 1, 0, 0}, "Prescott", "Zen"},
        {{1, 1, 1, 1, 0, 0}, "Haswell", NULL},
        {{0, 1, 1, 1, 0, 0}, "Zen", NULL},
        {{0, 1, 1, 1, 0, 0}, "Sandybridge", "Haswell"},
        /* AVX only, SSE only, an OS without AVX state (all usable flags 0) */
        {{0, 1, 0, 0, 0, 0}, "Nehalem", "Sandybridge"},
        {{0, 1, 0, 0, 0, 0}, "Sandybridge", NULL},
        {{0, 0, 0, 0, 0, 0}, "Prescott", NULL},
        {{0, 0, 0, 0, 0, 0}, "Core2", NULL},
        /* a name it does not know counts as SSE level */
        {{0, 1, 1, 1, 0, 0}, "Unknown", "Haswell"},
        {{0, 1, 1, 1, 0, 0}, NULL, "Haswell"},
        /* never downgrade */
        {{0, 1, 1, 1, 0, 0}, "SkylakeX", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = ohem_core_upgrade(&cases[i].cpu, cases[i].current);
        int same = got && cases[i].upgrade ? !strcmp(got, cases[i].upgrade) : got == cases[i].upgrade;
        if (!same) {
            print_error("case %zu (from %s): got %s, expected %s\n", i, cases[i].current ? cases[i].current : "NULL",
                        got ? got : "keep", cases[i].upgrade ? cases[i].upgrade : "keep");
            fail();
        }
    }
    assert_int_equal(ohem_core_level("Prescott"), 0);
    assert_int_equal(ohem_core_level("haswell"), 2);
    assert_int_equal(ohem_core_level("SkylakeX"), 3);
}

/* End to end: the core a child reports under each setting. */
static void test_core_end_to_end(void **state)
{
    (void)state;
    ohem_cpu cpu;
    ohem_cpu_detect(&cpu);
    const char *best = ohem_core_best(&cpu);
    char out[4096], err[4096];
    /* the user's choice is kept, whatever it is, and nothing is said */
    const char *user[] = {"OPENBLAS_CORETYPE=Prescott", "OHEM_OPENBLAS_CORE", NULL};
    assert_int_equal(run_child(user, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "Prescott\n");
    assert_string_equal(err, "");
    /* keep: OpenBLAS's own choice, whatever it is */
    const char *keep[] = {"OPENBLAS_CORETYPE", "OHEM_OPENBLAS_CORE=keep", NULL};
    assert_int_equal(run_child(keep, out, sizeof(out), err, sizeof(err)), 0);
    char own[64];
    snprintf(own, sizeof(own), "%.63s", out);
    own[strcspn(own, "\n")] = 0;
    assert_string_equal(err, "");
    /* auto, nothing set: the better of OpenBLAS's own and the decision's */
    const char *unset[] = {"OPENBLAS_CORETYPE", "OHEM_OPENBLAS_CORE", NULL};
    assert_int_equal(run_child(unset, out, sizeof(out), err, sizeof(err)), 0);
    const char *up = ohem_core_upgrade(&cpu, own);
    char want[80];
    snprintf(want, sizeof(want), "%s\n", up ? up : own);
    assert_string_equal(out, want);
    assert_true(up ? strstr(err, "restarting with OPENBLAS_CORETYPE=") != NULL : err[0] == 0);
    /* best over the user's Prescott: one restart onto the best core, one line said */
    const char *force[] = {"OPENBLAS_CORETYPE=Prescott", "OHEM_OPENBLAS_CORE=best", NULL};
    assert_int_equal(run_child(force, out, sizeof(out), err, sizeof(err)), 0);
    if (best) {
        snprintf(want, sizeof(want), "%s\n", best);
        assert_string_equal(out, want);
        char line[256];
        snprintf(line, sizeof(line), "ohem: OpenBLAS chose its Prescott kernels, this CPU supports %s: restarting with OPENBLAS_CORETYPE=%s", best, best);
        assert_non_null(strstr(err, line));
        assert_int_equal((int)strlen(err), (int)strlen(line) + (int)strlen(" (set OPENBLAS_CORETYPE to choose yourself)\n"));
    } else {
        assert_string_equal(out, "Prescott\n");
    }
    /* the marker of a restart is not left to the program's own children */
    assert_null(strstr(out, "OHEM_OPENBLAS_RESTARTED"));
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--corename")) {
        printf("%s\n", openblas_get_corename());
        if (getenv("OHEM_OPENBLAS_RESTARTED")) printf("OHEM_OPENBLAS_RESTARTED still set\n");
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) return 1;
    self[n] = 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_values),
        cmocka_unit_test(test_env_parsers),
        cmocka_unit_test(test_core_decision),
        cmocka_unit_test(test_core_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
