/* weights.h: checks on Darknet weights files before libdarknet reads them, and
 * copies of trained parameters between networks of one cfg. */
#ifndef OHEM_WEIGHTS_H
#define OHEM_WEIGHTS_H

#include "cfg.h"
#include "darknet.h"

/* Bytes save_weights writes for net, or -1 when it has layer kinds not counted. */
long ohem_weights_bytes(const network *net);

/* Copies the trained parameters (weights, biases, batch-norm scales and rolling
 * statistics) of src into dst, a network of the same cfg (any batch). */
void ohem_copy_parameters(network *dst, const network *src);

/* Checks that the weights file at path fits net: a Darknet header, and a size that
 * ends at a layer boundary (all layers, or the first ones, as darknet53.conv.74
 * does). Returns 0, or -1 with e set. */
int ohem_check_weights(const network *net, const char *path, ohem_err *e);

#endif
