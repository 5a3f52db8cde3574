/* loader.h: ./darknet's detection loader. libdarknet's load_thread calls
 * load_data_detection through the PLT, so the one in loader.c serves it: with
 * AlexeyAB's augmentation keys in the cfg ([net] mosaic=, letter_box=, [yolo]
 * resize= other than 1) it loads the batch as AlexeyAB's Darknet does (augment.h),
 * with none it hands the call to libdarknet's own, unchanged. Every random number
 * comes from rand(), the loader thread's stream (rng.h), so a seeded run repeats. */
#ifndef OHEM_LOADER_H
#define OHEM_LOADER_H

#include "darknet.h"

typedef struct {
    int mosaic;       /* half the batches tiled from 4 images each */
    int mosaic_bound; /* mosaic's boxes clipped to their tile */
    int letter_box;   /* the crops keep the image's aspect ratio */
    float resize;     /* the random scale: 1 none, s > 1 from 1/s to s, s < 1 down only */
} loader_options;

/* The options of net's cfg: its [net] keys and the resize= of its last detection
 * layer ([yolo]; 1 for the others). */
loader_options loader_options_of(const network *net);

/* 1 when the training images of o keep their aspect ratio, so that detection
 * letterboxes: libdarknet's loader (each image placed at an aspect near its own and
 * padded) and AlexeyAB's with letter_box; 0 when AlexeyAB's loader stretches the
 * crops to the input, as detection then does. */
int loader_keeps_aspect(const loader_options *o);

/* Sets the options of every batch loaded from now on. Call it while no loader
 * thread runs. Until it is called: libdarknet's loader. */
void loader_set_options(const loader_options *o);

/* 1 when o asks for AlexeyAB's loader (a key at other than its default), else 0. */
int loader_is_alexeyab(const loader_options *o);

#endif
