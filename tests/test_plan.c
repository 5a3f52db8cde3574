/* test_plan.c: the convolution planner (src/cpu/plan.h): its choice from injected
 * costs, the cache file's round trip, a corrupt cache ignored with a warning, a
 * cached plan followed (its outputs the bits of that path forced), a measured plan
 * kept and found again, the program's random stream left alone, and OHEM_ISA=avx2's
 * view of the CPU. The paths' outputs against libdarknet's are test_kernels'
 * (test_conv_forward, on every path). */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "darknet.h"
#include "coretype.h"
#include "gemm.h"
#include "plan.h"
#include "pool.h"
#include "sgemm.h"

char *openblas_get_corename(void);

static void test_choose(void **state)
{
    (void)state;
    static const struct {
        double cost[OHEM_PATHS];
        int want;
    } cases[] = {
        {{-1, -1, -1, -1}, OHEM_PATH_RULES},
        {{1, -1, -1, 2}, OHEM_PATH_OURS},
        {{2, -1, -1, 1}, OHEM_PATH_OPENBLAS},
        {{1, 0.98, -1, -1}, OHEM_PATH_OURS},         /* within the margin: the earlier stays */
        {{1, 0.96, -1, -1}, OHEM_PATH_OURS_IMAGES},  /* past it */
        {{-1, -1, 0.5, 0.6}, OHEM_PATH_WINOGRAD},
        {{1, 0.96, 0.95, 0.5}, OHEM_PATH_OPENBLAS},
        {{1, 0.96, 0.94, -1}, OHEM_PATH_OURS_IMAGES}, /* 0.94 is within 3% of 0.96 */
        {{1, 0.9, 0.8, 0.7}, OHEM_PATH_OPENBLAS},
        {{NAN, 2, -1, 3}, OHEM_PATH_OURS_IMAGES},   /* not a number: not a candidate */
        {{0, 0, 0, 0}, OHEM_PATH_OURS},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = ohem_plan_choose(cases[i].cost);
        if (got != cases[i].want || ohem_plan_choose(cases[i].cost) != got) {
            print_error("case %zu: chose %s, expected %s\n", i, ohem_plan_path_name(got),
                        ohem_plan_path_name(cases[i].want));
            fail();
        }
    }
    for (int p = OHEM_PATH_RULES; p < OHEM_PATHS; p++)
        assert_int_equal(ohem_plan_path_of_name(ohem_plan_path_name(p)), p);
    assert_int_equal(ohem_plan_path_of_name("fast"), -2);
}

