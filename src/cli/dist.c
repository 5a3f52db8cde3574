/* dist.c: data-parallel `detector train` over MPI (see dist.h). Everything MPI is
 * under OHEM_MPI; the build without it, or a run without mpirun, has one rank. */
#include "dist.h"
#include "cli.h"

#include <assert.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef OHEM_MPI
#include <mpi.h>
#endif

static struct {
    int rank, size;
    int mpi;             /* MPI_Init called, MPI_Finalize not yet */
    int agreed;          /* dist_agree ran */
    int started;         /* dist_start succeeded: the loop's collectives are on */
    int left;            /* a rank left the loop: no more collectives in it */
    int stop;            /* agreed stop signal of this iteration */
    int have_stats;
    ohem_stats stats;    /* summed [ohem] figures of this iteration */
    float *buf;          /* header (ranks leaving) + packed updates */
    long nbuf;
    int saved_err;       /* rank > 0: the real stderr while start-up messages are kept */
    FILE *kept;          /* rank > 0: the start-up messages */
    double sync_seconds;
    long syncs;
    unsigned clock_seed; /* rank 0's time(NULL) at dist_init */
} D = {0, 1, 0, 0, 0, 0, 0, 0, {0}, NULL, 0, -1, NULL, 0, 0, 0};

int dist_rank(void) { return D.rank; }
int dist_size(void) { return D.size; }
int dist_left(void) { return D.left; }

unsigned dist_clock_seed(void)
{
    return D.size > 1 ? D.clock_seed : (unsigned)time(NULL);
}

/* A contiguous float array of a layer: p[0, n). */
typedef struct {
    float *p;
    long n;
} span;

/* The arrays of layer l that the ranks share: its updates (params 0: weight, bias
 * and scale updates) or its parameters (params 1: weights, biases, scales, rolling
 * mean and variance). Writes up to 5 spans to out and their number to *n. Returns
 * -1 for a layer kind with an update function this does not know. */
static int layer_spans(const layer *l, int params, span out[5], int *n)
{
    long w, b;
    *n = 0;
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL: w = l->nweights, b = l->n; break;
    case CONNECTED: w = (long)l->inputs * l->outputs, b = l->outputs; break;
    case BATCHNORM: w = 0, b = l->c; break;
    default: return l->update ? -1 : 0;
    }
    if (!params && !l->update) return 0;
    int bn = l->type == BATCHNORM || l->batch_normalize;
    if (params) {
        if (w) out[(*n)++] = (span){l->weights, w};
        out[(*n)++] = (span){l->biases, b};
        if (bn) {
            out[(*n)++] = (span){l->scales, b};
            out[(*n)++] = (span){l->rolling_mean, b};
            out[(*n)++] = (span){l->rolling_variance, b};
        }
    } else {
        if (w) out[(*n)++] = (span){l->weight_updates, w};
        out[(*n)++] = (span){l->bias_updates, b};
        if (bn) out[(*n)++] = (span){l->scale_updates, b};
    }
    return 0;
}

/* Floats in the packed updates (params 0) or parameters (1) of net; -1 after printing
 * the first layer whose kind is not packed. */
static long pack_count(const network *net, int params, int print)
{
    long total = 0;
    for (int i = 0; i < net->n; i++) {
        span s[5];
        int ns;
        if (layer_spans(&net->layers[i], params, s, &ns) != 0) {
            if (print)
                fprintf(stderr, "error: layer %d (type %d) has weights of a kind that training over MPI does not pack "
                                "(hint: [convolutional], [deconvolutional], [connected], [batchnorm] are packed)\n", i,
                        (int)net->layers[i].type);
            return -1;
        }
        for (int k = 0; k < ns; k++) total += s[k].n;
    }
    return total;
}

long dist_update_count(const network *net)
{
    return pack_count(net, 0, 0);
}

#ifdef OHEM_MPI

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Copies the spans of net into buf (to 1) or back out of it (to 0), scaling by
 * scale on the way back. buf holds pack_count(net, params) floats. */
static void pack(network *net, int params, float *buf, int to, float scale)
{
    for (int i = 0; i < net->n; i++) {
        span s[5];
        int ns;
        layer_spans(&net->layers[i], params, s, &ns);
        for (int k = 0; k < ns; k++) {
            if (to) memcpy(buf, s[k].p, s[k].n * sizeof(float));
            else if (scale == 1) memcpy(s[k].p, buf, s[k].n * sizeof(float));
            else
                for (long j = 0; j < s[k].n; j++) s[k].p[j] = buf[j] * scale;
            buf += s[k].n;
        }
    }
}

/* 1 when a launcher (Open MPI's mpirun, or a PMI/PMIx one) started this process. */
static int launched_by_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

/* A rank that ends through exit() before the agreement (libdarknet's and the
 * parser's fatal errors) still takes part in it, so the others do not wait. */
