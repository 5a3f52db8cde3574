/* mpi_equiv.c: run by tests/e2e_mpi.sh as `mpirun -np 2 tests/mpi_equiv DIR`.
 *
 * 1. Sharding: the two ranks' shards of an 11-image list are disjoint, cover it,
 *    and hold 6 and 5 images.
 * 2. Equivalence: a small detector without batch-norm (momentum and decay on) trains
 *    5 iterations on 2 ranks with batch 2 each (dist_train_step); rank 0 then trains
 *    the same initial weights alone with batch 4 on the same images, with
 *    libdarknet's own train_network (the oracle). The two weights files agree to
 *    float rounding; both ranks hold the same weights bit for bit; and one rank with
 *    batch 2 on rank 0's images alone ends far off (the check can fail).
 * Exits non-zero on any failure, printing what differs. */
#include "dist.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef OHEM_MPI
#include <mpi.h>

enum { SIDE = 16, ITERS = 5, PER_RANK = 2, RANKS = 2, TRUTHS = 90 * 5 };

static uint64_t mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A value in [0, 1) from (image, slot): the data set, the same on every rank. */
static float uniform(int image, int slot)
{
    return (float)(mix((uint64_t)image * 1000003u + (uint64_t)slot) >> 40) / (float)(1 << 24);
}

/* The images global[0..n): random pixels, one or two boxes each, in [yolo]'s truth
 * layout (x, y, w, h, class; 90 boxes per image). */
static data make_batch(const int *global, int n)
{
    data d = {0};
    d.X = make_matrix(n, SIDE * SIDE * 3);
    d.y = make_matrix(n, TRUTHS);
    for (int i = 0; i < n; i++) {
        int g = global[i];
        for (int k = 0; k < SIDE * SIDE * 3; k++) d.X.vals[i][k] = uniform(g, k);
        int boxes = 1 + (int)(uniform(g, 10000) * 2);
        for (int b = 0; b < boxes; b++) {
            float *t = d.y.vals[i] + 5 * b;
            t[0] = 0.2f + 0.6f * uniform(g, 10001 + 5 * b);
            t[1] = 0.2f + 0.6f * uniform(g, 10002 + 5 * b);
            t[2] = 0.1f + 0.4f * uniform(g, 10003 + 5 * b);
            t[3] = 0.1f + 0.4f * uniform(g, 10004 + 5 * b);
            t[4] = (float)(int)(uniform(g, 10005 + 5 * b) * 2);
        }
    }
    return d;
}

static void write_cfg(const char *path, int batch)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f, "[net]\nbatch=%d\nsubdivisions=1\nwidth=%d\nheight=%d\nchannels=3\nmomentum=0.9\ndecay=0.0005\n"
               "learning_rate=0.01\nburn_in=0\nmax_batches=100\npolicy=constant\n\n"
               "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
               "[maxpool]\nsize=2\nstride=2\n\n"
               "[convolutional]\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
               "[convolutional]\nfilters=21\nsize=1\nstride=1\npad=1\nactivation=linear\n\n"
               "[yolo]\nmask=0,1,2\nanchors=2,3, 4,5, 8,9\nclasses=2\nnum=3\njitter=0\nignore_thresh=.7\n"
               "truth_thresh=1\nrandom=0\n",
            batch, SIDE, SIDE);
    fclose(f);
}

/* The floats of a weights file (after its header), n of them in *n. */
static float *read_floats(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f) - (3 * (long)sizeof(int) + (long)sizeof(size_t));
    fseek(f, 3 * (long)sizeof(int) + (long)sizeof(size_t), SEEK_SET);
    *n = bytes / (long)sizeof(float);
    float *v = malloc((size_t)*n * sizeof(float));
    if (!v || fread(v, sizeof(float), (size_t)*n, f) != (size_t)*n) {
        fprintf(stderr, "%s: cannot read %ld floats\n", path, *n);
        exit(1);
    }
    fclose(f);
    return v;
}

/* Largest |a - b| over the floats of two weights files; -1 when their sizes differ. */
static double max_diff(const char *a, const char *b, double *max_abs_b)
{
    long na, nb;
    float *x = read_floats(a, &na), *y = read_floats(b, &nb);
    double m = na == nb ? 0 : -1;
    *max_abs_b = 0;
    for (long i = 0; na == nb && i < na; i++) {
        double d = fabs((double)x[i] - y[i]);
        if (d > m) m = d;
        if (fabs(y[i]) > *max_abs_b) *max_abs_b = fabs(y[i]);
    }
    free(x);
    free(y);
    return m;
}

