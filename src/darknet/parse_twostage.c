/* parse_twostage.c: the keys of [rpn], [roipool] and [roi_loss], each checked (a
 * number, its range, where the section stands), then the layer built. */
#include "parse_twostage.h"
#include "parser.h"
#include "roi_loss_layer.h"
#include "roipool_layer.h"
#include "rpn_layer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const ohem_cfg *cfg;
    const ohem_cfg_section *s;
    ohem_err *e;
} keys;

static const char *val(const keys *k, const char *key)
{
    for (int i = 0; i < k->s->nkeys; i++) /* a key is "name\0value" */
        if (!strcmp(k->s->keys[i], key)) return k->s->keys[i] + strlen(key) + 1;
    return NULL;
}

static int fail(const keys *k, const char *key, const char *what)
{
    const char *v = key ? val(k, key) : NULL;
    if (v)
        ohem_err_set(k->e, "%s:%d: %s %s=%s: %s", k->cfg->path, ohem_cfg_line(k->s, key), k->s->type, key,
                     v, what);
    else if (key)
        ohem_err_set(k->e, "%s:%d: %s %s: %s", k->cfg->path, k->s->line, k->s->type, key, what);
    else
        ohem_err_set(k->e, "%s:%d: %s: %s", k->cfg->path, k->s->line, k->s->type, what);
    return -1;
}

/* Every key is one of known (hint lists them) and given once. */
static int check_known(const keys *k, const char *const *known, int n)
{
    for (int i = 0; i < k->s->nkeys; i++) {
        const char *key = k->s->keys[i];
        size_t len = strlen(key);
        for (int j = 0; j < i; j++)
            if (!strcmp(k->s->keys[j], key)) {
                ohem_err_set(k->e, "%s:%d: %s key '%.*s' is given twice (first on line %d)", k->cfg->path,
                             k->s->lines[i], k->s->type, (int)len, key, k->s->lines[j]);
                return -1;
            }
        int ok = 0;
        for (int j = 0; j < n; j++) ok |= !strcmp(known[j], key);
        if (!ok) {
            char hint[256] = "";
            for (int j = 0; j < n; j++) {
                strncat(hint, j ? ", " : "", sizeof(hint) - strlen(hint) - 1);
                strncat(hint, known[j], sizeof(hint) - strlen(hint) - 1);
            }
            ohem_err_set(k->e, "%s:%d: %s unknown key '%.*s' (hint: the keys are %s)", k->cfg->path,
                         k->s->lines[i], k->s->type, (int)len, key, hint);
            return -1;
        }
    }
    return 0;
}

static int get_int(const keys *k, const char *key, long lo, long hi, int *out)
{
    const char *v = val(k, key);
    if (!v) return 0;
    char *end, what[128];
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno) return fail(k, key, "not an integer");
    if (x < lo || x > hi) {
        snprintf(what, sizeof(what), "out of range; expected %ld <= %s <= %ld", lo, key, hi);
        return fail(k, key, what);
    }
    *out = (int)x;
    return 0;
}

/* Up to max numbers, comma-separated, each in [lo, hi]; *n receives how many. */
static int get_floats(const keys *k, const char *key, float lo, float hi, float *out, int max,
                      int *n)
{
    const char *v = val(k, key), *p = v;
    char what[160];
    *n = 0;
    if (!v) return 0;
    while (1) {
        char *end;
        errno = 0;
        float x = strtof(p, &end);
        if (end == p || errno || !isfinite(x) || (*end && *end != ','))
            return fail(k, key, "expected comma-separated numbers");
        if (x < lo || x > hi) {
            snprintf(what, sizeof(what), "%g is out of range; expected %g <= each <= %g", x, lo, hi);
            return fail(k, key, what);
        }
        if (*n == max) {
            snprintf(what, sizeof(what), "more than %d numbers", max);
            return fail(k, key, what);
        }
        out[(*n)++] = x;
        if (!*end) return 0;
        p = end + 1;
    }
}

