/* net_steps.h: a piece of libdarknet's training step for the tests that stop part
 * way through it. */
#ifndef OHEM_TEST_NET_STEPS_H
#define OHEM_TEST_NET_STEPS_H

#include "darknet.h"

/* backward_network's steps from the last layer down to layer stop (>= 1). */
static inline void backward_down_to(network *net, int stop)
{
    network b = *net;
    for (int i = net->n - 1; i >= stop; i--) {
        b.index = i;
        b.input = net->layers[i - 1].output;
        b.delta = net->layers[i - 1].delta;
        net->layers[i].backward(net->layers[i], b);
    }
}

#endif