static void dist_at_exit(void)
{
    if (!D.mpi) return;
    if (!D.agreed) dist_agree(0);
    if (D.agreed && !D.started) {
        MPI_Finalize();
        D.mpi = 0;
    }
}

int dist_init(void)
{
    if (!launched_by_mpirun()) return 0;
    int provided;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "error: MPI_Init failed\n");
        return -1;
    }
    D.mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &D.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &D.size);
    D.clock_seed = (unsigned)time(NULL);
    MPI_Bcast(&D.clock_seed, 1, MPI_UNSIGNED, 0, MPI_COMM_WORLD);
    atexit(dist_at_exit);
    const char *all = getenv("OHEM_MPI_ALL_OUTPUT");
    if (D.rank > 0 && !(all && !strcmp(all, "1"))) {
        /* stdout (libdarknet's lines per step) goes nowhere; stderr is kept until
         * the agreement, and printed there if this rank was the one that failed. */
        fflush(stdout);
        fflush(stderr);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            close(null);
        }
        D.kept = tmpfile();
        if (D.kept) {
            D.saved_err = dup(2);
            dup2(fileno(D.kept), 2);
        }
    }
    return 0;
}

void dist_finish(void)
{
    free(D.buf);
    D.buf = NULL;
    if (D.mpi) MPI_Finalize();
    D.mpi = 0;
}

int dist_agree(int ok)
{
    if (D.size == 1) return ok;
    D.agreed = 1;
    int mine = ok ? D.size : D.rank, first;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (D.kept) {
        fflush(stderr);
        if (first == D.rank) {
            /* this rank failed first: its messages are the ones to print */
            rewind(D.kept);
            char b[4096];
            size_t got;
            while ((got = fread(b, 1, sizeof(b), D.kept)) > 0)
                if (write(D.saved_err, b, got) < 0) break;
        }
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 2);
            close(null);
        }
        close(D.saved_err);
        fclose(D.kept);
        D.kept = NULL;
    }
    return first == D.size;
}

