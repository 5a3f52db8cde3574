/* keep_delta.h: the gradient libdarknet's backward loses, kept.
 *
 * libdarknet's backward of a 1x1 [convolutional] writes its input's delta (and
 * [activation]'s copies into it), so the gradient that a later [route], [shortcut]
 * or [roipool] added to that delta first is lost (every residual block of darknet53
 * and yolov3). The backward of each such layer that follows a layer read later is
 * wrapped: it runs on a cleared delta and is added to the real one. */
#ifndef OHEM_KEEP_DELTA_H
#define OHEM_KEEP_DELTA_H

#include "darknet.h"

/* Wraps the layers of net that need it; the parser calls it. Returns 0, or -1 when
 * memory runs out. */
int ohem_keep_input_deltas(network *net);

/* on 0 (OHEM_BACKWARD=darknet): networks built from then on keep libdarknet's
 * backward, which loses those gradients (for comparison); 1 by default. */
void ohem_keep_input_deltas_select(int on);

/* Forgets net's wrapped layers (free_network calls it). */
void ohem_keep_input_deltas_release(const network *net);

/* The backward of layer i of net: its own, also when it is wrapped. */
void (*ohem_backward_of(const network *net, int i))(struct layer, struct network);

#endif
