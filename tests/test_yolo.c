/* test_yolo.c: the [yolo] layer of src/layers/yolo_layer.c and the box losses of
 * src/core/iou_loss.c.
 *  - IoU, GIoU, DIoU, CIoU against a second computation here (corners, in double);
 *  - each score's gradient against central finite differences of the score;
 *  - AlexeyAB's box delta against that gradient and the departures iou_loss.h lists;
 *  - without AlexeyAB's keys, our forward (output, delta, cost) against libdarknet's
 *    forward_yolo_layer (dlsym(RTLD_NEXT)) on random inputs and truths;
 *  - with them: scale_x_y's decoding by hand, and the delta of one truth (normalisers,
 *    label smoothing, focal loss, objectness_smooth, iou_thresh's extra anchors)
 *    against the formulas written here; the IoU losses' entries and max_delta;
 *  - the forward on the pool (images split between threads) equal byte for byte to
 *    the forward on one thread: output, delta, cost and the printed loss line;
 *  - the parser: the keys are read, and a bad value is an error naming the line. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "darknet.h"
#include "iou_loss.h"
#include "oracle.h"
#include "parser.h"
#include "pool.h"
#include "yolo_layer.h"

layer make_yolo_layer(int batch, int w, int h, int n, int total, int *mask, int classes);

/* ---- the scores, a second way: from corners -------------------------------------- */

typedef struct {
    double x1, y1, x2, y2;
} corners;

static corners corners_of(const double b[4])
{
    corners c = {b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2};
    return c;
}

/* The score of p against truth q; alpha < 0: CIoU's alpha from p, else that alpha. */
static double ref_score(const double p[4], const double q[4], iou_kind k, double alpha)
{
    corners a = corners_of(p), b = corners_of(q);
    double iw = fmax(0, fmin(a.x2, b.x2) - fmax(a.x1, b.x1)), ih = fmax(0, fmin(a.y2, b.y2) - fmax(a.y1, b.y1));
    double inter = iw * ih, uni = p[2] * p[3] + q[2] * q[3] - inter, iou = inter / uni;
    double ex1 = fmin(a.x1, b.x1), ey1 = fmin(a.y1, b.y1), ex2 = fmax(a.x2, b.x2), ey2 = fmax(a.y2, b.y2);
    if (k == IOU_IOU || k == IOU_MSE) return iou;
    if (k == IOU_GIOU) {
        double c = (ex2 - ex1) * (ey2 - ey1);
        return iou - (c - uni) / c;
    }
    double diag2 = (ex2 - ex1) * (ex2 - ex1) + (ey2 - ey1) * (ey2 - ey1);
    double d2 = (p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]);
    double s = iou - d2 / diag2;
    if (k == IOU_DIOU) return s;
    double at = atan(q[2] / q[3]) - atan(p[2] / p[3]);
    double v = 4 / (M_PI * M_PI) * at * at;
    if (alpha < 0) alpha = v / (1 - iou + v + 1e-6);
    return s - alpha * v;
}

static double ref_alpha(const double p[4], const double q[4])
{
    double at = atan(q[2] / q[3]) - atan(p[2] / p[3]), v = 4 / (M_PI * M_PI) * at * at;
    return v / (1 - ref_score(p, q, IOU_IOU, 0) + v + 1e-6);
}

static void rand_pair(double p[4], double q[4])
{
    q[0] = 0.3 + 0.4 * rng_unit(), q[1] = 0.3 + 0.4 * rng_unit();
    q[2] = 0.05 + 0.4 * rng_unit(), q[3] = 0.05 + 0.4 * rng_unit();
    /* overlapping most of the time, disjoint some */
    p[0] = q[0] + (rng_unit() - 0.5) * 0.6, p[1] = q[1] + (rng_unit() - 0.5) * 0.6;
    p[2] = 0.05 + 0.4 * rng_unit(), p[3] = 0.05 + 0.4 * rng_unit();
}

static iou_box to_box(const double b[4])
{
    return (iou_box){(float)b[0], (float)b[1], (float)b[2], (float)b[3]};
}

/* The boxes as floats, back in double, so both computations see the same boxes. */
static void round_pair(double p[4], double q[4])
{
    for (int i = 0; i < 4; i++) p[i] = (float)p[i], q[i] = (float)q[i];
}

/* 1 when an edge of p is within eps of an edge of q on the same axis (a kink of
 * min/max, where a finite difference straddles two pieces). */
