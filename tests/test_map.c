/* test_map.c: AP and mAP on hand-computed cases, and against a second computation
 * on random cases: matching per image, precision and recall recounted at every
 * rank, the envelope taken by a nested maximum. Box clipping (VOC corners and
 * relative boxes) on hand cases and against an interval intersection. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "map.h"
#include "oracle.h"

#define EPS 1e-9

static void test_hand_case(void **state)
{
    (void)state;
    /* two truths; ranks: hit, miss, hit. PR points (1, .5) (.5, .5) (2/3, 1). */
    map_truth t[2] = {{0, 0, {0.2f, 0.2f, 0.2f, 0.2f}, 0}, {0, 0, {0.7f, 0.7f, 0.2f, 0.2f}, 0}};
    map_det d[3] = {{0, 0, 0.9f, {0.2f, 0.2f, 0.2f, 0.2f}}, {0, 0, 0.8f, {0.5f, 0.2f, 0.1f, 0.1f}},
                    {0, 0, 0.7f, {0.7f, 0.7f, 0.2f, 0.2f}}};
    map_class m[1];
    double map = map_evaluate(d, 3, t, 2, 1, 0.5f, 0, 0.75f, m);
    assert_true(fabs(map - (0.5 + 0.5 * 2.0 / 3)) < EPS);
    assert_true(fabs(m[0].ap - map) < EPS);
    /* at -thresh 0.75: the hit and the miss */
    assert_int_equal(m[0].tp, 1);
    assert_int_equal(m[0].fp, 1);
    assert_true(fabs(m[0].precision - 0.5) < EPS && fabs(m[0].recall - 0.5) < EPS);
    /* 11-point: recall 0..0.5 at precision 1 (6 points), 0.6..1 at 2/3 (5 points) */
    map = map_evaluate(d, 3, t, 2, 1, 0.5f, 11, 0.75f, m);
    assert_true(fabs(map - (6 + 5 * 2.0 / 3) / 11) < EPS);
}

static void test_duplicates_and_threshold(void **state)
{
    (void)state;
    map_truth t[1] = {{0, 0, {1.5f, 0.5f, 3, 1}, 0}};
    /* the same truth found twice: the second is a false positive */
    map_det d[2] = {{0, 0, 0.9f, {1.5f, 0.5f, 3, 1}}, {0, 0, 0.8f, {1.5f, 0.5f, 3, 1}}};
    map_class m[1];
    assert_true(fabs(map_evaluate(d, 2, t, 1, 1, 0.5f, 0, 0, m) - 1.0) < EPS);
    assert_int_equal(m[0].tp, 1);
    assert_int_equal(m[0].fp, 1);
    /* IoU exactly 0.5 does not match at -iou 0.5, matches at 0.49 */
    map_det half[1] = {{0, 0, 0.9f, {2.5f, 0.5f, 3, 1}}};
    assert_true(map_evaluate(half, 1, t, 1, 1, 0.5f, 0, 0, m) == 0);
    assert_true(fabs(map_evaluate(half, 1, t, 1, 1, 0.49f, 0, 0, m) - 1.0) < EPS);
    /* another image's truth never matches */
    map_det other[1] = {{1, 0, 0.9f, {1.5f, 0.5f, 3, 1}}};
    assert_true(map_evaluate(other, 1, t, 1, 1, 0.5f, 0, 0, m) == 0);
}

static void test_classes_without_truth(void **state)
{
    (void)state;
    map_truth t[1] = {{0, 1, {0.5f, 0.5f, 0.2f, 0.2f}, 0}};
    map_det d[2] = {{0, 1, 0.9f, {0.5f, 0.5f, 0.2f, 0.2f}}, {0, 0, 0.9f, {0.5f, 0.5f, 0.2f, 0.2f}}};
    map_class m[3];
    double map = map_evaluate(d, 2, t, 1, 3, 0.5f, 0, 0.5f, m);
    assert_true(isnan(m[0].ap) && isnan(m[2].ap));
    assert_true(fabs(map - 1.0) < EPS);
    assert_true(isnan(map_evaluate(d, 2, t, 0, 3, 0.5f, 0, 0.5f, m)));
}

