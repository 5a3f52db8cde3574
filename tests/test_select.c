/* test_select.c: ohem_select and ohem_select_policy against brute-force oracles:
 * a full sort and a greedy pass that calls libdarknet's own box_iou. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ohem.h"
#include "oracle.h"

/* Random case: loss with many ties when tie_levels > 0, boxes clustered on a grid so
 * that NMS has work; sometimes identical or empty boxes. */
static void make_case(int n, int tie_levels, int box_kind, float *loss, box *boxes)
{
    for (int i = 0; i < n; i++) {
        loss[i] = tie_levels ? (float)(rng_u32() % tie_levels) * 0.25f : rng_unit() * 10;
        if (box_kind == 1) {
            boxes[i] = (box){0.5f, 0.5f, 0.2f, 0.3f};
        } else {
            float cx = (rng_u32() % 8 + 0.5f) / 8, cy = (rng_u32() % 8 + 0.5f) / 8;
            boxes[i].x = cx + (rng_unit() - 0.5f) * 0.1f;
            boxes[i].y = cy + (rng_unit() - 0.5f) * 0.1f;
            boxes[i].w = box_kind == 2 && rng_u32() % 10 == 0 ? 0 : 0.05f + rng_unit() * 0.3f;
            boxes[i].h = 0.05f + rng_unit() * 0.3f;
        }
    }
}

static void expect_same(const int *got, int ngot, const int *want, int nwant, const char *what)
{
    if (ngot != nwant) fail_msg("%s: kept %d, oracle kept %d", what, ngot, nwant);
    for (int k = 0; k < nwant; k++)
        if (got[k] != want[k]) fail_msg("%s: keep[%d] = %d, oracle %d", what, k, got[k], want[k]);
}

static void check_case(int n, int tie_levels, int box_kind, float nms, int max_keep, int null_boxes)
{
    float *loss = malloc((n + 1) * sizeof(float));
    box *boxes = malloc((n + 1) * sizeof(box));
    int *a = malloc((n + 1) * sizeof(int)), *b = malloc((n + 1) * sizeof(int));
    make_case(n, tie_levels, box_kind, loss, boxes);
    const box *bx = null_boxes ? NULL : boxes;
    int na = ohem_select(loss, bx, n, nms, max_keep, a);
    int nb = oracle_select(loss, bx, n, nms, max_keep, b);
    char what[160];
    snprintf(what, sizeof(what), "n=%d ties=%d boxes=%d nms=%g max_keep=%d null=%d", n, tie_levels,
             box_kind, nms, max_keep, null_boxes);
    expect_same(a, na, b, nb, what);
    free(loss);
    free(boxes);
    free(a);
    free(b);
}

static void test_random_small(void **state)
{
    (void)state;
    rng_seed(1);
    static const float nms[] = {0.3f, 0.5f, 0.7f, 0.95f, 1.0f};
    for (int t = 0; t < 3000; t++) {
        int n = rng_u32() % 400;
        int max_keep = (int)(rng_u32() % 6) == 0 ? n + 1 + (int)(rng_u32() % 10) : (int)(rng_u32() % 80);
        check_case(n, rng_u32() % 2 ? 0 : 1 + rng_u32() % 8, rng_u32() % 3, nms[rng_u32() % 5],
                   max_keep, rng_u32() % 8 == 0);
    }
}

static void test_random_large(void **state)
{
    (void)state;
    rng_seed(2);
    static const int ns[] = {2535, 10647, 22743, 25000};
    for (int t = 0; t < 16; t++) {
        int n = ns[t % 4];
        check_case(n, t % 3 == 0 ? 50 : 0, t % 2 ? 0 : 2, t % 5 == 4 ? 1.0f : 0.7f,
                   t % 4 == 3 ? 512 : 64 << (t % 3), t % 7 == 6);
    }
    check_case(25000, 0, 0, 1.0f, 30000, 0);
    check_case(20000, 4, 0, 0.9f, 2000, 0);
}

static void test_edges(void **state)
{
    (void)state;
    float loss[4] = {1, 3, 3, 2};
    box boxes[4] = {{0.5f, 0.5f, 0.2f, 0.2f}, {0.5f, 0.5f, 0.2f, 0.2f}, {0.5f, 0.5f, 0.2f, 0.2f}, {0.1f, 0.1f, 0.1f, 0.1f}};
    int keep[8];
    assert_int_equal(ohem_select(loss, boxes, 0, 0.7f, 10, keep), 0);
    assert_int_equal(ohem_select(loss, boxes, 4, 0.7f, 0, keep), 0);
    /* ties: lower index first; identical boxes suppress each other */
    assert_int_equal(ohem_select(loss, boxes, 4, 0.7f, 10, keep), 2);
    assert_int_equal(keep[0], 1);
    assert_int_equal(keep[1], 3);
    /* nms 1: no NMS, even for identical boxes */
    assert_int_equal(ohem_select(loss, boxes, 4, 1.0f, 10, keep), 4);
    int want[4] = {1, 2, 3, 0};
    assert_memory_equal(keep, want, sizeof(want));
    /* NULL boxes: no NMS */
    assert_int_equal(ohem_select(loss, NULL, 4, 0.1f, 3, keep), 3);
    assert_memory_equal(keep, want, 3 * sizeof(int));
    /* IoU exactly at the threshold is kept: dropped only when greater */
    box half[2] = {{1.5f, 0.5f, 3, 1}, {2.5f, 0.5f, 3, 1}};
    float l2[2] = {2, 1};
    assert_true(box_iou(half[0], half[1]) == 0.5f);
    assert_int_equal(ohem_select(l2, half, 2, 0.5f, 2, keep), 2);
    assert_int_equal(ohem_select(l2, half, 2, 0.49f, 2, keep), 1);
    /* NaN ranks first */
    float lnan[3] = {1, NAN, 2};
    assert_int_equal(ohem_select(lnan, NULL, 3, 1, 3, keep), 3);
    assert_int_equal(keep[0], 1);
    assert_int_equal(keep[1], 2);
}