/* One number in [lo, hi] ((lo, hi] when lo_open). */
static int get_float(const keys *k, const char *key, float lo, int lo_open, float hi, float *out)
{
    const char *v = val(k, key);
    if (!v) return 0;
    char *end, what[128];
    errno = 0;
    float x = strtof(v, &end);
    if (end == v || *end || errno || !isfinite(x)) return fail(k, key, "not a number");
    if ((lo_open ? x <= lo : x < lo) || x > hi) {
        snprintf(what, sizeof(what), "out of range; expected %g %s %s <= %g", lo, lo_open ? "<" : "<=", key, hi);
        return fail(k, key, what);
    }
    *out = x;
    return 0;
}

static const char *kind(const layer *l)
{
    return ohem_layer_name(l);
}

/* Faster R-CNN's initialisation of a prediction layer: weights from N(0, std^2),
 * std_first for the first n_first outputs and std_rest for the others, biases 0. Darknet's own scale (sqrt(2 / fan-in))
 * makes the first box deltas about +-1, boxes a width off and e times too large,
 * which the averaged losses then take hundreds of iterations to undo. A weights
 * file loads over it as usual. */
static void init_prediction(layer *l, int n_first, float std_first, float std_rest)
{
    int outputs = l->type == CONVOLUTIONAL ? l->n : l->outputs;
    int fan = l->type == CONVOLUTIONAL ? l->nweights / outputs : l->inputs; /* [connected] leaves nweights 0 */
    for (int o = 0; o < outputs; o++) {
        float std = o < n_first ? std_first : std_rest;
        for (int i = 0; i < fan; i++) l->weights[(size_t)o * fan + i] = std * rand_normal();
        l->biases[o] = 0;
    }
}

/* ---- [rpn] ------------------------------------------------------------------------ */

int ohem_parse_rpn(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net,
                   const ohem_layer_params *p, layer *l, ohem_err *e)
{
    static const char *const known[] = {"anchors", "proposals", "nms", "min_size", "fg_iou",
                                        "bg_iou", "samples", "fg_fraction"};
    keys k = {cfg, s, e};
    rpn_options o;
    rpn_options_default(&o);
    if (check_known(&k, known, 8)) return -1;
    int na = 0;
    if (!val(&k, "anchors"))
        return fail(&k, "anchors", "is missing (hint: anchor sizes in pixels of the input, e.g. anchors=16,16, 32,32, 64,64)");
    if (get_floats(&k, "anchors", 1e-3f, 1e6f, o.anchors, 2 * RPN_MAX_ANCHORS, &na) ||
        get_int(&k, "proposals", 1, 100000, &o.proposals) ||
        get_float(&k, "nms", 0, 1, 1, &o.nms) ||
        get_float(&k, "min_size", 0, 0, 1e6f, &o.min_size) ||
        get_float(&k, "fg_iou", 0, 1, 1, &o.fg_iou) ||
        get_float(&k, "bg_iou", 0, 0, 1, &o.bg_iou) ||
        get_int(&k, "samples", 1, 1000000, &o.samples) ||
        get_float(&k, "fg_fraction", 0, 1, 1, &o.fg_fraction))
        return -1;
    if (na % 2) return fail(&k, "anchors", "an odd count of numbers (hint: width,height pairs)");
    o.nanchors = na / 2;
    if (o.bg_iou > o.fg_iou) return fail(&k, "bg_iou", "is above fg_iou (hint: anchors between the two are ignored)");
    if (p->index == 0 || !(p->h > 0 && p->w > 0 && p->c > 0)) {
        char what[200];
        snprintf(what, sizeof(what), "needs an image input (a [convolutional] with %d filters), but the layer before gives %dx%dx%d",
                 5 * o.nanchors, p->w, p->h, p->c);
        return fail(&k, NULL, what);
    }
    if (p->c != 5 * o.nanchors) {
        char what[200];
        snprintf(what, sizeof(what), "%d anchors need %d filters in the [convolutional] before it (anchors x 5: objectness and 4 box deltas), but it has %d",
                 o.nanchors, 5 * o.nanchors, p->c);
        return fail(&k, "anchors", what);
    }
    for (int i = 0; i < p->index; i++)
        if (is_rpn_layer(&net->layers[i])) return fail(&k, NULL, "a network has one [rpn]");
    ohem_layer_line_begin(p->index);
    if (make_rpn_layer(l, &o, p->batch, p->w, p->h, p->c, net->w, net->h) != 0)
        return fail(&k, NULL, "out of memory");
    layer *prev = &net->layers[p->index - 1];
    if (prev->type == CONVOLUTIONAL && !prev->batch_normalize) {
        init_prediction(prev, prev->n, .01f, .01f);
    }
    return 0;
}

