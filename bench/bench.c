/* bench.c: `make bench`. Measures, side by side in one run, medians of repeated runs:
 *  1. a training step of Debian's yolov3-tiny (416x416, batch 2, 9 classes) with
 *     libdarknet's own gemm and with the OpenBLAS routing;
 *  2. the same step with and without [ohem] (per_image 64, nms 0.7);
 *  3. ohem_select per image for yolov3-tiny/yolov3 candidate counts;
 *  4. peak memory of training with and without [ohem] (a child process each);
 *  0. the planner: the time it takes on yolov3-tiny and fashion.cfg, and the paths
 *     it chose per layer kind;
 *  5. the PyTorch anchor: the same network rebuilt in PyTorch (bench/torch_step.py)
 *     and its training step, interleaved with ours (our kernels, the fixed rules,
 *     and libdarknet's loops) for Debian's yolov3-tiny 416 batch 2 and
 *     cfg/fashion.cfg; 5a: the same under OHEM_ISA=avx2 (a child, -torch-small);
 *  6. the GFLOP/s of a training step against the machine's peak.
 * Prints a table and writes it to the file given with -o.
 *   bench/bench [-quick] [-select | -torch | -torch-small | -plan] [-o FILE]
 *   bench/bench -peak CFG    3 training steps of CFG, then "peak_kb N" (row 4's child)
 *   bench/bench -steps N     N training steps of yolov3-tiny only (for perf record);
 *                            -cfg FILE: of that cfg instead */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "darknet.h"
#include "ohem.h"
#include "coretype.h"
#include "kernels.h"
#include "parser.h"
#include "gemm.h"
#include "im2col.h"
#include "plan.h"
#include "sgemm.h"
#include "bench_util.h"

char *openblas_get_corename(void);
int openblas_get_num_threads(void);

float train_network_datum(network *net);



/* xorshift, seeded. */
static uint64_t rs = 88172645463325252ull;
static double urand(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (rs >> 11) * (1.0 / 9007199254740992.0);
}

/* Writes yolov3-tiny at size, batch 2, 9 classes, with or without [ohem]. */
/* Debian's cfg NAME rewritten into bench/tmp-NAME-SIZE-OHEM.cfg: batch BATCH,
 * subdivisions 1, SIZE x SIZE; with nine, 9 classes (filters 42 before each [yolo]);
 * with ohem, an [ohem] section at the end. */
static const char *debian_cfg(const char *name, int batch, int size, int nine, int ohem)
{
    static char path[128];
    char from[128];
    snprintf(from, sizeof(from), "/usr/share/darknet/cfg/%s.cfg", name);
    snprintf(path, sizeof(path), "bench/tmp-%s-%d-%d.cfg", name, size, ohem);
    FILE *in = fopen(from, "r"), *o = fopen(path, "w");
    if (!in || !o) {
        fprintf(stderr, "bench: cannot read %s or write %s\n", from, path);
        exit(1);
    }
    char line[1024];
    while (fgets(line, sizeof(line), in)) {
        if (!strncmp(line, "batch=", 6)) fprintf(o, "batch=%d\n", batch);
        else if (!strncmp(line, "subdivisions=", 13)) fputs("subdivisions=1\n", o);
        else if (!strncmp(line, "width=", 6)) fprintf(o, "width=%d\n", size);
        else if (!strncmp(line, "height=", 7)) fprintf(o, "height=%d\n", size);
        else if (nine && !strncmp(line, "classes=", 8)) fputs("classes=9\n", o);
        else if (nine && !strncmp(line, "filters=255", 11)) fputs("filters=42\n", o);
        else fputs(line, o);
    }
    if (ohem) fputs("\n[ohem]\nper_image=64\nnms=0.7\nstats=0\n", o);
    fclose(in);
    fclose(o);
    return path;
}

/* Debian's yolov3-tiny at SIZE, batch 2, 9 classes, with or without [ohem]. */
static const char *tiny_cfg(int size, int ohem)
{
    return debian_cfg("yolov3-tiny", 2, size, 1, ohem);
}