/* This machine's identity in a cache entry, as the planner writes it. */
static void this_machine(ohem_plan_entry *e)
{
    memset(e, 0, sizeof(*e));
    ohem_cpu_model(e->cpu, sizeof(e->cpu));
    e->isa = ohem_gemm_can_ours() ? ohem_sgemm_kernels() : 0;
    snprintf(e->core, sizeof(e->core), "%s", openblas_get_corename());
    e->threads = ohem_pool_threads();
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_cache_roundtrip(void **state)
{
    (void)state;
    const char *file = "tests/tmp/plan-roundtrip.tsv";
    ohem_plan_entry in[3], *out;
    int n;
    char why[512];
    unlink(file);
    assert_int_equal(ohem_plan_cache_read(file, &out, &n, why, sizeof(why)), 0); /* missing: empty */
    assert_int_equal(n, 0);
    for (int i = 0; i < 3; i++) {
        this_machine(&in[i]);
        in[i].key = (ohem_plan_key){2 + i, 3, 416, 208, 16, 3, 1 + i % 2, 1, 1, i % 2};
        in[i].path = i == 2 ? OHEM_PATH_RULES : i ? OHEM_PATH_OPENBLAS : OHEM_PATH_WINOGRAD;
        for (int p = 0; p < OHEM_PATHS; p++) in[i].cost[p] = p == 1 ? -1 : 0.00125 * (p + 1) * (i + 1);
    }
    snprintf(in[1].cpu, sizeof(in[1].cpu), "Other CPU, model 7");
    in[1].isa = 256;
    assert_int_equal(ohem_plan_cache_write(file, in, 3), 0);
    assert_int_equal(ohem_plan_cache_read(file, &out, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(out[i].cpu, in[i].cpu);
        assert_int_equal(out[i].isa, in[i].isa);
        assert_string_equal(out[i].core, in[i].core);
        assert_int_equal(out[i].threads, in[i].threads);
        assert_memory_equal(&out[i].key, &in[i].key, sizeof(in[i].key));
        assert_int_equal(out[i].path, in[i].path);
        for (int p = 0; p < OHEM_PATHS; p++) assert_true(fabs(out[i].cost[p] - in[i].cost[p]) <= 1e-9);
    }
    free(out);
    /* an unwritable place is a failure to report, not a crash */
    assert_int_equal(ohem_plan_cache_write("/proc/ohem-no/plan.tsv", in, 3), -1);
}

static void test_cache_corrupt(void **state)
{
    (void)state;
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"garbage\n", ":1: expected 7 fields"},
        {"# comment\ncpu\t512\tHaswell\t2\t1 3 8 8 4 3 1 1 1 1\tours\n", ":2: expected 7 fields"},
        {"cpu\t384\tHaswell\t2\t1 3 8 8 4 3 1 1 1 1\tours\t1 1 1 1\n", ":1: bad ISA"},
        {"cpu\t512\tHaswell\tx\t1 3 8 8 4 3 1 1 1 1\tours\t1 1 1 1\n", ":1: bad threads"},
        {"cpu\t512\tHaswell\t2\t1 3 8 8 4 3 1 1 1\tours\t1 1 1 1\n", ":1: expected 10 numbers"},
        {"cpu\t512\tHaswell\t2\t1 3 8 8 4 3 1 1 1 7\tours\t1 1 1 1\n", ":1: bad number"},
        {"cpu\t512\tHaswell\t2\t1 3 8 8 4 3 1 1 1 1\tfast\t1 1 1 1\n", ":1: unknown path"},
        {"cpu\t512\tHaswell\t2\t1 3 8 8 4 3 1 1 1 1\tours\t1 1 x 1\n", ":1: bad cost"},
        {"cpu\t512\tHaswell\t2\t1 3 8 8 4 3 1 1 1 1\tours\t1 1 1\n", ":1: expected 4 costs"},
        {"cpu\t512\tHaswell\t2\t1 3 8 8 4 3 1 1 1 1\tours\t1 1 1 1\textra\n", ":1: expected 7 fields"},
    };
    const char *file = "tests/tmp/plan-corrupt.tsv";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_text(file, bad[i].text);
        ohem_plan_entry *out = (ohem_plan_entry *)1;
        int n = 5;
        char why[512] = "";
        int st = ohem_plan_cache_read(file, &out, &n, why, sizeof(why));
        if (st != -1 || out || n || !strstr(why, file) || !strstr(why, bad[i].says)) {
            print_error("case %zu: status %d, n %d, why '%s', expected '%s'\n", i, st, n, why, bad[i].says);
            fail();
        }
    }
}

/* A small network of convolutions: 3x3 (batch norm, leaky), 3x3 to 32, 1x1. */
static network *small_net(int batch)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "[net]\nbatch=%d\nsubdivisions=1\nwidth=24\nheight=20\nchannels=3\n\n"
             "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
             "[convolutional]\nbatch_normalize=1\nfilters=32\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
             "[convolutional]\nfilters=8\nsize=1\nstride=1\npad=1\nactivation=linear\n",
             batch);
    write_text("tests/tmp/plan-net.cfg", text);
    srand(3);
    network *net = parse_network_cfg("tests/tmp/plan-net.cfg");
    for (long i = 0; i < (long)net->inputs * net->batch; i++) net->input[i] = (float)((i * 7919 % 1000) / 500.0 - 1);
    return net;
}

/* The output of an inference forward of net (a copy). */
static float *forward_copy(network *net)
{
    net->train = 0;
    float *in = malloc(sizeof(float) * net->inputs * net->batch);
    memcpy(in, net->input, sizeof(float) * net->inputs * net->batch);
    float *o = network_predict(net, in);
    long n = (long)net->outputs * net->batch;
    float *c = malloc(sizeof(float) * n);
    memcpy(c, o, sizeof(float) * n);
    free(in);
    return c;
}

/* A corrupt cache: a warning naming it, the plans measured anyway, the file
 * rewritten readable. */
