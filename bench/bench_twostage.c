/* bench_twostage.c: what a training step of a two-stage cfg costs next to a
 * one-stage one, and where its time goes.
 *
 *   bench/bench_twostage [-reps N] CFG...
 *
 * For each cfg: one batch (its [net] batch / subdivisions images) of seeded random
 * pixels with five seeded truth boxes per image, then N timed steps (forward,
 * backward, update, as train_network runs them, layer by layer with a clock around
 * each). Prints images/s of the step and each part's share: the backbone (every
 * layer before [rpn] or before the first loss layer), [rpn], [roipool] forward and
 * backward, the per-RoI head, the loss layers, [ohem] (its selection and, on RoIs,
 * the sparse pass's gather of the kept rows), the update, each in milliseconds a step and
 * as a share of it. The cfgs are timed in turns, so that they share the machine's
 * state; each later cfg's step is then set against the first cfg's: the ratio of
 * each turn's pair, their median and spread (the two-stage ratio, [ohem] step over
 * the sampler's, when the first cfg is the sampler's). Where both cfgs have a head of
 * RoIs, the row also gives the floor: the ratio a step would have if the head's
 * extra forward work (the read-only pass's rows past the ones the first cfg forwards)
 * ran at the machine's peak and everything else cost nothing more. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "darknet.h"
#include "coretype.h"
#include "pool.h"
#include "ohem_layer.h"
#include "parser.h"
#include "roi_loss_layer.h"
#include "roipool_layer.h"
#include "rpn_layer.h"
#include "bench_util.h"

enum { P_BACKBONE, P_RPN, P_ROIPOOL, P_HEAD, P_LOSS, P_OHEM, P_UPDATE, P_N };
static const char *const part_names[P_N] = {"backbone", "rpn", "roipool", "head", "loss", "ohem", "update"};


static int is_loss(const layer *l)
{
    return l->type == YOLO || l->type == REGION || l->type == DETECTION || is_roi_loss_layer(l);
}

/* The part each layer belongs to. */
static void classify(const network *net, int *part)
{
    int stage = P_BACKBONE;
    for (int i = 0; i < net->n; i++) {
        const layer *l = &net->layers[i];
        if (is_rpn_layer(l)) part[i] = P_RPN;
        else if (is_ohem_layer(l)) part[i] = P_OHEM;
        else if (is_roipool_layer(l)) {
            part[i] = P_ROIPOOL;
            stage = P_HEAD;
        }
        else if (is_loss(l)) part[i] = P_LOSS;
        else part[i] = stage;
    }
}

/* Multiply-adds x 2 of a layer's forward at its batch of the moment (the head's
 * batch is the rows it forwards: the sampler's packed RoIs, or every RoI). */
static double forward_flops(const layer *l)
{
    if (l->type == CONNECTED) return 2.0 * l->batch * l->outputs * l->inputs;
    if (l->type == CONVOLUTIONAL) return 2.0 * l->batch * l->outputs * ((double)l->size * l->size * l->c / l->groups);
    return 0;
}

typedef struct {
    const char *cfg;
    network *net;
    int part[1024];
    double t[P_N];
    double total;
    int steps;
    int loss;      /* the [roi_loss], or -1 */
    long trained;  /* RoIs trained, summed over the timed steps */
    double head_flops; /* the head's forward multiply-adds x 2, summed over the timed steps */
    double *steps_s; /* (reps) each timed step's seconds */
} bench_run;

static void step(bench_run *r)
{
    network *net = r->net;
    network n = *net;
    double t0 = now();
    n.train = 1;
    n.input = net->input;
    n.truth = net->truth;
    n.delta = 0;
    for (int i = 0; i < net->n; i++) {
        double a = now();
        n.index = i;
        layer l = net->layers[i];
        if (l.delta) fill_cpu(l.outputs * l.batch, 0, l.delta, 1);
        l.forward(l, n);
        n.input = l.output;
        r->t[r->part[i]] += now() - a;
        if (r->part[i] == P_HEAD) r->head_flops += forward_flops(&l);
    }
    for (int i = net->n - 1; i >= 0; i--) {
        double a = now();
        layer l = net->layers[i];
        if (l.stopbackward) break;
        if (i == 0) {
            n.input = net->input;
            n.delta = 0;
        } else {
            n.input = net->layers[i - 1].output;
            n.delta = net->layers[i - 1].delta;
        }
        n.index = i;
        l.backward(l, n);
        r->t[r->part[i]] += now() - a;
    }
    double a = now();
    update_args u = {0};
    u.batch = net->batch * net->subdivisions;
    u.learning_rate = 1e-6f; /* the cost of an update, without moving far */
    u.momentum = net->momentum;
    u.decay = net->decay;
    for (int i = 0; i < net->n; i++)
        if (net->layers[i].update) net->layers[i].update(net->layers[i], u);
    r->t[P_UPDATE] += now() - a;
    double s = now() - t0;
    r->total += s;
    if (r->steps_s) r->steps_s[r->steps] = s;
    r->steps++;
    if (r->loss >= 0) {
        roi_loss_stats st;
        roi_loss_layer_stats(&net->layers[r->loss], &st);
        r->trained += st.trained;
    }
}

