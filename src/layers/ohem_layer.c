/* ohem_layer.c: the [ohem] layer: candidates of the source loss layers, their
 * losses, boxes and positives (one small adapter per loss-layer kind), the
 * selection per image, and the delta mask. */
#include "ohem_layer.h"
#include "yolo_layer.h"
#include "plugin.h"
#include "dn_internal.h"
#include "ohem.h"
#include "roi_loss_layer.h"

#include <assert.h>
#include <math.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OHEM_MAGIC 0x6f68656du

/* How one kind of loss layer lays out its candidates. is tells whether L is of the
 * kind; count gives its candidates per image. For image b, gather adds the squared
 * delta entries of each candidate into coord/obj/cls (or, for [roi_loss], copies its
 * loss parts), decodes its box (when boxes is not NULL) and flags the positives;
 * labelled (NULL: every candidate is) flags the candidates that have a loss at all.
 * mask zeroes every delta entry of the candidates whose kept flag is 0 (NULL:
 * [roi_loss], whose delta forward_ohem_layer has [roi_loss] compute for the kept
 * rows). All arrays are (count). */
typedef struct {
    int (*is)(const layer *L);
    int (*count)(const layer *L, const network *net);
    void (*gather)(const layer *L, const network *net, int b, float *coord, float *obj,
                   float *cls, box *boxes, unsigned char *pos);
    void (*labelled)(const layer *L, const network *net, int b, unsigned char *ok);
    void (*mask)(layer *L, int b, const unsigned char *kept);
} ohem_kind;

typedef struct {
    int index;               /* the layer in net->layers */
    const ohem_kind *kind;
    int offset, count;       /* its candidates within an image */
} ohem_source;

typedef struct {
    uint32_t magic;
    ohem_options opt;
    int batch;
    int rows;                /* rows per image: 1, or the RoIs of a [roi_loss] source */
    int images;              /* batch / rows */
    int n;                   /* candidates per image, all sources */
    int per_unit;            /* images per selection unit: 1, or batch for [softmax] */
    int unit_n;              /* candidates per unit */
    int nsrc;
    ohem_source src[OHEM_MAX_SOURCES];
    float *coord, *obj, *cls, *rank;   /* (unit_n) loss parts, and the ranking loss */
    float *key;                        /* (unit_n) what the walk ranks: rank, ties at 0 by the full loss */
    box *boxes;                        /* (unit_n) */
    unsigned char *pos, *mark;         /* (unit_n) */
    int *keep;                         /* (unit_n) */
    unsigned char *ok;                 /* (unit_n) labelled: has a loss, may be kept */
    float *ckey;                       /* (unit_n) key of the labelled candidates, packed */
    box *cboxes;                       /* (unit_n) their boxes */
    unsigned char *cpos;               /* (unit_n) their positive flags */
    int *cidx;                         /* (unit_n) their candidate indices */
    unsigned char *kept;               /* (images, n) */
    float *scale;                      /* (images) rescale factor of each unit's kept deltas */
    ohem_scratch scratch;
    int mask_ready;
    int inspect;             /* ohem show: boxes always, no warmup, no stats line */
    int started;
    ohem_stats cur;
} ohem_state;

/* ---- [yolo] and [region]: (anchor, entry, cell) per image ------------------------ */

/* Entries of one anchor: coordinates, objectness, classes. */
static int anchor_entries(const layer *L)
{
    return L->type == YOLO ? 4 + 1 + L->classes : L->coords + 1 + L->classes;
}

static int anchor_coords(const layer *L)
{
    return L->type == YOLO ? 4 : L->coords;
}

static int grid_count(const layer *L, const network *net)
{
    (void)net;
    return L->n * L->w * L->h;
}

static void grid_gather_loss(const layer *L, int b, float *coord, float *obj, float *cls)
{
    int wh = L->w * L->h, E = anchor_entries(L), nc = anchor_coords(L);
    for (int a = 0; a < L->n; a++) {
        float *co = coord + a * wh, *ob = obj + a * wh, *cl = cls + a * wh;
        memset(co, 0, wh * sizeof(float));
        memset(ob, 0, wh * sizeof(float));
        memset(cl, 0, wh * sizeof(float));
        for (int e = 0; e < E; e++) {
            const float *d = L->delta + b * L->outputs + (a * E + e) * wh;
            float *dst = e < nc ? co : e == nc ? ob : cl;
            for (int k = 0; k < wh; k++) dst[k] += d[k] * d[k];
        }
    }
}

