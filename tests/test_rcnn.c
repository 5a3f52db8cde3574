/* test_rcnn.c: the two-stage detector's math (src/core/rcnn.h) held to what its header
 * says, each function against a second, simpler computation written here: hand-made
 * cases, a brute-force IoU matrix in double precision with the test's own IoU,
 * central finite differences in double of losses written out again, a plain
 * decode + clip + sort + greedy NMS for the proposals, splitmix64's published
 * outputs, sampling frequencies against their binomial spread, and truth rows read
 * back by hand (rcnn_truths). Randomness: the
 * seeded generator of oracle.h, a fixed seed per test.
 *
 * Tolerances: a float result against a double oracle, 1e-5 relative (float keeps
 * 6e-8; the functions do a handful of operations); a threshold decision (IoU against
 * fg_iou, an NMS test, a size against min_w) whose double value lies within 1e-6 of
 * the threshold is ambiguous in float and is not checked, and each random test
 * asserts that such cases are rare, so that it cannot pass by checking nothing. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rcnn.h"
#include "oracle.h"

#define REL_TOL 1e-5
#define AMBIG 1e-6
#define CLAMP_D 4.1351665567423558 /* log(1000 / 16) */

/* |got - want| <= tol * max(1, |want|), else the test fails saying what differs. */
static void near(double got, double want, double tol, const char *what)
{
    double err = fabs(got - want), lim = tol * (fabs(want) > 1 ? fabs(want) : 1);
    if (!(err <= lim)) fail_msg("%s: got %.9g, want %.9g (|diff| %.3g > %.3g)", what, got, want, err, lim);
}

static void near_box(box got, box want, double tol, const char *what)
{
    char m[200];
    snprintf(m, sizeof(m), "%s .x", what), near(got.x, want.x, tol, m);
    snprintf(m, sizeof(m), "%s .y", what), near(got.y, want.y, tol, m);
    snprintf(m, sizeof(m), "%s .w", what), near(got.w, want.w, tol, m);
    snprintf(m, sizeof(m), "%s .h", what), near(got.h, want.h, tol, m);
}

static double uni(double lo, double hi) { return lo + (hi - lo) * rng_unit(); }

/* The test's IoU: corners and areas in double. */
static double iou_d(box a, box b)
{
    double al = (double)a.x - a.w / 2.0, ar = (double)a.x + a.w / 2.0;
    double at = (double)a.y - a.h / 2.0, ab = (double)a.y + a.h / 2.0;
    double bl = (double)b.x - b.w / 2.0, br = (double)b.x + b.w / 2.0;
    double bt = (double)b.y - b.h / 2.0, bb = (double)b.y + b.h / 2.0;
    double w = fmin(ar, br) - fmax(al, bl), h = fmin(ab, bb) - fmax(at, bt);
    double inter = w > 0 && h > 0 ? w * h : 0;
    return inter / ((double)a.w * a.h + (double)b.w * b.h - inter);
}

static box rand_box(double wlo, double whi)
{
    box b = {(float)uni(0, 1), (float)uni(0, 1), (float)uni(wlo, whi), (float)uni(wlo, whi)};
    return b;
}

/* A box on the 1/64 grid (sizes on the 1/32 grid): every corner, area and
 * intersection is exact in float, so equal IoUs are equal bit for bit there too. */
static box dyadic_box(void)
{
    box b = {(float)(rng_u32() % 65) / 64, (float)(rng_u32() % 65) / 64,
             (float)(1 + rng_u32() % 16) / 32, (float)(1 + rng_u32() % 16) / 32};
    return b;
}

/* ---- rcnn_encode / rcnn_decode ---- */

static void test_encode_hand(void **state)
{
    (void)state;
    box ref = {0.5f, 0.5f, 0.2f, 0.4f}, gt = {0.6f, 0.3f, 0.4f, 0.1f};
    float d[4];
    rcnn_encode(ref, gt, NULL, d);
    double want[4] = {0.5, -0.5, log(2.0), log(0.25)};
    const char *nm[4] = {"dx", "dy", "dw", "dh"};
    for (int k = 0; k < 4; k++) near(d[k], want[k], REL_TOL, nm[k]);
    static const float std[4] = {0.1f, 0.1f, 0.2f, 0.2f};
    rcnn_encode(ref, gt, std, d);
    double wstd[4] = {5, -5, log(2.0) / 0.2, log(0.25) / 0.2};
    for (int k = 0; k < 4; k++) near(d[k], wstd[k], REL_TOL, nm[k]);
    /* decode by hand: (1, -0.5, log 3, 0) of ref */
    float e[4] = {1, -0.5f, logf(3), 0};
    near_box(rcnn_decode(ref, e, NULL), (box){0.7f, 0.3f, 0.6f, 0.4f}, REL_TOL, "decode(1,-0.5,log3,0)");
    /* with std: (10, -5, log 3 / 0.2, 0) is the same after std */
    float es[4] = {10, -5, logf(3) / 0.2f, 0};
    near_box(rcnn_decode(ref, es, std), (box){0.7f, 0.3f, 0.6f, 0.4f}, REL_TOL, "decode with std");
    /* identity */
    float z[4] = {0, 0, 0, 0};
    near_box(rcnn_decode(ref, z, NULL), ref, 0, "decode(0)");
    rcnn_encode(ref, ref, std, d);
    for (int k = 0; k < 4; k++) near(d[k], 0, 0, "encode(ref, ref)");
}

static void test_roundtrip_random(void **state)
{
    (void)state;
    static const float std[4] = {0.1f, 0.1f, 0.2f, 0.2f};
    rng_seed(11);
    for (int t = 0; t < 20000; t++) {
        box ref = rand_box(0.01, 1);
        /* within the clamp: ratios of size up to 20 either way */
        box gt = {(float)uni(-0.5, 1.5), (float)uni(-0.5, 1.5), ref.w * (float)exp(uni(-3, 3)),
                  ref.h * (float)exp(uni(-3, 3))};
        const float *s = t % 2 ? std : NULL;
        float d[4];
        rcnn_encode(ref, gt, s, d);
        box back = rcnn_decode(ref, d, s);
        char m[160];
        snprintf(m, sizeof(m), "case %d std=%d ref (%g %g %g %g) gt (%g %g %g %g)", t, s != NULL, ref.x,
                 ref.y, ref.w, ref.h, gt.x, gt.y, gt.w, gt.h);
        /* x: error of one delta (~6e-8 relative) times ref.w, on top of |gt.x| */
        near(back.x, gt.x, 1e-5, m);
        near(back.y, gt.y, 1e-5, m);
        near(back.w / gt.w, 1, 1e-5, m);
        near(back.h / gt.h, 1, 1e-5, m);
        /* encode against the formula in double */
        double want[4] = {((double)gt.x - ref.x) / ref.w, ((double)gt.y - ref.y) / ref.h,
                          log((double)gt.w / ref.w), log((double)gt.h / ref.h)};
        for (int k = 0; k < 4; k++) {
            if (s) want[k] /= s[k];
            /* absolute for logs near 0; dx's error scales with |gt.x - ref.x| / ref.w */
            near(d[k], want[k], 1e-5, m);
        }
    }
}

static void test_decode_clamp_nan(void **state)
{
    (void)state;
    static const float std[4] = {0.1f, 0.1f, 0.2f, 0.2f};
    box ref = {0.5f, 0.5f, 0.1f, 0.05f};
    double cw = ref.w * exp(CLAMP_D), ch = ref.h * exp(CLAMP_D); /* = ref x 62.5 */
    near(cw / ref.w, 62.5, 1e-12, "log(1000/16) constant");
    /* above the clamp: exactly the clamp, not exp(d) */
    float big[4] = {0, 0, 5, 10};
    box b = rcnn_decode(ref, big, NULL);
    near(b.w, cw, REL_TOL, "dw 5 clamped");
    near(b.h, ch, REL_TOL, "dh 10 clamped");
    /* the clamp is after std: 20 x 0.2 = 4 passes, 25 x 0.2 = 5 is clamped */
    float s1[4] = {0, 0, 20, 25};
    b = rcnn_decode(ref, s1, std);
    near(b.w, ref.w * exp(4.0), REL_TOL, "dw 20 x std 0.2 = 4 not clamped");
    near(b.h, ch, REL_TOL, "dh 25 x std 0.2 = 5 clamped");
    /* just below the clamp passes */
    float below[4] = {0, 0, 4.13f, -30};
    b = rcnn_decode(ref, below, NULL);
    near(b.w, ref.w * exp((double)4.13f), REL_TOL, "dw 4.13 not clamped");
    near(b.h / (ref.h * exp(-30.0)), 1, REL_TOL, "dh -30 (no lower clamp)");
    /* wild values stay finite */
    float wild[4] = {0, 0, INFINITY, 1e30f};
    b = rcnn_decode(ref, wild, NULL);
    near(b.w, cw, REL_TOL, "dw +inf");
    near(b.h, ch, REL_TOL, "dh 1e30");
    float ninf[4] = {0, 0, -INFINITY, -1e30f};
    b = rcnn_decode(ref, ninf, NULL);
    if (!(b.w == 0 && b.h == 0)) fail_msg("dw, dh -inf: w %g h %g, want 0 0", b.w, b.h);
    /* NaN: a NaN dw or dh cannot overflow either (w, h finite, within ref x 62.5); a
     * NaN dx or dy gives a NaN centre, which rcnn_proposals drops (checked there). */
    float nan4[4] = {NAN, NAN, NAN, NAN};
    for (int s = 0; s < 2; s++) {
        b = rcnn_decode(ref, nan4, s ? std : NULL);
        if (!(isfinite(b.w) && isfinite(b.h) && b.w >= 0 && b.h >= 0 && b.w <= cw * (1 + 1e-6) &&
              b.h <= ch * (1 + 1e-6)))
            fail_msg("NaN dw/dh (std %d): w %g h %g, want finite in [0, %g] x [0, %g]", s, b.w, b.h, cw, ch);
        if (!isnan(b.x) || !isnan(b.y)) fail_msg("NaN dx/dy (std %d): centre (%g, %g), want NaN", s, b.x, b.y);
    }
    float nstd[4] = {0, 0, 1, 1};
    float nanstd[4] = {0.1f, 0.1f, NAN, 0.2f};
    b = rcnn_decode(ref, nstd, nanstd);
    if (!(isfinite(b.w) && b.w <= cw * (1 + 1e-6)))
        fail_msg("NaN std on dw: w %g, want finite <= %g", b.w, cw);
}

