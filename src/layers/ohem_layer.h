/* ohem_layer.h: the [ohem] Darknet layer.
 *
 * Placed after the loss layers it mines ([yolo], [region], [detection], [softmax]),
 * or after the [roi_loss] of a two-stage network, which it then mines alone.
 * Forward (training only): per image, ranks every candidate of those layers by the
 * sum of the squares of its delta entries, keeps the hardest with greedy NMS
 * (ohem.h). Backward: runs before those layers' backward and sets every delta entry
 * of every candidate that was not kept to 0. Its own output is a copy of its input,
 * so inference is untouched.
 * [roi_loss]: the candidates of an image are its labelled RoIs (rows of the layer,
 * whose batch is images x RoIs, as this layer's is), ranked by [roi_loss]'s own loss
 * parts (box = coord, classification = class; no obj), their boxes the RoIs. Built
 * over a [roi_loss], the layer turns its sampler off (roi_loss_layer_set_mining);
 * forward then has [roi_loss] compute the delta of exactly the kept RoIs
 * (roi_loss_layer_train_rows; during warmup, of every labelled one). */
#ifndef OHEM_LAYER_H
#define OHEM_LAYER_H

#include <stddef.h>
#include <stdio.h>
#include "darknet.h"

#define OHEM_MAX_SOURCES 16

typedef enum { OHEM_RANK_ALL, OHEM_RANK_COORD, OHEM_RANK_OBJ, OHEM_RANK_CLASS } ohem_rank;

typedef struct {
    int per_image;        /* hard candidates kept per image */
    float fraction;       /* > 0: keep ceil(fraction x candidates) instead */
    float nms;            /* drop at IoU > nms with a kept one; 1: no NMS */
    int nlayers;          /* source loss layers, absolute indices */
    int layers[OHEM_MAX_SOURCES];
    ohem_rank rank;       /* the part of the loss that ranks */
    int keep_positives;   /* positives=keep */
    float neg_pos_ratio;  /* > 0: at most this many negatives per kept positive */
    int min_negatives;
    int warmup;           /* iterations before mining starts */
    int stats;            /* print a summary line per iteration */
    int sparse;           /* [roi_loss] sources: the head's backward over the kept RoIs only */
    int rescale;          /* one-stage sources: kept deltas x 1 (0), candidates / kept (1),
                           * or the unmined delta's norm / the kept one's (2), per image */
} ohem_options;

/* Figures of one training iteration (all its subdivisions). Losses are the full
 * per-candidate loss (every part), summed. */
typedef struct {
    long iteration;
    int active;           /* 0 during warmup: every candidate trained */
    long kept, candidates;
    long positives_kept, positives;
    double loss_kept, loss_all;
} ohem_stats;

/* Defaults: per_image 64, nms 0.7, rank all, positives rank, stats 1. */
void ohem_options_default(ohem_options *o);

/* Builds the layer at position index of net, whose layers [0, index) exist and whose
 * opt->layers are checked loss layers before index. inputs/h/w/c describe the
 * previous layer's output. Returns 0, or -1 when memory runs out. */
int make_ohem_layer(layer *l, const ohem_options *opt, network *net, int index,
                    int batch, int inputs, int h, int w, int c);

/* input and output are (batch, inputs); delta is the negative gradient. */
void forward_ohem_layer(const layer l, network net);
void backward_ohem_layer(const layer l, network net);

/* Prints the settings in force on one line ("ohem       64 per image, nms 0.70, 960
 * candidates per image"; with fraction=, the count it gives), as make prints it. */
void ohem_layer_summary(const layer *l, FILE *f);

/* Follows a resize of the sources and of the previous layer. Returns 0 or -1. */
int resize_ohem_layer(layer *l, network *net, int index);

int is_ohem_layer(const layer *l);

/* 1 when [ohem] can mine l: [yolo], [region], [detection], [softmax], [roi_loss]. */
int ohem_layer_can_mine(const layer *l);

/* The figures of the last completed iteration. Returns 0, or -1 if l is no [ohem]
 * layer or has not trained yet. */
int ohem_layer_stats(const layer *l, ohem_stats *out);

/* The kept flags of the last training forward: (images, candidates per image), or NULL
 * (during warmup, NULL but for [roi_loss], whose flags are then its labelled RoIs).
 * *per_image receives the candidates per image. For tests and `ohem show`. */
const unsigned char *ohem_layer_kept(const layer *l, int *per_image);

/* The candidates of image 0 (the whole batch for [softmax]) of the last training
 * forward, for inspection: boxes, ranking loss, positive and kept flags, all (n).
 * Boxes are decoded only when NMS is on or in inspection. Returns 0, or -1 when l is
 * no [ohem] layer or has not mined yet. */
int ohem_layer_candidates(const layer *l, const box **boxes, const float **rank_loss,
                          const unsigned char **pos, const unsigned char **kept, int *n);

/* The candidates of a selection unit, which per_image budgets: an image's, or the
 * whole batch's for [softmax] (*images receives the images of a unit). */
int ohem_layer_unit_candidates(const layer *l, int *images);

/* Inspection (ohem show): every training forward mines (warmup ignored), decodes the
 * boxes even without NMS, and prints no stats line. */
void ohem_layer_inspect(layer *l, int on);

/* Writes where candidate c of an image lies: "layer 16, anchor 2, cell (3,5)". */
void ohem_layer_describe(const layer *l, const network *net, int c, char *out, size_t cap);

/* [region]'s backward, which libdarknet's build leaves empty: the delta (already
 * the gradient with respect to the layer's input) is added to net.delta. */
void ohem_backward_region_layer(const layer l, network net);

#endif
