/* pool.h: a small persistent pthread pool for the kernels' loops (no OpenMP). */
#ifndef OHEM_POOL_H
#define OHEM_POOL_H

#include <stddef.h>

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

/* The threads set, the caller included. */
int ohem_pool_threads(void);

/* Runs fn over [0, n) in contiguous parts, 4 per thread, that the threads (the
 * caller one of them) claim in turn; returns when all parts are done. Runs in the
 * caller alone when n < grain, with one thread, or when called from inside a pool
 * loop. */
void ohem_pool_for(long n, long grain, ohem_pool_fn fn, void *ctx);

/* ohem_pool_for with `per_thread` parts per thread: fewer, larger parts where each
 * part re-reads an operand that all share (a gemm's A, split by columns). */
void ohem_pool_for_parts(long n, long grain, int per_thread, ohem_pool_fn fn, void *ctx);

/* A thread's scratch for the pool's parts: *buf (with its size in *cap, both
 * zero at first, usually static __thread), grown to at least bytes, 64-byte
 * aligned, and kept for the next call, so that it is allocated once per size and
 * not per loop. Out of memory: an error naming what, exit status 1 (the callers
 * are libdarknet's, which return nothing). */
void *ohem_thread_buffer(void **buf, size_t *cap, size_t bytes, const char *what);

#endif