/* ---- rcnn_clip, rcnn_corners, rcnn_anchors ---- */

static void test_clip_corners_hand(void **state)
{
    (void)state;
    /* 0.4 = 0.7 - 0.3 after one rounding each: 1e-6 */
    near_box(rcnn_clip((box){0.5f, 0.5f, 0.4f, 0.4f}), (box){0.5f, 0.5f, 0.4f, 0.4f}, 1e-6, "inside");
    near_box(rcnn_clip((box){0.125f, 0.5f, 0.5f, 0.25f}), (box){0.1875f, 0.5f, 0.375f, 0.25f}, 0, "left edge");
    near_box(rcnn_clip((box){0.875f, 0.9375f, 0.5f, 0.25f}), (box){0.8125f, 0.90625f, 0.375f, 0.1875f}, 0,
             "right and bottom edges");
    near_box(rcnn_clip((box){0.5f, 0.5f, 3, 3}), (box){0.5f, 0.5f, 1, 1}, 0, "covers all");
    box out = rcnn_clip((box){1.5f, 0.5f, 0.25f, 0.25f});
    if (out.w != 0) fail_msg("box right of the image: width %g, want 0", out.w);
    out = rcnn_clip((box){0.5f, -0.5f, 0.25f, 0.25f});
    if (out.h != 0) fail_msg("box above the image: height %g, want 0", out.h);
    /* random, against corners clamped in double */
    rng_seed(12);
    for (int t = 0; t < 20000; t++) {
        box b = {(float)uni(-0.5, 1.5), (float)uni(-0.5, 1.5), (float)uni(0, 1.5), (float)uni(0, 1.5)};
        double x1 = fmin(1, fmax(0, b.x - b.w / 2.0)), x2 = fmin(1, fmax(0, b.x + b.w / 2.0));
        double y1 = fmin(1, fmax(0, b.y - b.h / 2.0)), y2 = fmin(1, fmax(0, b.y + b.h / 2.0));
        box c = rcnn_clip(b);
        char m[120];
        snprintf(m, sizeof(m), "clip case %d (%g %g %g %g)", t, b.x, b.y, b.w, b.h);
        near(c.x - c.w / 2.0, x1, 1e-6, m);
        near(c.x + c.w / 2.0, x2, 1e-6, m);
        near(c.y - c.h / 2.0, y1, 1e-6, m);
        near(c.y + c.h / 2.0, y2, 1e-6, m);
        if (c.w < 0 || c.h < 0) fail_msg("%s: negative size %g %g", m, c.w, c.h);
    }
    float o[4];
    rcnn_corners((box){0.5f, 0.25f, 0.5f, 0.25f}, 64, 32, o);
    float want[4] = {16, 4, 48, 12};
    for (int k = 0; k < 4; k++)
        if (o[k] != want[k]) fail_msg("corners[%d] = %g, want %g", k, o[k], want[k]);
    rcnn_corners((box){0.1f, 0.9f, 0.4f, 0.4f}, 10, 20, o);
    float want2[4] = {-1, 14, 3, 22};
    for (int k = 0; k < 4; k++) near(o[k], want2[k], REL_TOL, "corners of (0.1 0.9 0.4 0.4) on 10 x 20");
}

static void test_anchors_hand(void **state)
{
    (void)state;
    /* 3 wide, 2 high, 2 sizes (16 x 8 and 32 x 48 pixels) on a 64 x 32 network */
    static const float sizes[4] = {16, 8, 32, 48};
    static const box want[12] = {
        {1 / 6.f, 0.25f, 0.25f, 0.25f}, {0.5f, 0.25f, 0.25f, 0.25f}, {5 / 6.f, 0.25f, 0.25f, 0.25f},
        {1 / 6.f, 0.75f, 0.25f, 0.25f}, {0.5f, 0.75f, 0.25f, 0.25f}, {5 / 6.f, 0.75f, 0.25f, 0.25f},
        {1 / 6.f, 0.25f, 0.5f, 1.5f},   {0.5f, 0.25f, 0.5f, 1.5f},   {5 / 6.f, 0.25f, 0.5f, 1.5f},
        {1 / 6.f, 0.75f, 0.5f, 1.5f},   {0.5f, 0.75f, 0.5f, 1.5f},   {5 / 6.f, 0.75f, 0.5f, 1.5f},
    };
    box out[13];
    out[12] = (box){-7, -7, -7, -7};
    rcnn_anchors(3, 2, sizes, 2, 64, 32, out);
    char m[64];
    for (int i = 0; i < 12; i++) snprintf(m, sizeof(m), "3x2 anchor %d", i), near_box(out[i], want[i], 1e-6, m);
    if (out[12].x != -7) fail_msg("rcnn_anchors wrote past A w h");
    /* 2 wide, 3 high: i = a * 6 + y * 2 + x */
    rcnn_anchors(2, 3, sizes, 2, 64, 32, out);
    for (int a = 0; a < 2; a++)
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 2; x++) {
                int i = a * 6 + y * 2 + x;
                box w = {(2 * x + 1) / 4.f, (2 * y + 1) / 6.f, a ? 0.5f : 0.25f, a ? 1.5f : 0.25f};
                snprintf(m, sizeof(m), "2x3 anchor %d (a %d y %d x %d)", i, a, y, x);
                near_box(out[i], w, 1e-6, m);
            }
}

/* ---- rcnn_match, rcnn_rpn_assign, rcnn_roi_label ---- */

static void expect_ints(const int *got, const int *want, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) fail_msg("%s[%d] = %d, want %d", what, i, got[i], want[i]);
}

static void test_match_hand(void **state)
{
    (void)state;
    box truths[3] = {{0.25f, 0.25f, 0.25f, 0.25f}, {0.75f, 0.75f, 0.25f, 0.25f}, {0.75f, 0.75f, 0.25f, 0.25f}};
    box boxes[4] = {{0.75f, 0.75f, 0.25f, 0.25f},   /* equals truths 1 and 2: first */
                    {0.3125f, 0.25f, 0.25f, 0.25f}, /* IoU 0.6 with truth 0 */
                    {0.5f, 0.5f, 0.0625f, 0.0625f}, /* meets none: 0, truth 0 */
                    {0.5f, 0.5f, 0.5f, 0.5f}};      /* (1/64) / (1/4 + 1/16 - 1/64) = 1/19 with 0, 1, 2 */
    float best[4];
    int arg[4];
    rcnn_match(boxes, 4, truths, 3, best, arg);
    float wb[4] = {1, 0.6f, 0, 1 / 19.f};
    int wa[4] = {1, 0, 0, 0};
    for (int i = 0; i < 4; i++) near(best[i], wb[i], 1e-6, "match best");
    expect_ints(arg, wa, 4, "match arg");
    rcnn_match(boxes, 4, truths, 0, best, arg);
    int none[4] = {-1, -1, -1, -1};
    expect_ints(arg, none, 4, "match arg with no truths");
    for (int i = 0; i < 4; i++)
        if (best[i] != 0) fail_msg("match best[%d] with no truths = %g, want 0", i, best[i]);
}

/* What the oracle can say of a float comparison v >= thr: 1 yes, -1 no, 0 too close
 * to tell (exact: v is known to be exact in float too, so v == thr is a yes). */
static int at_least(double v, double thr, int exact)
{
    if ((exact || v == 0) && v == thr) return 1; /* no overlap: 0 in float too */
    if (v >= thr + AMBIG) return 1;
    if (v < thr - AMBIG) return -1;
    return 0;
}

/* The IoU matrix (n x nt) in double. */
static double *iou_matrix(const box *a, int n, const box *t, int nt)
{
    double *m = malloc(((size_t)n * nt + 1) * sizeof(double));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < nt; j++) m[(size_t)i * nt + j] = iou_d(a[i], t[j]);
    return m;
}

/* The best truth of row i, or -2 when two truths are too close to tell apart (-1
 * when nt is 0). */
static int oracle_arg(const double *m, int i, const box *t, int nt, int exact, double *best)
{
    int arg = -1;
    *best = 0;
    for (int j = 0; j < nt; j++)
        if (arg < 0 || m[(size_t)i * nt + j] > *best) *best = m[(size_t)i * nt + j], arg = j;
    for (int j = 0; j < nt; j++) {
        double v = m[(size_t)i * nt + j];
        if (j == arg) continue;
        /* a later truth exactly tied is fine (first wins) when ties are exact */
        if ((exact || !memcmp(&t[j], &t[arg], sizeof(box))) && v == *best) continue;
        if (v == 0 && *best == 0) continue;
        if (fabs(v - *best) < AMBIG) return -2;
    }
    return arg;
}

