/* dataset.c: `ohem dataset`, a deterministic detection data set built from
 * Fashion-MNIST (Debian's dataset-fashion-mnist) in Darknet's layout.
 *
 * A scene is drawn in a darknet image, (3, size, size) floats in [0,1]: a textured
 * background, then unlabelled distractors, then the labelled targets on top, so that
 * no later item hides a target. A random stream seeded from (seed, split, index)
 * drives each scene, so every file is a pure function of the options. */
#include "dataset.h"
#include "cli.h" /* exit statuses; darknet.h: image, make_image, save_image_options */
#include "files.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MNIST_SIDE 28
#define MNIST_PIXELS (MNIST_SIDE * MNIST_SIDE)
#define MNIST_LABELS 10
#define MAX_ITEMS 5
#define MASK_THRESH 0.1f     /* item intensity above which a pixel counts as visible */
#define TARGET_VISIBLE 0.9f  /* a target keeps at least this share of its mask inside */
#define PARTIAL_VISIBLE 0.5f /* a border-cut distractor shows at most this share */
#define TARGET_OVERLAP 0.2f  /* two targets share at most this much of the smaller box */
#define PLACE_TRIES 12
#define MAX_THREADS 16
#define PATH_CAP 4096
#define DARKNET_NAME_CAP 256 /* save_image_options formats "%s.png" into a char[256] */

static const char *const class_names[DATASET_CLASSES] = {"tshirt", "sneaker", "pullover"};
/* Fashion-MNIST label of each target class: T-shirt/top, Sneaker, Pullover. */
static const int target_label[DATASET_CLASSES] = {0, 7, 2};
/* Whole-item distractors: the look-alikes shirt, sandal, coat (twice as likely), then
 * dress, bag, ankle boot. */
static const int distractor_label[] = {6, 5, 4, 6, 5, 4, 3, 8, 9};
#define N_DISTRACTOR_LABELS ((int)(sizeof(distractor_label) / sizeof(distractor_label[0])))

/* One Fashion-MNIST split in memory. */
typedef struct {
    int n;                          /* images */
    unsigned char *pixels;          /* (n, 28, 28), 0..255 */
    int *by_label[MNIST_LABELS];    /* image indices of each label */
    int count[MNIST_LABELS];
} mnist_set;

/* An item to paste: a (28, 28) mask scaled to a side x side square at (x0, y0). */
typedef struct {
    float mask[MNIST_PIXELS]; /* (28, 28) intensity in [0,1], row-major */
    int x0, y0, side;         /* the square may stick out of the scene */
    int flip;                 /* mirrored left-right */
    float tint[3], opacity;
} item;

/* Pixel box [x0,x1) x [y0,y1); empty when x1 <= x0 or y1 <= y0. */
typedef struct {
    int x0, y0, x1, y1;
} pixbox;

/* A labelled target: its class and tight pixel box. */
typedef struct {
    int cls;
    pixbox b;
} target;

void dataset_options_default(dataset_options *o)
{
    memset(o, 0, sizeof(*o));
    o->train = 3000;
    o->valid = 500;
    o->size = 128;
    o->seed = 1;
    o->mnist_dir = DATASET_MNIST_DIR;
}

/* ---- random numbers: splitmix64 ---------------------------------------------- */

/* Advances the state by the golden gamma and returns the mixed 64-bit output. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform float in [0,1) with 24 random bits. */
static float rng_unit(uint64_t *s)
{
    return (float)(rng_next(s) >> 40) * (1.0f / 16777216.0f);
}

/* Uniform float in [lo,hi). */
static float rng_range(uint64_t *s, float lo, float hi)
{
    return lo + (hi - lo) * rng_unit(s);
}

/* Uniform integer in 0..n-1, n >= 1. */
static int rng_below(uint64_t *s, int n)
{
    return (int)((rng_next(s) >> 32) % (uint64_t)n);
}

/* The state of scene `index` of split `split` (0 train, 1 valid): a hash of all three,
 * so that scenes do not depend on each other. */
static uint64_t scene_state(unsigned seed, int split, int index)
{
    uint64_t s = seed;
    s = rng_next(&s) ^ ((uint64_t)split << 32 | (uint32_t)index);
    rng_next(&s);
    return s;
}

/* ---- Fashion-MNIST IDX files ------------------------------------------------- */

/* Reads exactly len bytes of f into buf; -1 after an error naming path. */
static int gz_read_all(gzFile f, const char *path, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len) {
        unsigned chunk = len > (1u << 30) ? 1u << 30 : (unsigned)len;
        int got = gzread(f, p, chunk);
        if (got < 0) {
            int code;
            const char *msg = gzerror(f, &code);
            fprintf(stderr, "error: %s: cannot read: %s\n", path, code == Z_ERRNO ? strerror(errno) : msg);
            return -1;
        }
        if (got == 0) {
            fprintf(stderr, "error: %s: the file is truncated (hint: reinstall dataset-fashion-mnist)\n", path);
            return -1;
        }
        p += got;
        len -= (size_t)got;
    }
    return 0;
}