/* The cell (i, j) of a truth box, or -1 when its centre lies outside the grid. */
static int truth_cell(const layer *L, box t, int *i, int *j)
{
    *i = (int)(t.x * L->w);
    *j = (int)(t.y * L->h);
    return (*i >= 0 && *i < L->w && *j >= 0 && *j < L->h) ? 0 : -1;
}

static void yolo_gather(const layer *L, const network *net, int b, float *coord, float *obj,
                        float *cls, box *boxes, unsigned char *pos)
{
    int wh = L->w * L->h;
    grid_gather_loss(L, b, coord, obj, cls);
    if (boxes)
        for (int a = 0; a < L->n; a++)
            for (int k = 0; k < wh; k++)
                boxes[a * wh + k] = yolo_layer_box(L, b, a, k % L->w, k / L->w, net->w, net->h);
    /* A truth is matched, as forward_yolo_layer matches it, to the anchor of best
     * shape IoU at its cell; it is a candidate here when that anchor is masked in. */
    memset(pos, 0, (size_t)grid_count(L, net));
    for (int t = 0; t < L->max_boxes && (t + 1) * 5 <= L->truths; t++) {
        box truth = float_to_box(net->truth + b * L->truths + t * 5, 1);
        if (!truth.x) break;
        int i, j;
        if (truth_cell(L, truth, &i, &j) != 0) continue;
        int m = int_index(L->mask, yolo_best_anchor(L, net, truth), L->n);
        if (m >= 0) pos[m * wh + j * L->w + i] = 1;
    }
}

static void region_gather(const layer *L, const network *net, int b, float *coord, float *obj,
                          float *cls, box *boxes, unsigned char *pos)
{
    int wh = L->w * L->h, E = anchor_entries(L);
    grid_gather_loss(L, b, coord, obj, cls);
    if (boxes)
        for (int a = 0; a < L->n; a++)
            for (int k = 0; k < wh; k++)
                boxes[a * wh + k] = get_region_box(L->output, L->biases, a,
                                                   b * L->outputs + a * E * wh + k, k % L->w,
                                                   k / L->w, L->w, L->h, wh);
    /* forward_region_layer matches a truth to the anchor at its cell whose predicted
     * (or, with bias_match, prior) shape overlaps it most; it reads 30 truths. */
    memset(pos, 0, (size_t)grid_count(L, net));
    int stride = L->coords + 1;
    for (int t = 0; t < 30 && (t + 1) * stride <= L->truths; t++) {
        box truth = float_to_box(net->truth + b * L->truths + t * stride, 1);
        if (!truth.x) break;
        int i, j, best_n = 0;
        if (truth_cell(L, truth, &i, &j) != 0) continue;
        box shift = truth;
        shift.x = shift.y = 0;
        float best_iou = 0;
        for (int a = 0; a < L->n; a++) {
            box pred = get_region_box(L->output, L->biases, a,
                                      b * L->outputs + a * E * wh + j * L->w + i, i, j, L->w,
                                      L->h, wh);
            if (L->bias_match) {
                pred.w = L->biases[2 * a] / L->w;
                pred.h = L->biases[2 * a + 1] / L->h;
            }
            pred.x = pred.y = 0;
            float iou = box_iou(pred, shift);
            if (iou > best_iou) {
                best_iou = iou;
                best_n = a;
            }
        }
        pos[best_n * wh + j * L->w + i] = 1;
    }
}

static void grid_mask(layer *L, int b, const unsigned char *kept)
{
    int wh = L->w * L->h, E = anchor_entries(L);
    for (int a = 0; a < L->n; a++)
        for (int e = 0; e < E; e++) {
            float *d = L->delta + b * L->outputs + (a * E + e) * wh;
            const unsigned char *k = kept + a * wh;
            for (int c = 0; c < wh; c++)
                if (!k[c]) d[c] = 0;
        }
}

/* ---- [detection] (YOLOv1): classes per cell, then confidences, then boxes ------- */

static int detection_count(const layer *L, const network *net)
{
    (void)net;
    return L->side * L->side * L->n;
}