static void test_ignored_truths(void **state)
{
    (void)state;
    /* image 0: a truth and a difficult one; image 1: a difficult one only */
    map_truth t[3] = {{0, 0, {0.2f, 0.2f, 0.2f, 0.2f}, 0}, {0, 0, {0.7f, 0.7f, 0.2f, 0.2f}, 1},
                      {1, 0, {0.5f, 0.5f, 0.4f, 0.4f}, 1}};
    /* ranks: on the difficult box (ignored), a miss, twice on the difficult box of
     * image 1 (ignored both times: a difficult box is never taken), the hit */
    map_det d[5] = {{0, 0, 0.95f, {0.7f, 0.7f, 0.2f, 0.2f}}, {0, 0, 0.9f, {0.5f, 0.2f, 0.1f, 0.1f}},
                    {1, 0, 0.85f, {0.5f, 0.5f, 0.4f, 0.4f}}, {1, 0, 0.84f, {0.5f, 0.5f, 0.38f, 0.4f}},
                    {0, 0, 0.8f, {0.2f, 0.2f, 0.2f, 0.2f}}};
    map_class m[1];
    /* ranked: miss, hit: PR points (0, 0) (.5, 1): AP = 0.5; one positive only */
    double map = map_evaluate(d, 5, t, 3, 1, 0.5f, 0, 0, m);
    assert_true(fabs(map - 0.5) < EPS);
    assert_int_equal(m[0].truths, 1);
    assert_int_equal(m[0].ignored, 3);
    assert_int_equal(m[0].detections, 5);
    assert_int_equal(m[0].tp, 1);
    assert_int_equal(m[0].fp, 1);
    /* without the flags the three are hits and duplicates: a different AP */
    for (int j = 0; j < 3; j++) t[j].ignore = 0;
    assert_true(fabs(map_evaluate(d, 5, t, 3, 1, 0.5f, 0, 0, m) - 0.5) > 0.1);
    /* the best match wins: a detection nearer a real truth than a difficult one
     * that overlaps it is a hit, and a later one on the taken truth a duplicate */
    map_truth u[2] = {{0, 0, {0.5f, 0.5f, 0.4f, 0.4f}, 0}, {0, 0, {0.55f, 0.5f, 0.4f, 0.4f}, 1}};
    map_det e[2] = {{0, 0, 0.9f, {0.5f, 0.5f, 0.4f, 0.4f}}, {0, 0, 0.8f, {0.5f, 0.5f, 0.4f, 0.4f}}};
    map_evaluate(e, 2, u, 2, 1, 0.5f, 0, 0, m);
    assert_int_equal(m[0].tp, 1);
    assert_int_equal(m[0].fp, 1);
    assert_int_equal(m[0].ignored, 0);
    /* a detection below the threshold on a difficult box is a false positive */
    map_det far[1] = {{0, 0, 0.9f, {0.9f, 0.9f, 0.05f, 0.05f}}};
    map_truth v[1] = {{0, 0, {0.85f, 0.85f, 0.2f, 0.2f}, 1}};
    map_evaluate(far, 1, v, 1, 1, 0.5f, 0, 0, m);
    assert_int_equal(m[0].fp, 1);
    assert_int_equal(m[0].truths, 0);
}

/* ---- the second computation ---------------------------------------------------- */