/* Opens a gzip'd IDX file of unsigned bytes with ndim dimensions: checks the magic
 * 0x0800 | ndim and reads the big-endian sizes into dims. NULL after an error. */
static gzFile idx_open(const char *path, int ndim, uint32_t *dims)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "error: %s: cannot open: %s (hint: apt-get install dataset-fashion-mnist)\n", path,
                errno ? strerror(errno) : "out of memory");
        return NULL;
    }
    unsigned char head[4 + 4 * 3];
    if (gz_read_all(f, path, head, 4 + 4 * (size_t)ndim)) {
        gzclose(f);
        return NULL;
    }
    uint32_t magic = (uint32_t)head[0] << 24 | head[1] << 16 | head[2] << 8 | head[3];
    if (magic != (0x800u | (uint32_t)ndim)) {
        fprintf(stderr, "error: %s: bad IDX magic 0x%08x, expected 0x%08x (unsigned bytes, %d dimensions)\n",
                path, magic, 0x800u | (uint32_t)ndim, ndim);
        gzclose(f);
        return NULL;
    }
    for (int d = 0; d < ndim; d++) {
        const unsigned char *b = head + 4 + 4 * d;
        dims[d] = (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
    }
    return f;
}

/* Checks that f has nothing left after its data, then closes it. -1 after an error. */
static int idx_close(gzFile f, const char *path)
{
    unsigned char extra;
    int got = gzread(f, &extra, 1);
    int rc = gzclose(f);
    if (got != 0 || rc != Z_OK) {
        fprintf(stderr, "error: %s: %s\n", path, got > 0 ? "unexpected data after the last item" : "read error");
        return -1;
    }
    return 0;
}