/* A network ready to train on random input with three boxes per image. */
static network *step_net(const char *cfg)
{
    srand(1);
    int saved = dup(2), null = open("/dev/null", 1);
    dup2(null, 2);
    network *net = parse_network_cfg((char *)cfg);
    dup2(saved, 2);
    close(null);
    close(saved);
    net->train = 1;
    for (int i = 0; i < net->inputs * net->batch; i++) net->input[i] = (float)urand();
    for (int b = 0; b < net->batch; b++)
        for (int t = 0; t < 3; t++) {
            float *tr = net->truth + b * net->truths + 5 * t;
            tr[0] = 0.2f + 0.6f * urand(), tr[1] = 0.2f + 0.6f * urand();
            tr[2] = 0.1f + 0.3f * urand(), tr[3] = 0.1f + 0.3f * urand();
            tr[4] = (float)(t % 9);
        }
    return net;
}

/* One forward, backward and update; libdarknet's per-layer prints go nowhere. */
static double last_cpu; /* CPU seconds of the last step_seconds */

static double step_seconds(network *net)
{
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", 1);
    dup2(null, 1);
    double t0 = now(), c0 = cpu_now();
    train_network_datum(net);
    double t = now() - t0;
    last_cpu = cpu_now() - c0;
    fflush(stdout);
    dup2(saved, 1);
    close(null);
    close(saved);
    return t;
}

static void bench_gemm(int reps_darknet, int reps)
{
    network *net = step_net(tiny_cfg(416, 0));
    double d[64], o[64], b[64], s[64];
    int ours = ohem_gemm_is_ours();
    ohem_gemm_select("auto");
    step_seconds(net);
    for (int r = 0; r < reps; r++) {
        o[r] = step_seconds(net);
        if (!ours) continue;
        ohem_gemm_select("openblas");
        b[r] = step_seconds(net);
        ohem_gemm_select("auto");
    }
    ohem_gemm_select("darknet");
    step_seconds(net);
    for (int r = 0; r < reps_darknet; r++) d[r] = step_seconds(net);
    ohem_im2col_select("darknet");
    ohem_kernels_select("darknet");
    for (int r = 0; r < reps_darknet; r++) s[r] = step_seconds(net);
    ohem_kernels_select("plugin");
    ohem_im2col_select("plugin");
    ohem_gemm_select("auto");
    double md = median(d, reps_darknet), mo = median(o, reps), ms = median(s, reps_darknet);
    out("| 1 | training step, yolov3-tiny 416x416, batch 2, 9 classes: libdarknet's gemm | %.3f s (median of %d) |\n", md, reps_darknet);
    out("| 1 | same step, gemm: %s | %.3f s (median of %d) |\n", ohem_gemm_name(), mo, reps);
    if (ours) {
        double mb = median(b, reps);
        out("| 1 | same step, OpenBLAS gemm (OHEM_GEMM=openblas; interleaved with the row above) | %.3f s: ours is %.2fx faster |\n",
            mb, mb / mo);
    }
    out("| 1 | speed-up of the gemm routing over libdarknet's gemm | **%.2fx** (target >= 3.5x) |\n", md / mo);
    out("| 1 | libdarknet as shipped (its gemm, its per-pixel im2col, its loops) | %.3f s (median of %d): the plugin is %.2fx faster |\n", ms, reps_darknet, ms / mo);
    free_network(net);
}

static void bench_ohem_overhead(int reps)
{
    network *plain = step_net(tiny_cfg(416, 0)), *mined = step_net(tiny_cfg(416, 1));
    double a[128], b[128], q[128];
    step_seconds(plain);
    step_seconds(mined);
    /* pairs of steps, the order alternating (a step that follows the other network's
     * finds the caches in another state); the ratio of each pair, so that the
     * machine's slow drifts cancel, and its median */
    for (int r = 0; r < reps; r++) {
        if (r % 2) b[r] = step_seconds(mined), a[r] = step_seconds(plain);
        else a[r] = step_seconds(plain), b[r] = step_seconds(mined);
        q[r] = b[r] / a[r];
    }
    double ma = median(a, reps), mb = median(b, reps), mq = median(q, reps);
    out("| 2 | training step without [ohem] | %.4f s (median of %d, interleaved) |\n", ma, reps);
    out("| 2 | training step with [ohem] per_image=64 nms=0.7 | %.4f s |\n", mb);
    out("| 2 | ratio (median of the %d pairs' ratios, each pair's order alternating) | **%.4f** (target <= 1.01; of the medians: %.4f) |\n",
        reps, mq, mb / ma);
    free_network(plain);
    free_network(mined);
}

