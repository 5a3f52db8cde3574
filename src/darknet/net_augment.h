/* net_augment.h: AlexeyAB's [net] keys of the training images that the plugin
 * implements (the loader is ./darknet's, src/cli/loader.c): mosaic=, mosaic_bound=
 * and letter_box=, read by our parser and kept beside the network they came with. */
#ifndef OHEM_NET_AUGMENT_H
#define OHEM_NET_AUGMENT_H

#include "cfg.h"
#include "darknet.h"

typedef struct {
    int mosaic;       /* half the batches: each image tiled from 4 around a random cut */
    int mosaic_bound; /* mosaic's boxes clipped to their own tile, not to the image */
    int letter_box;   /* the images keep their aspect ratio, padded, in training and detection */
} net_augment;

/* Reads mosaic=, mosaic_bound= and letter_box= (each 0 or 1; 0 when absent) of the
 * [net] section s into a. Returns 0, or -1 with e set naming file, line and key. */
int ohem_parse_net_augment(const ohem_cfg *cfg, const ohem_cfg_section *s, net_augment *a, ohem_err *e);

/* Keeps a as the keys of net (found again by its layers), replacing any before.
 * Returns 0, or -1 when memory runs out. */
int ohem_net_augment_set(const network *net, const net_augment *a);

/* The keys of net: all 0 for a network that our parser did not build. */
net_augment ohem_net_augment(const network *net);

/* Forgets net's keys; a no-op for a network without them. */
void ohem_net_augment_release(const network *net);

#endif
