/* mine.h: ./darknet ohem mine, offline hard example mining over whole images. The
 * network runs over every image of a list; each image gets its loss as [ohem] sees
 * it (the per-candidate loss of the loss layers, summed over the image) and its
 * false positives and missed truths at a score threshold, matched as `detector map`
 * matches; the images are ranked hardest first. The pieces below are what the
 * command is made of, exposed for tests/test_mine.c. */
#ifndef OHEM_MINE_H
#define OHEM_MINE_H

#include "darknet.h"
#include "map.h"

/* The figures of one image. */
typedef struct {
    float loss;          /* summed per-candidate loss ([ohem]'s, rank=all) */
    int truths;          /* boxes of its label file (0 for a negative image) */
    int detections;      /* detections with a score >= the threshold, after NMS */
    int fp, misses;      /* detections matching no truth; truths no detection matched */
} mine_figures;

/* A network ready to mine: the loaded network at batch 1 and an [ohem] layer built
 * beside it (not part of net) over its loss layers: its last [roi_loss] when it has
 * one, else every [yolo], [region] and [detection]. */
typedef struct {
    network *net;
    layer ohem;
    int classes;
} mine_net;

/* Builds m->ohem over net (batch 1). Returns 0, or -1 after printing an error (no
 * loss layer [ohem] can mine). */
int mine_net_init(mine_net *m, network *net);
void mine_net_free(mine_net *m);

/* The loss of one image: im resized to the network's input, its rows (n of class, x,
 * y, w, h, relative) as the truth, a forward in which only the layers that read the
 * truth ([yolo], [region], [detection], [rpn], [roipool], [roi_loss]) run in
 * training mode (batch norm uses its rolling statistics, dropout is off, so the loss
 * does not depend on the batch), then [ohem]'s gather over the candidates. Returns
 * the sum of the candidates' full losses. */
float mine_image_loss(mine_net *m, image im, const float *rows, int n);
/* mine_image_loss on the network's input already made: input (net->inputs) is the
 * image stretched to it. */
float mine_input_loss(mine_net *m, const float *input, const float *rows, int n);

/* Matches one image's detections to its truths as map_evaluate does: per class, in
 * descending score (ties: input order), a detection takes the truth of its class
 * with the highest IoU; IoU > iou and that truth free: a hit, else a false positive.
 * det_fp (nd) and truth_missed (nt) receive the flags (either may be NULL); *fp and
 * *misses the counts. The image fields of dets and truths are ignored. */
void mine_match(const map_det *dets, int nd, const map_truth *truths, int nt, float iou,
                unsigned char *det_fp, unsigned char *truth_missed, int *fp, int *misses);

/* The ranking keys. */
typedef enum { MINE_BY_LOSS, MINE_BY_ERRORS } mine_by;

/* order (n) receives the indices of f, hardest first: by loss (MINE_BY_LOSS), or by
 * false positives + misses, then loss (MINE_BY_ERRORS); ties keep the list order. */
void mine_rank(const mine_figures *f, int n, mine_by by, int *order);

/* Writes the CSV: a header, then per image in the order given "rank,path,loss,
 * truths,detections,false_positives,misses". Returns 0, or -1 after an error
 * naming the file. */
int mine_write_csv(const char *path, char **paths, const mine_figures *f, const int *order, int n);

/* The figures of the n images of paths into fig, in list order: each image decoded,
 * its label file read (the network's classes) and made the network's input by the
 * loader thread (prefetch.h) ahead of its forwards, or in its turn with
 * OHEM_PREFETCH=off, with the same figures and messages. stdout is muted while the
 * loss layers run; a progress line goes to stderr. Stops at the first image that
 * does not decode or whose label file has a problem, after the earlier images and
 * before any later one, naming it. Returns 0, or -1 after an error. */
int mine_images(mine_net *m, char **paths, int n, float thresh, mine_figures *fig);

int ohem_mine(int argc, char **argv);

#endif
