/* plugin.h: the plugin-layer state idiom. A plugin layer is a BLANK layer whose
 * forward is its own and whose state lives behind cweights; every state struct starts
 * with a uint32_t magic number naming its kind, checked whenever the state is read. */
#ifndef OHEM_PLUGIN_H
#define OHEM_PLUGIN_H

#include <assert.h>
#include <stdint.h>
#include "darknet.h"

/* The state of plugin layer l, whose struct starts with magic (asserted). */
static inline void *plugin_state(const layer *l, uint32_t magic)
{
    void *st = l->cweights;
    assert(st && *(const uint32_t *)st == magic);
    (void)magic;
    return st;
}

/* 1 when l is the plugin layer whose forward is forward. */
static inline int plugin_is(const layer *l, void (*forward)(struct layer, struct network))
{
    return l->type == BLANK && l->forward == forward && l->cweights;
}

#endif
