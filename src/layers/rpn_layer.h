/* rpn_layer.h: [rpn], the region proposal network's head (Faster R-CNN).
 *
 * Input: the [convolutional] before it, (anchors x 5) channels on a w x h grid: for
 * anchor a, channel 5a is the objectness logit and 5a+1 .. 5a+4 the box deltas
 * (dx, dy, log dw, log dh) relative to the anchor, at every cell (Darknet's
 * anchor, entry, cell layout). Forward: per image, the proposals (rcnn_proposals),
 * which the [roipool] right after it reads; in training also Faster R-CNN's loss
 * (rcnn_rpn_assign, rcnn_subsample, rcnn_rpn_loss) and its delta, averaged over
 * the sampled anchors of each image. Backward: adds that delta to the layer before.
 * Its output is the proposals, (batch, proposals x 4) boxes, zero past the count. */
#ifndef RPN_LAYER_H
#define RPN_LAYER_H

#include "darknet.h"

#include <stdint.h>

#define RPN_MAX_ANCHORS 32

typedef struct {
    int nanchors;
    float anchors[2 * RPN_MAX_ANCHORS]; /* width, height in pixels of the input */
    int proposals;       /* kept per image after NMS */
    float nms;           /* IoU above which a lower-scored proposal is dropped */
    float min_size;      /* pixels: proposals narrower or lower are dropped */
    float fg_iou, bg_iou; /* anchor labels: >= fg_iou object, < bg_iou background */
    int samples;         /* anchors sampled per image for the loss */
    float fg_fraction;   /* at most this share of them objects */
} rpn_options;

void rpn_options_default(rpn_options *o);

/* Builds [rpn] over an input of (c = nanchors x 5, h, w) per image, for a network
 * of input net_w x net_h. Returns 0, or -1 when memory runs out. */
int make_rpn_layer(layer *l, const rpn_options *o, int batch, int w, int h, int c, int net_w,
                   int net_h);
void forward_rpn_layer(const layer l, network net);
void backward_rpn_layer(const layer l, network net);
int is_rpn_layer(const layer *l);
/* The layer's generator state (anchor sampling), for a training run to save and
 * restore; NULL for another kind of layer. */
uint64_t *rpn_layer_rng(const layer *l);

/* Frees what free_layer does not (before free_layer); a no-op for other layers. */
void free_rpn_layer(layer *l);

/* The proposals of image b of the last forward: *boxes (count) and scores
 * (objectness logits). Returns the count. */
int rpn_layer_proposals(const layer *l, int b, const box **boxes, const float **scores);

/* The RPN loss of the last training forward, summed over the images (each image's
 * loss is the mean over its sampled anchors), and its parts. */
float rpn_layer_loss(const layer *l, float *obj, float *box_part);

const rpn_options *rpn_layer_options(const layer *l);

#endif
