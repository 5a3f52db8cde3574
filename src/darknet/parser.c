/* parser.c: parse_network_cfg and load_network, replacing libdarknet's (its calls go
 * through the PLT, so these serve the library too). A table maps section names to
 * parse functions; an unknown section is an error. */
#include "parser.h"
#include "cfg_keys.h"
#include "keep_delta.h"
#include "net_augment.h"
#include "parse_twostage.h"
#include "parse_yolo.h"
#include "weights.h"
#include "dn_internal.h"
#include "ohem_layer.h"
#include "roi_loss_layer.h"
#include "roipool_layer.h"
#include "route_layer.h"
#include "kernels.h"
#include "rpn_layer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const ohem_cfg *cfg;
    const ohem_cfg_section *s;
    network *net;
    dn_size_params params;
    ohem_err *e;
} parse_ctx;

typedef int (*parse_fn)(parse_ctx *c, layer *l);

/* ---- built-in sections: libdarknet's own parse functions ------------------------ */

#define BUILTIN(fn, call)                         \
    static int fn(parse_ctx *c, layer *l)         \
    {                                             \
        list *o = c->s->options;                  \
        ohem_layer_line_begin(c->params.index);   \
        *l = call;                                \
        return 0;                                 \
    }
BUILTIN(p_deconvolutional, parse_deconvolutional(o, c->params))
BUILTIN(p_local, parse_local(o, c->params))
BUILTIN(p_activation, parse_activation(o, c->params))
BUILTIN(p_logistic, parse_logistic(o, c->params))
BUILTIN(p_l2norm, parse_l2norm(o, c->params))
BUILTIN(p_rnn, parse_rnn(o, c->params))
BUILTIN(p_gru, parse_gru(o, c->params))
BUILTIN(p_lstm, parse_lstm(o, c->params))
BUILTIN(p_crnn, parse_crnn(o, c->params))
BUILTIN(p_connected, parse_connected(o, c->params))
BUILTIN(p_crop, parse_crop(o, c->params))
BUILTIN(p_cost, parse_cost(o, c->params))
BUILTIN(p_iseg, parse_iseg(o, c->params))
BUILTIN(p_normalization, parse_normalization(o, c->params))
BUILTIN(p_batchnorm, parse_batchnorm(o, c->params))
BUILTIN(p_maxpool, parse_maxpool(o, c->params))
BUILTIN(p_reorg, parse_reorg(o, c->params))
BUILTIN(p_avgpool, parse_avgpool(o, c->params))
BUILTIN(p_upsample, parse_upsample(o, c->params, c->net))
#undef BUILTIN

/* [convolutional]: libdarknet's parse, with AlexeyAB's activations (kernels.h)
 * handed to it as linear (it knows none of them) and set after, with the
 * pre-activation buffer their gradient reads. */
static int p_convolutional(parse_ctx *c, layer *l)
{
    dn_kvp *act = NULL;
    for (node *n = c->s->options->front; n; n = n->next) {
        dn_kvp *p = (dn_kvp *)n->val;
        if (!strcmp(p->key, "activation")) {
            act = p;
            break;
        }
    }
    int ours = act ? ohem_act_of_word(act->val) : -1;
    char *word = act ? act->val : NULL;
    if (ours >= 0) act->val = "linear";
    ohem_layer_line_begin(c->params.index);
    *l = parse_convolutional(c->s->options, c->params);
    if (ours < 0) return 0;
    act->val = word;
    l->activation = (ACTIVATION)ours;
    if (ohem_conv_act_alloc(l) != 0) {
        ohem_err_set(c->e, "%s:%d: [convolutional]: out of memory", c->cfg->path, c->s->line);
        free_layer(*l);
        return -1;
    }
    return 0;
}

/* Checks that the file a section names in key (tree=, map=) opens: libdarknet reads
 * it unchecked, and a missing tree file crashes it, a missing map file ends the
 * process with status 0. libdarknet reads the key's first line. */
static int check_named_file(parse_ctx *c, const char *key, const char *what)
{
    const ohem_cfg_section *s = c->s;
    for (int i = 0; i < s->nkeys; i++) {
        if (strcmp(s->keys[i], key) != 0) continue;
        const char *v = s->keys[i] + strlen(key) + 1;
        ohem_err fe;
        FILE *f = ohem_open_file(v, "r", what, &fe);
        if (!f) {
            ohem_err_set(c->e, "%s:%d: %s %s=%s: %s (hint: a relative path starts from the directory ./darknet runs in)",
                         c->cfg->path, s->lines[i], s->type, key, v, fe.msg);
            return -1;
        }
        fclose(f);
        return 0;
    }
    return 0;
}

static int p_softmax(parse_ctx *c, layer *l)
{
    if (check_named_file(c, "tree", "tree file") != 0) return -1;
    ohem_layer_line_begin(c->params.index);
    *l = parse_softmax(c->s->options, c->params);
    c->net->hierarchy = l->softmax_tree;
    return 0;
}

static int p_dropout(parse_ctx *c, layer *l)
{
    if (c->params.index == 0) {
        ohem_err_set(c->e, "%s:%d: [dropout] cannot be the first layer (hint: it works in place on the layer before it)",
                     c->cfg->path, c->s->line);
        return -1;
    }
    ohem_layer_line_begin(c->params.index);
    *l = parse_dropout(c->s->options, c->params);
    l->output = c->net->layers[c->params.index - 1].output;
    l->delta = c->net->layers[c->params.index - 1].delta;
    return 0;
}

/* The value of key in the section, or NULL. */
static const char *find_val(const ohem_cfg_section *s, const char *key)
{
    for (int i = 0; i < s->nkeys; i++)
        if (strcmp(s->keys[i], key) == 0) return s->keys[i] + strlen(key) + 1;
    return NULL;
}

/* Checks that every index in key's list (absolute, or negative = relative) names a
 * layer before this one; libdarknet reads whatever memory an index points at. */