/* Candidates of a YOLO head: boxes on the grid, anchor-sized, losses mostly small
 * with a heavy tail, as a trained detector's are. */
static void make_candidates(int n, float *loss, box *boxes)
{
    for (int i = 0; i < n; i++) {
        double u = urand();
        loss[i] = (float)(u < 0.97 ? 0.01 * urand() : 1 + 10 * urand());
        int grid = n > 5000 ? 52 : 26;
        int cell = i % (grid * grid);
        boxes[i].x = (float)((cell % grid + urand()) / grid);
        boxes[i].y = (float)((cell / grid + urand()) / grid);
        boxes[i].w = (float)(0.02 + 0.3 * urand());
        boxes[i].h = (float)(0.02 + 0.3 * urand());
    }
}

static void bench_select(void)
{
    static const int ns[] = {2535, 10647, 22743};
    static const char *const what[] = {"yolov3-tiny 416", "yolov3 416", "yolov3 608"};
    static const int keeps[] = {64, 128, 256};
    enum { IMAGES = 64 };
    for (int q = 0; q < 3; q++) {
        int n = ns[q];
        float *loss = malloc((size_t)IMAGES * n * sizeof(float));
        box *boxes = malloc((size_t)IMAGES * n * sizeof(box));
        int *keep = malloc(n * sizeof(int));
        for (int im = 0; im < IMAGES; im++) make_candidates(n, loss + (size_t)im * n, boxes + (size_t)im * n);
        ohem_scratch s;
        ohem_scratch_init(&s, n);
        /* the floor: read the same losses and boxes once */
        double fl[15];
        volatile float sink = 0;
        for (int r = 0; r < 15; r++) {
            double t0 = now();
            for (int im = 0; im < IMAGES; im++) {
                float acc = 0;
                const float *l = loss + (size_t)im * n;
                const box *b = boxes + (size_t)im * n;
                for (int i = 0; i < n; i++) acc += l[i] + b[i].x + b[i].y + b[i].w + b[i].h;
                sink += acc;
            }
            fl[r] = (now() - t0) / IMAGES;
        }
        double floor_us = median(fl, 15) * 1e6;
        for (int k = 0; k < 3; k++)
            for (int nms_on = 1; nms_on >= 0; nms_on--) {
                double t[15];
                for (int r = 0; r < 15; r++) {
                    double t0 = now();
                    for (int im = 0; im < IMAGES; im++)
                        ohem_walk(&s, loss + (size_t)im * n, boxes + (size_t)im * n, NULL, n,
                                  nms_on ? 0.7f : 1.0f, 0, keeps[k], keep);
                    t[r] = (now() - t0) / IMAGES;
                }
                double us = median(t, 15) * 1e6;
                out("| 3 | ohem_select, n=%d (%s), max_keep %d, NMS %s | %.1f us/image, %.2f ns/candidate (floor %.1f us)%s |\n",
                    n, what[q], keeps[k], nms_on ? "0.7" : "off", us, us * 1000 / n, floor_us,
                    n == 22743 && keeps[k] == 128 && nms_on ? " (target <= 200 us)" : "");
            }
        ohem_scratch_free(&s);
        free(loss);
        free(boxes);
        free(keep);
    }
}

/* bench/torch_step.py as a child (bench_util.h), with the PyTorch version it named. */
typedef struct {
    bench_child c;
    char version[32];
} torch_child;

/* glibc's malloc told to keep the memory it frees (no mmap per large tensor, no
 * trim): PyTorch then stops taking page faults on every step's large tensors */
static const char *const malloc_keep[][2] = {
    {"MALLOC_MMAP_THRESHOLD_", "1000000000"}, {"MALLOC_TRIM_THRESHOLD_", "100000000000"}, {"MALLOC_TOP_PAD_", "1000000000"}};

