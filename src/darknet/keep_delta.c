/* keep_delta.c: gradients that libdarknet's backward would lose.
 *
 * backward_network runs the layers from the last to the first; a layer read by a
 * later [route], [shortcut] or [roipool] gets their gradient added to its delta
 * first, and the layer right after it runs its backward later. libdarknet's backward
 * of a 1x1 [convolutional] has its gemm write its input's delta (beta 0, where a 3x3
 * one goes through col2im, which adds), and [activation]'s copies into it: what the
 * later layers added is lost. In darknet53, yolov3 and the ResNets every [shortcut]
 * source is followed by a 1x1 convolution, so the residual path passes no gradient.
 * ohem_keep_input_deltas wraps the backward of each such layer: it runs on a cleared
 * delta (a scratch buffer of the network), and the result is added to what was
 * there. */
#include "keep_delta.h"
#include "roipool_layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const layer *layers;                   /* the network's layers: with index, the key */
    int index;                             /* the wrapped layer */
    void (*backward)(struct layer, struct network); /* its own */
} kept;

typedef struct {
    const layer *layers;
    float *buf;
    size_t n;
} scratch;

static int keep_on = 1;
static kept *wrapped;
static int nwrapped, capwrapped;
static scratch *scratches;
static int nscratch, capscratch;

static int overwrites_input_delta(const layer *l)
{
    return (l->type == CONVOLUTIONAL && l->size == 1) || l->type == ACTIVE;
}

static const kept *find_kept(const layer *layers, int index)
{
    for (int i = 0; i < nwrapped; i++)
        if (wrapped[i].layers == layers && wrapped[i].index == index) return &wrapped[i];
    return NULL;
}

static scratch *find_scratch(const layer *layers)
{
    for (int i = 0; i < nscratch; i++)
        if (scratches[i].layers == layers) return &scratches[i];
    return NULL;
}

/* The backward of a layer whose own writes its input's delta: run on a cleared
 * scratch delta, then added to the real one. */
static void keep_input_delta(layer l, network net)
{
    const kept *k = find_kept(net.layers, net.index);
    if (!k) { /* called with another index than backward_network's: cannot be ours */
        fprintf(stderr, "error: a wrapped backward of layer %d was called without its network's index\n", net.index);
        exit(1);
    }
    if (!net.delta) {
        k->backward(l, net);
        return;
    }
    size_t n = (size_t)l.inputs * l.batch;
    scratch *s = find_scratch(net.layers);
    if (!s || (n > s->n && !(s->buf = realloc(s->buf, n * sizeof(float))))) {
        fprintf(stderr, "error: out of memory for the backward of layer %d (%zu floats)\n", net.index, n);
        exit(1);
    }
    if (n > s->n) s->n = n;
    float *delta = net.delta;
    memset(s->buf, 0, n * sizeof(float));
    net.delta = s->buf;
    k->backward(l, net);
    for (size_t i = 0; i < n; i++) delta[i] += s->buf[i];
}

/* Wraps layer j of net (once). Returns 0, or -1 when memory runs out. */
static int wrap(network *net, int j)
{
    layer *l = &net->layers[j];
    if (l->backward == keep_input_delta || !l->backward) return 0;
    if (nwrapped == capwrapped) {
        int cap = capwrapped ? 2 * capwrapped : 16;
        kept *w = realloc(wrapped, cap * sizeof(*w));
        if (!w) return -1;
        wrapped = w;
        capwrapped = cap;
    }
    if (!find_scratch(net->layers)) {
        if (nscratch == capscratch) {
            int cap = capscratch ? 2 * capscratch : 4;
            scratch *s = realloc(scratches, cap * sizeof(*s));
            if (!s) return -1;
            scratches = s;
            capscratch = cap;
        }
        scratches[nscratch++] = (scratch){net->layers, NULL, 0};
    }
    scratch *s = find_scratch(net->layers);
    size_t n = (size_t)l->inputs * l->batch;
    if (n > s->n) {
        float *b = realloc(s->buf, n * sizeof(float));
        if (!b) return -1;
        s->buf = b;
        s->n = n;
    }
    wrapped[nwrapped++] = (kept){net->layers, j, l->backward};
    l->backward = keep_input_delta;
    return 0;
}

/* The layer a later one reads s from; wraps the one right after s when needed. */
static int keep_source(network *net, int s, int reader)
{
    if (s < 0 || s + 1 >= reader || !overwrites_input_delta(&net->layers[s + 1])) return 0;
    return wrap(net, s + 1);
}

void ohem_keep_input_deltas_select(int on)
{
    keep_on = on;
}

int ohem_keep_input_deltas(network *net)
{
    if (!keep_on) return 0;
    for (int i = 0; i < net->n; i++) {
        const layer *l = &net->layers[i];
        int rc = 0;
        if (l->type == ROUTE)
            for (int k = 0; k < l->n && !rc; k++) rc = keep_source(net, l->input_layers[k], i);
        else if (l->type == SHORTCUT)
            rc = keep_source(net, l->index, i);
        else if (is_roipool_layer(l))
            rc = keep_source(net, roipool_layer_options(l)->from, i);
        if (rc) return -1;
    }
    return 0;
}

void ohem_keep_input_deltas_release(const network *net)
{
    int w = 0;
    for (int i = 0; i < nwrapped; i++)
        if (wrapped[i].layers != net->layers) wrapped[w++] = wrapped[i];
    nwrapped = w;
    int s = 0;
    for (int i = 0; i < nscratch; i++) {
        if (scratches[i].layers == net->layers) free(scratches[i].buf);
        else scratches[s++] = scratches[i];
    }
    nscratch = s;
}

void (*ohem_backward_of(const network *net, int i))(struct layer, struct network)
{
    const kept *k = find_kept(net->layers, i);
    return k ? k->backward : net->layers[i].backward;
}