static void check_match_case(const box *a, int n, const box *t, int nt, int exact, int *checked, int *ambig)
{
    float *best = malloc((n + 1) * sizeof(float));
    int *arg = malloc((n + 1) * sizeof(int));
    rcnn_match(a, n, t, nt, best, arg);
    double *m = iou_matrix(a, n, t, nt);
    for (int i = 0; i < n; i++) {
        double b;
        int w = oracle_arg(m, i, t, nt, exact, &b);
        char msg[120];
        snprintf(msg, sizeof(msg), "match box %d of %d, %d truths, best", i, n, nt);
        near(best[i], b, REL_TOL, msg);
        if (w == -2) {
            (*ambig)++;
            continue;
        }
        (*checked)++;
        if (arg[i] != w) fail_msg("match box %d of %d, %d truths: arg %d, oracle %d (IoU %.9g vs %.9g)", i, n, nt,
                                  arg[i], w, arg[i] >= 0 ? m[(size_t)i * nt + arg[i]] : -1.0, b);
    }
    free(m);
    free(best);
    free(arg);
}

static void test_match_random(void **state)
{
    (void)state;
    rng_seed(13);
    int checked = 0, ambig = 0;
    for (int t = 0; t < 400; t++) {
        int n = rng_u32() % 200, nt = rng_u32() % 12, exact = t % 2;
        box *a = malloc((n + 1) * sizeof(box)), *tr = malloc((nt + 1) * sizeof(box));
        for (int i = 0; i < n; i++) a[i] = exact ? dyadic_box() : rand_box(0.02, 0.6);
        for (int j = 0; j < nt; j++) tr[j] = exact ? dyadic_box() : rand_box(0.02, 0.6);
        /* some truths twice: exact ties, first wins */
        if (nt > 2 && t % 3 == 0) tr[nt - 1] = tr[0];
        check_match_case(a, n, tr, nt, exact, &checked, &ambig);
        free(a);
        free(tr);
    }
    if (checked < 20000 || ambig * 100 > checked)
        fail_msg("match: %d boxes checked, %d ambiguous: too few checked", checked, ambig);
    print_message("match: %d boxes checked, %d too close to tell\n", checked, ambig);
}

static void test_rpn_assign_hand(void **state)
{
    (void)state;
    int label[8], matched[8];
    float best[8], scratch[4];
    /* 1. A truth whose best anchor has IoU 0.6 < fg 0.7: that anchor is still 1. */
    box an1[2] = {{0.25f, 0.25f, 0.25f, 0.25f}, {0.75f, 0.75f, 0.25f, 0.25f}};
    box tr1[1] = {{0.3125f, 0.25f, 0.25f, 0.25f}};
    rcnn_rpn_assign(an1, 2, tr1, 1, 0.7f, 0.3f, label, matched, best, scratch);
    expect_ints(label, (int[]){1, 0}, 2, "case 1 label");
    expect_ints(matched, (int[]){0, 0}, 2, "case 1 matched");
    near(best[0], 0.6, 1e-6, "case 1 best[0]");
    /* 2. Ties: a truth half way between two anchors (IoU 1/3 with each, between bg
     * 0.3 and fg 0.7) gives both; the third anchor meets it at 0 and is background. */
    box an2[3] = {{0.25f, 0.5f, 0.25f, 0.25f}, {0.5f, 0.5f, 0.25f, 0.25f}, {0.875f, 0.125f, 0.125f, 0.125f}};
    box tr2[1] = {{0.375f, 0.5f, 0.25f, 0.25f}};
    rcnn_rpn_assign(an2, 3, tr2, 1, 0.7f, 0.3f, label, matched, best, scratch);
    expect_ints(label, (int[]){1, 1, 0}, 3, "case 2 (tie) label");
    near(best[0], 1 / 3.0, 1e-6, "case 2 best[0]");
    /* 3. An anchor at IoU 0.6 (between bg 0.3 and fg 0.7) of a truth that has an
     * anchor at IoU 1 is -1; one at IoU 0.3333 with bg 0.4 is 0 (best < bg). */
    box an3[4] = {{0.25f, 0.25f, 0.25f, 0.25f}, {0.3125f, 0.25f, 0.25f, 0.25f}, {0.375f, 0.25f, 0.25f, 0.25f},
                  {0.75f, 0.75f, 0.5f, 0.5f}};
    box tr3[2] = {{0.25f, 0.25f, 0.25f, 0.25f}, {0.75f, 0.75f, 0.5f, 0.5f}};
    rcnn_rpn_assign(an3, 4, tr3, 2, 0.7f, 0.4f, label, matched, best, scratch);
    expect_ints(label, (int[]){1, -1, 0, 1}, 4, "case 3 label");
    expect_ints(matched, (int[]){0, 0, 0, 1}, 4, "case 3 matched");
    /* 4. No truths: all 0 when bg_iou > 0, matched -1, best 0. */
    rcnn_rpn_assign(an3, 4, tr3, 0, 0.7f, 0.3f, label, matched, best, scratch);
    expect_ints(label, (int[]){0, 0, 0, 0}, 4, "case 4 (no truths) label");
    expect_ints(matched, (int[]){-1, -1, -1, -1}, 4, "case 4 matched");
    for (int i = 0; i < 4; i++)
        if (best[i] != 0) fail_msg("case 4 best[%d] = %g, want 0", i, best[i]);
    /* 5. A truth that meets no anchor (max IoU 0) makes no anchor positive. */
    box tr5[1] = {{0.0625f, 0.9375f, 0.0625f, 0.0625f}};
    rcnn_rpn_assign(an1, 2, tr5, 1, 0.7f, 0.3f, label, matched, best, scratch);
    expect_ints(label, (int[]){0, 0}, 2, "case 5 (truth meets none) label");
    /* 6. Best >= fg_iou is 1 without being the truth's best; IoU exactly fg (0.5:
     * half the truth's width, same centre) is 1; the max rule of truth 1 adds anchor
     * 3 though its best (IoU 1/4 with truth 1) is below bg. */
    box an6[4] = {{0.25f, 0.25f, 0.25f, 0.25f}, {0.25f, 0.25f, 0.125f, 0.25f}, {0.75f, 0.25f, 0.25f, 0.25f},
                  {0.75f, 0.75f, 0.25f, 0.25f}};
    box tr6[2] = {{0.25f, 0.25f, 0.25f, 0.25f}, {0.75f, 0.75f, 0.5f, 0.5f}};
    rcnn_rpn_assign(an6, 4, tr6, 2, 0.5f, 0.3f, label, matched, best, scratch);
    expect_ints(label, (int[]){1, 1, 0, 1}, 4, "case 6 label");
    expect_ints(matched, (int[]){0, 0, 0, 1}, 4, "case 6 matched");
}

/* rcnn_rpn_assign against the IoU matrix in double; returns in *checked and *ambig
 * how many anchor labels it could and could not decide. */
static void check_assign_case(const box *a, int n, const box *t, int nt, float fg, float bg, int exact,
                              int *checked, int *ambig)
{
    int *label = malloc((n + 1) * sizeof(int)), *matched = malloc((n + 1) * sizeof(int));
    float *best = malloc((n + 1) * sizeof(float)), *scratch = malloc((nt + 1) * sizeof(float));
    rcnn_rpn_assign(a, n, t, nt, fg, bg, label, matched, best, scratch);
    double *m = iou_matrix(a, n, t, nt);
    double *mx = calloc(nt + 1, sizeof(double));
    for (int j = 0; j < nt; j++)
        for (int i = 0; i < n; i++) mx[j] = fmax(mx[j], m[(size_t)i * nt + j]);
    for (int i = 0; i < n; i++) {
        double b;
        int w = oracle_arg(m, i, t, nt, exact, &b);
        char msg[200];
        snprintf(msg, sizeof(msg), "assign anchor %d of %d, %d truths, fg %g bg %g, best", i, n, nt, fg, bg);
        near(best[i], b, REL_TOL, msg);
        if (w != -2 && matched[i] != w)
            fail_msg("assign anchor %d of %d: matched %d, oracle %d", i, n, matched[i], w);
        /* the max rule: 1 yes, 0 unsure, -1 no */
        int maxrule = -1;
        for (int j = 0; j < nt; j++) {
            double v = m[(size_t)i * nt + j];
            int pos = mx[j] > AMBIG ? 1 : mx[j] == 0 ? -1 : 0;
            int top = v == mx[j] ? (exact ? 1 : 0) : v < mx[j] - AMBIG ? -1 : 0;
            /* a unique maximum is a yes even without exactness */
            if (top == 0 && v == mx[j]) {
                int others = 0;
                for (int k = 0; k < n; k++)
                    if (k != i && m[(size_t)k * nt + j] >= mx[j] - AMBIG) others++;
                if (!others) top = 1;
            }
            int r = pos < top ? pos : top;
            if (r > maxrule) maxrule = r;
        }
        int want;
        int ge_fg = at_least(b, fg, exact), ge_bg = at_least(b, bg, exact);
        if (ge_fg == 1 || maxrule == 1) want = 1;
        else if (ge_fg == 0 || maxrule == 0) want = 2;
        else want = ge_bg == -1 ? 0 : ge_bg == 1 ? -1 : 2;
        if (want == 2) {
            (*ambig)++;
            continue;
        }
        (*checked)++;
        if (label[i] != want)
            fail_msg("assign anchor %d of %d, %d truths, fg %g bg %g: label %d, oracle %d (best IoU %.9g, max "
                     "rule %d, matched %d)",
                     i, n, nt, fg, bg, label[i], want, b, maxrule, w);
    }
    free(m);
    free(mx);
    free(label);
    free(matched);
    free(best);
    free(scratch);
}

