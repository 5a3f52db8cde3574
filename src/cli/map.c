/* map.c: VOC average precision. */
#include "map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* x clamped to [lo, hi] */
static float clampf(float x, float lo, float hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

int map_clip_box(box b, box *out)
{
    float l = b.x - b.w / 2, r = b.x + b.w / 2, t = b.y - b.h / 2, bo = b.y + b.h / 2;
    if (!isfinite(l) || !isfinite(r) || !isfinite(t) || !isfinite(bo)) return 0;
    l = clampf(l, 0, 1), r = clampf(r, 0, 1), t = clampf(t, 0, 1), bo = clampf(bo, 0, 1);
    if (!(r > l && bo > t)) return 0;
    *out = (box){(l + r) / 2, (t + bo) / 2, r - l, bo - t};
    return 1;
}

int map_voc_corners(box b, int w, int h, float out[4])
{
    float xmin = (b.x - b.w / 2) * w + 1, xmax = (b.x + b.w / 2) * w + 1;
    float ymin = (b.y - b.h / 2) * h + 1, ymax = (b.y + b.h / 2) * h + 1;
    if (!isfinite(xmin) || !isfinite(xmax) || !isfinite(ymin) || !isfinite(ymax)) return 0;
    xmin = clampf(xmin, 1, w), xmax = clampf(xmax, 1, w);
    ymin = clampf(ymin, 1, h), ymax = clampf(ymax, 1, h);
    if (!(xmax > xmin && ymax > ymin)) return 0;
    out[0] = xmin, out[1] = ymin, out[2] = xmax, out[3] = ymax;
    return 1;
}

static const map_det *sort_dets;

/* Descending score; ties keep input order. */
static int by_score(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    float x = sort_dets[i].score, y = sort_dets[j].score;
    if (x != y) return x > y ? -1 : 1;
    return i - j;
}

void map_sort_by_score(const map_det *dets, int *order, int n)
{
    sort_dets = dets;
    qsort(order, n, sizeof(int), by_score);
}

/* AP from the precision/recall points of one class, in ranked order. */
static double average_precision(const double *prec, const double *rec, int n, int points)
{
    if (points == 11) {
        double ap = 0;
        for (int t = 0; t <= 10; t++) {
            double best = 0;
            for (int k = 0; k < n; k++)
                if (rec[k] >= t / 10.0 && prec[k] > best) best = prec[k];
            ap += best / 11;
        }
        return ap;
    }
    /* all points: the area under the precision envelope */
    double ap = 0, envelope = 0;
    for (int k = n - 1; k >= 0; k--) {
        if (prec[k] > envelope) envelope = prec[k];
        double prev_rec = k > 0 ? rec[k - 1] : 0;
        ap += (rec[k] - prev_rec) * envelope;
    }
    return ap;
}

double map_evaluate(const map_det *dets, int ndets, const map_truth *truths, int ntruths,
                    int classes, float iou_thresh, int points, float score_thresh, map_class *out)
{
    /* truths grouped by image: byimg[start[i] .. start[i + 1]) are image i's */
    int images = 0;
    for (int t = 0; t < ntruths; t++)
        if (truths[t].image + 1 > images) images = truths[t].image + 1;
    int *order = malloc((ndets + 1) * sizeof(int)), *start = calloc(images + 2, sizeof(int));
    int *byimg = malloc((ntruths + 1) * sizeof(int));
    unsigned char *taken = calloc(ntruths + 1, 1);
    double *prec = malloc((ndets + 1) * sizeof(double)), *rec = malloc((ndets + 1) * sizeof(double));
    if (!order || !start || !byimg || !taken || !prec || !rec) {
        free(order), free(start), free(byimg), free(taken), free(prec), free(rec);
        return -2;
    }
    for (int t = 0; t < ntruths; t++) start[truths[t].image + 1]++;
    for (int i = 0; i < images; i++) start[i + 1] += start[i];
    int *fill = malloc((images + 1) * sizeof(int));
    if (!fill) {
        free(order), free(start), free(byimg), free(taken), free(prec), free(rec);
        return -2;
    }
    memcpy(fill, start, (images + 1) * sizeof(int));
    for (int t = 0; t < ntruths; t++) byimg[fill[truths[t].image]++] = t;
    free(fill);
    double sum = 0;
    int counted = 0;
    for (int c = 0; c < classes; c++) {
        map_class *m = &out[c];
        memset(m, 0, sizeof(*m));
        for (int t = 0; t < ntruths; t++) m->truths += truths[t].cls == c && !truths[t].ignore;
        int n = 0;
        for (int i = 0; i < ndets; i++)
            if (dets[i].cls == c) order[n++] = i;
        map_sort_by_score(dets, order, n);
        memset(taken, 0, ntruths);
        int tp = 0, fp = 0, ranked = 0;
        for (int k = 0; k < n; k++) {
            const map_det *d = &dets[order[k]];
            int best = -1;
            float best_iou = 0;
            int lo = d->image >= 0 && d->image < images ? start[d->image] : 0;
            int hi = d->image >= 0 && d->image < images ? start[d->image + 1] : 0;
            for (int q = lo; q < hi; q++) {
                int t = byimg[q];
                if (truths[t].cls != c) continue;
                float iou = box_iou(d->b, truths[t].b);
                if (best < 0 || iou > best_iou) best = t, best_iou = iou;
            }
            if (best >= 0 && best_iou > iou_thresh && truths[best].ignore) {
                m->ignored++;
                continue;
            }
            int hit = best >= 0 && best_iou > iou_thresh && !taken[best];
            if (hit) taken[best] = 1;
            tp += hit;
            fp += !hit;
            if (d->score >= score_thresh) {
                m->tp += hit;
                m->fp += !hit;
            }
            prec[ranked] = (double)tp / (tp + fp);
            rec[ranked++] = m->truths ? (double)tp / m->truths : 0;
        }
        m->detections = n;
        m->precision = m->tp + m->fp ? (double)m->tp / (m->tp + m->fp) : NAN;
        m->recall = m->truths ? (double)m->tp / m->truths : NAN;
        m->ap = m->truths ? average_precision(prec, rec, ranked, points) : NAN;
        if (m->truths) sum += m->ap, counted++;
    }
    free(order), free(start), free(byimg), free(taken), free(prec), free(rec);
    return counted ? sum / counted : NAN;
}