static int check_layer_refs(parse_ctx *c, const char *key)
{
    const char *v = find_val(c->s, key);
    if (!v) {
        ohem_err_set(c->e, "%s:%d: %s needs %s= (hint: the layers it takes, e.g. %s=-1)", c->cfg->path,
                     c->s->line, c->s->type, key, key);
        return -1;
    }
    for (const char *p = v; *p && *p != '#';) {
        char *end;
        long x = strtol(p, &end, 10);
        long i = x < 0 ? c->params.index + x : x;
        if (i < 0 || i >= c->params.index) {
            ohem_err_set(c->e, "%s:%d: %s %s=%s: layer %ld is not before this one (layer %d)", c->cfg->path,
                         ohem_cfg_line(c->s, key), c->s->type, key, v, x, c->params.index);
            return -1;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* The largest factor by which a layer before layer n shrinks the input (each output
 * pixel spans that many input pixels in x and y): [net] width and height must be
 * multiples of it for the maps a [route] joins to have the same size. */
static int largest_downsampling(const network *net, int n)
{
    int *ds = malloc((size_t)(n > 0 ? n : 1) * sizeof(int)), best = 1;
    if (!ds) return 32;
    for (int i = 0; i < n; i++) {
        const layer *l = &net->layers[i];
        int d = i ? ds[i - 1] : 1, st = l->stride > 0 ? l->stride : 1;
        if (l->type == CONVOLUTIONAL || l->type == MAXPOOL || l->type == LOCAL) d *= st;
        else if (l->type == REORG) d = l->reverse ? d / st : d * st;
        else if (l->type == UPSAMPLE) d = l->reverse ? d * st : d / st;
        else if (l->type == ROUTE && l->n > 0) d = ds[l->input_layers[0]];
        ds[i] = d > 0 ? d : 1;
        if (ds[i] > best) best = ds[i];
    }
    free(ds);
    return best;
}

/* Checks that the maps a [route] joins have the same width and height; libdarknet
 * makes the route's output 0x0x0 otherwise, and the next layer fails. Assumes
 * check_layer_refs passed. */
static int check_route_sizes(parse_ctx *c)
{
    const char *v = find_val(c->s, "layers");
    const layer *first = NULL;
    long first_i = 0;
    for (const char *p = v; *p && *p != '#';) {
        char *end;
        long x = strtol(p, &end, 10), i = x < 0 ? c->params.index + x : x;
        const layer *l = &c->net->layers[i];
        if (!first) {
            first = l;
            first_i = i;
        } else if (l->out_w != first->out_w || l->out_h != first->out_h) {
            int m = largest_downsampling(c->net, c->params.index);
            char hint[160];
            if (c->net->w % m || c->net->h % m)
                snprintf(hint, sizeof(hint), "[net] width and height must be multiples of %d, the largest downsampling before this layer; they are %dx%d",
                         m, c->net->w, c->net->h);
            else
                snprintf(hint, sizeof(hint), "a [route] joins maps of the same width and height");
            ohem_err_set(c->e, "%s:%d: [route] layers=%s joins maps of different sizes: layer %ld is %dx%dx%d, layer %ld is %dx%dx%d (hint: %s)",
                         c->cfg->path, ohem_cfg_line(c->s, "layers"), v, first_i, first->out_w, first->out_h, first->out_c,
                         i, l->out_w, l->out_h, l->out_c, hint);
            return -1;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* AlexeyAB's groups= and group_id= of a [route] libdarknet built (route_layer.h):
 * 1 <= groups, 0 <= group_id < groups, and each input's channels divisible by
 * groups. Frees l on error. */
static int route_groups(parse_ctx *c, layer *l)
{
    const ohem_cfg_section *s = c->s;
    int groups = option_find_int_quiet(s->options, "groups", 1);
    int gid = option_find_int_quiet(s->options, "group_id", 0);
    const char *msg = NULL;
    if (groups < 1) msg = "groups must be at least 1";
    else if (gid < 0 || gid >= groups) msg = "group_id must be in 0..groups-1";
    if (msg) {
        const char *key = groups < 1 ? "groups" : "group_id";
        ohem_err_set(c->e, "%s:%d: [route] %s=%s: %s (groups=%d, group_id=%d)", c->cfg->path,
                     ohem_cfg_line(s, key), key,
                     find_val(s, key) ? find_val(s, key) : "(unset)", msg, groups, gid);
        free_layer(*l);
        return -1;
    }
    for (int i = 0; i < l->n; i++) {
        const layer *in = &c->net->layers[l->input_layers[i]];
        if (in->out_c % groups) {
            ohem_err_set(c->e, "%s:%d: [route] groups=%d: layer %d has %d channels, not a multiple of groups "
                         "(hint: each input is split into groups equal channel groups)",
                         c->cfg->path, ohem_cfg_line(s, "groups"), groups, l->input_layers[i], in->out_c);
            free_layer(*l);
            return -1;
        }
    }
    if (route_layer_set_groups(l, c->net, groups, gid) != 0) {
        ohem_err_set(c->e, "%s:%d: [route]: out of memory", c->cfg->path, s->line);
        free_layer(*l);
        return -1;
    }
    return 0;
}

static int p_route(parse_ctx *c, layer *l)
{
    if (check_layer_refs(c, "layers") != 0 || check_route_sizes(c) != 0) return -1;
    ohem_layer_line_begin(c->params.index);
    *l = parse_route(c->s->options, c->params, c->net);
    return route_groups(c, l);
}

static int p_shortcut(parse_ctx *c, layer *l)
{
    if (check_layer_refs(c, "from") != 0) return -1;
    ohem_layer_line_begin(c->params.index);
    *l = parse_shortcut(c->s->options, c->params, c->net);
    return 0;
}

/* Checks that a [yolo] or [region] fits the layer before it, which libdarknet only
 * asserts (and so aborts). expected is the input size the keys ask for. */
static int check_head_inputs(parse_ctx *c, int expected, const char *hint_keys)
{
    if (expected == c->params.inputs) return 0;
    int cells = c->params.h * c->params.w;
    int per_cell = cells > 0 ? expected / cells : 0;
    ohem_err_set(c->e,
                 "%s:%d: %s expects %d filters in the [convolutional] before it (%s), but that layer has %d",
                 c->cfg->path, c->s->line, c->s->type, per_cell, hint_keys, c->params.c);
    return -1;
}

/* Entries of a comma-separated list, up to a comment. */
static int count_list(const char *v)
{
    int n = 1;
    for (; *v && *v != '#'; v++) n += *v == ',';
    return n;
}

/* The int libdarknet reads for key (atoi, which stops at a comment), or def. */
static int int_or(const ohem_cfg_section *s, const char *key, int def)
{
    const char *v = find_val(s, key);
    return v ? atoi(v) : def;
}

/* Checks anchors= of a [yolo] or [region] with num anchors: libdarknet fills
 * 2 x num biases with 0.5 and overwrites them with as many values as the list has,
 * so a short list trains with 0.5 anchors, and a long one writes past the array. */
static int check_anchors(parse_ctx *c, int num)
{
    const ohem_cfg_section *s = c->s;
    const char *a = find_val(s, "anchors");
    if (!a) {
        ohem_err_set(c->e, "%s:%d: %s has no anchors= (hint: num=%d anchors as w,h pairs; libdarknet would make each 0.5 x 0.5)",
                     c->cfg->path, s->line, s->type, num);
        return -1;
    }
    int n = count_list(a);
    if (n != 2 * num) {
        ohem_err_set(c->e, "%s:%d: %s anchors=%s: %d values, but num=%d needs %d (a w,h pair per anchor)%s",
                     c->cfg->path, ohem_cfg_line(s, "anchors"), s->type, a, n, num, 2 * num,
                     n < 2 * num ? "; libdarknet would fill the rest with 0.5" : "; libdarknet would write past its array");
        return -1;
    }
    return 0;
}

static int p_yolo(parse_ctx *c, layer *l)
{
    const ohem_cfg_section *s = c->s;
    const char *max = find_val(s, "max");
    if (max && atoi(max) != 90) {
        ohem_err_set(c->e, "%s:%d: [yolo] max=%s: libdarknet keeps room for exactly 90 truth boxes (hint: max=90, or leave it out)",
                     c->cfg->path, ohem_cfg_line(s, "max"), max);
        return -1;
    }
    const char *cl = find_val(s, "classes"), *num = find_val(s, "num"), *mask = find_val(s, "mask");
    int classes = cl ? atoi(cl) : 20, n = mask ? count_list(mask) : num ? atoi(num) : 1;
    if (check_head_inputs(c, c->params.h * c->params.w * n * (classes + 5),
                          "filters = anchors in mask x (classes + 5)") != 0)
        return -1;
    int total = num ? atoi(num) : 1;
    for (const char *p = mask; p && *p && *p != '#';) {
        char *end;
        long m = strtol(p, &end, 10);
        if (m >= total) {
            ohem_err_set(c->e, "%s:%d: [yolo] mask=%s: anchor %ld does not exist; num=%d anchors are numbered 0..%d",
                         c->cfg->path, ohem_cfg_line(s, "mask"), mask, m, total, total - 1);
            return -1;
        }
        p = *end == ',' ? end + 1 : end;
    }
    if (check_anchors(c, total) != 0) return -1;
    yolo_options o;
    if (ohem_parse_yolo_options(c->cfg, s, &o, c->e) != 0) return -1;
    ohem_layer_line_begin(c->params.index);
    *l = parse_yolo(s->options, c->params);
    if (yolo_layer_setup(l, &o) != 0) {
        ohem_err_set(c->e, "%s:%d: [yolo]: out of memory", c->cfg->path, s->line);
        return -1;
    }
    return 0;
}

static int p_region(parse_ctx *c, layer *l)
{
    const ohem_cfg_section *s = c->s;
    const char *cl = find_val(s, "classes"), *num = find_val(s, "num"), *co = find_val(s, "coords");
    int classes = cl ? atoi(cl) : 20, n = num ? atoi(num) : 1, coords = co ? atoi(co) : 4;
    if (check_head_inputs(c, c->params.h * c->params.w * n * (classes + coords + 1),
                          "filters = num x (classes + coords + 1)") != 0)
        return -1;
    if (check_anchors(c, n) != 0) return -1;
    if (check_named_file(c, "tree", "tree file") != 0 || check_named_file(c, "map", "class map file") != 0) return -1;
    ohem_layer_line_begin(c->params.index);
    *l = parse_region(s->options, c->params);
    l->backward = ohem_backward_region_layer;
    return 0;
}

/* [detection] (YOLOv1) takes side x side cells of (1 + coords) x num box entries and
 * classes class scores from the layer before; libdarknet only asserts it. */
static int p_detection(parse_ctx *c, layer *l)
{
    const ohem_cfg_section *s = c->s;
    int coords = int_or(s, "coords", 1), classes = int_or(s, "classes", 1), num = int_or(s, "num", 1),
        side = int_or(s, "side", 7);
    long long expected = (long long)side * side * ((1LL + coords) * num + classes);
    if (expected != c->params.inputs) {
        const ohem_cfg_section *before = c->s - 1;
        ohem_err_set(c->e, "%s:%d: [detection] expects %lld inputs (side x side x ((1 + coords) x num + classes) = %d x %d x ((1 + %d) x %d + %d)), "
                     "but the %s before it (line %d) gives %d (hint: output=%lld in a [connected] before it, or side, num, classes and coords that fit)",
                     c->cfg->path, s->line, expected, side, side, coords, num, classes,
                     before->type, before->line, c->params.inputs, expected);
        return -1;
    }
    ohem_layer_line_begin(c->params.index);
    *l = parse_detection(s->options, c->params);
    return 0;
}

/* ---- [ohem] ---------------------------------------------------------------------- */

static const char *const ohem_keys[] = {"per_image", "fraction", "nms", "layers", "rank",
                                        "positives", "neg_pos_ratio", "min_negatives",
                                        "warmup", "stats", "sparse", "rescale"};

static int bad_value(const ohem_cfg *cfg, const ohem_cfg_section *s, const char *key,
                     const char *val, const char *what, ohem_err *e)
{
    ohem_err_set(e, "%s:%d: [ohem] %s=%s: %s", cfg->path, ohem_cfg_line(s, key), key, val, what);
    return -1;
}

static int get_int(const ohem_cfg *cfg, const ohem_cfg_section *s, const char *key, long lo,
                   long hi, int *out, ohem_err *e)
{
    const char *v = find_val(s, key);
    if (!v) return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno) return bad_value(cfg, s, key, v, "not an integer", e);
    if (x < lo || x > hi) {
        char what[128];
        snprintf(what, sizeof(what), "out of range; expected %ld <= %s <= %ld", lo, key, hi);
        return bad_value(cfg, s, key, v, what, e);
    }
    *out = (int)x;
    return 0;
}

/* A float in (lo, hi], or [lo, hi] when lo_open is 0. */
static int get_float(const ohem_cfg *cfg, const ohem_cfg_section *s, const char *key, float lo,
                     int lo_open, float hi, float *out, ohem_err *e)
{
    const char *v = find_val(s, key);
    if (!v) return 0;
    char *end;
    errno = 0;
    float x = strtof(v, &end);
    if (end == v || *end || errno || !isfinite(x)) return bad_value(cfg, s, key, v, "not a number", e);
    if ((lo_open ? x <= lo : x < lo) || x > hi) {
        char what[128];
        snprintf(what, sizeof(what), "out of range; expected %g %s %s <= %g", lo, lo_open ? "<" : "<=",
                 key, hi);
        return bad_value(cfg, s, key, v, what, e);
    }
    *out = x;
    return 0;
}

/* A layer [ohem] can mine: [yolo], [region], [detection], [softmax], [roi_loss]. */
static int is_loss_layer(const layer *l)
{
    return ohem_layer_can_mine(l);
}

static int parse_layers(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net, int index,
                        ohem_options *o, ohem_err *e)
{
    const char *v = find_val(s, "layers");
    o->nlayers = 0;
    if (!v) {
        for (int i = 0; i < index; i++)
            if (is_loss_layer(&net->layers[i])) {
                if (o->nlayers == OHEM_MAX_SOURCES)
                    return bad_value(cfg, s, "layers", "(all)", "more than 16 loss layers above (hint: name them in layers=)", e);
                o->layers[o->nlayers++] = i;
            }
        if (!o->nlayers) {
            ohem_err_set(e, "%s:%d: [ohem] has no loss layer above it (hint: put it after a [yolo], [region], [detection], [softmax] or [roi_loss])",
                         cfg->path, s->line);
            return -1;
        }
        return 0;
    }
    const char *p = v;
    while (1) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || (*end && *end != ','))
            return bad_value(cfg, s, "layers", v, "expected a comma-separated list of layer indices", e);
        long abs_i = x < 0 ? index + x : x;
        char what[200];
        if (abs_i < 0 || abs_i >= index) {
            snprintf(what, sizeof(what), "layer %ld is out of range; [ohem] is layer %d and mines layers 0..%d above it",
                     x, index, index - 1);
            return bad_value(cfg, s, "layers", v, what, e);
        }
        if (!is_loss_layer(&net->layers[abs_i])) {
            snprintf(what, sizeof(what), "layer %ld is [%s], not a loss layer ([yolo], [region], [detection], [softmax] or [roi_loss])",
                     abs_i, ohem_layer_name(&net->layers[abs_i]));
            return bad_value(cfg, s, "layers", v, what, e);
        }
        for (int k = 0; k < o->nlayers; k++)
            if (o->layers[k] == abs_i) {
                snprintf(what, sizeof(what), "layer %ld is named twice", abs_i);
                return bad_value(cfg, s, "layers", v, what, e);
            }
        if (o->nlayers == OHEM_MAX_SOURCES) return bad_value(cfg, s, "layers", v, "more than 16 layers", e);
        o->layers[o->nlayers++] = (int)abs_i;
        if (!*end) break;
        p = end + 1;
    }
    return 0;
}

static int get_word(const ohem_cfg *cfg, const ohem_cfg_section *s, const char *key,
                    const char *const *words, int nwords, int *out, ohem_err *e)
{
    const char *v = find_val(s, key);
    if (!v) return 0;
    for (int i = 0; i < nwords; i++)
        if (strcmp(v, words[i]) == 0) {
            *out = i;
            return 0;
        }
    char what[160] = "expected one of:";
    for (int i = 0; i < nwords; i++) {
        strncat(what, " ", sizeof(what) - strlen(what) - 1);
        strncat(what, words[i], sizeof(what) - strlen(what) - 1);
    }
    return bad_value(cfg, s, key, v, what, e);
}

int ohem_parse_options(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net, int index,
                       ohem_options *o, ohem_err *e)
{
    ohem_options_default(o);
    for (int i = 0; i < s->nkeys; i++) {
        int first = ohem_cfg_line(s, s->keys[i]);
        if (first != s->lines[i]) {
            ohem_err_set(e, "%s:%d: [ohem] key '%s' is given twice (first on line %d)", cfg->path,
                         s->lines[i], s->keys[i], first);
            return -1;
        }
        int known = 0;
        for (size_t k = 0; k < sizeof(ohem_keys) / sizeof(ohem_keys[0]); k++) known |= strcmp(s->keys[i], ohem_keys[k]) == 0;
        if (!known) {
            ohem_err_set(e, "%s:%d: [ohem] unknown key '%s' (hint: the keys are per_image, fraction, nms, layers, rank, positives, neg_pos_ratio, min_negatives, warmup, stats, sparse, rescale)",
                         cfg->path, s->lines[i], s->keys[i]);
            return -1;
        }
    }
    static const char *const ranks[] = {"all", "coord", "obj", "class"};
    static const char *const positives[] = {"rank", "keep"};
    static const char *const rescales[] = {"none", "count", "norm"};
    int rank = 0;
    if (get_int(cfg, s, "per_image", 1, 1000000, &o->per_image, e) ||
        get_float(cfg, s, "fraction", 0, 1, 1, &o->fraction, e) ||
        get_float(cfg, s, "nms", 0, 1, 1, &o->nms, e) ||
        get_word(cfg, s, "rank", ranks, 4, &rank, e) ||
        get_word(cfg, s, "positives", positives, 2, &o->keep_positives, e) ||
        get_float(cfg, s, "neg_pos_ratio", 0, 0, 1000, &o->neg_pos_ratio, e) ||
        get_int(cfg, s, "min_negatives", 0, 1000000, &o->min_negatives, e) ||
        get_int(cfg, s, "warmup", 0, 1000000000, &o->warmup, e) ||
        get_int(cfg, s, "stats", 0, 1, &o->stats, e) ||
        get_int(cfg, s, "sparse", 0, 1, &o->sparse, e) ||
        get_word(cfg, s, "rescale", rescales, 3, &o->rescale, e) ||
        parse_layers(cfg, s, net, index, o, e))
        return -1;
    o->rank = (ohem_rank)rank;
    if (find_val(s, "per_image") && find_val(s, "fraction")) {
        ohem_err_set(e, "%s:%d: [ohem] fraction=%s: give per_image or fraction, not both", cfg->path,
                     ohem_cfg_line(s, "fraction"), find_val(s, "fraction"));
        return -1;
    }
    int nsoft = 0;
    for (int i = 0; i < o->nlayers; i++) nsoft += net->layers[o->layers[i]].type == SOFTMAX;
    if (nsoft && nsoft != o->nlayers)
        return bad_value(cfg, s, "layers", find_val(s, "layers") ? find_val(s, "layers") : "(all)",
                         "mixes [softmax] with detection layers; mine one kind at a time", e);
    if (nsoft && (o->rank == OHEM_RANK_COORD || o->rank == OHEM_RANK_OBJ))
        return bad_value(cfg, s, "rank", find_val(s, "rank"), "[softmax] has only a class loss (hint: rank=all or rank=class)", e);
    int nroi = 0;
    for (int i = 0; i < o->nlayers; i++) nroi += is_roi_loss_layer(&net->layers[o->layers[i]]);
    if (nroi && nroi != o->nlayers)
        return bad_value(cfg, s, "layers", find_val(s, "layers") ? find_val(s, "layers") : "(all)",
                         "mixes [roi_loss] with other loss layers; [ohem] mines the RoIs of a two-stage network alone (hint: layers= naming the [roi_loss] only)", e);
    if (nroi && o->rescale)
        return bad_value(cfg, s, "rescale", find_val(s, "rescale"), "applies to one-stage loss layers: the kept RoIs' loss is already their mean (hint: leave it out)", e);
    if (nroi && o->rank == OHEM_RANK_OBJ)
        return bad_value(cfg, s, "rank", find_val(s, "rank"), "a RoI of [roi_loss] has no objectness loss (hint: rank=all, rank=class or rank=coord)", e);
    return 0;
}

static int p_ohem(parse_ctx *c, layer *l)
{
    ohem_options o;
    if (c->params.index == 0) {
        ohem_err_set(c->e, "%s:%d: [ohem] has no loss layer above it (hint: put it after a [yolo], [region], [detection], [softmax] or [roi_loss])",
                     c->cfg->path, c->s->line);
        return -1;
    }
    if (ohem_parse_options(c->cfg, c->s, c->net, c->params.index, &o, c->e) != 0) return -1;
    ohem_layer_line_begin(c->params.index);
    if (make_ohem_layer(l, &o, c->net, c->params.index, c->params.batch, c->params.inputs,
                        c->params.h, c->params.w, c->params.c) != 0) {
        fputc('\n', stderr);
        ohem_err_set(c->e, "%s:%d: [ohem]: out of memory", c->cfg->path, c->s->line);
        return -1;
    }
    int images, n = ohem_layer_unit_candidates(l, &images);
    if (o.fraction <= 0 && o.per_image >= n && !c->cfg->quiet) {
        char nms[64] = "";
        if (o.nms < 1) snprintf(nms, sizeof(nms), " that NMS at %.2f leaves", o.nms);
        fprintf(stderr, "%s:%d: warning: [ohem] per_image=%d%s: %s has %d candidates, so mining keeps every one%s and the loss ranks none out (hint: per_image below %d, or fraction=)\n",
                c->cfg->path, ohem_cfg_line(c->s, "per_image"), o.per_image, find_val(c->s, "per_image") ? "" : " (the default)", images > 1 ? "a batch" : "an image", n, nms, n);
    }
    return 0;
}

/* ---- the two-stage sections (parse_twostage.c) ------------------------------------ */

#define TWOSTAGE(fn, call)                                                              \
    static int fn(parse_ctx *c, layer *l)                                               \
    {                                                                                   \
        ohem_layer_params p = {c->params.index, c->params.batch, c->params.inputs,       \
                               c->params.h, c->params.w, c->params.c};                   \
        return call(c->cfg, c->s, c->net, &p, l, c->e);                                 \
    }
TWOSTAGE(p_rpn, ohem_parse_rpn)
TWOSTAGE(p_roipool, ohem_parse_roipool)
TWOSTAGE(p_roi_loss, ohem_parse_roi_loss)
#undef TWOSTAGE

/* ---- values of built-in sections --------------------------------------------------- */

/* libdarknet reads these with atoi/atof, which turn "abc" into 0 and a missing
 * comma into garbage, and then crashes or trains nonsense: check them first. */
typedef enum { V_INT, V_FLOAT, V_INTS, V_FLOATS } value_kind;

typedef struct {
    const char *key;
    value_kind kind;
    double min;
} value_rule;

static const value_rule value_rules[] = {
    {"batch", V_INT, 1}, {"subdivisions", V_INT, 1}, {"width", V_INT, 1}, {"height", V_INT, 1},
    {"channels", V_INT, 1}, {"inputs", V_INT, 1}, {"time_steps", V_INT, 1},
    {"max_batches", V_INT, 0}, {"burn_in", V_INT, 0}, {"filters", V_INT, 1}, {"size", V_INT, 1},
    {"stride", V_INT, 1}, {"pad", V_INT, 0}, {"padding", V_INT, 0}, {"groups", V_INT, 1}, {"group_id", V_INT, 0},
    {"batch_normalize", V_INT, 0}, {"classes", V_INT, 1}, {"num", V_INT, 1}, {"coords", V_INT, 0},
    {"side", V_INT, 1}, {"output", V_INT, 1}, {"hidden", V_INT, 1}, {"random", V_INT, 0},
    {"max", V_INT, 1}, {"learning_rate", V_FLOAT, 0}, {"momentum", V_FLOAT, 0},
    {"decay", V_FLOAT, 0}, {"jitter", V_FLOAT, 0}, {"ignore_thresh", V_FLOAT, 0},
    {"truth_thresh", V_FLOAT, 0}, {"thresh", V_FLOAT, 0}, {"saturation", V_FLOAT, 0},
    {"exposure", V_FLOAT, 0}, {"hue", V_FLOAT, -1}, {"angle", V_FLOAT, -360},
    {"power", V_FLOAT, 0}, {"gamma", V_FLOAT, 0}, {"object_scale", V_FLOAT, 0},
    {"noobject_scale", V_FLOAT, 0}, {"class_scale", V_FLOAT, 0}, {"coord_scale", V_FLOAT, 0},
    {"probability", V_FLOAT, 0}, {"mask", V_INTS, 0}, {"anchors", V_FLOATS, 0},
    {"layers", V_INTS, -1e9}, {"steps", V_INTS, -1}, {"scales", V_FLOATS, -1e9},
};

/* 1 when v is one number of the kind (a list: comma-separated), each >= min. A
 * comment may follow (filters=255#yolo): libdarknet's atoi and atof stop at it. */
static int value_ok(const char *v, value_kind kind, double min)
{
    int list = kind == V_INTS || kind == V_FLOATS, integer = kind == V_INT || kind == V_INTS;
    const char *p = v;
    do {
        char *end;
        errno = 0;
        double x = integer ? (double)strtol(p, &end, 10) : strtod(p, &end);
        if (end == p || errno || !isfinite(x) || x < min) return 0;
        p = end;
        if (*p == ',' && list) p++;
        else if (*p && *p != '#') return 0;
        else break;
    } while (1);
    return 1;
}

/* Keys libdarknet reads as a word, and the words it knows; with any other word
 * (a comment after it included) it prints one line and goes on with a default. */
static const char *const policies[] = {"random", "poly", "constant", "step", "exp", "sigmoid", "steps", NULL};

/* 1 when v is a word libdarknet knows for key; 0 with what it expects, or -1 when
 * key is not a word key. */
static int word_ok(const char *key, const char *v, char *expected, size_t cap)
{
    const char *words[16];
    int n = 0;
    if (!strcmp(key, "activation")) {
        for (int a = LOGISTIC; a <= SELU; a++) words[n++] = get_activation_string((ACTIVATION)a);
    } else if (!strcmp(key, "type")) {
        for (int t = SSE; t <= WGAN; t++) words[n++] = get_cost_string((COST_TYPE)t);
    } else if (!strcmp(key, "policy")) {
        for (; policies[n]; n++) words[n] = policies[n];
    } else {
        return -1;
    }
    snprintf(expected, cap, "expected one of:");
    for (int i = 0; i < n; i++) {
        if (!strcmp(v, words[i])) return 1;
        size_t len = strlen(expected);
        snprintf(expected + len, cap - len, " %s", words[i]);
    }
    return 0;
}

static int check_values(const ohem_cfg *cfg, const ohem_cfg_section *s, ohem_err *e)
{
    for (int i = 0; i < s->nkeys; i++) {
        const char *v = s->keys[i] + strlen(s->keys[i]) + 1, *hash = strchr(v, '#');
        char expected[200];
        int w = word_ok(s->keys[i], v, expected, sizeof(expected));
        if (!strcmp(s->keys[i], "activation") && ohem_act_of_word(v) >= 0) {
            if (strcmp(s->type, "[convolutional]") && strcmp(s->type, "[conv]")) {
                ohem_err_set(e, "%s:%d: %s activation=%s: AlexeyAB's activation, implemented here for [convolutional] only "
                             "(hint: libdarknet's activations are the others: %s)",
                             cfg->path, s->lines[i], s->type, v, expected + strlen("expected one of: "));
                return -1;
            }
            w = 1;
        }
        if (w == 0 && hash) {
            ohem_err_set(e, "%s:%d: %s %s=%s: libdarknet reads the word with the comment after it, as an unknown %s, "
                         "and goes on with a default (hint: put the comment on a line of its own)",
                         cfg->path, s->lines[i], s->type, s->keys[i], v, s->keys[i]);
            return -1;
        }
        if (w == 0) {
            ohem_err_set(e, "%s:%d: %s %s=%s: %s (libdarknet would go on with a default)", cfg->path, s->lines[i],
                         s->type, s->keys[i], v, expected);
            return -1;
        }
        for (size_t r = 0; r < sizeof(value_rules) / sizeof(value_rules[0]); r++) {
            const value_rule *vr = &value_rules[r];
            if (strcmp(s->keys[i], vr->key)) continue;
            /* [yolo] random= is a number (AlexeyAB's range), checked by parse_yolo.c */
            if (!strcmp(vr->key, "random") && !strcmp(s->type, "[yolo]")) continue;
            const char *v = s->keys[i] + strlen(vr->key) + 1;
            if (!value_ok(v, vr->kind, vr->min)) {
                const char *what = vr->kind == V_INT ? "an integer" : vr->kind == V_FLOAT ? "a number"
                                 : vr->kind == V_INTS ? "comma-separated integers" : "comma-separated numbers";
                ohem_err_set(e, "%s:%d: %s %s=%s: expected %s >= %g", cfg->path, s->lines[i], s->type,
                             vr->key, v, what, vr->min);
                return -1;
            }
            if ((vr->kind == V_INTS || vr->kind == V_FLOATS) && hash && strchr(hash, ',')) {
                ohem_err_set(e, "%s:%d: %s %s=%s: a comment after a list must not hold a comma: libdarknet counts every comma of the line as a separator "
                             "(hint: put the comment on a line of its own)", cfg->path, s->lines[i], s->type, vr->key, v);
                return -1;
            }
        }
    }
    return 0;
}

/* [net] with policy=steps: libdarknet aborts without steps= and scales=, and reads
 * past the scales when there are fewer of them than steps. */
static int check_steps(const ohem_cfg *cfg, const ohem_cfg_section *s, ohem_err *e)
{
    const char *policy = find_val(s, "policy");
    if (!policy || strcmp(policy, "steps")) return 0;
    const char *steps = find_val(s, "steps"), *scales = find_val(s, "scales");
    if (!steps || !scales) {
        ohem_err_set(e, "%s:%d: [net] policy=steps needs %s (hint: steps=400000,450000 and scales=.1,.1: the learning rate is multiplied by each scale at its step)",
                     cfg->path, ohem_cfg_line(s, "policy"), steps ? "scales=" : scales ? "steps=" : "steps= and scales=");
        return -1;
    }
    if (count_list(steps) != count_list(scales)) {
        ohem_err_set(e, "%s:%d: [net] scales=%s: %d values for %d steps (steps=%s on line %d); give one scale per step",
                     cfg->path, ohem_cfg_line(s, "scales"), scales, count_list(scales), count_list(steps), steps,
                     ohem_cfg_line(s, "steps"));
        return -1;
    }
    return 0;
}

/* [ohem] goes last, once: a section after it would count it in its relative layer
 * indices (a [route] layers=-4 would point elsewhere than in the cfg without it), and
 * a second one would mine again. */
static int check_ohem_placement(const ohem_cfg *cfg, ohem_err *e)
{
    int first = 0;
    for (int i = 1; i < cfg->n; i++) {
        if (strcmp(cfg->sections[i].type, "[ohem]")) continue;
        if (first) {
            ohem_err_set(e, "%s:%d: a second [ohem] (the first is on line %d): a cfg has one [ohem], as its last section",
                         cfg->path, cfg->sections[i].line, cfg->sections[first].line);
            return -1;
        }
        first = i;
    }
    if (first && first != cfg->n - 1) {
        ohem_err_set(e, "%s:%d: [ohem] must be the last section of the cfg, but %s follows it on line %d "
                     "(hint: move [ohem] to the end; a layer after it would count it in its relative indices, so a [route] layers=-4 would point elsewhere)",
                     cfg->path, cfg->sections[first].line, cfg->sections[first + 1].type, cfg->sections[first + 1].line);
        return -1;
    }
    return 0;
}

/* Sections whose libdarknet parser needs an image (h, w, c) from the layer before,
 * and aborts without one. */
static int needs_image(const char *type)
{
    static const char *const kinds[] = {"[convolutional]", "[conv]", "[deconvolutional]", "[deconv]",
                                        "[local]", "[maxpool]", "[max]", "[reorg]", "[upsample]",
                                        "[yolo]", "[region]", "[crop]"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(type, kinds[i])) return 1;
    return 0;
}

/* Sections that make an image from an image, which comes out empty (or of negative
 * size) when the input is too small for them. */
static int shrinks_image(const char *type)
{
    static const char *const kinds[] = {"[convolutional]", "[conv]", "[deconvolutional]", "[deconv]",
                                        "[local]", "[maxpool]", "[max]", "[upsample]"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(type, kinds[i])) return 1;
    return 0;
}

/* The output size a [convolutional] or [maxpool] will have, as libdarknet computes
 * it from the keys (and allocates it, with a negative count when it is negative):
 * 1 with *ow, *oh, *oc set for those sections, 0 for others. */
static int window_output(const parse_ctx *c, int *ow, int *oh, int *oc)
{
    const ohem_cfg_section *s = c->s;
    int w = c->params.w, h = c->params.h;
    if (!strcmp(s->type, "[convolutional]") || !strcmp(s->type, "[conv]")) {
        int size = int_or(s, "size", 1), stride = int_or(s, "stride", 1);
        int pad = int_or(s, "pad", 0) ? size / 2 : int_or(s, "padding", 0);
        *ow = (w + 2 * pad - size) / stride + 1;
        *oh = (h + 2 * pad - size) / stride + 1;
        *oc = int_or(s, "filters", 1);
        return 1;
    }
    if (!strcmp(s->type, "[maxpool]") || !strcmp(s->type, "[max]")) {
        int stride = int_or(s, "stride", 1), size = int_or(s, "size", stride), pad = int_or(s, "padding", size - 1);
        *ow = (w + pad - size) / stride + 1;
        *oh = (h + pad - size) / stride + 1;
        *oc = c->params.c;
        return 1;
    }
    return 0;
}

/* ---- the table ------------------------------------------------------------------- */

typedef struct {
    const char *name;
    parse_fn parse;
    int plugin;       /* 1: our section: its keys are checked by its parser */
} section_type;

static const section_type section_types[] = {
    {"[convolutional]", p_convolutional, 0}, {"[conv]", p_convolutional, 0},
    {"[deconvolutional]", p_deconvolutional, 0}, {"[deconv]", p_deconvolutional, 0},
    {"[local]", p_local, 0},
    {"[activation]", p_activation, 0},
    {"[logistic]", p_logistic, 0},
    {"[l2norm]", p_l2norm, 0},
    {"[rnn]", p_rnn, 0},
    {"[gru]", p_gru, 0},
    {"[lstm]", p_lstm, 0},
    {"[crnn]", p_crnn, 0},
    {"[connected]", p_connected, 0}, {"[conn]", p_connected, 0},
    {"[crop]", p_crop, 0},
    {"[cost]", p_cost, 0},
    {"[region]", p_region, 0},
    {"[yolo]", p_yolo, 0},
    {"[iseg]", p_iseg, 0},
    {"[detection]", p_detection, 0},
    {"[softmax]", p_softmax, 0}, {"[soft]", p_softmax, 0},
    {"[normalization]", p_normalization, 0}, {"[lrn]", p_normalization, 0},
    {"[batchnorm]", p_batchnorm, 0},
    {"[maxpool]", p_maxpool, 0}, {"[max]", p_maxpool, 0},
    {"[reorg]", p_reorg, 0},
    {"[avgpool]", p_avgpool, 0}, {"[avg]", p_avgpool, 0},
    {"[route]", p_route, 0},
    {"[upsample]", p_upsample, 0},
    {"[shortcut]", p_shortcut, 0},
    {"[dropout]", p_dropout, 0},
    {"[ohem]", p_ohem, 1},
    {"[rpn]", p_rpn, 1},
    {"[roipool]", p_roipool, 1},
    {"[roi_loss]", p_roi_loss, 1},
};

static const section_type *find_section_type(const char *name)
{
    for (size_t i = 0; i < sizeof(section_types) / sizeof(section_types[0]); i++)
        if (strcmp(section_types[i].name, name) == 0) return &section_types[i];
    return NULL;
}

const char *ohem_layer_name(const layer *l)
{
    static const char *const names[] = {
        "convolutional", "deconvolutional", "connected", "maxpool", "softmax", "detection",
        "dropout", "crop", "route", "cost", "normalization", "avgpool", "local", "shortcut",
        "activation", "rnn", "gru", "lstm", "crnn", "batchnorm", "network", "xnor", "region",
        "yolo", "iseg", "reorg", "upsample", "logistic", "l2norm", "blank"};
    if (is_ohem_layer(l)) return "ohem";
    if (is_rpn_layer(l)) return "rpn";
    if (is_roipool_layer(l)) return "roipool";
    if (is_roi_loss_layer(l)) return "roi_loss";
    if ((unsigned)l->type < sizeof(names) / sizeof(names[0])) return names[l->type];
    return "unknown";
}

static int is_net_section(const char *type)
{
    return strcmp(type, "[net]") == 0 || strcmp(type, "[network]") == 0;
}

/* The keys every built-in layer reads, as libdarknet's parser sets them. */
static void apply_common_keys(list *o, network *net, layer *l)
{
    l->clip = net->clip;
    l->truth = option_find_int_quiet(o, "truth", 0);
    l->onlyforward = option_find_int_quiet(o, "onlyforward", 0);
    l->stopbackward = option_find_int_quiet(o, "stopbackward", 0);
    l->dontsave = option_find_int_quiet(o, "dontsave", 0);
    l->dontload = option_find_int_quiet(o, "dontload", 0);
    l->numload = option_find_int_quiet(o, "numload", 0);
    l->dontloadscales = option_find_int_quiet(o, "dontloadscales", 0);
    l->learning_rate_scale = option_find_float_quiet(o, "learning_rate", 1);
    l->smooth = option_find_float_quiet(o, "smooth", 0);
}

static int parse_network(const char *path, int quiet, network **out, ohem_err *e)
{
    ohem_cfg cfg;
    *out = NULL;
    if (ohem_cfg_read(path, &cfg, e) != 0) return -1;
    cfg.quiet = quiet;
    if (!is_net_section(cfg.sections[0].type)) {
        ohem_err_set(e, "%s:%d: the first section is %s (hint: a network starts with [net])", path,
                     cfg.sections[0].line, cfg.sections[0].type);
        ohem_cfg_free(&cfg);
        return -1;
    }
    for (int i = 1; i < cfg.n; i++)
        if (!find_section_type(cfg.sections[i].type)) {
            ohem_err_set(e, "%s:%d: unknown section %s (hint: a misspelling? [ohem] is the plugin's section)",
                         path, cfg.sections[i].line, cfg.sections[i].type);
            ohem_cfg_free(&cfg);
            return -1;
        }
    if (cfg.n < 2) {
        ohem_err_set(e, "%s:%d: [net] is not followed by any layer", path, cfg.sections[0].line);
        ohem_cfg_free(&cfg);
        return -1;
    }
    for (int i = 0; i < cfg.n; i++) {
        if (i > 0 && find_section_type(cfg.sections[i].type)->plugin) ohem_cfg_cut_comments(&cfg.sections[i]);
        else if (ohem_cfg_check_keys(&cfg, &cfg.sections[i], e) != 0 || check_values(&cfg, &cfg.sections[i], e) != 0) {
            ohem_cfg_free(&cfg);
            return -1;
        }
    }
    net_augment aug;
    if (check_steps(&cfg, &cfg.sections[0], e) != 0 || check_ohem_placement(&cfg, e) != 0 ||
        ohem_parse_net_augment(&cfg, &cfg.sections[0], &aug, e) != 0) {
        ohem_cfg_free(&cfg);
        return -1;
    }
    network *net = make_network(cfg.n - 1);
    net->gpu_index = gpu_index;
    parse_net_options(cfg.sections[0].options, net);
    ohem_cfg_warn_unread(&cfg, &cfg.sections[0]);
    if (net->batch < 1 || net->h < 0 || net->w < 0 || net->c < 0 || net->inputs < 1) {
        ohem_err_set(e, "%s:%d: [net]: batch/subdivisions leave no image per step, or width, height and channels are unset (batch=%d, %dx%dx%d)",
                     path, cfg.sections[0].line, net->batch, net->w, net->h, net->c);
        free_network(net);
        ohem_cfg_free(&cfg);
        return -1;
    }
    parse_ctx c = {&cfg, NULL, net, {0}, e};
    c.params.h = net->h;
    c.params.w = net->w;
    c.params.c = net->c;
    c.params.inputs = net->inputs;
    c.params.batch = net->batch;
    c.params.time_steps = net->time_steps;
    c.params.net = net;
    size_t workspace = 0;
    fprintf(stderr, "layer     filters    size              input                output\n");
    for (int i = 1; i < cfg.n; i++) {
        int index = i - 1;
        const section_type *t = find_section_type(cfg.sections[i].type);
        layer l = {0};
        c.s = &cfg.sections[i];
        c.params.index = index;
        if (needs_image(c.s->type) && !(c.params.h > 0 && c.params.w > 0 && c.params.c > 0)) {
            ohem_err_set(e, "%s:%d: %s needs an image input, but the %s before it (line %d) gives %dx%dx%d (hint: [connected], [softmax] and [cost] output flat vectors)",
                         path, c.s->line, c.s->type, cfg.sections[i - 1].type, cfg.sections[i - 1].line, c.params.w, c.params.h, c.params.c);
            free_network(net);
            ohem_cfg_free(&cfg);
            return -1;
        }
        int ow, oh, oc;
        if (window_output(&c, &ow, &oh, &oc) && !(ow > 0 && oh > 0 && oc > 0)) {
            ohem_err_set(e, "%s:%d: %s makes a %dx%dx%d output from its %dx%dx%d input (hint: lower size= or the downsampling before it, or raise [net] width and height)",
                         path, c.s->line, c.s->type, ow, oh, oc, c.params.w, c.params.h, c.params.c);
            free_network(net);
            ohem_cfg_free(&cfg);
            return -1;
        }
        if (t->parse(&c, &l) != 0) {
            free_network(net);
            ohem_cfg_free(&cfg);
            return -1;
        }
        if (shrinks_image(c.s->type) && !(l.out_w > 0 && l.out_h > 0 && l.out_c > 0)) {
            /* the other sections that shrink an image ([local], [upsample] stride<0) */
            ohem_err_set(e, "%s:%d: %s makes a %dx%dx%d output from its %dx%dx%d input (hint: lower size= or the downsampling before it, or raise [net] width and height)",
                         path, c.s->line, c.s->type, l.out_w, l.out_h, l.out_c, c.params.w, c.params.h, c.params.c);
            free_layer(l);
            free_network(net);
            ohem_cfg_free(&cfg);
            return -1;
        }
        if (!t->plugin) {
            apply_common_keys(c.s->options, net, &l);
            ohem_cfg_warn_unread(&cfg, c.s);
        }
        net->layers[index] = l;
        if (l.workspace_size > workspace) workspace = l.workspace_size;
        c.params.h = l.out_h;
        c.params.w = l.out_w;
        c.params.c = l.out_c;
        c.params.inputs = l.outputs;
        if (is_roipool_layer(&l)) c.params.batch = l.batch; /* the head runs per RoI */
    }
    ohem_cfg_free(&cfg);
    layer last = get_network_output_layer(net);
    net->outputs = last.outputs;
    net->truths = last.outputs;
    if (net->layers[net->n - 1].truths) net->truths = net->layers[net->n - 1].truths;
    net->output = last.output;
    net->input = calloc((size_t)net->inputs * net->batch, sizeof(float));
    net->truth = calloc((size_t)net->truths * net->batch, sizeof(float));
    if (workspace) net->workspace = calloc(1, workspace);
    if (!net->input || !net->truth || (workspace && !net->workspace)) {
        ohem_err_set(e, "%s: out of memory building the network", path);
        free_network(net);
        return -1;
    }
    if (ohem_keep_input_deltas(net) != 0 || ohem_net_augment_set(net, &aug) != 0) {
        ohem_err_set(e, "%s: out of memory building the network", path);
        free_network(net);
        return -1;
    }
    *out = net;
    return 0;
}

int ohem_parse_network(const char *path, network **out, ohem_err *e)
{
    return parse_network(path, 0, out, e);
}

int ohem_parse_network_quiet(const char *path, network **out, ohem_err *e)
{
    return parse_network(path, 1, out, e);
}
