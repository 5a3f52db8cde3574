/* cfg_keys.c: the key tables of the built-in sections. The keys are those Debian's
 * libdarknet (pjreddie's Darknet) reads; tests/test_parser.c holds them against the
 * keys the library's own parse functions mark as read. AlexeyAB's keys are from its
 * parser.c, each with what it changes there. */
#include "cfg_keys.h"
#include "dn_internal.h"
#include "parse_yolo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- what libdarknet reads -------------------------------------------------------- */

const char *const ohem_cfg_common_keys[] = {"truth", "onlyforward", "stopbackward", "dontsave", "dontload",
                                            "numload", "dontloadscales", "learning_rate", "smooth", NULL};

static const char *const k_net[] = {
    "batch", "subdivisions", "width", "height", "channels", "inputs", "max_batches", "learning_rate",
    "momentum", "decay", "policy", "burn_in", "power", "step", "scale", "steps", "scales", "gamma",
    "time_steps", "notruth", "random", "adam", "B1", "B2", "eps", "max_crop", "min_crop", "max_ratio",
    "min_ratio", "center", "clip", "angle", "aspect", "saturation", "exposure", "hue", NULL};
static const char *const k_convolutional[] = {"filters", "size", "stride", "pad", "padding", "groups", "activation",
                                              "batch_normalize", "binary", "xnor", "flipped", "dot", NULL};
static const char *const k_deconvolutional[] = {"filters", "size", "stride", "pad", "padding", "activation",
                                                "batch_normalize", NULL};
static const char *const k_local[] = {"filters", "size", "stride", "pad", "activation", NULL};
static const char *const k_activation[] = {"activation", NULL};
static const char *const k_none[] = {NULL};
static const char *const k_rnn[] = {"output", "activation", "batch_normalize", "shortcut", NULL};
static const char *const k_gru[] = {"output", "batch_normalize", "tanh", NULL};
static const char *const k_lstm[] = {"output", "batch_normalize", NULL};
static const char *const k_crnn[] = {"output_filters", "hidden_filters", "activation", "batch_normalize", "shortcut", NULL};
static const char *const k_connected[] = {"output", "activation", "batch_normalize", NULL};
static const char *const k_crop[] = {"crop_height", "crop_width", "flip", "angle", "saturation", "exposure",
                                     "noadjust", "shift", NULL};
static const char *const k_cost[] = {"type", "scale", "ratio", "noobj", "thresh", NULL};
static const char *const k_region[] = {
    "classes", "coords", "num", "anchors", "log", "sqrt", "softmax", "background", "max", "jitter", "rescore",
    "thresh", "classfix", "absolute", "random", "coord_scale", "object_scale", "noobject_scale",
    "mask_scale", "class_scale", "bias_match", "tree", "map", NULL};
static const char *const k_yolo[] = {"classes", "num", "mask", "anchors", "max", "jitter", "ignore_thresh",
                                     "truth_thresh", "random", "map", NULL};
static const char *const k_iseg[] = {"classes", "ids", NULL};
static const char *const k_detection[] = {
    "classes", "coords", "num", "side", "rescore", "softmax", "sqrt", "max", "coord_scale", "forced",
    "object_scale", "noobject_scale", "class_scale", "jitter", "random", "reorg", NULL};
static const char *const k_softmax[] = {"groups", "temperature", "tree", "spatial", "noloss", NULL};
static const char *const k_normalization[] = {"size", "alpha", "beta", "kappa", NULL};
static const char *const k_maxpool[] = {"size", "stride", "padding", NULL};
static const char *const k_reorg[] = {"stride", "reverse", "flatten", "extra", NULL};
static const char *const k_dropout[] = {"probability", NULL};
static const char *const k_route[] = {"layers", NULL};
static const char *const k_upsample[] = {"stride", "scale", NULL};
static const char *const k_shortcut[] = {"from", "activation", "alpha", "beta", NULL};

typedef struct {
    const char *type;       /* as written in a cfg */
    const char *name;       /* the canonical name, as the tables below use it */
    const char *const *keys;
} key_table;