/* The class entries belong to a cell, not to one of its box slots: every slot of
 * the cell counts them, and they are zeroed when no slot of the cell is kept. */
static void detection_gather(const layer *L, const network *net, int b, float *coord, float *obj,
                             float *cls, box *boxes, unsigned char *pos)
{
    int cells = L->side * L->side;
    const float *d = L->delta + b * L->inputs, *out = L->output + b * L->inputs;
    for (int cell = 0; cell < cells; cell++) {
        float cl = 0;
        for (int k = 0; k < L->classes; k++) cl += d[cell * L->classes + k] * d[cell * L->classes + k];
        int is_obj = net->truth[(b * cells + cell) * (1 + L->coords + L->classes)] != 0;
        for (int s = 0; s < L->n; s++) {
            int c = cell * L->n + s;
            float p = d[cells * L->classes + c];
            const float *bd = d + cells * (L->classes + L->n) + c * L->coords;
            float co = 0;
            for (int k = 0; k < L->coords; k++) co += bd[k] * bd[k];
            coord[c] = co;
            obj[c] = p * p;
            cls[c] = cl;
            pos[c] = (unsigned char)is_obj;
            if (boxes) {
                const float *bo = out + cells * (L->classes + L->n) + c * L->coords;
                box bx;
                bx.x = (bo[0] + cell % L->side) / L->side;
                bx.y = (bo[1] + cell / L->side) / L->side;
                bx.w = L->sqrt ? bo[2] * bo[2] : bo[2];
                bx.h = L->sqrt ? bo[3] * bo[3] : bo[3];
                boxes[c] = bx;
            }
        }
    }
}

static void detection_mask(layer *L, int b, const unsigned char *kept)
{
    int cells = L->side * L->side;
    float *d = L->delta + b * L->inputs;
    for (int cell = 0; cell < cells; cell++) {
        int any = 0;
        for (int s = 0; s < L->n; s++) {
            int c = cell * L->n + s;
            if (kept[c]) {
                any = 1;
                continue;
            }
            d[cells * L->classes + c] = 0;
            memset(d + cells * (L->classes + L->n) + c * L->coords, 0, L->coords * sizeof(float));
        }
        if (!any) memset(d + cell * L->classes, 0, L->classes * sizeof(float));
    }
}

/* ---- [softmax]: one candidate per sample, no boxes, no positives ----------------- */

static int softmax_count(const layer *L, const network *net)
{
    (void)L;
    (void)net;
    return 1;
}

static void softmax_gather(const layer *L, const network *net, int b, float *coord, float *obj,
                           float *cls, box *boxes, unsigned char *pos)
{
    (void)net;
    (void)boxes;
    const float *d = L->delta + b * L->inputs;
    float s = 0;
    for (int k = 0; k < L->inputs; k++) s += d[k] * d[k];
    coord[0] = obj[0] = 0;
    cls[0] = s;
    pos[0] = 0;
}

static void softmax_mask(layer *L, int b, const unsigned char *kept)
{
    if (!kept[0]) memset(L->delta + b * L->inputs, 0, L->inputs * sizeof(float));
}

/* ---- [roi_loss]: the RoIs of an image (its rows), labelled or not -------------- */

static int roi_count(const layer *L, const network *net)
{
    (void)net;
    return roi_rows_per_image(roi_loss_layer_rows(L));
}

/* A RoI's parts are [roi_loss]'s own (mining turns its delta off until the RoIs are
 * chosen, so there is no delta to square): coord the box part, cls the
 * classification part, obj 0; its box the RoI; positive when foreground. */
static void roi_gather(const layer *L, const network *net, int b, float *coord, float *obj,
                       float *cls, box *boxes, unsigned char *pos)
{
    int R = roi_count(L, net);
    const float *c, *bx;
    const int *label;
    roi_loss_layer_parts(L, &c, &bx);
    roi_loss_layer_rois(L, NULL, &label, NULL);
    size_t o = (size_t)b * R;
    for (int r = 0; r < R; r++) {
        coord[r] = bx[o + r];
        obj[r] = 0;
        cls[r] = c[o + r];
        pos[r] = label[o + r] >= 0 && label[o + r] < L->classes;
    }
    if (boxes) memcpy(boxes, roi_rows_boxes(roi_loss_layer_rows(L)) + o, (size_t)R * sizeof(box));
}

