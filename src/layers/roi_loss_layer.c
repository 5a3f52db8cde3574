/* roi_loss_layer.c: the [roi_loss] Darknet layer (roi_loss_layer.h) over rcnn.c. */
#include "roi_loss_layer.h"
#include "plugin.h"
#include "pool.h"
#include "rcnn.h"
#include "roipool_layer.h"
#include "rpn_layer.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROI_LOSS_MAGIC 0x726f696cu
#define ROI_MAX_TRUTHS 90
#define ROI_BETA 1.f /* smooth L1 threshold of the head's box loss (Fast R-CNN) */

static const float roi_std[4] = {.1f, .1f, .2f, .2f};

typedef struct {
    uint32_t magic;
    roi_loss_options opt;
    int index, images, rois, rpn;
    roi_rows *rows;         /* [roipool]'s RoIs and the head's rows */
    float *loss, *cls, *bx; /* (images x rois): full loss and its two parts */
    int *label, *sampled, *matched, *idx; /* (images x rois), (rois) for idx */
    float *best;            /* (images x rois): the IoUs of the labelling, scratch */
    unsigned char *trained; /* (images x rois) */
    uint64_t rng;
    roi_loss_stats stats;   /* of the last forward */
    roi_loss_stats acc;     /* summed since roi_loss_layer_take_stats */
} roi_loss_state;

static roi_loss_state *state_of(const layer *l)
{
    return plugin_state(l, ROI_LOSS_MAGIC);
}

static int sample_rois(void *ctx, const network *net, unsigned char *picked);

void roi_loss_options_default(roi_loss_options *o)
{
    memset(o, 0, sizeof(*o));
    o->fg_iou = .5f;
    o->bg_lo = .1f;
    o->bg_hi = .5f;
    o->rois_per_image = 64;
    o->fg_fraction = .25f;
    o->sampler = 1;
    o->jitter = .2f;
}

static void state_free(roi_loss_state *st)
{
    if (!st) return;
    free(st->loss);
    free(st->cls);
    free(st->bx);
    free(st->label);
    free(st->sampled);
    free(st->matched);
    free(st->idx);
    free(st->best);
    free(st->trained);
    st->magic = 0;
}

int make_roi_loss_layer(layer *l, const roi_loss_options *o, network *net, int index,
                        int roipool, int batch, int inputs)
{
    const layer *rp = &net->layers[roipool];
    assert(is_roipool_layer(rp) && roipool < index && inputs == 5 * o->classes + 1);
    roi_rows *rr = roipool_layer_rows(rp);
    int R = roi_rows_per_image(rr);
    layer z = {0};
    *l = z;
    l->type = BLANK;
    l->batch = batch;
    l->inputs = l->outputs = inputs;
    l->w = l->h = l->out_w = l->out_h = 1;
    l->c = l->out_c = inputs;
    l->classes = o->classes;
    l->coords = 4;
    l->max_boxes = ROI_MAX_TRUTHS;
    l->truths = 5 * ROI_MAX_TRUTHS;
    l->jitter = o->jitter;
    l->forward = forward_roi_loss_layer;
    l->backward = backward_roi_loss_layer;
    size_t rows = (size_t)batch;
    roi_loss_state *st = calloc(1, sizeof(*st));
    l->output = calloc(rows * inputs, sizeof(float));
    l->delta = calloc(rows * inputs, sizeof(float));
    l->cost = calloc(1, sizeof(float));
    if (!st || !l->output || !l->delta || !l->cost) goto fail;
    l->cweights = (char *)st;
    st->magic = ROI_LOSS_MAGIC;
    st->opt = *o;
    st->index = index;
    st->rois = R;
    st->images = batch / R;
    st->rows = rr;
    st->rpn = roipool - 1;
    st->loss = calloc(rows, sizeof(float));
    st->cls = calloc(rows, sizeof(float));
    st->bx = calloc(rows, sizeof(float));
    st->label = calloc(rows, sizeof(int));
    st->sampled = calloc(rows, sizeof(int));
    st->matched = calloc(rows, sizeof(int));
    st->idx = calloc(R, sizeof(int));
    st->best = calloc(rows, sizeof(float));
    st->trained = calloc(rows, 1);
    if (!st->loss || !st->cls || !st->bx || !st->label || !st->sampled || !st->matched || !st->idx || !st->best ||
        !st->trained)
        goto fail;
    st->rng = rcnn_seed();
    roi_rows_attach(rr, index, sample_rois, st);
    if (o->sampler)
        fprintf(stderr, "roi_loss   %d classes, sampler: %d RoIs per image, <= %.0f%% foreground\n",
                o->classes, o->rois_per_image, 100 * o->fg_fraction);
    else
        fprintf(stderr, "roi_loss   %d classes, the sampler off: [ohem] chooses the RoIs that train\n", o->classes);
    return 0;
fail:
    state_free(st);
    free(st);
    free(l->output);
    free(l->delta);
    free(l->cost);
    *l = z;
    return -1;
}

