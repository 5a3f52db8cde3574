/* ohem_pipeline.h: [ohem] pipeline=1 on the RoIs of a two-stage network.
 *
 * The paper's two passes on two threads: a read-only copy of the network (its own
 * buffers, the same cfg, the trainable network's parameters copied in after every
 * update) forwards the next batch, through the backbone, the [rpn], every RoI of
 * [roipool] and the head, to [roi_loss]'s loss of each RoI and [ohem]'s selection;
 * meanwhile the trainable network forwards and backpropagates the current batch, its
 * [roipool] fed the RoIs that the read-only pass chose for it, so that the head runs
 * over the kept RoIs only. The selection of the first batch of an iteration sees the
 * parameters of one update before (the read-only pass ran during the previous
 * iteration's last step); within an iteration the parameters do not change. The
 * gradients are always those of the current parameters on the kept RoIs.
 * The read-only pass runs during the trainable forward, each on one core (OpenBLAS
 * and the kernels' pool set to one thread): the two passes are the parallelism; the
 * trainable backward then runs on every core (the threads OpenBLAS had before), once
 * the read-only pass is done. That point is fixed, so that two runs with the same
 * seed give the same weights (the kernels' sums are cut by their thread count, and
 * OpenBLAS's results differ with its threads in the last bits). */
#ifndef OHEM_PIPELINE_H
#define OHEM_PIPELINE_H

#include "cfg.h"
#include "darknet.h"

typedef struct ohem_pipeline ohem_pipeline;

/* The [ohem] layer of net with pipeline=1, or -1. */
int ohem_pipeline_layer(const network *net);

/* Builds the read-only copy of net from the cfg at path (net's cfg) and copies net's
 * parameters into it. Call it before seeding the data order: the copy's
 * construction draws from rand(). Returns NULL with e set. */
ohem_pipeline *ohem_pipeline_make(network *net, const char *path, ohem_err *e);

/* Trains net on d as train_network does (its subdivisions, the update after each
 * net->subdivisions batches), pipelined; next, when not NULL, is the data of the next
 * call, whose first batch the read-only pass forwards during the last batch of this
 * one. before_update, when not NULL, runs before each update (an allreduce) and a
 * non-zero return stops the step with NAN. Returns the mean loss per image. */
float ohem_pipeline_train(ohem_pipeline *p, network *net, data d, const data *next,
                          int (*before_update)(network *net));

/* on 0: the read-only pass may run on to the end of the trainable backward, each on
 * one core (for the benchmark); 1 by default. */
void ohem_pipeline_lend(ohem_pipeline *p, int on);

/* Frees the copy and sets OpenBLAS's threads back. */
void ohem_pipeline_free(ohem_pipeline *p);

#endif