static int check_shard(void)
{
    char *paths[11];
    int lines[11], line_bad = 0;
    for (int i = 0; i < 11; i++) {
        paths[i] = malloc(8);
        snprintf(paths[i], 8, "%d", i);
        lines[i] = 2 * i + 1; /* the list line of path i, moved with it */
    }
    int n = dist_shard(paths, lines, 11, 7), mask = 0, all = 0, sizes[2];
    for (int i = 0; i < n; i++) {
        mask |= 1 << atoi(paths[i]);
        line_bad |= lines[i] != 2 * atoi(paths[i]) + 1;
    }
    if (line_bad) {
        fprintf(stderr, "FAIL shard: the list lines did not move with their paths\n");
        for (int i = 0; i < n; i++) free(paths[i]);
        return 1;
    }
    MPI_Allreduce(&mask, &all, 1, MPI_INT, MPI_BOR, MPI_COMM_WORLD);
    int overlap = 0, mine = mask, other;
    MPI_Allreduce(&mine, &other, 1, MPI_INT, MPI_BAND, MPI_COMM_WORLD);
    overlap = other != 0;
    MPI_Allgather(&n, 1, MPI_INT, sizes, 1, MPI_INT, MPI_COMM_WORLD);
    for (int i = 0; i < n; i++) free(paths[i]);
    if (all != (1 << 11) - 1 || overlap || sizes[0] != 6 || sizes[1] != 5) {
        fprintf(stderr, "FAIL shard: union %#x, overlap %d, sizes %d and %d (want 0x7ff, 0, 6 and 5)\n", all, overlap,
                sizes[0], sizes[1]);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mpirun -np 2 %s DIR\n", argv[0]);
        return 2;
    }
    if (dist_init() != 0) return 1;
    if (dist_size() != RANKS) {
        fprintf(stderr, "FAIL: %d ranks; run under mpirun -np %d\n", dist_size(), RANKS);
        dist_finish();
        return 1;
    }
    int rank = dist_rank(), fail = check_shard();
    const char *dir = argv[1];
    char cfg2[512], cfg4[512], init[512], dist[512], dist1[512], ref[512], lone[512];
    snprintf(cfg2, sizeof(cfg2), "%s/b2-rank%d.cfg", dir, rank);
    snprintf(cfg4, sizeof(cfg4), "%s/b4.cfg", dir);
    snprintf(init, sizeof(init), "%s/init.weights", dir);
    snprintf(dist, sizeof(dist), "%s/dist-rank%d.weights", dir, rank);
    snprintf(dist1, sizeof(dist1), "%s/dist-rank1.weights", dir);
    snprintf(ref, sizeof(ref), "%s/ref.weights", dir);
    snprintf(lone, sizeof(lone), "%s/lone.weights", dir);
    write_cfg(cfg2, PER_RANK);
    /* each rank seeds differently: dist_start must make the weights rank 0's */
    srand(1 + rank);
    network *net = parse_network_cfg(cfg2);
    if (rank == 0) save_weights(net, init);
    if (dist_start(net) != 0) return 1;
    for (int it = 0; it < ITERS; it++) {
        int g[PER_RANK];
        for (int j = 0; j < PER_RANK; j++) g[j] = it * PER_RANK * RANKS + j * RANKS + rank;
        data d = make_batch(g, PER_RANK);
        float loss = dist_train_step(net, d);
        free_data(d);
        if (!isfinite(loss)) {
            fprintf(stderr, "FAIL: rank %d, iteration %d: loss %f\n", rank, it, loss);
            fail = 1;
        }
    }
    save_weights(net, dist);
    free_network(net);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &fail, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    long syncs;
    dist_sync_seconds(&syncs);
    dist_finish();
    if (rank != 0) return fail;
    if (syncs != ITERS) {
        fprintf(stderr, "FAIL: %ld allreduces for %d iterations\n", syncs, ITERS);
        fail = 1;
    }

    /* the oracle: one process, batch 4, the same images, libdarknet's train_network */
    write_cfg(cfg4, PER_RANK * RANKS);
    for (int pass = 0; pass < 2; pass++) {
        network *one = parse_network_cfg(pass == 0 ? cfg4 : cfg2);
        load_weights(one, init);
        for (int it = 0; it < ITERS; it++) {
            int g[PER_RANK * RANKS], n = 0;
            for (int j = 0; j < PER_RANK * RANKS; j++)
                if (pass == 0 || j % RANKS == 0) g[n++] = it * PER_RANK * RANKS + j;
            data d = make_batch(g, n);
            train_network(one, d);
            free_data(d);
        }
        save_weights(one, pass == 0 ? ref : lone);
        free_network(one);
    }
    double scale, moved, same, off, s2, s3;
    moved = max_diff(init, ref, &s2);
    same = max_diff(dist, ref, &scale);
    off = max_diff(lone, ref, &s3);
    double ranks_differ = max_diff(dist, dist1, &s3);
    double tol = 1e-5 * (scale > 1 ? scale : 1);
    printf("weights: largest |w| %.4g; moved by training %.4g; 2 ranks x 2 vs 1 x 4: %.3g (tolerance %.3g); "
           "1 x 2 on half the images vs 1 x 4: %.4g; rank 0 vs rank 1: %.3g\n",
           scale, moved, same, tol, off, ranks_differ);
    if (same < 0 || same > tol) {
        fprintf(stderr, "FAIL: 2 ranks with batch 2 differ from 1 rank with batch 4 by %g (> %g)\n", same, tol);
        fail = 1;
    }
    if (moved < 1000 * tol || off < 100 * tol) {
        fprintf(stderr, "FAIL: the check has no power: training moved the weights by %g, half the data by %g\n", moved, off);
        fail = 1;
    }
    if (ranks_differ != 0) {
        fprintf(stderr, "FAIL: the ranks hold different weights (%g apart)\n", ranks_differ);
        fail = 1;
    }
    return fail;
}

#else

int main(void)
{
    printf("built without MPI: nothing to test\n");
    return 0;
}

#endif
