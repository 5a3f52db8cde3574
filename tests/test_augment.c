/* test_augment.c: AlexeyAB's training augmentations (src/cli/augment.c) against
 * second computations: every mosaic pixel traced back to its tile and source pixel
 * by AlexeyAB's per-tile formulas, written out tile by tile; mosaic boxes against a
 * clip computed on whole pixels; a crop's boxes against the pixels of a box drawn
 * into the image and cropped; letter_box's aspect, padding and boxes, and the
 * detection side's letterbox inverse (libdarknet's correct_yolo_boxes) bringing a
 * box back; resize='s range; the [net] and [yolo] keys' checks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "augment.h"
#include "dn_internal.h"
#include "net_augment.h"
#include "oracle.h"
#include "parser.h"
#include "yolo_layer.h"

#define TMP "tests/tmp/augment"

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* A crop of an ow x oh image with each edge from -spread to +spread/2 of the size. */
static augment_crop random_crop(int ow, int oh, float spread)
{
    augment_crop c;
    c.pleft = (int)((rng_unit() * 1.5f - 1) * spread * ow);
    c.pright = (int)((rng_unit() * 1.5f - 1) * spread * ow);
    c.ptop = (int)((rng_unit() * 1.5f - 1) * spread * oh);
    c.pbot = (int)((rng_unit() * 1.5f - 1) * spread * oh);
    return c;
}

/* The value of pixel (x, y, k) of tile t's source image: all four decodable. */
static float code(int t, int x, int y, int k)
{
    return (float)(t * 1000000 + k * 10000 + y * 100 + x);
}

/* Every pixel of a mosaic comes from the tile of its quadrant around the cut, at
 * the place AlexeyAB's loader copies it from (its j_src per tile). */
static void test_mosaic_pixels(void **state)
{
    (void)state;
    rng_seed(11);
    for (int trial = 0; trial < 200; trial++) {
        int w = 32 + 8 * (int)(rng_u32() % 6), h = 32 + 8 * (int)(rng_u32() % 6), c = 3;
        int cx = (int)(w * 0.2f) + (int)(rng_u32() % (unsigned)((int)(w * 0.8f) - (int)(w * 0.2f) + 1));
        int cy = (int)(h * 0.2f) + (int)(rng_u32() % (unsigned)((int)(h * 0.8f) - (int)(h * 0.2f) + 1));
        float *dst = calloc((size_t)w * h * c, sizeof(float));
        int ow[4], oh[4], flip[4], ls[4], ts[4], rs[4], bs[4];
        for (int t = 0; t < 4; t++) {
            ow[t] = 20 + (int)(rng_u32() % 100), oh[t] = 20 + (int)(rng_u32() % 100), flip[t] = rng_u32() % 2;
            augment_crop cr = random_crop(ow[t], oh[t], 0.5f);
            if (rng_u32() % 2) augment_crop_to_corner(&cr, t, flip[t]);
            if (ow[t] - cr.pleft - cr.pright <= 0 || oh[t] - cr.ptop - cr.pbot <= 0 || ow[t] - cr.pleft <= 0 ||
                oh[t] - cr.ptop <= 0 || ow[t] - cr.pright <= 0 || oh[t] - cr.pbot <= 0)
                cr = (augment_crop){0, 0, 0, 0};
            /* AlexeyAB's shifts: the crop's reach past its image, after the flip's swap */
            int pl = flip[t] ? cr.pright : cr.pleft, pr = flip[t] ? cr.pleft : cr.pright;
            ls[t] = imin(cx, imax(0, -pl * w / ow[t]));
            ts[t] = imin(cy, imax(0, -cr.ptop * h / oh[t]));
            rs[t] = imin(w - cx, imax(0, -pr * w / ow[t]));
            bs[t] = imin(h - cy, imax(0, -cr.pbot * h / oh[t]));
            float *src = malloc((size_t)w * h * c * sizeof(float));
            for (int k = 0; k < c; k++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) src[(k * h + y) * w + x] = code(t, x, y, k);
            mosaic_tile m = mosaic_tile_of(t, w, h, cx, cy, cr, ow[t], oh[t], flip[t]);
            mosaic_paste(dst, src, w, h, c, &m);
            free(src);
        }
        for (int k = 0; k < c; k++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int t = (y >= cy) * 2 + (x >= cx), sx, sy;
                    if (t == 0) sx = w - cx - rs[t] + x, sy = y + h - cy - bs[t];
                    else if (t == 1) sx = ls[t] + x - cx, sy = y + h - cy - bs[t];
                    else if (t == 2) sx = w - cx - rs[t] + x, sy = ts[t] + y - cy;
                    else sx = ls[t] + x - cx, sy = ts[t] + y - cy;
                    assert_true(sx >= 0 && sx < w && sy >= 0 && sy < h);
                    float got = dst[(k * h + y) * w + x];
                    if (got != code(t, sx, sy, k))
                        fail_msg("trial %d, %dx%d cut (%d, %d): pixel (%d, %d, %d) is %.0f, expected tile %d (%d, %d)",
                                 trial, w, h, cx, cy, x, y, k, got, t, sx, sy);
                }
        free(dst);
    }
}