int is_roi_loss_layer(const layer *l)
{
    return plugin_is(l, forward_roi_loss_layer);
}

void free_roi_loss_layer(layer *l)
{
    if (is_roi_loss_layer(l)) state_free(state_of(l));
}

uint64_t *roi_loss_layer_rng(const layer *l)
{
    return is_roi_loss_layer(l) ? &state_of(l)->rng : NULL;
}

/* Softmax of row r's scores into the output; the deltas copied. */
static void row_output(const layer *l, const float *in, int r)
{
    int m = l->classes + 1;
    const float *x = in + (size_t)r * l->inputs;
    float *y = l->output + (size_t)r * l->inputs;
    double e[m];
    float mx = x[0];
    for (int k = 1; k < m; k++) mx = x[k] > mx ? x[k] : mx;
    double sum = 0;
    for (int k = 0; k < m; k++) {
        e[k] = exp((double)(x[k] - mx));
        sum += e[k];
    }
    for (int k = 0; k < m; k++) y[k] = (float)(e[k] / sum);
    memcpy(y + m, x + m, (size_t)(l->inputs - m) * sizeof(float));
}

/* rows_output's rows [begin, end). */
typedef struct {
    const layer *l;
    const float *in;
} output_job;

static void output_part(void *ctx, long begin, long end)
{
    output_job *j = ctx;
    for (long r = begin; r < end; r++) row_output(j->l, j->in, (int)r);
}

/* Softmax of each row's scores into the output; the deltas copied. Rows are
 * independent: the pool splits them. */
static void rows_output(const layer *l, const float *in, int rows)
{
    output_job j = {l, in};
    ohem_pool_for(rows, 256, output_part, &j);
}

/* The loss of one labelled RoI (label a class, or classes for background, matched
 * its truth) and its delta times scale into d: Fast R-CNN's target, then
 * rcnn_roi_loss. c and bx receive the two parts. */
static float row_loss(const roi_loss_state *st, box roi, const box *truths, int label, int matched,
                      const float *x, float scale, float *d, float *c, float *bx)
{
    float target[4] = {0};
    if (label < st->opt.classes) rcnn_encode(roi, truths[matched], roi_std, target);
    return rcnn_roi_loss(x, st->opt.classes, label, target, ROI_BETA, scale, d, c, bx);
}

/* Counts one trained RoI (its loss, parts and label) into s, at scale. */
static void stats_add_roi(roi_loss_stats *s, float loss, float c, float bx, float scale, int fg)
{
    s->roi += loss * scale;
    s->roi_cls += c * scale;
    s->roi_box += bx * scale;
    s->trained++;
    s->foreground += fg;
}

/* dst += src, every figure. */
static void stats_add(roi_loss_stats *dst, const roi_loss_stats *src)
{
    dst->roi += src->roi;
    dst->roi_cls += src->roi_cls;
    dst->roi_box += src->roi_box;
    dst->rpn += src->rpn;
    dst->rpn_obj += src->rpn_obj;
    dst->rpn_box += src->rpn_box;
    dst->trained += src->trained;
    dst->foreground += src->foreground;
}

/* The truths of image b (a class past the layer's made empty: it trains as nothing)
 * into truths and cls; returns their count. */
static int image_truths(const roi_loss_state *st, const network *net, int b, box *truths, int *cls)
{
    int nt = rcnn_truths(net->truth + (size_t)b * net->truths, ROI_MAX_TRUTHS, truths, cls);
    for (int t = 0; t < nt; t++)
        if (cls[t] < 0 || cls[t] >= st->opt.classes) truths[t].w = truths[t].h = 0;
    return nt;
}

/* Labels the RoIs of image b (-1 for [roipool]'s invalid repeats); returns its RoIs. */
static const box *image_labels(roi_loss_state *st, int b, const box *truths,
                               const int *cls, int nt)
{
    const roi_loss_options *o = &st->opt;
    int R = st->rois;
    const box *rois = roi_rows_boxes(st->rows) + (size_t)b * R;
    const unsigned char *valid = roi_rows_valid(st->rows) + (size_t)b * R;
    int *label = st->label + (size_t)b * R, *matched = st->matched + (size_t)b * R;
    rcnn_roi_label(rois, R, truths, cls, nt, o->fg_iou, o->bg_lo, o->bg_hi, o->classes, label, matched,
                   st->best + (size_t)b * R);
    for (int r = 0; r < R; r++)
        if (!valid[r]) label[r] = -1;
    return rois;
}

