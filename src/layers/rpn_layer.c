/* rpn_layer.c: the [rpn] Darknet layer (rpn_layer.h) over the math of rcnn.c. */
#include "rpn_layer.h"
#include "plugin.h"
#include "rcnn.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RPN_MAGIC 0x72706e31u
#define RPN_MAX_TRUTHS 90
#define RPN_BETA (1.f / 9) /* smooth L1 threshold of the RPN's box loss (sigma 3) */

typedef struct {
    uint32_t magic;
    rpn_options opt;
    int batch, n;           /* images; anchors per image (nanchors w h) */
    box *anchors;           /* (n) */
    float *obj, *deltas;    /* (n), (n, 4): one image's input, gathered */
    box *boxes;             /* (n) decoded, scratch */
    unsigned char *skip;    /* (n) */
    int *keep, *label, *matched, *idx; /* (n) */
    float *best;            /* (n) */
    float *dinput;          /* (batch, inputs): the delta for the layer before */
    box *props;             /* (batch, proposals) */
    float *scores;          /* (batch, proposals) */
    int *count;             /* (batch) */
    ohem_scratch scratch;
    uint64_t rng;
    float loss, loss_obj, loss_box;
} rpn_state;

static rpn_state *state_of(const layer *l)
{
    return plugin_state(l, RPN_MAGIC);
}

void rpn_options_default(rpn_options *o)
{
    memset(o, 0, sizeof(*o));
    o->proposals = 300;
    o->nms = 0.7f;
    o->min_size = 0;
    o->fg_iou = 0.7f;
    o->bg_iou = 0.3f;
    o->samples = 256;
    o->fg_fraction = 0.5f;
}

static void state_free(rpn_state *st)
{
    if (!st) return;
    free(st->anchors);
    free(st->obj);
    free(st->deltas);
    free(st->boxes);
    free(st->skip);
    free(st->keep);
    free(st->label);
    free(st->matched);
    free(st->idx);
    free(st->best);
    free(st->dinput);
    free(st->props);
    free(st->scores);
    free(st->count);
    ohem_scratch_free(&st->scratch);
    st->magic = 0;
}

int make_rpn_layer(layer *l, const rpn_options *o, int batch, int w, int h, int c, int net_w,
                   int net_h)
{
    assert(c == 5 * o->nanchors && o->nanchors > 0 && o->nanchors <= RPN_MAX_ANCHORS);
    layer z = {0};
    *l = z;
    l->type = BLANK;
    l->batch = batch;
    l->w = w;
    l->h = h;
    l->c = c;
    l->inputs = w * h * c;
    l->out_w = l->out_h = 1;
    l->out_c = 4 * o->proposals;
    l->outputs = l->out_c;
    l->forward = forward_rpn_layer;
    l->backward = backward_rpn_layer;
    rpn_state *st = calloc(1, sizeof(rpn_state));
    l->output = calloc((size_t)batch * l->outputs, sizeof(float));
    l->delta = calloc((size_t)batch * l->outputs, sizeof(float));
    if (!st || !l->output || !l->delta) goto fail;
    l->cweights = (char *)st;
    st->magic = RPN_MAGIC;
    st->opt = *o;
    st->batch = batch;
    int n = st->n = o->nanchors * w * h;
    st->anchors = malloc(n * sizeof(box));
    st->obj = malloc(n * sizeof(float));
    st->deltas = malloc(4 * (size_t)n * sizeof(float));
    st->boxes = malloc(n * sizeof(box));
    st->skip = malloc(n);
    st->keep = malloc(n * sizeof(int));
    st->label = malloc(n * sizeof(int));
    st->matched = malloc(n * sizeof(int));
    st->idx = malloc(n * sizeof(int));
    st->best = malloc(n * sizeof(float));
    st->dinput = calloc((size_t)batch * l->inputs, sizeof(float));
    st->props = calloc((size_t)batch * o->proposals, sizeof(box));
    st->scores = calloc((size_t)batch * o->proposals, sizeof(float));
    st->count = calloc(batch, sizeof(int));
    if (!st->anchors || !st->obj || !st->deltas || !st->boxes || !st->skip || !st->keep ||
        !st->label || !st->matched || !st->idx || !st->best || !st->dinput || !st->props ||
        !st->scores || !st->count || ohem_scratch_init(&st->scratch, n) != 0)
        goto fail;
    rcnn_anchors(w, h, o->anchors, o->nanchors, net_w, net_h, st->anchors);
    st->rng = rcnn_seed();
    fprintf(stderr, "rpn        %d anchors x %dx%d, %d proposals per image, nms %.2f\n", o->nanchors,
            w, h, o->proposals, o->nms);
    return 0;
fail:
    state_free(st);
    free(st);
    free(l->output);
    free(l->delta);
    *l = z;
    return -1;
}