/* Reads the images of dir/PREFIX-images-idx3-ubyte.gz: (n, 28, 28) bytes. */
static int mnist_read_images(const char *dir, const char *prefix, mnist_set *set)
{
    char path[PATH_CAP];
    uint32_t dims[3];
    snprintf(path, sizeof(path), "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    gzFile f = idx_open(path, 3, dims);
    if (!f) return -1;
    if (dims[0] < 1 || dims[0] > 10000000 || dims[1] != MNIST_SIDE || dims[2] != MNIST_SIDE) {
        fprintf(stderr, "error: %s: %u images of %ux%u, expected 28x28\n", path, dims[0], dims[1], dims[2]);
        gzclose(f);
        return -1;
    }
    set->n = (int)dims[0];
    set->pixels = malloc((size_t)set->n * MNIST_PIXELS);
    if (!set->pixels) {
        fprintf(stderr, "error: %s: out of memory for %d images\n", path, set->n);
        gzclose(f);
        return -1;
    }
    if (gz_read_all(f, path, set->pixels, (size_t)set->n * MNIST_PIXELS)) {
        gzclose(f);
        return -1;
    }
    return idx_close(f, path);
}

/* Fills set->by_label and set->count from labels (set->n of them, read from path);
 * -1 after an error naming path (a label outside 0..9, no memory). */
static int mnist_index(mnist_set *set, const unsigned char *labels, const char *path)
{
    for (int i = 0; i < set->n; i++) {
        if (labels[i] >= MNIST_LABELS) {
            fprintf(stderr, "error: %s: label %d of image %d is not in 0..9\n", path, labels[i], i);
            return -1;
        }
        set->count[labels[i]]++;
    }
    for (int k = 0; k < MNIST_LABELS; k++) {
        set->by_label[k] = malloc(((size_t)set->count[k] + 1) * sizeof(int));
        if (!set->by_label[k]) {
            fprintf(stderr, "error: %s: out of memory\n", path);
            return -1;
        }
        set->count[k] = 0;
    }
    for (int i = 0; i < set->n; i++) set->by_label[labels[i]][set->count[labels[i]]++] = i;
    return 0;
}

/* Reads dir/PREFIX-labels-idx1-ubyte.gz (as many labels as images, each in 0..9)
 * and indexes the images by label. */
static int mnist_read_labels(const char *dir, const char *prefix, mnist_set *set)
{
    char path[PATH_CAP];
    uint32_t n;
    snprintf(path, sizeof(path), "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    gzFile f = idx_open(path, 1, &n);
    if (!f) return -1;
    unsigned char *labels = n == (uint32_t)set->n ? malloc(n) : NULL;
    if (!labels) {
        if (n == (uint32_t)set->n)
            fprintf(stderr, "error: %s: out of memory\n", path);
        else
            fprintf(stderr, "error: %s: %u labels for %d images\n", path, n, set->n);
        gzclose(f);
        return -1;
    }
    int rc = gz_read_all(f, path, labels, n);
    rc = rc ? (gzclose(f), -1) : idx_close(f, path);
    if (rc == 0) rc = mnist_index(set, labels, path);
    free(labels);
    return rc;
}

/* Frees a set; a zeroed set is fine. */
static void mnist_free(mnist_set *set)
{
    free(set->pixels);
    for (int k = 0; k < MNIST_LABELS; k++) free(set->by_label[k]);
    memset(set, 0, sizeof(*set));
}

/* Loads split PREFIX ("train" or "t10k") of dir; checks that every label the scenes
 * draw from has images. -1 after an error naming the file. */
static int mnist_load(const char *dir, const char *prefix, mnist_set *set)
{
    memset(set, 0, sizeof(*set));
    if (mnist_read_images(dir, prefix, set) || mnist_read_labels(dir, prefix, set)) {
        mnist_free(set);
        return -1;
    }
    for (int k = 0; k < MNIST_LABELS; k++) {
        if (k != 1 && set->count[k] == 0) { /* label 1 (trouser) only appears cropped */
            fprintf(stderr, "error: %s/%s-labels-idx1-ubyte.gz: no image has label %d\n", dir, prefix, k);
            mnist_free(set);
            return -1;
        }
    }
    return 0;
}

/* ---- items: masks, placement, blending --------------------------------------- */

/* Mask value at integer (u, v) of a (28, 28) mask; 0 outside. */
static float mask_px(const float *m, int u, int v)
{
    return u < 0 || v < 0 || u >= MNIST_SIDE || v >= MNIST_SIDE ? 0 : m[v * MNIST_SIDE + u];
}

/* Item intensity at scene pixel (px, py): bilinear in its mask, 0 outside the square. */
static float item_at(const item *it, int px, int py)
{
    float scale = (float)MNIST_SIDE / (float)it->side;
    float u = ((float)(px - it->x0) + 0.5f) * scale - 0.5f;
    float v = ((float)(py - it->y0) + 0.5f) * scale - 0.5f;
    if (it->flip) u = (float)(MNIST_SIDE - 1) - u;
    int iu = (int)floorf(u), iv = (int)floorf(v);
    float fu = u - (float)iu, fv = v - (float)iv;
    return (1 - fv) * ((1 - fu) * mask_px(it->mask, iu, iv) + fu * mask_px(it->mask, iu + 1, iv)) +
           fv * ((1 - fu) * mask_px(it->mask, iu, iv + 1) + fu * mask_px(it->mask, iu + 1, iv + 1));
}

/* Share of the item's mask mass inside the (size, size) scene; *b gets the tight box
 * of its pixels above MASK_THRESH inside the scene (empty when there are none). */
static float item_footprint(const item *it, int size, pixbox *b)
{
    float total = 0, inside = 0;
    *b = (pixbox){size, size, 0, 0};
    for (int py = it->y0; py < it->y0 + it->side; py++) {
        for (int px = it->x0; px < it->x0 + it->side; px++) {
            float m = item_at(it, px, py);
            total += m;
            if (px < 0 || py < 0 || px >= size || py >= size) continue;
            inside += m;
            if (m <= MASK_THRESH) continue;
            if (px < b->x0) b->x0 = px;
            if (py < b->y0) b->y0 = py;
            if (px >= b->x1) b->x1 = px + 1;
            if (py >= b->y1) b->y1 = py + 1;
        }
    }
    return total > 0 ? inside / total : 0;
}

/* The part of the item's square inside the (size, size) scene. */
static pixbox item_clip(const item *it, int size)
{
    pixbox c = {it->x0, it->y0, it->x0 + it->side, it->y0 + it->side};
    if (c.x0 < 0) c.x0 = 0;
    if (c.y0 < 0) c.y0 = 0;
    if (c.x1 > size) c.x1 = size;
    if (c.y1 > size) c.y1 = size;
    return c;
}

/* Distance (RGB, squared) from colour col to the nearest of 16 pixels of im
 * (3, size, size) sampled on a 4x4 grid over the item's visible square. */
static float nearest_sample(image im, const item *it, const float *col)
{
    pixbox c = item_clip(it, im.w);
    float best = 3;
    for (int gy = 0; gy < 4 && c.x1 > c.x0 && c.y1 > c.y0; gy++) {
        for (int gx = 0; gx < 4; gx++) {
            int x = c.x0 + (2 * gx + 1) * (c.x1 - c.x0) / 8, y = c.y0 + (2 * gy + 1) * (c.y1 - c.y0) / 8;
            float d = 0;
            for (int ch = 0; ch < 3; ch++) {
                float e = col[ch] - im.data[(ch * im.h + y) * im.w + x];
                d += e * e;
            }
            if (d < best) best = d;
        }
    }
    return best;
}

/* Picks it->tint, a random colour at least 0.3 (RGB distance) from every pixel
 * sampled under the item (else the best of 8 tries), and it->opacity. */
static void item_pick_colour(image im, item *it, uint64_t *r)
{
    float best = -1;
    for (int t = 0; t < 8 && best < 0.3f * 0.3f; t++) {
        float col[3] = {rng_unit(r), rng_unit(r), rng_unit(r)};
        float d = nearest_sample(im, it, col);
        if (d > best) {
            best = d;
            memcpy(it->tint, col, sizeof(col));
        }
    }
    it->opacity = rng_range(r, 0.8f, 1.0f);
}

/* Alpha-blends the item into im (3, size, size): a = opacity * intensity,
 * pixel = (1 - a) pixel + a tint. */
static void item_blend(image im, const item *it)
{
    pixbox c = item_clip(it, im.w);
    for (int y = c.y0; y < c.y1; y++) {
        for (int x = c.x0; x < c.x1; x++) {
            float a = it->opacity * item_at(it, x, y);
            for (int ch = 0; ch < 3; ch++) {
                float *p = &im.data[(ch * im.h + y) * im.w + x];
                *p = (1 - a) * *p + a * it->tint[ch];
            }
        }
    }
}

/* Sets a random side (size/8 .. 3 size/8, 16..48 at 128) and flip; the mask and the
 * position are left to the caller. */
static void item_random_shape(item *it, int size, uint64_t *r)
{
    it->side = (int)lroundf((float)size * rng_range(r, 0.125f, 0.375f));
    if (it->side < 4) it->side = 4;
    it->flip = rng_below(r, 2);
}

/* Fills it->mask from a random image of Fashion-MNIST label `label`, brightened so
 * that the mean intensity of its garment pixels is at least 0.7 (dark garments would
 * be nearly transparent otherwise), and sets a random shape; the position is left to
 * the caller. */
static void item_from_mnist(item *it, const mnist_set *set, int label, int size, uint64_t *r)
{
    int idx = set->by_label[label][rng_below(r, set->count[label])];
    const unsigned char *px = set->pixels + (size_t)idx * MNIST_PIXELS;
    int sum = 0, count = 0;
    for (int i = 0; i < MNIST_PIXELS; i++) {
        sum += px[i] > 25 ? px[i] : 0;
        count += px[i] > 25;
    }
    float body = count ? (float)sum / (255.0f * (float)count) : 1; /* mean garment intensity */
    float gain = body < 0.7f ? 0.7f / body : 1;
    for (int i = 0; i < MNIST_PIXELS; i++) {
        float m = (float)px[i] * gain * (1.0f / 255.0f);
        it->mask[i] = m < 1 ? m : 1;
    }
    item_random_shape(it, size, r);
}

/* Places the square at random, sticking out by at most side/8 on each edge. */
static void item_place_inside(item *it, int size, uint64_t *r)
{
    int margin = it->side / 8, span = size - it->side + 2 * margin;
    it->x0 = rng_below(r, span > 0 ? span + 1 : 1) - margin;
    it->y0 = rng_below(r, span > 0 ? span + 1 : 1) - margin;
}

/* Zeroes one half of the mask (left, right, top or bottom; cut at 14 +- 3). */
static void mask_crop_half(float *mask, uint64_t *r)
{
    int which = rng_below(r, 4), cut = 11 + rng_below(r, 7);
    for (int v = 0; v < MNIST_SIDE; v++) {
        for (int u = 0; u < MNIST_SIDE; u++) {
            int k = which < 2 ? u : v;
            if ((which % 2 == 0) == (k < cut)) mask[v * MNIST_SIDE + u] = 0;
        }
    }
}

/* Fills mask (28, 28) with a soft blob: value noise on a 6x6 grid times the radial
 * falloff of a random ellipse. */
static void mask_blob(float *mask, uint64_t *r)
{
    float grid[6 * 6], rx = rng_range(r, 6, 13), ry = rng_range(r, 6, 13);
    for (int i = 0; i < 36; i++) grid[i] = rng_unit(r);
    for (int v = 0; v < MNIST_SIDE; v++) {
        for (int u = 0; u < MNIST_SIDE; u++) {
            float gu = (float)u * 5.0f / 27.0f, gv = (float)v * 5.0f / 27.0f;
            int iu = gu < 4 ? (int)gu : 4, iv = gv < 4 ? (int)gv : 4;
            float fu = gu - (float)iu, fv = gv - (float)iv;
            float n = (1 - fv) * ((1 - fu) * grid[iv * 6 + iu] + fu * grid[iv * 6 + iu + 1]) +
                      fv * ((1 - fu) * grid[(iv + 1) * 6 + iu] + fu * grid[(iv + 1) * 6 + iu + 1]);
            float du = ((float)u - 13.5f) / rx, dv = ((float)v - 13.5f) / ry;
            float m = 2.0f * (0.3f + 0.7f * n) * (1 - du * du - dv * dv);
            mask[v * MNIST_SIDE + u] = m < 0 ? 0 : m > 1 ? 1 : m;
        }
    }
}

/* ---- scenes -------------------------------------------------------------------- */

/* Texture value in [0,1] at (x, y) of a (size, size) scene. kind 0 linear gradient,
 * 1 stripes, 2 rings, 3 value noise on a (cells+1)^2 grid; p holds the direction
 * (p[0], p[1]), angular frequency p[2], phase p[3] and ring centre (p[4], p[5]). */
static float texture_at(int kind, const float *p, const float *grid, int cells, int size, int x, int y)
{
    float fx = (float)x, fy = (float)y, half = 0.5f * (float)size;
    if (kind == 0) return 0.5f + ((fx - half) * p[0] + (fy - half) * p[1]) / (float)size;
    if (kind == 1) return 0.5f + 0.5f * sinf(p[2] * (fx * p[0] + fy * p[1]) + p[3]);
    if (kind == 2) return 0.5f + 0.5f * sinf(p[2] * hypotf(fx - p[4], fy - p[5]) + p[3]);
    float gx = fx * (float)cells / (float)size, gy = fy * (float)cells / (float)size;
    int ix = (int)gx, iy = (int)gy, w = cells + 1;
    float ux = gx - (float)ix, uy = gy - (float)iy;
    ux = ux * ux * (3 - 2 * ux);
    uy = uy * uy * (3 - 2 * uy);
    return (1 - uy) * ((1 - ux) * grid[iy * w + ix] + ux * grid[iy * w + ix + 1]) +
           uy * ((1 - ux) * grid[(iy + 1) * w + ix] + ux * grid[(iy + 1) * w + ix + 1]);
}

/* Fills im (3, size, size) with a random texture between two random colours of
 * random contrast; one scene in four gets per-pixel grain too (grain makes the PNG
 * encoder of libdarknet about three times slower and the files three times larger). */
static void draw_background(image im, uint64_t *r)
{
    float c0[3], c1[3], p[6], grid[8 * 8];
    float contrast = rng_range(r, 0.15f, 1.0f), grain = rng_range(r, 0.01f, 0.06f);
    if (rng_below(r, 4)) grain = 0;
    for (int ch = 0; ch < 3; ch++) {
        c0[ch] = rng_unit(r);
        c1[ch] = c0[ch] + contrast * (rng_unit(r) - c0[ch]);
    }
    int kind = rng_below(r, 4), cells = 2 + rng_below(r, 6), size = im.w;
    float angle = rng_range(r, 0, 6.2831853f);
    p[0] = cosf(angle);
    p[1] = sinf(angle);
    p[2] = rng_range(r, 2, 12) * 6.2831853f / (float)size;
    p[3] = rng_range(r, 0, 6.2831853f);
    p[4] = rng_unit(r) * (float)size;
    p[5] = rng_unit(r) * (float)size;
    for (int i = 0; i < 64; i++) grid[i] = rng_unit(r);
    for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
            float t = texture_at(kind, p, grid, cells, size, x, y);
            for (int ch = 0; ch < 3; ch++) {
                float v = c0[ch] + (c1[ch] - c0[ch]) * t;
                if (grain > 0) v += grain * (2 * rng_unit(r) - 1);
                im.data[(ch * size + y) * size + x] = v < 0 ? 0 : v > 1 ? 1 : v;
            }
        }
    }
}

