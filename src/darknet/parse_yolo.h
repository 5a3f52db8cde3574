/* parse_yolo.h: AlexeyAB's [yolo] loss keys, read into yolo_options. */
#ifndef OHEM_PARSE_YOLO_H
#define OHEM_PARSE_YOLO_H

#include "cfg.h"
#include "yolo_layer.h"

/* The [yolo] keys read here beside libdarknet's (NULL-terminated). */
extern const char *const ohem_yolo_plugin_keys[];

/* Reads the keys of ohem_yolo_plugin_keys in the [yolo] section s into o (AlexeyAB's
 * defaults for those not given; o->alexeyab = 1 when any is given) and marks them
 * read. Returns 0, or -1 with e naming file, line, key and value. */
int ohem_parse_yolo_options(const ohem_cfg *cfg, const ohem_cfg_section *s, yolo_options *o, ohem_err *e);

#endif