/* Labels and losses of image b with the sampler off: nothing trains yet ([ohem]
 * chooses), so no delta; each labelled RoI's loss and parts for the ranking. */
static void image_mine(roi_loss_state *st, const layer *l, const network *net, int b)
{
    int R = st->rois;
    box truths[ROI_MAX_TRUTHS];
    int cls[ROI_MAX_TRUTHS];
    int nt = image_truths(st, net, b, truths, cls);
    const box *rois = image_labels(st, b, truths, cls, nt);
    const int *label = st->label + (size_t)b * R, *matched = st->matched + (size_t)b * R;
    for (int r = 0; r < R; r++) {
        size_t row = (size_t)b * R + r;
        st->sampled[row] = -1;
        st->trained[row] = 0;
        st->loss[row] = st->cls[row] = st->bx[row] = 0;
        if (label[r] < 0) continue;
        st->loss[row] = row_loss(st, rois[r], truths, label[r], matched[r], net->input + row * l->inputs, 0,
                                 NULL, &st->cls[row], &st->bx[row]);
    }
}

/* image_mine over images [begin, end): images are independent (each writes its own
 * rows), so the pool splits them. */
typedef struct {
    roi_loss_state *st;
    const layer *l;
    const network *net;
    const unsigned char *kept;
} image_job;

static void mine_part(void *ctx, long begin, long end)
{
    image_job *j = ctx;
    for (long b = begin; b < end; b++) image_mine(j->st, j->l, j->net, (int)b);
}

/* Labels, losses, sampling and delta of image b (the sampler's random stream is
 * drawn image after image). */
static void image_loss(roi_loss_state *st, const layer *l, const network *net, int b)
{
    const roi_loss_options *o = &st->opt;
    int R = st->rois, C = o->classes;
    box truths[ROI_MAX_TRUTHS];
    int cls[ROI_MAX_TRUTHS];
    int nt = image_truths(st, net, b, truths, cls);
    const box *rois = image_labels(st, b, truths, cls, nt);
    int *label = st->label + (size_t)b * R, *sampled = st->sampled + (size_t)b * R;
    int *matched = st->matched + (size_t)b * R;
    memcpy(sampled, label, (size_t)R * sizeof(int));
    int n = rcnn_subsample(sampled, R, C, o->rois_per_image, (int)(o->fg_fraction * o->rois_per_image),
                           &st->rng, st->idx);
    float scale = n ? 1.f / n : 0;
    for (int r = 0; r < R; r++) {
        size_t row = (size_t)b * R + r;
        st->trained[row] = sampled[r] >= 0;
        st->loss[row] = st->cls[row] = st->bx[row] = 0;
        if (label[r] < 0) continue;
        float c, bx;
        float *d = st->trained[row] ? l->delta + row * l->inputs : NULL;
        st->loss[row] = row_loss(st, rois[r], truths, label[r], matched[r], net->input + row * l->inputs,
                                 scale, d, &c, &bx);
        st->cls[row] = c;
        st->bx[row] = bx;
        if (st->trained[row]) stats_add_roi(&st->stats, st->loss[row], c, bx, scale, label[r] < C);
    }
}

/* Fast R-CNN's sampler, the picker of the head's rows (roi_rows.h): labels the RoIs
 * of each image of net's batch and sets picked to the sampled ones. Returns 0 (and
 * sets nothing) when the sampler is off. */
static int sample_rois(void *ctx, const network *net, unsigned char *picked)
{
    roi_loss_state *st = ctx;
    assert(st->magic == ROI_LOSS_MAGIC);
    const roi_loss_options *o = &st->opt;
    if (!o->sampler) return 0;
    int R = st->rois, C = o->classes;
    for (int b = 0; b < net->batch; b++) {
        box truths[ROI_MAX_TRUTHS];
        int cls[ROI_MAX_TRUTHS];
        int nt = image_truths(st, net, b, truths, cls);
        image_labels(st, b, truths, cls, nt);
        int *sampled = st->sampled + (size_t)b * R;
        memcpy(sampled, st->label + (size_t)b * R, (size_t)R * sizeof(int));
        rcnn_subsample(sampled, R, C, o->rois_per_image, (int)(o->fg_fraction * o->rois_per_image), &st->rng,
                       st->idx);
        for (int r = 0; r < R; r++) picked[(size_t)b * R + r] = sampled[r] >= 0;
    }
    return 1;
}