/* The RoIs with a label: not [roipool]'s invalid repeats, not outside the bg band. */
static void roi_labelled(const layer *L, const network *net, int b, unsigned char *ok)
{
    int R = roi_count(L, net);
    const int *label;
    roi_loss_layer_rois(L, NULL, &label, NULL);
    for (int r = 0; r < R; r++) ok[r] = label[(size_t)b * R + r] >= 0;
}

static int is_yolo(const layer *L) { return L->type == YOLO; }
static int is_region(const layer *L) { return L->type == REGION; }
static int is_detection(const layer *L) { return L->type == DETECTION; }
static int is_softmax(const layer *L) { return L->type == SOFTMAX; }

static const ohem_kind ohem_kinds[] = {
    {is_yolo, grid_count, yolo_gather, NULL, grid_mask},
    {is_region, grid_count, region_gather, NULL, grid_mask},
    {is_detection, detection_count, detection_gather, NULL, detection_mask},
    {is_softmax, softmax_count, softmax_gather, NULL, softmax_mask},
    {is_roi_loss_layer, roi_count, roi_gather, roi_labelled, NULL},
};

static const ohem_kind *kind_of(const layer *L)
{
    for (size_t i = 0; i < sizeof(ohem_kinds) / sizeof(ohem_kinds[0]); i++)
        if (ohem_kinds[i].is(L)) return &ohem_kinds[i];
    return NULL;
}

int ohem_layer_can_mine(const layer *l)
{
    return kind_of(l) != NULL;
}

/* ---- the state: one block behind l.cweights, which free_layer frees -------------- */

static ohem_state *state_of(const layer *l)
{
    return plugin_state(l, OHEM_MAGIC);
}

static size_t align16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* Lays out a state for the current shapes of the sources; returns NULL when memory
 * runs out. */
static ohem_state *state_build(const ohem_options *opt, network *net, int batch)
{
    ohem_state head;
    memset(&head, 0, sizeof(head));
    head.magic = OHEM_MAGIC;
    head.opt = *opt;
    head.batch = batch;
    head.nsrc = opt->nlayers;
    head.per_unit = 1;
    head.rows = 1;
    for (int s = 0; s < opt->nlayers; s++) {
        const layer *L = &net->layers[opt->layers[s]];
        head.src[s].index = opt->layers[s];
        head.src[s].kind = kind_of(L);
        assert(head.src[s].kind);
        head.src[s].offset = head.n;
        head.src[s].count = head.src[s].kind->count(L, net);
        head.n += head.src[s].count;
        if (L->type == SOFTMAX) head.per_unit = batch;
        /* the parser mines a [roi_loss] alone: its rows are the layer's batch */
        if (is_roi_loss_layer(L)) head.rows = head.src[s].count;
    }
    assert(batch % head.rows == 0);
    head.images = batch / head.rows;
    head.unit_n = head.per_unit * head.n;
    size_t un = (size_t)head.unit_n, off = align16(sizeof(ohem_state));
    size_t o_coord = off; off += align16(5 * un * sizeof(float));
    size_t o_boxes = off; off += align16(un * sizeof(box));
    size_t o_pos = off; off += align16(4 * un);
    size_t o_keep = off; off += align16(2 * un * sizeof(int));
    size_t o_ckey = off; off += align16(un * sizeof(float));
    size_t o_cbox = off; off += align16(un * sizeof(box));
    size_t o_kept = off; off += align16((size_t)head.images * head.n);
    size_t o_scale = off; off += align16((size_t)head.images * sizeof(float));
    size_t o_scr = off; off += ohem_scratch_bytes(head.unit_n);
    char *mem = calloc(1, off);
    if (!mem) return NULL;
    ohem_state *st = (ohem_state *)mem;
    *st = head;
    st->coord = (float *)(mem + o_coord);
    st->obj = st->coord + un;
    st->cls = st->obj + un;
    st->rank = st->cls + un;
    st->key = st->rank + un;
    st->boxes = (box *)(mem + o_boxes);
    st->pos = (unsigned char *)(mem + o_pos);
    st->mark = st->pos + un;
    st->ok = st->mark + un;
    st->cpos = st->ok + un;
    st->keep = (int *)(mem + o_keep);
    st->cidx = st->keep + un;
    st->ckey = (float *)(mem + o_ckey);
    st->cboxes = (box *)(mem + o_cbox);
    st->kept = (unsigned char *)(mem + o_kept);
    st->scale = (float *)(mem + o_scale);
    ohem_scratch_bind(&st->scratch, mem + o_scr, st->unit_n);
    return st;
}