static void test_rpn_assign_random(void **state)
{
    (void)state;
    rng_seed(14);
    static const float fgs[] = {0.7f, 0.5f, 0.6f}, bgs[] = {0.3f, 0.5f, 0.25f, 0};
    int checked = 0, ambig = 0;
    for (int t = 0; t < 300; t++) {
        int exact = t % 3 == 0, grid = t % 3 == 1;
        int w = 1 + rng_u32() % 10, h = 1 + rng_u32() % 10, A = 1 + rng_u32() % 3;
        int n = grid ? A * w * h : (int)(rng_u32() % 300);
        int nt = rng_u32() % 10;
        box *an = malloc((n + 1) * sizeof(box)), *tr = malloc((nt + 1) * sizeof(box));
        if (grid) {
            /* anchors laid out here, not by rcnn_anchors */
            for (int a = 0; a < A; a++) {
                float aw = (float)uni(0.05, 0.7), ah = (float)uni(0.05, 0.7);
                for (int i = 0; i < w * h; i++)
                    an[a * w * h + i] = (box){(i % w + 0.5f) / w, (i / w + 0.5f) / h, aw, ah};
            }
        } else {
            for (int i = 0; i < n; i++) an[i] = exact ? dyadic_box() : rand_box(0.02, 0.6);
        }
        for (int j = 0; j < nt; j++) tr[j] = exact ? dyadic_box() : rand_box(0.02, 0.6);
        check_assign_case(an, n, tr, nt, fgs[t % 3], bgs[(t / 3) % 4], exact, &checked, &ambig);
        free(an);
        free(tr);
    }
    if (checked < 20000 || ambig * 100 > checked)
        fail_msg("rpn_assign: %d labels checked, %d ambiguous: too few checked", checked, ambig);
    print_message("rpn_assign: %d labels checked, %d too close to tell\n", checked, ambig);
}

static void test_roi_label_hand(void **state)
{
    (void)state;
    /* truth 0 class 3 at (0.5, 0.5), truth 1 class 1 at (0.25, 0.75), both 1/4 wide */
    box tr[2] = {{0.5f, 0.5f, 0.25f, 0.25f}, {0.25f, 0.75f, 0.25f, 0.25f}};
    int cls[2] = {3, 1};
    /* IoU with truth 0 of a same-size box moved by s: (1/4 - s) / (1/4 + s) */
    box rois[7] = {
        {0.25f, 0.75f, 0.25f, 0.25f},    /* 1: truth 1 */
        {0.5625f, 0.5f, 0.25f, 0.25f},   /* 0.6 with truth 0 */
        {0.5f, 0.5f, 0.125f, 0.25f},     /* exactly 0.5 with truth 0 */
        {0.625f, 0.5f, 0.25f, 0.25f},    /* 1/3 */
        {0.71875f, 0.5f, 0.25f, 0.25f},  /* 1/15 */
        {0.9f, 0.1f, 0.1f, 0.1f},        /* 0: meets none */
        {0.5f, 0.5f, 0.5f, 0.5f},        /* 1/4 with truth 0 */
    };
    int label[7], matched[7];
    float best[7];
    int classes = 5;
    /* fg 0.5, background [0.1, 0.5) */
    rcnn_roi_label(rois, 7, tr, cls, 2, 0.5f, 0.1f, 0.5f, classes, label, matched, best);
    expect_ints(label, (int[]){1, 3, 3, 5, -1, -1, 5}, 7, "roi fg 0.5 bg [0.1, 0.5) label");
    expect_ints(matched, (int[]){1, 0, 0, 0, 0, 0, 0}, 7, "roi matched");
    float wb[7] = {1, 0.6f, 0.5f, 1 / 3.f, 1 / 15.f, 0, 0.25f};
    for (int i = 0; i < 7; i++) near(best[i], wb[i], 1e-6, "roi best");
    /* background from 0: IoU 1/15 and 0 are background too */
    rcnn_roi_label(rois, 7, tr, cls, 2, 0.5f, 0, 0.5f, classes, label, matched, best);
    expect_ints(label, (int[]){1, 3, 3, 5, 5, 5, 5}, 7, "roi fg 0.5 bg [0, 0.5) label");
    /* a gap: fg 0.6, background [0, 0.4): 0.5 is ignored, 0.6 is foreground */
    rcnn_roi_label(rois, 7, tr, cls, 2, 0.6f, 0, 0.4f, classes, label, matched, best);
    expect_ints(label, (int[]){1, 3, -1, 5, 5, 5, 5}, 7, "roi fg 0.6 bg [0, 0.4) label");
    /* background's upper end is open: bg_hi 1/4 exactly leaves the 1/4 RoI ignored */
    rcnn_roi_label(rois, 7, tr, cls, 2, 0.5f, 0, 0.25f, classes, label, matched, best);
    expect_ints(label, (int[]){1, 3, 3, -1, 5, 5, -1}, 7, "roi fg 0.5 bg [0, 0.25) label");
    /* no truths: IoU 0 everywhere, background when bg_lo is 0, else ignored */
    rcnn_roi_label(rois, 7, tr, cls, 0, 0.5f, 0, 0.5f, classes, label, matched, best);
    expect_ints(label, (int[]){5, 5, 5, 5, 5, 5, 5}, 7, "roi no truths bg_lo 0 label");
    expect_ints(matched, (int[]){-1, -1, -1, -1, -1, -1, -1}, 7, "roi no truths matched");
    rcnn_roi_label(rois, 7, tr, cls, 0, 0.5f, 0.1f, 0.5f, classes, label, matched, best);
    expect_ints(label, (int[]){-1, -1, -1, -1, -1, -1, -1}, 7, "roi no truths bg_lo 0.1 label");
    /* one class: class 0 and background 1 */
    int one[2] = {0, 0};
    rcnn_roi_label(rois, 7, tr, one, 2, 0.5f, 0.1f, 0.5f, 1, label, matched, best);
    expect_ints(label, (int[]){0, 0, 0, 1, -1, -1, 1}, 7, "roi one class label");
}

static void test_roi_label_random(void **state)
{
    (void)state;
    rng_seed(15);
    int checked = 0, ambig = 0;
    for (int t = 0; t < 400; t++) {
        int exact = t % 2, n = rng_u32() % 200, nt = rng_u32() % 8, classes = 1 + rng_u32() % 20;
        float fg = t % 4 < 2 ? 0.5f : 0.6f, lo = t % 3 ? 0.1f : 0, hi = t % 4 < 2 ? 0.5f : 0.4f;
        box *r = malloc((n + 1) * sizeof(box)), *tr = malloc((nt + 1) * sizeof(box));
        int *tc = malloc((nt + 1) * sizeof(int)), *label = malloc((n + 1) * sizeof(int)),
            *matched = malloc((n + 1) * sizeof(int));
        float *best = malloc((n + 1) * sizeof(float));
        for (int j = 0; j < nt; j++) tr[j] = exact ? dyadic_box() : rand_box(0.05, 0.5), tc[j] = rng_u32() % classes;
        /* RoIs near the truths, so that every band is hit */
        for (int i = 0; i < n; i++) {
            if (nt && rng_u32() % 2) {
                box b = tr[rng_u32() % nt];
                if (exact) b.x += (float)((int)(rng_u32() % 9) - 4) / 64, b.w += (float)(rng_u32() % 5) / 32;
                else b.x += (float)uni(-0.1, 0.1), b.y += (float)uni(-0.1, 0.1), b.w *= (float)uni(0.7, 1.4);
                r[i] = b;
            } else {
                r[i] = exact ? dyadic_box() : rand_box(0.02, 0.6);
            }
        }
        rcnn_roi_label(r, n, tr, tc, nt, fg, lo, hi, classes, label, matched, best);
        double *m = iou_matrix(r, n, tr, nt);
        for (int i = 0; i < n; i++) {
            double b;
            int w = oracle_arg(m, i, tr, nt, exact, &b);
            char msg[200];
            snprintf(msg, sizeof(msg), "roi %d of %d, %d truths, best", i, n, nt);
            near(best[i], b, REL_TOL, msg);
            int f = at_least(b, fg, exact), l = at_least(b, lo, exact), h = at_least(b, hi, exact);
            int want;
            if (w == -2 || f == 0) want = -2;
            else if (f == 1) want = tc[w];
            else if (l == 0 || h == 0) want = -2;
            else want = l == 1 && h == -1 ? classes : -1;
            if (want == -2) {
                ambig++;
                continue;
            }
            checked++;
            if (label[i] != want || matched[i] != w)
                fail_msg("roi %d of %d, %d truths, fg %g bg [%g, %g), %d classes: label %d matched %d, oracle %d "
                         "and %d (IoU %.9g)",
                         i, n, nt, fg, lo, hi, classes, label[i], matched[i], want, w, b);
        }
        free(m);
        free(r);
        free(tr);
        free(tc);
        free(label);
        free(matched);
        free(best);
    }
    if (checked < 20000 || ambig * 100 > checked)
        fail_msg("roi_label: %d checked, %d ambiguous: too few checked", checked, ambig);
    print_message("roi_label: %d labels checked, %d too close to tell\n", checked, ambig);
}

/* ---- rcnn_rand ---- */

