/* parse_twostage.h: the two-stage sections [rpn], [roipool] and [roi_loss], each key
 * checked against the network built so far, then the layer built. */
#ifndef OHEM_PARSE_TWOSTAGE_H
#define OHEM_PARSE_TWOSTAGE_H

#include "cfg.h"
#include "darknet.h"

/* Where a plugin section is built: its index in the network, and the batch and
 * output shape of the layer before it (of [net] for the first). */
typedef struct {
    int index, batch, inputs, h, w, c;
} ohem_layer_params;

/* Starts layer index's line of the layer table, which the layer's make function
 * ends. Called once the section passed every check, right before the layer is
 * built, so that an error never lands inside a started line. */
void ohem_layer_line_begin(int index);

/* Each returns 0, or -1 with e set. */
int ohem_parse_rpn(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net,
                   const ohem_layer_params *p, layer *l, ohem_err *e);
int ohem_parse_roipool(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net,
                       const ohem_layer_params *p, layer *l, ohem_err *e);
int ohem_parse_roi_loss(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net,
                        const ohem_layer_params *p, layer *l, ohem_err *e);

#endif