void ohem_options_default(ohem_options *o)
{
    memset(o, 0, sizeof(*o));
    o->per_image = 64;
    o->nms = 0.7f;
    o->rank = OHEM_RANK_ALL;
    o->stats = 1;
    o->sparse = 1;
}

int make_ohem_layer(layer *l, const ohem_options *opt, network *net, int index,
                    int batch, int inputs, int h, int w, int c)
{
    layer z = {0};
    *l = z;
    assert(opt->nlayers > 0 && opt->nlayers <= OHEM_MAX_SOURCES);
    for (int s = 0; s < opt->nlayers; s++) assert(opt->layers[s] >= 0 && opt->layers[s] < index);
    l->type = BLANK;
    l->batch = batch;
    l->inputs = l->outputs = inputs;
    l->h = l->out_h = h;
    l->w = l->out_w = w;
    l->c = l->out_c = c;
    /* The last source's truth layout and data keys, which Darknet reads off the
     * network's last layer (net->truths, max_boxes, classes, random). */
    const layer *last = &net->layers[opt->layers[opt->nlayers - 1]];
    l->truths = last->truths;
    l->max_boxes = last->max_boxes;
    l->classes = last->classes;
    l->coords = last->coords;
    l->random = last->random;
    l->jitter = last->jitter;
    l->forward = forward_ohem_layer;
    l->backward = backward_ohem_layer;
    l->output = calloc((size_t)batch * inputs, sizeof(float));
    l->delta = calloc((size_t)batch * inputs, sizeof(float));
    l->cweights = (char *)state_build(opt, net, batch);
    if (!l->output || !l->delta || !l->cweights) {
        free(l->output);
        free(l->delta);
        free(l->cweights);
        *l = z;
        return -1;
    }
    /* the paper's setting: no sampler, every RoI labelled from IoU 0 (unless bg_iou
     * says otherwise); [ohem] chooses the RoIs that train */
    for (int s = 0; s < opt->nlayers; s++)
        if (is_roi_loss_layer(&net->layers[opt->layers[s]])) {
            roi_loss_layer_set_mining(&net->layers[opt->layers[s]]);
            if (opt->sparse) roi_rows_expect_sparse(roi_loss_layer_rows(&net->layers[opt->layers[s]]));
        }
    ohem_layer_summary(l, stderr);
    return 0;
}

int resize_ohem_layer(layer *l, network *net, int index)
{
    ohem_state *old = state_of(l);
    const layer *prev = &net->layers[index - 1];
    ohem_state *st = state_build(&old->opt, net, l->batch);
    float *out = realloc(l->output, (size_t)l->batch * prev->outputs * sizeof(float));
    if (out) l->output = out;
    float *delta = out ? realloc(l->delta, (size_t)l->batch * prev->outputs * sizeof(float)) : NULL;
    if (delta) l->delta = delta;
    if (!st || !out || !delta) {
        free(st);
        return -1;
    }
    st->started = old->started;
    st->cur = old->cur;
    free(old);
    l->cweights = (char *)st;
    l->inputs = l->outputs = prev->outputs;
    l->h = l->out_h = prev->out_h;
    l->w = l->out_w = prev->out_w;
    l->c = l->out_c = prev->out_c;
    return 0;
}

int is_ohem_layer(const layer *l)
{
    return plugin_is(l, forward_ohem_layer);
}

int ohem_layer_stats(const layer *l, ohem_stats *out)
{
    if (!is_ohem_layer(l)) return -1;
    ohem_state *st = state_of(l);
    if (!st->started) return -1;
    *out = st->cur;
    return 0;
}

const unsigned char *ohem_layer_kept(const layer *l, int *per_image)
{
    if (!is_ohem_layer(l)) return NULL;
    ohem_state *st = state_of(l);
    *per_image = st->n;
    return st->mask_ready ? st->kept : NULL;
}

