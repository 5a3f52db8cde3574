/* roi_align.h: cutting a fixed-size feature out of a feature map for one region of
 * interest (RoI): RoIAlign (bilinear) and Fast R-CNN's RoI max pooling.
 *
 * Plain C over float arrays, no network. A feature map is (c, h, w), row-major. A
 * RoI is four floats (x1, y1, x2, y2): its corners in feature-map pixel units, the
 * continuous convention where pixel (i, j) covers [i, i+1) x [j, j+1) and has its
 * centre at (i + 0.5, j + 0.5). The caller scales image coordinates to the map. The
 * feature of one RoI is (c, size, size), bin (py, px) at [ch][py][px]. */
#ifndef ROI_ALIGN_H
#define ROI_ALIGN_H

/* RoIAlign, the "aligned" form (Mask R-CNN as in Detectron2, aligned=True): the
 * RoI is shifted by -0.5 so that sample points land on pixel centres, and is not
 * rounded. Bin (py, px) of a size x size grid over the RoI averages
 * sampling x sampling points at the centres of a regular sub-grid of the bin
 * (sampling 0: ceil(RoI height / size) x ceil(RoI width / size) points, as
 * Detectron2's adaptive sampling_ratio=0). Each point is the bilinear interpolation
 * of its four neighbouring pixels; a point further than one pixel outside the map
 * (y < -1 or y > h, x < -1 or x > w) contributes 0, one within that margin is
 * clamped to the border. map is (c, h, w); out is (c, size, size). */
void roi_align_forward(const float *map, int c, int h, int w, const float roi[4], int size,
                       int sampling, float *out);

/* The adjoint of roi_align_forward: adds dout (c, size, size), through the same
 * bilinear weights, into dmap (c, h, w). Linear, so it serves for gradients and for
 * Darknet's deltas (negative gradients) alike. */
void roi_align_backward(const float *dout, int c, int h, int w, const float roi[4], int size,
                        int sampling, float *dmap);

/* Fast R-CNN's RoI max pooling: the corners are rounded to whole pixels
 * (start = round(x1), end = round(x2), inclusive; width = max(end - start + 1, 1));
 * bin (py, px) covers rows [floor(py * bh), ceil((py + 1) * bh)) + start and likewise
 * columns, clipped to the map, and takes their maximum; an empty bin gives 0.
 * argmax (c, size, size) receives the index into map (ch * h * w + y * w + x) of
 * each maximum, or -1 for an empty bin; ties: the first in row-major order. */
void roi_max_forward(const float *map, int c, int h, int w, const float roi[4], int size,
                     float *out, int *argmax);

/* Adds dout (c, size, size) into dmap at the arg-max of each bin (none for -1). */
void roi_max_backward(const float *dout, const int *argmax, int c, int size, float *dmap);

#endif
