/* pool.c: a persistent pthread pool. One loop at a time: the caller publishes the
 * loop under the mutex and bumps a generation counter, each worker does its part and
 * counts itself done, the caller does part 0 and waits for the others. Workers spin
 * briefly on the generation before they sleep, since the kernels' loops come in
 * quick succession during a training step. */
#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_THREADS 64
#define SPIN 4000 /* about 0.1 ms of pause: kernels come in bursts, gemms follow */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int want = 1, started = 1; /* threads wanted and running, the caller included */
static atomic_long generation;
static atomic_int pending;
static ohem_pool_fn job_fn;
static void *job_ctx;
static long job_n;
static int job_parts;
static __thread int inside;

static void run_part(int part)
{
    long begin = job_n * part / job_parts, end = job_n * (part + 1) / job_parts;
    if (begin < end) job_fn(job_ctx, begin, end);
}

static void *worker(void *arg)
{
    int part = (int)(long)arg;
    long seen = 0;
    inside = 1;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&generation, memory_order_acquire) == seen && spins < SPIN) {
            __builtin_ia32_pause();
            spins++;
        }
        if (atomic_load_explicit(&generation, memory_order_acquire) == seen) {
            pthread_mutex_lock(&mu);
            while (atomic_load(&generation) == seen) pthread_cond_wait(&wake, &mu);
            pthread_mutex_unlock(&mu);
        }
        seen = atomic_load(&generation);
        if (part < job_parts) run_part(part);
        atomic_fetch_sub_explicit(&pending, 1, memory_order_acq_rel);
    }
    return NULL;
}

void ohem_pool_set_threads(int threads)
{
    want = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
}

/* Starts the workers up to want (never stops any: fewer are used by job_parts). */
static void start_workers(void)
{
    while (started < want) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, (void *)(long)started) != 0) {
            want = started;
            return;
        }
        pthread_detach(t);
        started++;
    }
}

void ohem_pool_for(long n, long grain, ohem_pool_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (want <= 1 || n < grain || inside) {
        fn(ctx, 0, n);
        return;
    }
    start_workers();
    int parts = want < started ? want : started;
    if (parts <= 1) {
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&mu);
    job_fn = fn;
    job_ctx = ctx;
    job_n = n;
    job_parts = parts;
    atomic_store(&pending, started - 1);
    atomic_fetch_add_explicit(&generation, 1, memory_order_release);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);
    inside = 1;
    run_part(0);
    inside = 0;
    for (int spins = 0; atomic_load_explicit(&pending, memory_order_acquire) > 0; spins++)
        if (spins < 2000) __builtin_ia32_pause();
        else sched_yield();
}
