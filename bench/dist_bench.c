/* dist_bench.c: what the update allreduce of data-parallel training costs, run as
 *     mpirun -np 2 bench/dist_bench CFG [-iter N] [-reps R]
 * by bench/dist_bench.sh. Each rank trains R steps of the cfg's batch on random
 * images (dist_train_step, the allreduce included), then times the allreduce alone.
 * Rank 0 prints, in markdown: the packed floats, the allreduce time, the step time,
 * the allreduce's share of an iteration of N images per rank (default: the cfg's
 * batch), and the expected scaling to 8, 32 and 128 machines of 16 cores on 10 and
 * 100 Gb/s networks, from these measurements (a ring allreduce sends and receives
 * 2 (N-1)/N of the parameters per machine). */
#include "dist.h"
#include "bench_util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

char *openblas_get_corename(void);

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float uniform(uint64_t *s)
{
    return (float)(mix(s) >> 40) / (float)(1 << 24);
}

/* batch random images with one random box each, in the [yolo] truth layout. */
static data random_batch(const network *net, int classes, uint64_t *s)
{
    data d = {0};
    d.X = make_matrix(net->batch, net->inputs);
    d.y = make_matrix(net->batch, net->truths);
    for (int i = 0; i < net->batch; i++) {
        for (int k = 0; k < net->inputs; k++) d.X.vals[i][k] = uniform(s);
        float *t = d.y.vals[i];
        t[0] = 0.2f + 0.6f * uniform(s), t[1] = 0.2f + 0.6f * uniform(s);
        t[2] = 0.1f + 0.3f * uniform(s), t[3] = 0.1f + 0.3f * uniform(s);
        t[4] = (float)(int)(uniform(s) * classes);
    }
    return d;
}

static int parse_int(const char *flag, const char *v, int lo, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > 1000000) {
        fprintf(stderr, "error: %s %s: expected an integer >= %d\n", flag, v, lo);
        return -1;
    }
    *out = (int)x;
    return 0;
}

int main(int argc, char **argv)
{
    const char *cfg = NULL;
    int iter = 0, reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-iter") && i + 1 < argc) {
            if (parse_int("-iter", argv[++i], 1, &iter)) return 2;
        } else if (!strcmp(argv[i], "-reps") && i + 1 < argc) {
            if (parse_int("-reps", argv[++i], 1, &reps)) return 2;
        } else if (!cfg && argv[i][0] != '-') cfg = argv[i];
        else {
            fprintf(stderr, "usage: mpirun -np 2 %s CFG [-iter N] [-reps R]\n", argv[0]);
            return 2;
        }
    }
    if (!cfg) {
        fprintf(stderr, "usage: mpirun -np 2 %s CFG [-iter N] [-reps R]\n", argv[0]);
        return 2;
    }
    if (dist_init() != 0) return 1;
    int ranks = dist_size(), rank = dist_rank();
    if (ranks < 2) {
        fprintf(stderr, "error: one rank: run under mpirun -np 2 (built with MPI: make, where mpicc exists)\n");
        dist_finish();
        return 1;
    }
    /* libdarknet prints a line per loss layer per step on stdout: not in the table */
    fflush(stdout);
    int out = dup(1), null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1);
    srand(1);
    network *net = parse_network_cfg((char *)cfg);
    net->subdivisions = 1;
    if (!iter) iter = net->batch;
    int classes = net->layers[net->n - 1].classes > 0 ? net->layers[net->n - 1].classes : 1;
    if (dist_start(net) != 0) return 1;
    long floats = dist_update_count(net);
    uint64_t s = 1000u + (uint64_t)rank;

    /* steps: forward, backward, allreduce, update */
    data d = random_batch(net, classes, &s);
    dist_train_step(net, d); /* warm-up */
    long n0;
    double sync0 = dist_sync_seconds(&n0), t0 = seconds();
    for (int r = 0; r < reps; r++) dist_train_step(net, d);
    double step = (seconds() - t0) / reps;
    long n1;
    double in_step = (dist_sync_seconds(&n1) - sync0) / (double)(n1 - n0);
    free_data(d);

    /* the allreduce alone (pack, sum, unpack), the ranks already in step */
    int k = 10;
    sync0 = dist_sync_seconds(&n0);
    for (int r = 0; r < k; r++) dist_sync_updates(net);
    double ar = (dist_sync_seconds(&n1) - sync0) / k;

    fflush(stdout);
    if (out >= 0) dup2(out, 1);
    if (rank == 0) {
        char cpu[256] = "unknown CPU", load[64] = "?";
        FILE *la = fopen("/proc/loadavg", "r");
        if (la && fgets(load, sizeof(load), la)) load[strcspn(load, " ")] = 0;
        if (la) fclose(la);
        cpu_model(cpu, sizeof(cpu));
        double bytes = 4.0 * floats, compute = step - in_step, per_image = compute / net->batch;
        double iteration = per_image * iter + ar;
        printf("\n### %s (%dx%d), %d ranks on %s, OpenBLAS core %s, 1 thread each, load average %s\n\n", cfg, net->w,
               net->h, ranks, cpu, openblas_get_corename(), load);
        printf("| measurement | result |\n|---|---|\n");
        printf("| floats summed per update (weights, biases, batch-norm scales) | %ld (%.1f MB) |\n", floats, bytes / 1e6);
        printf("| allreduce alone (pack, MPI_Allreduce, unpack), mean of %d | %.2f ms (%.2f GB/s of 2(N-1)/N x the buffer) |\n",
               k, ar * 1e3, 2.0 * (ranks - 1) / ranks * bytes / ar / 1e9);
        printf("| training step, batch %d per rank, mean of %d | %.3f s, of which %.2f ms in the allreduce (waiting for the slower rank included) |\n",
               net->batch, reps, step, in_step * 1e3);
        printf("| allreduce share of that step | **%.2f%%** |\n", 100 * ar / (compute + ar));
        printf("| forward + backward + update per image, one core | %.1f ms |\n", per_image * 1e3);
        printf("| allreduce share of an iteration of %d images per rank | **%.2f%%** (%.2f ms of %.3f s) |\n", iter,
               100 * ar / iteration, ar * 1e3, iteration);
        /* on paper: machines of 16 cores, each computing iter images per iteration at
         * 16 x the one-core rate (ideal), then a ring allreduce of the updates */
        printf("\nOn paper, %d images per machine per iteration on machines of 16 cores (compute %.3f s at 16 x the "
               "one-core rate), ring allreduce (2(N-1)/N x %.1f MB sent per machine, 20 us per message):\n\n",
               iter, per_image * iter / 16, bytes / 1e6);
        printf("| machines | network | allreduce | iteration | efficiency | images/s | the network sets the speed below |\n"
               "|---|---|---|---|---|---|---|\n");
        int machines[3] = {8, 32, 128};
        double gbps[2] = {10, 100};
        for (int m = 0; m < 3; m++)
            for (int g = 0; g < 2; g++) {
                int N = machines[m];
                double comm = 2.0 * (N - 1) / N * bytes * 8 / (gbps[g] * 1e9) + 2.0 * (N - 1) * 20e-6;
                double comp = per_image * iter / 16, it = comp + comm;
                printf("| %d | %g Gb/s | %.1f ms | %.3f s | %.0f%% | %.0f | %.1f images per machine per iteration |\n", N,
                       gbps[g], comm * 1e3, it, 100 * comp / it, N * iter / it, comm / (per_image / 16));
            }
        fflush(stdout);
    }
    dist_leave();
    free_network(net);
    dist_finish();
    return 0;
}
