/* prefetch.h: the images of a list as detection takes them (decoded, letterboxed or
 * stretched to the network's input, with their label rows), loaded in list order on
 * a thread of their own a few images ahead of the forward that uses them, so that
 * the forward does not wait for the disk or the decoder. */
#ifndef OHEM_PREFETCH_H
#define OHEM_PREFETCH_H

#include "darknet.h"

/* The images loaded ahead of the one in use. */
#define PREFETCH_AHEAD 2

/* One image of the list. */
typedef struct {
    int ok;          /* 0: the image is missing or does not decode; nothing else is read */
    int bad_labels;  /* the problems of its label files; the ignore list's is not read after its own's */
    char *errors;    /* what reading the label files printed, for stderr when this image's
                        turn comes (so that it comes after the earlier images' output); NULL: nothing */
    int w, h;        /* the image's size */
    image sized;     /* the network's input: the image letterboxed or stretched to it */
    image stretched; /* with the option stretched and letterboxing: the image stretched to the
                        input as well (without letterboxing, sized is that) */
    image original;  /* with the option original: the decoded image */
    float *rows;     /* nrows label rows (class, x, y, w, h), when labels are read */
    int nrows;
    float *ignore;   /* nignore rows of the ignore list's entry, when there is one */
    int nignore;
} prefetch_item;

typedef struct {
    char **paths;    /* n image paths */
    int n;
    int w, h;        /* the network's input */
    int letter;      /* 1: letterboxed (aspect kept), 0: stretched */
    int classes;     /* > 0: each image's label file (label_path) is read, checked against classes */
    char **ignore;   /* NULL, or n image paths whose label files hold boxes to ignore (read with the labels) */
    int stretched;   /* 1: when letterboxed, also the image stretched to the input (ohem mine's loss) */
    int original;    /* 1: the decoded image is kept (ohem mine's contact sheet) */
} prefetch_options;

typedef struct prefetch prefetch;

/* Starts loading o's images in order: on a thread of their own, up to `ahead` images
 * ahead of the one in use; with ahead 0, OHEM_PREFETCH=off, or when the thread cannot
 * start, each in prefetch_next when its turn comes. o and what it points to must
 * outlive the prefetch. Returns NULL when memory runs out. */
prefetch *prefetch_start(const prefetch_options *o, int ahead);

/* The next image of the list, in order, waiting for it when it is not loaded yet;
 * NULL after the last one, or after one that failed (ok 0 or bad_labels: nothing is
 * loaded after it, and the caller reports it). The item is freed by the next call or
 * by prefetch_stop. */
const prefetch_item *prefetch_next(prefetch *p);

/* Stops loading: the thread finishes the image it is on and ends, and everything is
 * freed. prefetch_stop(NULL) is a no-op. */
void prefetch_stop(prefetch *p);

#endif