int is_rpn_layer(const layer *l)
{
    return plugin_is(l, forward_rpn_layer);
}

/* The training loss of image b: labels, sample, loss and delta into dinput. */
static void image_loss(rpn_state *st, const layer *l, const float *truth,
                       float *dinput)
{
    box truths[RPN_MAX_TRUTHS];
    int cls[RPN_MAX_TRUTHS];
    float tbest[RPN_MAX_TRUTHS];
    int nt = rcnn_truths(truth, RPN_MAX_TRUTHS, truths, cls);
    const rpn_options *o = &st->opt;
    rcnn_rpn_assign(st->anchors, st->n, truths, nt, o->fg_iou, o->bg_iou, st->label, st->matched,
                    st->best, tbest);
    int kept = rcnn_subsample(st->label, st->n, 0, o->samples, (int)(o->fg_fraction * o->samples),
                              &st->rng, st->idx);
    if (!kept) return;
    float scale = 1.f / kept;
    int wh = l->w * l->h;
    for (int i = 0; i < st->n; i++) {
        if (st->label[i] < 0) continue;
        int a = i / wh, k = i % wh;
        float target[4] = {0}, dd[4], d0;
        if (st->label[i]) rcnn_encode(st->anchors[i], truths[st->matched[i]], NULL, target);
        float loss = rcnn_rpn_loss(st->obj[i], st->deltas + 4 * i, st->label[i], target, RPN_BETA,
                                   scale, &d0, dd);
        dinput[(5 * a) * wh + k] = d0;
        for (int e = 0; e < 4; e++) dinput[(5 * a + 1 + e) * wh + k] = dd[e];
        st->loss += loss * scale;
        float part_box = 0;
        if (st->label[i])
            for (int e = 0; e < 4; e++) {
                float g;
                part_box += rcnn_smooth_l1(st->deltas[4 * i + e] - target[e], RPN_BETA, &g);
            }
        st->loss_box += part_box * scale;
        st->loss_obj += (loss - part_box) * scale;
    }
}

void forward_rpn_layer(const layer l, network net)
{
    rpn_state *st = state_of(&l);
    assert(l.batch <= st->batch);
    int wh = l.w * l.h, P = st->opt.proposals;
    float min_w = st->opt.min_size / net.w, min_h = st->opt.min_size / net.h;
    int train = net.train && net.truth;
    st->loss = st->loss_obj = st->loss_box = 0;
    if (train) memset(st->dinput, 0, (size_t)l.batch * l.inputs * sizeof(float));
    memset(l.output, 0, (size_t)l.batch * l.outputs * sizeof(float));
    for (int b = 0; b < l.batch; b++) {
        const float *in = net.input + (size_t)b * l.inputs;
        for (int i = 0; i < st->n; i++) {
            int a = i / wh, k = i % wh;
            st->obj[i] = in[(5 * a) * wh + k];
            for (int e = 0; e < 4; e++) st->deltas[4 * i + e] = in[(5 * a + 1 + e) * wh + k];
        }
        box *props = st->props + (size_t)b * P;
        int c = rcnn_proposals(st->anchors, st->obj, st->deltas, st->n, min_w, min_h, st->opt.nms, P,
                               &st->scratch, st->boxes, st->skip, st->keep, props,
                               st->scores + (size_t)b * P);
        st->count[b] = c;
        float *out = l.output + (size_t)b * l.outputs;
        for (int j = 0; j < c; j++) {
            out[4 * j] = props[j].x;
            out[4 * j + 1] = props[j].y;
            out[4 * j + 2] = props[j].w;
            out[4 * j + 3] = props[j].h;
        }
        if (train)
            image_loss(st, &l, net.truth + (size_t)b * net.truths,
                       st->dinput + (size_t)b * l.inputs);
    }
}

void backward_rpn_layer(const layer l, network net)
{
    rpn_state *st = state_of(&l);
    if (net.delta) axpy_cpu(l.batch * l.inputs, 1, st->dinput, 1, net.delta, 1);
}

int rpn_layer_proposals(const layer *l, int b, const box **boxes, const float **scores)
{
    rpn_state *st = state_of(l);
    assert(b >= 0 && b < st->batch);
    *boxes = st->props + (size_t)b * st->opt.proposals;
    if (scores) *scores = st->scores + (size_t)b * st->opt.proposals;
    return st->count[b];
}

float rpn_layer_loss(const layer *l, float *obj, float *box_part)
{
    rpn_state *st = state_of(l);
    if (obj) *obj = st->loss_obj;
    if (box_part) *box_part = st->loss_box;
    return st->loss;
}

void free_rpn_layer(layer *l)
{
    if (is_rpn_layer(l)) state_free(state_of(l));
}

const rpn_options *rpn_layer_options(const layer *l)
{
    return &state_of(l)->opt;
}
