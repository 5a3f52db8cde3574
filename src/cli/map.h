/* map.h: average precision of detections against ground truth, VOC style. Plain
 * arrays in, per-class figures out; no network. */
#ifndef OHEM_MAP_H
#define OHEM_MAP_H

#include "darknet.h"

typedef struct {
    int image, cls;
    float score;
    box b;          /* centre x, y, width, height; any consistent unit */
} map_det;

typedef struct {
    int image, cls;
    box b;
    int ignore;     /* 1: VOC's difficult, COCO's crowd: neither a positive nor a miss */
} map_truth;

typedef struct {
    int truths;           /* ground-truth boxes of the class */
    int detections;       /* detections of the class, any score: those AP ranks */
    double ap;            /* NAN when the class has no ground truth */
    int ignored;          /* detections on ignored truths, any score: not ranked */
    int tp, fp;           /* at the score threshold */
    double precision, recall;  /* at the score threshold; NAN when undefined */
} map_class;

/* Sorts order (n indexes into dets) by descending score; ties keep their order. */
void map_sort_by_score(const map_det *dets, int *order, int n);

/* Matches detections to truths per class: in descending score (ties: input order),
 * each takes the truth of its image and class with the highest IoU, ignored ones
 * included (VOC's rule); IoU > iou_thresh and that truth ignored: the detection is
 * left out (neither true nor false positive, no point of the curve); IoU >
 * iou_thresh and that truth still free: true positive (the truth is taken), else
 * false positive. Ignored truths are not counted as positives. AP: points 0 = all-point interpolation (VOC 2010+), 11 = 11-point (VOC
 * 2007). tp/fp/precision/recall count the detections with score >= score_thresh.
 * out is (classes). Returns the mean AP over the classes that have truths (NAN when
 * none has), or -2 when memory runs out. */
double map_evaluate(const map_det *dets, int ndets, const map_truth *truths, int ntruths,
                    int classes, float iou_thresh, int points, float score_thresh, map_class *out);

/* Box b (centre x, y, width, height, relative to the image) clipped to the image:
 * its left, top, right and bottom edges each put into [0, 1] on both sides, so
 * 0 <= left <= right <= 1 and the same for top and bottom (a box below or right of
 * the image becomes a line on the far edge, not an inverted box). *out gets the
 * clipped box in the same form. Returns 1, or 0 when nothing of the box is left:
 * zero width or height after clipping, or a coordinate that is not finite. */
int map_clip_box(box b, box *out);

/* Box b (as for map_clip_box) in the image's w x h pixels as VOC's results files
 * hold it, the way Darknet's validate_detector writes it: 1-based corners
 * xmin = left * w + 1 and xmax = right * w + 1 (y alike), each clipped to [1, w]
 * (to [1, h]) on both sides, so 1 <= xmin <= xmax <= w and 1 <= ymin <= ymax <= h.
 * out is (xmin, ymin, xmax, ymax). Returns 1, or 0 when the box vanishes: zero
 * width or height after clipping, or a coordinate that is not finite. */
int map_voc_corners(box b, int w, int h, float out[4]);

#endif
