/* roipool_layer.c: the [roipool] Darknet layer (roipool_layer.h) over roi_align.c. */
#include "roipool_layer.h"
#include "rcnn.h"
#include "roi_loss_layer.h"
#include "pool.h"
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
    int index;              /* this layer's index */
    int *row_of;            /* (images x rois): the RoI of each row (the sparse pass gathers) */
    int packed;             /* rows of the last forward, packed (the sampler's), or -1 */
    unsigned char *picked;  /* (images x rois): the RoIs the sampler picked */
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
    free(st->row_of);
    free(st->picked);
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
    st->index = index;
    st->packed = -1;
    st->row_of = malloc(rows * sizeof(int));
    st->rois = calloc(rows, sizeof(box));
    st->valid = calloc(rows, 1);
    st->picked = calloc(rows, 1);
    if (o->mode == ROIPOOL_MAX) st->argmax = malloc(rows * l->outputs * sizeof(int));
    if (!st->rois || !st->valid || !st->row_of || !st->picked || (o->mode == ROIPOOL_MAX && !st->argmax)) goto fail;
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

/* The feature of RoI roi (of image roi / R) into output row row. */
static void cut_row(roipool_state *st, const layer *l, const layer *src, int roi, int row)
{
    const roipool_options *o = &st->opt;
    const float *map = src->output + (size_t)(roi / o->rois) * src->outputs;
    float c[4];
    rcnn_corners(st->rois[roi], l->w, l->h, c);
    float *out = l->output + (size_t)row * l->outputs;
    if (o->mode == ROIPOOL_MAX) roi_max_forward(map, l->c, l->h, l->w, c, o->size, out, st->argmax + (size_t)row * l->outputs);
    else roi_align_forward(map, l->c, l->h, l->w, c, o->size, o->sampling, out);
}

/* The index of the first layer between [roipool] at pool and the [roi_loss] at loss
 * that mixes rows (batch_normalize, [dropout], a kind not known to work row by row),
 * or -1 when every one computes each row on its own. */
static int mixing_layer(const network *net, int pool, int loss);

/* Rows [begin, end) of a forward: each RoI row_of[k] into row k (rows are
 * independent: the kernels' pool splits them). */
typedef struct {
    roipool_state *st;
    const layer *l, *src;
} cut_job;

static void cut_part(void *ctx, long begin, long end)
{
    cut_job *j = ctx;
    for (long k = begin; k < end; k++) cut_row(j->st, j->l, j->src, j->st->row_of[k], (int)k);
}

static void cut_rows(roipool_state *st, const layer *l, const layer *src, int rows)
{
    cut_job j = {st, l, src};
    ohem_pool_for(rows, 32, cut_part, &j);
}

/* The index of the [roi_loss] that the layers after [roipool] at pool lead to. */
static int loss_after(const network *net, int pool)
{
    int i = pool + 1;
    while (i < net->n - 1 && !is_roi_loss_layer(&net->layers[i])) i++;
    return i;
}

/* Packs the rows with flags[r] != 0 into the first K rows, cuts their features and
 * sets the batch from here to the [roi_loss] at loss to K (to 1 when K is 0: a row
 * that no loss trains). */
static void pack_rows(roipool_state *st, const layer *l, network *net, int images, int loss,
                      const unsigned char *flags)
{
    int R = st->opt.rois, K = 0;
    size_t n = (size_t)images * R;
    for (size_t r = 0; r < n; r++)
        if (flags[r]) st->row_of[K++] = (int)r;
    st->packed = K;
    if (!K) st->row_of[0] = 0;
    int rows = K ? K : 1;
    for (int i = st->index; i <= loss; i++) net->layers[i].batch = rows;
    memset(l->delta, 0, (size_t)rows * l->outputs * sizeof(float));
    cut_rows(st, l, &net->layers[st->opt.from], rows);
}

void forward_roipool_layer(const layer l, network net)
{
    roipool_state *st = state_of(&l);
    const roipool_options *o = &st->opt;
    const layer *src = &net.layers[o->from];
    int R = o->rois, images = net.batch;
    assert(images <= st->images);
    st->packed = -1;
    /* a sparse or packed pass of the last step left this layer and those after it at K rows */
    for (int i = st->index; i < net.n; i++) net.layers[i].batch = images * R;
    int loss = loss_after(&net, st->index);
    for (int b = 0; b < images; b++) image_rois(st, &net, b, st->rois + (size_t)b * R, st->valid + (size_t)b * R);
    /* training with Fast R-CNN's sampler: only the sampled RoIs go through the head */
    layer *L = &net.layers[loss];
    if (net.train && net.truth && is_roi_loss_layer(L) && mixing_layer(&net, st->index, loss) < 0 &&
        roi_loss_layer_sample(L, &net, st->picked)) {
        pack_rows(st, &l, &net, images, loss, st->picked);
        return;
    }
    /* forward_network cleared only the K rows of the delta that the batch said */
    memset(l.delta, 0, (size_t)images * R * l.outputs * sizeof(float));
    for (int r = 0; r < images * R; r++) st->row_of[r] = r;
    cut_rows(st, &l, src, images * R);
}