/* Positions a partial item: cut off at a random border so that 5%..50% of its mask
 * shows, else (after a few tries) cropped to a half and placed inside. */
static void place_partial(item *it, int size, uint64_t *r)
{
    pixbox b;
    for (int t = 0; t < 4; t++) {
        int edge = rng_below(r, 4), along = rng_below(r, size > it->side ? size - it->side + 1 : 1);
        int shown = (int)((float)it->side * rng_range(r, 0.25f, 0.55f));
        int across = edge % 2 ? size - shown : shown - it->side;
        it->x0 = edge < 2 ? across : along;
        it->y0 = edge < 2 ? along : across;
        float vis = item_footprint(it, size, &b);
        if (vis >= 0.05f && vis <= PARTIAL_VISIBLE) return;
    }
    mask_crop_half(it->mask, r);
    item_place_inside(it, size, r);
}

/* Pastes one unlabelled distractor into im (3, size, size): a look-alike or other
 * item (60%), a partial item of any label (20%), or a noise blob (20%). */
static void paste_distractor(image im, const mnist_set *set, uint64_t *r)
{
    item it;
    float u = rng_unit(r);
    if (u < 0.6f) {
        item_from_mnist(&it, set, distractor_label[rng_below(r, N_DISTRACTOR_LABELS)], im.w, r);
        item_place_inside(&it, im.w, r);
    } else if (u < 0.8f) {
        int label;
        do label = rng_below(r, MNIST_LABELS);
        while (set->count[label] == 0);
        item_from_mnist(&it, set, label, im.w, r);
        place_partial(&it, im.w, r);
    } else {
        item_random_shape(&it, im.w, r);
        mask_blob(it.mask, r);
        item_place_inside(&it, im.w, r);
    }
    item_pick_colour(im, &it, r);
    item_blend(im, &it);
}