static void test_rand(void **state)
{
    (void)state;
    /* splitmix64's published outputs for seed 1234567 (the same five come out of a
     * few-line Python version written from its description) */
    static const uint64_t want[5] = {6457827717110365317ull, 3203168211198807973ull, 9817491932198370423ull,
                                     4593380528125082431ull, 16408922859458223821ull};
    uint64_t st = 1234567;
    for (int i = 0; i < 5; i++) {
        uint64_t v = rcnn_rand(&st);
        if (v != want[i]) fail_msg("rcnn_rand output %d: %llu, want %llu", i, (unsigned long long)v,
                                   (unsigned long long)want[i]);
    }
    /* the state moves by the golden gamma each call */
    if (st != 1234567 + 5 * 0x9e3779b97f4a7c15ull) fail_msg("state after 5 calls: %llu", (unsigned long long)st);
    /* each bit is 1 about half the time: Binomial(N, 1/2) counts, 5 sd = 5 sqrt(N) / 2 */
    enum { N = 100000 };
    int ones[64] = {0};
    st = 42;
    for (int i = 0; i < N; i++) {
        uint64_t v = rcnn_rand(&st);
        for (int b = 0; b < 64; b++) ones[b] += (int)((v >> b) & 1);
    }
    for (int b = 0; b < 64; b++)
        if (fabs(ones[b] - N / 2.0) > 5 * sqrt(N) / 2)
            fail_msg("bit %d set %d times in %d draws, want %d +- %.0f", b, ones[b], N, N / 2, 5 * sqrt(N) / 2);
}

/* ---- rcnn_truths ---- */

static void test_truths(void **state)
{
    (void)state;
    float rows[7][5] = {
        {0.5f, 0.5f, 0.2f, 0.3f, 2}, {0.1f, 0.2f, 0, 0.1f, 1},     /* no width: skipped */
        {0.3f, 0.3f, 0.1f, NAN, 4},  {0.4f, 0.3f, -0.1f, 0.2f, 4}, /* NaN, negative: skipped */
        {0.7f, 0.8f, 0.1f, 0.1f, 0}, {0, 0.5f, 0.1f, 0.1f, 3},     /* x == 0: the end */
        {0.9f, 0.9f, 0.1f, 0.1f, 5},                               /* after the end */
    };
    box b[7];
    int cls[7];
    int n = rcnn_truths(&rows[0][0], 7, b, cls);
    if (n != 2) fail_msg("truths: %d, want 2", n);
    near_box(b[0], (box){0.5f, 0.5f, 0.2f, 0.3f}, 0, "truth 0");
    near_box(b[1], (box){0.7f, 0.8f, 0.1f, 0.1f}, 0, "truth 1");
    expect_ints(cls, (int[]){2, 0}, 2, "truth class");
    if (rcnn_truths(&rows[0][0], 1, b, cls) != 1) fail_msg("max 1: want 1 truth");
    if (rcnn_truths(&rows[0][0], 4, b, cls) != 1) fail_msg("max 4: want 1 truth (rows 1-3 skipped)");
    if (rcnn_truths(&rows[0][0], 0, b, cls) != 0) fail_msg("max 0: want 0 truths");
    /* no terminating row: exactly max rows are read (an exact allocation, so that a
     * sanitizer build sees a read past it) */
    rng_seed(21);
    for (int t = 0; t < 2000; t++) {
        int max = rng_u32() % 40;
        float *tr = malloc((5 * max + 1) * sizeof(float));
        box *bx = malloc((max + 1) * sizeof(box));
        int *cl = malloc((max + 1) * sizeof(int));
        for (int r = 0; r < max; r++) {
            int kind = rng_u32() % 10;
            tr[5 * r] = kind == 0 && t % 2 ? 0 : (float)uni(0.01, 1);
            tr[5 * r + 1] = (float)uni(0, 1);
            tr[5 * r + 2] = kind == 1 ? 0 : (float)uni(0.01, 1);
            tr[5 * r + 3] = kind == 2 ? -0.5f : (float)uni(0.01, 1);
            tr[5 * r + 4] = (float)(rng_u32() % 80);
        }
        int got = rcnn_truths(tr, max, bx, cl), want = 0;
        for (int r = 0; r < max && tr[5 * r] != 0; r++) {
            const float *q = tr + 5 * r;
            if (q[2] <= 0 || q[3] <= 0) continue;
            if (want >= got) {
                want++;
                continue;
            }
            char m[80];
            snprintf(m, sizeof(m), "truths case %d, row %d (truth %d)", t, r, want);
            near_box(bx[want], (box){q[0], q[1], q[2], q[3]}, 0, m);
            if (cl[want] != (int)q[4]) fail_msg("%s: class %d, want %d", m, cl[want], (int)q[4]);
            want++;
        }
        if (got != want) fail_msg("truths case %d (max %d): %d truths, want %d", t, max, got, want);
        free(tr);
        free(bx);
        free(cl);
    }
}

/* ---- rcnn_subsample ---- */

/* Labels: fg classes 0..bg-1 except bg_label, bg_label, and -1, in proportions. */
static void make_labels(int *l, int n, int bg_label, int fg_classes, int pfg, int pbg)
{
    for (int i = 0; i < n; i++) {
        int r = rng_u32() % 100;
        if (r < pfg) {
            int c = rng_u32() % fg_classes;
            l[i] = c >= bg_label ? c + 1 : c; /* never bg_label */
        } else {
            l[i] = r < pfg + pbg ? bg_label : -1;
        }
    }
}

static void test_subsample_counts(void **state)
{
    (void)state;
    rng_seed(16);
    for (int t = 0; t < 3000; t++) {
        int n = rng_u32() % 300, rpn = t % 2;
        int bg_label = rpn ? 0 : 1 + rng_u32() % 20;
        int *orig = malloc((n + 1) * sizeof(int)), *l = malloc((n + 1) * sizeof(int)),
            *scratch = malloc((n + 1) * sizeof(int));
        make_labels(orig, n, bg_label, rpn ? 1 : bg_label, rng_u32() % 60, rng_u32() % 60);
        int max_total = rng_u32() % 5 == 0 ? n + 5 : (int)(rng_u32() % 128);
        int max_fg = rng_u32() % 5 == 0 ? max_total + 3 : (int)(rng_u32() % (max_total + 1));
        int nfg = 0, nbg = 0;
        for (int i = 0; i < n; i++) nfg += orig[i] >= 0 && orig[i] != bg_label, nbg += orig[i] == bg_label;
        int wfg = nfg < max_fg ? nfg : max_fg;
        if (wfg > max_total) wfg = max_total;
        int wbg = nbg < max_total - wfg ? nbg : max_total - wfg;
        memcpy(l, orig, n * sizeof(int));
        uint64_t rng = 1000 + t;
        int got = rcnn_subsample(l, n, bg_label, max_total, max_fg, &rng, scratch);
        int kfg = 0, kbg = 0;
        for (int i = 0; i < n; i++) {
            if (l[i] != -1 && l[i] != orig[i])
                fail_msg("case %d: entry %d was %d, became %d (only -1 may change it)", t, i, orig[i], l[i]);
            kfg += l[i] >= 0 && l[i] != bg_label;
            kbg += l[i] == bg_label;
        }
        if (got != wfg + wbg || kfg != wfg || kbg != wbg)
            fail_msg("case %d (n %d, %d fg, %d bg, bg label %d, max_total %d, max_fg %d): returned %d, kept %d fg "
                     "%d bg; want %d fg %d bg",
                     t, n, nfg, nbg, bg_label, max_total, max_fg, got, kfg, kbg, wfg, wbg);
        /* the same seed again: the same selection */
        int *l2 = malloc((n + 1) * sizeof(int));
        memcpy(l2, orig, n * sizeof(int));
        uint64_t rng2 = 1000 + t;
        rcnn_subsample(l2, n, bg_label, max_total, max_fg, &rng2, scratch);
        for (int i = 0; i < n; i++)
            if (l2[i] != l[i]) fail_msg("case %d: seed %d twice gives different labels at %d", t, 1000 + t, i);
        if (rng2 != rng) fail_msg("case %d: the generator ends in different states", t);
        free(l2);
        free(orig);
        free(l);
        free(scratch);
    }
}

static void test_subsample_seeds(void **state)
{
    (void)state;
    /* 40 fg of which 8 kept, 60 bg of which 24 kept: C(40, 8) x C(60, 24) selections;
     * two seeds choosing the same is a chance of about 1e-24. */
    int n = 100, l0[100], a[100], b[100], scratch[100];
    for (int i = 0; i < n; i++) l0[i] = i < 40 ? 1 : 0;
    int same = 0;
    for (int s = 0; s < 50; s++) {
        memcpy(a, l0, sizeof(a));
        memcpy(b, l0, sizeof(b));
        uint64_t ra = s, rb = s + 1;
        rcnn_subsample(a, n, 0, 32, 8, &ra, scratch);
        rcnn_subsample(b, n, 0, 32, 8, &rb, scratch);
        same += memcmp(a, b, sizeof(a)) == 0;
    }
    if (same) fail_msg("seeds s and s + 1 gave the same selection %d times in 50", same);
}

/* Uniformity: N seeded draws; each of m eligible entries must be kept with frequency
 * near p = k / m. The count is Binomial(N, p) when the sampler is uniform, so its
 * standard deviation is sqrt(N p (1 - p)); the bound is 5 of them, which a uniform
 * sampler exceeds for one of the (at most 40) entries with probability below 40 x
 * 5.8e-7 = 2.3e-5. A sampler that favoured some entries by 5% of p would be at
 * about 5% x 0.3 x 20000 / 65 = 4.6 deviations off on average for them, and the
 * subsets test below catches a bias in pairs. */
