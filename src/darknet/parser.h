/* parser.h: parse_network_cfg with plugin sections. */
#ifndef OHEM_PARSER_H
#define OHEM_PARSER_H

#include "cfg.h"
#include "darknet.h"
#include "ohem_layer.h"

/* Builds the network of the cfg at path. Built-in sections are built by libdarknet's
 * own parse functions; [ohem] and the two-stage sections by ours. Returns 0, or -1
 * with e set (nothing leaks). */
int ohem_parse_network(const char *path, network **out, ohem_err *e);

/* ohem_parse_network without warnings: for a second network from a cfg that an
 * earlier parse checked and warned about (detector train -map's evaluation copy). */
int ohem_parse_network_quiet(const char *path, network **out, ohem_err *e);

/* Parses the keys of one [ohem] section into o, resolving layers= against the
 * network's first index layers. Returns 0, or -1 with e set. */
int ohem_parse_options(const ohem_cfg *cfg, const ohem_cfg_section *s, network *net, int index,
                       ohem_options *o, ohem_err *e);

/* Frees what free_layer leaves of a plugin layer (a no-op for the others); call it
 * before free_layer. */
void ohem_free_plugin_layer(layer *l);

/* A name for a layer type, as in a cfg ("yolo"), or "ohem". */
const char *ohem_layer_name(const layer *l);

#endif