/* Area of the intersection of two pixel boxes. */
static int pixbox_overlap(pixbox a, pixbox b)
{
    int w = (a.x1 < b.x1 ? a.x1 : b.x1) - (a.x0 > b.x0 ? a.x0 : b.x0);
    int h = (a.y1 < b.y1 ? a.y1 : b.y1) - (a.y0 > b.y0 ? a.y0 : b.y0);
    return w > 0 && h > 0 ? w * h : 0;
}

/* Whether box b is a usable target next to the n earlier ones in t: at least 2x2
 * pixels and sharing at most TARGET_OVERLAP of the smaller box with each. */
static int target_fits(pixbox b, const target *t, int n)
{
    if (b.x1 - b.x0 < 2 || b.y1 - b.y0 < 2) return 0;
    int area = (b.x1 - b.x0) * (b.y1 - b.y0);
    for (int i = 0; i < n; i++) {
        int other = (t[i].b.x1 - t[i].b.x0) * (t[i].b.y1 - t[i].b.y0);
        float smaller = (float)(area < other ? area : other);
        if ((float)pixbox_overlap(b, t[i].b) > TARGET_OVERLAP * smaller) return 0;
    }
    return 1;
}

/* Pastes a target of class cls into im (3, size, size) where it stays mostly visible
 * and apart from the n earlier targets t; appends it to t. Returns the new count
 * (unchanged when no placement fits in PLACE_TRIES tries). */
