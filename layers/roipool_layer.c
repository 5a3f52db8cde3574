/* roipool_layer.c: the [roipool] Darknet layer (roipool_layer.h) over roi_align.c. */
#include "roipool_layer.h"
#include "rcnn.h"
#include "roi_align.h"
#include "rpn_layer.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROIPOOL_MAGIC 0x726f6970u
#define ROIPOOL_MAX_TRUTHS 90

typedef struct {
    uint32_t magic;
    roipool_options opt;
    int images, rpn;        /* the network's batch; the [rpn] layer's index */
    box *rois;              /* (images, rois) */
    unsigned char *valid;   /* (images, rois) */
    int *argmax;            /* (images x rois, outputs) for mode max, else NULL */
} roipool_state;

static roipool_state *state_of(const layer *l)
{
    roipool_state *st = (roipool_state *)l->cweights;
    assert(st && st->magic == ROIPOOL_MAGIC);
    return st;
}

void roipool_options_default(roipool_options *o)
{
    memset(o, 0, sizeof(*o));
    o->from = -1;
    o->size = 7;
    o->mode = ROIPOOL_ALIGN;
    o->rois = 256;
    o->sampling = 2;
}

static void state_free(roipool_state *st)
{
    if (!st) return;
    free(st->rois);
    free(st->valid);
    free(st->argmax);
    st->magic = 0;
}

int make_roipool_layer(layer *l, const roipool_options *o, network *net, int index, int images)
{
    const layer *src = &net->layers[o->from];
    assert(index > 0 && is_rpn_layer(&net->layers[index - 1]) && o->from < index);
    layer z = {0};
    *l = z;
    l->type = BLANK;
    l->batch = images * o->rois;
    l->w = src->out_w;
    l->h = src->out_h;
    l->c = src->out_c;
    l->inputs = net->layers[index - 1].outputs;
    l->out_w = l->out_h = o->size;
    l->out_c = src->out_c;
    l->outputs = o->size * o->size * l->out_c;
    l->forward = forward_roipool_layer;
    l->backward = backward_roipool_layer;
    size_t rows = (size_t)l->batch;
    roipool_state *st = calloc(1, sizeof(*st));
    l->output = calloc(rows * l->outputs, sizeof(float));
    l->delta = calloc(rows * l->outputs, sizeof(float));
    if (!st || !l->output || !l->delta) goto fail;
    l->cweights = (char *)st;
    st->magic = ROIPOOL_MAGIC;
    st->opt = *o;
    st->images = images;
    st->rpn = index - 1;
    st->rois = calloc(rows, sizeof(box));
    st->valid = calloc(rows, 1);
    if (o->mode == ROIPOOL_MAX) st->argmax = malloc(rows * l->outputs * sizeof(int));
    if (!st->rois || !st->valid || (o->mode == ROIPOOL_MAX && !st->argmax)) goto fail;
    fprintf(stderr, "roipool    %d RoIs per image from layer %d (%dx%dx%d), %s %dx%d\n", o->rois,
            o->from, l->w, l->h, l->c, o->mode == ROIPOOL_MAX ? "max" : "align", o->size, o->size);
    return 0;
fail:
    state_free(st);
    free(st);
    free(l->output);
    free(l->delta);
    *l = z;
    return -1;
}

int is_roipool_layer(const layer *l)
{
    return l->type == BLANK && l->forward == forward_roipool_layer && l->cweights;
}

void free_roipool_layer(layer *l)
{
    if (is_roipool_layer(l)) state_free(state_of(l));
}

/* The RoIs of image b: truths (in training), then the proposals; repeated to fill. */
static void image_rois(roipool_state *st, const network *net, int b, box *rois,
                       unsigned char *valid)
{
    int R = st->opt.rois, n = 0;
    if (net->train && net->truth) {
        box t[ROIPOOL_MAX_TRUTHS];
        int cls[ROIPOOL_MAX_TRUTHS];
        int nt = rcnn_truths(net->truth + (size_t)b * net->truths, ROIPOOL_MAX_TRUTHS, t, cls);
        for (int i = 0; i < nt && n < R; i++) rois[n++] = t[i];
    }
    const box *props;
    int np = rpn_layer_proposals(&net->layers[st->rpn], b, &props, NULL);
    for (int i = 0; i < np && n < R; i++) rois[n++] = props[i];
    memset(valid, 0, (size_t)R);
    memset(valid, 1, (size_t)n);
    if (!n) { /* nothing proposed: the whole image, flagged invalid */
        box all = {.5f, .5f, 1, 1};
        rois[0] = all;
        for (int i = 1; i < R; i++) rois[i] = all;
        valid[0] = 0;
        return;
    }
    for (int i = n; i < R; i++) rois[i] = rois[i % n];
}

void forward_roipool_layer(const layer l, network net)
{
    roipool_state *st = state_of(&l);
    const roipool_options *o = &st->opt;
    const layer *src = &net.layers[o->from];
    int R = o->rois, images = l.batch / R;
    assert(images <= st->images);
    for (int b = 0; b < images; b++) {
        box *rois = st->rois + (size_t)b * R;
        image_rois(st, &net, b, rois, st->valid + (size_t)b * R);
        const float *map = src->output + (size_t)b * src->outputs;
        for (int r = 0; r < R; r++) {
            float c[4];
            rcnn_corners(rois[r], l.w, l.h, c);
            size_t row = (size_t)b * R + r;
            float *out = l.output + row * l.outputs;
            if (o->mode == ROIPOOL_MAX) roi_max_forward(map, l.c, l.h, l.w, c, o->size, out, st->argmax + row * l.outputs);
            else roi_align_forward(map, l.c, l.h, l.w, c, o->size, o->sampling, out);
        }
    }
}

/* 1 when the n floats at d are all zero (the rows the loss did not train). */
static int all_zero(const float *d, int n)
{
    for (int i = 0; i < n; i++)
        if (d[i] != 0) return 0;
    return 1;
}

void backward_roipool_layer(const layer l, network net)
{
    roipool_state *st = state_of(&l);
    const roipool_options *o = &st->opt;
    layer *src = &net.layers[o->from];
    if (!src->delta) return;
    int R = o->rois, images = l.batch / R;
    for (int b = 0; b < images; b++) {
        float *dmap = src->delta + (size_t)b * src->outputs;
        for (int r = 0; r < R; r++) {
            size_t row = (size_t)b * R + r;
            const float *d = l.delta + row * l.outputs;
            if (all_zero(d, l.outputs)) continue;
            if (o->mode == ROIPOOL_MAX) {
                roi_max_backward(d, st->argmax + row * l.outputs, l.c, o->size, dmap);
            } else {
                float c[4];
                rcnn_corners(st->rois[row], l.w, l.h, c);
                roi_align_backward(d, l.c, l.h, l.w, c, o->size, o->sampling, dmap);
            }
        }
    }
}

const box *roipool_layer_rois(const layer *l, const unsigned char **valid, int *rois)
{
    roipool_state *st = state_of(l);
    if (valid) *valid = st->valid;
    if (rois) *rois = st->opt.rois;
    return st->rois;
}

int roipool_layer_count(const layer *l)
{
    return is_roipool_layer(l) ? state_of(l)->opt.rois : 0;
}

const roipool_options *roipool_layer_options(const layer *l)
{
    return &state_of(l)->opt;
}