static int near_kink(const double p[4], const double q[4], double eps)
{
    corners a = corners_of(p), b = corners_of(q);
    double ea[4] = {a.x1, a.x2, a.y1, a.y2}, eb[4] = {b.x1, b.x2, b.y1, b.y2};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            if ((i < 2) == (j < 2) && fabs(ea[i] - eb[j]) < eps) return 1;
    return 0;
}

static void test_scores(void **state)
{
    (void)state;
    rng_seed(11);
    for (int it = 0; it < 2000; it++) {
        double p[4], q[4];
        rand_pair(p, q);
        round_pair(p, q);
        for (int k = IOU_IOU; k <= IOU_CIOU; k++) {
            double want = ref_score(p, q, (iou_kind)k, -1), got = iou_score(to_box(p), to_box(q), (iou_kind)k);
            if (fabs(want - got) > 1e-9) fail_msg("%s: %.12f, expected %.12f", iou_kind_name((iou_kind)k), got, want);
        }
    }
}

/* Central differences of ref_score in x, y, w, h (CIoU with alpha held at p's). */
static void fd_grad(const double p[4], const double q[4], iou_kind k, double g[4])
{
    const double h = 1e-6;
    double alpha = k == IOU_CIOU ? ref_alpha(p, q) : 0;
    for (int i = 0; i < 4; i++) {
        double a[4], b[4];
        memcpy(a, p, sizeof(a));
        memcpy(b, p, sizeof(b));
        a[i] += h;
        b[i] -= h;
        g[i] = (ref_score(a, q, k, alpha) - ref_score(b, q, k, alpha)) / (2 * h);
    }
}

static void test_gradients(void **state)
{
    (void)state;
    rng_seed(12);
    int checked = 0;
    for (int it = 0; it < 2000; it++) {
        double p[4], q[4];
        rand_pair(p, q);
        round_pair(p, q);
        if (near_kink(p, q, 1e-4)) continue;
        for (int k = IOU_IOU; k <= IOU_CIOU; k++) {
            double g[4], fd[4];
            iou_score_grad(to_box(p), to_box(q), (iou_kind)k, g);
            fd_grad(p, q, (iou_kind)k, fd);
            for (int i = 0; i < 4; i++)
                if (fabs(g[i] - fd[i]) > 1e-5 * (1 + fabs(fd[i])))
                    fail_msg("%s d/d%c: %.9f, finite differences %.9f (pred %g %g %g %g, truth %g %g %g %g)",
                             iou_kind_name((iou_kind)k), "xywh"[i], g[i], fd[i], p[0], p[1], p[2], p[3], q[0], q[1],
                             q[2], q[3]);
        }
        checked++;
    }
    assert_true(checked > 1000);
}

/* d(c^2)/dx, d(c^2)/dy by finite differences (c the enclosing box's diagonal). */
static void fd_diag2(const double p[4], const double q[4], double g[2])
{
    const double h = 1e-6;
    for (int i = 0; i < 2; i++) {
        double a[4], b[4], v[2];
        memcpy(a, p, sizeof(a));
        memcpy(b, p, sizeof(b));
        a[i] += h;
        b[i] -= h;
        for (int s = 0; s < 2; s++) {
            corners x = corners_of(s ? b : a), y = corners_of(q);
            double w = fmax(x.x2, y.x2) - fmin(x.x1, y.x1), hh = fmax(x.y2, y.y2) - fmin(x.y1, y.y1);
            v[s] = w * w + hh * hh;
        }
        g[i] = (v[0] - v[1]) / (2 * h);
    }
}

/* AlexeyAB's delta = the gradient + the documented departures, each computed here
 * from finite differences: IoU/GIoU part of dw, dh doubled; DIoU's c^2 term of dx,
 * dy negated; CIoU's aspect term times w^2 + h^2. Also prints how far it is from the
 * gradient on a few boxes (the figure docs/alexeyab.md quotes). */