static int paste_target(image im, const mnist_set *set, int cls, target *t, int n, uint64_t *r)
{
    item it;
    pixbox b;
    item_from_mnist(&it, set, target_label[cls], im.w, r);
    for (int tries = 0; tries < PLACE_TRIES; tries++) {
        item_place_inside(&it, im.w, r);
        if (item_footprint(&it, im.w, &b) < TARGET_VISIBLE || !target_fits(b, t, n)) continue;
        item_pick_colour(im, &it, r);
        item_blend(im, &it);
        t[n] = (target){cls, b};
        return n + 1;
    }
    return n;
}

/* Draws one scene into im (3, size, size): background, 1..5 items, each a target
 * with probability 1/2; distractors first, targets on top. Returns the number of
 * targets written to t (at most MAX_ITEMS). */
static int render_scene(image im, const mnist_set *set, uint64_t *r, target *t)
{
    draw_background(im, r);
    int items = 1 + rng_below(r, MAX_ITEMS), n_targets = 0, classes[MAX_ITEMS];
    for (int i = 0; i < items; i++) {
        if (rng_below(r, 2))
            classes[n_targets++] = rng_below(r, DATASET_CLASSES);
        else
            paste_distractor(im, set, r);
    }
    int n = 0;
    for (int i = 0; i < n_targets; i++) n = paste_target(im, set, classes[i], t, n, r);
    return n;
}

/* ---- files ----------------------------------------------------------------------- */

/* Whether path ends with a PNG IEND chunk, i.e. was written to the end. */
static int png_complete(const char *path)
{
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    unsigned char tail[12];
    FILE *f = fopen(path, "rb");
    int ok = f && fseek(f, -12, SEEK_END) == 0 && fread(tail, 1, 12, f) == 12 && !memcmp(tail, iend, 12);
    if (f) fclose(f);
    return ok;
}

/* Writes im (3, size, size, values in [0,1]) to path, which ends in ".png", through
 * libdarknet's save_image_options and a temporary name. -1 after an error. */
