/* rpn_layer.c: the [rpn] Darknet layer (rpn_layer.h) over the math of rcnn.c. */
#include "rpn_layer.h"
#include "plugin.h"
#include "pool.h"
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
    int *label, *matched;   /* (batch, n): the anchors' labels, then the sampled ones */
    int *idx;               /* (n): the sampler's scratch */
    float *dinput;          /* (batch, inputs): the delta for the layer before */
    box *props;             /* (batch, proposals) */
    float *scores;          /* (batch, proposals) */
    int *count;             /* (batch) */
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
    free(st->label);
    free(st->matched);
    free(st->idx);
    free(st->dinput);
    free(st->props);
    free(st->scores);
    free(st->count);
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
    st->label = malloc((size_t)batch * n * sizeof(int));
    st->matched = malloc((size_t)batch * n * sizeof(int));
    st->idx = malloc(n * sizeof(int));
    st->dinput = calloc((size_t)batch * l->inputs, sizeof(float));
    st->props = calloc((size_t)batch * o->proposals, sizeof(box));
    st->scores = calloc((size_t)batch * o->proposals, sizeof(float));
    st->count = calloc(batch, sizeof(int));
    if (!st->anchors || !st->label || !st->matched || !st->idx || !st->dinput || !st->props ||
        !st->scores || !st->count)
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

/* One thread's scratch for an image of n anchors, laid over one block: the walk's,
 * the image's input gathered (objectness, deltas), the decoded boxes, the kept
 * indices, the best IoUs of the labelling and the skip flags. */
typedef struct {
    ohem_scratch walk;
    float *obj, *deltas;    /* (n), (n, 4) */
    box *boxes;             /* (n) */
    int *keep;              /* (n) */
    float *best;            /* (n) */
    unsigned char *skip;    /* (n) */
} rpn_scratch;

static void scratch_of_thread(rpn_scratch *s, int n)
{
    static __thread void *buf;
    static __thread size_t cap;
    size_t walk = (ohem_scratch_bytes(n) + 15) / 16 * 16;
    size_t bytes = walk + (size_t)n * (sizeof(box) + 5 * sizeof(float) + sizeof(int) + sizeof(float) + 1);
    char *p = ohem_thread_buffer(&buf, &cap, bytes, "[rpn]'s scratch");
    ohem_scratch_bind(&s->walk, p, n);
    s->boxes = (box *)(p + walk);
    s->obj = (float *)(s->boxes + n);
    s->deltas = s->obj + n;
    s->keep = (int *)(s->deltas + 4 * (size_t)n);
    s->best = (float *)(s->keep + n);
    s->skip = (unsigned char *)(s->best + n);
}

/* Objectness and deltas of anchor i (a at cell k) of one image's input, (5 a + e,
 * cell) in Darknet's anchor, entry, cell layout. */
static void anchor_input(const float *in, int wh, int i, float *obj, float *d)
{
    int a = i / wh, k = i % wh;
    *obj = in[(5 * a) * wh + k];
    for (int e = 0; e < 4; e++) d[e] = in[(5 * a + 1 + e) * wh + k];
}

/* The part of image b that draws no random number: its proposals (decoded, ranked,
 * NMS) into the output, and in training its anchors' labels. Images are
 * independent: each writes its own rows. */
static void image_proposals(rpn_state *st, const layer *l, const network *net, int b, rpn_scratch *s)
{
    int wh = l->w * l->h, n = st->n, P = st->opt.proposals;
    const float *in = net->input + (size_t)b * l->inputs;
    for (int i = 0; i < n; i++) anchor_input(in, wh, i, &s->obj[i], s->deltas + 4 * i);
    float min_w = st->opt.min_size / net->w, min_h = st->opt.min_size / net->h;
    box *props = st->props + (size_t)b * P;
    int c = rcnn_proposals(st->anchors, s->obj, s->deltas, n, min_w, min_h, st->opt.nms, P, &s->walk,
                           s->boxes, s->skip, s->keep, props, st->scores + (size_t)b * P);
    st->count[b] = c;
    float *out = l->output + (size_t)b * l->outputs;
    memset(out, 0, (size_t)l->outputs * sizeof(float));
    for (int j = 0; j < c; j++) {
        out[4 * j] = props[j].x;
        out[4 * j + 1] = props[j].y;
        out[4 * j + 2] = props[j].w;
        out[4 * j + 3] = props[j].h;
    }
    if (!(net->train && net->truth)) return;
    box truths[RPN_MAX_TRUTHS];
    int cls[RPN_MAX_TRUTHS];
    float tbest[RPN_MAX_TRUTHS];
    int nt = rcnn_truths(net->truth + (size_t)b * net->truths, RPN_MAX_TRUTHS, truths, cls);
    rcnn_rpn_assign(st->anchors, n, truths, nt, st->opt.fg_iou, st->opt.bg_iou, st->label + (size_t)b * n,
                    st->matched + (size_t)b * n, s->best, tbest);
}

