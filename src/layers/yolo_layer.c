/* yolo_layer.c: [yolo]'s forward and backward: libdarknet's loss, or AlexeyAB's when
 * the cfg gives any of his keys (yolo_layer.h). */
#define _GNU_SOURCE
#include "yolo_layer.h"
#include "dn_internal.h"
#include "plugin.h"
#include "pool.h"

#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YOLO_MAGIC 0x594f4c4fu /* "YOLO" */

/* What one truth of an image adds to the loss line's figures: libdarknet's loss
 * records iou, obj and cat per truth (counted 0: skipped); AlexeyAB's, iou and
 * loss per anchor trained. The images' forwards run on the pool, each recording
 * into its own slots; the figures are then summed in image order, as one thread
 * would sum them. */
typedef struct {
    double iou, loss;
    float obj, cat;
    int counted;
} yolo_record;

typedef struct {
    uint32_t magic;
    yolo_options o;
    int images, per_image;   /* record slots: (images, per_image) */
    int *used;               /* (images) records of each image */
    yolo_record *rec;        /* (images, per_image) */
} yolo_state;

/* The state of a layer that yolo_layer_setup made (asserted, as a plugin layer's). */
static yolo_state *state_of(const layer *l)
{
    return plugin_state(l, YOLO_MAGIC);
}

void yolo_options_default(yolo_options *o)
{
    memset(o, 0, sizeof(*o));
    o->scale_x_y = 1;
    o->iou_normalizer = 0.75f;
    o->obj_normalizer = 1;
    o->cls_normalizer = 1;
    o->iou_loss = IOU_MSE;
    o->max_delta = FLT_MAX;
    o->iou_thresh = 1;
    o->beta_nms = 0.6f;
    o->resize = 1;
}

int yolo_layer_setup(layer *l, const yolo_options *o)
{
    /* one block (free_layer frees cweights): the state, then the record slots of
     * each image, as many as the anchors a truth can train, per truth */
    int images = l->batch > 0 ? l->batch : 1, per_image = (l->max_boxes > 0 ? l->max_boxes : 1) * (l->n > 0 ? l->n : 1);
    size_t head = (sizeof(yolo_state) + 15) & ~(size_t)15, used = ((size_t)images * sizeof(int) + 15) & ~(size_t)15;
    char *mem = calloc(1, head + used + (size_t)images * per_image * sizeof(yolo_record));
    if (!mem) return -1;
    yolo_state *st = (yolo_state *)mem;
    st->magic = YOLO_MAGIC;
    st->o = *o;
    st->images = images;
    st->per_image = per_image;
    st->used = (int *)(mem + head);
    st->rec = (yolo_record *)(mem + head + used);
    free(l->cweights);
    l->cweights = (char *)st;
    l->forward = ohem_forward_yolo_layer;
    l->backward = ohem_backward_yolo_layer;
    return 0;
}

const yolo_options *yolo_layer_options(const layer *l)
{
    if (l->type != YOLO || !l->cweights || *(const uint32_t *)l->cweights != YOLO_MAGIC) return NULL;
    return &((const yolo_state *)l->cweights)->o;
}

/* Index of entry of anchor n at cell loc of image b. */
static int entry(const layer *l, int b, int n, int loc, int e)
{
    return b * l->outputs + n * l->w * l->h * (4 + l->classes + 1) + e * l->w * l->h + loc;
}

static float logistic(float x)
{
    return 1. / (1. + exp(-x));
}

/* The box of anchor n (an index into biases) whose x entry is at x[index]. */
static box yolo_box(const float *x, const float *biases, int n, int index, int i, int j, int lw, int lh, int w,
                    int h, int stride)
{
    box b;
    b.x = (i + x[index + 0 * stride]) / lw;
    b.y = (j + x[index + 1 * stride]) / lh;
    b.w = exp(x[index + 2 * stride]) * biases[2 * n] / w;
    b.h = exp(x[index + 3 * stride]) * biases[2 * n + 1] / h;
    return b;
}

/* new_coords: w = x^2 x 4 x anchor (x the logistic of the conv before). */
static box new_coords_box(const float *x, const float *biases, int n, int index, int i, int j, int lw, int lh,
                          int w, int h, int stride)
{
    box b;
    b.x = (i + x[index + 0 * stride]) / lw;
    b.y = (j + x[index + 1 * stride]) / lh;
    b.w = x[index + 2 * stride] * x[index + 2 * stride] * 4 * biases[2 * n] / w;
    b.h = x[index + 3 * stride] * x[index + 3 * stride] * 4 * biases[2 * n + 1] / h;
    return b;
}