static void test_alexeyab_delta(void **state)
{
    (void)state;
    rng_seed(13);
    int checked = 0;
    double worst[5] = {0};
    for (int it = 0; it < 2000; it++) {
        double p[4], q[4];
        rand_pair(p, q);
        round_pair(p, q);
        if (near_kink(p, q, 1e-4)) continue;
        for (int k = IOU_IOU; k <= IOU_CIOU; k++) {
            double fd_iou[4], fd_k[4], fd_d[4], dc2[2], want[4];
            fd_grad(p, q, k == IOU_GIOU ? IOU_GIOU : IOU_IOU, fd_iou);
            fd_grad(p, q, (iou_kind)k, fd_k);
            fd_grad(p, q, k == IOU_CIOU ? IOU_DIOU : (iou_kind)k, fd_d);
            fd_diag2(p, q, dc2);
            double d2 = (p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]);
            corners a = corners_of(p), b = corners_of(q);
            double cw = fmax(a.x2, b.x2) - fmin(a.x1, b.x1), ch = fmax(a.y2, b.y2) - fmin(a.y1, b.y1);
            double c2 = cw * cw + ch * ch, n2 = p[2] * p[2] + p[3] * p[3];
            for (int i = 0; i < 4; i++) {
                want[i] = fd_k[i];
                if (i >= 2) want[i] += fd_iou[i]; /* the IoU part once more */
            }
            if (k == IOU_DIOU || k == IOU_CIOU)
                for (int i = 0; i < 2; i++) want[i] -= 2 * d2 * dc2[i] / (c2 * c2);
            if (k == IOU_CIOU)
                for (int i = 2; i < 4; i++) want[i] += (fd_k[i] - fd_d[i]) * (n2 - 1);
            float d[4];
            iou_delta_alexeyab(to_box(p), to_box(q), (iou_kind)k, d);
            for (int i = 0; i < 4; i++) {
                if (fabs(d[i] - want[i]) > 1e-4 * (1 + fabs(want[i])))
                    fail_msg("%s delta %c: %.7f, expected %.7f", iou_kind_name((iou_kind)k), "xywh"[i], d[i], want[i]);
                double off = fabs(d[i] - fd_k[i]) / (1e-9 + fabs(fd_k[i]) + fabs(d[i]));
                if (off > worst[k]) worst[k] = off;
            }
        }
        checked++;
    }
    assert_true(checked > 1000);
    /* the departures are real: every kind's delta differs from its gradient somewhere */
    for (int k = IOU_IOU; k <= IOU_CIOU; k++) assert_true(worst[k] > 0.1);
}

/* ---- the layer -------------------------------------------------------------------- */

typedef void (*yolo_fn)(layer, network);

static network test_net(int w, int h, layer *l, float *input, float *truth)
{
    network net;
    memset(&net, 0, sizeof(net));
    net.w = w, net.h = h, net.train = 1, net.input = input, net.truth = truth, net.index = 0;
    net.n = 1, net.layers = l;
    return net;
}

static layer make_layer(int batch, int cells, int n, int total, int classes)
{
    int *mask = malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) mask[i] = total - n + i;
    layer l = make_yolo_layer(batch, cells, cells, n, total, mask, classes);
    l.max_boxes = 90; /* parse_yolo sets it, make_yolo_layer does not */
    float anchors[18] = {10, 14, 23, 27, 37, 58, 81, 82, 135, 169, 344, 319, 16, 30, 33, 23, 30, 61};
    for (int i = 0; i < 2 * total; i++) l.biases[i] = anchors[i];
    return l;
}

static void random_truths(float *truth, int batch, int per_image)
{
    memset(truth, 0, (size_t)batch * 90 * 5 * sizeof(float));
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < per_image; t++) {
            float *r = truth + b * 450 + t * 5;
            r[0] = 0.05f + 0.9f * rng_unit(), r[1] = 0.05f + 0.9f * rng_unit();
            r[2] = 0.02f + 0.5f * rng_unit(), r[3] = 0.02f + 0.5f * rng_unit();
            r[4] = (float)(rng_u32() % 3);
        }
}