typedef struct {
    rpn_state *st;
    const layer *l;
    const network *net;
} rpn_job;

static void proposals_part(void *ctx, long begin, long end)
{
    rpn_job *j = ctx;
    rpn_scratch s;
    scratch_of_thread(&s, j->st->n);
    for (long b = begin; b < end; b++) image_proposals(j->st, j->l, j->net, (int)b, &s);
}

/* The training loss of image b, its anchors labelled: the sample, the loss and its
 * delta into dinput. */
static void image_loss(rpn_state *st, const layer *l, const network *net, int b)
{
    box truths[RPN_MAX_TRUTHS];
    int cls[RPN_MAX_TRUTHS];
    rcnn_truths(net->truth + (size_t)b * net->truths, RPN_MAX_TRUTHS, truths, cls);
    const rpn_options *o = &st->opt;
    int n = st->n, wh = l->w * l->h;
    int *label = st->label + (size_t)b * n, *matched = st->matched + (size_t)b * n;
    int kept = rcnn_subsample(label, n, 0, o->samples, (int)(o->fg_fraction * o->samples), &st->rng, st->idx);
    if (!kept) return;
    float scale = 1.f / kept;
    const float *in = net->input + (size_t)b * l->inputs;
    float *dinput = st->dinput + (size_t)b * l->inputs;
    for (int i = 0; i < n; i++) {
        if (label[i] < 0) continue;
        int a = i / wh, k = i % wh;
        float obj, deltas[4], target[4] = {0}, dd[4], d0;
        anchor_input(in, wh, i, &obj, deltas);
        if (label[i]) rcnn_encode(st->anchors[i], truths[matched[i]], NULL, target);
        float loss = rcnn_rpn_loss(obj, deltas, label[i], target, RPN_BETA, scale, &d0, dd);
        dinput[(5 * a) * wh + k] = d0;
        for (int e = 0; e < 4; e++) dinput[(5 * a + 1 + e) * wh + k] = dd[e];
        st->loss += loss * scale;
        float part_box = 0;
        if (label[i])
            for (int e = 0; e < 4; e++) {
                float g;
                part_box += rcnn_smooth_l1(deltas[e] - target[e], RPN_BETA, &g);
            }
        st->loss_box += part_box * scale;
        st->loss_obj += (loss - part_box) * scale;
    }
}

/* The proposals and labels of the images run on the pool; the sampler then draws
 * its random stream image after image, in one thread, and the loss is summed in
 * image order, so that the result does not depend on the threads. */
void forward_rpn_layer(const layer l, network net)
{
    rpn_state *st = state_of(&l);
    assert(l.batch <= st->batch);
    int train = net.train && net.truth;
    st->loss = st->loss_obj = st->loss_box = 0;
    rpn_job j = {st, &l, &net};
    ohem_pool_for(l.batch, 2, proposals_part, &j);
    if (!train) return;
    memset(st->dinput, 0, (size_t)l.batch * l.inputs * sizeof(float));
    for (int b = 0; b < l.batch; b++) image_loss(st, &l, &net, b);
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

uint64_t *rpn_layer_rng(const layer *l)
{
    return is_rpn_layer(l) ? &state_of(l)->rng : NULL;
}

const rpn_options *rpn_layer_options(const layer *l)
{
    return &state_of(l)->opt;
}