static void check_frequency(const int *count, int m, int k, int N, const char *what)
{
    double p = (double)k / m, sd = sqrt(N * p * (1 - p));
    for (int i = 0; i < m; i++)
        if (fabs(count[i] - N * p) > 5 * sd)
            fail_msg("%s: entry %d kept %d times in %d draws, want %.1f +- %.1f (5 sd)", what, i, count[i], N,
                     N * p, 5 * sd);
}

static void test_subsample_uniform(void **state)
{
    (void)state;
    enum { N = 20000 };
    /* 10 fg (labels 1..3), 15 bg (0), 5 ignored, interleaved; max_fg 3, max_total 9:
     * 3 of 10 fg and 6 of 15 bg */
    int n = 30, l0[30], l[30], scratch[30];
    for (int i = 0; i < n; i++) l0[i] = i % 3 == 0 ? 1 + (i / 3) % 3 : i % 3 == 1 ? 0 : (i % 6 == 2 ? -1 : 0);
    int fg_idx[30], bg_idx[30], mf = 0, mb = 0;
    for (int i = 0; i < n; i++) {
        if (l0[i] > 0) fg_idx[mf++] = i;
        if (l0[i] == 0) bg_idx[mb++] = i;
    }
    assert_int_equal(mf, 10);
    assert_int_equal(mb, 15);
    int cf[30] = {0}, cb[30] = {0};
    uint64_t rng = 77;
    for (int d = 0; d < N; d++) {
        memcpy(l, l0, sizeof(l));
        rcnn_subsample(l, n, 0, 9, 3, &rng, scratch);
        for (int q = 0; q < mf; q++) cf[q] += l[fg_idx[q]] != -1;
        for (int q = 0; q < mb; q++) cb[q] += l[bg_idx[q]] != -1;
    }
    check_frequency(cf, mf, 3, N, "foreground, 3 of 10");
    check_frequency(cb, mb, 6, N, "background, 6 of 15");
    /* every 2-subset of 5 foreground entries equally often: chi-square with 9 degrees
     * of freedom; 40 is above its 1 - 1e-5 quantile (about 37.3). Fresh seeds 1..N. */
    int l5[5], c5[25] = {0}, s5[5];
    for (int d = 1; d <= N; d++) {
        for (int i = 0; i < 5; i++) l5[i] = 1;
        uint64_t r = (uint64_t)d;
        rcnn_subsample(l5, 5, 0, 2, 2, &r, s5);
        int a = -1, b = -1;
        for (int i = 0; i < 5; i++)
            if (l5[i] != -1) {
                if (a < 0) a = i;
                else b = i;
            }
        if (a < 0 || b < 0) fail_msg("draw %d kept fewer than 2 of 5", d);
        c5[a * 5 + b]++;
    }
    double chi = 0, e = N / 10.0;
    for (int a = 0; a < 5; a++)
        for (int b = a + 1; b < 5; b++) chi += (c5[a * 5 + b] - e) * (c5[a * 5 + b] - e) / e;
    if (chi > 40) fail_msg("pairs of 5: chi-square %.1f > 40 (9 dof), counts not uniform", chi);
    print_message("subsample: pairs of 5 chi-square %.2f (9 dof)\n", chi);
}

/* ---- losses ---- */

static double sl1_d(double x, double beta)
{
    if (beta > 0 && fabs(x) < beta) return 0.5 * x * x / beta;
    return fabs(x) - 0.5 * beta;
}

