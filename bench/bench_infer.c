/* bench_infer.c: part of `make bench`. Inference against OpenCV's DNN (python3-opencv,
 * cv2.dnn.readNetFromDarknet, the same number of threads as ours): the same cfg and
 * the same seeded random weights (written by our network), one forward per request,
 * ours (network_predict) and OpenCV's interleaved, medians per image. Networks:
 * Debian's yolov3-tiny and yolov3 at 416, and yolov4-tiny at 416 (written here from
 * its architecture: [route] groups, [yolo] scale_x_y), at batch 1 and, for the tiny
 * ones, batch 4; and cfg/fashion-frcnn.cfg, which OpenCV cannot run, against our own
 * forward with the inference path off. Also ours with the inference path off (OHEM_INFER=off: the training
 * forward's passes) and with libdarknet's loops, to show what each gains; and each
 * side's CPU seconds (its process's, all threads): with one thread (OHEM_THREADS=1)
 * the figure that other load on the machine skews least.
 *   bench/bench_infer [-quick] [-only NAME] [-a FILE]
 *   bench/bench_infer -forwards N NAME [BATCH]   N forwards of NAME alone (for a profiler);
 *                                                NAME a .cfg file: that cfg at its batch
 * Exit status 1 when a row could not be measured (python3-opencv missing). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "darknet.h"
#include "gemm.h"
#include "kernels.h"
#include "bench_util.h"

char *openblas_get_corename(void);
int openblas_get_num_threads(void);


static uint64_t state = 1;
static float urand(void) /* [0, 1), xorshift64* */
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (float)((state * 2685821657736338717ull) >> 40) / (float)(1 << 24);
}

static void die(const char *what, const char *path)
{
    fprintf(stderr, "bench_infer: cannot %s %s\n", what, path);
    exit(1);
}

/* Debian's cfg NAME rewritten into bench/tmp-infer-NAME-BATCH.cfg: batch BATCH,
 * subdivisions 1, 416 x 416. */
static const char *debian_cfg(const char *name, int batch, char *path, size_t cap)
{
    char from[128], line[1024];
    snprintf(from, sizeof(from), "/usr/share/darknet/cfg/%s.cfg", name);
    snprintf(path, cap, "bench/tmp-infer-%s-%d.cfg", name, batch);
    FILE *in = fopen(from, "r"), *o = fopen(path, "w");
    if (!in) die("read", from);
    if (!o) die("write", path);
    while (fgets(line, sizeof(line), in)) {
        if (!strncmp(line, "batch=", 6)) fprintf(o, "batch=%d\n", batch);
        else if (!strncmp(line, "subdivisions=", 13)) fprintf(o, "subdivisions=1\n");
        else if (!strncmp(line, "width=", 6)) fprintf(o, "width=416\n");
        else if (!strncmp(line, "height=", 7)) fprintf(o, "height=416\n");
        else fputs(line, o);
    }
    fclose(in);
    if (fclose(o) != 0) die("write", path);
    return path;
}

static void conv(FILE *o, int filters, int size, int stride, int bn, const char *act)
{
    fprintf(o, "[convolutional]\n%sfilters=%d\nsize=%d\nstride=%d\npad=1\nactivation=%s\n\n",
            bn ? "batch_normalize=1\n" : "", filters, size, stride, act);
}

static void yolo(FILE *o, const char *mask)
{
    fprintf(o, "[yolo]\nmask=%s\nanchors=10,14, 23,27, 37,58, 81,82, 135,169, 344,319\nclasses=80\nnum=6\n"
               "jitter=.3\nscale_x_y=1.05\ncls_normalizer=1.0\niou_normalizer=0.07\niou_loss=ciou\n"
               "ignore_thresh=.7\ntruth_thresh=1\nrandom=0\nnms_kind=greedynms\nbeta_nms=0.6\n\n", mask);
}

/* yolov4-tiny (AlexeyAB's, 80 classes) at 416, batch BATCH, into
 * bench/tmp-infer-yolov4-tiny-BATCH.cfg: two stride-2 convolutions, three CSP blocks
 * (a 3 x 3 convolution; the second half of its channels through two 3 x 3 ones,
 * those two joined and a 1 x 1 one; joined with the block's input; a 2 x 2 max pool),
 * then two [yolo] heads, 13 x 13 and 26 x 26. */
