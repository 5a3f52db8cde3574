/* ohem.c: loss ranking with a lazy partial sort, and greedy NMS over the ranking. */
#include "ohem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t ohem_scratch_bytes(int cap)
{
    size_t n = cap > 0 ? (size_t)cap : 1;
    return n * sizeof(uint64_t) + 5 * n * sizeof(float);
}

void ohem_scratch_bind(ohem_scratch *s, void *mem, int cap)
{
    size_t n = cap > 0 ? (size_t)cap : 1;
    s->cap = cap;
    s->keys = mem;
    s->kl = (float *)(s->keys + n);
    s->kr = s->kl + n;
    s->kt = s->kr + n;
    s->kb = s->kt + n;
    s->ka = s->kb + n;
}

int ohem_scratch_init(ohem_scratch *s, int cap)
{
    void *mem = malloc(ohem_scratch_bytes(cap));
    memset(s, 0, sizeof(*s));
    if (!mem) return -1;
    ohem_scratch_bind(s, mem, cap);
    return 0;
}

void ohem_scratch_free(ohem_scratch *s)
{
    if (!s) return;
    free(s->keys);
    memset(s, 0, sizeof(*s));
}

/* Maps a loss to an unsigned key with the same order; -0 counts as +0 and every NaN
 * as the positive quiet NaN, which lies above +infinity. */
