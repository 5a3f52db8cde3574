/* rng.h: rand() and srand() for ./darknet, replacing the C library's (libdarknet's
 * calls go through the PLT, so they reach these). Two splitmix64 streams: one for
 * the main thread (layer initialisation, [dropout], the multi-scale size), one for
 * every other thread (libdarknet's data loader: the images picked, the
 * augmentation). Each stream's state can be read and set, so that an interrupted
 * training run saves the generators and a resumed one continues them. The loader's
 * draws no longer interleave with the main thread's, so they do not depend on
 * timing. */
#ifndef OHEM_RNG_H
#define OHEM_RNG_H

#include <stdint.h>

/* The states of the two streams. Set them only while no loader thread runs. */
uint64_t rng_main_state(void);
uint64_t rng_loader_state(void);
void rng_set_states(uint64_t main_state, uint64_t loader_state);

#endif
