/* rcnn.h: the math of the two-stage detector ([rpn], [roipool], [roi_loss]):
 * box encoding, anchors, labelling, sampling, the RPN's proposals and the losses.
 *
 * Plain C over arrays: no network, no layer. Boxes are Darknet's box (centre x,
 * centre y, width, height) relative to the network input, so 0..1 inside it; IoU is
 * Darknet's box_iou (ohem_box_iou). Labels: >= 0 a class (for the RPN: 1 object,
 * 0 background), -1 not trained. */
#ifndef RCNN_H
#define RCNN_H

#include <stdint.h>
#include "darknet.h"
#include "ohem.h"

/* Fast R-CNN's box deltas of gt relative to ref, each divided by std[k] (std NULL:
 * 1): ((gx - rx) / rw, (gy - ry) / rh, log(gw / rw), log(gh / rh)). */
void rcnn_encode(box ref, box gt, const float *std, float d[4]);

/* The inverse of rcnn_encode. dw and dh (after std) are clamped at log(1000/16)
 * before exp, as in Detectron, so that a wild delta cannot overflow. */
box rcnn_decode(box ref, const float d[4], const float *std);

/* b with its corners clipped to [0, 1] (a box outside gets width or height 0). */
box rcnn_clip(box b);

/* The corners x1, y1, x2, y2 of b in pixels of a w x h map. */
void rcnn_corners(box b, int w, int h, float out[4]);

/* A seeded generator (splitmix64). Each layer that samples owns one state, seeded
 * from rand() when it is built, so that -seed governs its draws. */
uint64_t rcnn_rand(uint64_t *state);

/* A generator state drawn from rand() (so from -seed), for a layer being built. */
uint64_t rcnn_seed(void);

/* The anchors of a w x h grid: anchor i = a * (w h) + y w + x is centred on cell
 * (x, y), at ((x + 0.5) / w, (y + 0.5) / h), with size sizes[2a] / net_w by
 * sizes[2a + 1] / net_h (sizes in pixels of the network input). out is (A w h). */
void rcnn_anchors(int w, int h, const float *sizes, int A, int net_w, int net_h, box *out);

/* The best IoU of each of n boxes with nt truths, and which truth (the first on
 * ties; -1 when nt is 0). best and arg are (n). */
void rcnn_match(const box *boxes, int n, const box *truths, int nt, float *best, int *arg);

/* Faster R-CNN's anchor labels: 1 when the anchor's best IoU >= fg_iou, or when it
 * has the highest IoU of some truth (every anchor at that IoU, if it is > 0); else 0
 * when its best IoU < bg_iou; else -1. matched is the truth of highest IoU or -1.
 * label, matched and best are (n); scratch is (nt). */
void rcnn_rpn_assign(const box *anchors, int n, const box *truths, int nt, float fg_iou,
                     float bg_iou, int *label, int *matched, float *best, float *scratch);

/* Fast R-CNN's RoI labels: the class of the best truth when its IoU >= fg_iou;
 * classes (background) when bg_lo <= IoU < bg_hi; -1 otherwise. A RoI that meets no
 * truth has IoU 0. truth_class is (nt); label, matched and best are (n). */
void rcnn_roi_label(const box *rois, int n, const box *truths, const int *truth_class, int nt,
                    float fg_iou, float bg_lo, float bg_hi, int classes, int *label, int *matched,
                    float *best);

/* Random subsampling: keeps at most max_fg foreground entries (label >= 0 and
 * != bg_label), then background ones (label == bg_label) up to max_total in all,
 * each a uniform random subset; every entry not kept gets label -1. scratch is (n).
 * Returns the number kept. */
int rcnn_subsample(int *label, int n, int bg_label, int max_total, int max_fg, uint64_t *rng,
                   int *scratch);

/* Reads the truth rows of one image as Darknet's loader writes them (x, y, w, h,
 * class; up to max rows, ending at the first row with x == 0, as Darknet's own
 * layers read them); rows with no area, or whose class is not a number in
 * [0, 10^6), are skipped. boxes and cls are (max). Returns
 * the count. */
int rcnn_truths(const float *truth, int max, box *boxes, int *cls);

/* Smooth L1 of x with threshold beta (beta 0: L1); dx receives its derivative. */
float rcnn_smooth_l1(float x, float beta, float *dx);

/* Loss of one RPN anchor: logistic loss of the objectness logit o for label 1 or 0,
 * plus, for label 1, smooth L1 (beta) of the deltas d (4) against target (4).
 * delta_o and delta_d (4) receive scale times the negative gradient (Darknet's
 * delta); delta_d is zero for label 0. Returns the loss (not scaled). */
float rcnn_rpn_loss(float o, const float *d, int label, const float *target, float beta,
                    float scale, float *delta_o, float *delta_d);

/* Loss of one RoI of the head. x is (classes + 1) class scores, background last,
 * then (4 classes) box deltas, class k's at 4k; label is a class, or classes for
 * background. Softmax cross-entropy on the scores, plus for a foreground label smooth
 * L1 (beta) of that class's 4 deltas against target. delta, (5 classes + 1),
 * receives scale times the negative gradient (NULL: the loss alone, as a ranking
 * needs it). cls and box receive the two parts; returns their sum (not scaled). */
float rcnn_roi_loss(const float *x, int classes, int label, const float *target, float beta,
                    float scale, float *delta, float *cls, float *box_part);

/* The RPN's proposals of one image: every anchor decoded with its deltas (n, 4),
 * clipped to the image, those narrower or lower than min_w or min_h dropped, and so
 * are empty ones (width or height 0, as a box outside the image is once clipped,
 * even with min_w = min_h = 0) and those with a NaN centre or score; ranked
 * by objectness obj (n) (equal scores: lower index first), greedy NMS at nms (IoU >
 * nms suppresses; >= 1: none); the first max_out are written to out and score
 * (max_out). s has cap >= n; boxes (n), skip (n) and keep (n) are scratch. Returns
 * how many. */
int rcnn_proposals(const box *anchors, const float *obj, const float *deltas, int n,
                   float min_w, float min_h, float nms, int max_out, ohem_scratch *s, box *boxes,
                   unsigned char *skip, int *keep, box *out, float *score);

#endif