/* The oracle's clip of one mosaic box: the box moved into the mosaic, in pixels,
 * intersected with the mosaic (bound 0) or the tile (bound 1). Returns the clipped
 * width and height in pixels; the box in fractions in out. */
static void oracle_mosaic_box(const float *b, const mosaic_tile *m, int w, int h, int bound, float *out, float *pw,
                              float *ph)
{
    /* the tile's image pixel (u, v) lands at (u - ox, v - oy) (the offsets are held
     * against AlexeyAB's per-tile copies by test_mosaic_pixels) */
    double l = b[0] * w - b[2] * w / 2 - m->ox, r = b[0] * w + b[2] * w / 2 - m->ox;
    double tp = b[1] * h - b[3] * h / 2 - m->oy, bt = b[1] * h + b[3] * h / 2 - m->oy;
    double x0 = bound ? m->x0 : 0, x1 = bound ? m->x1 : w, y0 = bound ? m->y0 : 0, y1 = bound ? m->y1 : h;
    l = fmax(l, x0), r = fmin(r, x1), tp = fmax(tp, y0), bt = fmin(bt, y1);
    *pw = (float)(r - l), *ph = (float)(bt - tp);
    out[0] = (float)((l + r) / 2 / w), out[1] = (float)((tp + bt) / 2 / h);
    out[2] = (float)((r - l) / w), out[3] = (float)((bt - tp) / h);
}

/* Mosaic boxes: moved with their tile and clipped to the mosaic or to the tile,
 * within a pixel of the oracle's exact clip (AlexeyAB's rounds edges to whole
 * pixels); dropped when nothing of them is left, kept when several pixels are; at
 * most max rows. */
