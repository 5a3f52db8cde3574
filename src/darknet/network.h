/* network.h: building a network from a cfg, as a library call that returns a
 * status; the replaced libdarknet functions (parse_network_cfg, load_network,
 * free_network, resize_network, set_batch_network, get_network_boxes) keep their
 * darknet.h signatures. */
#ifndef OHEM_NETWORK_H
#define OHEM_NETWORK_H

#include "cfg.h"
#include "darknet.h"

/* load_network without exit: builds the network of the cfg at path (plugin
 * sections and checked keys), then reads the weights file when weights is neither
 * NULL nor "" (checked first against the network: header and size), and sets seen
 * to 0 when clear. Returns 0, or -1 with e set (nothing leaks). parse_network_cfg
 * and load_network print e and exit with status 1 instead. */
int ohem_load_network(const char *cfg, const char *weights, int clear, network **out, ohem_err *e);

#endif