int ohem_layer_candidates(const layer *l, const box **boxes, const float **rank_loss,
                          const unsigned char **pos, const unsigned char **kept, int *n)
{
    if (!is_ohem_layer(l)) return -1;
    ohem_state *st = state_of(l);
    if (!st->started) return -1;
    *boxes = st->boxes;
    *rank_loss = st->rank;
    *pos = st->pos;
    *kept = st->kept;
    *n = st->unit_n;
    return 0;
}

int ohem_layer_unit_candidates(const layer *l, int *images)
{
    const ohem_state *st = state_of(l);
    *images = st->per_unit;
    return st->unit_n;
}

void ohem_layer_inspect(layer *l, int on)
{
    state_of(l)->inspect = on;
}

void ohem_layer_describe(const layer *l, const network *net, int c, char *out, size_t cap)
{
    const ohem_state *st = state_of(l);
    int img = c / st->n, k = c % st->n;
    for (int s = 0; s < st->nsrc; s++) {
        const ohem_source *src = &st->src[s];
        if (k < src->offset || k >= src->offset + src->count) continue;
        const layer *L = &net->layers[src->index];
        int i = k - src->offset;
        if (L->type == SOFTMAX) {
            snprintf(out, cap, "layer %d, sample %d", src->index, img);
        } else if (is_roi_loss_layer(L)) {
            snprintf(out, cap, "layer %d, RoI %d", src->index, i);
        } else if (L->type == DETECTION) {
            int cell = i / L->n;
            snprintf(out, cap, "layer %d, cell (%d,%d), box %d", src->index, cell % L->side, cell / L->side, i % L->n);
        } else {
            int wh = L->w * L->h, cell = i % wh;
            snprintf(out, cap, "layer %d, anchor %d, cell (%d,%d)", src->index, i / wh, cell % L->w, cell / L->w);
        }
        return;
    }
    snprintf(out, cap, "candidate %d", c);
}

/* The walk's key for a candidate whose ranking part (rank=coord/obj/class) is 0,
 * as every negative's coord and class parts are in [yolo]: a negative number, below
 * every loss, that grows with the full loss, so that such candidates are ranked by
 * their full loss and not by their position (which would favour the first cells).
 * -(FLT_MAX's bits - full's bits) read as a float: exact and monotone, and kept
 * clear of denormals (libdarknet sets denormals-are-zero). */
static float zero_part_key(float full)
{
    uint32_t u, m;
    float f = full >= 0 ? full : 0, k;
    memcpy(&u, &f, sizeof(u));
    if (u > 0x7e7fffffu) u = 0x7e7fffffu;
    m = 0x7f7fffffu - u;
    memcpy(&k, &m, sizeof(k));
    return -k;
}

/* Gathers the candidates of selection unit u into the unit arrays, and flags in ok
 * those that have a loss (all but [roi_loss]'s unlabelled RoIs). */
static void unit_gather(ohem_state *st, const network *net, int u, int want_boxes)
{
    for (int img = 0; img < st->per_unit; img++) {
        int b = u * st->per_unit + img;
        for (int s = 0; s < st->nsrc; s++) {
            const ohem_source *src = &st->src[s];
            const layer *L = &net->layers[src->index];
            int o = img * st->n + src->offset;
            src->kind->gather(L, net, b, st->coord + o, st->obj + o, st->cls + o,
                              want_boxes ? st->boxes + o : NULL, st->pos + o);
            if (src->kind->labelled) src->kind->labelled(L, net, b, st->ok + o);
            else memset(st->ok + o, 1, (size_t)src->count);
        }
    }
    for (int i = 0; i < st->unit_n; i++) {
        switch (st->opt.rank) {
        case OHEM_RANK_COORD: st->rank[i] = st->coord[i]; break;
        case OHEM_RANK_OBJ: st->rank[i] = st->obj[i]; break;
        case OHEM_RANK_CLASS: st->rank[i] = st->cls[i]; break;
        default: st->rank[i] = st->coord[i] + st->obj[i] + st->cls[i]; break;
        }
        st->key[i] = st->opt.rank != OHEM_RANK_ALL && st->rank[i] == 0
                   ? zero_part_key(st->coord[i] + st->obj[i] + st->cls[i]) : st->rank[i];
    }
}