/* keep: with malloc_keep in its environment */
static int torch_start(torch_child *t, const char *cfg, int batch, int w, int h, int threads, int keep)
{
    char b[16], ws[16], hs[16], th[16], line[128];
    snprintf(b, sizeof(b), "%d", batch);
    snprintf(ws, sizeof(ws), "%d", w);
    snprintf(hs, sizeof(hs), "%d", h);
    snprintf(th, sizeof(th), "%d", threads);
    const char *args[] = {"bench/torch_step.py", cfg, b, ws, hs, th, NULL};
    if (bench_child_start(&t->c, args, malloc_keep, keep ? (int)(sizeof(malloc_keep) / sizeof(malloc_keep[0])) : 0,
                          line, sizeof(line)) != 0)
        return -1;
    long params;
    if (sscanf(line, "ready %ld %31s", &params, t->version) != 2) snprintf(t->version, sizeof(t->version), "?");
    return 0;
}

/* Wall-clock seconds of one PyTorch step; its CPU seconds in *cpu. */
static double torch_step(torch_child *t, double *cpu)
{
    return bench_child_ask(&t->c, "step", cpu);
}

static void torch_stop(torch_child *t)
{
    bench_child_stop(&t->c);
}

/* Set when a row could not be measured: the table is still written, and the exit
 * status is 1, so that make bench fails. */
static int not_measured;

/* Our step (our kernels, then libdarknet's loops) and PyTorch's on cfg, interleaved. */
#define SETTLE_US 300000
static void bench_torch_one(const char *what, const char *cfg, int reps)
{
    network *net = step_net(cfg);
    torch_child t, tk;
    int threads = openblas_get_num_threads();
    int started = torch_start(&t, cfg, net->batch, net->w, net->h, threads, 0) == 0;
    if (!started || torch_start(&tk, cfg, net->batch, net->w, net->h, threads, 1) != 0) {
        if (started) torch_stop(&t);
        not_measured = 1;
        out("| 5 | %s: PyTorch | not measured: bench/torch_step.py did not start (python3-torch missing? `scripts/install-deps.sh bench`) |\n", what);
        free_network(net);
        return;
    }
    double o[64], d[64], p[64], pk[64], q[64], b[64], wg[64], oc[64], dc[64], pc[64], pkc[64], ru[64], rq[64];
    int ours = ohem_gemm_is_ours();
    const char *gemm = ohem_gemm_name();
    for (int r = 0; r < 2; r++) torch_step(&t, pc), torch_step(&tk, pkc), step_seconds(net); /* warm-up */
    /* Between steps, a pause: idle OpenBLAS threads keep spinning for a while after
     * a gemm (and OpenMP's after a PyTorch step), which would slow the other side. */
    for (int r = 0; r < reps; r++) {
        usleep(SETTLE_US);
        p[r] = torch_step(&t, &pc[r]);
        usleep(SETTLE_US);
        pk[r] = torch_step(&tk, &pkc[r]);
        usleep(SETTLE_US);
        o[r] = step_seconds(net);
        oc[r] = last_cpu;
        ohem_plan_suspend(1); /* the fixed rules (OHEM_PLAN=off), next to the plan's step */
        usleep(SETTLE_US);
        ru[r] = step_seconds(net);
        rq[r] = ru[r] / o[r];
        ohem_plan_suspend(0);
        ohem_kernels_select("darknet");
        usleep(SETTLE_US);
        d[r] = step_seconds(net);
        dc[r] = last_cpu;
        ohem_kernels_select("plugin");
        ohem_kernels_threads(1);
        usleep(SETTLE_US);
        q[r] = step_seconds(net);
        ohem_kernels_threads(threads);
        if (ours) {
            ohem_gemm_select("openblas");
            usleep(SETTLE_US);
            b[r] = step_seconds(net);
            ohem_gemm_select("auto");
            ohem_kernels_winograd(0);
            usleep(SETTLE_US);
            wg[r] = step_seconds(net);
            ohem_kernels_winograd(1);
        }
    }
    torch_stop(&t);
    torch_stop(&tk);
    double mo = median(o, reps), md = median(d, reps), mp = median(p, reps), mq = median(q, reps);
    double mpk = median(pk, reps);
    /* median() sorted them: [0] is each side's fastest step */
    out("| 5 | %s, batch %d, %d threads: PyTorch %s (forward, backward, SGD step) | %.3f s (median of %d, interleaved; fastest %.3f s) |\n",
        what, net->batch, threads, t.version, mp, reps, p[0]);
    out("| 5 | same, ours (gemm: %s; our loops) | %.3f s: **%.2fx** PyTorch's (target <= 0.8x); fastest against fastest %.3f s: %.2fx |\n",
        gemm, mo, mo / mp, o[0], o[0] / p[0]);
    if (ohem_plan_active()) {
        double mr = median(ru, reps), mrq = median(rq, reps);
        out("| 5 | same, ours on the fixed rules (OHEM_PLAN=off; interleaved with the planned step) | %.3f s: the plan's step is %.2fx faster (median of the pairs' ratios) |\n",
            mr, mrq);
    }
    out("| 5 | same, PyTorch with glibc's malloc keeping what it frees (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_ set: no page faults on each step's tensors) | %.3f s (median; fastest %.3f s): ours %.2fx of it |\n",
        mpk, pk[0], mo / mpk);
    if (ours) {
        double mb = median(b, reps);
        out("| 5 | same, ours with OpenBLAS's gemm (OHEM_GEMM=openblas) | %.3f s: %.2fx PyTorch's; our gemm gains %.2fx |\n", mb,
            mb / mp, mb / mo);
        double mw = median(wg, reps);
        out("| 5 | same, ours without Winograd (OHEM_CONV=gemm: every convolution by im2col and gemm) | %.3f s: %.2fx PyTorch's; Winograd gains %.2fx |\n",
            mw, mw / mp, mw / mo);
    }
    out("| 5 | same, ours with libdarknet's loops (OHEM_KERNELS=darknet) | %.3f s: %.2fx PyTorch's; the kernels gain %.2fx |\n",
        md, md / mp, md / mo);
    if (ours)
        out("| 5 | same, ours on one thread (the kernels' pool, and so our gemm) | %.3f s: %.2fx PyTorch's |\n", mq, mq / mp);
    else
        out("| 5 | same, ours with the kernels' pool off (1 thread; OpenBLAS keeps %d) | %.3f s: %.2fx PyTorch's |\n", threads,
            mq, mq / mp);
    /* With one thread, CPU time is the step's own work, whatever else the machine
     * runs; with more, it counts idle threads spinning too. */
    double mpc = median(pc, reps), moc = median(oc, reps), mdc = median(dc, reps);
    if (threads == 1)
        out("| 5 | same, CPU seconds (1 thread: the measure that other load on the machine does not skew) | PyTorch %.3f s, ours %.3f s: **%.2fx**; with libdarknet's loops %.3f s |\n",
            mpc, moc, moc / mpc, mdc);
    free_network(net);
}

