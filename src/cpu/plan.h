/* plan.h: the path of each convolutional layer shape, chosen by measurement (as
 * FFTW's planner or cuDNN's benchmark mode do). For a shape (batch, channels, size,
 * filters, kernel, stride, pad, groups; training or not) the candidates are our
 * gemm with the batch in one split, our gemm image by image, Winograd on our gemm
 * (3 x 3, stride 1, pad 1) and im2col with OpenBLAS's gemm. Each is timed on the
 * layer's own forward (and backward, when training) over scratch buffers, a few
 * times, and the cheapest kept; the choice goes to a small cache file keyed by
 * the CPU model, the ISA, OpenBLAS's core, the threads and the shape. Once chosen,
 * a shape's path is fixed for the process, so a run is deterministic for a given
 * choice. OHEM_PLAN (auto, measure, off or a cache file) controls it; OHEM_GEMM or
 * OHEM_CONV set to anything but auto force a path and skip planning. */
#ifndef OHEM_PLAN_H
#define OHEM_PLAN_H

#include <stdio.h>

#include "darknet.h"

enum {
    OHEM_PATH_OURS,        /* our gemm, the batch's images in one split of the pool */
    OHEM_PATH_OURS_IMAGES, /* our gemm, image by image, each split by rows or columns */
    OHEM_PATH_WINOGRAD,    /* Winograd's F(2x2, 3x3) on our gemm */
    OHEM_PATH_OPENBLAS,    /* im2col, then OpenBLAS's gemm */
    OHEM_PATHS
};
#define OHEM_PATH_RULES (-1) /* no plan: the fixed rules (kernels.c) */

/* A candidate replaces the one before it (in the order above) only when it is
 * cheaper by more than this fraction: noise does not flip a near tie. */
#define OHEM_PLAN_MARGIN 0.03

/* The index of the path to take given each path's cost (cost[OHEM_PATHS], in
 * seconds; negative: not a candidate): the first candidate, replaced by each later
 * one cheaper than it by more than OHEM_PLAN_MARGIN. OHEM_PATH_RULES when none is a
 * candidate. Pure: the same costs give the same path. */
int ohem_plan_choose(const double *cost);

/* "ours", "ours-images", "winograd", "openblas" ("rules" for OHEM_PATH_RULES), and
 * back (-2 for another word). */
const char *ohem_plan_path_name(int path);
int ohem_plan_path_of_name(const char *name);

/* The shape a plan is for. */
typedef struct {
    int batch, c, h, w, n, size, stride, pad, groups, train;
} ohem_plan_key;

/* A plan of the cache file: the machine, the shape, the path and its costs. */
typedef struct {
    char cpu[96];  /* CPU model, as /proc/cpuinfo names it */
    int isa;       /* our kernels: 512 (AVX-512) or 256 (AVX2); 0 none */
    char core[32]; /* OpenBLAS's core */
    int threads;
    ohem_plan_key key;
    int path;
    double cost[OHEM_PATHS]; /* seconds; -1 not a candidate */
} ohem_plan_entry;

/* Reads a cache file into *out (malloc'd, *n entries). A missing file is 0 entries.
 * Returns 0, or -1 when the file is not a plan cache (why: file, line and what;
 * *out NULL). */
int ohem_plan_cache_read(const char *file, ohem_plan_entry **out, int *n, char *why, size_t cap);

/* Writes n entries to file (by a temporary file renamed over it, making its
 * folder). Returns 0, or -1 when it cannot. */
int ohem_plan_cache_write(const char *file, const ohem_plan_entry *e, int n);

enum { OHEM_PLAN_AUTO, OHEM_PLAN_MEASURE, OHEM_PLAN_OFF };

/* auto: the cache, then measure what it lacks; measure: measure every shape again
 * (each new plan replaces the cache's); off: the fixed rules. file: the cache, or NULL for
 * $XDG_CACHE_HOME/ohem/plan.tsv, else ~/.cache/ohem/plan.tsv. Set at start-up by
 * OHEM_PLAN; forgets the plans made. */
void ohem_plan_set(int mode, const char *file);

/* The cache file in use ("" when there is none, as with neither XDG_CACHE_HOME nor
 * HOME). */
const char *ohem_plan_cache_file(void);

/* on 1: the fixed rules for every layer, as OHEM_PLAN=off, the plans kept for
 * on 0 (the benchmarks' interleaved comparison). */
void ohem_plan_suspend(int on);

/* 1 when layers are planned: OHEM_PLAN not off, OHEM_GEMM and OHEM_CONV auto, our
 * kernels (OHEM_KERNELS=plugin). */
int ohem_plan_active(void);

/* 1 when l's shape can go by Winograd (3 x 3, stride 1, pad 1, no groups, the
 * output the input's size, not binary), whatever the plan. */
int ohem_plan_winograd_shape(const layer *l);

/* The kernels' side: before the forward or backward of convolutional layer l, the
 * path of its shape (planned now if it has none yet, on scratch buffers and
 * net.workspace; with net.train, forward and backward), with the gemm engine set
 * for it; returns what ohem_plan_leave gives back. */
int ohem_plan_enter(const layer *l, network net);
void ohem_plan_leave(int token);

/* The path planned for l's shape (training or not), without planning:
 * OHEM_PATH_RULES when it has none. */
int ohem_plan_layer_path(const layer *l, int train);

/* Every convolution on path from now on (where its shape can take it: else the
 * rules decide that part), no planning; OHEM_PATH_RULES ends it. For the tests and
 * the benchmarks. */
void ohem_plan_force(int path);

/* The path of the layer running (OHEM_PATH_RULES outside a planned layer). */
int ohem_plan_current(void);

/* What a network's planning did. */
typedef struct {
    int layers;              /* convolutional layers planned */
    int measured, cached;    /* shapes measured now, found in the cache */
    int rules;               /* layers left to the fixed rules (planning off, past the time cap, or busy) */
    int busy;                /* of those, shapes measured while other processes kept the machine busy */
    double others;           /* the cores other processes used while this planning measured */
    int count[OHEM_PATHS];   /* layers per path */
    double seconds;          /* the time the measuring took */
} ohem_plan_summary;

/* Plans every convolutional layer of net for training (train 1: forward and
 * backward) or inference; with out, a line per layer (its costs and path) on out.
 * Fills s when not NULL. */
void ohem_plan_network(network *net, int train, FILE *out, ohem_plan_summary *s);

/* One line on what the planning did (paths chosen, time, cache). */
void ohem_plan_print_summary(FILE *out, const ohem_plan_summary *s);

/* The planning time cap of a network's planning (and of the layers planned after
 * it, at their first forward), in seconds: past it, new shapes take the
 * fixed rules, and the cache says so (the next run takes the rules for them too;
 * OHEM_PLAN=measure plans them again). OHEM_PLAN_SECONDS sets it at start-up. */
#define OHEM_PLAN_CAP 3.0
void ohem_plan_cap(double seconds);

/* A shape measured while other processes used more than this many cores on
 * average (their CPU time from /proc/stat, steal included, over the network's
 * planning so far, once it adds up to OHEM_PLAN_BUSY_MIN seconds) takes the fixed
 * rules, and the cache says so, with the costs as measured: timings under load pick
 * paths that are slower on a quiet machine. OHEM_PLAN=measure on a quiet machine
 * plans it again. ohem_plan_busy_limit sets the cores (a negative value: never busy,
 * for the tests that need a measured plan whatever the load). */
#define OHEM_PLAN_BUSY 0.25
#define OHEM_PLAN_BUSY_MIN 0.03
void ohem_plan_busy_limit(double cores);

#endif