static void test_stock_as_libdarknet(void **state)
{
    (void)state;
    yolo_fn lib = (yolo_fn)dlsym(RTLD_NEXT, "forward_yolo_layer");
    assert_non_null(lib);
    rng_seed(21);
    for (int round = 0; round < 4; round++) {
        int batch = 1 + round % 2, cells = 5 + round, n = 3, total = 6 + 3 * (round % 2), classes = 3;
        layer a = make_layer(batch, cells, n, total, classes), b = make_layer(batch, cells, n, total, classes);
        a.ignore_thresh = b.ignore_thresh = 0.5f;
        a.truth_thresh = b.truth_thresh = round == 3 ? 0.3f : 1; /* truth_thresh < 1: the cells' own matches */
        yolo_options o;
        yolo_options_default(&o);
        assert_int_equal(yolo_layer_setup(&b, &o), 0);
        float *input = malloc(a.outputs * batch * sizeof(float)), *truth = malloc(batch * 450 * sizeof(float));
        for (int i = 0; i < a.outputs * batch; i++) input[i] = 4 * rng_unit() - 2;
        random_truths(truth, batch, 4 + round * 3);
        network net = test_net(cells * 32, cells * 32, &a, input, truth);
        lib(a, net);
        b.forward(b, net);
        for (int i = 0; i < a.outputs * batch; i++) {
            if (fabsf(a.output[i] - b.output[i]) > 1e-6f) fail_msg("output %d: %g, libdarknet %g", i, b.output[i], a.output[i]);
            if (fabsf(a.delta[i] - b.delta[i]) > 1e-6f) fail_msg("delta %d: %g, libdarknet %g", i, b.delta[i], a.delta[i]);
        }
        assert_true(fabsf(*a.cost - *b.cost) <= 1e-6f * (1 + *a.cost));
        free(input);
        free(truth);
        free_layer(a);
        free_layer(b);
    }
}

/* One forward of l on `threads` threads; the loss line it prints into line. */
static void forward_on(layer *l, network net, int threads, char *line, size_t cap)
{
    ohem_pool_set_threads(threads);
    fflush(stdout);
    FILE *f = tmpfile();
    assert_non_null(f);
    int saved = dup(1);
    dup2(fileno(f), 1);
    l->forward(*l, net);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(f);
    if (!fgets(line, (int)cap, f)) line[0] = 0;
    fclose(f);
}

/* The images of a batch split between threads give the bytes of one thread: each
 * image's delta is its own and the line's figures are summed in image order. */
static void test_threads_same(void **state)
{
    (void)state;
    rng_seed(33);
    for (int variant = 0; variant < 4; variant++) {
        int batch = 7, cells = 9, n = 3, total = 6, classes = 3;
        layer a = make_layer(batch, cells, n, total, classes), b = make_layer(batch, cells, n, total, classes);
        a.ignore_thresh = b.ignore_thresh = 0.5f;
        a.truth_thresh = b.truth_thresh = variant == 1 ? 0.3f : 1;
        yolo_options o;
        yolo_options_default(&o);
        if (variant >= 2) { /* AlexeyAB's: extra anchors per truth, an IoU loss, smoothing */
            o.alexeyab = 1, o.iou_thresh = 0.2f, o.iou_loss = variant == 2 ? IOU_GIOU : IOU_CIOU;
            o.objectness_smooth = variant == 3, o.label_smooth_eps = 0.1f, o.scale_x_y = 1.05f;
        }
        assert_int_equal(yolo_layer_setup(&a, &o), 0);
        assert_int_equal(yolo_layer_setup(&b, &o), 0);
        float *input = malloc(a.outputs * batch * sizeof(float)), *truth = malloc(batch * 450 * sizeof(float));
        for (int i = 0; i < a.outputs * batch; i++) input[i] = 4 * rng_unit() - 2;
        random_truths(truth, batch, 8);
        char la[512], lb[512];
        forward_on(&a, test_net(cells * 32, cells * 32, &a, input, truth), 1, la, sizeof(la));
        forward_on(&b, test_net(cells * 32, cells * 32, &b, input, truth), 2, lb, sizeof(lb));
        assert_memory_equal(a.output, b.output, a.outputs * batch * sizeof(float));
        assert_memory_equal(a.delta, b.delta, a.outputs * batch * sizeof(float));
        assert_memory_equal(a.cost, b.cost, sizeof(float));
        assert_string_equal(la, lb);
        assert_true(!strncmp(la, "Region", 6));
        free(input);
        free(truth);
        free_layer(a);
        free_layer(b);
    }
}

static void test_scale_x_y(void **state)
{
    (void)state;
    layer l = make_layer(1, 3, 1, 1, 2);
    yolo_options o;
    yolo_options_default(&o);
    o.alexeyab = 1;
    o.scale_x_y = 1.2f;
    assert_int_equal(yolo_layer_setup(&l, &o), 0);
    float input[63];
    for (int i = 0; i < 63; i++) input[i] = (float)(i % 7) - 3;
    network net = test_net(96, 96, &l, input, NULL);
    net.train = 0;
    l.forward(l, net);
    for (int i = 0; i < 63; i++) {
        double s = 1 / (1 + exp(-(double)input[i])), want = i < 18 ? s * 1.2 - 0.1 : i < 36 ? input[i] : s;
        if (fabs(l.output[i] - want) > 1e-6) fail_msg("entry %d: %g, by hand %g", i, l.output[i], want);
    }
    free_layer(l);
}