static void test_mosaic_boxes(void **state)
{
    (void)state;
    rng_seed(12);
    int checked_kept = 0, checked_dropped = 0;
    for (int trial = 0; trial < 400; trial++) {
        int w = 64, h = 48, bound = trial % 2, max = trial % 5 == 0 ? 3 : 90;
        int cx = 13 + (int)(rng_u32() % 39), cy = 10 + (int)(rng_u32() % 29);
        float out[90 * 5] = {0};
        int count = 0;
        for (int t = 0; t < 4; t++) {
            int ow = 40 + (int)(rng_u32() % 60), oh = 40 + (int)(rng_u32() % 60), flip = rng_u32() % 2;
            augment_crop cr = random_crop(ow, oh, 0.3f);
            mosaic_tile m = mosaic_tile_of(t, w, h, cx, cy, cr, ow, oh, flip);
            int n = 1 + (int)(rng_u32() % 6);
            float boxes[6 * 5];
            for (int j = 0; j < n; j++) {
                float bw = 0.05f + 0.5f * rng_unit(), bh = 0.05f + 0.5f * rng_unit();
                boxes[5 * j + 0] = bw / 2 + (1 - bw) * rng_unit();
                boxes[5 * j + 1] = bh / 2 + (1 - bh) * rng_unit();
                boxes[5 * j + 2] = bw, boxes[5 * j + 3] = bh, boxes[5 * j + 4] = (float)j;
            }
            int before = count;
            mosaic_boxes(boxes, n, &m, w, h, bound, out, &count, max);
            assert_true(count <= max);
            /* match the kept rows to the tile's boxes in order, by class */
            int row = before;
            for (int j = 0; j < n && before + j < max; j++) {
                float o[4], pw, ph;
                oracle_mosaic_box(boxes + 5 * j, &m, w, h, bound, o, &pw, &ph);
                int kept = row < count && out[5 * row + 4] == (float)j;
                if (pw <= 0 || ph <= 0) {
                    if (kept) fail_msg("trial %d tile %d box %d: nothing of it is in view, but kept", trial, t, j);
                    checked_dropped++;
                } else if (pw > 3 && ph > 3 && pw < w - 3 && ph < h - 3) {
                    if (!kept) fail_msg("trial %d tile %d box %d: %.1fx%.1f pixels in view, but dropped", trial, t, j, pw, ph);
                    checked_kept++;
                }
                if (kept) {
                    const float *g = out + 5 * row;
                    /* edges within a pixel (AlexeyAB's truncates each edge once or twice) */
                    float el = fabsf((g[0] - g[2] / 2) - (o[0] - o[2] / 2)) * w, er = fabsf((g[0] + g[2] / 2) - (o[0] + o[2] / 2)) * w;
                    float et = fabsf((g[1] - g[3] / 2) - (o[1] - o[3] / 2)) * h, eb = fabsf((g[1] + g[3] / 2) - (o[1] + o[3] / 2)) * h;
                    if (el > 2.01f || er > 2.01f || et > 2.01f || eb > 2.01f)
                        fail_msg("trial %d tile %d box %d (bound %d): edges off by %.2f %.2f %.2f %.2f pixels", trial, t, j,
                                 bound, el, er, et, eb);
                    if (bound && ((g[0] - g[2] / 2) * w < m.x0 - 1e-3f || (g[0] + g[2] / 2) * w > m.x1 + 1e-3f ||
                                  (g[1] - g[3] / 2) * h < m.y0 - 1e-3f || (g[1] + g[3] / 2) * h > m.y1 + 1e-3f))
                        fail_msg("trial %d tile %d box %d: mosaic_bound=1 but the box leaves its tile", trial, t, j);
                    row++;
                }
            }
            assert_int_equal(row, count);
        }
    }
    assert_true(checked_kept > 200 && checked_dropped > 20);
}

/* A w x h x 3 image of 0 with the box (x, y, bw, bh) filled with 1. */
static image box_image(int w, int h, float x, float y, float bw, float bh)
{
    image im = make_image(w, h, 3);
    for (int k = 0; k < 3; k++)
        for (int v = 0; v < h; v++)
            for (int u = 0; u < w; u++) {
                float fx = (u + 0.5f) / w, fy = (v + 0.5f) / h;
                if (fabsf(fx - x) <= bw / 2 && fabsf(fy - y) <= bh / 2) im.data[(k * h + v) * w + u] = 1;
            }
    return im;
}

/* The box of the pixels of channel 0 above 0.5, as fractions; 0 when none. */
static int bright_box(image im, float *b)
{
    int l = im.w, r = -1, t = im.h, bt = -1;
    for (int v = 0; v < im.h; v++)
        for (int u = 0; u < im.w; u++)
            if (im.data[v * im.w + u] > 0.5f) l = imin(l, u), r = imax(r, u), t = imin(t, v), bt = imax(bt, v);
    if (r < 0) return 0;
    b[0] = (l + r + 1) / 2.f / im.w, b[1] = (t + bt + 1) / 2.f / im.h;
    b[2] = (float)(r + 1 - l) / im.w, b[3] = (float)(bt + 1 - t) / im.h;
    return 1;
}