static box decode(const yolo_options *o, const float *x, const float *biases, int n, int index, int i, int j,
                  int lw, int lh, int w, int h, int stride)
{
    return (o && o->new_coords ? new_coords_box : yolo_box)(x, biases, n, index, i, j, lw, lh, w, h, stride);
}

box yolo_layer_box(const layer *l, int b, int a, int i, int j, int netw, int neth)
{
    return decode(yolo_layer_options(l), l->output, l->biases, l->mask[a], entry(l, b, a, j * l->w + i, 0), i, j,
                  l->w, l->h, netw, neth, l->w * l->h);
}

typedef int (*detections_fn)(layer, int, int, int, int, float, int *, int, detection *);

int get_yolo_detections(layer l, int w, int h, int netw, int neth, float thresh, int *map, int relative,
                        detection *dets)
{
    const yolo_options *o = yolo_layer_options(&l);
    if (!o || !o->new_coords) {
        static detections_fn darknet_detections;
        if (!darknet_detections) darknet_detections = (detections_fn)dlsym(RTLD_NEXT, "get_yolo_detections");
        if (!darknet_detections) {
            fprintf(stderr, "error: libdarknet's get_yolo_detections is not found (link libohem.a before -ldarknet)\n");
            exit(1);
        }
        return darknet_detections(l, w, h, netw, neth, thresh, map, relative, dets);
    }
    (void)map;
    if (l.batch == 2) avg_flipped_yolo(l);
    int count = 0, wh = l.w * l.h;
    for (int k = 0; k < wh; k++)
        for (int n = 0; n < l.n; n++) {
            float objectness = l.output[entry(&l, 0, n, k, 4)];
            if (objectness <= thresh) continue;
            dets[count].bbox = yolo_layer_box(&l, 0, n, k % l.w, k / l.w, netw, neth);
            dets[count].objectness = objectness;
            dets[count].classes = l.classes;
            for (int c = 0; c < l.classes; c++) {
                float prob = objectness * l.output[entry(&l, 0, n, k, 5 + c)];
                dets[count].prob[c] = (prob > thresh) ? prob : 0;
            }
            ++count;
        }
    correct_yolo_boxes(dets, count, w, h, netw, neth, relative);
    return count;
}

static int mask_index(const int *mask, int val, int n)
{
    for (int i = 0; i < n; i++)
        if (mask[i] == val) return i;
    return -1;
}

int yolo_best_anchor(const layer *l, const network *net, box truth)
{
    box shift = truth;
    shift.x = shift.y = 0;
    float best = 0;
    int best_n = 0;
    for (int n = 0; n < l->total; n++) {
        box a = {0, 0, l->biases[2 * n] / net->w, l->biases[2 * n + 1] / net->h};
        float iou = box_iou(a, shift);
        if (iou > best) {
            best = iou;
            best_n = n;
        }
    }
    return best_n;
}

/* ---- libdarknet's loss ----------------------------------------------------------- */

static float stock_box_delta(box truth, const float *x, const float *biases, int n, int index, int i, int j,
                             int lw, int lh, int w, int h, float *delta, float scale, int stride)
{
    box pred = yolo_box(x, biases, n, index, i, j, lw, lh, w, h, stride);
    float iou = box_iou(pred, truth);
    float tx = (truth.x * lw - i);
    float ty = (truth.y * lh - j);
    float tw = log(truth.w * w / biases[2 * n]);
    float th = log(truth.h * h / biases[2 * n + 1]);
    delta[index + 0 * stride] = scale * (tx - x[index + 0 * stride]);
    delta[index + 1 * stride] = scale * (ty - x[index + 1 * stride]);
    delta[index + 2 * stride] = scale * (tw - x[index + 2 * stride]);
    delta[index + 3 * stride] = scale * (th - x[index + 3 * stride]);
    return iou;
}

/* libdarknet tests delta[index] (class 0's entry) to tell a cell already trained. */
static void stock_class_delta(const float *output, float *delta, int index, int cls, int classes, int stride,
                              float *avg_cat)
{
    if (delta[index]) {
        delta[index + stride * cls] = 1 - output[index + stride * cls];
        if (avg_cat) *avg_cat += output[index + stride * cls];
        return;
    }
    for (int n = 0; n < classes; n++) {
        delta[index + stride * n] = ((n == cls) ? 1 : 0) - output[index + stride * n];
        if (n == cls && avg_cat) *avg_cat += output[index + stride * n];
    }
}