static double oracle_ap(const map_det *d, int nd, const map_truth *t, int nt, int cls, float iou, int points)
{
    int *idx = malloc((nd + 1) * sizeof(int)), n = 0;
    for (int i = 0; i < nd; i++)
        if (d[i].cls == cls) idx[n++] = i;
    /* stable selection sort by score, descending */
    for (int a = 0; a < n; a++) {
        int best = a;
        for (int b = a + 1; b < n; b++)
            if (d[idx[b]].score > d[idx[best]].score) best = b;
        int v = idx[best];
        memmove(idx + a + 1, idx + a, (best - a) * sizeof(int));
        idx[a] = v;
    }
    int total = 0;
    for (int j = 0; j < nt; j++) total += t[j].cls == cls && !t[j].ignore;
    if (!total) {
        free(idx);
        return NAN;
    }
    int *hit = calloc(n + 1, sizeof(int)), *used = calloc(nt + 1, sizeof(int)), kept = 0;
    for (int k = 0; k < n; k++) {
        const map_det *x = &d[idx[k]];
        int best = -1;
        float bi = -1;
        for (int j = 0; j < nt; j++)
            if (t[j].cls == cls && t[j].image == x->image) {
                float v = box_iou(x->b, t[j].b);
                if (v > bi) bi = v, best = j;
            }
        /* a detection whose best truth is an ignored one above the threshold drops out */
        if (best >= 0 && bi > iou && t[best].ignore) continue;
        if (best >= 0 && bi > iou && !used[best]) used[best] = 1, hit[kept] = 1;
        kept++;
    }
    n = kept;
    double ap = 0;
    if (points == 11) {
        for (int s = 0; s <= 10; s++) {
            double m = 0;
            for (int k = 0; k < n; k++) {
                int tp = 0;
                for (int q = 0; q <= k; q++) tp += hit[q];
                if ((double)tp / total >= s / 10.0 && (double)tp / (k + 1) > m) m = (double)tp / (k + 1);
            }
            ap += m / 11;
        }
    } else {
        double prev = 0;
        for (int k = 0; k < n; k++) {
            int tp = 0;
            for (int q = 0; q <= k; q++) tp += hit[q];
            double rec = (double)tp / total, m = 0;
            for (int j = k; j < n; j++) {
                int tpj = 0;
                for (int q = 0; q <= j; q++) tpj += hit[q];
                if ((double)tpj / (j + 1) > m) m = (double)tpj / (j + 1);
            }
            ap += (rec - prev) * m;
            prev = rec;
        }
    }
    free(idx);
    free(hit);
    free(used);
    return ap;
}

/* Negative images (no truth at all): one between images with truths, one past the
 * last of them. Their detections, though boxed exactly like another image's truth,
 * are false positives; ranks FP, TP, FP, TP give precision 0, 1/2, 1/3, 1/2 at recall
 * 0, 1/2, 1/2, 1, so AP = 1/2 x 1/2 + 1/2 x 1/2. */
static void test_negative_images(void **state)
{
    (void)state;
    box a = {0.3f, 0.3f, 0.2f, 0.2f}, b = {0.6f, 0.6f, 0.3f, 0.3f};
    map_truth t[2] = {{0, 0, a}, {2, 0, b}};
    map_det d[4] = {{1, 0, 0.95f, a}, {0, 0, 0.9f, a}, {3, 0, 0.85f, b}, {2, 0, 0.8f, b}};
    map_class m[2];
    double map = map_evaluate(d, 4, t, 2, 2, 0.5f, 0, 0.0f, m);
    assert_true(fabs(m[0].ap - 0.5) < EPS);
    assert_true(fabs(map - 0.5) < EPS);
    assert_int_equal(m[0].tp, 2);
    assert_int_equal(m[0].fp, 2);
    assert_int_equal(m[0].detections, 4);
    /* only negative images: every detection is a false positive, no class has an AP */
    map_det neg[2] = {{0, 1, 0.9f, a}, {1, 1, 0.4f, b}};
    map = map_evaluate(neg, 2, NULL, 0, 2, 0.5f, 0, 0.5f, m);
    assert_true(isnan(map));
    assert_int_equal(m[1].fp, 1);
    assert_int_equal(m[1].tp, 0);
    assert_int_equal(m[1].detections, 2);
    assert_true(isnan(m[1].ap));
    assert_true(fabs(m[1].precision) < EPS);
}