static void test_policy_random(void **state)
{
    (void)state;
    rng_seed(3);
    for (int t = 0; t < 2000; t++) {
        int n = rng_u32() % 300;
        float *loss = malloc((n + 1) * sizeof(float));
        box *boxes = malloc((n + 1) * sizeof(box));
        unsigned char *pos = calloc(n + 1, 1), *mark = malloc(n + 1);
        int *a = malloc((n + 1) * sizeof(int)), *b = malloc((n + 1) * sizeof(int));
        make_case(n, rng_u32() % 2 ? 0 : 6, 0, loss, boxes);
        int ppos = rng_u32() % 4;
        for (int i = 0; i < n; i++) pos[i] = ppos && rng_u32() % (4 * ppos + 1) == 0;
        ohem_policy p = {(int)(rng_u32() % 40) + 1, rng_u32() % 3 ? 0.7f : 1.0f, (int)(rng_u32() % 2),
                         rng_u32() % 2 ? 0 : (float)(rng_u32() % 7) * 0.5f, rng_u32() % 2 ? 0 : (int)(rng_u32() % 10)};
        ohem_scratch s;
        assert_int_equal(ohem_scratch_init(&s, n), 0);
        int na = ohem_select_policy(&s, &p, loss, boxes, pos, mark, n, a);
        int nb = oracle_policy(&p, loss, boxes, pos, n, b);
        char what[200];
        snprintf(what, sizeof(what), "policy n=%d budget=%d nms=%g keep_pos=%d ratio=%g min_neg=%d", n,
                 p.budget, p.nms, p.keep_positives, p.neg_pos_ratio, p.min_negatives);
        expect_same(a, na, b, nb, what);
        ohem_scratch_free(&s);
        free(loss);
        free(boxes);
        free(pos);
        free(mark);
        free(a);
        free(b);
    }
}

/* Hand-made policy cases, each option changing the answer as documented. */
static void test_policy_cases(void **state)
{
    (void)state;
    /* candidates 0..7, losses descending by index; 1 and 5 are positives */
    float loss[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    unsigned char pos[8] = {0, 1, 0, 0, 0, 1, 0, 0}, mark[8];
    int keep[8];
    ohem_scratch s;
    assert_int_equal(ohem_scratch_init(&s, 8), 0);
    ohem_policy p = {3, 1.0f, 0, 0, 0};
    assert_int_equal(ohem_select_policy(&s, &p, loss, NULL, pos, mark, 8, keep), 3);
    int w1[] = {0, 1, 2};
    assert_memory_equal(keep, w1, sizeof(w1));
    p.keep_positives = 1; /* positives first, then 3 negatives */
    assert_int_equal(ohem_select_policy(&s, &p, loss, NULL, pos, mark, 8, keep), 5);
    int w2[] = {1, 5, 0, 2, 3};
    assert_memory_equal(keep, w2, sizeof(w2));
    p.neg_pos_ratio = 0.5f; /* ceil(0.5 x 2) = 1 negative */
    assert_int_equal(ohem_select_policy(&s, &p, loss, NULL, pos, mark, 8, keep), 3);
    int w3[] = {1, 5, 0};
    assert_memory_equal(keep, w3, sizeof(w3));
    p.keep_positives = 0; /* walk keeps 0,1,2: P = 1, cap 1 negative */
    assert_int_equal(ohem_select_policy(&s, &p, loss, NULL, pos, mark, 8, keep), 2);
    int w4[] = {0, 1};
    assert_memory_equal(keep, w4, sizeof(w4));
    p.min_negatives = 3; /* cap rises to 3: 0, 1, 2 and then 3 from the extended walk */
    assert_int_equal(ohem_select_policy(&s, &p, loss, NULL, pos, mark, 8, keep), 4);
    int w5[] = {0, 1, 2, 3};
    assert_memory_equal(keep, w5, sizeof(w5));
    unsigned char none[8] = {0};
    p.neg_pos_ratio = 1; /* no positives at all: min_negatives still holds */
    p.min_negatives = 2;
    assert_int_equal(ohem_select_policy(&s, &p, loss, NULL, none, mark, 8, keep), 2);
    ohem_scratch_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random_small),
        cmocka_unit_test(test_random_large),
        cmocka_unit_test(test_policy_cases),
        cmocka_unit_test(test_policy_random),
    };
    return cmocka_run_group_tests_name("ohem_select", tests, NULL, NULL);
}