/* One truth, two classes, 4x4 cells, 3 anchors (all in the mask): the delta of every
 * entry by the formulas of docs/alexeyab.md. iou_thresh lets a second anchor train. */
static void check_one_truth(float iou_norm, float obj_norm, float eps, float iou_thresh, int focal, int smooth)
{
    const int cells = 4, n = 3, classes = 2, wh = cells * cells, per = 5 + classes;
    layer l = make_layer(1, cells, n, n, classes);
    l.ignore_thresh = 0.99f;
    l.truth_thresh = 1;
    yolo_options o;
    yolo_options_default(&o);
    o.alexeyab = 1, o.iou_normalizer = iou_norm, o.obj_normalizer = obj_norm, o.label_smooth_eps = eps;
    o.iou_thresh = iou_thresh, o.focal_loss = focal, o.objectness_smooth = smooth;
    assert_int_equal(yolo_layer_setup(&l, &o), 0);
    float input[3 * 7 * 16], truth[450] = {0};
    rng_seed(31);
    for (int i = 0; i < l.outputs; i++) input[i] = rng_unit() * 0.4f - 2; /* classes below 0.25: nothing ignored */
    /* truth at cell (2, 1), shaped between anchors 1 and 2 (23x27 and 37x58) */
    truth[0] = 0.6f, truth[1] = 0.3f, truth[2] = 30.f / 128, truth[3] = 40.f / 128, truth[4] = 1;
    network net = test_net(128, 128, &l, input, truth);
    l.forward(l, net);
    double sig[3 * 7 * 16];
    for (int i = 0; i < l.outputs; i++) sig[i] = 1 / (1 + exp(-(double)input[i]));
    /* which anchors train: the best by shape, and those above iou_thresh */
    double tw = truth[2], th = truth[3];
    int best = 0;
    double ious[3], bi = 0;
    for (int a = 0; a < n; a++) {
        double aw = l.biases[2 * a] / 128.0, ah = l.biases[2 * a + 1] / 128.0;
        double in = fmin(aw, tw) * fmin(ah, th);
        ious[a] = in / (aw * ah + tw * th - in);
        if (ious[a] > bi) bi = ious[a], best = a;
    }
    int trained[3], ntrained = 0, cell = 1 * cells + 2;
    for (int a = 0; a < n; a++) {
        trained[a] = a == best || (iou_thresh < 1 && ious[a] > iou_thresh);
        ntrained += trained[a];
    }
    if (iou_thresh < 1) assert_true(ntrained >= 2);
    double ypos = eps ? 1 - eps / 2 : 1, yneg = eps ? eps / 2 : 0;
    for (int a = 0; a < n; a++)
        for (int e = 0; e < per; e++)
            for (int c = 0; c < wh; c++) {
                int i = a * per * wh + e * wh + c;
                double want = 0;
                if (c == cell && trained[a]) {
                    double tx[4] = {truth[0] * cells - 2, truth[1] * cells - 1, log(truth[2] * 128 / l.biases[2 * a]),
                                    log(truth[3] * 128 / l.biases[2 * a + 1])};
                    double out = e < 2 ? sig[i] : input[i];
                    if (e < 4) want = (2 - truth[2] * truth[3]) * (tx[e] - out) * iou_norm;
                    /* objectness_smooth keeps the first pass's target: 0 here, no class above 0.25 */
                    else if (e == 4) want = obj_norm * ((smooth ? 0 : 1) - sig[i]);
                    else if (!focal) want = (e - 5 == 1 ? ypos : yneg) - sig[i];
                    else {
                        /* focal: (y - p) x 0.5 x -(1 - pt)(2 pt ln pt + pt - 1), pt the truth class's p */
                        double pt = sig[a * per * wh + 6 * wh + c];
                        want = ((e - 5 == 1) - sig[i]) * 0.5 * -(1 - pt) * (2 * pt * log(pt) + pt - 1);
                    }
                } else if (e == 4) {
                    want = obj_norm * (0 - sig[i]);
                }
                if (fabs(l.delta[i] - want) > 1e-5 * (1 + fabs(want)))
                    fail_msg("anchor %d entry %d cell %d: delta %g, expected %g", a, e, c, l.delta[i], want);
            }
    free_layer(l);
}