static void test_random_against_oracle(void **state)
{
    (void)state;
    rng_seed(12);
    for (int trial = 0; trial < 300; trial++) {
        int classes = 1 + rng_u32() % 4, images = 1 + rng_u32() % 5;
        int nt = rng_u32() % 20, nd = rng_u32() % 60;
        map_truth *t = malloc((nt + 1) * sizeof(*t));
        map_det *d = malloc((nd + 1) * sizeof(*d));
        for (int j = 0; j < nt; j++)
            t[j] = (map_truth){(int)(rng_u32() % images), (int)(rng_u32() % classes),
                               {rng_unit(), rng_unit(), 0.1f + 0.3f * rng_unit(), 0.1f + 0.3f * rng_unit()},
                               trial % 2 && rng_u32() % 4 == 0};
        for (int i = 0; i < nd; i++) {
            if (nt && rng_u32() % 2) {
                const map_truth *s = &t[rng_u32() % nt];
                d[i] = (map_det){s->image, s->cls, (float)(rng_u32() % 10) / 10,
                                 {s->b.x + 0.05f * (rng_unit() - 0.5f), s->b.y, s->b.w * (0.8f + 0.4f * rng_unit()), s->b.h}};
            } else {
                d[i] = (map_det){(int)(rng_u32() % images), (int)(rng_u32() % classes), rng_unit(),
                                 {rng_unit(), rng_unit(), 0.1f + 0.3f * rng_unit(), 0.1f + 0.3f * rng_unit()}};
            }
        }
        int points = trial % 2 ? 11 : 0;
        float iou = trial % 3 ? 0.5f : 0.3f;
        map_class *m = malloc(classes * sizeof(*m));
        double map = map_evaluate(d, nd, t, nt, classes, iou, points, 0.5f, m);
        double sum = 0;
        int counted = 0;
        for (int c = 0; c < classes; c++) {
            double want = oracle_ap(d, nd, t, nt, c, iou, points);
            if (isnan(want) != isnan(m[c].ap) || (!isnan(want) && fabs(want - m[c].ap) > 1e-9))
                fail_msg("trial %d class %d: AP %g, oracle %g", trial, c, m[c].ap, want);
            if (!isnan(want)) sum += want, counted++;
        }
        if (counted ? fabs(map - sum / counted) > 1e-9 : !isnan(map)) fail_msg("trial %d: mAP %g", trial, map);
        free(t);
        free(d);
        free(m);
    }
}

/* Hand cases of the VOC corners on a 100 x 50 image: inside, sticking out on
 * each side, covering it all, and wholly outside on each side (nothing left). */