static const key_table tables[] = {
    {"[net]", "[net]", k_net}, {"[network]", "[net]", k_net},
    {"[convolutional]", "[convolutional]", k_convolutional}, {"[conv]", "[convolutional]", k_convolutional},
    {"[deconvolutional]", "[deconvolutional]", k_deconvolutional}, {"[deconv]", "[deconvolutional]", k_deconvolutional},
    {"[local]", "[local]", k_local},
    {"[activation]", "[activation]", k_activation},
    {"[logistic]", "[logistic]", k_none},
    {"[l2norm]", "[l2norm]", k_none},
    {"[rnn]", "[rnn]", k_rnn},
    {"[gru]", "[gru]", k_gru},
    {"[lstm]", "[lstm]", k_lstm},
    {"[crnn]", "[crnn]", k_crnn},
    {"[connected]", "[connected]", k_connected}, {"[conn]", "[connected]", k_connected},
    {"[crop]", "[crop]", k_crop},
    {"[cost]", "[cost]", k_cost},
    {"[region]", "[region]", k_region},
    {"[yolo]", "[yolo]", k_yolo},
    {"[iseg]", "[iseg]", k_iseg},
    {"[detection]", "[detection]", k_detection},
    {"[softmax]", "[softmax]", k_softmax}, {"[soft]", "[softmax]", k_softmax},
    {"[normalization]", "[normalization]", k_normalization}, {"[lrn]", "[normalization]", k_normalization},
    {"[batchnorm]", "[batchnorm]", k_none},
    {"[maxpool]", "[maxpool]", k_maxpool}, {"[max]", "[maxpool]", k_maxpool},
    {"[reorg]", "[reorg]", k_reorg},
    {"[avgpool]", "[avgpool]", k_none}, {"[avg]", "[avgpool]", k_none},
    {"[route]", "[route]", k_route},
    {"[upsample]", "[upsample]", k_upsample},
    {"[shortcut]", "[shortcut]", k_shortcut},
    {"[dropout]", "[dropout]", k_dropout},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

static const key_table *table_of(const char *type)
{
    for (size_t i = 0; i < NTABLES; i++)
        if (!strcmp(tables[i].type, type)) return &tables[i];
    return NULL;
}

const char *const *ohem_cfg_known_keys(const char *type)
{
    const key_table *t = table_of(type);
    return t ? t->keys : NULL;
}

static int in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (!strcmp(*list, key)) return 1;
    return 0;
}

static int is_net(const key_table *t)
{
    return !strcmp(t->name, "[net]");
}

/* Keys the plugin reads beside libdarknet's, per section. */
static int plugin_known(const key_table *t, const char *key)
{
    return !strcmp(t->name, "[yolo]") && in_list(ohem_yolo_plugin_keys, key);
}

static int known(const key_table *t, const char *key)
{
    return in_list(t->keys, key) || (!is_net(t) && in_list(ohem_cfg_common_keys, key)) || plugin_known(t, key);
}

/* Keys of [net] that libdarknet reads only with another setting. */
static const struct {
    const char *key, *when;
} conditional[] = {
    {"B1", "adam=1"}, {"B2", "adam=1"}, {"eps", "adam=1"},
    {"step", "policy=step or policy=sigmoid"}, {"scale", "policy=step"},
    {"steps", "policy=steps"}, {"scales", "policy=steps"}, {"gamma", "policy=exp or policy=sigmoid"},
};

/* ---- what a key libdarknet does not read means ------------------------------------- */

typedef enum {
    K_NETWORK,   /* AlexeyAB's: changes the network or the loss: an error */
    K_AUGMENT,   /* AlexeyAB's: changes the training images only: a warning */
    K_IGNORED,   /* AlexeyAB's, for display, tracking or the GPU: a warning */
    K_RENAMED,   /* AlexeyAB's name for a key libdarknet reads under another: an error */
    K_OLDER,     /* in older cfgs (Debian's own among them), ignored by libdarknet: a warning */
    K_OURS,      /* AlexeyAB's, implemented by the plugin's parser after libdarknet's: accepted */
} key_kind;

typedef struct {
    const char *type;  /* canonical section name, or "*" for every layer section */
    const char *key;
    key_kind kind;
    const char *def;   /* the value at which it changes nothing, or NULL */
    const char *what;  /* K_NETWORK: what it changes; K_AUGMENT: what training leaves
                          out; K_IGNORED, K_OLDER: why it is ignored; K_RENAMED: the
                          name libdarknet reads */
} foreign_key;

