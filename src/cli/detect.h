/* detect.h: running a detector over an image list: mAP evaluation, shared by
 * `detector map` and `detector train -map`. */
#ifndef OHEM_DETECT_H
#define OHEM_DETECT_H

#include "darknet.h"
#include "map.h"

typedef struct {
    float iou;        /* a detection matches at IoU > iou (0.5) */
    int points;       /* 0: all-point AP, 11: 11-point */
    float thresh;     /* score threshold of the TP/FP/precision/recall counts */
    int progress;     /* 1: a progress bar on stderr */
    char **ignore;    /* NULL, or one image path per image: its label file holds boxes to ignore */
} map_options;

/* Runs net (batch 1) over the n images and their labels. out is (classes). Returns
 * the mAP (NAN when no class has truths), or -1 after printing an error. */
double detector_evaluate(network *net, char **paths, int n, int classes, const map_options *o,
                         map_class *out);

/* Prints a line saying what the columns count, the per-class table (truths; ranked:
 * the detections AP ranks, every score; precision, recall, TP and FP at thresh) and,
 * last, "mAP@0.50 = 0.xxxx". */
void print_map_table(FILE *f, const map_class *m, int classes, char **names, float iou, float thresh, double map);

#endif