/* The candidates the walk keeps of a unit of n labelled ones. */
static int unit_budget(const ohem_state *st, int n)
{
    if (st->opt.fraction > 0) {
        /* fraction is a float (0.1 is 0.1000000015): without the tolerance,
         * 0.1 x 960 would keep 97 */
        double want = (double)st->opt.fraction * n;
        want -= want * 1e-6;
        int k = (int)want;
        return k < want ? k + 1 : k;
    }
    return st->opt.per_image;
}

void ohem_layer_summary(const layer *l, FILE *f)
{
    const ohem_state *st = state_of(l);
    const ohem_options *o = &st->opt;
    const char *unit = st->per_unit > 1 ? "batch" : "image";
    static const char *const ranks[] = {"all", "coord", "obj", "class"};
    if (o->fraction > 0)
        fprintf(f, "ohem       fraction %g: %d of %d per %s", o->fraction, unit_budget(st, st->unit_n), st->unit_n, unit);
    else
        fprintf(f, "ohem       %d per %s", o->per_image, unit);
    fprintf(f, ", nms %.2f, %d candidates per image", o->nms, st->n);
    if (st->rows > 1) fprintf(f, " (the labelled RoIs of [roi_loss], its sampler off)");
    if (o->rank != OHEM_RANK_ALL)
        fprintf(f, ", rank %s (candidates at 0 on it, such as negatives, by their full loss)", ranks[o->rank]);
    if (o->keep_positives) fprintf(f, ", positives kept");
    if (o->neg_pos_ratio > 0) fprintf(f, ", neg_pos_ratio %g", o->neg_pos_ratio);
    if (o->min_negatives > 0) fprintf(f, ", min_negatives %d", o->min_negatives);
    if (o->warmup > 0) fprintf(f, ", warmup %d iterations", o->warmup);
    fprintf(f, "\n");
}

/* Selects among the labelled candidates of the unit gathered last (all of them but
 * [roi_loss]'s unlabelled RoIs), packed so that an unlabelled one takes no part in
 * the ranking, the NMS, the budget or the policy. Sets kept (unit_n); returns how
 * many are kept, *nlab receives how many are labelled. */
static int unit_select(ohem_state *st, const ohem_policy *p0, int nms_on, unsigned char *kept, int *nlab)
{
    int m = 0;
    for (int i = 0; i < st->unit_n; i++) {
        if (!st->ok[i]) continue;
        st->cidx[m] = i;
        st->ckey[m] = st->key[i];
        st->cpos[m] = st->pos[i];
        if (nms_on) st->cboxes[m] = st->boxes[i];
        m++;
    }
    ohem_policy p = *p0;
    p.budget = unit_budget(st, m);
    int nk = ohem_select_policy(&st->scratch, &p, st->ckey, nms_on ? st->cboxes : NULL, st->cpos,
                                st->mark, m, st->keep);
    memset(kept, 0, (size_t)st->unit_n);
    for (int k = 0; k < nk; k++) kept[st->cidx[st->keep[k]]] = 1;
    *nlab = m;
    return nk;
}

/* The stats line of an iteration. */
static void print_stats(const ohem_stats *s)
{
    printf("ohem %ld: %s kept %ld/%ld (%.2f%%), positives %ld/%ld, mean loss kept %.4g vs all %.4g\n",
           s->iteration, s->active ? "mining," : "warmup,", s->kept, s->candidates,
           s->candidates ? 100.0 * s->kept / s->candidates : 0.0, s->positives_kept,
           s->positives, s->kept ? s->loss_kept / s->kept : 0.0,
           s->candidates ? s->loss_all / s->candidates : 0.0);
}