/* libdarknet's loss of image b: its delta, and per truth what the loss line counts
 * into rec. */
static void stock_image(const layer *l, const network *net, int b, yolo_record *rec, int *used)
{
    int wh = l->w * l->h;
    for (int j = 0; j < l->h; j++)
        for (int i = 0; i < l->w; i++)
            for (int n = 0; n < l->n; n++) {
                int loc = j * l->w + i, box_index = entry(l, b, n, loc, 0);
                box pred = yolo_box(l->output, l->biases, l->mask[n], box_index, i, j, l->w, l->h, net->w,
                                    net->h, wh);
                float best_iou = 0;
                int best_t = 0;
                for (int t = 0; t < l->max_boxes; t++) {
                    box truth = float_to_box(net->truth + t * 5 + b * l->truths, 1);
                    if (!truth.x) break;
                    float iou = box_iou(pred, truth);
                    if (iou > best_iou) {
                        best_iou = iou;
                        best_t = t;
                    }
                }
                int obj_index = entry(l, b, n, loc, 4);
                l->delta[obj_index] = 0 - l->output[obj_index];
                if (best_iou > l->ignore_thresh) l->delta[obj_index] = 0;
                if (best_iou > l->truth_thresh) {
                    l->delta[obj_index] = 1 - l->output[obj_index];
                    int cls = net->truth[best_t * 5 + b * l->truths + 4];
                    if (l->map) cls = l->map[cls];
                    stock_class_delta(l->output, l->delta, entry(l, b, n, loc, 5), cls, l->classes, wh, 0);
                    box truth = float_to_box(net->truth + best_t * 5 + b * l->truths, 1);
                    stock_box_delta(truth, l->output, l->biases, l->mask[n], box_index, i, j, l->w, l->h,
                                    net->w, net->h, l->delta, (2 - truth.w * truth.h), wh);
                }
            }
    *used = 0;
    for (int t = 0; t < l->max_boxes; t++) {
        box truth = float_to_box(net->truth + t * 5 + b * l->truths, 1);
        if (!truth.x) break;
        yolo_record *r = &rec[(*used)++];
        r->counted = 0;
        int i = (truth.x * l->w), j = (truth.y * l->h), best_n = yolo_best_anchor(l, net, truth);
        int mask_n = mask_index(l->mask, best_n, l->n);
        if (mask_n < 0) continue;
        int loc = j * l->w + i, box_index = entry(l, b, mask_n, loc, 0);
        float iou = stock_box_delta(truth, l->output, l->biases, best_n, box_index, i, j, l->w, l->h, net->w,
                                    net->h, l->delta, (2 - truth.w * truth.h), wh);
        int obj_index = entry(l, b, mask_n, loc, 4);
        r->obj = l->output[obj_index];
        l->delta[obj_index] = 1 - l->output[obj_index];
        int cls = net->truth[t * 5 + b * l->truths + 4];
        if (l->map) cls = l->map[cls];
        float cat = 0;
        stock_class_delta(l->output, l->delta, entry(l, b, mask_n, loc, 5), cls, l->classes, wh, &cat);
        r->cat = cat;
        r->iou = iou;
        r->counted = 1;
    }
}

/* The images [begin, end) of a forward: each writes its own delta and records. */
typedef struct {
    const layer *l;
    const network *net;
    yolo_state *st;
    int first;               /* the image of record slot 0 */
} yolo_job;

static void stock_part(void *ctx, long begin, long end)
{
    yolo_job *j = ctx;
    for (long k = begin; k < end; k++)
        stock_image(j->l, j->net, j->first + (int)k, j->st->rec + (size_t)k * j->st->per_image, &j->st->used[k]);
}

/* fn over images [first, end), at most st->images of them, on the pool. */
static void images_for(const layer *l, const network *net, yolo_state *st, int first, int end, ohem_pool_fn fn)
{
    yolo_job j = {l, net, st, first};
    ohem_pool_for(end - first, 1, fn, &j);
}