/* A packed forward ([roipool] cut only the K RoIs the sampler picked, row_of, in
 * image order): each gets its loss and delta at its packed row, an image's sampled
 * RoIs sharing its loss as the mean over them. Their labels are those that
 * sample_rois gave them in this forward. */
static void packed_loss(roi_loss_state *st, const layer *l, const network *net, const int *row_of, int K)
{
    int R = st->rois, C = st->opt.classes;
    size_t n = (size_t)net->batch * R;
    memset(st->trained, 0, n);
    memset(st->loss, 0, n * sizeof(float));
    memset(st->cls, 0, n * sizeof(float));
    memset(st->bx, 0, n * sizeof(float));
    const box *rois = roi_rows_boxes(st->rows);
    for (int k = 0; k < K;) {
        int b = row_of[k] / R, first = k;
        while (k < K && row_of[k] / R == b) k++;
        box truths[ROI_MAX_TRUTHS];
        int cls[ROI_MAX_TRUTHS];
        image_truths(st, net, b, truths, cls);
        float scale = 1.f / (k - first);
        for (int j = first; j < k; j++) {
            size_t row = (size_t)row_of[j];
            assert(st->label[row] >= 0);
            float c, bx;
            st->trained[row] = 1;
            st->loss[row] = row_loss(st, rois[row], truths, st->label[row], st->matched[row],
                                     net->input + (size_t)j * l->inputs, scale, l->delta + (size_t)j * l->inputs, &c, &bx);
            st->cls[row] = c;
            st->bx[row] = bx;
            stats_add_roi(&st->stats, st->loss[row], c, bx, scale, st->label[row] < C);
        }
    }
}

void forward_roi_loss_layer(const layer l, network net)
{
    roi_loss_state *st = state_of(&l);
    assert(l.batch <= st->images * st->rois);
    rows_output(&l, net.input, l.batch);
    memset(&st->stats, 0, sizeof(st->stats));
    *l.cost = 0;
    if (!(net.train && net.truth)) return;
    memset(l.delta, 0, (size_t)l.batch * l.inputs * sizeof(float));
    const int *row_of;
    int K = roi_rows_packed(st->rows, &row_of);
    if (K >= 0) {
        packed_loss(st, &l, &net, row_of, K);
    } else if (st->opt.sampler) {
        int images = l.batch / st->rois;
        for (int b = 0; b < images; b++) image_loss(st, &l, &net, b);
    } else {
        image_job j = {st, &l, &net, NULL};
        ohem_pool_for(l.batch / st->rois, 2, mine_part, &j);
    }
    st->stats.rpn = rpn_layer_loss(&net.layers[st->rpn], &st->stats.rpn_obj, &st->stats.rpn_box);
    *l.cost = st->stats.roi + st->stats.rpn;
    stats_add(&st->acc, &st->stats);
}

void backward_roi_loss_layer(const layer l, network net)
{
    if (net.delta) axpy_cpu(l.batch * l.inputs, 1, l.delta, 1, net.delta, 1);
}

void roi_loss_layer_stats(const layer *l, roi_loss_stats *s)
{
    *s = state_of(l)->stats;
}

void roi_loss_layer_set_mining(layer *l)
{
    roi_loss_state *st = state_of(l);
    st->opt.sampler = 0;
    if (!st->opt.bg_given) st->opt.bg_lo = 0;
}

/* The delta of image b's kept RoIs (image_job.kept), at scale 1 / their number;
 * trained set to them. */
static void image_train(roi_loss_state *st, const layer *l, const network *net, const unsigned char *kept, int b)
{
    int R = st->rois;
    const box *rois = roi_rows_boxes(st->rows);
    const float *in = net->layers[st->index - 1].output;
    box truths[ROI_MAX_TRUTHS];
    int cls[ROI_MAX_TRUTHS];
    image_truths(st, net, b, truths, cls);
    int n = 0;
    for (int r = 0; r < R; r++) n += kept[(size_t)b * R + r] && st->label[(size_t)b * R + r] >= 0;
    float scale = n ? 1.f / n : 0, c, bx;
    for (int r = 0; r < R; r++) {
        size_t row = (size_t)b * R + r;
        int lab = st->label[row];
        st->trained[row] = kept[row] && lab >= 0;
        if (st->trained[row])
            row_loss(st, rois[row], truths, lab, st->matched[row], in + row * l->inputs, scale,
                     l->delta + row * l->inputs, &c, &bx);
    }
}

