/* rcnn.c: the math of the two-stage detector (rcnn.h). */
#include "rcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RCNN_DELTA_CLAMP 4.135166556742356f /* log(1000 / 16) */

void rcnn_encode(box ref, box gt, const float *std, float d[4])
{
    d[0] = (gt.x - ref.x) / ref.w;
    d[1] = (gt.y - ref.y) / ref.h;
    d[2] = logf(gt.w / ref.w);
    d[3] = logf(gt.h / ref.h);
    if (std)
        for (int k = 0; k < 4; k++) d[k] /= std[k];
}

box rcnn_decode(box ref, const float d[4], const float *std)
{
    float e[4];
    for (int k = 0; k < 4; k++) e[k] = std ? d[k] * std[k] : d[k];
    if (!(e[2] < RCNN_DELTA_CLAMP)) e[2] = e[2] != e[2] ? 0 : RCNN_DELTA_CLAMP;
    if (!(e[3] < RCNN_DELTA_CLAMP)) e[3] = e[3] != e[3] ? 0 : RCNN_DELTA_CLAMP;
    box b;
    b.x = ref.x + e[0] * ref.w;
    b.y = ref.y + e[1] * ref.h;
    b.w = ref.w * expf(e[2]);
    b.h = ref.h * expf(e[3]);
    return b;
}

static float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

box rcnn_clip(box b)
{
    float x1 = clamp01(b.x - b.w / 2), x2 = clamp01(b.x + b.w / 2);
    float y1 = clamp01(b.y - b.h / 2), y2 = clamp01(b.y + b.h / 2);
    box c = {(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1};
    return c;
}

void rcnn_corners(box b, int w, int h, float out[4])
{
    out[0] = (b.x - b.w / 2) * w;
    out[1] = (b.y - b.h / 2) * h;
    out[2] = (b.x + b.w / 2) * w;
    out[3] = (b.y + b.h / 2) * h;
}

uint64_t rcnn_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t rcnn_seed(void)
{
    return ((uint64_t)rand() << 32) ^ (uint64_t)rand();
}

void rcnn_anchors(int w, int h, const float *sizes, int A, int net_w, int net_h, box *out)
{
    for (int a = 0; a < A; a++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                box *b = &out[(a * h + y) * w + x];
                b->x = (x + 0.5f) / w;
                b->y = (y + 0.5f) / h;
                b->w = sizes[2 * a] / net_w;
                b->h = sizes[2 * a + 1] / net_h;
            }
}

void rcnn_match(const box *boxes, int n, const box *truths, int nt, float *best, int *arg)
{
    for (int i = 0; i < n; i++) {
        best[i] = 0;
        arg[i] = -1;
        for (int t = 0; t < nt; t++) {
            float iou = ohem_box_iou(boxes[i], truths[t]);
            if (arg[i] < 0 || iou > best[i]) {
                best[i] = iou;
                arg[i] = t;
            }
        }
    }
}

void rcnn_rpn_assign(const box *anchors, int n, const box *truths, int nt, float fg_iou,
                     float bg_iou, int *label, int *matched, float *best, float *scratch)
{
    rcnn_match(anchors, n, truths, nt, best, matched);
    for (int t = 0; t < nt; t++) scratch[t] = 0;
    for (int i = 0; i < n; i++) {
        label[i] = best[i] >= fg_iou ? 1 : best[i] < bg_iou ? 0 : -1;
        for (int t = 0; t < nt; t++) {
            float iou = ohem_box_iou(anchors[i], truths[t]);
            if (iou > scratch[t]) scratch[t] = iou;
        }
    }
    if (!nt) return;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < nt; t++)
            if (scratch[t] > 0 && ohem_box_iou(anchors[i], truths[t]) == scratch[t]) {
                label[i] = 1;
                break;
            }
}

void rcnn_roi_label(const box *rois, int n, const box *truths, const int *truth_class, int nt,
                    float fg_iou, float bg_lo, float bg_hi, int classes, int *label, int *matched,
                    float *best)
{
    rcnn_match(rois, n, truths, nt, best, matched);
    for (int i = 0; i < n; i++) {
        if (matched[i] >= 0 && best[i] >= fg_iou) label[i] = truth_class[matched[i]];
        else if (best[i] >= bg_lo && best[i] < bg_hi) label[i] = classes;
        else label[i] = -1;
    }
}

/* Keeps a uniform random subset of k of the m indices in idx (partial Fisher-Yates);
 * the kept ones end up in idx[0..k). */