static int save_png(image im, const char *path)
{
    char stem[PATH_CAP], tmp[PATH_CAP];
    int len = (int)strlen(path) - 4; /* without ".png" */
    snprintf(stem, sizeof(stem), "%.*s.tmp", len, path);
    snprintf(tmp, sizeof(tmp), "%.*s.tmp.png", len, path);
    remove(tmp);
    save_image_options(im, stem, PNG, 0);
    if (!png_complete(tmp)) {
        fprintf(stderr, "error: %s: libdarknet could not write the image\n", tmp);
        remove(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "error: %s: cannot rename to %s: %s\n", tmp, path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* Writes the targets as Darknet labels ("class x y w h", normalised centre and size,
 * 6 decimals) for a (size, size) scene to path. -1 after an error. */
static int save_labels(const char *path, const target *t, int n, int size)
{
    char tmp[PATH_CAP];
    FILE *f = files_tmp_open(path, tmp);
    if (!f) return -1;
    double s = size;
    for (int i = 0; i < n; i++) {
        const pixbox *b = &t[i].b;
        fprintf(f, "%d %.6f %.6f %.6f %.6f\n", t[i].cls, (b->x0 + b->x1) / (2 * s), (b->y0 + b->y1) / (2 * s),
                (b->x1 - b->x0) / s, (b->y1 - b->y0) / s);
    }
    return files_tmp_commit(f, tmp, path);
}

/* One split being generated by a few threads; scenes are independent, so the
 * files do not depend on the number of threads or on their timing. */
typedef struct {
    const dataset_options *o;
    const char *out, *name; /* output directory; "train" or "valid" */
    int id, n;              /* split id (0 train, 1 valid) for the seed; scenes */
    const mnist_set *set;
    pthread_mutex_t lock;   /* guards next, done, failed and the progress line */
    int next, done, failed;
} split_job;

/* Renders scene i of the job into im (3, size, size) and writes its image and
 * labels. -1 after an error. */
static int write_scene(const split_job *j, int i, image im)
{
    char png[PATH_CAP], txt[PATH_CAP];
    target t[MAX_ITEMS];
    uint64_t r = scene_state(j->o->seed, j->id, i);
    int nt = render_scene(im, j->set, &r, t);
    snprintf(png, sizeof(png), "%s/images/%s_%05d.png", j->out, j->name, i);
    snprintf(txt, sizeof(txt), "%s/labels/%s_%05d.txt", j->out, j->name, i);
    return save_png(im, png) || save_labels(txt, t, nt, j->o->size) ? -1 : 0;
}

/* Worker thread: takes the next scene until none is left or one has failed;
 * counts done scenes and shows progress every 100. */
static void *split_worker(void *arg)
{
    split_job *j = arg;
    image im = make_image(j->o->size, j->o->size, 3);
    for (;;) {
        pthread_mutex_lock(&j->lock);
        int i = j->failed ? j->n : j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->n) break;
        int bad = write_scene(j, i, im);
        pthread_mutex_lock(&j->lock);
        j->failed |= bad;
        j->done += !bad;
        if (!bad && !j->o->quiet && (j->done % 100 == 0 || j->done == j->n))
            fprintf(stderr, "\r%s: %d/%d", j->name, j->done, j->n);
        pthread_mutex_unlock(&j->lock);
    }
    free_image(im);
    return NULL;
}

/* Runs split_worker on one thread per online CPU (at most MAX_THREADS, at least 1).
 * Returns the job's failed flag, or -1 when no thread could start. */
static int run_workers(split_job *j)
{
    pthread_t tid[MAX_THREADS];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int want = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus, started = 0;
    if (want > j->n) want = j->n;
    while (started < want && pthread_create(&tid[started], NULL, split_worker, j) == 0) started++;
    if (started == 0) split_worker(j); /* no thread: do the work here */
    for (int k = 0; k < started; k++) pthread_join(tid[k], NULL);
    if (!j->o->quiet && j->done) fprintf(stderr, "\n");
    return j->failed ? -1 : 0;
}

/* Generates split `name` (id 0 train, 1 valid): n scenes from set into out/images
 * and out/labels, then their list out/NAME.txt. -1 after an error. */
static int write_split(const dataset_options *o, const char *out, int id, const char *name, int n,
                       const mnist_set *set)
{
    split_job j = {.o = o, .out = out, .name = name, .id = id, .n = n, .set = set};
    pthread_mutex_init(&j.lock, NULL);
    int rc = run_workers(&j);
    pthread_mutex_destroy(&j.lock);
    if (rc) return -1;
    char list[PATH_CAP], tmp[PATH_CAP];
    snprintf(list, sizeof(list), "%s/%s.txt", out, name);
    FILE *f = files_tmp_open(list, tmp);
    if (!f) return -1;
    for (int i = 0; i < n; i++) fprintf(f, "%s/images/%s_%05d.png\n", out, name, i);
    return files_tmp_commit(f, tmp, list);
}

/* Writes out/fashion.names (one class a line) and out/fashion.data. -1 after an error. */
static int write_meta(const char *out)
{
    char path[PATH_CAP], tmp[PATH_CAP];
    snprintf(path, sizeof(path), "%s/fashion.names", out);
    FILE *f = files_tmp_open(path, tmp);
    if (!f) return -1;
    for (int k = 0; k < DATASET_CLASSES; k++) fprintf(f, "%s\n", class_names[k]);
    if (files_tmp_commit(f, tmp, path)) return -1;
    snprintf(path, sizeof(path), "%s/fashion.data", out);
    if (!(f = files_tmp_open(path, tmp))) return -1;
    fprintf(f, "classes=%d\ntrain=%s/train.txt\nvalid=%s/valid.txt\nnames=%s/fashion.names\nbackup=%s/backup/\n",
            DATASET_CLASSES, out, out, out, out);
    return files_tmp_commit(f, tmp, path);
}

/* Checks that libdarknet's loader finds out/labels/X.txt for out/images/X.png: it
 * replaces the first "images", "JPEGImages", "raw", ".png", ... in the whole path,
 * so a directory named like that would send it elsewhere. -1 after an error. */
static int check_label_mapping(const char *out)
{
    static const char *const rules[][2] = {{"images", "labels"}, {"JPEGImages", "labels"}, {"raw", "labels"},
                                           {".jpg", ".txt"},     {".png", ".txt"},         {".JPG", ".txt"},
                                           {".JPEG", ".txt"}};
    char path[2][PATH_CAP], want[PATH_CAP], from[32], to[32];
    int cur = 0;
    snprintf(path[0], PATH_CAP, "%s/images/train_00000.png", out);
    snprintf(want, sizeof(want), "%s/labels/train_00000.txt", out);
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++, cur = !cur) {
        snprintf(from, sizeof(from), "%s", rules[i][0]);
        snprintf(to, sizeof(to), "%s", rules[i][1]);
        find_replace(path[cur], from, to, path[!cur]);
    }
    const char *got = path[cur];
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "error: %s: Darknet would look for the labels of %s/images/train_00000.png in %s "
                "(hint: use an output directory whose path has no 'images', 'raw' or '.png' in it)\n",
                out, out, got);
        return -1;
    }
    return 0;
}

