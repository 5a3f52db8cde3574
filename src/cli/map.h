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
    int detections;       /* detections of the class, any score */
    double ap;            /* NAN when the class has no ground truth */
    int ignored;          /* detections on ignored truths, any score: not ranked */
    int tp, fp;           /* at the score threshold */
    double precision, recall;  /* at the score threshold; NAN when undefined */
} map_class;

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

#endif