/* log(1 + exp(z)), stable */
static double softplus_d(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

static void test_smooth_l1(void **state)
{
    (void)state;
    struct { float x, beta, loss, dx; } c[] = {
        {0.5f, 1, 0.125f, 0.5f}, {-2, 1, 1.5f, -1}, {1, 1, 0.5f, 1}, {-1, 1, 0.5f, -1}, {0, 1, 0, 0},
        {-0.3f, 0, 0.3f, -1},    {0, 0, 0, 0},      {0.05f, 1 / 9.f, 0.01125f, 0.45f}, {3, 1 / 9.f, 3 - 1 / 18.f, 1},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        float dx = -9;
        float v = rcnn_smooth_l1(c[i].x, c[i].beta, &dx);
        char m[80];
        snprintf(m, sizeof(m), "smooth_l1(%g, beta %g)", c[i].x, c[i].beta);
        near(v, c[i].loss, 1e-6, m);
        snprintf(m, sizeof(m), "smooth_l1'(%g, beta %g)", c[i].x, c[i].beta);
        near(dx, c[i].dx, 1e-6, m);
    }
    rng_seed(17);
    for (int t = 0; t < 5000; t++) {
        double beta = t % 3 == 0 ? 0 : t % 3 == 1 ? 1 / 9.0 : 1;
        float x = (float)uni(-3, 3);
        if (fabs(fabs(x) - beta) < 1e-3 || fabs(x) < 1e-3) continue;
        float dx;
        float v = rcnn_smooth_l1(x, (float)beta, &dx);
        double h = 1e-5, fd = (sl1_d(x + h, (float)beta) - sl1_d(x - h, (float)beta)) / (2 * h);
        char m[80];
        snprintf(m, sizeof(m), "smooth_l1(%g, beta %g)", x, beta);
        near(v, sl1_d(x, (float)beta), REL_TOL, m);
        near(dx, fd, 1e-5, m);
    }
}

static double rpn_loss_d(double o, const double *d, int label, const float *t, double beta)
{
    double l = softplus_d(label ? -o : o);
    if (label)
        for (int k = 0; k < 4; k++) l += sl1_d(d[k] - t[k], beta);
    return l;
}

static void test_rpn_loss(void **state)
{
    (void)state;
    float dd[4], dlo;
    float d[4] = {0.5f, -2, 0, 0.1f}, t0[4] = {0, 0, 0, 0};
    near(rcnn_rpn_loss(0, d, 1, t0, 1, 1, &dlo, dd), log(2.0) + 0.125 + 1.5 + 0.005, 1e-6, "rpn hand label 1");
    near(dlo, 0.5, 1e-6, "rpn hand delta_o");
    float wd[4] = {-0.5f, 1, 0, -0.1f};
    for (int k = 0; k < 4; k++) near(dd[k], wd[k], 1e-6, "rpn hand delta_d");
    near(rcnn_rpn_loss(2, d, 0, t0, 1, 3, &dlo, dd), log1p(exp(2.0)), 1e-6, "rpn hand label 0 (no box loss)");
    near(dlo, -3 / (1 + exp(-2.0)), 1e-6, "rpn hand label 0 delta_o (scale 3)");
    for (int k = 0; k < 4; k++)
        if (dd[k] != 0) fail_msg("label 0: delta_d[%d] = %g, want 0", k, dd[k]);
    /* large logits */
    static const float big[] = {80, -80, 200, -200, 1e30f, -1e30f};
    for (int s = 0; s < 6; s++)
        for (int lab = 0; lab < 2; lab++) {
            float v = rcnn_rpn_loss(big[s], t0, lab, t0, 1, 1, &dlo, dd);
            double want = softplus_d(lab ? -(double)big[s] : big[s]), wdo = lab - 1 / (1 + exp(-(double)big[s]));
            char m[80];
            snprintf(m, sizeof(m), "rpn o = %g label %d", big[s], lab);
            if (!isfinite(v) || !isfinite(dlo)) fail_msg("%s: loss %g delta %g not finite", m, v, dlo);
            near(v, want, 1e-6, m);
            near(dlo, wdo, 1e-6, m);
        }
    /* finite differences in double of the loss written out above */
    rng_seed(18);
    for (int t = 0; t < 4000; t++) {
        int label = t % 2;
        double beta = t % 3 == 0 ? 0 : t % 3 == 1 ? 1 / 9.0 : 1, scale = t % 5 == 0 ? 2.5 : 1;
        float o = (float)uni(-8, 8), x[4], tg[4];
        for (int k = 0; k < 4; k++) {
            tg[k] = (float)uni(-2, 2);
            do x[k] = (float)uni(-3, 3);
            while (fabs(fabs((double)x[k] - tg[k]) - beta) < 1e-3 || fabs((double)x[k] - tg[k]) < 1e-3);
        }
        float dlo2, dd2[4];
        float v = rcnn_rpn_loss(o, x, label, tg, (float)beta, (float)scale, &dlo2, dd2);
        double xd[5] = {o, x[0], x[1], x[2], x[3]};
        char m[120];
        snprintf(m, sizeof(m), "rpn case %d label %d beta %g scale %g o %g", t, label, beta, scale, o);
        near(v, rpn_loss_d(xd[0], xd + 1, label, tg, (float)beta), REL_TOL, m);
        for (int q = 0; q < 5; q++) {
            double h = 1e-5, up[5], dn[5];
            memcpy(up, xd, sizeof(up));
            memcpy(dn, xd, sizeof(dn));
            up[q] += h, dn[q] -= h;
            double g = (rpn_loss_d(up[0], up + 1, label, tg, (float)beta) -
                        rpn_loss_d(dn[0], dn + 1, label, tg, (float)beta)) / (2 * h);
            double got = q ? dd2[q - 1] : dlo2;
            char mq[300];
            snprintf(mq, sizeof(mq), "%s: delta of input %d against -scale x finite difference", m, q);
            near(got, -scale * g, 1e-5, mq);
        }
    }
}

/* Softmax cross-entropy over (classes + 1) scores, plus the label's smooth L1. */
static double roi_loss_d(const double *x, int classes, int label, const float *t, double beta, double *cls,
                         double *bx)
{
    int m = classes + 1;
    double mx = x[0], s = 0;
    for (int k = 1; k < m; k++) mx = fmax(mx, x[k]);
    for (int k = 0; k < m; k++) s += exp(x[k] - mx);
    *cls = mx + log(s) - x[label];
    *bx = 0;
    if (label < classes)
        for (int k = 0; k < 4; k++) *bx += sl1_d(x[m + 4 * label + k] - t[k], beta);
    return *cls + *bx;
}

static void test_roi_loss(void **state)
{
    (void)state;
    /* hand: 2 classes, scores (0, 0, 0): cls log 3; label 1's deltas (x[7..10]) */
    float x[11] = {0, 0, 0, 9, 9, 9, 9, 0.5f, -2, 0, 0.1f}, t0[4] = {0, 0, 0, 0}, delta[11], c, b;
    float v = rcnn_roi_loss(x, 2, 1, t0, 1, 1, delta, &c, &b);
    near(c, log(3.0), 1e-6, "roi hand cls");
    near(b, 1.63, 1e-6, "roi hand box");
    near(v, log(3.0) + 1.63, 1e-6, "roi hand loss");
    float wd[11] = {-1 / 3.f, 2 / 3.f, -1 / 3.f, 0, 0, 0, 0, -0.5f, 1, 0, -0.1f};
    for (int k = 0; k < 11; k++) near(delta[k], wd[k], 1e-6, "roi hand delta");
    v = rcnn_roi_loss(x, 2, 2, t0, 1, 1, delta, &c, &b);
    near(v, log(3.0), 1e-6, "roi hand background loss");
    if (b != 0) fail_msg("background: box part %g, want 0", b);
    for (int k = 3; k < 11; k++)
        if (delta[k] != 0) fail_msg("background: delta[%d] = %g, want 0", k, delta[k]);
    /* large logits */
    float xl[11] = {80, -80, 80, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int lab = 0; lab < 3; lab++) {
        /* and (800, -800, 800): exp of a score on its own would overflow */
        if (lab == 2) {
            float xh[11] = {800, -800, 800, 0, 0, 0, 0, 0, 0, 0, 0};
            float vh = rcnn_roi_loss(xh, 2, 1, t0, 1, 1, delta, &c, &b);
            near(vh / (1600 + log(2.0)), 1, REL_TOL, "roi scores (800, -800, 800) label 1");
            for (int k = 0; k < 11; k++)
                if (!isfinite(delta[k])) fail_msg("roi scores (800, -800, 800): delta[%d] = %g", k, delta[k]);
        }
        v = rcnn_roi_loss(xl, 2, lab, t0, 1, 1, delta, &c, &b);
        double xd[11], cd, bd;
        for (int k = 0; k < 11; k++) xd[k] = xl[k];
        double want = roi_loss_d(xd, 2, lab, t0, 1, &cd, &bd);
        char m[60];
        snprintf(m, sizeof(m), "roi scores (80, -80, 80) label %d", lab);
        if (!isfinite(v) || !isfinite(c)) fail_msg("%s: loss %g not finite", m, v);
        near(v, want, 1e-6, m);
        for (int k = 0; k < 11; k++)
            if (!isfinite(delta[k])) fail_msg("%s: delta[%d] = %g", m, k, delta[k]);
        near(delta[1], lab == 1 ? 1 : 0, 1e-6, m);
        near(delta[0], (lab == 0) - 0.5, 1e-6, m);
    }
    /* the loss of a confident right answer keeps its digits: scores (1000, 990),
     * label 0: log(1 + exp(-10)) = 4.54e-5, smaller than a float step at 1000 */
    float xc[6] = {1000, 990, 0, 0, 0, 0};
    v = rcnn_roi_loss(xc, 1, 0, t0, 1, 1, delta, &c, &b);
    near(c / log1p(exp(-10.0)), 1, REL_TOL, "roi scores (1000, 990) label 0: cls relative to log(1 + e^-10)");
    near(delta[1], -1 / (1 + exp(10.0)), 1e-6, "roi scores (1000, 990) delta[1]");
    rng_seed(19);
    static const int cc[] = {1, 2, 3, 7, 20};
    for (int t = 0; t < 1500; t++) {
        int classes = cc[t % 5], m = classes + 1, len = 5 * classes + 1;
        int label = t % 3 == 0 ? classes : (int)(rng_u32() % m);
        double beta = t % 4 == 0 ? 0 : t % 4 == 1 ? 1 / 9.0 : 1, scale = t % 7 == 0 ? 0.5 : 1;
        float *xs = malloc(len * sizeof(float)), *dl = malloc(len * sizeof(float)), tg[4];
        double *xd = malloc(len * sizeof(double));
        for (int k = 0; k < 4; k++) tg[k] = (float)uni(-2, 2);
        for (int k = 0; k < len; k++) {
            if (k < m) xs[k] = (float)uni(-6, 6);
            else {
                float tk = tg[(k - m) % 4];
                do xs[k] = (float)uni(-3, 3);
                while (fabs(fabs((double)xs[k] - tk) - beta) < 1e-3 || fabs((double)xs[k] - tk) < 1e-3);
            }
            xd[k] = xs[k];
        }
        float cg, bg;
        float got = rcnn_roi_loss(xs, classes, label, tg, (float)beta, (float)scale, dl, &cg, &bg);
        double cw, bw, want = roi_loss_d(xd, classes, label, tg, (float)beta, &cw, &bw);
        char msg[120];
        snprintf(msg, sizeof(msg), "roi case %d, %d classes, label %d, beta %g", t, classes, label, beta);
        near(got, want, REL_TOL, msg);
        near(cg, cw, REL_TOL, msg);
        near(bg, bw, REL_TOL, msg);
        for (int q = 0; q < len; q++) {
            double h = 1e-5, keep = xd[q], c1, b1;
            xd[q] = keep + h;
            double up = roi_loss_d(xd, classes, label, tg, (float)beta, &c1, &b1);
            xd[q] = keep - h;
            double dn = roi_loss_d(xd, classes, label, tg, (float)beta, &c1, &b1);
            xd[q] = keep;
            double g = (up - dn) / (2 * h);
            char mq[200];
            snprintf(mq, sizeof(mq), "%.150s: delta[%d] against -scale x finite difference", msg, q);
            near(dl[q], -scale * g, 1e-5, mq);
            if (q >= m && g == 0 && dl[q] != 0) fail_msg("%s: delta[%d] = %g, want exactly 0", msg, q, dl[q]);
        }
        free(xs);
        free(dl);
        free(xd);
    }
}

/* ---- rcnn_proposals ---- */

typedef struct {
    double x1, y1, x2, y2;
    int i;
    float s;
} prop_d;

static int cmp_prop(const void *a, const void *b)
{
    const prop_d *p = a, *q = b;
    if (p->s != q->s) return p->s > q->s ? -1 : 1;
    return p->i - q->i;
}

static double iou_corners(const prop_d *a, const prop_d *b)
{
    double w = fmin(a->x2, b->x2) - fmax(a->x1, b->x1), h = fmin(a->y2, b->y2) - fmax(a->y1, b->y1);
    double inter = w > 0 && h > 0 ? w * h : 0;
    double ua = (a->x2 - a->x1) * (a->y2 - a->y1), ub = (b->x2 - b->x1) * (b->y2 - b->y1);
    return inter / (ua + ub - inter);
}

/* The proposals in double: decode, clip, drop small or empty, sort, greedy NMS.
 * Returns how many, or -1 when a decision was too close to tell. */
static int oracle_proposals(const box *an, const float *obj, const float *dl, int n, float min_w, float min_h,
                            float nms, int max_out, prop_d *out)
{
    prop_d *c = malloc((n + 1) * sizeof(prop_d));
    int m = 0;
    for (int i = 0; i < n; i++) {
        const float *d = dl + 4 * i;
        double x = an[i].x + (double)d[0] * an[i].w, y = an[i].y + (double)d[1] * an[i].h;
        double w = an[i].w * exp(fmin(d[2], CLAMP_D)), h = an[i].h * exp(fmin(d[3], CLAMP_D));
        prop_d p = {fmin(1, fmax(0, x - w / 2)), fmin(1, fmax(0, y - h / 2)), fmin(1, fmax(0, x + w / 2)),
                    fmin(1, fmax(0, y + h / 2)), i, obj[i]};
        double cw = p.x2 - p.x1, ch = p.y2 - p.y1;
        /* empty or not: a corner within AMBIG of the far edge; small or not */
        if (fabs(x + w / 2) < AMBIG || fabs(x - w / 2 - 1) < AMBIG || fabs(y + h / 2) < AMBIG ||
            fabs(y - h / 2 - 1) < AMBIG || (cw > 0 && fabs(cw - min_w) < AMBIG) ||
            (ch > 0 && fabs(ch - min_h) < AMBIG)) {
            free(c);
            return -1;
        }
        if (cw > 0 && ch > 0 && cw >= min_w && ch >= min_h) c[m++] = p;
    }
    qsort(c, m, sizeof(prop_d), cmp_prop);
    int k = 0;
    for (int q = 0; q < m && k < max_out; q++) {
        int drop = 0;
        for (int j = 0; j < k && nms < 1; j++) {
            double v = iou_corners(&c[q], &out[j]);
            if (fabs(v - nms) < AMBIG) {
                free(c);
                return -1;
            }
            drop |= v > nms;
        }
        if (!drop) out[k++] = c[q];
    }
    free(c);
    return k;
}

static void check_proposals(const box *an, const float *obj, const float *dl, int n, float min_w, float min_h,
                            float nms, int max_out, const char *what, int *ambig)
{
    ohem_scratch s;
    if (ohem_scratch_init(&s, n) != 0) fail_msg("out of memory");
    box *boxes = malloc((n + 1) * sizeof(box)), *out = malloc((max_out + 1) * sizeof(box));
    unsigned char *skip = malloc(n + 1);
    int *keep = malloc((n + 1) * sizeof(int));
    float *score = malloc((max_out + 1) * sizeof(float));
    prop_d *want = malloc((max_out + 1) * sizeof(prop_d));
    int k = rcnn_proposals(an, obj, dl, n, min_w, min_h, nms, max_out, &s, boxes, skip, keep, out, score);
    int kw = oracle_proposals(an, obj, dl, n, min_w, min_h, nms, max_out, want);
    if (kw < 0) {
        (*ambig)++;
    } else {
        if (k != kw) fail_msg("%s: %d proposals, oracle %d", what, k, kw);
        for (int j = 0; j < k; j++) {
            char m[300];
            snprintf(m, sizeof(m), "%s: proposal %d (oracle: anchor %d)", what, j, want[j].i);
            if (score[j] != want[j].s) fail_msg("%s: score %.9g, want %.9g", m, score[j], want[j].s);
            near(out[j].x - out[j].w / 2.0, want[j].x1, REL_TOL, m);
            near(out[j].y - out[j].h / 2.0, want[j].y1, REL_TOL, m);
            near(out[j].x + out[j].w / 2.0, want[j].x2, REL_TOL, m);
            near(out[j].y + out[j].h / 2.0, want[j].y2, REL_TOL, m);
        }
    }
    ohem_scratch_free(&s);
    free(boxes);
    free(out);
    free(skip);
    free(keep);
    free(score);
    free(want);
}

static void test_proposals_random(void **state)
{
    (void)state;
    rng_seed(20);
    static const float nmss[] = {0.3f, 0.5f, 0.7f, 1.0f}, mins[] = {0, 0.02f, 0.1f, 1.5f};
    int ambig = 0, cases = 2000;
    for (int t = 0; t < cases; t++) {
        int n = rng_u32() % 300, ties = t % 3 == 0;
        int max_out = t % 6 == 0 ? n + 5 : t % 6 == 1 ? 0 : (int)(1 + rng_u32() % 60);
        float nms = nmss[t % 4], mw = mins[(t / 4) % 4], mh = mins[(t / 16) % 4];
        box *an = malloc((n + 1) * sizeof(box));
        float *obj = malloc((n + 1) * sizeof(float)), *dl = malloc((4 * n + 1) * sizeof(float));
        for (int i = 0; i < n; i++) {
            /* clustered anchors, so that NMS has work */
            an[i] = (box){(rng_u32() % 6 + 0.5f) / 6, (rng_u32() % 6 + 0.5f) / 6, (float)uni(0.05, 0.6),
                          (float)uni(0.05, 0.6)};
            obj[i] = ties ? (float)(rng_u32() % 4) * 0.5f - 1 : (float)uni(-5, 5);
            dl[4 * i] = (float)uni(-0.3, 0.3);
            dl[4 * i + 1] = (float)uni(-0.3, 0.3);
            dl[4 * i + 2] = rng_u32() % 20 == 0 ? 6 : (float)uni(-1, 1);
            dl[4 * i + 3] = rng_u32() % 20 == 0 ? -9 : (float)uni(-1, 1);
        }
        char what[160];
        snprintf(what, sizeof(what), "proposals case %d (n %d ties %d nms %g min %g x %g max_out %d)", t, n, ties, nms,
                 mw, mh, max_out);
        check_proposals(an, obj, dl, n, mw, mh, nms, max_out, what, &ambig);
        free(an);
        free(obj);
        free(dl);
    }
    if (ambig * 50 > cases) fail_msg("proposals: %d of %d cases too close to tell", ambig, cases);
    print_message("proposals: %d cases, %d too close to tell\n", cases, ambig);
}

static void test_proposals_hand(void **state)
{
    (void)state;
    /* 4 anchors: 0 and 1 overlap by IoU 0.6, 2 apart, 3 equal to 2 */
    box an[4] = {{0.25f, 0.25f, 0.25f, 0.25f}, {0.3125f, 0.25f, 0.25f, 0.25f}, {0.75f, 0.75f, 0.25f, 0.25f},
                 {0.75f, 0.75f, 0.25f, 0.25f}};
    float dl[16] = {0}, obj[4] = {0.5f, 0.9f, 0.5f, 0.5f};
    ohem_scratch s;
    assert_int_equal(ohem_scratch_init(&s, 4), 0);
    box boxes[4], out[4];
    unsigned char skip[4];
    int keep[4];
    float score[4];
    /* nms 0.5: 1 (0.9), then 0 suppressed by 1, then 2 (index before 3), 3 suppressed */
    int k = rcnn_proposals(an, obj, dl, 4, 0, 0, 0.5f, 4, &s, boxes, skip, keep, out, score);
    assert_int_equal(k, 2);
    near_box(out[0], an[1], 0, "nms 0.5 first");
    near_box(out[1], an[2], 0, "nms 0.5 second");
    near(score[0], 0.9f, 0, "score 0");
    /* nms 0.7 keeps 0 too; nms 1 keeps all, ties by index */
    k = rcnn_proposals(an, obj, dl, 4, 0, 0, 0.7f, 4, &s, boxes, skip, keep, out, score);
    assert_int_equal(k, 3);
    near_box(out[1], an[0], 0, "nms 0.7 second");
    k = rcnn_proposals(an, obj, dl, 4, 0, 0, 1, 4, &s, boxes, skip, keep, out, score);
    assert_int_equal(k, 4);
    for (int j = 0; j < 4; j++) near_box(out[j], an[(int[]){1, 0, 2, 3}[j]], 0, "nms 1 order");
    /* max_out 1 */
    k = rcnn_proposals(an, obj, dl, 4, 0, 0, 1, 1, &s, boxes, skip, keep, out, score);
    assert_int_equal(k, 1);
    /* min sizes that drop everything */
    assert_int_equal(rcnn_proposals(an, obj, dl, 4, 0.3f, 0, 1, 4, &s, boxes, skip, keep, out, score), 0);
    assert_int_equal(rcnn_proposals(an, obj, dl, 4, 0, 0.25001f, 1, 4, &s, boxes, skip, keep, out, score), 0);
    /* min size exactly the width (0.25) keeps */
    assert_int_equal(rcnn_proposals(an, obj, dl, 4, 0.25f, 0.25f, 1, 4, &s, boxes, skip, keep, out, score), 4);
    /* NaN deltas: every output stays finite; a NaN centre (anchors 0, 2) is dropped,
     * the clean anchor 3 is kept; anchor 1 (NaN dw, dh) may go either way. */
    float dn[16] = {NAN, 0, 0, 0, 0, 0, NAN, NAN, 0, NAN, 0, 0, 0, 0, 0, 0}, on[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    k = rcnn_proposals(an, on, dn, 4, 0, 0, 1, 4, &s, boxes, skip, keep, out, score);
    for (int j = 0; j < k; j++) {
        if (!isfinite(out[j].x) || !isfinite(out[j].y) || !isfinite(out[j].w) || !isfinite(out[j].h))
            fail_msg("NaN deltas: proposal %d is (%g %g %g %g)", j, out[j].x, out[j].y, out[j].w, out[j].h);
        if (score[j] == on[0] || score[j] == on[2]) fail_msg("NaN deltas: proposal %d has score %g", j, score[j]);
    }
    if (k < 1 || score[0] != on[3]) fail_msg("NaN deltas: %d proposals, the first not anchor 3", k);
    /* a NaN score is dropped */
    float onan[4] = {0.5f, NAN, 0.5f, 0.5f};
    k = rcnn_proposals(an, onan, dl, 4, 0, 0, 1, 4, &s, boxes, skip, keep, out, score);
    if (k != 3) fail_msg("NaN score: %d proposals, want 3", k);
    for (int j = 0; j < k; j++)
        if (isnan(score[j])) fail_msg("NaN score: proposal %d has score NaN", j);
    /* a box clipped to nothing (outside the image) is dropped even with min size 0 */
    float off[16] = {0};
    off[0] = 10; /* anchor 0 moved 10 widths right */
    k = rcnn_proposals(an, obj, off, 4, 0, 0, 1, 4, &s, boxes, skip, keep, out, score);
    if (k != 3) fail_msg("box outside the image: %d proposals, want 3", k);
    ohem_scratch_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_hand),
        cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_decode_clamp_nan),
        cmocka_unit_test(test_clip_corners_hand),
        cmocka_unit_test(test_anchors_hand),
        cmocka_unit_test(test_match_hand),
        cmocka_unit_test(test_match_random),
        cmocka_unit_test(test_rpn_assign_hand),
        cmocka_unit_test(test_rpn_assign_random),
        cmocka_unit_test(test_roi_label_hand),
        cmocka_unit_test(test_roi_label_random),
        cmocka_unit_test(test_rand),
        cmocka_unit_test(test_truths),
        cmocka_unit_test(test_subsample_counts),
        cmocka_unit_test(test_subsample_seeds),
        cmocka_unit_test(test_subsample_uniform),
        cmocka_unit_test(test_smooth_l1),
        cmocka_unit_test(test_rpn_loss),
        cmocka_unit_test(test_roi_loss),
        cmocka_unit_test(test_proposals_hand),
        cmocka_unit_test(test_proposals_random),
    };
    return cmocka_run_group_tests_name("rcnn", tests, NULL, NULL);
}