/* Debian's yolov3.cfg at 416x416, batch 1 (80 classes, as shipped). */
static const char *yolov3_cfg(void)
{
    return debian_cfg("yolov3", 1, 416, 0, 0);
}

static void bench_torch(int reps, int small)
{
    bench_torch_one("yolov3-tiny 416x416, 9 classes", tiny_cfg(416, 0), reps);
    bench_torch_one("cfg/fashion.cfg 128x128", "cfg/fashion.cfg", reps);
    /* the full network: its steps are long, so fewer of them */
    if (!small) bench_torch_one("yolov3 416x416, 80 classes", yolov3_cfg(), reps / 2 + 1);
}

/* Row 5 again in a child under OHEM_ISA=avx2 (the CPU looks AVX2-only: a Zen 3-like
 * machine), yolov3-tiny and fashion.cfg; its rows labelled 5a. */
static void bench_torch_avx2(int quick)
{
    char exe[4096], cmd[8300];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        not_measured = 1;
        return;
    }
    exe[n] = 0;
    snprintf(cmd, sizeof(cmd), "OHEM_ISA=avx2 '%s' -torch-small%s", exe, quick ? " -quick" : "");
    FILE *p = popen(cmd, "r");
    char line[2048];
    int rows = 0;
    while (p && fgets(line, sizeof(line), p)) {
        if (!strncmp(line, "| 5 |", 5)) out("| 5a (OHEM_ISA=avx2) |%s", line + 5), rows++;
        else if (!strncmp(line, "| 0 |", 5)) out("| 0a (OHEM_ISA=avx2) |%s", line + 5);
        else if (!strncmp(line, "| 6 |", 5)) out("| 6a (OHEM_ISA=avx2) |%s", line + 5);
    }
    if (!p || pclose(p) != 0 || !rows) {
        not_measured = 1;
        out("| 5a | OHEM_ISA=avx2 rows | not measured: `%s` failed |\n", cmd);
    }
}