/* A box drawn into an image, cropped (jitter, resize, letter_box, flip) with the
 * image: the box augment_boxes computes covers the box's pixels in the crop. */
static void test_crop_boxes(void **state)
{
    (void)state;
    rng_seed(13);
    int kept = 0;
    for (int trial = 0; trial < 150; trial++) {
        int ow = 60 + (int)(rng_u32() % 100), oh = 60 + (int)(rng_u32() % 100), w = 64, h = 48;
        float bw = 0.2f + 0.4f * rng_unit(), bh = 0.2f + 0.4f * rng_unit();
        float lab[5] = {2, bw / 2 + (1 - bw) * rng_unit(), bh / 2 + (1 - bh) * rng_unit(), bw, bh};
        augment_draw d;
        for (int k = 0; k < 4; k++) d.r[k] = rng_unit();
        d.rs[0] = rng_unit(), d.rs[1] = rng_unit();
        int flip = rng_u32() % 2, letter = rng_u32() % 2;
        augment_crop c = augment_crop_of(ow, oh, w, h, 0.2f, 1.5f, letter, &d);
        image im = box_image(ow, oh, lab[1], lab[2], lab[3], lab[4]);
        image out = augment_crop_image(im, c, w, h, flip);
        float got[5], seen[4];
        int n = augment_boxes(lab, 1, ow, oh, c, flip, w, h, 90, got);
        int visible = bright_box(out, seen);
        if (!visible) {
            assert_int_equal(n, 0);
        } else if (n) {
            kept++;
            assert_true(got[4] == 2);
            for (int e = 0; e < 2; e++) {
                float lo = (got[e] - got[e + 2] / 2) * (e ? h : w), hi = (got[e] + got[e + 2] / 2) * (e ? h : w);
                float slo = (seen[e] - seen[e + 2] / 2) * (e ? h : w), shi = (seen[e] + seen[e + 2] / 2) * (e ? h : w);
                /* bilinear resampling moves an edge by up to a pixel of the input or of the scale */
                float tol = 1.5f + (e ? (float)h / oh : (float)w / ow) * 2;
                if (fabsf(lo - slo) > tol || fabsf(hi - shi) > tol)
                    fail_msg("trial %d (%dx%d, crop %d %d %d %d, flip %d, letter %d): %s edges %.2f..%.2f, the pixels %.2f..%.2f",
                             trial, ow, oh, c.pleft, c.pright, c.ptop, c.pbot, flip, letter, e ? "y" : "x", lo, hi, slo, shi);
            }
        }
        free_image(im);
        free_image(out);
    }
    assert_true(kept > 100);
}

/* letter_box=1 without jitter or resize: the crop has the input's aspect, the image
 * centred in it, the padding the image's mean; the content's size is
 * letterbox_size's; a box mapped into the input and back by libdarknet's
 * correct_yolo_boxes (what detection runs on a letterboxed image) returns. */
