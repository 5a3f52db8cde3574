/* map.c: VOC average precision. */
#include "map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const map_det *sort_dets;

/* Descending score; ties keep input order. */
static int by_score(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    float x = sort_dets[i].score, y = sort_dets[j].score;
    if (x != y) return x > y ? -1 : 1;
    return i - j;
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
        sort_dets = dets;
        qsort(order, n, sizeof(int), by_score);
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
