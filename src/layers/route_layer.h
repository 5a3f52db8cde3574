/* route_layer.h: [route] with AlexeyAB's groups= and group_id= (yolov4-tiny's split
 * of a map's channels in two). Each input layer i of c_i channels contributes its
 * channel group group_id of groups, the channels [group_id * c_i / groups,
 * (group_id + 1) * c_i / groups): the route's out_c is the sum of c_i / groups, in
 * the order of layers=. groups=1 (group_id 0) is libdarknet's [route].
 *
 * forward_route_layer, backward_route_layer and resize_route_layer replace
 * libdarknet's by name (its calls go through the PLT). libdarknet's layer struct
 * has no group_id: it is kept in l.side, a field only [detection] reads; l.groups
 * holds groups (0, as libdarknet leaves it, means 1). */
#ifndef ROUTE_LAYER_H
#define ROUTE_LAYER_H

#include "darknet.h"

/* The route's channel group, as stored in the layer. */
int route_layer_groups(const layer *l);
int route_layer_group_id(const layer *l);

/* Sets the group of a [route] libdarknet built (l->n inputs of net, each of
 * net->layers[i].outputs values per image): out_c, outputs, inputs and the output
 * and delta buffers follow it. Needs 1 <= groups, 0 <= group_id < groups, and each
 * input's channels divisible by groups (the caller checks). 0, or -1 out of memory. */
int route_layer_set_groups(layer *l, const network *net, int groups, int group_id);

/* output (batch, outputs): per image, each input's group in turn. */
void forward_route_layer(const layer l, network net);
/* Adds each image's delta of the route into its inputs' deltas, in their group's
 * channels (delta is the negative gradient). */
void backward_route_layer(const layer l, network net);
/* Resizes to the inputs' new sizes, keeping groups and group_id. */
void resize_route_layer(layer *l, network *net);

#endif
