/* roi_align.h: cutting a fixed-size feature out of a feature map for one region of
 * interest (RoI): RoIAlign (bilinear) and Fast R-CNN's RoI max pooling.
 *
 * Plain C over float arrays, no network. A feature map is (c, h, w), row-major. A
 * RoI is four floats (x1, y1, x2, y2): its corners in feature-map pixel units, the
 * continuous convention where pixel (i, j) covers [i, i+1) x [j, j+1) and has its
 * centre at (i + 0.5, j + 0.5). The caller scales image coordinates to the map. The
 * feature of one RoI is (c, size, size), bin (py, px) at [ch][py][px].
 *
 * Decisions where the description below leaves room (roi_align.c follows them,
 * tests/test_roipool.c checks them):
 * - RoIAlign: the RoI's height is y2 - y1 in float (width likewise), the bin height
 *   that over size; sampling 0 takes ceilf((y2 - y1) / size) points per bin along y
 *   (and likewise along x). An extent <= 0 then gives no points and an output of 0; with
 *   sampling > 0 an inverted RoI (y2 < y1) keeps the formula, its grid mirrored. A
 *   point exactly at -1 or h still counts (clamped to the border).
 * - A RoI with a non-finite corner (or extent) gives 0 everywhere (RoIAlign, and
 *   empty bins with arg-max -1 for max pooling); the backward then adds nothing.
 * - Max pooling: round() is C's (halves away from zero) after clamping the corner to
 *   +-2^30 pixels; bin edges are exact integer arithmetic, floor(py * H / size) and
 *   ceil((py + 1) * H / size) with H the rounded height, not a float bin height.
 *   Because the rounded corners are inclusive, a RoI with whole-number corners covers
 *   one row and column more than its continuous extent, as in Fast R-CNN, whose
 *   corners are inclusive pixel indices. A non-empty bin starts from its first pixel
 *   and takes a later one only when strictly greater (so NaN wins only if first).
 * - Cost: RoIAlign builds per RoI, for each bin row and bin column, the map rows and
 *   columns its points touch with their summed weights, then works through the
 *   channels with them. No heap; on the stack (VLAs) at most about
 *   40 (Ex + Ey) + 16 (size + 2)(w + 4) + 4 max(h, w) bytes, where Ex, Ey, the
 *   entries of an axis, are at most size x min(2 x points per bin, side of the map):
 *   about 150 KB for size 7, sampling 2 on a 1000 x 1000 map; the HWC functions
 *   add 256 (w + size^2) bytes (forward) or 256 size (64 + size) (backward): about
 *   270 KB and 130 KB for size 7 on a 1000-wide map. Adaptive sampling of a
 *   RoI far larger than the map visits only the points near the map (at most
 *   2 x side + 8 per bin). Max pooling: 16 (w + 1) + 64 size bytes. The float sums
 *   are ordered differently from Detectron2's: results agree to rounding. */
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

/* The floats of a pixel in roi_align_map_hwc's layout: c rounded up to a multiple
 * of 16. */
int roi_align_hwc_channels(int c);

/* The vectors of the HWC functions below: 512 (AVX-512), 256 (AVX2) or 128 bits
 * (SSE), or 0 (the default) for the widest the CPU runs; all give the same bytes.
 * Returns 0, or -1 for another value or vectors the CPU lacks. Process-wide: set
 * it before the functions run (for tests and benchmarks). */
int roi_align_hwc_select(int bits);

/* map (c, h, w) into hwc (h, w, cs), cs = roi_align_hwc_channels(c):
 * hwc[(y w + x) cs + ch] = map[(ch h + y) w + x], the channels from c to cs zero. */
void roi_align_map_hwc(const float *map, int c, int h, int w, float *hwc);

/* roi_align_forward over a map in roi_align_map_hwc's layout, out (c,
 * size, size) as there: the same float operations in the same order, so the same
 * bytes, with a pixel's channels in vectors. For many RoIs of one map, after one
 * transpose of the map. */
void roi_align_forward_hwc(const float *hwc, int c, int h, int w, const float roi[4], int size, int sampling,
                           float *out);

/* The inverse of roi_align_map_hwc: hwc (h, w, roi_align_hwc_channels(c)) into map
 * (c, h, w), the padding dropped. */
void roi_align_map_chw(const float *hwc, int c, int h, int w, float *map);

/* The adjoint of roi_align_forward: adds dout (c, size, size), through the same
 * bilinear weights, into dmap (c, h, w). Linear, so it serves for gradients and for
 * Darknet's deltas (negative gradients) alike. */
void roi_align_backward(const float *dout, int c, int h, int w, const float roi[4], int size,
                        int sampling, float *dmap);

/* roi_align_backward into a gradient map in roi_align_map_hwc's layout: adds dout
 * (c, size, size) into dhwc (h, w, roi_align_hwc_channels(c)), its padding
 * channels included (with zeros), with the same float operations in the same order
 * per element as roi_align_backward. So a map taken to HWC, given RoIs' gradients in
 * turn and brought back by roi_align_map_chw is the same bytes as the map given them
 * by roi_align_backward. */
void roi_align_backward_hwc(const float *dout, int c, int h, int w, const float roi[4], int size, int sampling,
                            float *dhwc);

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
