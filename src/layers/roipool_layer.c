/* roipool_layer.c: the [roipool] Darknet layer (roipool_layer.h) over roi_align.c. */
#include "roipool_layer.h"
#include "coretype.h"
#include "plugin.h"
#include "pool.h"
#include "rcnn.h"
#include "roi_align.h"
#include "roi_rows.h"
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
    int rpn;                /* the [rpn] layer's index */
    int index;              /* this layer's index */
    roi_rows *rows;         /* the RoIs and the rows that hold them; a row carries
                               its max pooling's indexes (outputs ints) in mode max */
    int images;             /* the network's batch */
    float *hwc;             /* mode align: each image's map (forward) or its delta
                               (backward) in roi_align_map_hwc's layout, (images,
                               h, w, roi_align_hwc_channels(c)) */
} roipool_state;

static roipool_state *state_of(const layer *l)
{
    return plugin_state(l, ROIPOOL_MAGIC);
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
    roi_rows_free(st->rows);
    free(st->hwc);
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
    st->rpn = index - 1;
    st->index = index;
    st->images = images;
    st->rows = roi_rows_make(images, o->rois, index, o->mode == ROIPOOL_MAX ? l->outputs : 0);
    if (!st->rows) goto fail;
    if (o->mode == ROIPOOL_ALIGN) {
        /* OHEM_ISA=avx2: RoIAlign's vectors as the rest of the step's, AVX2 */
        if (ohem_cpu_limited()) roi_align_hwc_select(256);
        st->hwc = malloc((size_t)images * l->h * l->w * roi_align_hwc_channels(l->c) * sizeof(float));
        if (!st->hwc) goto fail;
    }
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
    return plugin_is(l, forward_roipool_layer);
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

/* The feature of the RoI of row k (of image roi / R) into output row k: max pooling
 * from the map, RoIAlign from the image's map in HWC (hwc_part's). */
static void cut_row(roipool_state *st, const layer *l, const layer *src, int k)
{
    const roipool_options *o = &st->opt;
    int roi = roi_rows_roi(st->rows, k), b = roi / o->rois;
    float c[4];
    rcnn_corners(roi_rows_boxes(st->rows)[roi], l->w, l->h, c);
    float *out = l->output + (size_t)k * l->outputs;
    if (o->mode == ROIPOOL_MAX) {
        roi_max_forward(src->output + (size_t)b * src->outputs, l->c, l->h, l->w, c, o->size, out,
                        roi_rows_ints(st->rows, k));
    } else {
        size_t hwc = (size_t)l->h * l->w * roi_align_hwc_channels(l->c);
        roi_align_forward_hwc(st->hwc + b * hwc, l->c, l->h, l->w, c, o->size, o->sampling, out);
    }
}

/* Rows [begin, end) of a forward (rows are independent: the kernels' pool splits
 * them). */
typedef struct {
    roipool_state *st;
    const layer *l, *src;
} cut_job;

static void cut_part(void *ctx, long begin, long end)
{
    cut_job *j = ctx;
    for (long k = begin; k < end; k++) cut_row(j->st, j->l, j->src, (int)k);
}

/* Images [begin, end) of the map into st->hwc (mode align). */
static void hwc_part(void *ctx, long begin, long end)
{
    cut_job *j = ctx;
    const layer *l = j->l;
    size_t hwc = (size_t)l->h * l->w * roi_align_hwc_channels(l->c);
    for (long b = begin; b < end; b++)
        roi_align_map_hwc(j->src->output + b * j->src->outputs, l->c, l->h, l->w, j->st->hwc + b * hwc);
}

static void cut_rows(roipool_state *st, const layer *l, const layer *src, int images, int rows)
{
    cut_job j = {st, l, src};
    if (st->opt.mode == ROIPOOL_ALIGN) ohem_pool_for(images, 1, hwc_part, &j);
    ohem_pool_for(rows, 32, cut_part, &j);
}

void forward_roipool_layer(const layer l, network net)
{
    roipool_state *st = state_of(&l);
    int R = st->opt.rois;
    box *rois = roi_rows_boxes(st->rows);
    unsigned char *valid = roi_rows_valid(st->rows);
    for (int b = 0; b < net.batch; b++) image_rois(st, &net, b, rois + (size_t)b * R, valid + (size_t)b * R);
    /* in training with Fast R-CNN's sampler, only the sampled RoIs go through the head */
    int rows = roi_rows_plan(st->rows, &net);
    /* forward_network cleared only the rows of the delta that the batch said (a
     * sparse pass that follows clears those it uses) */
    memset(l.delta, 0, (size_t)roi_rows_delta_rows(st->rows, &net, rows) * l.outputs * sizeof(float));
    assert(net.batch <= st->images);
    cut_rows(st, &l, &net.layers[st->opt.from], net.batch, rows);
}

/* 1 when the n floats at d are all zero (the rows the loss did not train). */
static int all_zero(const float *d, int n)
{
    for (int i = 0; i < n; i++)
        if (d[i] != 0) return 0;
    return 1;
}

/* The backward of the rows of images [begin, end): each image's map takes its rows
 * in row order, whatever the split (the kernels' pool splits images). RoIAlign
 * works on the image's delta in HWC (in st->hwc, which the forward is done with):
 * taken there before its first non-zero row and brought back after its last, the
 * same bytes as the CHW backward row by row. */
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
    size_t hwc_n = (size_t)l->h * l->w * roi_align_hwc_channels(l->c);
    for (long b = begin; b < end; b++) {
        float *dmap = j->src->delta + (size_t)b * j->src->outputs, *dhwc = st->hwc + b * hwc_n;
        int any = 0;
        for (int row = 0; row < l->batch; row++) {
            int roi = roi_rows_roi(st->rows, row);
            if (roi / R != b) continue;
            const float *d = l->delta + (size_t)row * l->outputs;
            if (all_zero(d, l->outputs)) continue;
            if (o->mode == ROIPOOL_MAX) {
                roi_max_backward(d, roi_rows_ints(st->rows, row), l->c, o->size, dmap);
                continue;
            }
            if (!any) roi_align_map_hwc(dmap, l->c, l->h, l->w, dhwc);
            any = 1;
            float c[4];
            rcnn_corners(roi_rows_boxes(st->rows)[roi], l->w, l->h, c);
            roi_align_backward_hwc(d, l->c, l->h, l->w, c, o->size, o->sampling, dhwc);
        }
        if (any) roi_align_map_chw(dhwc, l->c, l->h, l->w, dmap);
    }
}

void backward_roipool_layer(const layer l, network net)
{
    roipool_state *st = state_of(&l);
    layer *src = &net.layers[st->opt.from];
    if (!src->delta) return;
    assert(net.batch <= st->images);
    back_job j = {st, &l, src};
    ohem_pool_for(net.batch, 2, back_part, &j);
}

roi_rows *roipool_layer_rows(const layer *l)
{
    return state_of(l)->rows;
}

int roipool_layer_count(const layer *l)
{
    return is_roipool_layer(l) ? state_of(l)->opt.rois : 0;
}

const roipool_options *roipool_layer_options(const layer *l)
{
    return &state_of(l)->opt;
}