static const char *v4tiny_cfg(int batch, char *path, size_t cap)
{
    snprintf(path, cap, "bench/tmp-infer-yolov4-tiny-%d.cfg", batch);
    FILE *o = fopen(path, "w");
    if (!o) die("write", path);
    fprintf(o, "[net]\nbatch=%d\nsubdivisions=1\nwidth=416\nheight=416\nchannels=3\nmomentum=0.9\ndecay=0.0005\n"
               "learning_rate=0.00261\nburn_in=1000\nmax_batches=2000200\npolicy=steps\nsteps=1600000,1800000\n"
               "scales=.1,.1\n\n", batch);
    conv(o, 32, 3, 2, 1, "leaky");
    conv(o, 64, 3, 2, 1, "leaky");
    for (int b = 0, f = 64; b < 3; b++, f *= 2) {
        conv(o, f, 3, 1, 1, "leaky");
        fprintf(o, "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n\n");
        conv(o, f / 2, 3, 1, 1, "leaky");
        conv(o, f / 2, 3, 1, 1, "leaky");
        fprintf(o, "[route]\nlayers=-1,-2\n\n");
        conv(o, f, 1, 1, 1, "leaky");
        fprintf(o, "[route]\nlayers=-6,-1\n\n[maxpool]\nsize=2\nstride=2\n\n");
    }
    conv(o, 512, 3, 1, 1, "leaky");
    conv(o, 256, 1, 1, 1, "leaky");
    conv(o, 512, 3, 1, 1, "leaky");
    conv(o, 255, 1, 1, 0, "linear");
    yolo(o, "3,4,5");
    fprintf(o, "[route]\nlayers=-4\n\n");
    conv(o, 128, 1, 1, 1, "leaky");
    fprintf(o, "[upsample]\nstride=2\n\n[route]\nlayers=-1,23\n\n");
    conv(o, 256, 3, 1, 1, "leaky");
    conv(o, 255, 1, 1, 0, "linear");
    yolo(o, "1,2,3");
    if (fclose(o) != 0) die("write", path);
    return path;
}

/* cfg built quietly. */
static network *build(const char *cfg)
{
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    network *net = parse_network_cfg((char *)cfg);
    dup2(saved, 2);
    close(null);
    close(saved);
    return net;
}

/* Seeded random parameters for every convolution of net (batch-norm scales, means
 * and variances too, the variances >= 0.5 so that inference does not divide by ~0),
 * saved to path. */
static void random_weights(network *net, const char *path, uint64_t seed)
{
    state = seed * 0x9e3779b97f4a7c15ull + 1;
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL) continue;
        float s = 1.f / sqrtf((float)(l->size * l->size * l->c));
        for (int k = 0; k < l->nweights; k++) l->weights[k] = (2 * urand() - 1) * 2 * s;
        for (int k = 0; k < l->n; k++) l->biases[k] = 0.2f * (2 * urand() - 1);
        if (l->batch_normalize)
            for (int k = 0; k < l->n; k++) {
                l->scales[k] = 0.5f + urand();
                l->rolling_mean[k] = 0.2f * (2 * urand() - 1);
                l->rolling_variance[k] = 0.5f + urand();
            }
    }
    save_weights(net, (char *)path);
}

/* bench/cv_forward.py as a child (bench_util.h), with the OpenCV version it named. */
typedef struct {
    bench_child c;
    char version[32];
} cv_child;

static int cv_start(cv_child *c, const char *cfg, const char *weights, int batch, int threads)
{
    char b[16], t[16], line[128];
    snprintf(b, sizeof(b), "%d", batch);
    snprintf(t, sizeof(t), "%d", threads);
    const char *args[] = {"bench/cv_forward.py", cfg, weights, b, t, NULL};
    if (bench_child_start(&c->c, args, NULL, 0, line, sizeof(line)) != 0) return -1;
    if (sscanf(line, "ready %31s", c->version) != 1) {
        bench_child_stop(&c->c);
        return -1;
    }
    return 0;
}

/* Wall seconds of one OpenCV forward; its CPU seconds in *cpu. */
static double cv_forward(cv_child *c, double *cpu)
{
    return bench_child_ask(&c->c, "forward", cpu);
}

static void cv_stop(cv_child *c)
{
    fputs("quit\n", c->c.to);
    bench_child_stop(&c->c);
}

static double last_cpu; /* CPU seconds of the last our_forward */

/* Wall seconds of one network_predict of net's batch of images (CPU seconds in
 * last_cpu). */
static double our_forward(network *net, float *in)
{
    double t0 = now(), c0 = cpu_now();
    network_predict(net, in);
    last_cpu = cpu_now() - c0;
    return now() - t0;
}

static int not_measured;

#define SETTLE_US 50000

/* One round of ours: the default (wall in *o, CPU in *oc), the inference path off
 * (*f) and libdarknet's loops (*d), each after a pause. */
