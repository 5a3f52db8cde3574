/* loader.c: load_data_detection, replacing libdarknet's (loader.h). */
#define _GNU_SOURCE
#include "loader.h"
#include "augment.h"
#include "cli.h"
#include "dn_internal.h"
#include "net_augment.h"
#include "yolo_layer.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static loader_options options = {0, 0, 0, 1};

void loader_set_options(const loader_options *o)
{
    options = *o;
}

int loader_is_alexeyab(const loader_options *o)
{
    return o->mosaic || o->letter_box || o->resize != 1;
}

loader_options loader_options_of(const network *net)
{
    net_augment a = ohem_net_augment(net);
    const layer *det = detector_layer(net);
    const yolo_options *yo = det ? yolo_layer_options(det) : NULL;
    return (loader_options){a.mosaic, a.mosaic_bound, a.letter_box, yo ? yo->resize : 1};
}

int loader_keeps_aspect(const loader_options *o)
{
    return !loader_is_alexeyab(o) || o->letter_box;
}

/* Uniform in [0, 1). */
static float uniform(void)
{
    return (float)(rand() / ((double)RAND_MAX + 1));
}

/* The boxes of one image after its augmentation. */
typedef struct {
    image im;          /* w x h x 3 */
    augment_crop crop; /* of the original, ow x oh */
    int ow, oh, flip;
    int n;             /* rows of truth: (x, y, w, h, class) */
} loaded;

/* Loads path, draws its augmentation (tile >= 0: a mosaic tile, whose crop is moved
 * to the image's corner half the time), and writes at most max boxes to truth. */
static loaded load_one(char *path, int w, int h, int classes, int max, float jitter, float hue, float saturation,
                       float exposure, int tile, float *truth)
{
    loaded r;
    image orig = load_image_color(path, 0, 0);
    r.ow = orig.w, r.oh = orig.h;
    augment_draw d;
    d.rs[0] = uniform(), d.rs[1] = uniform();
    for (int k = 0; k < 4; k++) d.r[k] = uniform();
    r.flip = rand() % 2;
    float dhue = hue * (2 * uniform() - 1), dsat = rand_scale(saturation), dexp = rand_scale(exposure);
    r.crop = augment_crop_of(orig.w, orig.h, w, h, jitter, options.resize, options.letter_box, &d);
    if (tile >= 0 && rand() % 2) augment_crop_to_corner(&r.crop, tile, r.flip);
    r.im = augment_crop_image(orig, r.crop, w, h, r.flip);
    distort_image(r.im, dhue, dsat, dexp);
    free_image(orig);

    char lab[4096];
    float *rows = NULL;
    int n = 0;
    label_path(path, lab, sizeof(lab));
    read_labels(lab, classes, &rows, &n);
    for (int i = n - 1; i > 0; i--) { /* the boxes past max differ from batch to batch */
        int j = rand() % (i + 1);
        float t[5];
        memcpy(t, rows + 5 * i, sizeof(t));
        memcpy(rows + 5 * i, rows + 5 * j, sizeof(t));
        memcpy(rows + 5 * j, t, sizeof(t));
    }
    r.n = augment_boxes(rows, n, r.ow, r.oh, r.crop, r.flip, w, h, max, truth);
    free(rows);
    return r;
}

/* AlexeyAB's load_data_detection: n images of the m paths, each cropped (jitter,
 * resize, letter_box), mirrored half the time and colour-distorted; with mosaic,
 * half the batches tile each image from 4 such crops around a cut point drawn in
 * the middle 60% of each side. */
static data load_alexeyab(int n, char **paths, int m, int w, int h, int boxes, int classes, float jitter, float hue,
                          float saturation, float exposure)
{
    data d = {0};
    d.X.rows = n;
    d.X.cols = w * h * 3;
    d.X.vals = calloc(n, sizeof(float *));
    d.y = make_matrix(n, 5 * boxes);
    int mosaic = options.mosaic && rand() % 2;
    int *cut = calloc(2 * (size_t)n, sizeof(int)), *count = calloc(n, sizeof(int));
    float *truth = malloc(5 * (size_t)boxes * sizeof(float));
    for (int i = 0; mosaic && i < n; i++) {
        int lo = (int)(w * 0.2f), hi = (int)(w * 0.8f);
        cut[2 * i] = lo + rand() % (hi - lo + 1);
        lo = (int)(h * 0.2f), hi = (int)(h * 0.8f);
        cut[2 * i + 1] = lo + rand() % (hi - lo + 1);
    }
    for (int t = 0; t < (mosaic ? 4 : 1); t++) {
        char **random_paths = get_random_paths(paths, n, m);
        for (int i = 0; i < n; i++) {
            loaded r = load_one(random_paths[i], w, h, classes, boxes, jitter, hue, saturation, exposure, mosaic ? t : -1, truth);
            if (!mosaic) {
                d.X.vals[i] = r.im.data;
                memcpy(d.y.vals[i], truth, 5 * (size_t)r.n * sizeof(float));
                continue;
            }
            if (t == 0) d.X.vals[i] = calloc((size_t)d.X.cols, sizeof(float));
            mosaic_tile tile = mosaic_tile_of(t, w, h, cut[2 * i], cut[2 * i + 1], r.crop, r.ow, r.oh, r.flip);
            mosaic_paste(d.X.vals[i], r.im.data, w, h, 3, &tile);
            mosaic_boxes(truth, r.n, &tile, w, h, options.mosaic_bound, d.y.vals[i], &count[i], boxes);
            free_image(r.im);
        }
        free(random_paths);
    }
    free(cut);
    free(count);
    free(truth);
    return d;
}

typedef data (*load_fn)(int, char **, int, int, int, int, int, float, float, float, float);

data load_data_detection(int n, char **paths, int m, int w, int h, int boxes, int classes, float jitter, float hue,
                         float saturation, float exposure)
{
    if (loader_is_alexeyab(&options))
        return load_alexeyab(n, paths, m, w, h, boxes, classes, jitter, hue, saturation, exposure);
    static load_fn darknet_load;
    if (!darknet_load) darknet_load = (load_fn)dlsym(RTLD_NEXT, "load_data_detection");
    if (!darknet_load) {
        fprintf(stderr, "error: libdarknet's load_data_detection is not found\n");
        exit(1);
    }
    return darknet_load(n, paths, m, w, h, boxes, classes, jitter, hue, saturation, exposure);
}