static const foreign_key foreign[] = {
    /* [net]: augmentation */
    {"[net]", "mosaic", K_OURS, NULL, "net_augment.h: 4 images tiled into one training image"},
    {"[net]", "mosaic_bound", K_OURS, NULL, "net_augment.h: mosaic's boxes clipped to their tile"},
    {"[net]", "cutmix", K_AUGMENT, "0", "CutMix (a patch of another image pasted in)"},
    {"[net]", "mixup", K_AUGMENT, "0", "MixUp (two images blended)"},
    {"[net]", "letter_box", K_OURS, NULL, "net_augment.h: training and detection keep the image's aspect ratio"},
    {"[net]", "blur", K_AUGMENT, "0", "random blur"},
    {"[net]", "gaussian_noise", K_AUGMENT, "0", "Gaussian noise on the images"},
    {"[net]", "flip", K_IGNORED, NULL, "AlexeyAB's Darknet switch for flips; libdarknet's detection loader flips half the images at random whatever it says"},
    {"[net]", "resize_step", K_AUGMENT, "32", "the step between multi-scale sizes: multi-scale training here picks multiples of 32"},
    {"[net]", "contrastive_jit_flip", K_AUGMENT, "0", "the flips of the contrastive pairs"},
    {"[net]", "contrastive_color", K_AUGMENT, "0", "the colour jitter of the contrastive pairs"},
    /* [net]: the schedule, the optimiser, the loss */
    {"[net]", "learning_rate_min", K_NETWORK, NULL, "the learning-rate schedule (policy=sgdr's floor)"},
    {"[net]", "sgdr_cycle", K_NETWORK, NULL, "the learning-rate schedule (policy=sgdr's cycle)"},
    {"[net]", "sgdr_mult", K_NETWORK, NULL, "the learning-rate schedule (policy=sgdr's cycle growth)"},
    {"[net]", "seq_scales", K_NETWORK, NULL, "the batch size at each of steps="},
    {"[net]", "sequential_subdivisions", K_NETWORK, NULL, "the images per step (sequential training)"},
    {"[net]", "track", K_NETWORK, "0", "the data order (video sequences for tracking)"},
    {"[net]", "augment_speed", K_NETWORK, NULL, "the data order (frame skipping of video sequences)"},
    {"[net]", "try_fix_nan", K_NETWORK, "0", "the update (NaN and infinite gradients zeroed)"},
    {"[net]", "ema_alpha", K_NETWORK, "0", "the weights saved (an exponential moving average of them)"},
    {"[net]", "label_smooth_eps", K_NETWORK, "0", "the class targets of the loss (label smoothing)"},
    {"[net]", "contrastive", K_NETWORK, "0", "the loss (a contrastive term)"},
    {"[net]", "unsupervised", K_NETWORK, "0", "the loss (unsupervised contrastive training)"},
    {"[net]", "adversarial_lr", K_NETWORK, "0", "the training images (adversarial attack on them)"},
    {"[net]", "attention", K_NETWORK, "0", "the training images (attention-weighted)"},
    {"[net]", "dynamic_minibatch", K_NETWORK, "0", "the images per step (grown during training)"},
    {"[net]", "weights_reject_freq", K_NETWORK, "0", "the weights (bad updates rejected)"},
    {"[net]", "equidistant_point", K_NETWORK, "0", "the learning-rate schedule"},
    {"[net]", "badlabels_rejection_percentage", K_NETWORK, "0", "the truths that train (bad labels rejected)"},
    {"[net]", "num_sigmas_reject_badlabels", K_NETWORK, "0", "the truths that train (bad labels rejected)"},
    /* [net]: display and GPU */
    {"[net]", "max_chart_loss", K_IGNORED, NULL, "AlexeyAB's Darknet key for its loss chart, which this build does not draw"},
    {"[net]", "show_receptive_field", K_IGNORED, NULL, "AlexeyAB's Darknet key for a printout of receptive fields"},
    {"[net]", "use_cuda_graph", K_IGNORED, NULL, "AlexeyAB's Darknet key for the GPU, which a CPU build has not"},
    {"[net]", "optimized_memory", K_IGNORED, NULL, "AlexeyAB's Darknet key for GPU memory, which a CPU build has not"},
    {"[net]", "workspace_size_limit_MB", K_IGNORED, NULL, "AlexeyAB's Darknet key for GPU memory, which a CPU build has not"},
    {"[net]", "loss_scale", K_IGNORED, NULL, "AlexeyAB's Darknet key for half-precision training on a GPU, which a CPU build has not"},
    {"[net]", "cudnn_half", K_IGNORED, NULL, "AlexeyAB's Darknet key for half precision on a GPU, which a CPU build has not"},
    {"[net]", "seen", K_OLDER, NULL, "the count of images seen comes from the weights file"},
    /* every layer */
    {"*", "dont_update", K_NETWORK, "0", "which weights train (the layer's frozen)"},
    {"*", "burnin_update", K_NETWORK, "0", "which weights train (the layer's frozen during burn_in)"},
    {"*", "train_only_bn", K_NETWORK, "0", "which weights train (batch norm only, here and before)"},
    {"*", "clip", K_NETWORK, "0", "the layer's output (clipped); libdarknet clips by [net] clip= only"},
    {"*", "stream", K_IGNORED, NULL, "AlexeyAB's Darknet key for GPU streams, which a CPU build has not"},
    {"*", "wait_stream", K_IGNORED, NULL, "AlexeyAB's Darknet key for GPU streams, which a CPU build has not"},
    /* [convolutional] */
    {"[convolutional]", "stride_x", K_NETWORK, NULL, "the network (a stride in x other than in y)"},
    {"[convolutional]", "stride_y", K_NETWORK, NULL, "the network (a stride in y other than in x)"},
    {"[convolutional]", "dilation", K_NETWORK, "1", "the network (a dilated convolution)"},
    {"[convolutional]", "antialiasing", K_NETWORK, "0", "the network (a blur before the stride)"},
    {"[convolutional]", "assisted_excitation", K_NETWORK, "0", "the network (assisted excitation of the truths)"},
    {"[convolutional]", "share_index", K_NETWORK, NULL, "the network (weights shared with another layer)"},
    {"[convolutional]", "cbn", K_NETWORK, "0", "the network (cross-iteration batch norm)"},
    {"[convolutional]", "bin_output", K_NETWORK, "0", "the network (binary outputs)"},
    {"[convolutional]", "sway", K_NETWORK, "0", "the network (a deformable convolution)"},
    {"[convolutional]", "rotate", K_NETWORK, "0", "the network (a deformable convolution)"},
    {"[convolutional]", "stretch", K_NETWORK, "0", "the network (a deformable convolution)"},
    {"[convolutional]", "stretch_sway", K_NETWORK, "0", "the network (a deformable convolution)"},
    {"[convolutional]", "angle", K_IGNORED, NULL, "AlexeyAB's Darknet key for its deformable convolutions (sway, rotate, stretch), which are refused here"},
    {"[convolutional]", "grad_centr", K_NETWORK, "0", "the update (gradient centralisation)"},
    {"[convolutional]", "coordconv", K_NETWORK, "0", "the network (coordinate channels)"},
    /* [maxpool] */
    {"[maxpool]", "stride_x", K_NETWORK, NULL, "the network (a stride in x other than in y)"},
    {"[maxpool]", "stride_y", K_NETWORK, NULL, "the network (a stride in y other than in x)"},
    {"[maxpool]", "maxpool_depth", K_NETWORK, "0", "the network (pooling across channels)"},
    {"[maxpool]", "out_channels", K_NETWORK, "1", "the network (pooling across channels)"},
    {"[maxpool]", "antialiasing", K_NETWORK, "0", "the network (a blur before the stride)"},
    {"[maxpool]", "maxpool_zero_nonmax", K_NETWORK, "0", "the network (the non-maximum outputs zeroed)"},
    /* [route], [shortcut], [dropout], [crnn], [rnn] */
    {"[route]", "groups", K_OURS, NULL, "route_layer.h: the route passes 1/groups of each input's channels"},
    {"[route]", "group_id", K_OURS, NULL, "route_layer.h: which group of channels the route passes"},
    {"[shortcut]", "weights_type", K_NETWORK, "none", "the network (weighted shortcut sums)"},
    {"[shortcut]", "weights_normalization", K_NETWORK, "none", "the network (normalised shortcut weights)"},
    {"[dropout]", "dropblock", K_NETWORK, "0", "the network (DropBlock instead of dropout)"},
    {"[dropout]", "dropblock_size_rel", K_NETWORK, "0", "the network (DropBlock's block size)"},
    {"[dropout]", "dropblock_size_abs", K_NETWORK, "0", "the network (DropBlock's block size)"},
    {"[crnn]", "output", K_RENAMED, NULL, "output_filters"},
    {"[crnn]", "hidden", K_RENAMED, NULL, "hidden_filters"},
    {"[crnn]", "size", K_NETWORK, "3", "the network (libdarknet's [crnn] convolves 3x3)"},
    {"[crnn]", "stride", K_NETWORK, "1", "the network (libdarknet's [crnn] has stride 1)"},
    {"[crnn]", "dilation", K_NETWORK, "1", "the network (a dilated convolution)"},
    {"[crnn]", "groups", K_NETWORK, "1", "the network (grouped convolutions)"},
    {"[rnn]", "hidden", K_OLDER, NULL, "libdarknet's [rnn] has output= hidden units"},
    /* [yolo]: the network and the loss */
    {"[yolo]", "delta_normalizer", K_NETWORK, "1", "the weight of the loss"},
    {"[yolo]", "iou_thresh_kind", K_NETWORK, "iou", "which anchors learn a truth (the overlap measure)"},
    {"[yolo]", "counters_per_class", K_NETWORK, NULL, "the class weights of the loss"},
    {"[yolo]", "embedding_layer", K_NETWORK, NULL, "the network (a tracking embedding)"},
    {"[yolo]", "show_details", K_IGNORED, NULL, "AlexeyAB's Darknet key for its printout"},
    {"[yolo]", "track_history_size", K_IGNORED, NULL, "AlexeyAB's Darknet key for tracking"},
    {"[yolo]", "sim_thresh", K_IGNORED, NULL, "AlexeyAB's Darknet key for tracking"},
    {"[yolo]", "dets_for_track", K_IGNORED, NULL, "AlexeyAB's Darknet key for tracking"},
    {"[yolo]", "dets_for_show", K_IGNORED, NULL, "AlexeyAB's Darknet key for tracking"},
    {"[yolo]", "track_ciou_norm", K_IGNORED, NULL, "AlexeyAB's Darknet key for tracking"},
    /* [region], [detection] */
    {"[region]", "focal_loss", K_NETWORK, "0", "the class loss (focal loss)"},
    {"[region]", "resize", K_AUGMENT, "1", "the random resize of the training images"},
    {"[detection]", "resize", K_AUGMENT, "1", "the random resize of the training images"},
};