/* 1 when the n floats at d are all zero (the rows the loss did not train). */
static int all_zero(const float *d, int n)
{
    for (int i = 0; i < n; i++)
        if (d[i] != 0) return 0;
    return 1;
}

/* The backward of the rows of images [begin, end): each image's map takes its rows
 * in row order, whatever the split (the kernels' pool splits images). */
typedef struct {
    roipool_state *st;
    const layer *l;
    layer *src;
} back_job;

static void back_part(void *ctx, long begin, long end)
{
    back_job *j = ctx;
    roipool_state *st = j->st;
    const layer *l = j->l;
    const roipool_options *o = &st->opt;
    int R = o->rois;
    for (int row = 0; row < l->batch; row++) {
        int roi = st->row_of[row];
        if (roi / R < begin || roi / R >= end) continue;
        float *dmap = j->src->delta + (size_t)(roi / R) * j->src->outputs;
        const float *d = l->delta + (size_t)row * l->outputs;
        if (all_zero(d, l->outputs)) continue;
        if (o->mode == ROIPOOL_MAX) {
            roi_max_backward(d, st->argmax + (size_t)row * l->outputs, l->c, o->size, dmap);
        } else {
            float c[4];
            rcnn_corners(st->rois[roi], l->w, l->h, c);
            roi_align_backward(d, l->c, l->h, l->w, c, o->size, o->sampling, dmap);
        }
    }
}

void backward_roipool_layer(const layer l, network net)
{
    roipool_state *st = state_of(&l);
    layer *src = &net.layers[st->opt.from];
    if (!src->delta) return;
    back_job j = {st, &l, src};
    ohem_pool_for(net.batch, 2, back_part, &j);
}

/* Head layers whose rows are computed independently of each other. */
static int row_wise(const layer *l)
{
    if (l->batch_normalize) return 0;
    return l->type == CONNECTED || l->type == CONVOLUTIONAL || l->type == ACTIVE ||
           l->type == MAXPOOL || l->type == AVGPOOL;
}

/* Head layers whose backward reads nothing of their forward but the output (and
 * the input): no batch-norm statistics, no max-pooling indexes. */
static int output_only(const layer *l)
{
    return !l->batch_normalize && (l->type == CONNECTED || l->type == CONVOLUTIONAL || l->type == ACTIVE ||
                                   l->type == AVGPOOL);
}

static int mixing_layer(const network *net, int pool, int loss)
{
    for (int i = pool + 1; i < loss; i++)
        if (!row_wise(&net->layers[i])) return i;
    return -1;
}

int roipool_layer_sparse(network *net, int pool, int loss, const unsigned char *trained)
{
    layer *P = &net->layers[pool];
    roipool_state *st = state_of(P);
    if (mixing_layer(net, pool, loss) >= 0) return -1;
    int total = P->batch, K = 0;
    for (int r = 0; r < total; r++)
        if (trained[r]) st->row_of[K++] = r;
    if (!K) { /* nothing trains: the dense rows are all zero anyway */
        for (int r = 0; r < total; r++) st->row_of[r] = r;
        return 0;
    }
    /* gather in place: row_of[k] >= k and grows, so no source is overwritten first */
    layer *L = &net->layers[loss];
    for (int k = 0; k < K; k++) {
        int r = st->row_of[k];
        if (r == k) continue;
        memcpy(P->output + (size_t)k * P->outputs, P->output + (size_t)r * P->outputs, P->outputs * sizeof(float));
        if (st->argmax)
            memcpy(st->argmax + (size_t)k * P->outputs, st->argmax + (size_t)r * P->outputs, P->outputs * sizeof(int));
        memcpy(L->delta + (size_t)k * L->inputs, L->delta + (size_t)r * L->inputs, L->inputs * sizeof(float));
    }
    for (int i = pool; i <= loss; i++) net->layers[i].batch = K;
    memset(P->delta, 0, (size_t)K * P->outputs * sizeof(float));
    /* what the head's backward reads of its forward is each layer's output (and its
     * input, the layer before's): the read-only forward computed them for every row,
     * so the kept rows are gathered, unless a layer keeps more (max pooling's
     * indexes point into the whole batch) */
    int gather = 1;
    for (int i = pool + 1; i < loss; i++) gather &= output_only(&net->layers[i]);
    if (gather) {
        for (int i = pool + 1; i < loss; i++) {
            layer *h = &net->layers[i];
            for (int k = 0; k < K; k++) {
                int r = st->row_of[k];
                if (r != k) memcpy(h->output + (size_t)k * h->outputs, h->output + (size_t)r * h->outputs, h->outputs * sizeof(float));
            }
            if (h->delta) fill_cpu(h->outputs * K, 0, h->delta, 1);
        }
        return K;
    }
    /* else the head's forward again over the K rows */
    network n = *net;
    n.train = 1;
    n.input = P->output;
    for (int i = pool + 1; i < loss; i++) {
        layer l = net->layers[i];
        n.index = i;
        if (l.delta) fill_cpu(l.outputs * l.batch, 0, l.delta, 1);
        l.forward(l, n);
        n.input = l.output;
    }
    return K;
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

int roipool_layer_packed(const layer *l, const int **row_of)
{
    roipool_state *st = state_of(l);
    if (row_of) *row_of = st->row_of;
    return st->packed;
}