static void forward_stock(const layer *l, const network *net, yolo_state *st)
{
    float avg_iou = 0, recall = 0, recall75 = 0, avg_cat = 0, avg_obj = 0, avg_anyobj = 0;
    int count = 0, class_count = 0;
    *(l->cost) = 0;
    for (int first = 0; first < l->batch; first += st->images) {
        int end = first + st->images < l->batch ? first + st->images : l->batch;
        images_for(l, net, st, first, end, stock_part);
        for (int b = first; b < end; b++) {
            for (int j = 0; j < l->h; j++)
                for (int i = 0; i < l->w; i++)
                    for (int n = 0; n < l->n; n++) avg_anyobj += l->output[entry(l, b, n, j * l->w + i, 4)];
            const yolo_record *rec = st->rec + (size_t)(b - first) * st->per_image;
            for (int t = 0; t < st->used[b - first]; t++) {
                if (!rec[t].counted) continue;
                float iou = (float)rec[t].iou;
                avg_obj += rec[t].obj;
                avg_cat += rec[t].cat;
                ++count;
                ++class_count;
                if (iou > .5) recall += 1;
                if (iou > .75) recall75 += 1;
                avg_iou += iou;
            }
        }
    }
    *(l->cost) = pow(mag_array(l->delta, l->outputs * l->batch), 2);
    printf("Region %d Avg IOU: %f, Class: %f, Obj: %f, No Obj: %f, .5R: %f, .75R: %f,  count: %d\n", net->index,
           avg_iou / count, avg_cat / class_count, avg_obj / count, avg_anyobj / (l->w * l->h * l->n * l->batch),
           recall / count, recall75 / count, count);
}

/* ---- AlexeyAB's loss ------------------------------------------------------------- */

static float clip(float v, float m)
{
    return v > m ? m : v < -m ? -m : v;
}

static float finite_or_0(float v)
{
    return isnan(v) || isinf(v) ? 0 : v;
}

/* Adds the box delta of truth to anchor n's entries at x[index]; returns the IoU. */
static float ab_box_delta(const yolo_options *o, box truth, const float *x, const float *biases, int n, int index,
                          int i, int j, int lw, int lh, int w, int h, float *delta, float scale, int stride)
{
    box pred = decode(o, x, biases, n, index, i, j, lw, lh, w, h, stride);
    float iou = box_iou(pred, truth);
    if (o->iou_loss == IOU_MSE) {
        float tx = (truth.x * lw - i), ty = (truth.y * lh - j);
        float tw = log(truth.w * w / biases[2 * n]), th = log(truth.h * h / biases[2 * n + 1]);
        if (o->new_coords) {
            tw = sqrt(truth.w * w / (4 * biases[2 * n]));
            th = sqrt(truth.h * h / (4 * biases[2 * n + 1]));
        }
        float t[4] = {tx, ty, tw, th};
        for (int k = 0; k < 4; k++)
            delta[index + k * stride] += scale * (t[k] - x[index + k * stride]) * o->iou_normalizer;
        return iou;
    }
    if (pred.w == 0) pred.w = 1;
    if (pred.h == 0) pred.h = 1;
    float d[4];
    iou_delta_alexeyab((iou_box){pred.x, pred.y, pred.w, pred.h}, (iou_box){truth.x, truth.y, truth.w, truth.h},
                       o->iou_loss, d);
    /* AlexeyAB's chain to the entries: w, h through exp (without the anchor), x, y as
     * they are; with new_coords none */
    if (!o->new_coords) {
        d[2] *= exp(x[index + 2 * stride]);
        d[3] *= exp(x[index + 3 * stride]);
    }
    for (int k = 0; k < 4; k++) {
        float v = finite_or_0(d[k] * o->iou_normalizer);
        if (o->max_delta != FLT_MAX) v = clip(v, o->max_delta);
        delta[index + k * stride] += v;
    }
    return iou;
}

/* AlexeyAB's class delta: a cell whose truth class already has a delta only sets
 * that class; label smoothing moves the targets to 1 - eps/2 and eps/2; focal loss
 * scales the whole delta by 0.5 x its factor at the truth class. */