/* The layer kinds of net and the paths planned for them: "3x3/1: ours 2, winograd 3;
 * 1x1/1: ours 3" into buf. */
static void plan_kinds(network *net, int train, char *buf, size_t cap)
{
    int kinds[16][2], count[16][OHEM_PATHS + 1], nk = 0;
    memset(count, 0, sizeof(count));
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL) continue;
        int k = 0;
        while (k < nk && !(kinds[k][0] == l->size && kinds[k][1] == l->stride)) k++;
        if (k == nk && nk < 16) kinds[nk][0] = l->size, kinds[nk][1] = l->stride, nk++;
        if (k == 16) continue;
        int path = ohem_plan_layer_path(l, train);
        count[k][path + 1]++;
    }
    buf[0] = 0;
    for (int k = 0; k < nk; k++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%dx%d/%d:", k ? "; " : "", kinds[k][0], kinds[k][0], kinds[k][1]);
        for (int p = -1; p < OHEM_PATHS; p++)
            if (count[k][p + 1]) {
                len = strlen(buf);
                snprintf(buf + len, cap - len, " %s %d", p < 0 ? "fixed rules" : ohem_plan_path_name(p), count[k][p + 1]);
            }
    }
}

/* Row 0: the plan of a training step of cfg, measured afresh (OHEM_PLAN=measure):
 * the time it took and the paths per layer kind. */
static void bench_plan_one(const char *what, const char *cfg)
{
    network *net = step_net(cfg);
    ohem_plan_summary s;
    double t0 = now(), c0 = cpu_now();
    ohem_plan_network(net, 1, NULL, &s);
    double wall = now() - t0, cpu = cpu_now() - c0;
    char kinds[512];
    plan_kinds(net, 1, kinds, sizeof(kinds));
    if (!ohem_plan_active())
        out("| 0 | plan, %s | planning off (OHEM_PLAN=off or a path forced): the fixed rules |\n", what);
    else {
        char why[160] = "";
        if (s.busy)
            snprintf(why, sizeof(why), " (%d shapes to the rules: other processes used %.1f cores)", s.busy, s.others);
        else if (s.rules)
            snprintf(why, sizeof(why), " (time cap reached)");
        out("| 0 | plan, %s, training: %d layers, %d shapes measured | %.2f s wall, %.2f CPU s%s; %s |\n", what, s.layers,
            s.measured, wall, cpu, why, kinds);
    }
    free_network(net);
}

static void bench_plan(void)
{
    /* every shape planned, the time cap lifted (the rows after compare the plan
     * with the fixed rules); OHEM_PLAN_SECONDS still sets the cap, and shapes
     * measured on a busy machine still take the rules */
    if (!getenv("OHEM_PLAN_SECONDS")) ohem_plan_cap(600);
    if (ohem_plan_active()) {
        char file[4096];
        snprintf(file, sizeof(file), "%s", ohem_plan_cache_file());
        ohem_plan_set(OHEM_PLAN_MEASURE, file[0] ? file : NULL);
    }
    bench_plan_one("yolov3-tiny 416x416 batch 2", tiny_cfg(416, 0));
    bench_plan_one("cfg/fashion.cfg batch 32", "cfg/fashion.cfg");
}

/* Multiply-adds x 2 of a training step of net: each convolution's forward, weight
 * gradient and (past the first layer) input delta, counted as im2col and gemm do
 * (Winograd does fewer: the rate is of the direct convolution's work). */
