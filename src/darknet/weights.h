/* weights.h: checks on Darknet weights files before libdarknet reads them, saving
 * them with AlexeyAB's header, and copies of trained parameters between networks of
 * one cfg. */
#ifndef OHEM_WEIGHTS_H
#define OHEM_WEIGHTS_H

#include "cfg.h"
#include "darknet.h"

/* Bytes save_weights writes for net, or -1 when it has layer kinds not counted. */
long ohem_weights_bytes(const network *net);

/* Writes the weights of net's first cutoff layers to path: AlexeyAB's header (major
 * 0, minor 2, revision 5, seen as 64 bits), then each layer's parameters in
 * libdarknet's order, which is AlexeyAB's and OpenCV's for [convolutional] and
 * [connected]. libdarknet prints "Saving weights to PATH" on stderr. Returns 0, or -1
 * with e set (cannot open or write, or a short file). */
int ohem_save_weights(network *net, const char *path, int cutoff, ohem_err *e);

/* Copies the trained parameters (weights, biases, batch-norm scales and rolling
 * statistics) of src into dst, a network of the same cfg (any batch). */
void ohem_copy_parameters(network *dst, const network *src);

/* Checks that the weights file at path fits net: a Darknet header, and a size that
 * ends at a layer boundary (all layers, or the first ones, as darknet53.conv.74
 * does). Returns 0, or -1 with e set. */
int ohem_check_weights(const network *net, const char *path, ohem_err *e);

#endif