int dist_start(network *net)
{
    if (D.size == 1) return 0;
    long n = pack_count(net, 0, 1), np = pack_count(net, 1, 0);
    if (!dist_agree(n >= 0)) return -1;
    long counts[2] = {n, -n}, ext[2];
    MPI_Allreduce(counts, ext, 2, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
    if (ext[0] != -ext[1]) {
        if (D.rank == 0)
            fprintf(stderr, "error: the ranks built networks of %ld to %ld updated floats (hint: every machine needs the same cfg)\n",
                    -ext[1], ext[0]);
        return -1;
    }
    /* rank 0's weights on every rank (they are equal when every rank read the same
     * file or seed; this makes it so) */
    float *p = malloc((size_t)(np > 0 ? np : 1) * sizeof(float));
    D.buf = calloc((size_t)n + 1, sizeof(float));
    if (!p || !D.buf) {
        fprintf(stderr, "error: out of memory for %ld floats of updates\n", n);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    D.nbuf = n + 1;
    if (D.rank == 0) pack(net, 1, p, 1, 1);
    MPI_Bcast(p, (int)np, MPI_FLOAT, 0, MPI_COMM_WORLD);
    if (D.rank != 0) pack(net, 1, p, 0, 1);
    free(p);
    D.started = 1;
    if (D.rank == 0)
        fprintf(stderr, "mpi: %d ranks, %d images per iteration each, %d in all; %ld floats summed per update\n", D.size,
                net->batch * net->subdivisions, net->batch * net->subdivisions * D.size, n);
    return 0;
}

/* One allreduce of the packed updates, with a header float counting the ranks
 * that are leaving the loop (leaving = 1 from dist_leave). Returns -1 when any is. */
static int sync_updates(network *net, int leaving)
{
    assert(D.buf && D.nbuf - 1 == dist_update_count(net));
    D.buf[0] = (float)leaving;
    if (!leaving) pack(net, 0, D.buf + 1, 1, 1);
    double t0 = now();
    MPI_Allreduce(MPI_IN_PLACE, D.buf, (int)D.nbuf, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    D.sync_seconds += now() - t0;
    D.syncs++;
    if (D.buf[0] > 0) {
        D.left = 1;
        if (D.rank == 0 && !leaving)
            fprintf(stderr, "\nerror: another rank stopped training on an error (hint: OHEM_MPI_ALL_OUTPUT=1 shows the "
                            "messages of every rank)\n");
        return -1;
    }
    pack(net, 0, D.buf + 1, 0, 1.0f / D.size);
    return 0;
}

int dist_sync_updates(network *net)
{
    if (D.size == 1) return 0;
    return sync_updates(net, 0);
}

void dist_leave(void)
{
    if (D.size == 1 || !D.started || D.left) return;
    D.left = 1;
    D.buf[0] = 1;
    MPI_Allreduce(MPI_IN_PLACE, D.buf, (int)D.nbuf, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

void dist_reduce(float *loss, const layer *ohem_l, int stop_signal)
{
    if (D.size == 1) return;
    ohem_stats s;
    int have = ohem_l && ohem_layer_stats(ohem_l, &s) == 0;
    double v[8] = {*loss, have, 0, 0, 0, 0, 0, 0}, sum[8];
    if (have) {
        v[2] = s.kept, v[3] = s.candidates, v[4] = s.positives_kept, v[5] = s.positives;
        v[6] = s.loss_kept, v[7] = s.loss_all;
    }
    MPI_Allreduce(v, sum, 8, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&stop_signal, &D.stop, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    *loss = (float)(sum[0] / D.size);
    D.have_stats = have && sum[1] == D.size;
    if (D.have_stats) {
        D.stats = s; /* iteration and active: rank 0's, the same on every rank */
        D.stats.kept = (long)sum[2], D.stats.candidates = (long)sum[3];
        D.stats.positives_kept = (long)sum[4], D.stats.positives = (long)sum[5];
        D.stats.loss_kept = sum[6], D.stats.loss_all = sum[7];
    }
}

void dist_roi_stats(roi_loss_stats *s)
{
    if (D.size == 1) return;
    double v[8] = {s->roi, s->roi_cls, s->roi_box, s->rpn, s->rpn_obj, s->rpn_box, s->trained, s->foreground}, sum[8];
    MPI_Allreduce(v, sum, 8, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    s->roi = (float)(sum[0] / D.size), s->roi_cls = (float)(sum[1] / D.size), s->roi_box = (float)(sum[2] / D.size);
    s->rpn = (float)(sum[3] / D.size), s->rpn_obj = (float)(sum[4] / D.size), s->rpn_box = (float)(sum[5] / D.size);
    s->trained = (int)sum[6], s->foreground = (int)sum[7];
}

#else /* no MPI: one rank */

int dist_init(void) { return 0; }
void dist_finish(void) {}
int dist_agree(int ok) { return ok; }
int dist_start(network *net) { (void)net; return 0; }
int dist_sync_updates(network *net) { (void)net; return 0; }
void dist_leave(void) {}
void dist_reduce(float *loss, const layer *ohem_l, int stop_signal) { (void)loss, (void)ohem_l, (void)stop_signal; }
void dist_roi_stats(roi_loss_stats *s) { (void)s; }

#endif

int dist_main(int (*run)(int argc, char **argv), int argc, char **argv)
{
    if (dist_init() != 0) return CLI_BAD_INPUT;
    int status = run(argc, argv);
    /* a rank that failed before the agreement joins it here */
    if (!D.agreed && D.size > 1) dist_agree(0);
    dist_finish();
    return status;
}

/* splitmix64: the shuffle's own generator, so that rand() is left as it was. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int dist_shard(char **paths, int *lines, int n, unsigned seed)
{
    if (D.size == 1) return n;
    if (n < D.size) {
        fprintf(stderr, "error: %d images in the training list for %d ranks: every rank needs at least one\n", n, D.size);
        return -1;
    }
    uint64_t s = seed;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(splitmix64(&s) % (uint64_t)(i + 1));
        char *t = paths[i];
        paths[i] = paths[j];
        paths[j] = t;
        if (lines) {
            int l = lines[i];
            lines[i] = lines[j];
            lines[j] = l;
        }
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (i % D.size == D.rank) {
            if (lines) lines[k] = lines[i];
            paths[k++] = paths[i];
        } else free(paths[i]);
    }
    return k;
}

void dist_srand(unsigned seed)
{
    if (D.size > 1) srand(seed + (unsigned)D.rank);
}

float dist_train_step(network *net, data d)
{
    if (D.size == 1) return train_network(net, d);
    assert(d.X.rows % net->batch == 0);
    int n = d.X.rows / net->batch;
    float sum = 0;
    /* train_network's steps, with the allreduce before update_network */
    for (int i = 0; i < n; i++) {
        get_next_batch(d, net->batch, i * net->batch, net->input, net->truth);
        *net->seen += net->batch;
        net->train = 1;
        forward_network(net);
        backward_network(net);
        sum += *net->cost;
        if ((*net->seen / net->batch) % net->subdivisions == 0) {
            if (dist_sync_updates(net) != 0) return NAN;
            update_network(net);
        }
    }
    return sum / (n * net->batch);
}

int dist_ohem_stats(const layer *l, ohem_stats *s)
{
    if (D.size == 1) return ohem_layer_stats(l, s);
    if (!D.have_stats) return -1;
    *s = D.stats;
    return 0;
}

int dist_stop(int stop_signal)
{
    return D.size == 1 ? stop_signal : D.stop;
}

double dist_sync_seconds(long *count)
{
    if (count) *count = D.syncs;
    return D.sync_seconds;
}
