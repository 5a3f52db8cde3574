/* import.h: `ohem import voc|coco`, data sets in other layouts written in Darknet's.
 *
 * A reader (import_voc.c, import_coco.c) fills an importer with images and boxes in
 * pixels; import_write puts the layout under OUTDIR:
 *   images/SUB/NAME          a symbolic link to the source image (or a copy)
 *   labels/SUB/STEM.txt      "class x y w h", normalised centre and size: the boxes
 *                            to train on (empty for an image without any)
 *   labels_difficult/SUB/STEM.txt   the boxes `detector map` ignores (VOC's
 *                            difficult, COCO's iscrowd), same format
 *   train.txt, valid.txt     absolute image paths, one a line
 *   difficult.txt            parallel to valid.txt: images_difficult/SUB/NAME, whose
 *                            label path (images -> labels) is labels_difficult/...;
 *                            only that label file is read, no image is there
 *   NAME.names, NAME.data    classes=, train=, valid=, names=, backup=, difficult=
 * SUB is the source's part (VOC2007, train, valid); libdarknet's loader finds the
 * labels of an image by replacing "images" with "labels" and the extension with
 * ".txt", which every written path is checked against. */
#ifndef OHEM_IMPORT_H
#define OHEM_IMPORT_H

#include <stddef.h>

/* A box in pixels, 0-based and continuous: the image spans [0, w] x [0, h]. */
typedef struct {
    int cls;
    double x0, y0, x1, y1;
    int ignore; /* difficult or crowd: not trained on, ignored by detector map */
} import_box;

typedef struct {
    char *src;  /* the source image, absolute */
    char *sub;  /* its part under images/ */
    char *name; /* its file name there */
    int w, h;   /* pixels, from the image's own header */
    import_box *boxes;
    int nboxes, cap;
} import_image;

typedef struct {
    import_image *images;
    int n, cap;
} import_list;

/* What was skipped or changed, counted per reason over both lists. */
enum { IMPORT_CLIPPED, IMPORT_EMPTY, IMPORT_SIZE, IMPORT_COPIED, IMPORT_NREASONS };

typedef struct {
    const char *out;       /* OUTDIR as given */
    const char *name;      /* stem of the .names and .data files: "voc", "coco" */
    int copy;              /* copy the images instead of linking them */
    int quiet;             /* no progress line */
    char **names;          /* the classes, in label order */
    int classes, cap;
    int fixed;             /* the class list is given: an unknown name is an error */
    import_list train, valid;
    int valid_is_train;    /* no validation part: valid.txt repeats train.txt */
    long count[IMPORT_NREASONS];
} importer;

void importer_init(importer *im, const char *out, const char *name);
void importer_free(importer *im);

/* The index of class name, adding it when the list is not fixed; -1 when the list
 * is fixed and has no such name. */
int import_class(importer *im, const char *name);

/* Reads a .names file as the fixed class list. -1 after an error naming the file. */
int import_read_names(importer *im, const char *path);

/* Sorts the classes by name (byte order) and renumbers every box. */
void import_sort_classes(importer *im);

/* Appends an image to list; its size comes from the image's header (stb), which
 * also proves it is there and readable. want_w/want_h, when > 0, are the size the
 * annotation states: a difference is counted and warned about, and the image's own
 * is used. where names the annotation ("a.xml", "x.json: image 42"). Returns the
 * image, or NULL after an error naming where and the image. */
import_image *import_add_image(importer *im, import_list *list, const char *src, const char *sub,
                               const char *name, int want_w, int want_h, const char *where);

/* Adds the box [x0, x1] x [y0, y1] (pixels, continuous, 0-based) to img: clipped to
 * the image (counted, warned about with where), skipped when less than a
 * millionth of the image's side remains in either direction (counted). Returns 0,
 * or -1 when memory runs out. */
int import_add_box(importer *im, import_image *img, int cls, double x0, double y0, double x1, double y1,
                   int ignore, const char *where);

/* Writes the layout under im->out and prints the summary, then the .data path
 * last. Returns 0, or -1 after an error naming the file. */
int import_write(importer *im);

/* Joins a and b with one '/' into out (capacity cap). -1 when it does not fit. */
int import_join(char *out, size_t cap, const char *a, const char *b);

/* The readers: argv after "ohem import voc" or "ohem import coco". Return an exit
 * status (0, CLI_BAD_INPUT, CLI_USAGE). */
int import_voc_main(int argc, char **argv);
int import_coco_main(int argc, char **argv);

/* `ohem import FORMAT ...`: dispatches on FORMAT. */
int import_main(int argc, char **argv);

#endif