static void our_round(network *net, float *in, double *o, double *oc, double *f, double *d)
{
    usleep(SETTLE_US);
    *o = our_forward(net, in);
    *oc = last_cpu;
    ohem_kernels_infer(0);
    usleep(SETTLE_US);
    *f = our_forward(net, in);
    ohem_kernels_infer(1);
    ohem_kernels_select("darknet");
    usleep(SETTLE_US);
    *d = our_forward(net, in);
    ohem_kernels_select("plugin");
}

#define MAXREPS 64

/* One network at one batch: OpenCV's forward and ours (the default; the inference
 * path off; libdarknet's loops), interleaved, reps rounds after a warm-up. */
static void bench_one(const char *what, const char *cfg, int batch, int reps, uint64_t seed)
{
    char weights[256];
    snprintf(weights, sizeof(weights), "%s.weights", cfg);
    network *net = build(cfg);
    random_weights(net, weights, seed);
    int threads = openblas_get_num_threads();
    cv_child cv;
    if (cv_start(&cv, cfg, weights, batch, threads) != 0) {
        not_measured = 1;
        out("| %s, batch %d | not measured: bench/cv_forward.py did not start (python3-opencv missing? `scripts/install-deps.sh bench`) | | | | |\n",
            what, batch);
        free_network(net);
        return;
    }
    float *in = malloc(sizeof(float) * net->inputs * net->batch);
    state = seed + 7;
    for (int k = 0; k < net->inputs * net->batch; k++) in[k] = urand();
    double c[MAXREPS], o[MAXREPS], f[MAXREPS], d[MAXREPS], cc[MAXREPS], oc[MAXREPS];
    if (reps > MAXREPS) reps = MAXREPS;
    for (int r = 0; r < 2; r++) our_forward(net, in); /* warm-up (OpenCV's is in cv_forward.py) */
    for (int r = 0; r < reps; r++) {
        usleep(SETTLE_US);
        c[r] = cv_forward(&cv, &cc[r]);
        our_round(net, in, &o[r], &oc[r], &f[r], &d[r]);
        if (c[r] < 0) {
            not_measured = 1;
            out("| %s, batch %d | not measured: bench/cv_forward.py stopped | | | | |\n", what, batch);
            break;
        }
    }
    cv_stop(&cv);
    if (!not_measured) {
        double mc = median(c, reps) / batch * 1e3, mo = median(o, reps) / batch * 1e3;
        double mf = median(f, reps) / batch * 1e3, md = median(d, reps) / batch * 1e3;
        double mcc = median(cc, reps) / batch * 1e3, moc = median(oc, reps) / batch * 1e3;
        out("| %s, batch %d | %.1f ms (fastest %.1f) | %.1f ms (fastest %.1f) | **%.2fx** | %.0f / %.0f ms: %.2fx | %.1f ms: %.2fx | %.1f ms: %.2fx |\n",
            what, batch, mc, c[0] / batch * 1e3, mo, o[0] / batch * 1e3, mo / mc, mcc, moc, moc / mcc, mf, mf / mc, md,
            md / mc);
    }
    free(in);
    free_network(net);
}

/* A network OpenCV cannot run (our [rpn], [roipool] and [roi_loss] sections): ours
 * against ours with the inference path off and with libdarknet's loops, interleaved,
 * at batch (set on the network built from cfg). */
static void bench_own(const char *what, const char *cfg, int batch, int reps, uint64_t seed)
{
    network *net = build(cfg);
    if (!net) die("build", cfg);
    set_batch_network(net, batch);
    state = seed * 0x9e3779b97f4a7c15ull + 1;
    float *in = malloc(sizeof(float) * net->inputs * net->batch);
    for (int k = 0; k < net->inputs * net->batch; k++) in[k] = urand();
    double o[MAXREPS], f[MAXREPS], d[MAXREPS], oc[MAXREPS];
    if (reps > MAXREPS) reps = MAXREPS;
    for (int r = 0; r < 2; r++) our_forward(net, in);
    for (int r = 0; r < reps; r++) our_round(net, in, &o[r], &oc[r], &f[r], &d[r]);
    double mo = median(o, reps) / batch * 1e3, mf = median(f, reps) / batch * 1e3;
    double md = median(d, reps) / batch * 1e3, moc = median(oc, reps) / batch * 1e3;
    out("| %s, batch %d | %.2f ms (fastest %.2f), CPU %.2f ms | %.2f ms: ours takes **%.2fx** | %.2f ms: %.2fx |\n", what,
        batch, mo, o[0] / batch * 1e3, moc, mf, mo / mf, md, mo / md);
    free(in);
    free_network(net);
}