static void test_letter_box(void **state)
{
    (void)state;
    rng_seed(14);
    augment_draw d = {{0.5f, 0.5f, 0.5f, 0.5f}, {0.5f, 0.5f}};
    for (int trial = 0; trial < 100; trial++) {
        int ow = 30 + (int)(rng_u32() % 200), oh = 30 + (int)(rng_u32() % 200);
        int w = 32 * (1 + (int)(rng_u32() % 4)), h = 32 * (1 + (int)(rng_u32() % 4));
        augment_crop c = augment_crop_of(ow, oh, w, h, 0, 1, 1, &d);
        int sw = ow - c.pleft - c.pright, sh = oh - c.ptop - c.pbot;
        /* the short side padded equally on both sides; the aspect the input's */
        assert_true(c.pleft == c.pright && c.ptop == c.pbot && c.pleft <= 0 && c.ptop <= 0);
        assert_true(c.pleft == 0 || c.ptop == 0);
        if (c.pleft < 0) assert_true(fabs(sw - (double)sh * w / h) <= 2.0);
        else assert_true(fabs(sh - (double)sw * h / w) <= 2.0);
        /* padding: the image's mean */
        image im = make_image(ow, oh, 3);
        for (int i = 0; i < ow * oh * 3; i++) im.data[i] = (i % 7) / 7.f;
        double mean0 = 0;
        for (int i = 0; i < ow * oh; i++) mean0 += im.data[i];
        mean0 /= ow * oh;
        image out = augment_crop_image(im, c, w, h, 0);
        int nw, nh;
        letterbox_size(ow, oh, w, h, &nw, &nh);
        if (c.ptop < -1) /* rows of padding above: the first row is the mean */
            for (int u = 0; u < w; u++) assert_true(fabs(out.data[u] - mean0) < 1e-4);
        if (c.pleft < -1)
            for (int v = 0; v < h; v++)
                if (fabs(out.data[v * w] - mean0) > 1e-4) fail_msg("%dx%d into %dx%d crop %d %d %d %d: (0, %d) is %f, mean %f", ow, oh, w, h, c.pleft, c.pright, c.ptop, c.pbot, v, out.data[v * w], mean0);
        /* the content spans letterbox_size's nw x nh, within two pixels of the image */
        double cw = (double)ow / sw * w, ch = (double)oh / sh * h;
        if (fabs(cw - nw) > 1 + 2.0 * w / sw || fabs(ch - nh) > 1 + 2.0 * h / sh)
            fail_msg("%dx%d into %dx%d: content %.1fx%.1f, letterbox_size %dx%d", ow, oh, w, h, cw, ch, nw, nh);
        free_image(im);
        free_image(out);
        /* a box there and back */
        float bw = 0.1f + 0.5f * rng_unit(), bh = 0.1f + 0.5f * rng_unit();
        float lab[5] = {0, bw / 2 + (1 - bw) * rng_unit(), bh / 2 + (1 - bh) * rng_unit(), bw, bh}, b[5];
        assert_int_equal(augment_boxes(lab, 1, ow, oh, c, 0, w, h, 90, b), 1);
        detection det = {0};
        det.bbox = (box){b[0], b[1], b[2], b[3]};
        correct_yolo_boxes(&det, 1, ow, oh, w, h, 1);
        float tx = 2.f / ow + 1.f / w, ty = 2.f / oh + 1.f / h;
        if (fabsf(det.bbox.x - lab[1]) > tx || fabsf(det.bbox.w - lab[3]) > 2 * tx || fabsf(det.bbox.y - lab[2]) > ty ||
            fabsf(det.bbox.h - lab[4]) > 2 * ty)
            fail_msg("%dx%d into %dx%d: box (%.4f %.4f %.4f %.4f) came back as (%.4f %.4f %.4f %.4f)", ow, oh, w, h, lab[1],
                     lab[2], lab[3], lab[4], det.bbox.x, det.bbox.y, det.bbox.w, det.bbox.h);
    }
}

/* resize=s: without jitter, the crop's width and height from 1/s to s times the
 * image's (s > 1), at least the image's (s < 1: scaled down only), the extremes
 * reached at the ends of the draws; 1: the whole image. */
static void test_resize_key(void **state)
{
    (void)state;
    int ow = 200, oh = 120;
    for (int s = 0; s < 3; s++) {
        float resize = s == 0 ? 1.5f : s == 1 ? 0.5f : 1;
        float lo = 9, hi = 0;
        for (int i = 0; i <= 20; i++) {
            float r = i / 20.f;
            augment_draw d = {{0.5f, 0.5f, 0.5f, 0.5f}, {r, r}};
            augment_crop c = augment_crop_of(ow, oh, 64, 64, 0, resize, 0, &d);
            float fw = (float)(ow - c.pleft - c.pright) / ow, fh = (float)(oh - c.ptop - c.pbot) / oh;
            assert_true(fabsf(fw - fh) < 0.03f); /* one draw moves both sides: the aspect stays */
            lo = fminf(lo, fw), hi = fmaxf(hi, fw);
        }
        float want_lo = resize == 1 ? 1 : resize > 1 ? 1 / resize : 1, want_hi = resize == 1 ? 1 : resize > 1 ? resize : 1 / resize;
        if (fabsf(lo - want_lo) > 0.02f || fabsf(hi - want_hi) > 0.02f)
            fail_msg("resize=%g: crop widths %.3f..%.3f of the image, expected %.3f..%.3f", resize, lo, hi, want_lo, want_hi);
    }
}