static void ab_class_delta(const yolo_options *o, const float *output, float *delta, int index, int cls,
                           int classes, int stride)
{
    float eps = o->label_smooth_eps;
    if (delta[index + stride * cls]) {
        float y = eps ? 1 * (1 - eps) + 0.5f * eps : 1;
        float r = y - output[index + stride * cls];
        if (!isnan(r) && !isinf(r)) delta[index + stride * cls] = r;
        return;
    }
    if (o->focal_loss) {
        float pt = output[index + stride * cls] + 0.000000000000001F;
        float grad = -(1 - pt) * (2 * pt * logf(pt) + pt - 1);
        for (int n = 0; n < classes; n++)
            delta[index + stride * n] = (((n == cls) ? 1 : 0) - output[index + stride * n]) * 0.5f * grad;
        return;
    }
    for (int n = 0; n < classes; n++) {
        float y = (n == cls) ? 1 : 0;
        if (eps) y = y * (1 - eps) + 0.5f * eps;
        float r = y - output[index + stride * n];
        if (!isnan(r) && !isinf(r)) delta[index + stride * n] = r;
    }
}

/* 1 when some class's probability at index exceeds 0.25 (AlexeyAB's test of a cell
 * that "predicts the class" before ignore_thresh applies). */
static int predicts_a_class(const float *output, int index, int classes, int stride)
{
    for (int c = 0; c < classes; c++)
        if (output[index + stride * c] > 0.25f) return 1;
    return 0;
}

/* The anchor at (mask_n, cell i, j) learns truth t of image b; its IoU and IoU loss
 * go to record r. */
static void ab_train_anchor(const layer *l, const network *net, const yolo_options *o, int b, int t, int n,
                            int mask_n, int i, int j, box truth, yolo_record *r)
{
    int wh = l->w * l->h, loc = j * l->w + i;
    int cls = net->truth[t * 5 + b * l->truths + 4];
    if (l->map) cls = l->map[cls];
    float iou = ab_box_delta(o, truth, l->output, l->biases, n, entry(l, b, mask_n, loc, 0), i, j, l->w, l->h,
                             net->w, net->h, l->delta, (2 - truth.w * truth.h), wh);
    r->iou = iou;
    r->counted = 1;
    if (o->iou_loss == IOU_GIOU) {
        box pred = decode(o, l->output, l->biases, n, entry(l, b, mask_n, loc, 0), i, j, l->w, l->h, net->w, net->h, wh);
        r->loss = 1 - iou_score((iou_box){pred.x, pred.y, pred.w, pred.h},
                                (iou_box){truth.x, truth.y, truth.w, truth.h}, IOU_GIOU);
    } else {
        r->loss = 1 - iou;
    }
    int obj_index = entry(l, b, mask_n, loc, 4);
    float dobj = o->obj_normalizer * (1 - l->output[obj_index]);
    if (!o->objectness_smooth || l->delta[obj_index] == 0) l->delta[obj_index] = dobj;
    ab_class_delta(o, l->output, l->delta, entry(l, b, mask_n, loc, 5), cls, l->classes, wh);
}

/* AlexeyAB's loss of image b: its delta, and per anchor trained its IoU and IoU loss
 * into rec. */
