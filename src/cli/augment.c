/* augment.c: AlexeyAB's crop, letter_box and mosaic for detection training
 * (augment.h). The arithmetic follows AlexeyAB's load_data_detection and
 * blend_truth_mosaic, its integer truncations included, so that a box lands on the
 * same pixels there and here. */
#include "augment.h"

#include <stdlib.h>
#include <string.h>

/* min + r x (max - min), the bounds in either order. */
static float between(float min, float max, float r)
{
    if (max < min) {
        float t = min;
        min = max;
        max = t;
    }
    return r * (max - min) + min;
}

static int imin(int a, int b)
{
    return a < b ? a : b;
}

static int imax(int a, int b)
{
    return a > b ? a : b;
}

static float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

augment_crop augment_crop_of(int ow, int oh, int w, int h, float jitter, float resize, int letter_box,
                             const augment_draw *d)
{
    int dw = (int)(ow * jitter), dh = (int)(oh * jitter);
    float down = resize > 1 ? 1 / resize : resize, up = resize < 1 ? 1 / resize : resize;
    /* the scale moves each edge by up to half the growth or shrinkage of the size */
    int min_rdw = (int)(ow * (1 - 1 / down) / 2), min_rdh = (int)(oh * (1 - 1 / down) / 2);
    int max_rdw = resize < 1 ? 0 : (int)(ow * (1 - 1 / up) / 2), max_rdh = resize < 1 ? 0 : (int)(oh * (1 - 1 / up) / 2);
    augment_crop c;
    c.pleft = (int)between(-dw, dw, d->r[0]);
    c.pright = (int)between(-dw, dw, d->r[1]);
    c.ptop = (int)between(-dh, dh, d->r[2]);
    c.pbot = (int)between(-dh, dh, d->r[3]);
    c.pleft = (int)(c.pleft + between(min_rdw, max_rdw, d->rs[0]));
    c.pright = (int)(c.pright + between(min_rdw, max_rdw, d->rs[1]));
    c.ptop = (int)(c.ptop + between(min_rdh, max_rdh, d->rs[0]));
    c.pbot = (int)(c.pbot + between(min_rdh, max_rdh, d->rs[1]));
    if (letter_box) {
        float net_ar = (float)w / h;
        if ((float)ow / oh / net_ar > 1) {
            float delta = (ow / net_ar - oh) / 2; /* rows added above and below */
            c.ptop = (int)(c.ptop - delta);
            c.pbot = (int)(c.pbot - delta);
        } else {
            float delta = (oh * net_ar - ow) / 2; /* columns added left and right */
            c.pleft = (int)(c.pleft - delta);
            c.pright = (int)(c.pright - delta);
        }
    }
    return c;
}

void augment_crop_to_corner(augment_crop *c, int tile, int flip)
{
    /* the image's corner away from the mosaic's centre: top left for tile 0, ...;
     * left and right swap when the image is mirrored */
    int left = (tile == 0 || tile == 2) != (flip != 0), top = tile < 2;
    if (left) c->pright += c->pleft, c->pleft = 0;
    else c->pleft += c->pright, c->pright = 0;
    if (top) c->pbot += c->ptop, c->ptop = 0;
    else c->ptop += c->pbot, c->pbot = 0;
}

/* im resized to w x h, bilinear with pixel centres aligned (OpenCV's INTER_LINEAR,
 * which AlexeyAB's loader uses; libdarknet's resize_image can leave its last row
 * near 0 through rounding). A new image. */
static image resize_linear(image im, int w, int h)
{
    image out = make_image(w, h, im.c);
    float fx = (float)im.w / w, fy = (float)im.h / h;
    for (int y = 0; y < h; y++) {
        float sy = (y + 0.5f) * fy - 0.5f;
        if (sy < 0) sy = 0;
        int y0 = (int)sy, y1 = y0 + 1 < im.h ? y0 + 1 : y0;
        float dy = sy - y0;
        for (int x = 0; x < w; x++) {
            float sx = (x + 0.5f) * fx - 0.5f;
            if (sx < 0) sx = 0;
            int x0 = (int)sx, x1 = x0 + 1 < im.w ? x0 + 1 : x0;
            float dx = sx - x0;
            for (int k = 0; k < im.c; k++) {
                const float *p = im.data + (size_t)k * im.w * im.h;
                float top = p[y0 * im.w + x0] * (1 - dx) + p[y0 * im.w + x1] * dx;
                float bot = p[y1 * im.w + x0] * (1 - dx) + p[y1 * im.w + x1] * dx;
                out.data[((size_t)k * h + y) * w + x] = top * (1 - dy) + bot * dy;
            }
        }
    }
    return out;
}