static void test_one_truth(void **state)
{
    (void)state;
    check_one_truth(0.75f, 1, 0, 1, 0, 0);
    check_one_truth(0.07f, 2.5f, 0, 1, 0, 0);
    check_one_truth(1, 1, 0.1f, 1, 0, 0);
    check_one_truth(0.5f, 1, 0, 0.2f, 0, 0);
    check_one_truth(1, 1, 0, 1, 1, 0);
    check_one_truth(1, 1, 0, 0.2f, 0, 1);
}

/* max_delta bounds each IoU-loss box entry; the result is AlexeyAB's delta times the
 * chain to the entries, clipped. */
static void test_iou_loss_layer(void **state)
{
    (void)state;
    for (int k = IOU_IOU; k <= IOU_CIOU; k++)
        for (int clip = 0; clip < 2; clip++) {
            layer l = make_layer(1, 2, 1, 1, 1);
            l.ignore_thresh = 0.99f, l.truth_thresh = 1;
            yolo_options o;
            yolo_options_default(&o);
            o.alexeyab = 1, o.iou_loss = (iou_kind)k, o.iou_normalizer = 3;
            if (clip) o.max_delta = 0.05f;
            assert_int_equal(yolo_layer_setup(&l, &o), 0);
            float input[2 * 2 * 6] = {0}, truth[450] = {0};
            input[0 * 4 + 0] = 0.3f, input[1 * 4 + 0] = -0.2f, input[2 * 4 + 0] = 0.4f, input[3 * 4 + 0] = -0.3f;
            truth[0] = 0.3f, truth[1] = 0.2f, truth[2] = 0.2f, truth[3] = 0.3f, truth[4] = 0;
            network net = test_net(64, 64, &l, input, truth);
            l.forward(l, net);
            double sx = 1 / (1 + exp(-0.3)), sy = 1 / (1 + exp(0.2));
            iou_box pred = {(float)(sx / 2), (float)(sy / 2), (float)(exp(0.4) * 10 / 64), (float)(exp(-0.3) * 14 / 64)};
            float d[4];
            iou_delta_alexeyab(pred, (iou_box){0.3f, 0.2f, 0.2f, 0.3f}, (iou_kind)k, d);
            double chain[4] = {1, 1, exp(0.4), exp(-0.3)};
            for (int e = 0; e < 4; e++) {
                double want = d[e] * chain[e] * 3;
                if (clip) want = fmax(-0.05, fmin(0.05, want));
                if (fabs(l.delta[e * 4] - want) > 1e-5) fail_msg("%s entry %d: %g, expected %g", iou_kind_name(k), e, l.delta[e * 4], want);
            }
            assert_true(isfinite(*l.cost) && *l.cost > 0);
            free_layer(l);
        }
}

/* new_coords (scaled-YOLOv4, yolov7): no logistic in the layer, x, y scaled, boxes
 * w = (2 x)^2 anchor; the MSE targets sqrt(w / (4 anchor)); detections decoded so. */