static void pick(int *idx, int m, int k, uint64_t *rng)
{
    for (int i = 0; i < k && i < m; i++) {
        int j = i + (int)(rcnn_rand(rng) % (uint64_t)(m - i));
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

int rcnn_subsample(int *label, int n, int bg_label, int max_total, int max_fg, uint64_t *rng,
                   int *scratch)
{
    int nfg = 0;
    for (int i = 0; i < n; i++)
        if (label[i] >= 0 && label[i] != bg_label) scratch[nfg++] = i;
    int kfg = nfg < max_fg ? nfg : max_fg;
    if (kfg > max_total) kfg = max_total;
    pick(scratch, nfg, kfg, rng);
    for (int i = kfg; i < nfg; i++) label[scratch[i]] = -1;
    int nbg = 0;
    for (int i = 0; i < n; i++)
        if (label[i] == bg_label) scratch[nbg++] = i;
    int kbg = nbg < max_total - kfg ? nbg : max_total - kfg;
    pick(scratch, nbg, kbg, rng);
    for (int i = kbg; i < nbg; i++) label[scratch[i]] = -1;
    return kfg + kbg;
}

int rcnn_truths(const float *truth, int max, box *boxes, int *cls)
{
    int n = 0;
    for (int t = 0; t < max; t++) {
        const float *r = truth + 5 * t;
        if (!r[0]) break;
        if (!(r[2] > 0 && r[3] > 0) || !(r[4] >= 0 && r[4] < 1e6f)) continue; /* no area, no class */
        box b = {r[0], r[1], r[2], r[3]};
        boxes[n] = b;
        cls[n++] = (int)r[4];
    }
    return n;
}

float rcnn_smooth_l1(float x, float beta, float *dx)
{
    float a = fabsf(x);
    if (a < beta) {
        *dx = x / beta;
        return 0.5f * x * x / beta;
    }
    *dx = x > 0 ? 1.f : x < 0 ? -1.f : 0.f;
    return a - 0.5f * beta;
}

float rcnn_rpn_loss(float o, const float *d, int label, const float *target, float beta,
                    float scale, float *delta_o, float *delta_d)
{
    /* log(1 + exp(-o)) for label 1, log(1 + exp(o)) for 0, written to stay finite. */
    float z = label ? -o : o;
    float loss = z > 0 ? z + log1pf(expf(-z)) : log1pf(expf(z));
    float p = o >= 0 ? 1 / (1 + expf(-o)) : expf(o) / (1 + expf(o));
    *delta_o = scale * ((float)label - p);
    for (int k = 0; k < 4; k++) {
        delta_d[k] = 0;
        if (!label) continue;
        float g;
        loss += rcnn_smooth_l1(d[k] - target[k], beta, &g);
        delta_d[k] = -scale * g;
    }
    return loss;
}

float rcnn_roi_loss(const float *x, int classes, int label, const float *target, float beta,
                    float scale, float *delta, float *cls, float *box_part)
{
    int m = classes + 1;
    float mx = x[0];
    for (int k = 1; k < m; k++) mx = x[k] > mx ? x[k] : mx;
    double sum = 0;
    for (int k = 0; k < m; k++) sum += exp((double)(x[k] - mx));
    /* (mx - x[label]) + log(sum), not (mx + log(sum)) - x[label]: the latter rounds
     * to a float near mx first and loses the loss's low digits when mx is large */
    *cls = (float)((double)(mx - x[label]) + log(sum));
    if (delta) {
        for (int k = 0; k < m; k++) {
            float p = (float)(exp((double)(x[k] - mx)) / sum);
            delta[k] = scale * ((k == label ? 1.f : 0.f) - p);
        }
        memset(delta + m, 0, 4 * (size_t)classes * sizeof(float));
    }
    *box_part = 0;
    if (label < classes) {
        const float *d = x + m + 4 * label;
        for (int k = 0; k < 4; k++) {
            float g;
            *box_part += rcnn_smooth_l1(d[k] - target[k], beta, &g);
            if (delta) delta[m + 4 * label + k] = -scale * g;
        }
    }
    return *cls + *box_part;
}

int rcnn_proposals(const box *anchors, const float *obj, const float *deltas, int n,
                   float min_w, float min_h, float nms, int max_out, ohem_scratch *s, box *boxes,
                   unsigned char *skip, int *keep, box *out, float *score)
{
    for (int i = 0; i < n; i++) {
        boxes[i] = rcnn_clip(rcnn_decode(anchors[i], deltas + 4 * i, NULL));
        skip[i] = !(boxes[i].w >= min_w && boxes[i].h >= min_h && boxes[i].w > 0 && boxes[i].h > 0)
                  || obj[i] != obj[i];
    }
    int k = ohem_walk(s, obj, nms < 1 ? boxes : NULL, skip, n, nms, 0, max_out, keep);
    for (int j = 0; j < k; j++) {
        out[j] = boxes[keep[j]];
        score[j] = obj[keep[j]];
    }
    return k;
}