static void train_part(void *ctx, long begin, long end)
{
    image_job *j = ctx;
    for (long b = begin; b < end; b++) image_train(j->st, j->l, j->net, j->kept, (int)b);
}

void roi_loss_layer_train_rows(layer *l, const network *net, const unsigned char *kept)
{
    roi_loss_state *st = state_of(l);
    int R = st->rois, C = st->opt.classes, images = l->batch / R;
    memset(l->delta, 0, (size_t)l->batch * l->inputs * sizeof(float));
    image_job j = {st, l, net, kept};
    ohem_pool_for(images, 2, train_part, &j);
    /* the kept RoIs' figures, summed in RoI order: their losses are those the
     * mining forward computed on the same rows */
    roi_loss_stats t = {0};
    for (int b = 0; b < images; b++) {
        int n = 0;
        for (int r = 0; r < R; r++) n += st->trained[(size_t)b * R + r];
        float scale = n ? 1.f / n : 0;
        for (int r = 0; r < R; r++) {
            size_t row = (size_t)b * R + r;
            if (st->trained[row])
                stats_add_roi(&t, st->loss[row], st->cls[row], st->bx[row], scale, st->label[row] < C);
        }
    }
    stats_add(&st->stats, &t);
    stats_add(&st->acc, &t);
    *l->cost += t.roi;
}

void roi_loss_layer_parts(const layer *l, const float **cls, const float **box_part)
{
    roi_loss_state *st = state_of(l);
    *cls = st->cls;
    *box_part = st->bx;
}

void roi_loss_layer_take_stats(layer *l, roi_loss_stats *s)
{
    roi_loss_state *st = state_of(l);
    *s = st->acc;
    memset(&st->acc, 0, sizeof(st->acc));
}

void roi_loss_layer_rois(const layer *l, const float **loss, const int **label,
                         const unsigned char **trained)
{
    roi_loss_state *st = state_of(l);
    if (loss) *loss = st->loss;
    if (label) *label = st->label;
    if (trained) *trained = st->trained;
}

/* A box relative to the network input, moved to the image that was letterboxed into
 * it (as Darknet's correct_yolo_boxes does). */
static box unletterbox(box b, int netw, int neth, int w, int h)
{
    int new_w, new_h;
    if ((float)netw / w < (float)neth / h) {
        new_w = netw;
        new_h = (h * netw) / w;
    } else {
        new_h = neth;
        new_w = (w * neth) / h;
    }
    b.x = (b.x - (netw - new_w) / 2.f / netw) / ((float)new_w / netw);
    b.y = (b.y - (neth - new_h) / 2.f / neth) / ((float)new_h / neth);
    b.w *= (float)netw / new_w;
    b.h *= (float)neth / new_h;
    return b;
}

int roi_loss_layer_detections(const layer *l, const network *net, int b, int im_w, int im_h,
                              float thresh, detection **dets)
{
    roi_loss_state *st = state_of(l);
    int R = st->rois, C = st->opt.classes, n = 0;
    const box *rois = roi_rows_boxes(st->rows) + (size_t)b * R;
    const unsigned char *valid = roi_rows_valid(st->rows) + (size_t)b * R;
    const float *out = l->output + (size_t)b * R * l->inputs;
    for (int r = 0; r < R; r++)
        for (int k = 0; k < C; k++) n += valid[r] && out[(size_t)r * l->inputs + k] > thresh;
    *dets = calloc(n ? n : 1, sizeof(detection));
    if (!*dets) return 0;
    int j = 0;
    for (int r = 0; r < R; r++) {
        if (!valid[r]) continue;
        const float *y = out + (size_t)r * l->inputs;
        for (int k = 0; k < C; k++) {
            if (!(y[k] > thresh)) continue;
            detection *d = &(*dets)[j];
            d->prob = calloc(C, sizeof(float));
            if (!d->prob) break;
            d->classes = C;
            d->prob[k] = y[k];
            d->objectness = y[k];
            d->sort_class = k;
            box bb = rcnn_clip(rcnn_decode(rois[r], y + C + 1 + 4 * k, roi_std));
            d->bbox = unletterbox(bb, net->w, net->h, im_w, im_h);
            j++;
        }
    }
    return j;
}

roi_rows *roi_loss_layer_rows(const layer *l)
{
    return state_of(l)->rows;
}