int main(int argc, char **argv)
{
    int reps = 5, first = 1;
    if (argc > 2 && !strcmp(argv[1], "-reps")) {
        reps = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || reps < 1) {
        fprintf(stderr, "usage: bench/bench_twostage [-reps N] CFG...\n");
        return 2;
    }
    int nr = argc - first;
    bench_run *runs = calloc(nr, sizeof(*runs));
    for (int k = 0; k < nr; k++) {
        runs[k].cfg = argv[first + k];
        ohem_err e;
        srand(1);
        if (ohem_parse_network(runs[k].cfg, &runs[k].net, &e) != 0) {
            fprintf(stderr, "error: %s\n", e.msg);
            return 1;
        }
        network *net = runs[k].net;
        if (net->n > 1024) return 1;
        classify(net, runs[k].part);
        runs[k].loss = -1;
        for (int i = 0; i < net->n; i++)
            if (is_roi_loss_layer(&net->layers[i])) runs[k].loss = i;
        unsigned seed = 1;
        for (int i = 0; i < net->inputs * net->batch; i++) net->input[i] = (float)rand_r(&seed) / RAND_MAX;
        memset(net->truth, 0, (size_t)net->truths * net->batch * sizeof(float));
        for (int b = 0; b < net->batch; b++)
            for (int t = 0; t < 5 && 5 * (t + 1) <= net->truths; t++) {
                float *row = net->truth + (size_t)b * net->truths + 5 * t;
                row[2] = .1f + .25f * rand_r(&seed) / RAND_MAX;
                row[3] = .1f + .25f * rand_r(&seed) / RAND_MAX;
                row[0] = row[2] / 2 + (1 - row[2]) * rand_r(&seed) / RAND_MAX;
                row[1] = row[3] / 2 + (1 - row[3]) * rand_r(&seed) / RAND_MAX;
                row[4] = (float)(t % 3);
            }
        step(&runs[k]); /* warm-up, not counted */
        runs[k].steps_s = calloc(reps, sizeof(double));
        if (!runs[k].steps_s) return 1;
        memset(runs[k].t, 0, sizeof(runs[k].t));
        runs[k].total = 0;
        runs[k].steps = 0;
        runs[k].trained = 0;
        runs[k].head_flops = 0;
    }
    for (int rep = 0; rep < reps; rep++)
        for (int k = 0; k < nr; k++) step(&runs[k]);
    char cpu[256] = "?";
    cpu_model(cpu, sizeof(cpu));
    const char *threads = getenv("OHEM_THREADS");
    printf("Training steps on %s (%ld cores, OHEM_THREADS %s), %d timed steps per cfg in turns; each part in ms a "
           "step (share of the step)\n\n",
           cpu, sysconf(_SC_NPROCESSORS_ONLN), threads ? threads : "unset", reps);
    printf("| cfg | images/step | RoIs trained/image | s/step | images/s |");
    for (int p = 0; p < P_N; p++) printf(" %s |", part_names[p]);
    printf("\n|---|---|---|---|---|");
    for (int p = 0; p < P_N; p++) printf("---|");
    printf("\n");
    for (int k = 0; k < nr; k++) {
        bench_run *r = &runs[k];
        double s = r->total / r->steps;
        char trained[32] = "";
        if (r->loss >= 0) snprintf(trained, sizeof(trained), "%.1f", (double)r->trained / r->steps / r->net->batch);
        printf("| %s | %d | %s | %.3f | %.1f |", r->cfg, r->net->batch, trained, s, r->net->batch / s);
        for (int p = 0; p < P_N; p++) printf(" %.1f (%.0f%%) |", 1e3 * r->t[p] / r->steps, 100 * r->t[p] / r->total);
        printf("\n");
    }
    if (nr > 1) {
        /* the floor: the first cfg's median step plus the head's extra forward work
         * run at the machine's peak, the least ratio any code could reach */
        ohem_cpu c;
        ohem_cpu_detect(&c);
        int lanes = c.avx512 ? 16 : c.avx2 || c.avx ? 8 : 4;
        double peak = peak_gflops(lanes, ohem_pool_threads(), chain_ghz()) * 1e9;
        printf("\n| step ratio | median of %d interleaved pairs | min | max | the head's extra forward | floor at peak (%.0f GFLOP/s) |\n"
               "|---|---|---|---|---|---|\n",
               reps, peak * 1e-9);
        double *q = calloc(reps, sizeof(double)), *base = calloc(reps, sizeof(double));
        if (!q || !base) return 1;
        memcpy(base, runs[0].steps_s, reps * sizeof(double));
        double base_med = median(base, reps);
        for (int k = 1; k < nr; k++) {
            for (int i = 0; i < reps; i++) q[i] = runs[k].steps_s[i] / runs[0].steps_s[i];
            double med = median(q, reps);
            double extra = (runs[k].head_flops - runs[0].head_flops) / reps;
            printf("| %s / %s | **%.3fx** | %.3fx | %.3fx |", runs[k].cfg, runs[0].cfg, med, q[0], q[reps - 1]);
            if (runs[0].head_flops > 0 && runs[k].head_flops > 0) /* two heads of RoIs */
                printf(" %.2f GFLOP a step | %.3fx |\n", extra * 1e-9, 1 + fmax(extra, 0) / peak / base_med);
            else
                printf(" - | - |\n");
        }
        free(q);
        free(base);
    }
    for (int k = 0; k < nr; k++) {
        free_network(runs[k].net);
        free(runs[k].steps_s);
    }
    free(runs);
    return 0;
}
