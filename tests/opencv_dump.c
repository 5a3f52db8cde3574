/* opencv_dump.c: the plugin's side of tests/e2e_opencv.sh. Builds CFG, gives it
 * seeded random weights (batch-norm scales, means and variances too, variances
 * >= 0.5 so that inference does not divide by ~0), saves them to WEIGHTS as
 * training does (ohem_save_weights), runs network_predict on a seeded random input
 * and writes OUTDIR/input.bin (c, h, w) and OUTDIR/layer_<i>.bin, each layer's
 * output (out_c, out_h, out_w), floats. With "load", WEIGHTS is read instead (as
 * ./darknet reads it, checks included) and "seen N" printed on stdout.
 * usage: tests/opencv_dump CFG WEIGHTS OUTDIR SEED [load] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "darknet.h"
#include "network.h"
#include "weights.h"

static uint64_t state;
static float urand(void) /* [0, 1), xorshift64* */
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (float)((state * 2685821657736338717ull) >> 40) / (float)(1 << 24);
}

static int write_floats(const char *dir, const char *name, const float *x, int n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(x, sizeof(float), (size_t)n, f) != (size_t)n || fclose(f) != 0) {
        fprintf(stderr, "opencv_dump: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int load = argc == 6 && !strcmp(argv[5], "load");
    if (argc != 5 && !load) {
        fprintf(stderr, "usage: %s CFG WEIGHTS OUTDIR SEED [load]\n", argv[0]);
        return 2;
    }
    state = strtoull(argv[4], NULL, 10) * 0x9e3779b97f4a7c15ull + 1;
    ohem_err e;
    network *net;
    if (ohem_load_network(argv[1], load ? argv[2] : NULL, 0, &net, &e) != 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        return 1;
    }
    set_batch_network(net, 1);
    if (load) printf("seen %zu\n", *net->seen);
    for (int i = 0; i < net->n && !load; i++) {
        layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL) continue;
        float s = 1.f / sqrtf((float)(l->size * l->size * l->c));
        for (int k = 0; k < l->nweights; k++) l->weights[k] = (2 * urand() - 1) * 2 * s;
        for (int k = 0; k < l->n; k++) l->biases[k] = 2 * urand() - 1;
        if (l->batch_normalize)
            for (int k = 0; k < l->n; k++) {
                l->scales[k] = 0.5f + urand();
                l->rolling_mean[k] = 0.5f * (2 * urand() - 1);
                l->rolling_variance[k] = 0.5f + urand();
            }
    }
    if (!load && ohem_save_weights(net, argv[2], net->n, &e) != 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        free_network(net);
        return 1;
    }
    float *in = malloc(sizeof(float) * net->inputs);
    for (int k = 0; k < net->inputs; k++) in[k] = urand();
    network_predict(net, in);
    int rc = write_floats(argv[3], "input.bin", in, net->inputs);
    for (int i = 0; i < net->n && !rc; i++) {
        char name[64];
        snprintf(name, sizeof(name), "layer_%d.bin", i);
        rc = write_floats(argv[3], name, net->layers[i].output, net->layers[i].outputs);
    }
    free(in);
    free_network(net);
    return rc ? 1 : 0;
}