/* ---- [roipool] ------------------------------------------------------------------- */

int ohem_parse_roipool(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net,
                       const ohem_layer_params *p, layer *l, ohem_err *e)
{
    static const char *const known[] = {"from", "size", "mode", "rois", "sampling"};
    keys k = {cfg, s, e};
    roipool_options o;
    roipool_options_default(&o);
    if (check_known(&k, known, 5)) return -1;
    if (p->index == 0 || !is_rpn_layer(&net->layers[p->index - 1]))
        return fail(&k, NULL, "needs an [rpn] right before it (hint: its proposals are the RoIs)");
    int from = 0;
    if (!val(&k, "from"))
        return fail(&k, "from", "is missing (hint: the feature map the RoIs are cut from, e.g. from=-4)");
    if (get_int(&k, "from", -p->index, p->index - 1, &from) ||
        get_int(&k, "size", 1, 64, &o.size) ||
        get_int(&k, "rois", 1, 100000, &o.rois) ||
        get_int(&k, "sampling", 0, 16, &o.sampling))
        return -1;
    const char *m = val(&k, "mode");
    if (m && strcmp(m, "align") && strcmp(m, "max"))
        return fail(&k, "mode", "expected one of: align max");
    o.mode = m && !strcmp(m, "max") ? ROIPOOL_MAX : ROIPOOL_ALIGN;
    if (o.mode == ROIPOOL_MAX && val(&k, "sampling"))
        return fail(&k, "sampling", "applies to mode=align only");
    o.from = from < 0 ? p->index + from : from;
    const layer *src = &net->layers[o.from];
    char what[240];
    if (o.from >= p->index - 1 || !(src->out_h > 0 && src->out_w > 0 && src->out_c > 0) ||
        src->type == BLANK) {
        snprintf(what, sizeof(what), "layer %d is [%s] (%dx%dx%d), not an image layer before the [rpn] (hint: a [convolutional] or [maxpool] of the backbone)",
                 o.from, kind(src), src->out_w, src->out_h, src->out_c);
        return fail(&k, "from", what);
    }
    for (int i = 0; i < p->index; i++)
        if (is_roipool_layer(&net->layers[i])) return fail(&k, NULL, "a network has one [roipool]");
    if ((double)p->batch * o.rois * o.size * o.size * src->out_c > 1e9) {
        snprintf(what, sizeof(what), "%d images x %d RoIs x %dx%dx%d is more than 10^9 floats (hint: fewer rois, a smaller size, or a smaller batch/subdivisions)",
                 p->batch, o.rois, o.size, o.size, src->out_c);
        return fail(&k, "rois", what);
    }
    ohem_layer_line_begin(p->index);
    if (make_roipool_layer(l, &o, net, p->index, p->batch) != 0) return fail(&k, NULL, "out of memory");
    return 0;
}

/* ---- [roi_loss] ------------------------------------------------------------------ */