static double step_flops(network *net)
{
    double f = 0;
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED) continue;
        double fwd = 2.0 * l->batch * l->outputs * (l->type == CONNECTED ? l->inputs : (double)l->size * l->size * l->c / l->groups);
        f += fwd * (i ? 3 : 2);
    }
    return f;
}

/* Row 6: the rate a training step reaches against the machine's peak (threads x 2
 * FMA units x SIMD lanes x 2 x clock). */
static void bench_peak(int reps)
{
    ohem_cpu c;
    ohem_cpu_detect(&c);
    int lanes = c.avx512 ? 16 : c.avx2 || c.avx ? 8 : 4, threads = openblas_get_num_threads();
    double ghz = chain_ghz(), info = cpuinfo_ghz();
    double peak = peak_gflops(lanes, threads, ghz);
    out("| 6 | peak: %d threads x 2 FMA units x %d lanes (%s) x 2 x %.2f GHz (measured: a chain of dependent FMAs, 4 cycles each; /proc/cpuinfo says %.2f GHz) | %.0f GFLOP/s |\n",
        threads, lanes, c.avx512 ? "AVX-512" : "AVX2", ghz, info, peak);
    static const char *const what[] = {"yolov3-tiny 416x416 batch 2", "cfg/fashion.cfg batch 32"};
    for (int k = 0; k < 2; k++) {
        network *net = step_net(k ? "cfg/fashion.cfg" : tiny_cfg(416, 0));
        double t[64];
        step_seconds(net);
        for (int r = 0; r < reps; r++) t[r] = step_seconds(net);
        double m = median(t, reps), fl = step_flops(net);
        out("| 6 | training step, %s: %.1f GFLOP of convolutions and connections | %.3f s (median of %d): %.0f GFLOP/s, **%.0f%%** of peak |\n",
            what[k], fl * 1e-9, m, reps, fl / m * 1e-9, 100 * fl / m * 1e-9 / peak);
        free_network(net);
    }
}

/* This process's peak resident memory (VmHWM of /proc/self/status), in kB; -1
 * when unknown. */
static long self_peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

/* Peak resident memory of a fresh process (this program run again with -peak)
 * that builds the network and trains 3 steps. A forked child would count the
 * pages it shares with this process, whose memory grows with the rows before. */
static long peak_kb(const char *cfg)
{
    char exe[4096], cmd[8192];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) return -1;
    exe[n] = 0;
    snprintf(cmd, sizeof(cmd), "'%s' -peak '%s'", exe, cfg);
    FILE *p = popen(cmd, "r");
    char line[512];
    long kb = -1;
    while (p && fgets(line, sizeof(line), p)) /* the layers' own lines come first */
        if (sscanf(line, "peak_kb %ld", &kb) == 1) break;
    if (p) pclose(p);
    return kb;
}