static void ab_image(const layer *l, const network *net, const yolo_options *o, int b, yolo_record *rec, int *used)
{
    int wh = l->w * l->h;
    *used = 0;
    for (int j = 0; j < l->h; j++)
        for (int i = 0; i < l->w; i++)
            for (int n = 0; n < l->n; n++) {
                int loc = j * l->w + i, box_index = entry(l, b, n, loc, 0);
                int obj_index = entry(l, b, n, loc, 4), class_index = entry(l, b, n, loc, 5);
                box pred = decode(o, l->output, l->biases, l->mask[n], box_index, i, j, l->w, l->h, net->w,
                                  net->h, wh);
                float best_match = 0, best_iou = 0;
                int best_t = 0, matches = predicts_a_class(l->output, class_index, l->classes, wh);
                for (int t = 0; t < l->max_boxes; t++) {
                    box truth = float_to_box(net->truth + t * 5 + b * l->truths, 1);
                    if (!truth.x) break;
                    int cls = net->truth[t * 5 + b * l->truths + 4];
                    if (cls < 0 || cls >= l->classes) continue;
                    float iou = box_iou(pred, truth);
                    if (iou > best_match && matches) best_match = iou;
                    if (iou > best_iou) {
                        best_iou = iou;
                        best_t = t;
                    }
                }
                l->delta[obj_index] = o->obj_normalizer * (0 - l->output[obj_index]);
                if (best_match > l->ignore_thresh) {
                    if (o->objectness_smooth) {
                        float d = o->obj_normalizer * (best_match - l->output[obj_index]);
                        if (d > l->delta[obj_index]) l->delta[obj_index] = d;
                    } else {
                        l->delta[obj_index] = 0;
                    }
                }
                if (best_iou > l->truth_thresh) {
                    float iou2 = best_iou * best_iou;
                    l->delta[obj_index] = o->obj_normalizer *
                                          ((o->objectness_smooth ? iou2 : 1) - l->output[obj_index]);
                    int cls = net->truth[best_t * 5 + b * l->truths + 4];
                    if (l->map) cls = l->map[cls];
                    ab_class_delta(o, l->output, l->delta, class_index, cls, l->classes, wh);
                    if (o->objectness_smooth)
                        l->delta[class_index + wh * cls] = iou2 - l->output[class_index + wh * cls];
                    box truth = float_to_box(net->truth + best_t * 5 + b * l->truths, 1);
                    ab_box_delta(o, truth, l->output, l->biases, l->mask[n], box_index, i, j, l->w, l->h,
                                 net->w, net->h, l->delta, (2 - truth.w * truth.h), wh);
                }
            }
    for (int t = 0; t < l->max_boxes; t++) {
        box truth = float_to_box(net->truth + t * 5 + b * l->truths, 1);
        if (!truth.x) break;
        int cls = net->truth[t * 5 + b * l->truths + 4];
        if (cls < 0 || cls >= l->classes) continue;
        int i = (truth.x * l->w), j = (truth.y * l->h), best_n = yolo_best_anchor(l, net, truth);
        int mask_n = mask_index(l->mask, best_n, l->n);
        if (mask_n >= 0) ab_train_anchor(l, net, o, b, t, best_n, mask_n, i, j, truth, &rec[(*used)++]);
        if (o->iou_thresh >= 1.0f) continue;
        box shift = truth;
        shift.x = shift.y = 0;
        for (int n = 0; n < l->total; n++) {
            int m = mask_index(l->mask, n, l->n);
            if (m < 0 || n == best_n) continue;
            box a = {0, 0, l->biases[2 * n] / net->w, l->biases[2 * n + 1] / net->h};
            if (box_iou(a, shift) > o->iou_thresh) ab_train_anchor(l, net, o, b, t, n, m, i, j, truth, &rec[(*used)++]);
        }
    }
    /* with several anchors per truth, a box delta summed over the classes trained
     * at a cell is divided by their number */
    if (o->iou_thresh < 1.0f)
        for (int loc = 0; loc < wh; loc++)
            for (int n = 0; n < l->n; n++) {
                if (l->delta[entry(l, b, n, loc, 4)] == 0) continue;
                int ci = entry(l, b, n, loc, 5), bi = entry(l, b, n, loc, 0), k = 0;
                for (int c = 0; c < l->classes; c++) k += l->delta[ci + wh * c] > 0;
                if (k > 0)
                    for (int e = 0; e < 4; e++) l->delta[bi + e * wh] /= k;
            }
}

static void ab_part(void *ctx, long begin, long end)
{
    yolo_job *j = ctx;
    for (long k = begin; k < end; k++)
        ab_image(j->l, j->net, &j->st->o, j->first + (int)k, j->st->rec + (size_t)k * j->st->per_image,
                 &j->st->used[k]);
}

static void forward_alexeyab(const layer *l, const network *net, yolo_state *st)
{
    const yolo_options *o = &st->o;
    int wh = l->w * l->h;
    double s_iou = 0, s_iou_loss = 0;
    int s_count = 0;
    for (int first = 0; first < l->batch; first += st->images) {
        int end = first + st->images < l->batch ? first + st->images : l->batch;
        images_for(l, net, st, first, end, ab_part);
        for (int b = first; b < end; b++) {
            const yolo_record *rec = st->rec + (size_t)(b - first) * st->per_image;
            for (int k = 0; k < st->used[b - first]; k++) {
                s_iou += (float)rec[k].iou;
                s_count++;
                s_iou_loss += rec[k].loss;
            }
        }
    }
    /* AlexeyAB's cost: the squared delta with the MSE box loss; with an IoU loss, the
     * normalised mean IoU loss plus the objectness-normalised squared delta of the
     * other entries */
    int count = s_count ? s_count : 1;
    if (o->iou_loss == IOU_MSE) {
        *(l->cost) = pow(mag_array(l->delta, l->outputs * l->batch), 2);
    } else {
        double rest = 0;
        for (int b = 0; b < l->batch; b++)
            for (int n = 0; n < l->n; n++)
                for (int e = 4; e < 5 + l->classes; e++)
                    for (int loc = 0; loc < wh; loc++) {
                        float d = l->delta[entry(l, b, n, loc, e)];
                        rest += (double)d * d;
                    }
        *(l->cost) = (float)(o->iou_normalizer * (s_iou_loss / count) + o->obj_normalizer * rest);
    }
    printf("Region %d %s loss (iou %.2f, obj %.2f, cls %.2f): Avg IOU: %f, count: %d, cost: %f\n", net->index,
           iou_kind_name(o->iou_loss), o->iou_normalizer, o->obj_normalizer, o->cls_normalizer, s_iou / count,
           s_count, *(l->cost));
}

