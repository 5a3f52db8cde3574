/* parse_yolo.c: AlexeyAB's [yolo] loss keys. Each is checked (a number where one is
 * expected, in its range; a known word) and given AlexeyAB's meaning (yolo_layer.h). */
#include "parse_yolo.h"
#include "dn_internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const ohem_yolo_plugin_keys[] = {"scale_x_y", "iou_normalizer", "obj_normalizer", "cls_normalizer",
                                             "iou_loss", "max_delta", "iou_thresh", "label_smooth_eps",
                                             "focal_loss", "objectness_smooth", "new_coords", "nms_kind", "beta_nms", "resize", NULL};

typedef struct {
    const char *key;
    double min, max;   /* the accepted range, both ends included */
    int integer;
    const char *hint;
} num_key;

static const num_key num_keys[] = {
    {"scale_x_y", 1, 10, 0, "AlexeyAB's cfgs use 1.05 to 2; 1 decodes as libdarknet"},
    {"iou_normalizer", 0, 1e6, 0, "the weight of the box delta: 0.07 with iou_loss=ciou in AlexeyAB's yolov4 cfgs"},
    {"obj_normalizer", 0, 1e6, 0, "the weight of the objectness delta, 1 by default"},
    {"cls_normalizer", 0, 1e6, 0, "AlexeyAB's cfgs use 1"},
    {"max_delta", 1e-30, FLT_MAX, 0, "the bound of each box delta entry, e.g. 5"},
    {"iou_thresh", 0, 1, 0, "AlexeyAB's cfgs use 0.213; 1 trains the best anchor only"},
    {"label_smooth_eps", 0, 1, 0, "e.g. 0.1: the class targets become 0.95 and 0.05"},
    {"focal_loss", 0, 1, 1, "0 or 1"},
    {"objectness_smooth", 0, 1, 1, "0 or 1"},
    {"new_coords", 0, 1, 1, "0 or 1; 1 with activation=logistic in the [convolutional] before, as AlexeyAB's yolov4-csp and yolov7 cfgs"},
};

/* The value of key in s, up to a comment, or NULL; marks it read. */
static const char *take(const ohem_cfg_section *s, const char *key)
{
    for (node *n = s->options->front; n; n = n->next) {
        dn_kvp *p = (dn_kvp *)n->val;
        if (!strcmp(p->key, key)) {
            p->used = 1;
            return p->val;
        }
    }
    return NULL;
}

/* The value of key in s, without marking it read. */
static const char *find_raw(const ohem_cfg_section *s, const char *key)
{
    for (int i = 0; i < s->nkeys; i++)
        if (!strcmp(s->keys[i], key)) return s->keys[i] + strlen(key) + 1;
    return NULL;
}

static int parse_num(const ohem_cfg *cfg, const ohem_cfg_section *s, const num_key *k, const char *v, double *out,
                     ohem_err *e)
{
    char *end;
    errno = 0;
    double x = k->integer ? (double)strtol(v, &end, 10) : strtod(v, &end);
    if (end == v || errno || !isfinite(x) || (*end && *end != '#') || x < k->min || x > k->max) {
        ohem_err_set(e, "%s:%d: [yolo] %s=%s: expected %s in [%g, %g] (hint: %s)", cfg->path,
                     ohem_cfg_line(s, k->key), k->key, v, k->integer ? "an integer" : "a number", k->min, k->max,
                     k->hint);
        return -1;
    }
    *out = x;
    return 0;
}