int ohem_parse_roi_loss(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net,
                        const ohem_layer_params *p, layer *l, ohem_err *e)
{
    static const char *const known[] = {"classes", "fg_iou", "bg_iou", "rois_per_image",
                                        "fg_fraction", "jitter"};
    keys k = {cfg, s, e};
    roi_loss_options o;
    roi_loss_options_default(&o);
    if (check_known(&k, known, 6)) return -1;
    int rp = -1;
    for (int i = p->index - 1; i >= 0 && rp < 0; i--)
        if (is_roipool_layer(&net->layers[i])) rp = i;
    if (rp < 0) return fail(&k, NULL, "needs a [roipool] and a per-RoI head above it");
    if (rp == p->index - 1)
        return fail(&k, NULL, "comes right after [roipool] (hint: the per-RoI head, e.g. [connected] layers, goes between)");
    if (!val(&k, "classes")) return fail(&k, "classes", "is missing (hint: the classes of the .data file)");
    int nb = 0;
    float bg[2];
    int R = roipool_layer_count(&net->layers[rp]);
    if (o.rois_per_image > R) o.rois_per_image = R; /* the default, 64, for fewer RoIs */
    if (get_int(&k, "classes", 1, 10000, &o.classes) ||
        get_float(&k, "fg_iou", 0, 1, 1, &o.fg_iou) ||
        get_floats(&k, "bg_iou", 0, 1, bg, 2, &nb) ||
        get_int(&k, "rois_per_image", 1, roipool_layer_count(&net->layers[rp]), &o.rois_per_image) ||
        get_float(&k, "fg_fraction", 0, 0, 1, &o.fg_fraction) ||
        get_float(&k, "jitter", 0, 0, .99f, &o.jitter))
        return -1;
    if (nb == 1) return fail(&k, "bg_iou", "expected two numbers, low,high (e.g. bg_iou=0.1,0.5)");
    if (nb == 2) {
        o.bg_given = 1;
        o.bg_lo = bg[0];
        o.bg_hi = bg[1];
    }
    if (o.bg_lo > o.bg_hi) return fail(&k, "bg_iou", "low is above high");
    if (o.bg_hi > o.fg_iou) return fail(&k, "bg_iou", "high is above fg_iou (a RoI would be both)");
    int want = 5 * o.classes + 1;
    char what[240];
    if (p->inputs != want || p->h * p->w * p->c != p->inputs) {
        snprintf(what, sizeof(what), "%d classes need %d values per RoI from the layer before (classes + 1 scores, 4 x classes box deltas: [connected] output=%d), but it gives %d",
                 o.classes, want, want, p->inputs);
        return fail(&k, "classes", what);
    }
    if (p->batch != net->batch * R) {
        snprintf(what, sizeof(what), "the layer before has batch %d, not images x RoIs (%d x %d): a layer between [roipool] and here is not per RoI",
                 p->batch, net->batch, R);
        return fail(&k, NULL, what);
    }
    /* last, or followed by exactly one [ohem] that mines its RoIs (the parser checks
     * that an [ohem] is the last section and the only one) */
    int ohem_next = p->index == net->n - 2 && s + 1 < cfg->sections + cfg->n && !strcmp(s[1].type, "[ohem]");
    if (p->index != net->n - 1 && !ohem_next)
        return fail(&k, NULL, "must be the last section of the cfg, or be followed by an [ohem] only");
    if (ohem_next) o.sampler = 0; /* [ohem] chooses (roi_loss_layer_set_mining) */
    ohem_layer_line_begin(p->index);
    if (make_roi_loss_layer(l, &o, net, p->index, rp, p->batch, p->inputs) != 0)
        return fail(&k, NULL, "out of memory");
    layer *prev = &net->layers[p->index - 1];
    if ((prev->type == CONNECTED || prev->type == CONVOLUTIONAL) && !prev->batch_normalize &&
        prev->weights && prev->biases) {
        init_prediction(prev, o.classes + 1, .01f, .001f); /* scores, box deltas (Fast R-CNN) */
    }
    return 0;
}

void ohem_layer_line_begin(int index)
{
    fprintf(stderr, "%5d ", index);
}

void ohem_free_plugin_layer(layer *l)
{
    free_rpn_layer(l);
    free_roipool_layer(l);
    free_roi_loss_layer(l);
}
