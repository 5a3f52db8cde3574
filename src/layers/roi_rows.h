/* roi_rows.h: the RoIs of a two-stage network and the rows of its head that hold
 * them.
 *
 * One per [roipool], which fills the RoIs at each forward: (images x R) boxes and
 * valid flags, image-major. The head (the layers from [roipool] to [roi_loss]) runs
 * rows; row k holds RoI row_of[k]. Three maps:
 *   dense   every RoI, row k = RoI k (inference, and the read-only pass of [ohem]);
 *   packed  the K RoIs that a picker chose before the head (Fast R-CNN's sampler in
 *           [roi_loss]), in the first K rows, in RoI order;
 *   sparse  after a dense forward, the K RoIs that train ([ohem]'s choice) gathered
 *           into the first K rows for the trainable pass, so that the head's
 *           backward costs in proportion to K.
 * [roipool] cuts the rows the map names; [roi_loss] reads the map to put each row's
 * loss on its RoI; [ohem] reads the RoIs and asks for the sparse gather. No layer
 * reaches into another's state: they meet here. */
#ifndef ROI_ROWS_H
#define ROI_ROWS_H

#include "darknet.h"

typedef struct roi_rows roi_rows;

/* Chooses the RoIs that train before the head runs: sets picked ((images x R)
 * flags) for net's batch; returns 0 (picked untouched) when it chooses nothing. */
typedef int (*roi_rows_picker)(void *ctx, const network *net, unsigned char *picked);

/* For images x R RoIs, with ints_per_row ints carried along with each row (the max
 * pooling's indexes; 0 for none); the [roipool] at pool. NULL when memory runs out.
 * roi_rows_free(NULL) is a no-op. */
roi_rows *roi_rows_make(int images, int R, int pool, int ints_per_row);
void roi_rows_free(roi_rows *rr);

/* RoIs per image. */
int roi_rows_per_image(const roi_rows *rr);

/* The RoIs of the last forward, (images x R), and their valid flags (the repeats
 * that fill an image's rows are not valid); [roipool] writes them. */
box *roi_rows_boxes(const roi_rows *rr);
unsigned char *roi_rows_valid(const roi_rows *rr);

/* The ints carried by row k (ints_per_row of them), or NULL when there are none. */
int *roi_rows_ints(const roi_rows *rr, int k);

/* The [roi_loss] at loss ends the head; picker (with ctx) chooses RoIs before it,
 * or NULL. */
void roi_rows_attach(roi_rows *rr, int loss, roi_rows_picker picker, void *ctx);

/* A sparse trainable pass (roi_rows_sparse) follows every training forward: it
 * clears the rows of [roipool]'s delta that the backward uses, so that the dense
 * forward need not clear all of them. */
void roi_rows_expect_sparse(roi_rows *rr);

/* The rows of [roipool]'s delta that its forward clears: the rows cut, or none in a
 * dense training forward that a sparse pass follows. Called after roi_rows_plan. */
int roi_rows_delta_rows(const roi_rows *rr, const network *net, int rows);

/* The map for a forward of net: every layer from [roipool] on back to images x R
 * rows; then, in training with a picker that picks and a head whose layers compute
 * each row alone, the packed map (the head's batch set to K, or 1 when K is 0),
 * else the dense one. Returns the rows to cut. */
int roi_rows_plan(roi_rows *rr, network *net);

/* The RoI (image x R + index) in row k. */
int roi_rows_roi(const roi_rows *rr, int k);

/* K and row_of (K) after a packed plan; -1 after a dense one or a sparse gather. */
int roi_rows_packed(const roi_rows *rr, const int **row_of);

/* The trainable pass over the RoIs with trained != 0 ((images x R) flags), after a
 * dense training forward: gathers those rows of [roipool]'s output, of the carried
 * ints and of [roi_loss]'s delta into the first K rows, clears those rows of
 * [roipool]'s delta (every row when K is 0), brings the head's outputs to
 * the same rows (gathered, or the head's forward run again over the K rows), and sets
 * the batch from [roipool] to [roi_loss] to K. The weight updates and the feature
 * map's delta then equal those of the dense backward with the other rows' delta zero,
 * to float rounding. The next plan sets the batches back. Returns K, or -1 (and
 * changes nothing but clearing [roipool]'s delta) when a head layer mixes rows
 * (batch_normalize, [dropout], or a kind not known to work row by row). */
int roi_rows_sparse(roi_rows *rr, network *net, const unsigned char *trained);

/* Row row_of[k] of rows (each w floats) to row k, for every k < K, in place; row_of
 * ascends and row_of[k] >= k. Long runs of rows are copied on the pool: the bytes
 * are those of copying one row after the other. */
void roi_rows_gather(float *rows, int w, const int *row_of, int K);

#endif
