/* prefetch.c: detection's images loaded ahead of the forward, on a thread of their
 * own. The items live in a ring of ahead + 1 slots: the one in use and those loaded
 * ahead; the thread waits for a free slot, the caller for a loaded one. */
#include "prefetch.h"
#include "cli.h"
#include "env.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct prefetch {
    prefetch_options o;
    int slots;          /* ring slots: ahead + 1, or 1 without a thread */
    prefetch_item *ring;
    int next;           /* the image prefetch_next hands out next */
    /* under lock when threaded: */
    int loaded;         /* images [0, loaded) are loaded */
    int freed;          /* images [0, freed) are freed: image j may go into its slot when j < freed + slots */
    int end;            /* nothing more is loaded: the last image, or one that failed, is */
    int stop;           /* prefetch_stop asks the thread to end */
    int threaded;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t ready, space;
};

/* Frees what an item holds and zeroes it. */
static void item_free(prefetch_item *it)
{
    free_image(it->sized);
    free_image(it->stretched);
    free_image(it->original);
    free(it->rows);
    free(it->ignore);
    free(it->errors);
    memset(it, 0, sizeof(*it));
}

/* Reads image j's label files into it (and the ignore list's entry, when there is
 * one, after its own read cleanly); what they print goes into it->errors. */
static void item_labels(const prefetch_options *o, int j, prefetch_item *it)
{
    char lab[4096];
    size_t len = 0;
    FILE *err = open_memstream(&it->errors, &len);
    /* without memory for the buffer the problems go to stderr straight away */
    FILE *to = err ? err : stderr;
    label_path(o->paths[j], lab, sizeof(lab));
    it->bad_labels = read_labels_from(to, lab, NULL, o->classes, &it->rows, &it->nrows);
    if (!it->bad_labels && o->ignore) {
        label_path(o->ignore[j], lab, sizeof(lab));
        it->bad_labels = read_labels_from(to, lab, NULL, o->classes, &it->ignore, &it->nignore);
    }
    if (!err) return;
    fclose(err);
    if (!len) {
        free(it->errors);
        it->errors = NULL;
    }
}

/* Loads image j into it (zeroed): decodes it, reads its labels, makes the network's
 * input (and the stretched one and the original, when o asks). Returns 1 when it failed (the image or its labels), else 0. */
static int item_load(const prefetch_options *o, int j, prefetch_item *it)
{
    image im = load_image_checked(o->paths[j], &it->ok);
    if (it->ok && o->classes > 0) item_labels(o, j, it);
    if (!it->ok || it->bad_labels) {
        free_image(im);
        return 1;
    }
    it->w = im.w;
    it->h = im.h;
    it->sized = detector_input(im, o->w, o->h, o->letter);
    if (o->letter && o->stretched) it->stretched = detector_input(im, o->w, o->h, 0);
    if (o->original) it->original = im;
    else free_image(im);
    return 0;
}

/* The loading thread: images in order into free slots, until the last, one that
 * failed, or prefetch_stop. */
static void *prefetch_thread(void *arg)
{
    prefetch *p = arg;
    for (int j = 0; j < p->o.n; j++) {
        pthread_mutex_lock(&p->lock);
        while (!p->stop && j >= p->freed + p->slots) pthread_cond_wait(&p->space, &p->lock);
        int stop = p->stop;
        pthread_mutex_unlock(&p->lock);
        if (stop) break;
        /* slot j % slots held image j - slots, which the caller has freed */
        int failed = item_load(&p->o, j, &p->ring[j % p->slots]);
        pthread_mutex_lock(&p->lock);
        p->loaded = j + 1;
        if (failed) p->end = 1;
        pthread_cond_signal(&p->ready);
        pthread_mutex_unlock(&p->lock);
        if (failed) break;
    }
    pthread_mutex_lock(&p->lock);
    p->end = 1;
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

prefetch *prefetch_start(const prefetch_options *o, int ahead)
{
    int off = 0;
    ohem_err e;
    if (ohem_env_prefetch(&off, &e) != 0 || off) ahead = 0; /* a bad value stopped the start-up already */
    prefetch *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->o = *o;
    p->slots = ahead > 0 ? ahead + 1 : 1;
    if (!(p->ring = calloc(p->slots, sizeof(*p->ring)))) {
        free(p);
        return NULL;
    }
    if (ahead > 0 && o->n > 1) {
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->ready, NULL);
        pthread_cond_init(&p->space, NULL);
        p->threaded = pthread_create(&p->thread, NULL, prefetch_thread, p) == 0;
        if (!p->threaded) {
            pthread_mutex_destroy(&p->lock);
            pthread_cond_destroy(&p->ready);
            pthread_cond_destroy(&p->space);
        }
    }
    return p;
}

const prefetch_item *prefetch_next(prefetch *p)
{
    if (p->next > 0) item_free(&p->ring[(p->next - 1) % p->slots]);
    if (!p->threaded) {
        p->freed = p->next;
        if (p->end || p->next >= p->o.n) return NULL;
        prefetch_item *it = &p->ring[0];
        p->end = item_load(&p->o, p->next, it);
        p->loaded = ++p->next;
        return it;
    }
    pthread_mutex_lock(&p->lock);
    p->freed = p->next;
    pthread_cond_signal(&p->space);
    while (p->loaded <= p->next && !p->end) pthread_cond_wait(&p->ready, &p->lock);
    int have = p->loaded > p->next;
    pthread_mutex_unlock(&p->lock);
    return have ? &p->ring[p->next++ % p->slots] : NULL;
}

void prefetch_stop(prefetch *p)
{
    if (!p) return;
    if (p->threaded) {
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_signal(&p->space);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->ready);
        pthread_cond_destroy(&p->space);
    }
    for (int s = 0; s < p->slots; s++) item_free(&p->ring[s]);
    free(p->ring);
    free(p);
}
