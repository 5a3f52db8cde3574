/* roi_loss_layer.h: [roi_loss], the loss and the detections of the two-stage
 * detector's per-RoI head.
 *
 * Input per RoI row (batch = images x rois): (classes + 1) class scores, background
 * last, then 4 box deltas per class (Fast R-CNN's parametrisation divided by 0.1,
 * 0.1, 0.2, 0.2, relative to the RoI): 5 classes + 1 values. Training: each RoI is
 * labelled by its best IoU with a truth (rcnn_roi_label); the sampler (Fast R-CNN's
 * heuristic) keeps rois_per_image of them with at most fg_fraction foreground; each
 * kept RoI gets softmax cross-entropy plus, when foreground, smooth L1 (beta 1) on
 * its class's deltas; the loss of an image is the mean over its kept RoIs, and the
 * delta is scaled the same way (Darknet's update then averages over images). Every
 * other RoI gets zero delta. The layer's cost adds the [rpn]'s loss, so the printed
 * loss is RPN + RoI. Output: the class probabilities (softmax) and the deltas. */
#ifndef ROI_LOSS_LAYER_H
#define ROI_LOSS_LAYER_H

#include "darknet.h"
#include "roi_rows.h"

typedef struct {
    int classes;
    float fg_iou;           /* foreground: best IoU >= fg_iou */
    float bg_lo, bg_hi;     /* background: bg_lo <= best IoU < bg_hi */
    int rois_per_image;     /* the sampler's RoIs per image */
    float fg_fraction;      /* at most this share of them foreground */
    int sampler;            /* 0: [ohem] selects the RoIs that train */
    int bg_given;           /* bg_iou was set in the cfg (else [ohem] uses bg_lo 0) */
    float jitter;           /* the loader's crop jitter for training */
} roi_loss_options;

void roi_loss_options_default(roi_loss_options *o);

/* Builds [roi_loss] at index of net over rows of inputs (= 5 classes + 1) values;
 * roipool is the index of the [roipool] above it. Returns 0, or -1 when memory runs
 * out. */
int make_roi_loss_layer(layer *l, const roi_loss_options *o, network *net, int index,
                        int roipool, int batch, int inputs);
void forward_roi_loss_layer(const layer l, network net);
void backward_roi_loss_layer(const layer l, network net);
int is_roi_loss_layer(const layer *l);
void free_roi_loss_layer(layer *l);

/* The figures of the last training forward, summed over images: the RoI loss and
 * its parts, the RPN loss, and the RoIs trained (foreground among them). */
typedef struct {
    float roi, roi_cls, roi_box, rpn, rpn_obj, rpn_box;
    int trained, foreground;
} roi_loss_stats;
void roi_loss_layer_stats(const layer *l, roi_loss_stats *s);

/* The same figures summed over every training forward since the last call (the
 * subdivisions of an iteration), then cleared. */
void roi_loss_layer_take_stats(layer *l, roi_loss_stats *s);

/* Per-RoI figures of the last training forward, (images x rois) each: the full
 * loss (classification + box, computed for every labelled RoI whether or not it
 * trains), the label (a class, classes for background, -1 not labelled) and the
 * trained flag. For [ohem]. */
void roi_loss_layer_rois(const layer *l, const float **loss, const int **label,
                         const unsigned char **trained);

/* The RoIs and the head's rows of the [roipool] above (roi_rows.h). In training,
 * [roi_loss]'s sampler is their picker: the head forwards the sampled RoIs only, as
 * Fast R-CNN's does, and forward computes the loss and delta of each at its packed
 * row. */
roi_rows *roi_loss_layer_rows(const layer *l);

/* Hands the choice of the RoIs that train to [ohem] (the paper's setting): the
 * sampler is off, and every RoI is labelled with bg_lo = 0 unless bg_iou was set.
 * Forward then computes every labelled RoI's loss and no delta; [ohem] calls
 * roi_loss_layer_train_rows with its selection. */
void roi_loss_layer_set_mining(layer *l);

/* The delta for exactly the rows with kept != 0 among the labelled ones, (images x
 * rois) flags: each image's kept RoIs share its loss as the sampler's do (the mean
 * over them), every other row gets zero delta; the stats count the kept RoIs. */
void roi_loss_layer_train_rows(layer *l, const network *net, const unsigned char *kept);

/* The two parts of each RoI's loss of the last training forward (images x rois):
 * classification and box (0 for background and unlabelled RoIs). */
void roi_loss_layer_parts(const layer *l, const float **cls, const float **box_part);

/* Detections of image b of the last forward, in Darknet's form: one per RoI and
 * class whose probability is > thresh, with that class's box; boxes relative to an
 * image of im_w x im_h that was letterboxed into the network (relative 1), as
 * get_network_boxes gives them. Allocates *dets; returns the count. */
int roi_loss_layer_detections(const layer *l, const network *net, int b, int im_w, int im_h,
                              float thresh, detection **dets);

#endif