/* The whole image instead of a crop that has no width or height, or that misses
 * the image. */
static augment_crop crop_checked(augment_crop c, int ow, int oh)
{
    int sw = ow - c.pleft - c.pright, sh = oh - c.ptop - c.pbot;
    if (sw <= 0 || sh <= 0 || ow - c.pleft <= 0 || oh - c.ptop <= 0 || ow - c.pright <= 0 || oh - c.pbot <= 0)
        c = (augment_crop){0, 0, 0, 0};
    return c;
}

image augment_crop_image(image im, augment_crop c, int w, int h, int flip)
{
    c = crop_checked(c, im.w, im.h);
    int sw = im.w - c.pleft - c.pright, sh = im.h - c.ptop - c.pbot;
    image sized;
    if (!c.pleft && !c.ptop && sw == im.w && sh == im.h) {
        sized = resize_linear(im, w, h);
    } else {
        image crop = make_image(sw, sh, im.c);
        int x0 = imax(0, -c.pleft), y0 = imax(0, -c.ptop); /* where the image starts in the crop */
        int x1 = imin(sw, im.w - c.pleft), y1 = imin(sh, im.h - c.ptop);
        for (int k = 0; k < im.c; k++) {
            const float *src = im.data + (size_t)k * im.w * im.h;
            float *dst = crop.data + (size_t)k * sw * sh;
            double sum = 0;
            for (int i = 0; i < im.w * im.h; i++) sum += src[i];
            float mean = (float)(sum / ((double)im.w * im.h));
            for (int i = 0; i < sw * sh; i++) dst[i] = mean;
            for (int y = y0; y < y1; y++)
                if (x1 > x0) memcpy(dst + (size_t)y * sw + x0, src + (size_t)(y + c.ptop) * im.w + x0 + c.pleft, (x1 - x0) * sizeof(float));
        }
        sized = resize_linear(crop, w, h);
        free_image(crop);
    }
    if (flip) flip_image(sized);
    return sized;
}

int augment_boxes(const float *labels, int n, int ow, int oh, augment_crop c, int flip, int w, int h, int max,
                  float *out)
{
    c = crop_checked(c, ow, oh);
    int sw = ow - c.pleft - c.pright, sh = oh - c.ptop - c.pbot;
    /* edge' = edge x s - d: the crop's own fractions */
    float fx = (float)sw / ow, fy = (float)sh / oh;
    float sx = (float)(1. / fx), sy = (float)(1. / fy);
    float dx = ((float)c.pleft / ow) / fx, dy = ((float)c.ptop / oh) / fy;
    int kept = 0;
    if (n > max) n = max;
    for (int i = 0; i < n; i++) {
        const float *r = labels + 5 * i;
        float x = r[1], y = r[2], bw = r[3], bh = r[4];
        if (x == 0 && y == 0) continue;
        if (x + bw / 2 < 0 || y + bh / 2 < 0 || x - bw / 2 > 1 || y - bh / 2 > 1) continue;
        float left = (x - bw / 2) * sx - dx, right = (x + bw / 2) * sx - dx;
        float top = (y - bh / 2) * sy - dy, bot = (y + bh / 2) * sy - dy;
        if (flip) {
            float t = left;
            left = 1 - right;
            right = 1 - t;
        }
        left = clamp01(left), right = clamp01(right), top = clamp01(top), bot = clamp01(bot);
        x = (left + right) / 2, y = (top + bot) / 2;
        bw = clamp01(right - left), bh = clamp01(bot - top);
        if (bw < 1.f / w || bh < 1.f / h) continue; /* under a pixel of the input */
        if (x <= 0 || x > 1 || y <= 0 || y > 1) continue;
        float *o = out + 5 * kept++;
        o[0] = x, o[1] = y, o[2] = bw, o[3] = bh, o[4] = r[0];
    }
    return kept;
}