static void test_new_coords(void **state)
{
    (void)state;
    layer l = make_layer(1, 2, 1, 1, 1); /* anchor 10 x 14, 2x2 cells, 6 entries */
    l.ignore_thresh = 0.99f, l.truth_thresh = 1;
    yolo_options o;
    yolo_options_default(&o);
    o.alexeyab = 1, o.new_coords = 1, o.scale_x_y = 2, o.iou_normalizer = 0.5f;
    assert_int_equal(yolo_layer_setup(&l, &o), 0);
    float input[24], truth[450] = {0};
    for (int i = 0; i < 24; i++) input[i] = 0.1f + 0.8f * (i % 5) / 4; /* in (0, 1), as after a logistic */
    truth[0] = 0.7f, truth[1] = 0.2f, truth[2] = 0.25f, truth[3] = 0.4f, truth[4] = 0; /* cell (1, 0) */
    network net = test_net(64, 64, &l, input, truth);
    l.forward(l, net);
    for (int i = 0; i < 24; i++) {
        double want = i < 8 ? input[i] * 2.0 - 0.5 : input[i];
        if (fabs(l.output[i] - want) > 1e-6) fail_msg("entry %d: %g, by hand %g", i, l.output[i], want);
    }
    /* the box of cell (1, 0) by hand */
    int c = 1;
    double bx = (1 + l.output[c]) / 2, by = (0 + l.output[4 + c]) / 2;
    double bw = l.output[8 + c] * l.output[8 + c] * 4 * 10 / 64, bh = l.output[12 + c] * l.output[12 + c] * 4 * 14 / 64;
    box b = yolo_layer_box(&l, 0, 0, 1, 0, 64, 64);
    assert_true(fabs(b.x - bx) < 1e-6 && fabs(b.y - by) < 1e-6 && fabs(b.w - bw) < 1e-6 && fabs(b.h - bh) < 1e-6);
    /* the MSE box delta at the truth's cell */
    double t[4] = {0.7 * 2 - 1, 0.2 * 2 - 0, sqrt(0.25 * 64 / 40.0), sqrt(0.4 * 64 / 56.0)};
    for (int e = 0; e < 4; e++) {
        double want = (2 - 0.25 * 0.4) * (t[e] - l.output[e * 4 + c]) * 0.5;
        if (fabs(l.delta[e * 4 + c] - want) > 1e-5) fail_msg("delta %d: %g, by hand %g", e, l.delta[e * 4 + c], want);
    }
    /* detections (the image the network's size: no letterbox correction) */
    net.train = 0;
    l.forward(l, net);
    detection dets[4];
    float probs[4][1];
    for (int i = 0; i < 4; i++) dets[i].prob = probs[i];
    int n = get_yolo_detections(l, 64, 64, 64, 64, 0.0f, NULL, 1, dets);
    assert_int_equal(n, 4);
    for (int k = 0; k < 4; k++) {
        double w = l.output[8 + k] * l.output[8 + k] * 4 * 10 / 64, x = (k % 2 + l.output[k]) / 2;
        if (fabs(dets[k].bbox.w - w) > 1e-6 || fabs(dets[k].bbox.x - x) > 1e-6)
            fail_msg("detection %d: x %g w %g, by hand %g %g", k, dets[k].bbox.x, dets[k].bbox.w, x, w);
        assert_true(fabs(dets[k].prob[0] - l.output[16 + k] * l.output[20 + k]) < 1e-6 ||
                    l.output[16 + k] * l.output[20 + k] <= 0);
    }
    free_layer(l);
}

/* nms_kind: AlexeyAB's DIoU-NMS against a brute force written here. Box 1 overlaps
 * box 0 at IoU above thresh but its centre is away: IoU NMS drops it, diounms keeps
 * it when IoU - (d^2/c^2)^beta <= thresh. */
static double ref_diou_nms(box a, box b, double beta)
{
    double p[4] = {a.x, a.y, a.w, a.h}, q[4] = {b.x, b.y, b.w, b.h};
    corners ca = corners_of(p), cb = corners_of(q);
    double cw = fmax(ca.x2, cb.x2) - fmin(ca.x1, cb.x1), ch = fmax(ca.y2, cb.y2) - fmin(ca.y1, cb.y1);
    double d2 = (p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]);
    return ref_score(p, q, IOU_IOU, 0) - pow(d2 / (cw * cw + ch * ch), beta);
}

static void test_nms(void **state)
{
    (void)state;
    rng_seed(41);
    for (int kind = 0; kind < 3; kind++)
        for (int round = 0; round < 50; round++) {
            enum { N = 12 };
            detection d[N];
            float probs[N][2];
            box boxes[N];
            for (int i = 0; i < N; i++) {
                boxes[i] = (box){0.4f + 0.2f * rng_unit(), 0.4f + 0.2f * rng_unit(), 0.1f + 0.3f * rng_unit(),
                                 0.1f + 0.3f * rng_unit()};
                d[i].bbox = boxes[i];
                d[i].prob = probs[i];
                d[i].objectness = 1;
                d[i].classes = 2;
                d[i].sort_class = 0;
                probs[i][0] = 0.01f + (float)i / N, probs[i][1] = 0; /* distinct, increasing */
            }
            yolo_options o;
            yolo_options_default(&o);
            o.nms_kind = kind, o.beta_nms = 0.8f;
            yolo_nms(d, N, 2, 0.45f, &o);
            /* brute force: by probability (index descending), keep unless a kept one overlaps */
            int kept[N] = {0};
            for (int i = N - 1; i >= 0; i--) {
                kept[i] = 1;
                for (int j = N - 1; j > i; j--) {
                    if (!kept[j]) continue;
                    double ov = kind == 0 ? box_iou(boxes[j], boxes[i]) : ref_diou_nms(boxes[j], boxes[i], kind == 1 ? 0.6 : 0.8);
                    if (ov > 0.45) kept[i] = 0;
                }
            }
            for (int i = 0; i < N; i++) {
                int orig = -1;
                for (int k = 0; k < N; k++)
                    if (d[i].bbox.x == boxes[k].x && d[i].bbox.y == boxes[k].y) orig = k;
                assert_true(orig >= 0);
                if ((d[i].prob[0] > 0) != kept[orig]) fail_msg("kind %d: box %d kept %d, brute force %d", kind, orig, d[i].prob[0] > 0, kept[orig]);
            }
        }
}

