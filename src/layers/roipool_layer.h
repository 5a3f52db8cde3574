/* roipool_layer.h: [roipool], the RoI feature layer of the two-stage detector.
 *
 * Right after [rpn]. Forward: per image, the RoIs are, in training, the ground-truth
 * boxes and then the RPN's proposals in objectness order (Faster R-CNN adds the
 * truths so that the head sees good foreground from the start); at test, the
 * proposals alone. The first `rois` of them go on; when there are fewer, the list is
 * repeated to fill the rows and the repeats are flagged invalid ([roi_loss] gives
 * them no loss): a fixed batch of rows, without counting any RoI twice. Each RoI is
 * cut from the `from` layer's map as a (c, size, size) feature (roi_align.h). The
 * layer's batch, and that of every layer after it, is images x rois.
 * Backward: each row's delta goes back through the same cut into the `from` layer's
 * delta (proposals get no gradient: approximate joint training). */
#ifndef ROIPOOL_LAYER_H
#define ROIPOOL_LAYER_H

#include "darknet.h"

typedef enum { ROIPOOL_ALIGN, ROIPOOL_MAX } roipool_mode;

typedef struct {
    int from;             /* absolute index of the feature layer */
    int size;             /* output bins per side */
    roipool_mode mode;
    int rois;             /* RoIs per image */
    int sampling;         /* RoIAlign points per bin side; 0: adaptive */
} roipool_options;

void roipool_options_default(roipool_options *o);

/* Builds [roipool] at index of net, right after the [rpn] at index - 1, over the
 * image layer o->from. images is the network's batch. Returns 0, or -1 when memory
 * runs out. */
int make_roipool_layer(layer *l, const roipool_options *o, network *net, int index, int images);
void forward_roipool_layer(const layer l, network net);
void backward_roipool_layer(const layer l, network net);
int is_roipool_layer(const layer *l);
void free_roipool_layer(layer *l);

/* The trainable pass over the kept RoIs only ([ohem] on RoIs, issue #10): gathers
 * the rows with trained != 0 ((images x rois) flags) into the first K rows of
 * [roipool]'s output, runs the forward of the head (the layers between [roipool] and
 * the [roi_loss] at loss) again over those K rows, gathers [roi_loss]'s delta the
 * same way, and sets the batch of [roipool], the head and [roi_loss] to K, so that
 * the backward costs in proportion to K; [roipool]'s backward then adds each row to
 * its own RoI. The next forward of [roipool] sets the batches back. The weight
 * updates and the feature map's delta equal those of the dense backward with the
 * other rows' delta zero, to float rounding. Returns K, or -1 (and changes nothing)
 * when a head layer mixes rows (batch_normalize, [dropout], or a kind not known to
 * work row by row). */
int roipool_layer_sparse(network *net, int pool, int loss, const unsigned char *trained);

/* After a training forward with Fast R-CNN's sampler (roi_loss_layer_sample), which
 * hands on the sampled RoIs alone: K, and row_of (K) the RoI (image x rois + index)
 * of each packed row; -1 after any other forward. */
int roipool_layer_packed(const layer *l, const int **row_of);

/* The RoIs of the last forward: (images x rois) boxes, and their valid flags. */
const box *roipool_layer_rois(const layer *l, const unsigned char **valid, int *rois);

/* The RoIs per image of a [roipool], or 0 for any other layer. */
int roipool_layer_count(const layer *l);

const roipool_options *roipool_layer_options(const layer *l);

#endif