static void test_voc_corners_hand(void **state)
{
    (void)state;
    static const struct {
        box b;
        int kept;
        float want[4];
    } cases[] = {
        {{0.5f, 0.5f, 0.2f, 0.4f}, 1, {41, 16, 61, 36}},
        {{0.05f, 0.1f, 0.2f, 0.4f}, 1, {1, 1, 16, 16}},      /* out left and top */
        {{0.95f, 0.9f, 0.2f, 0.4f}, 1, {86, 36, 100, 50}},   /* out right and bottom */
        {{0.5f, 0.5f, 3, 3}, 1, {1, 1, 100, 50}},            /* out on every side */
        {{0.93f, -0.5f, 0.1f, 0.2f}, 0, {0}},                /* above: ymax -19 before clipping */
        {{0.5f, 1.5f, 0.2f, 0.2f}, 0, {0}},                  /* below */
        {{-0.5f, 0.5f, 0.2f, 0.2f}, 0, {0}},                 /* left */
        {{1.5f, 0.5f, 0.2f, 0.2f}, 0, {0}},                  /* right: xmin 141 before clipping */
        {{0.5f, 0.5f, 0, 0.2f}, 0, {0}},                     /* zero width */
        {{0.5f, 0.5f, NAN, 0.2f}, 0, {0}},
        {{0.5f, INFINITY, 0.2f, 0.2f}, 0, {0}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        float got[4] = {-7, -7, -7, -7};
        int kept = map_voc_corners(cases[i].b, 100, 50, got);
        if (kept != cases[i].kept) fail_msg("case %zu: kept %d, expected %d", i, kept, cases[i].kept);
        for (int k = 0; kept && k < 4; k++)
            if (fabsf(got[k] - cases[i].want[k]) > 1e-4f)
                fail_msg("case %zu: corner %d is %g, expected %g", i, k, got[k], cases[i].want[k]);
    }
}

/* Hand cases of the relative clip: a box out left keeps its right part, one out
 * below its top part, one wholly outside vanishes. */
static void test_clip_box_hand(void **state)
{
    (void)state;
    box c;
    assert_int_equal(map_clip_box((box){0.1f, 0.5f, 0.4f, 0.2f}, &c), 1);
    assert_true(fabsf(c.x - 0.15f) < 1e-6f && fabsf(c.w - 0.3f) < 1e-6f && fabsf(c.y - 0.5f) < 1e-6f && fabsf(c.h - 0.2f) < 1e-6f);
    assert_int_equal(map_clip_box((box){0.5f, 0.9f, 0.2f, 0.4f}, &c), 1);
    assert_true(fabsf(c.y - 0.85f) < 1e-6f && fabsf(c.h - 0.3f) < 1e-6f);
    assert_int_equal(map_clip_box((box){0.5f, 0.5f, 5, 5}, &c), 1);
    assert_true(fabsf(c.x - 0.5f) < 1e-6f && fabsf(c.w - 1) < 1e-6f && fabsf(c.h - 1) < 1e-6f);
    assert_int_equal(map_clip_box((box){0.5f, -0.3f, 0.2f, 0.2f}, &c), 0);
    assert_int_equal(map_clip_box((box){1.2f, 0.5f, 0.2f, 0.2f}, &c), 0);
    assert_int_equal(map_clip_box((box){0.5f, 0.5f, 0.2f, -0.1f}, &c), 0);
    assert_int_equal(map_clip_box((box){NAN, 0.5f, 0.2f, 0.2f}, &c), 0);
}

/* Random boxes, many sticking out on one side or both, against a second
 * computation: the box's interval intersected with the image's (the larger start,
 * the smaller end), empty when the end is not past the start. Every kept box has
 * 1 <= xmin <= xmax <= w and 1 <= ymin <= ymax <= h. */
static void test_clip_random_against_intersection(void **state)
{
    (void)state;
    rng_seed(31);
    for (int trial = 0; trial < 20000; trial++) {
        int w = 1 + rng_u32() % 1000, h = 1 + rng_u32() % 1000;
        box b = {3 * rng_unit() - 1, 3 * rng_unit() - 1, 2 * rng_unit(), 2 * rng_unit()};
        float got[4];
        int kept = map_voc_corners(b, w, h, got);
        float l = (b.x - b.w / 2) * w + 1, r = (b.x + b.w / 2) * w + 1;
        float t = (b.y - b.h / 2) * h + 1, bo = (b.y + b.h / 2) * h + 1;
        float x0 = l > 1 ? l : 1, x1 = r < w ? r : w, y0 = t > 1 ? t : 1, y1 = bo < h ? bo : h;
        int want = x1 > x0 && y1 > y0;
        if (kept != want) fail_msg("trial %d: kept %d, intersection says %d", trial, kept, want);
        if (kept && (got[0] != x0 || got[1] != y0 || got[2] != x1 || got[3] != y1))
            fail_msg("trial %d: (%g %g %g %g), intersection (%g %g %g %g)", trial, got[0], got[1], got[2], got[3], x0, y0, x1, y1);
        if (kept && !(got[0] >= 1 && got[0] <= got[2] && got[2] <= w && got[1] >= 1 && got[1] <= got[3] && got[3] <= h))
            fail_msg("trial %d: (%g %g %g %g) outside the %dx%d image or inverted", trial, got[0], got[1], got[2], got[3], w, h);
        box c;
        kept = map_clip_box(b, &c);
        float lr = b.x - b.w / 2, rr = b.x + b.w / 2, tr = b.y - b.h / 2, br = b.y + b.h / 2;
        float u0 = lr > 0 ? lr : 0, u1 = rr < 1 ? rr : 1, v0 = tr > 0 ? tr : 0, v1 = br < 1 ? br : 1;
        want = u1 > u0 && v1 > v0;
        if (kept != want) fail_msg("trial %d: relative clip kept %d, intersection says %d", trial, kept, want);
        if (kept && (fabsf(c.x - (u0 + u1) / 2) > 1e-6f || fabsf(c.w - (u1 - u0)) > 1e-6f ||
                     fabsf(c.y - (v0 + v1) / 2) > 1e-6f || fabsf(c.h - (v1 - v0)) > 1e-6f))
            fail_msg("trial %d: relative clip (%g %g %g %g)", trial, c.x, c.y, c.w, c.h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_case),
        cmocka_unit_test(test_duplicates_and_threshold),
        cmocka_unit_test(test_classes_without_truth),
        cmocka_unit_test(test_ignored_truths),
        cmocka_unit_test(test_negative_images),
        cmocka_unit_test(test_random_against_oracle),
        cmocka_unit_test(test_voc_corners_hand),
        cmocka_unit_test(test_clip_box_hand),
        cmocka_unit_test(test_clip_random_against_intersection),
    };
    return cmocka_run_group_tests_name("map", tests, NULL, NULL);
}