/* ---- the parser -------------------------------------------------------------------- */

static const char *net_head = "[net]\nbatch=1\nwidth=64\nheight=64\nchannels=3\n"
                              "[convolutional]\nfilters=24\nsize=1\nstride=1\nactivation=linear\n"
                              "[yolo]\nmask=0,1,2\nanchors=10,14,23,27,37,58\nclasses=3\nnum=3\n";

static void write_cfg(const char *path, const char *extra)
{
    mkdir("tests/tmp", 0755);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s%s", net_head, extra);
    fclose(f);
}

static void test_parser_keys(void **state)
{
    (void)state;
    write_cfg("tests/tmp/yolo_keys.cfg", "scale_x_y=1.05\niou_loss=ciou\niou_normalizer=0.07\nobj_normalizer=2\n"
                                         "cls_normalizer=1.0\niou_thresh=0.213\nmax_delta=5\nlabel_smooth_eps=0.1\n");
    ohem_err e;
    network *net = NULL;
    if (ohem_parse_network("tests/tmp/yolo_keys.cfg", &net, &e) != 0) fail_msg("%s", e.msg);
    const yolo_options *o = yolo_layer_options(&net->layers[1]);
    assert_non_null(o);
    assert_true(o->alexeyab);
    assert_true(o->scale_x_y == 1.05f && o->iou_loss == IOU_CIOU && o->iou_normalizer == 0.07f);
    assert_true(o->obj_normalizer == 2 && o->iou_thresh == 0.213f && o->max_delta == 5 && o->label_smooth_eps == 0.1f);
    free_network(net);
    write_cfg("tests/tmp/yolo_keys.cfg", "");
    assert_int_equal(ohem_parse_network("tests/tmp/yolo_keys.cfg", &net, &e), 0);
    o = yolo_layer_options(&net->layers[1]);
    assert_non_null(o);
    assert_false(o->alexeyab);
    free_network(net);
    static const char *const bad[][2] = {
        {"iou_loss=cio\n", "tests/tmp/yolo_keys.cfg:16: [yolo] iou_loss=cio: expected one of mse, iou, giou, diou, ciou"},
        {"scale_x_y=0\n", "tests/tmp/yolo_keys.cfg:16: [yolo] scale_x_y=0: expected a number in [1, 10]"},
        {"iou_thresh=1.5\n", "tests/tmp/yolo_keys.cfg:16: [yolo] iou_thresh=1.5: expected a number in [0, 1]"},
        {"focal_loss=yes\n", "tests/tmp/yolo_keys.cfg:16: [yolo] focal_loss=yes: expected an integer in [0, 1]"},
        {"iou_thresh_kind=giou\n", "tests/tmp/yolo_keys.cfg:16: [yolo] iou_thresh_kind=giou: AlexeyAB's Darknet key, not implemented here"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_cfg("tests/tmp/yolo_keys.cfg", bad[i][0]);
        net = NULL;
        assert_int_equal(ohem_parse_network("tests/tmp/yolo_keys.cfg", &net, &e), -1);
        if (strncmp(e.msg, bad[i][1], strlen(bad[i][1]))) fail_msg("message: %s\nexpected: %s...", e.msg, bad[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_alexeyab_delta),
        cmocka_unit_test(test_stock_as_libdarknet),
        cmocka_unit_test(test_threads_same),
        cmocka_unit_test(test_scale_x_y),
        cmocka_unit_test(test_one_truth),
        cmocka_unit_test(test_iou_loss_layer),
        cmocka_unit_test(test_new_coords),
        cmocka_unit_test(test_nms),
        cmocka_unit_test(test_parser_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