mosaic_tile mosaic_tile_of(int t, int w, int h, int cx, int cy, augment_crop c, int ow, int oh, int flip)
{
    c = crop_checked(c, ow, oh);
    if (flip) {
        int s = c.pleft;
        c.pleft = c.pright;
        c.pright = s;
    }
    /* how far the crop reaches past its image, in input pixels, up to the tile's size */
    int ls = imin(cx, imax(0, -c.pleft * w / ow)), ts = imin(cy, imax(0, -c.ptop * h / oh));
    int rs = imin(w - cx, imax(0, -c.pright * w / ow)), bs = imin(h - cy, imax(0, -c.pbot * h / oh));
    int left = t == 0 || t == 2, top = t < 2;
    mosaic_tile m;
    m.x0 = left ? 0 : cx;
    m.x1 = left ? cx : w;
    m.y0 = top ? 0 : cy;
    m.y1 = top ? cy : h;
    m.ox = left ? w - cx - rs : ls - cx;
    m.oy = top ? h - cy - bs : ts - cy;
    return m;
}

void mosaic_paste(float *dst, const float *src, int w, int h, int c, const mosaic_tile *m)
{
    for (int k = 0; k < c; k++)
        for (int y = m->y0; y < m->y1; y++)
            memcpy(dst + ((size_t)k * h + y) * w + m->x0, src + ((size_t)k * h + y + m->oy) * w + m->x0 + m->ox,
                   (m->x1 - m->x0) * sizeof(float));
}

void mosaic_boxes(const float *boxes, int n, const mosaic_tile *m, int w, int h, int bound, float *out, int *count,
                  int max)
{
    int start = *count;
    for (int j = 0; j < n && start + j < max; j++) {
        const float *b = boxes + 5 * j;
        float xb = b[0] - (float)m->ox / w, yb = b[1] - (float)m->oy / h, wb = b[2], hb = b[3];
        int left = (int)((xb - wb / 2) * w), right = (int)((xb + wb / 2) * w);
        int top = (int)((yb - hb / 2) * h), bot = (int)((yb + hb / 2) * h);
        if (bound) {
            /* clipped to the tile */
            left = imax(left, m->x0), right = imin(right, m->x1);
            top = imax(top, m->y0), bot = imin(bot, m->y1);
            xb = (float)(right + left) / 2 / w, wb = (float)(right - left) / w;
            yb = (float)(bot + top) / 2 / h, hb = (float)(bot - top) / h;
        } else {
            /* clipped to the mosaic, the centre moved by half the cut */
            if (left < 0) {
                float diff = (float)left / w;
                xb -= diff / 2, wb += diff;
            }
            if (right > w) {
                float diff = (float)(right - w) / w;
                xb -= diff / 2, wb -= diff;
            }
            if (top < 0) {
                float diff = (float)top / h;
                yb -= diff / 2, hb += diff;
            }
            if (bot > h) {
                float diff = (float)(bot - h) / h;
                yb -= diff / 2, hb -= diff;
            }
            left = (int)((xb - wb / 2) * w), right = (int)((xb + wb / 2) * w);
            top = (int)((yb - hb / 2) * h), bot = (int)((yb + hb / 2) * h);
        }
        if (left >= 0 && right <= w && top >= 0 && bot <= h && wb > 0 && wb < 1 && hb > 0 && hb < 1 && xb > 0 &&
            xb < 1 && yb > 0 && yb < 1 && wb > 1.f / w && hb > 1.f / h) {
            float *o = out + 5 * (*count)++;
            o[0] = xb, o[1] = yb, o[2] = wb, o[3] = hb, o[4] = b[4];
        }
    }
}

void letterbox_size(int iw, int ih, int w, int h, int *nw, int *nh)
{
    if ((float)w / iw < (float)h / ih) {
        *nw = w;
        *nh = ih * w / iw;
    } else {
        *nh = h;
        *nw = iw * h / ih;
    }
}