/* The activations of anchors [begin, end) of the batch (image b, anchor n at
 * b x l.n + n): the logistic of x, y, objectness and classes, then scale_x_y. */
typedef struct {
    const layer *l;
    const yolo_options *o;
} activate_job;

static void activate_part(void *ctx, long begin, long end)
{
    activate_job *j = ctx;
    const layer *l = j->l;
    const yolo_options *o = j->o;
    float s = o && o->alexeyab ? o->scale_x_y : 1;
    int wh = l->w * l->h;
    for (long k = begin; k < end; k++) {
        int b = (int)(k / l->n), n = (int)(k % l->n);
        float *x = l->output + entry(l, b, n, 0, 0), *obj = l->output + entry(l, b, n, 0, 4);
        if (!o || !o->new_coords) {
            for (int i = 0; i < 2 * wh; i++) x[i] = logistic(x[i]);
            for (int i = 0; i < (1 + l->classes) * wh; i++) obj[i] = logistic(obj[i]);
        }
        if (s != 1)
            for (int i = 0; i < 2 * wh; i++) x[i] = x[i] * s - 0.5f * (s - 1);
    }
}

/* The forward: the activations, then in training the loss, image by image on the
 * pool (each image's delta is its own; the loss line's figures are summed in image
 * order afterwards, so the result does not depend on the threads). */
void ohem_forward_yolo_layer(const layer l, network net)
{
    const yolo_options *o = yolo_layer_options(&l);
    memcpy(l.output, net.input, l.outputs * l.batch * sizeof(float));
    activate_job aj = {&l, o};
    ohem_pool_for((long)l.batch * l.n, ohem_pool_grain(32L * (5 + l.classes) * l.w * l.h), activate_part, &aj);
    memset(l.delta, 0, l.outputs * l.batch * sizeof(float));
    if (!net.train) return;
    if (o && o->alexeyab) forward_alexeyab(&l, &net, state_of(&l));
    else forward_stock(&l, &net, state_of(&l));
}

void ohem_backward_yolo_layer(const layer l, network net)
{
    for (int i = 0; i < l.batch * l.inputs; i++) net.delta[i] += l.delta[i];
}

static int nms_class;

/* Higher probability of class nms_class first. */
static int by_prob(const void *pa, const void *pb)
{
    const detection *a = pa, *b = pb;
    float d = a->prob[nms_class] - b->prob[nms_class];
    return d < 0 ? 1 : d > 0 ? -1 : 0;
}

void yolo_nms(detection *dets, int n, int classes, float thresh, const yolo_options *o)
{
    if (!o || !o->nms_kind) {
        do_nms_sort(dets, n, classes, thresh);
        return;
    }
    /* detections of objectness 0 go last and out of the count */
    int k = n - 1;
    for (int i = 0; i <= k; i++)
        if (dets[i].objectness == 0) {
            detection t = dets[i];
            dets[i] = dets[k];
            dets[k] = t;
            k--;
            i--;
        }
    n = k + 1;
    double beta = o->nms_kind == 1 ? 0.6 : o->beta_nms;
    for (int c = 0; c < classes; c++) {
        nms_class = c;
        qsort(dets, n, sizeof(detection), by_prob);
        for (int i = 0; i < n; i++) {
            if (dets[i].prob[c] == 0) continue;
            box a = dets[i].bbox;
            for (int j = i + 1; j < n; j++) {
                box b = dets[j].bbox;
                if (iou_diou_nms((iou_box){a.x, a.y, a.w, a.h}, (iou_box){b.x, b.y, b.w, b.h}, beta) > thresh)
                    dets[j].prob[c] = 0;
            }
        }
    }
}
