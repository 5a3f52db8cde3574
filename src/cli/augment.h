/* augment.h: AlexeyAB's detection augmentations as plain functions over images
 * and box arrays, with every random number drawn by the caller: the crop of one
 * training image (jitter=, [yolo] resize=, [net] letter_box=), the boxes carried
 * into the crop, and the mosaic (4 such crops tiled around a cut point, [net]
 * mosaic= and mosaic_bound=). The loader (loader.c) draws the numbers and reads the
 * files.
 *
 * Boxes are rows of 5 floats, (x, y, w, h, class): centre and size as fractions of
 * the image; a row whose x is 0 ends the list, as in libdarknet's truth layout. */
#ifndef OHEM_AUGMENT_H
#define OHEM_AUGMENT_H

#include "darknet.h"

/* The random part of one image's augmentation, each draw uniform in [0, 1): r[0..3]
 * place the left, right, top and bottom edges of the crop within +-jitter of the
 * image's size; rs[0..1] scale it (resize=): rs[0] moves the left and top edges,
 * rs[1] the right and bottom ones. */
typedef struct {
    float r[4];
    float rs[2];
} augment_draw;

/* The crop of an ow x oh image: pleft, pright, ptop, pbot are how far each edge
 * moves inwards (negative: outwards, past the image, where the image's mean
 * fills). */
typedef struct {
    int pleft, pright, ptop, pbot;
} augment_crop;

/* AlexeyAB's crop for an ow x oh image trained at w x h: each edge within +-jitter
 * of the size, plus the scale of resize (1: none; above 1: from 1/resize to resize
 * times the size; below 1: down only), and with letter_box the short side widened
 * until the crop has the network's aspect ratio (the image letterboxed). The
 * functions below take a crop without width or height, or that misses the image,
 * as the whole image (AlexeyAB's reset). */
augment_crop augment_crop_of(int ow, int oh, int w, int h, float jitter, float resize, int letter_box,
                             const augment_draw *d);

/* Mosaic's "move to the corner": pushes the crop of tile t (0 top left, 1 top
 * right, 2 bottom left, 3 bottom right) so that the image's own corner facing the
 * mosaic's centre stays in view; flip as the image will be flipped. */
void augment_crop_to_corner(augment_crop *c, int tile, int flip);

/* The w x h image of the crop c of im: the part of the crop outside im filled with
 * im's mean per channel, then resized to w x h (bilinear, pixel centres aligned),
 * then mirrored when flip. A new image, with im's channels. */
image augment_crop_image(image im, augment_crop c, int w, int h, int flip);

/* Carries the n boxes of an ow x oh image (rows (class, x, y, w, h), as label
 * files hold them) into the crop c, mirrored when flip, clipped to it, as
 * AlexeyAB's fill_truth_detection: the first max rows are taken, and those that
 * end smaller than a pixel of the w x h input, or whose centre leaves the crop,
 * are dropped. Writes the kept ones to out as (x, y, w, h, class) and returns how
 * many. */
int augment_boxes(const float *labels, int n, int ow, int oh, augment_crop c, int flip, int w, int h, int max,
                  float *out);

/* Mosaic tile t of a w x h input cut at (cx, cy): the rectangle [x0, x1) x [y0, y1)
 * of the output it fills, and the offset (ox, oy) such that output pixel (x, y)
 * comes from pixel (x + ox, y + oy) of the tile's image. shift is how far the
 * tile's crop c reaches past its image on each side, in input pixels, so that the
 * part of the image in view is what the tile shows. */
typedef struct {
    int x0, y0, x1, y1;
    int ox, oy;
} mosaic_tile;

mosaic_tile mosaic_tile_of(int t, int w, int h, int cx, int cy, augment_crop c, int ow, int oh, int flip);

/* Copies the rectangle of tile m from src into dst, both w x h x c. */
void mosaic_paste(float *dst, const float *src, int w, int h, int c, const mosaic_tile *m);

/* Appends the n boxes of tile m (rows (x, y, w, h, class) of its w x h image) to
 * the max rows of out, which holds *count already: each moved by the tile's offset,
 * then clipped to the mosaic (bound 0) or to the tile's rectangle (bound 1), and
 * dropped when under a pixel or off the image, as AlexeyAB's blend_truth_mosaic. */
void mosaic_boxes(const float *boxes, int n, const mosaic_tile *m, int w, int h, int bound, float *out, int *count,
                  int max);

/* The size an iw x ih image takes when letterboxed into w x h (aspect kept, the
 * long side filling), as libdarknet's letterbox_image and correct_yolo_boxes. */
void letterbox_size(int iw, int ih, int w, int h, int *nw, int *nh);

#endif
