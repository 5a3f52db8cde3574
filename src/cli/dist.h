/* dist.h: data-parallel `detector train` over MPI. Each process (rank) trains on its
 * own shard of the training list; before every weight update the weight, bias and
 * scale updates of every layer are summed across ranks with one MPI_Allreduce over
 * one packed buffer, then divided by the number of ranks, so every rank takes the
 * step of the global batch and holds the same weights after it.
 *
 * Built with -DOHEM_MPI (the Makefile adds it where mpicc exists); without it, and
 * when the program was not started by mpirun, there is one rank and every function
 * is the one-process case: train_network, no sharding, no collectives. */
#ifndef OHEM_DIST_H
#define OHEM_DIST_H

#include "darknet.h"
#include "ohem_layer.h"
#include "roi_loss_layer.h"

/* A command under MPI (detector_train): starts MPI when mpirun started the program,
 * runs run(argc, argv), makes a rank that failed before training agree with the
 * others (every rank exits, the error printed once), and ends MPI. */
int dist_main(int (*run)(int argc, char **argv), int argc, char **argv);

/* Starts MPI when the environment says mpirun started this process (else one rank).
 * Ranks other than 0 keep their start-up messages until dist_agree, then drop their
 * output (OHEM_MPI_ALL_OUTPUT=1 keeps it). Returns 0, or -1 after an error. */
int dist_init(void);
/* Ends MPI (MPI_Finalize). dist_finish() without dist_init is a no-op. */
void dist_finish(void);

int dist_rank(void);
int dist_size(void);

/* The seed taken from the clock when -seed is not given: rank 0's time(NULL) on
 * every rank (read in dist_init), so that all ranks shuffle the list alike. */
unsigned dist_clock_seed(void);

/* Every rank calls it once after its start-up checks, with ok = 1 when they passed.
 * Returns 1 when every rank passed; otherwise 0, with the messages of the first
 * failing rank printed (rank 0's are printed as they come). */
int dist_agree(int ok);

/* Keeps this rank's shard of the training list: after a shuffle seeded with seed
 * (the same on every rank), entries r, r + N, r + 2N, ... for rank r of N. The
 * others are freed. lines (or NULL), the list line of each path, is shuffled and
 * cut alongside. Returns the new count, or -1 (printed) when there are fewer
 * images than ranks. One rank: n, the list untouched. */
int dist_shard(char **paths, int *lines, int n, unsigned seed);

/* Seeds rand() per rank (seed + rank), after libdarknet's own srand calls: the
 * augmentation and the picks within the shard differ across ranks. One rank: no-op. */
void dist_srand(unsigned seed);

/* The start of training, after every start-up check: checks that every layer with
 * weights is of a kind this packs, agrees with the other ranks (dist_agree), checks
 * that every rank built the same number of parameters and copies rank 0's weights
 * to every rank. Returns 0, or -1 (the error printed once). One rank: 0. */
int dist_start(network *net);

/* train_network with the update summed across ranks: forward and backward of each
 * subdivision, then, before the update, one allreduce of the packed updates, divided
 * by the number of ranks. Returns the mean loss of this rank's images, or NAN when
 * another rank left the loop (dist_left() is then 1). */
float dist_train_step(network *net, data d);

/* Packs the weight, bias and scale updates of every layer into one buffer, sums it
 * across ranks (one MPI_Allreduce) and writes the sum / N back. Returns 0, or -1
 * when another rank has left the loop. For dist_train_step and the benchmark. */
int dist_sync_updates(network *net);

/* Floats in the packed update buffer (every layer's weight, bias and scale updates),
 * or -1 for a layer kind with an update this does not pack. */
long dist_update_count(const network *net);

/* 1 when another rank left the training loop (its step returned NAN). */
int dist_left(void);

/* After each step, on every rank: *loss becomes the mean over ranks, the [ohem]
 * figures of ohem_l (may be NULL) are summed for dist_ohem_stats, and the stop
 * signals are agreed for dist_stop. One rank: nothing. */
void dist_reduce(float *loss, const layer *ohem_l, int stop_signal);

/* The [ohem] figures of the last iteration, summed over ranks; one rank:
 * ohem_layer_stats. Returns 0, or -1 when there are none. */
int dist_ohem_stats(const layer *l, ohem_stats *s);

/* Two-stage figures of an iteration over all ranks, on every rank: the losses the
 * mean over ranks, the RoI counts (trained, foreground) the sum. One rank: nothing. */
void dist_roi_stats(roi_loss_stats *s);

/* The signal that stops training at this iteration: with one rank stop_signal, else
 * the one agreed in dist_reduce (0, or the largest any rank received). */
int dist_stop(int stop_signal);

/* After the training loop, on every rank: a rank that left on its own (a failed
 * save, say) tells the ranks still in dist_train_step to stop. */
void dist_leave(void);

/* Seconds spent in the update allreduce since dist_start, and how many there were. */
double dist_sync_seconds(long *count);

#endif
