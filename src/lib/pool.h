/* pool.h: a small persistent pthread pool for the kernels' loops (no OpenMP). */
#ifndef OHEM_POOL_H
#define OHEM_POOL_H

/* About this many elements make a part of a pool loop: a loop with fewer runs in
 * the caller (waking a thread costs more). */
#define OHEM_POOL_GRAIN 32768

/* The items of a loop that make a grain, each item `each` elements. */
static inline long ohem_pool_grain(long each)
{
    return (OHEM_POOL_GRAIN + each - 1) / each;
}

/* fn does items [begin, end) of a loop; ctx is its arguments. */
typedef void (*ohem_pool_fn)(void *ctx, long begin, long end);

/* Sets the threads, the caller included (1: everything runs in the caller). The
 * workers start on first use and wait on a condition variable between loops. */
void ohem_pool_set_threads(int threads);

/* Runs fn over [0, n) in as many contiguous parts as threads, the caller doing the
 * first; returns when all parts are done. Runs in the caller alone when n < grain,
 * with one thread, or when called from inside a pool loop. */
void ohem_pool_for(long n, long grain, ohem_pool_fn fn, void *ctx);

#endif