/* Checks the options and copies out_dir without trailing slashes into out
 * (capacity DARKNET_NAME_CAP). -1 after an error. */
static int check_options(const dataset_options *o, char *out)
{
    if (!o->out_dir || !*o->out_dir || !o->mnist_dir || !*o->mnist_dir) {
        fprintf(stderr, "error: dataset: the output and Fashion-MNIST directories must be named\n");
        return -1;
    }
    if (o->train < 1 || o->train > 1000000 || o->valid < 1 || o->valid > 1000000 || o->size < 32 || o->size > 2048) {
        fprintf(stderr, "error: dataset: train %d, valid %d, size %d: expected 1..1000000 scenes of 32..2048 pixels\n",
                o->train, o->valid, o->size);
        return -1;
    }
    size_t len = strlen(o->out_dir);
    while (len > 1 && o->out_dir[len - 1] == '/') len--;
    /* Longest name handed to save_image_options: OUT/images/valid_NNNNNNN.tmp + ".png". */
    if (len + strlen("/images/valid_1000000.tmp.png") >= DARKNET_NAME_CAP) {
        fprintf(stderr, "error: %s: the output path is too long: libdarknet writes images only under %d characters\n",
                o->out_dir, DARKNET_NAME_CAP - 1);
        return -1;
    }
    snprintf(out, DARKNET_NAME_CAP, "%.*s", (int)len, o->out_dir);
    return check_label_mapping(out);
}

/* Creates out and its images, labels and backup directories. -1 after an error. */
static int make_layout(const char *out)
{
    static const char *const subdirs[] = {"images", "labels", "backup"};
    char path[PATH_CAP];
    if (files_make_dirs(out)) return -1;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", out, subdirs[i]);
        if (files_make_dirs(path)) return -1;
    }
    return 0;
}

int dataset_generate(const dataset_options *o)
{
    char out[DARKNET_NAME_CAP];
    if (check_options(o, out)) return -1;
    mnist_set train, valid;
    if (mnist_load(o->mnist_dir, "train", &train)) return -1;
    if (mnist_load(o->mnist_dir, "t10k", &valid) || make_layout(out)) {
        mnist_free(&train);
        mnist_free(&valid);
        return -1;
    }
    int rc = write_split(o, out, 0, "train", o->train, &train);
    if (rc == 0) rc = write_split(o, out, 1, "valid", o->valid, &valid);
    if (rc == 0) rc = write_meta(out);
    mnist_free(&train);
    mnist_free(&valid);
    return rc;
}

/* ---- command line --------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: ./darknet ohem dataset OUTDIR [-train N] [-valid N] [-size S] [-seed N] [-quiet]\n"
                    "  writes a Fashion-MNIST detection set (3 classes) in Darknet's layout under OUTDIR;\n"
                    "  defaults: -train 3000 -valid 500 -size 128 -seed 1\n");
}

/* Parses s as an integer in lo..hi into *v; prints an error naming the flag and
 * returns -1 otherwise. */
static int parse_long(const char *flag, const char *s, long lo, long hi, long *v)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "error: %s %s: expected an integer in %ld..%ld\n", flag, s, lo, hi);
        return -1;
    }
    *v = x;
    return 0;
}

/* Applies flag argv[*i] (and its value) to o; -1 after an error. */
static int parse_flag(int argc, char **argv, int *i, dataset_options *o)
{
    const char *flag = argv[*i];
    long v;
    if (!strcmp(flag, "-quiet")) {
        o->quiet = 1;
        return 0;
    }
    int *slot = !strcmp(flag, "-train") ? &o->train : !strcmp(flag, "-valid") ? &o->valid
              : !strcmp(flag, "-size") ? &o->size : NULL;
    if (!slot && strcmp(flag, "-seed") != 0) {
        fprintf(stderr, "error: unknown option '%s'\n", flag);
        return -1;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "error: %s needs a value\n", flag);
        return -1;
    }
    const char *val = argv[++*i];
    if (!slot) {
        if (parse_long(flag, val, 0, (long)UINT_MAX, &v)) return -1;
        o->seed = (unsigned)v;
        return 0;
    }
    if (parse_long(flag, val, slot == &o->size ? 32 : 1, slot == &o->size ? 2048 : 1000000, &v)) return -1;
    *slot = (int)v;
    return 0;
}

int dataset_main(int argc, char **argv)
{
    dataset_options o;
    dataset_options_default(&o);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            if (parse_flag(argc, argv, &i, &o)) {
                usage();
                return CLI_USAGE;
            }
        } else if (o.out_dir) {
            fprintf(stderr, "error: more than one OUTDIR: '%s' and '%s'\n", o.out_dir, argv[i]);
            usage();
            return CLI_USAGE;
        } else {
            o.out_dir = argv[i];
        }
    }
    if (!o.out_dir || !*o.out_dir) {
        fprintf(stderr, "error: OUTDIR is missing\n");
        usage();
        return CLI_USAGE;
    }
    return dataset_generate(&o) ? CLI_BAD_INPUT : 0;
}