static const foreign_key *foreign_of(const key_table *t, const char *key)
{
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        const foreign_key *f = &foreign[i];
        int here = !strcmp(f->type, t->name) || (!strcmp(f->type, "*") && !is_net(t));
        if (here && !strcmp(f->key, key)) return f;
    }
    return NULL;
}

int ohem_edit_distance(const char *a, const char *b)
{
    enum { N = 64 };
    int d[N][N];
    int la = (int)strnlen(a, N - 1), lb = (int)strnlen(b, N - 1);
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

/* The known key of t closest to key, or NULL when none is close enough to be what
 * was meant: at most 1 edit for keys up to 5 characters, 2 beyond. */
static const char *closest(const key_table *t, const char *key)
{
    const char *best = NULL;
    int best_d = (int)strlen(key) <= 5 ? 2 : 3;
    for (int pass = 0; pass < 2; pass++) {
        const char *const *list = pass ? ohem_cfg_common_keys : t->keys;
        if (pass && is_net(t)) break;
        for (; *list; list++) {
            int d = ohem_edit_distance(key, *list);
            if (d < best_d) {
                best_d = d;
                best = *list;
            }
        }
    }
    return best;
}

/* The value of a key as libdarknet reads it: up to a comment. */
static void value_of(const char *v, char *out, size_t cap)
{
    size_t n = strcspn(v, "#");
    if (n >= cap) n = cap - 1;
    memcpy(out, v, n);
    out[n] = 0;
}

/* 1 when v is def: the same number, or the same word. */
static int is_default(const char *v, const char *def)
{
    if (!def) return 0;
    char *e1, *e2;
    double a = strtod(v, &e1), b = strtod(def, &e2);
    if (e1 != v && !*e1 && e2 != def && !*e2) return a == b;
    return !strcmp(v, def);
}

/* Writes the sections other than t whose libdarknet parser reads key, as
 * "[yolo], [region]", or "" when none does. */
static void other_sections(const key_table *t, const char *key, char *out, size_t cap)
{
    out[0] = 0;
    for (size_t i = 0; i < NTABLES; i++) {
        const key_table *o = &tables[i];
        if (strcmp(o->type, o->name) || o == t || !strcmp(o->name, t->name) || !in_list(o->keys, key)) continue;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", len ? ", " : "", o->name);
    }
}

/* Writes t's own keys, comma-separated, or "none" for a section that reads none
 * but the common keys. */
static void key_list(const key_table *t, char *out, size_t cap)
{
    out[0] = 0;
    for (const char *const *k = t->keys; *k; k++) {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", len ? ", " : "", *k);
    }
    if (!out[0]) snprintf(out, cap, "none but the keys every layer takes");
}

/* Prints a warning unless cfg is quiet. */
static void warn(const ohem_cfg *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(const ohem_cfg *cfg, const char *fmt, ...)
{
    if (cfg->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

int ohem_cfg_check_keys(const ohem_cfg *cfg, const ohem_cfg_section *s, ohem_err *e)
{
    const key_table *t = table_of(s->type);
    if (!t) return 0;
    for (int i = 0; i < s->nkeys; i++) {
        const char *key = s->keys[i];
        if (known(t, key) || ohem_cfg_line(s, key) != s->lines[i]) continue;
        char v[256];
        value_of(key + strlen(key) + 1, v, sizeof(v));
        const char *path = cfg->path, *type = s->type;
        int line = s->lines[i];
        const foreign_key *f = foreign_of(t, key);
        if (f && f->kind == K_OURS) continue;
        if (f && f->kind != K_RENAMED && f->kind != K_IGNORED && f->kind != K_OLDER && is_default(v, f->def)) {
            warn(cfg, "%s:%d: warning: %s %s=%s: AlexeyAB's Darknet key, at the value that changes nothing; ignored\n",
                    path, line, type, key, v);
            continue;
        }
        if (f) {
            switch (f->kind) {
            case K_NETWORK:
                ohem_err_set(e, "%s:%d: %s %s=%s: AlexeyAB's Darknet key, not implemented here: it changes %s "
                             "(hint: remove the line to train libdarknet's network, which differs from AlexeyAB's)",
                             path, line, type, key, v, f->what);
                return -1;
            case K_RENAMED:
                ohem_err_set(e, "%s:%d: %s %s=%s: AlexeyAB's Darknet name; libdarknet reads this as %s= (hint: %s=%s)",
                             path, line, type, key, v, f->what, f->what, v);
                return -1;
            case K_AUGMENT:
                warn(cfg, "%s:%d: warning: %s %s=%s: AlexeyAB's Darknet key, not implemented here: training leaves out %s\n",
                        path, line, type, key, v, f->what);
                continue;
            case K_IGNORED:
                warn(cfg, "%s:%d: warning: %s %s=%s: %s; ignored\n", path, line, type, key, v, f->what);
                continue;
            case K_OURS:
                continue;
            case K_OLDER:
                warn(cfg, "%s:%d: warning: %s %s=%s: not read by libdarknet (%s); ignored\n", path, line, type,
                        key, v, f->what);
                continue;
            }
        }
        const char *near = closest(t, key);
        char others[200], keys[600];
        other_sections(t, key, others, sizeof(others));
        if (near)
            ohem_err_set(e, "%s:%d: %s %s=%s: unknown key (hint: did you mean %s?)", path, line, type, key, v, near);
        else if (others[0])
            ohem_err_set(e, "%s:%d: %s %s=%s: libdarknet reads %s in %s, not in %s (hint: move the line there)",
                         path, line, type, key, v, key, others, type);
        else {
            key_list(t, keys, sizeof(keys));
            ohem_err_set(e, "%s:%d: %s %s=%s: unknown key (hint: libdarknet's %s reads %s)", path, line, type, key, v,
                         t->name, keys);
        }
        return -1;
    }
    return 0;
}

void ohem_cfg_warn_unread(const ohem_cfg *cfg, const ohem_cfg_section *s)
{
    const key_table *t = table_of(s->type);
    int i = 0;
    for (node *n = s->options->front; n; n = n->next, i++) {
        dn_kvp *p = (dn_kvp *)n->val;
        int first = ohem_cfg_line(s, p->key);
        if (first != s->lines[i]) {
            warn(cfg, "%s:%d: warning: %s key '%s' is given twice; libdarknet reads line %d\n", cfg->path,
                    s->lines[i], s->type, p->key, first);
            continue;
        }
        if (p->used || !t || !known(t, p->key)) continue;
        const char *when = NULL;
        for (size_t c = 0; is_net(t) && c < sizeof(conditional) / sizeof(conditional[0]); c++)
            if (!strcmp(conditional[c].key, p->key)) when = conditional[c].when;
        if (when)
            warn(cfg, "%s:%d: warning: %s %s=%s: libdarknet reads it only with %s; ignored\n", cfg->path,
                    s->lines[i], s->type, p->key, p->val, when);
        else
            warn(cfg, "%s:%d: warning: %s %s=%s: not read by libdarknet with this section's other keys; ignored\n",
                    cfg->path, s->lines[i], s->type, p->key, p->val);
    }
}