static void test_corrupt_cache_ignored(void **state)
{
    (void)state;
    const char *file = "tests/tmp/plan-corrupt-use.tsv";
    write_text(file, "this is not a plan\n");
    fflush(stderr);
    int saved = dup(2);
    FILE *cap = fopen("tests/tmp/plan-stderr.txt", "w+");
    dup2(fileno(cap), 2);
    ohem_plan_set(OHEM_PLAN_AUTO, file);
    network *net = small_net(2);
    ohem_plan_summary s;
    ohem_plan_network(net, 1, NULL, &s);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char text[4096] = "";
    rewind(cap);
    size_t got = fread(text, 1, sizeof(text) - 1, cap);
    text[got] = 0;
    fclose(cap);
    if (!strstr(text, "warning: the plan cache is not readable") || !strstr(text, file)) {
        print_error("stderr: '%s'\n", text);
        fail();
    }
    assert_int_equal(s.layers, 3);
    assert_int_equal(s.cached, 0);
    assert_int_equal(s.measured + s.rules, 3);
    ohem_plan_entry *out;
    int n;
    char why[512];
    assert_int_equal(ohem_plan_cache_read(file, &out, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 3);
    free(out);
    free_network(net);
    ohem_plan_set(OHEM_PLAN_OFF, NULL);
}

/* A cache that names OpenBLAS for every layer: the layers take it (their output the
 * bits of OHEM_GEMM=openblas), with planning off they take the rules. */
static void test_cached_plan_followed(void **state)
{
    (void)state;
    if (!ohem_gemm_can_ours()) skip();
    const char *file = "tests/tmp/plan-given.tsv";
    network *net = small_net(2);
    ohem_plan_entry e[3];
    int k = 0;
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        this_machine(&e[k]);
        e[k].key = (ohem_plan_key){l->batch, l->c, l->h, l->w, l->n, l->size, l->stride, l->pad, l->groups, 0};
        e[k].path = OHEM_PATH_OPENBLAS;
        for (int p = 0; p < OHEM_PATHS; p++) e[k].cost[p] = -1;
        k++;
    }
    assert_int_equal(ohem_plan_cache_write(file, e, k), 0);
    ohem_plan_set(OHEM_PLAN_AUTO, file);
    ohem_plan_summary s;
    ohem_plan_network(net, 0, NULL, &s);
    assert_int_equal(s.cached, 3);
    assert_int_equal(s.measured, 0);
    assert_int_equal(s.count[OHEM_PATH_OPENBLAS], 3);
    float *planned = forward_copy(net);
    ohem_plan_set(OHEM_PLAN_OFF, NULL);
    assert_int_equal(ohem_gemm_select("openblas"), 0);
    float *blas = forward_copy(net);
    assert_int_equal(ohem_gemm_select("plugin"), 0);
    float *ours = forward_copy(net);
    assert_int_equal(ohem_gemm_select("auto"), 0);
    long n = (long)net->outputs * net->batch;
    assert_memory_equal(planned, blas, n * sizeof(float));
    /* and the plan did change something: ours rounds otherwise */
    assert_true(memcmp(planned, ours, n * sizeof(float)) != 0);
    free(planned), free(blas), free(ours);
    free_network(net);
}

/* A measured plan: the same path for a shape all through the process, written to
 * the cache and found there by the next planning; rand()'s stream untouched. */
static void test_measured_plan_kept(void **state)
{
    (void)state;
    const char *file = "tests/tmp/plan-measured.tsv";
    unlink(file);
    ohem_plan_set(OHEM_PLAN_AUTO, file);
    network *net = small_net(2);
    srand(7);
    int r1 = rand();
    srand(7);
    ohem_plan_summary a, b;
    ohem_plan_network(net, 1, NULL, &a);
    assert_int_equal(rand(), r1);
    assert_int_equal(a.layers, 3);
    assert_int_equal(a.cached, 0);
    assert_true(a.measured >= 1);
    ohem_plan_set(OHEM_PLAN_AUTO, file); /* a new process, as far as the plans go */
    ohem_plan_network(net, 1, NULL, &b);
    assert_int_equal(b.cached, 3);
    assert_int_equal(b.measured, 0);
    assert_memory_equal(a.count, b.count, sizeof(a.count));
    assert_int_equal(a.rules, b.rules);
    /* measure: planned again, the cache's entries replaced, not added to */
    ohem_plan_set(OHEM_PLAN_MEASURE, file);
    ohem_plan_network(net, 1, NULL, &b);
    assert_int_equal(b.cached, 0);
    ohem_plan_entry *out;
    int n;
    char why[512];
    assert_int_equal(ohem_plan_cache_read(file, &out, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 3);
    free(out);
    /* training steps on the plan: two networks from the same seed give the same bits */
    float *o1 = forward_copy(net);
    network *net2 = small_net(2);
    float *o2 = forward_copy(net2);
    assert_memory_equal(o1, o2, (long)net->outputs * net->batch * sizeof(float));
    free(o1), free(o2);
    free_network(net);
    free_network(net2);
    ohem_plan_set(OHEM_PLAN_OFF, NULL);
}

/* A network whose planning takes a good part of a second, its first shape alone
 * well past OHEM_PLAN_BUSY_MIN of the others' CPU time beside two spinners (each
 * path of its 3 x 3 layers forward and backward at 192 x 192, 32 and 64 channels). */
static network *busy_net(void)
{
    write_text("tests/tmp/plan-busy.cfg",
               "[net]\nbatch=1\nsubdivisions=1\nwidth=192\nheight=192\nchannels=32\n\n"
               "[convolutional]\nbatch_normalize=1\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
               "[convolutional]\nbatch_normalize=1\nfilters=64\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
               "[convolutional]\nfilters=8\nsize=1\nstride=1\npad=1\nactivation=linear\n");
    srand(3);
    return parse_network_cfg("tests/tmp/plan-busy.cfg");
}

/* Two processes spinning (one per core here), killed by stop_spinners; each ends
 * itself after 60 s whatever happens. */
static void start_spinners(pid_t *pid)
{
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            alarm(60);
            volatile unsigned long x = 0;
            for (;;) x++;
        }
    }
    usleep(100000);
}