int ohem_parse_yolo_options(const ohem_cfg *cfg, const ohem_cfg_section *s, yolo_options *o, ohem_err *e)
{
    yolo_options_default(o);
    for (size_t i = 0; i < sizeof(num_keys) / sizeof(num_keys[0]); i++) {
        const char *v = take(s, num_keys[i].key);
        double x;
        if (!v) continue;
        if (parse_num(cfg, s, &num_keys[i], v, &x, e) != 0) return -1;
        o->alexeyab = 1;
        const char *k = num_keys[i].key;
        if (!strcmp(k, "scale_x_y")) o->scale_x_y = (float)x;
        else if (!strcmp(k, "iou_normalizer")) o->iou_normalizer = (float)x;
        else if (!strcmp(k, "obj_normalizer")) o->obj_normalizer = (float)x;
        else if (!strcmp(k, "cls_normalizer")) o->cls_normalizer = (float)x;
        else if (!strcmp(k, "max_delta")) o->max_delta = (float)x;
        else if (!strcmp(k, "iou_thresh")) o->iou_thresh = (float)x;
        else if (!strcmp(k, "label_smooth_eps")) o->label_smooth_eps = (float)x;
        else if (!strcmp(k, "focal_loss")) o->focal_loss = (int)x;
        else if (!strcmp(k, "objectness_smooth")) o->objectness_smooth = (int)x;
        else if (!strcmp(k, "new_coords")) o->new_coords = (int)x;
    }
    /* random= changes the multi-scale range only, not the loss: libdarknet reads it
     * too (as an integer, so random=1.5 turns multi-scale training on) */
    const char *r = find_raw(s, "random");
    if (r) {
        static const num_key rk = {"random", 0, 100, 0, "0: one size; 1: libdarknet's range; above 1 (AlexeyAB's 1.4 ...): "
                                   "sizes from width / random to width x random"};
        double x;
        if (parse_num(cfg, s, &rk, r, &x, e) != 0) return -1;
        if (x > 0 && x < 1) {
            ohem_err_set(e, "%s:%d: [yolo] random=%s: between 0 and 1 has no meaning (hint: %s)", cfg->path,
                         ohem_cfg_line(s, "random"), r, rk.hint);
            return -1;
        }
        o->random = (float)x;
    }
    /* nms_kind= and beta_nms= change detection's NMS only, not the loss */
    const char *nk = take(s, "nms_kind");
    if (nk) {
        static const char *const kinds[] = {"default", "greedynms", "diounms"};
        size_t n = strcspn(nk, "#");
        int kind = -1;
        for (int i = 0; i < 3; i++)
            if (strlen(kinds[i]) == n && !strncmp(nk, kinds[i], n)) kind = i;
        if (kind < 0) {
            ohem_err_set(e, "%s:%d: [yolo] nms_kind=%s: expected default, greedynms or diounms", cfg->path,
                         ohem_cfg_line(s, "nms_kind"), nk);
            return -1;
        }
        o->nms_kind = kind;
    }
    const char *bn = take(s, "beta_nms");
    if (bn) {
        static const num_key bk = {"beta_nms", 1e-6, 100, 0, "the exponent of diounms's distance term; AlexeyAB's cfgs use 0.6"};
        double x;
        if (parse_num(cfg, s, &bk, bn, &x, e) != 0) return -1;
        o->beta_nms = (float)x;
    }
    /* resize= changes the training images only (src/cli/loader.c), not the loss */
    const char *rz = take(s, "resize");
    if (rz) {
        static const num_key zk = {"resize", 0.1, 10, 0, "AlexeyAB's cfgs use 1.5: each training image scaled from 1/1.5 to 1.5 "
                                   "times; 1: not scaled; below 1: scaled down only"};
        double x;
        if (parse_num(cfg, s, &zk, rz, &x, e) != 0) return -1;
        o->resize = (float)x;
    }
    const char *v = take(s, "iou_loss");
    if (v) {
        char word[16];
        size_t n = strcspn(v, "#");
        int kind = n < sizeof(word) ? (memcpy(word, v, n), word[n] = 0, iou_kind_parse(word)) : -1;
        if (kind < 0) {
            ohem_err_set(e, "%s:%d: [yolo] iou_loss=%s: expected one of mse, iou, giou, diou, ciou "
                         "(AlexeyAB's Darknet would train with iou)", cfg->path, ohem_cfg_line(s, "iou_loss"), v);
            return -1;
        }
        o->iou_loss = (iou_kind)kind;
        o->alexeyab = 1;
    }
    return 0;
}
