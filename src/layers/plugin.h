/* plugin.h: how a plugin layer ([ohem], [rpn], [roipool], [roi_loss]) keeps its
 * state inside a Darknet layer.
 *
 * libdarknet passes layers by value and frees only the buffers it knows. A plugin
 * layer is a BLANK layer with its own forward and backward, and its state is one
 * heap block behind l->cweights (which BLANK layers leave unused and free_layer
 * frees), starting with its kind's magic number: the forward function tells the
 * kind, the magic catches a layer whose state is not that kind's. */
#ifndef OHEM_PLUGIN_H
#define OHEM_PLUGIN_H

#include <assert.h>
#include <stdint.h>
#include "darknet.h"

/* 1 when l is a plugin layer whose forward is forward. */
static inline int plugin_is(const layer *l, void (*forward)(struct layer, struct network))
{
    return l->type == BLANK && l->forward == forward && l->cweights;
}

/* The state behind l, whose first member is the uint32_t magic; asserts it. */
static inline void *plugin_state(const layer *l, uint32_t magic)
{
    void *st = l->cweights;
    assert(st && *(const uint32_t *)st == magic);
    return st;
}

#endif
