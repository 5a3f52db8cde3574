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

/* Routes libdarknet's gemm to OpenBLAS; called by the parser, so that linking the
 * parser links this too; its start-up reads the environment (env.h).
 * OHEM_GEMM=darknet keeps libdarknet's own gemm (for comparisons). */
void ohem_blas_init(void);

/* "openblas" or "darknet"; returns 0, or -1 for another name. */
int ohem_gemm_select(const char *name);

/* 1 when libdarknet's own gemm is selected. */
int ohem_gemm_is_darknet(void);

/* "plugin" (row-wise) or "darknet" (libdarknet's per-pixel im2col_cpu/col2im_cpu);
 * returns 0, or -1 for another name. OHEM_IM2COL sets it at start-up. */
int ohem_im2col_select(const char *name);

/* Bytes save_weights writes for net, or -1 when it has layer kinds not counted. */
long ohem_weights_bytes(const network *net);

/* Checks that the weights file at path fits net: a Darknet header, and a size that
 * ends at a layer boundary (all layers, or the first ones, as darknet53.conv.74
 * does). Returns 0, or -1 with e set. */
int ohem_check_weights(const network *net, const char *path, ohem_err *e);

/* A name for a layer type, as in a cfg ("yolo"), or "ohem". */
const char *ohem_layer_name(const layer *l);

#endif