int main(int argc, char **argv)
{
    int quick = 0, select_only = 0, torch_only = 0, torch_small = 0, plan_only = 0, steps = 0, pause_ms = 0;
    const char *steps_cfg = NULL, *peak_cfg = NULL;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-quick")) quick = 1;
        else if (!strcmp(argv[i], "-select")) select_only = 1;
        else if (!strcmp(argv[i], "-torch")) torch_only = 1;
        else if (!strcmp(argv[i], "-torch-small")) torch_only = torch_small = 1;
        else if (!strcmp(argv[i], "-plan")) plan_only = 1;
        else if (!strcmp(argv[i], "-o") && i + 1 < argc) file = argv[++i];
        else if (!strcmp(argv[i], "-steps") && i + 1 < argc && (steps = atoi(argv[++i])) > 0) continue;
        else if (!strcmp(argv[i], "-cfg") && i + 1 < argc) steps_cfg = argv[++i];
        else if (!strcmp(argv[i], "-pause") && i + 1 < argc && (pause_ms = atoi(argv[++i])) >= 0) continue;
        else if (!strcmp(argv[i], "-peak") && i + 1 < argc) peak_cfg = argv[++i];
        else {
            fprintf(stderr, "usage: bench/bench [-quick] [-select | -torch | -torch-small | -plan | -steps N [-cfg FILE] [-pause MS] | -peak CFG] [-o FILE]\n");
            return 2;
        }
    }
    if (file && !(report = fopen(file, "w"))) {
        fprintf(stderr, "bench: cannot write %s\n", file);
        return 1;
    }
    if (peak_cfg) { /* row 4's child: 3 steps of that cfg, then the peak memory in kB on stdout */
        network *net = step_net(peak_cfg);
        for (int i = 0; i < 3; i++) step_seconds(net);
        printf("peak_kb %ld\n", self_peak_kb());
        return 0;
    }
    if (steps) { /* for a profiler: N training steps of yolov3-tiny 416 batch 2, nothing else */
        network *net = step_net(steps_cfg ? steps_cfg : tiny_cfg(416, 0));
        double w[1024], c[1024];
        if (steps > 1024) steps = 1024;
        for (int i = 0; i < steps; i++) {
            if (pause_ms) usleep(pause_ms * 1000); /* an idle machine between steps, as -torch's */
            w[i] = step_seconds(net), c[i] = last_cpu;
        }
        fprintf(stderr, "bench: %d steps: median %.4f s wall, %.4f CPU s\n", steps, median(w, steps), median(c, steps));
        free_network(net);
        return 0;
    }
    struct utsname u;
    uname(&u);
    char cpu[256] = "?";
    cpu_model(cpu, sizeof(cpu));
    ohem_cpu feats;
    ohem_cpu_detect(&feats);
    out("Machine: %s, %ld cores online, %s %s; ISA: %s%s%s%s; gemm: %s; OpenBLAS core %s, %d threads (OHEM_THREADS %s); convolution paths: %s\n\n",
        cpu, sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, feats.avx512 ? "AVX-512, " : "",
        feats.avx2 ? "AVX2, " : "", feats.fma ? "FMA" : "no FMA", ohem_cpu_limited() ? " (OHEM_ISA=avx2: AVX-512 hidden)" : "",
        ohem_gemm_name(), openblas_get_corename(), openblas_get_num_threads(),
        getenv("OHEM_THREADS") ? getenv("OHEM_THREADS") : "unset: the cores",
        ohem_plan_active() ? "planned per layer (OHEM_PLAN; row 0)" : "the fixed rules (OHEM_PLAN=off, or OHEM_GEMM/OHEM_CONV forcing one)");
    const char *better = ohem_core_upgrade(&feats, openblas_get_corename());
    if (better)
        out("Note: this CPU supports OpenBLAS's %s kernels; %s runs because OPENBLAS_CORETYPE=%s is set (`OHEM_OPENBLAS_CORE=best make bench` measures with %s).\n\n",
            better, openblas_get_corename(), getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "?", better);
    out("| # | measurement | result |\n|---|---|---|\n");
    if (plan_only) {
        bench_plan();
        if (report) fclose(report);
        return 0;
    }
    if (torch_only) {
        if (torch_small) bench_plan();
        bench_torch(quick ? 3 : 9, torch_small);
        if (torch_small) bench_peak(quick ? 3 : 9);
        if (report) fclose(report);
        return not_measured;
    }
    bench_select();
    if (select_only) {
        if (report) fclose(report);
        return 0;
    }
    bench_plan();
    bench_gemm(quick ? 1 : 3, quick ? 3 : 9);
    bench_ohem_overhead(quick ? 5 : 25);
    bench_torch(quick ? 3 : 9, 0);
    bench_peak(quick ? 3 : 9);
    bench_torch_avx2(quick);
    long a = peak_kb(tiny_cfg(416, 0)), b = peak_kb(tiny_cfg(416, 1));
    if (a < 0 || b < 0) {
        not_measured = 1;
        out("| 4 | peak memory, training yolov3-tiny 416 batch 2 | not measured: the child run (`bench/bench -peak CFG`) gave no peak |\n");
    } else {
        out("| 4 | peak memory, training yolov3-tiny 416 batch 2, without [ohem] | %.1f MiB (a process of its own) |\n",
            a / 1024.0);
        out("| 4 | peak memory, with [ohem] | %.1f MiB (+%.2f MiB) |\n", b / 1024.0, (b - a) / 1024.0);
    }
    if (report && fclose(report) != 0) not_measured = 1;
    if (not_measured) fprintf(stderr, "bench: a row was not measured (see the table)\n");
    return not_measured;
}
