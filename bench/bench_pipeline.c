/* bench_pipeline.c: [ohem] pipeline=1 against pipeline=0 on the same cfg.
 *
 *   bench/bench_pipeline [-reps N] CFG
 *
 * CFG has an [ohem] with pipeline=1 over a [roi_loss]. Four networks are built from
 * it with the same seed. Two train through ohem_pipeline_train (the read-only pass
 * of the next iteration's batch on a second thread during the trainable forward,
 * each on one core): as it runs by default (the trainable backward on every core
 * once the read-only pass is done), and with each pass on one core to the end. Two train through train_network, which ignores pipeline=
 * (the sequential step: the read-only forward of every RoI, the selection, the
 * sparse trainable pass), with OpenBLAS and the kernels on every core, and on one.
 * An iteration is [net] batch images of seeded random pixels, five seeded truth
 * boxes each; the four are timed in turns, N iterations each after one not counted,
 * and the table gives seconds per iteration (median and mean) and images/s. */
#include <cblas.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "darknet.h"
#include "kernels.h"
#include "ohem_parser.h"
#include "ohem_pipeline.h"
#include "bench_util.h"

/* imgs images of seeded random pixels and five truth boxes (classes 0..2) each. */
static data random_data(const network *net, int imgs, unsigned seed)
{
    data d = {0};
    d.X = make_matrix(imgs, net->inputs);
    d.y = make_matrix(imgs, net->truths);
    for (int i = 0; i < imgs; i++) {
        for (int j = 0; j < net->inputs; j++) d.X.vals[i][j] = (float)rand_r(&seed) / RAND_MAX;
        for (int t = 0; t < 5 && 5 * (t + 1) <= net->truths; t++) {
            float *row = d.y.vals[i] + 5 * t;
            row[2] = .1f + .25f * rand_r(&seed) / RAND_MAX;
            row[3] = .1f + .25f * rand_r(&seed) / RAND_MAX;
            row[0] = row[2] / 2 + (1 - row[2]) * rand_r(&seed) / RAND_MAX;
            row[1] = row[3] / 2 + (1 - row[3]) * rand_r(&seed) / RAND_MAX;
            row[4] = (float)(t % 3);
        }
    }
    return d;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum { PIPELINED, STRICT, SEQ_ALL, SEQ_ONE, RUNS };
static const char *const names[RUNS] = {"pipeline=1 (the backward on every core)",
                                        "pipeline=1, one core each to the end",
                                        "pipeline=0, OpenBLAS and kernels on every core",
                                        "pipeline=0, one thread"};

int main(int argc, char **argv)
{
    int reps = 10, first = 1;
    if (argc > 2 && !strcmp(argv[1], "-reps")) {
        reps = atoi(argv[2]);
        first = 3;
    }
    if (first + 1 != argc || reps < 1) {
        fprintf(stderr, "usage: bench/bench_pipeline [-reps N] CFG (an [ohem] with pipeline=1)\n");
        return 2;
    }
    const char *cfg = argv[first];
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    network *net[RUNS];
    ohem_err e;
    for (int r = 0; r < RUNS; r++) {
        srand(1);
        if (ohem_parse_network(cfg, &net[r], &e) != 0) {
            fprintf(stderr, "error: %s\n", e.msg);
            return 1;
        }
    }
    if (ohem_pipeline_layer(net[PIPELINED]) < 0) {
        fprintf(stderr, "error: %s: no [ohem] with pipeline=1\n", cfg);
        return 1;
    }
    ohem_pipeline *p[2] = {NULL, NULL};
    for (int r = PIPELINED; r <= STRICT; r++) {
        ohem_blas_threads(cores);
        if (!(p[r] = ohem_pipeline_make(net[r], cfg, &e))) {
            fprintf(stderr, "error: %s\n", e.msg);
            return 1;
        }
    }
    ohem_pipeline_lend(p[STRICT], 0);
    int imgs = net[0]->batch * net[0]->subdivisions;
    data d[2] = {random_data(net[0], imgs, 1), random_data(net[0], imgs, 2)};
    /* the [ohem] lines of the three networks stay off the table */
    fflush(stdout);
    int saved = dup(1), devnull = open("/dev/null", O_WRONLY);
    if (saved >= 0 && devnull >= 0) dup2(devnull, 1);
    if (devnull >= 0) close(devnull);
    double *t[RUNS];
    for (int r = 0; r < RUNS; r++) t[r] = calloc(reps, sizeof(double));
    for (int rep = -1; rep < reps; rep++)
        for (int r = 0; r < RUNS; r++) {
            ohem_blas_threads(r == SEQ_ALL ? cores : 1);
            usleep(300000); /* idle OpenBLAS threads stop spinning */
            double a = now();
            float loss = r <= STRICT ? ohem_pipeline_train(p[r], net[r], d[(rep + 1) % 2], &d[(rep + 2) % 2], NULL)
                                     : train_network(net[r], d[(rep + 1) % 2]);
            double s = now() - a;
            if (!isfinite(loss)) {
                fprintf(stderr, "error: %s: the loss is %f\n", names[r], loss);
                return 1;
            }
            if (rep >= 0) t[r][rep] = s;
        }
    fflush(stdout);
    if (saved >= 0) {
        dup2(saved, 1);
        close(saved);
    }
    printf("%s, %d images per iteration, %d cores, %d iterations each, in turns\n\n", cfg, imgs, cores, reps);
    printf("| step | s/iteration, median | mean | images/s |\n|---|---|---|---|\n");
    double med[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double sum = 0;
        for (int i = 0; i < reps; i++) sum += t[r][i];
        qsort(t[r], reps, sizeof(double), cmp_double);
        med[r] = reps % 2 ? t[r][reps / 2] : (t[r][reps / 2 - 1] + t[r][reps / 2]) / 2;
        printf("| %s | %.3f | %.3f | %.1f |\n", names[r], med[r], sum / reps, imgs / med[r]);
    }
    printf("\npipeline=1 / pipeline=0 on every core: %.2fx the time (one core each to the end: %.2fx)\n",
           med[PIPELINED] / med[SEQ_ALL], med[STRICT] / med[SEQ_ALL]);
    ohem_pipeline_free(p[0]);
    ohem_pipeline_free(p[1]);
    for (int r = 0; r < RUNS; r++) {
        free_network(net[r]);
        free(t[r]);
    }
    free_data(d[0]);
    free_data(d[1]);
    return 0;
}
