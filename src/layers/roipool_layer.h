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
 * In training with Fast R-CNN's sampler, only the sampled RoIs are cut, packed into
 * the first rows (roi_rows.h).
 * Backward: each row's delta goes back through the same cut into the `from` layer's
 * delta (proposals get no gradient: approximate joint training). */
#ifndef ROIPOOL_LAYER_H
#define ROIPOOL_LAYER_H

#include "darknet.h"
#include "roi_rows.h"

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

/* The RoIs of the last forward and the rows of the head that hold them: what
 * [roi_loss] and [ohem] read, and where the sampler's packing and [ohem]'s sparse
 * pass are made (roi_rows.h). */
roi_rows *roipool_layer_rows(const layer *l);

/* The RoIs per image of a [roipool], or 0 for any other layer. */
int roipool_layer_count(const layer *l);

const roipool_options *roipool_layer_options(const layer *l);

#endif