/* Mosaic's move to the corner keeps the crop's size and puts it against the
 * image's corner away from the mosaic's centre (mirrored when flipped). */
static void test_corner(void **state)
{
    (void)state;
    for (int t = 0; t < 4; t++)
        for (int flip = 0; flip < 2; flip++) {
            augment_crop c = {5, -7, 3, -11};
            augment_crop_to_corner(&c, t, flip);
            assert_int_equal(c.pleft + c.pright, -2);
            assert_int_equal(c.ptop + c.pbot, -8);
            int left = (t % 2 == 0) != flip, top = t < 2;
            assert_int_equal(left ? c.pleft : c.pright, 0);
            assert_int_equal(top ? c.ptop : c.pbot, 0);
        }
}

static const char *write_cfg(const char *net_keys, const char *yolo_keys)
{
    static const char *path = TMP "/aug.cfg";
    mkdir("tests/tmp", 0755);
    mkdir(TMP, 0755);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "[net]\nbatch=1\nwidth=32\nheight=32\nchannels=3\n%s\n"
               "[convolutional]\nfilters=18\nsize=1\nactivation=linear\n"
               "[yolo]\nmask=0,1,2\nanchors=1,1,2,2,3,3\nnum=3\nclasses=1\n%s\n",
            net_keys, yolo_keys);
    fclose(f);
    return path;
}

/* The keys: read into net_augment and yolo_options; bad values are errors naming
 * file, line and key. */
static void test_keys(void **state)
{
    (void)state;
    network *net;
    ohem_err e;
    if (ohem_parse_network(write_cfg("mosaic=1\nletter_box=1\nmosaic_bound=1", "resize=1.5"), &net, &e) != 0)
        fail_msg("%s", e.msg);
    net_augment a = ohem_net_augment(net);
    assert_true(a.mosaic == 1 && a.letter_box == 1 && a.mosaic_bound == 1);
    assert_true(yolo_layer_options(&net->layers[1])->resize == 1.5f);
    free_network(net);
    if (ohem_parse_network(write_cfg("", ""), &net, &e) != 0) fail_msg("%s", e.msg);
    a = ohem_net_augment(net);
    assert_true(!a.mosaic && !a.letter_box && !a.mosaic_bound);
    assert_true(yolo_layer_options(&net->layers[1])->resize == 1);
    free_network(net);
    static const struct {
        const char *net, *yolo, *msg;
    } bad[] = {
        {"mosaic=2", "", TMP "/aug.cfg:6: [net] mosaic=2: expected 0 or 1"},
        {"letter_box=yes", "", TMP "/aug.cfg:6: [net] letter_box=yes: expected 0 or 1"},
        {"", "resize=0", "[yolo] resize=0: expected a number in [0.1, 10]"},
        {"", "resize=abc", "[yolo] resize=abc: expected a number"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ohem_parse_network(write_cfg(bad[i].net, bad[i].yolo), &net, &e) == 0) fail_msg("case %zu parsed", i);
        if (!strstr(e.msg, bad[i].msg)) fail_msg("case %zu: %s\nexpected: %s", i, e.msg, bad[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mosaic_pixels), cmocka_unit_test(test_mosaic_boxes),
        cmocka_unit_test(test_crop_boxes),    cmocka_unit_test(test_letter_box),
        cmocka_unit_test(test_resize_key),        cmocka_unit_test(test_corner),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
