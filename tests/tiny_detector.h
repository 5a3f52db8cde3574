/* tiny_detector.h: what the tests of detection's command-line parts share: a small
 * one-stage detector built from a cfg written to a file, standard error sent to a
 * file and back, a file read whole, and random label lines. Include after cmocka.h and oracle.h (its
 * rolling statistics come from the tests' seeded generator). */
#ifndef OHEM_TEST_TINY_DETECTOR_H
#define OHEM_TEST_TINY_DETECTOR_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "darknet.h"

/* 32 x 32 input, batch norm, one [yolo] of 2 classes. */
static const char *const tiny_detector_cfg =
    "[net]\nbatch=1\nsubdivisions=1\nwidth=32\nheight=32\nchannels=3\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
    "[convolutional]\nsize=1\nstride=1\npad=1\nfilters=21\nactivation=linear\n"
    "[yolo]\nmask=0,1,2\nanchors=4,4, 8,8, 16,12\nclasses=2\nnum=3\njitter=0\nignore_thresh=.7\ntruth_thresh=1\nrandom=0\n";

/* The detector, its cfg written to path, its weights from srand(7), its rolling
 * means and variances from rng_unit (a fresh network's variances are 0: inference
 * would divide by ~0); batch 1. */
static network *tiny_detector(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(tiny_detector_cfg, f);
    assert_int_equal(fclose(f), 0);
    srand(7);
    network *net = parse_network_cfg((char *)path);
    assert_non_null(net);
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->type == CONVOLUTIONAL && l->batch_normalize)
            for (int c = 0; c < l->n; c++) l->rolling_variance[c] = 0.5f + rng_unit(), l->rolling_mean[c] = rng_unit() - .5f;
    }
    set_batch_network(net, 1);
    return net;
}

/* Standard error into file path from now on; returns what stderr_back takes. */
static int stderr_to(const char *path)
{
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    return saved;
}

static void stderr_back(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

/* The file at path whole (at most 64 KiB), to free. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *s = calloc(1, 65536);
    size_t len = fread(s, 1, 65535, f);
    s[len] = 0;
    fclose(f);
    return s;
}

/* nrows label lines of random boxes of classes 0..1, inside the image, into text
 * (cap bytes, appended to what it holds), from the tests' seeded generator. */
static void random_labels(char *text, size_t cap, int nrows)
{
    for (int r = 0; r < nrows; r++) {
        float bw = .1f + .5f * rng_unit(), bh = .1f + .5f * rng_unit();
        size_t len = strlen(text);
        snprintf(text + len, cap - len, "%d %.4f %.4f %.4f %.4f\n", (int)(rng_u32() % 2),
                 bw / 2 + (1 - bw) * rng_unit(), bh / 2 + (1 - bh) * rng_unit(), bw, bh);
    }
}

#endif