static uint32_t rank_bits(float f)
{
    uint32_t u;
    f = f + 0.0f;
    if (f != f) return 0xffc00000u;
    memcpy(&u, &f, sizeof(u));
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* A larger key ranks first: higher loss, then lower index. */
static uint64_t rank_key(float loss, int i)
{
    return ((uint64_t)rank_bits(loss) << 32) | (uint32_t)~(uint32_t)i;
}

static int key_index(uint64_t key)
{
    return (int)~(uint32_t)key;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Restores the min-heap order of h[0..n) below position i. */
static void sift_down(uint64_t *h, int n, int i)
{
    uint64_t v = h[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
}

/* Writes into top[0..) the m largest rank keys below bound among the candidates not
 * skipped, in descending order, and returns how many. One pass with a min-heap of m
 * keys: most candidates cost one float comparison against the heap's smallest. */
static int top_keys(const float *loss, const unsigned char *skip, int n, uint64_t bound, int m,
                    uint64_t *top)
{
    int h = 0;
    float min_loss = 0;
    for (int i = 0; i < n; i++) {
        if (skip && skip[i]) continue;
        if (h == m && loss[i] < min_loss) continue;
        uint64_t k = rank_key(loss[i], i);
        if (k >= bound) continue;
        if (h < m) {
            int j = h++;
            while (j > 0 && top[(j - 1) / 2] > k) {
                top[j] = top[(j - 1) / 2];
                j = (j - 1) / 2;
            }
            top[j] = k;
        } else if (k > top[0]) {
            top[0] = k;
            sift_down(top, h, 0);
        } else {
            continue;
        }
        if (h == m) min_loss = loss[key_index(top[0])] + 0.0f;
    }
    qsort(top, (size_t)h, sizeof(*top), cmp_desc);
    return h;
}

float ohem_box_iou(box a, box b)
{
    float l1 = a.x - a.w / 2, l2 = b.x - b.w / 2;
    float r1 = a.x + a.w / 2, r2 = b.x + b.w / 2;
    float t1 = a.y - a.h / 2, t2 = b.y - b.h / 2;
    float b1 = a.y + a.h / 2, b2 = b.y + b.h / 2;
    float w = (r1 < r2 ? r1 : r2) - (l1 > l2 ? l1 : l2);
    float h = (b1 < b2 ? b1 : b2) - (t1 > t2 ? t1 : t2);
    float inter = (w < 0 || h < 0) ? 0 : w * h;
    return inter / (a.w * a.h + b.w * b.h - inter);
}

/* Stores box b as kept slot k, in the form the suppression test reads. */
static void kept_store(ohem_scratch *s, int k, box b)
{
    s->kl[k] = b.x - b.w / 2;
    s->kr[k] = b.x + b.w / 2;
    s->kt[k] = b.y - b.h / 2;
    s->kb[k] = b.y + b.h / 2;
    s->ka[k] = b.w * b.h;
}

/* 1 when box b overlaps one of the nk kept boxes by IoU > thresh. The arithmetic is
 * box_iou(b, kept)'s, operation for operation, so the answer is the same bit for bit;
 * the comparisons are the ones minps/maxps make, so blocks of kept boxes are tested
 * without branches (and vectorised), with an early exit between blocks. */
static int suppressed(const ohem_scratch *s, int nk, box b, float thresh)
{
    float l = b.x - b.w / 2, r = b.x + b.w / 2;
    float t = b.y - b.h / 2, bt = b.y + b.h / 2;
    float area = b.w * b.h;
    for (int k0 = 0; k0 < nk; k0 += 32) {
        int end = k0 + 32 < nk ? k0 + 32 : nk, hit = 0;
        for (int k = k0; k < end; k++) {
            float w = (r < s->kr[k] ? r : s->kr[k]) - (l > s->kl[k] ? l : s->kl[k]);
            float h = (bt < s->kb[k] ? bt : s->kb[k]) - (t > s->kt[k] ? t : s->kt[k]);
            float inter = w * h;
            /* w or h < 0: no overlap (box_iou's 0); NaN compares false either way */
            hit |= (w >= 0) & (h >= 0) & (inter / (area + s->ka[k] - inter) > thresh);
        }
        if (hit) return 1;
    }
    return 0;
}

int ohem_walk(ohem_scratch *s, const float *loss, const box *boxes, const unsigned char *skip,
              int n, float nms_iou, int nkept, int max_total, int *keep)
{
    if (nkept >= max_total || n <= 0) return nkept;
    int use_nms = boxes && nms_iou < 1;
    int nk = nkept;
    if (use_nms)
        for (int k = 0; k < nk; k++) kept_store(s, k, boxes[keep[k]]);
    uint64_t bound = UINT64_MAX;
    while (nk < max_total) {
        int need = max_total - nk;
        int chunk = use_nms ? 2 * need + 32 : need;
        if (chunk > n) chunk = n;
        int got = top_keys(loss, skip, n, bound, chunk, s->keys);
        for (int q = 0; q < got && nk < max_total; q++) {
            int i = key_index(s->keys[q]);
            if (use_nms) {
                if (suppressed(s, nk, boxes[i], nms_iou)) continue;
                kept_store(s, nk, boxes[i]);
            }
            keep[nk++] = i;
        }
        if (got < chunk) break;
        bound = s->keys[got - 1];
    }
    return nk;
}

int ohem_select(const float *loss, const box *boxes, int n, float nms_iou, int max_keep, int *keep)
{
    if (n <= 0 || max_keep <= 0) return 0;
    ohem_scratch s;
    if (ohem_scratch_init(&s, n) != 0) return -1;
    int kept = ohem_walk(&s, loss, boxes, NULL, n, nms_iou, 0, max_keep < n ? max_keep : n, keep);
    ohem_scratch_free(&s);
    return kept;
}

/* ceil(ratio x count), in double so that 3 x 1.1 is not 4. */
static int ratio_cap(float ratio, int count)
{
    return (int)ceil((double)ratio * (double)count);
}

int ohem_select_policy(ohem_scratch *s, const ohem_policy *p, const float *loss, const box *boxes,
                       const unsigned char *pos, unsigned char *mark, int n, int *keep)
{
    int nk = 0, npos = 0;
    memset(mark, 0, (size_t)n);
    if (p->keep_positives) {
        for (int i = 0; i < n; i++)
            if (pos[i]) {
                keep[nk++] = i;
                mark[i] = 1;
            }
        npos = nk;
        int negs = p->budget;
        if (p->neg_pos_ratio > 0 && ratio_cap(p->neg_pos_ratio, npos) < negs)
            negs = ratio_cap(p->neg_pos_ratio, npos);
        if (negs < p->min_negatives) negs = p->min_negatives;
        return ohem_walk(s, loss, boxes, mark, n, p->nms, nk, npos + negs, keep);
    }
    nk = ohem_walk(s, loss, boxes, NULL, n, p->nms, 0, p->budget < n ? p->budget : n, keep);
    if (p->neg_pos_ratio <= 0 && p->min_negatives <= 0) return nk;
    for (int k = 0; k < nk; k++) npos += pos[keep[k]] != 0;
    int cap = n;
    if (p->neg_pos_ratio > 0) {
        cap = ratio_cap(p->neg_pos_ratio, npos);
        if (cap < p->min_negatives) cap = p->min_negatives;
    }
    int out = 0, negs = 0;
    for (int k = 0; k < nk; k++) {
        int i = keep[k];
        if (!pos[i]) {
            if (negs == cap) continue;
            negs++;
        }
        keep[out++] = i;
    }
    nk = out;
    if (negs >= p->min_negatives) return nk;
    for (int i = 0; i < n; i++) mark[i] = pos[i] != 0;
    for (int k = 0; k < nk; k++) mark[keep[k]] = 1;
    return ohem_walk(s, loss, boxes, mark, n, p->nms, nk, nk + p->min_negatives - negs, keep);
}