static void stop_spinners(const pid_t *pid)
{
    for (int i = 0; i < 2; i++) {
        kill(pid[i], SIGKILL);
        waitpid(pid[i], NULL, 0);
    }
}

/* Measured beside two spinning processes: every shape takes the fixed rules, the
 * summary counts them as busy with the other processes' cores, and the cache keeps
 * them as the rules with their measured costs (the next run takes the same; measure
 * plans them again). With the limit off, the same load leaves the measured paths. */
static void test_busy_machine_rules(void **state)
{
    (void)state;
    const char *file = "tests/tmp/plan-busy.tsv";
    unlink(file);
    network *net = busy_net();
    pid_t pid[2];
    start_spinners(pid);
    ohem_plan_set(OHEM_PLAN_AUTO, file);
    ohem_plan_busy_limit(OHEM_PLAN_BUSY);
    ohem_plan_cap(600); /* every shape measured, however slow the machine */
    ohem_plan_summary a, b;
    ohem_plan_network(net, 1, NULL, &a);
    ohem_plan_busy_limit(-1);
    ohem_plan_set(OHEM_PLAN_MEASURE, "tests/tmp/plan-busy-off.tsv");
    ohem_plan_network(net, 1, NULL, &b);
    stop_spinners(pid);
    ohem_plan_busy_limit(OHEM_PLAN_BUSY);
    ohem_plan_cap(OHEM_PLAN_CAP);
    if (a.busy != a.measured) fail_msg("busy %d of %d measured, others %.2f cores", a.busy, a.measured, a.others);
    assert_true(a.measured == 3 && a.rules == 3 && a.others > OHEM_PLAN_BUSY);
    assert_int_equal(b.busy, 0);
    assert_int_equal(b.rules, 0);
    ohem_plan_entry *out;
    int n;
    char why[512];
    assert_int_equal(ohem_plan_cache_read(file, &out, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 3);
    for (int i = 0; i < n; i++) {
        assert_int_equal(out[i].path, OHEM_PATH_RULES);
        assert_true(out[i].cost[OHEM_PATH_OPENBLAS] > 0);
    }
    free(out);
    ohem_plan_set(OHEM_PLAN_AUTO, file); /* the next run: the rules, from the cache */
    ohem_plan_network(net, 1, NULL, &b);
    assert_int_equal(b.cached, 3);
    assert_int_equal(b.rules, 3);
    assert_int_equal(b.busy, 0);
    free_network(net);
    ohem_plan_set(OHEM_PLAN_OFF, NULL);
}

/* OHEM_ISA=avx2: no AVX-512 in what the CPU says; OpenBLAS's best core an AVX2 one. */
static void test_isa_limit(void **state)
{
    (void)state;
    ohem_cpu full, lim;
    ohem_cpu_detect(&full);
    ohem_cpu_limit_avx2(1);
    ohem_cpu_detect(&lim);
    ohem_cpu_limit_avx2(0);
    assert_int_equal(lim.avx512, 0);
    assert_int_equal(lim.avx512_bf16, 0);
    assert_int_equal(lim.avx2, full.avx2);
    assert_int_equal(lim.fma, full.fma);
    const char *best = ohem_core_best(&lim);
    assert_true(!best || ohem_core_level(best) <= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choose),          cmocka_unit_test(test_cache_roundtrip),
        cmocka_unit_test(test_cache_corrupt),   cmocka_unit_test(test_corrupt_cache_ignored),
        cmocka_unit_test(test_cached_plan_followed), cmocka_unit_test(test_measured_plan_kept),
        cmocka_unit_test(test_busy_machine_rules),
        cmocka_unit_test(test_isa_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