void forward_ohem_layer(const layer l, network net)
{
    ohem_state *st = state_of(&l);
    assert(l.batch <= st->batch && l.batch % st->rows == 0);
    copy_cpu(l.outputs * l.batch, net.input, 1, l.output, 1);
    st->mask_ready = 0;
    if (!net.train) return;

    size_t per_iter = (size_t)net.batch * (net.subdivisions > 0 ? net.subdivisions : 1);
    size_t seen = net.seen ? *net.seen : 0;
    long iteration = seen ? (long)((seen - 1) / per_iter) + 1 : 0;
    int last_subdivision = seen == 0 || (seen / net.batch) % (per_iter / net.batch) == 0;
    if (!st->started || st->cur.iteration != iteration) {
        memset(&st->cur, 0, sizeof(st->cur));
        st->cur.iteration = iteration;
        st->started = 1;
    }
    int active = iteration > st->opt.warmup || (iteration == 0 && st->opt.warmup == 0) || st->inspect;
    st->cur.active = active;

    int nms_on = st->opt.nms < 1;
    ohem_policy p = {0, st->opt.nms, st->opt.keep_positives, st->opt.neg_pos_ratio,
                     st->opt.min_negatives};
    int units = l.batch / st->rows / st->per_unit;
    for (int u = 0; u < units; u++) {
        unit_gather(st, &net, u, (active && nms_on) || st->inspect);
        unsigned char *kept = st->kept + (size_t)u * st->unit_n;
        int nk, nlab;
        if (active) {
            nk = unit_select(st, &p, nms_on, kept, &nlab);
        } else { /* warmup: every labelled candidate trains */
            memcpy(kept, st->ok, (size_t)st->unit_n);
            nlab = 0;
            for (int i = 0; i < st->unit_n; i++) nlab += st->ok[i];
            nk = nlab;
        }
        /* rescale: the one-stage loss sums over candidates, so keeping K of N also
         * shrinks the gradient; the factor restores a scale (the full loss of a
         * candidate is the sum of its squared delta entries) */
        double sq_all = 0, sq_kept = 0;
        for (int i = 0; i < st->unit_n; i++) {
            if (!st->ok[i]) continue;
            double f = (double)st->coord[i] + st->obj[i] + st->cls[i];
            sq_all += f;
            sq_kept += kept[i] ? f : 0;
        }
        st->scale[u] = !active || !nk ? 1.f
                     : st->opt.rescale == 1 ? (float)nlab / nk
                     : st->opt.rescale == 2 && sq_kept > 0 ? (float)sqrt(sq_all / sq_kept) : 1.f;
        for (int i = 0; i < st->unit_n; i++) {
            if (!st->ok[i]) continue;
            double full = (double)st->coord[i] + st->obj[i] + st->cls[i];
            st->cur.loss_all += full;
            st->cur.positives += st->pos[i];
            if (kept[i]) {
                st->cur.loss_kept += full;
                st->cur.positives_kept += st->pos[i];
            }
        }
        st->cur.kept += nk;
        st->cur.candidates += nlab;
    }
    /* [roi_loss]: its delta, for exactly the kept RoIs, is computed now rather than
     * in backward, so that its cost holds the RoI loss when libdarknet's
     * forward_network sums the costs, right after this layer (the printed loss). */
    for (int s = 0; s < st->nsrc; s++)
        if (!st->src[s].kind->mask) {
            layer *L = &net.layers[st->src[s].index];
            roi_loss_layer_train_rows(L, &net, st->kept);
            /* the trainable pass over the kept RoIs only (a head that mixes rows
             * keeps the dense backward) */
            const unsigned char *trained;
            roi_loss_layer_rois(L, NULL, NULL, &trained);
            if (st->opt.sparse) roi_rows_sparse(roi_loss_layer_rows(L), &net, trained);
        }
    st->mask_ready = active || st->rows > 1;
    if (st->opt.stats && last_subdivision && !st->inspect) print_stats(&st->cur);
}

/* Zeroes the delta of every candidate not kept ([roi_loss]'s was set in forward). */
void backward_ohem_layer(const layer l, network net)
{
    ohem_state *st = state_of(&l);
    if (st->mask_ready) {
        for (int s = 0; s < st->nsrc; s++) {
            const ohem_source *src = &st->src[s];
            if (!src->kind->mask) continue;
            layer *L = &net.layers[src->index];
            for (int b = 0; b < l.batch / st->rows; b++) {
                src->kind->mask(L, b, st->kept + (size_t)b * st->n + src->offset);
                float f = st->scale[b / st->per_unit];
                if (st->opt.rescale && f != 1.f) scal_cpu(L->outputs, f, L->delta + (size_t)b * L->outputs, 1);
            }
        }
    }
    if (net.delta) axpy_cpu(l.outputs * l.batch, 1, l.delta, 1, net.delta, 1);
}

void ohem_backward_region_layer(const layer l, network net)
{
    if (net.delta) axpy_cpu(l.batch * l.inputs, 1, l.delta, 1, net.delta, 1);
}
