/* pool.c: a persistent pthread pool. One loop at a time, cut into chunks that the
 * caller and the workers claim from a shared ticket (the loop's number of chunks in
 * the high half, the next chunk in the low half), so that a worker the scheduler keeps waiting never holds
 * the loop up: the caller then does the chunks itself and waits only for chunks
 * already begun. Workers spin briefly for the next loop before they sleep, since the
 * kernels' loops come in quick succession during a training step. */
#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_THREADS 64
#define SPIN 4000        /* about 0.1 ms of pause: kernels come in bursts, gemms follow */
#define CHUNKS_PER_THREAD 4

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int want = 1, started = 1; /* threads wanted and running, the caller included */
static atomic_long generation;    /* bumped for each loop, to wake the workers */
static _Atomic uint64_t ticket;   /* chunks of the loop << 32 | next chunk to claim */
static atomic_long done;          /* chunks finished of the current loop */
static ohem_pool_fn job_fn;       /* the current loop, written before its ticket */
static void *job_ctx;
static long job_n;
static __thread int inside;

/* Claims and runs chunks of the current loop until none is left. */
static void run_chunks(void)
{
    for (;;) {
        uint64_t t = atomic_fetch_add_explicit(&ticket, 1, memory_order_acq_rel);
        long c = (long)(t & 0xffffffffu), chunks = (long)(t >> 32);
        /* the bound comes with the ticket: a chunk below it keeps its loop (and the job fields)
         * alive until it is counted done, so reading them after the claim is safe */
        if (c >= chunks) return;
        long begin = job_n * c / chunks, end = job_n * (c + 1) / chunks;
        if (begin < end) job_fn(job_ctx, begin, end);
        atomic_fetch_add_explicit(&done, 1, memory_order_acq_rel);
    }
}

static void *worker(void *arg)
{
    (void)arg;
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
        run_chunks();
    }
    return NULL;
}

void ohem_pool_set_threads(int threads)
{
    want = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
}

int ohem_pool_threads(void)
{
    return want;
}

/* Starts the workers up to want (never stops any; with fewer wanted, the loop is
 * run in the caller). */
static void start_workers(void)
{
    while (started < want) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) != 0) {
            want = started;
            return;
        }
        pthread_detach(t);
        started++;
    }
}

void ohem_pool_for(long n, long grain, ohem_pool_fn fn, void *ctx)
{
    ohem_pool_for_parts(n, grain, CHUNKS_PER_THREAD, fn, ctx);
}

void ohem_pool_for_parts(long n, long grain, int per_thread, ohem_pool_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (want <= 1 || n < grain || inside) {
        fn(ctx, 0, n);
        return;
    }
    start_workers();
    long chunks = (long)want * (per_thread > 0 ? per_thread : 1);
    if (chunks > n) chunks = n;
    job_fn = fn;
    job_ctx = ctx;
    job_n = n;
    atomic_store_explicit(&done, 0, memory_order_relaxed);
    atomic_store_explicit(&ticket, (uint64_t)chunks << 32, memory_order_release);
    pthread_mutex_lock(&mu);
    atomic_fetch_add_explicit(&generation, 1, memory_order_release);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);
    inside = 1;
    run_chunks();
    inside = 0;
    for (int spins = 0; atomic_load_explicit(&done, memory_order_acquire) < chunks; spins++)
        if (spins < 2000) __builtin_ia32_pause();
        else sched_yield();
}

void *ohem_thread_buffer(void **buf, size_t *cap, size_t bytes, const char *what)
{
    if (bytes > *cap) {
        free(*buf);
        *buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
        if (!*buf) {
            fprintf(stderr, "error: out of memory for %s (%zu bytes)\n", what, bytes);
            exit(1);
        }
        *cap = bytes;
    }
    return *buf;
}