/* The cfg of network NAME at batch into path; NULL for an unknown name. */
static const char *cfg_of(const char *name, int batch, char *path, size_t cap)
{
    if (!strcmp(name, "yolov4-tiny")) return v4tiny_cfg(batch, path, cap);
    if (!strcmp(name, "yolov3-tiny") || !strcmp(name, "yolov3")) return debian_cfg(name, batch, path, cap);
    size_t n = strlen(name);
    if (n > 4 && !strcmp(name + n - 4, ".cfg")) return name; /* a cfg of its own batch */
    return NULL;
}

/* -forwards: n forwards of one network, nothing else; the median to stderr. */
static int forwards(int n, const char *name, int batch)
{
    char path[256];
    const char *cfg = cfg_of(name, batch, path, sizeof(path));
    if (!cfg || n < 1 || batch < 1) {
        fprintf(stderr, "bench_infer: -forwards N yolov3-tiny|yolov4-tiny|yolov3|FILE.cfg [BATCH]\n");
        return 2;
    }
    network *net = build(cfg);
    char weights[300];
    snprintf(weights, sizeof(weights), "%s.weights", cfg);
    random_weights(net, weights, 1);
    float *in = malloc(sizeof(float) * net->inputs * net->batch);
    for (int k = 0; k < net->inputs * net->batch; k++) in[k] = urand();
    double t[MAXREPS];
    if (n > MAXREPS) n = MAXREPS;
    for (int r = 0; r < n; r++) t[r] = our_forward(net, in);
    fprintf(stderr, "bench_infer: %d forwards of %s batch %d: median %.2f ms per image\n", n, name, net->batch,
            median(t, n) / net->batch * 1e3);
    free(in);
    free_network(net);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "-forwards"))
        return forwards(atoi(argv[2]), argv[3], argc > 4 ? atoi(argv[4]) : 1);
    int quick = 0;
    const char *file = NULL, *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-quick")) quick = 1;
        else if (!strcmp(argv[i], "-a") && i + 1 < argc) file = argv[++i];
        else if (!strcmp(argv[i], "-only") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: bench/bench_infer [-quick] [-only yolov3-tiny|yolov4-tiny|yolov3|fashion-frcnn] [-a FILE]\n");
            return 2;
        }
    }
    if (file && !(report = fopen(file, "a"))) die("append to", file);
    char cpu[256] = "?";
    cpu_model(cpu, sizeof(cpu));
    out("\nInference against OpenCV's DNN (cv2.dnn.readNetFromDarknet, the same threads), ms per image, medians of "
        "interleaved forwards. Machine: %s, %ld cores online; gemm: %s; OpenBLAS core %s; %d threads\n\n",
        cpu, sysconf(_SC_NPROCESSORS_ONLN), ohem_gemm_name(), openblas_get_corename(), openblas_get_num_threads());
    out("| network | OpenCV | ours | ours / OpenCV | CPU time, OpenCV / ours | ours, inference path off (OHEM_INFER=off) | ours, libdarknet's loops (OHEM_KERNELS=darknet) |\n"
        "|---|---|---|---|---|---|---|\n");
    int reps = quick ? 5 : 15;
    char path[256];
    if (!only || !strcmp(only, "yolov3-tiny")) {
        bench_one("yolov3-tiny 416", debian_cfg("yolov3-tiny", 1, path, sizeof(path)), 1, reps, 1);
        bench_one("yolov3-tiny 416", debian_cfg("yolov3-tiny", 4, path, sizeof(path)), 4, reps / 2 + 1, 1);
    }
    if (!only || !strcmp(only, "yolov4-tiny")) {
        bench_one("yolov4-tiny 416", v4tiny_cfg(1, path, sizeof(path)), 1, reps, 2);
        bench_one("yolov4-tiny 416", v4tiny_cfg(4, path, sizeof(path)), 4, reps / 2 + 1, 2);
    }
    if (!only || !strcmp(only, "yolov3")) bench_one("yolov3 416", debian_cfg("yolov3", 1, path, sizeof(path)), 1, reps / 2 + 1, 3);
    if (!only || !strcmp(only, "fashion-frcnn")) {
        out("\nThe two-stage detector, which OpenCV cannot run: ours against our forward with the inference path off "
            "(the training forward's passes) and with libdarknet's loops, ms per image, seeded random weights\n\n"
            "| network | ours | inference path off (OHEM_INFER=off) | libdarknet's loops (OHEM_KERNELS=darknet) |\n"
            "|---|---|---|---|\n");
        bench_own("cfg/fashion-frcnn.cfg 128", "cfg/fashion-frcnn.cfg", 1, reps, 4);
        bench_own("cfg/fashion-frcnn.cfg 128", "cfg/fashion-frcnn.cfg", 16, reps / 2 + 1, 4);
    }
    if (report && fclose(report) != 0) not_measured = 1;
    if (not_measured) fprintf(stderr, "bench_infer: a row was not measured (see the table)\n");
    return not_measured;
}
