/* ohem_parser.h: parse_network_cfg with plugin sections. */
#ifndef OHEM_PARSER_H
#define OHEM_PARSER_H

#include "cfg.h"
#include "darknet.h"
#include "ohem_layer.h"

/* Builds the network of the cfg at path. Built-in sections are built by libdarknet's
 * own parse functions; [ohem] by ours. Returns 0, or -1 with e set (nothing leaks). */
int ohem_parse_network(const char *path, network **out, ohem_err *e);

/* Parses the keys of one [ohem] section into o, resolving layers= against the
 * network's first index layers. Returns 0, or -1 with e set. */
int ohem_parse_options(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net, int index,
                       ohem_options *o, ohem_err *e);

/* Routes libdarknet's gemm to ours (sgemm.h) on AVX-512 CPUs, else to OpenBLAS;
 * called by the parser, so that linking the parser links this too; its start-up
 * reads the environment (env.h). OHEM_GEMM=openblas or darknet choose those (for
 * comparisons). */
void ohem_blas_init(void);

/* libdarknet's backward of a 1x1 [convolutional] writes its input's delta (and
 * [activation]'s copies into it), so the gradient that a later [route], [shortcut]
 * or [roipool] added to that delta first is lost (every residual block of darknet53
 * and yolov3). Wraps the backward of each such layer that follows a layer read
 * later: it runs on a cleared delta and is added to the real one (keep_delta.c).
 * The parser calls it; returns 0, or -1 when memory runs out. */
int ohem_keep_input_deltas(network *net);

/* on 0 (OHEM_BACKWARD=darknet): networks built from then on keep libdarknet's
 * backward, which loses those gradients (for comparison); 1 by default. */
void ohem_keep_input_deltas_select(int on);

/* Forgets net's wrapped layers (free_network calls it). */
void ohem_keep_input_deltas_release(const network *net);

/* The backward of layer i of net: its own, also when it is wrapped. */
void (*ohem_backward_of(const network *net, int i))(struct layer, struct network);

/* "auto" (ours where the CPU has AVX-512, else OpenBLAS), "plugin" (ours, on the
 * best kernels the CPU runs), "avx2" (ours on the AVX2 kernels), "openblas" or
 * "darknet"; returns 0, or -1 for another name or for kernels the CPU lacks. */
int ohem_gemm_select(const char *name);

/* 1 when libdarknet's own gemm is selected. */
int ohem_gemm_is_darknet(void);

/* 1 when our own gemm is selected. */
int ohem_gemm_is_ours(void);

/* The gemm in use, in words ("ours, AVX-512 kernels", "OpenBLAS's, core Haswell",
 * ...), for start-up lines and reports. */
const char *ohem_gemm_name(void);

/* "plugin" (row-wise) or "darknet" (libdarknet's per-pixel im2col_cpu/col2im_cpu);
 * returns 0, or -1 for another name. OHEM_IM2COL sets it at start-up. */
int ohem_im2col_select(const char *name);

/* The columns w of an output row of an im2col that read inside the image for
 * kernel offset kx (0 <= kx + w stride - pad < width), as [*w0, *w1) within [0, wc):
 * im2col.c's rows and the packing of our gemm (sgemm.c). */
void ohem_im2col_span(int kx, int stride, int pad, int width, int wc, int *w0, int *w1);

/* col2im_cpu for the output rows [h0, h1) alone: col is (channels*ksize*ksize,
 * (h1 - h0)*wc), those rows of the whole im2col; adds them into im as col2im_cpu
 * adds the whole col. */
void ohem_col2im_rows(const float *col, int channels, int height, int width, int ksize, int stride, int pad, int h0,
                      int h1, float *im);

/* Bytes save_weights writes for net, or -1 when it has layer kinds not counted. */
long ohem_weights_bytes(const network *net);

/* Copies the trained parameters (weights, biases, batch-norm scales and rolling
 * statistics) of src into dst, a network of the same cfg (any batch). */
void ohem_copy_parameters(network *dst, const network *src);

/* Checks that the weights file at path fits net: a Darknet header, and a size that
 * ends at a layer boundary (all layers, or the first ones, as darknet53.conv.74
 * does). Returns 0, or -1 with e set. */
int ohem_check_weights(const network *net, const char *path, ohem_err *e);

/* Where a plugin section is built: its index in the network, and the batch and
 * output shape of the layer before it (of [net] for the first). */
typedef struct {
    int index, batch, inputs, h, w, c;
} ohem_layer_params;

/* The two-stage sections (parse_twostage.c): check every key of s against the
 * network built so far and build the layer. Return 0, or -1 with e set. */
int ohem_parse_rpn(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net,
                   const ohem_layer_params *p, layer *l, ohem_err *e);
int ohem_parse_roipool(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net,
                       const ohem_layer_params *p, layer *l, ohem_err *e);
int ohem_parse_roi_loss(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net,
                        const ohem_layer_params *p, layer *l, ohem_err *e);

/* Frees what free_layer leaves of a plugin layer (a no-op for the others); call it
 * before free_layer. */
void ohem_free_plugin_layer(layer *l);

/* A name for a layer type, as in a cfg ("yolo"), or "ohem". */
const char *ohem_layer_name(const layer *l);

#endif
