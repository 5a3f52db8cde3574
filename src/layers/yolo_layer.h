/* yolo_layer.h: the [yolo] layer's forward and backward, in place of libdarknet's.
 *
 * Without AlexeyAB's keys it computes what libdarknet's forward_yolo_layer does
 * (output, delta, cost; tests/test_yolo.c holds the two equal). With any of them
 * (yolo_options.alexeyab) it computes AlexeyAB's Darknet's [yolo] loss: his matching
 * (ignore_thresh against truths whose class the cell predicts, truth_thresh, every
 * anchor above iou_thresh), his normalisers and his IoU-loss box delta (iou_loss.h),
 * with his defaults for the keys not given. docs/alexeyab.md lists each key.
 * The layer stays a YOLO layer (so detection, [ohem] and resize see it as one); the
 * options live in a block behind l->cweights, which YOLO layers leave unused and
 * free_layer frees. */
#ifndef OHEM_YOLO_LAYER_H
#define OHEM_YOLO_LAYER_H

#include "darknet.h"
#include "iou_loss.h"

typedef struct {
    int alexeyab;            /* 0: libdarknet's loss, exactly; 1: AlexeyAB's */
    float scale_x_y;         /* x, y = logistic * s - (s - 1) / 2 */
    float iou_normalizer;    /* weight of the box delta */
    float obj_normalizer;    /* weight of the objectness delta */
    float cls_normalizer;    /* read; AlexeyAB applies it only with counters_per_class */
    iou_kind iou_loss;       /* the box loss */
    float max_delta;         /* |IoU-loss box delta| clipped to it; FLT_MAX: none */
    float iou_thresh;        /* anchors whose shape IoU with a truth exceeds it also train */
    float label_smooth_eps;  /* class targets 1 - eps/2 and eps/2 */
    int focal_loss;          /* class delta scaled as AlexeyAB's focal loss */
    int objectness_smooth;   /* objectness targets from the IoU */
    int new_coords;          /* scaled-YOLOv4 boxes: no logistic here (the conv before
                              * has it), w = (2 x)^2 anchor */
    int nms_kind;            /* detection's NMS: 0 libdarknet's (IoU), 1 greedynms
                              * (AlexeyAB's: DIoU with beta 0.6), 2 diounms (beta_nms) */
    float beta_nms;          /* diounms's exponent of the centre-distance term */
    float random;            /* multi-scale training: 0 off, 1 libdarknet's range, > 1
                              * AlexeyAB's: sizes from width / random to width x random */
    float resize;            /* training images scaled at random from 1/resize to resize
                              * (AlexeyAB's loader; 1: none, below 1: down only) */
} yolo_options;

/* AlexeyAB's defaults (iou_normalizer 0.75, the others neutral), alexeyab = 0. */
void yolo_options_default(yolo_options *o);

/* Gives the YOLO layer l the options o and our forward and backward. Returns 0, or
 * -1 when memory runs out. */
int yolo_layer_setup(layer *l, const yolo_options *o);

/* The options of l, or NULL when l is not a YOLO layer set up here. */
const yolo_options *yolo_layer_options(const layer *l);

/* The anchor (an index into all l->total, the first of equals) whose shape, centred
 * with the truth's, best overlaps it: the anchor a truth trains in a [yolo] layer. */
int yolo_best_anchor(const layer *l, const network *net, box truth);

/* The box of anchor a (an index into the mask) at cell (i, j) of image b, as the
 * layer decodes it (fractions of the image). */
box yolo_layer_box(const layer *l, int b, int a, int i, int j, int netw, int neth);

/* The detections of image 0 above thresh, as libdarknet's get_yolo_detections, for
 * which it stands (a global of that name: libdarknet's calls reach it); a layer with
 * new_coords decodes its boxes so, the others go to libdarknet's own. */
int get_yolo_detections(layer l, int w, int h, int netw, int neth, float thresh, int *map, int relative,
                        detection *dets);

/* NMS of n detections per class at thresh: libdarknet's do_nms_sort when o is NULL
 * or nms_kind is 0, else AlexeyAB's diounms_sort: per class, by probability, a
 * detection zeroes the later ones whose overlap exceeds thresh (greedynms:
 * IoU - (d^2/c^2)^0.6; diounms: IoU - (d^2/c^2)^beta_nms). */
void yolo_nms(detection *dets, int n, int classes, float thresh, const yolo_options *o);

/* output is (batch, outputs): per image, anchor, then entry (x, y, w, h, obj,
 * classes...), then cell; x, y, obj and classes through the logistic (x, y then
 * scaled by scale_x_y). Training: delta is the negative gradient as Darknet's [yolo]
 * defines it (entries w.r.t. the decoded values), cost the loss. */
void ohem_forward_yolo_layer(const layer l, network net);
/* net.delta += l.delta */
void ohem_backward_yolo_layer(const layer l, network net);

#endif
