/* rng.c: rand() and srand() over two saved-and-restored streams (see rng.h). */
#include "rng.h"
#include "rcnn.h"

#include <pthread.h>
#include <stdlib.h>

static uint64_t main_stream = 1, loader_stream = 1 ^ 0x6A09E667F3BCC909ull;
static pthread_t main_thread;

/* The thread that runs main() is the one that runs the constructors. */
__attribute__((constructor)) static void rng_note_main_thread(void)
{
    main_thread = pthread_self();
}

static uint64_t *stream_of_caller(void)
{
    return pthread_equal(pthread_self(), main_thread) ? &main_stream : &loader_stream;
}

/* The C library's contract: a value in 0 .. RAND_MAX (2^31 - 1 with glibc). */
int rand(void)
{
    return (int)(rcnn_rand(stream_of_caller()) >> 33);
}

/* Seeds both streams, from any thread: the loader's with seed xor a constant, so
 * that the two do not draw the same numbers. */
void srand(unsigned seed)
{
    main_stream = seed;
    loader_stream = seed ^ 0x6A09E667F3BCC909ull;
}

uint64_t rng_main_state(void) { return main_stream; }
uint64_t rng_loader_state(void) { return loader_stream; }

void rng_set_states(uint64_t main_state, uint64_t loader_state)
{
    main_stream = main_state;
    loader_stream = loader_state;
}
