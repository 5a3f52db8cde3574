/* train_state.h: the state file that lets an interrupted `detector train` continue
 * as if it had never stopped. Darknet's weights file holds the parameters and the
 * count of images seen; the rest of a run is here, in WEIGHTS.state beside it:
 *   - every rank's two rand() streams (rng.h): the main thread's, and the loader's
 *     as it was before the loader drew the batch it has prefetched (that batch is
 *     drawn again on resume), which is also the loader's place in the image list;
 *   - every rank's generator of each [rpn] and [roi_loss] layer;
 *   - every rank's training size (multi-scale training draws it per rank);
 *   - the momentum: the weight, bias and scale updates of every layer with
 *     parameters, which Darknet's update keeps between iterations and its weights
 *     file drops (the same on every rank).
 * Layout, in the byte order of the machine: a header, then per rank the uint64
 * values main stream, loader stream, width, height and each plugin layer's
 * generator, then the momentum floats, layer by layer. */
#ifndef OHEM_TRAIN_STATE_H
#define OHEM_TRAIN_STATE_H

#include "darknet.h"

#include <stdint.h>

/* What a rank continues from, besides the momentum and the layer generators. */
typedef struct {
    unsigned seed;       /* -seed of the run (the shard of the image list under MPI) */
    int w, h;            /* the size the network trains at */
    uint64_t main_rng;   /* rng_main_state() */
    uint64_t loader_rng; /* rng_loader_state() before the prefetched batch was drawn */
} train_resume;

/* 0 when every layer's momentum can be saved; otherwise -1, after a warning that
 * names the layer (an interrupted run of this cfg will not continue exactly). */
int train_state_supported(const network *net);

/* Collective (every rank calls it at the same iteration): rank 0 writes path,
 * through a temporary file, an fsync and a rename, from every rank's mine and
 * layer generators and its own momentum; with write 0 (the weights failed to
 * save) the ranks only take part in the gather. Returns 0, or -1 after printing
 * an error (the previous file is untouched). */
int train_state_save(const char *path, network *net, const train_resume *mine, int write);

/* Reads path on every rank and, when it belongs to this network, this iteration,
 * seed and number of ranks, sets the momentum and the layer generators of net and
 * fills *out with this rank's part; returns 0. Otherwise returns -1 after a warning
 * that names the file and what does not match. */
int train_state_load(const char *path, network *net, unsigned seed, train_resume *out);

#endif
