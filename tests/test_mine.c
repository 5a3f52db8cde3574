/* test_mine.c: the pieces of `ohem mine` against second computations: an image's
 * loss against a plain forward (inference mode) followed by the [yolo] layer's own
 * training forward and its cost; the per-image matching against a brute-force
 * matcher and against map_evaluate's counts; the ranking against its definition; the
 * figures of a list (mine_images, its images loaded ahead on the loader thread and
 * with OHEM_PREFETCH=off) against each image loaded, its loss and its detections
 * computed here one by one, and a broken image or label file in the middle of the
 * list: the same error both ways, naming it, no image after it mined. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mine.h"
#include "cli.h"
#include "map.h"
#include "oracle.h"
#include "tiny_detector.h"

static network *tiny_network(void)
{
    return tiny_detector("tests/tmp/test_mine.cfg");
}

/* The oracle: libdarknet's forward in inference mode, then the [yolo] layer's own
 * training forward on the same input; its cost is the sum of its squared delta. */
static double oracle_loss(network *net, const float *pixels, const float *rows, int n)
{
    memcpy(net->input, pixels, (size_t)net->inputs * sizeof(float));
    memset(net->truth, 0, (size_t)net->truths * sizeof(float));
    for (int r = 0; r < n; r++) {
        float *t = net->truth + 5 * r;
        t[0] = rows[5 * r + 1], t[1] = rows[5 * r + 2], t[2] = rows[5 * r + 3], t[3] = rows[5 * r + 4];
        t[4] = rows[5 * r];
    }
    net->train = 0;
    forward_network(net);
    int y = net->n - 1;
    layer l = net->layers[y];
    assert_int_equal(l.type, YOLO);
    network run = *net;
    run.train = 1;
    run.index = y;
    run.input = net->layers[y - 1].output;
    memset(l.delta, 0, (size_t)l.outputs * l.batch * sizeof(float));
    l.forward(l, run);
    double sq = 0;
    for (int i = 0; i < l.outputs; i++) sq += (double)l.delta[i] * l.delta[i];
    /* the layer's cost is the same sum (libdarknet's mag_array squared) */
    assert_true(fabs(sq - *l.cost) <= 1e-4 * (sq + 1));
    return *l.cost;
}

static void test_loss_against_forward_and_cost(void **state)
{
    (void)state;
    network *net = tiny_network();
    mine_net m;
    assert_int_equal(mine_net_init(&m, net), 0);
    assert_int_equal(m.classes, 2);
    rng_seed(11);
    for (int k = 0; k < 6; k++) {
        image im = make_image(net->w, net->h, 3);
        for (int i = 0; i < im.w * im.h * 3; i++) im.data[i] = rng_unit();
        /* image 0 is a negative image: no box */
        int n = k == 0 ? 0 : 1 + (int)(rng_u32() % 4);
        float rows[5 * 4];
        for (int r = 0; r < n; r++) {
            float w = .1f + .5f * rng_unit(), h = .1f + .5f * rng_unit();
            rows[5 * r] = (float)(rng_u32() % 2);
            rows[5 * r + 1] = w / 2 + (1 - w) * rng_unit();
            rows[5 * r + 2] = h / 2 + (1 - h) * rng_unit();
            rows[5 * r + 3] = w;
            rows[5 * r + 4] = h;
        }
        float got = mine_image_loss(&m, im, rows, n);
        double want = oracle_loss(net, im.data, rows, n);
        if (!(fabs(got - want) <= 1e-4 * want)) fprintf(stderr, "image %d (%d boxes): loss %.6g, oracle %.6g\n", k, n, got, want);
        assert_true(want > 0);
        assert_true(fabs(got - want) <= 1e-4 * want);
        /* the same image again: the same loss (nothing depends on the order) */
        assert_true(mine_image_loss(&m, im, rows, n) == got);
        free_image(im);
    }
    mine_net_free(&m);
    free_network(net);
}

/* Brute force: repeatedly the highest-scoring detection not yet looked at (the
 * earliest on ties) tries every truth of its class; the best IoU wins. */
static void brute_match(const map_det *d, int nd, const map_truth *t, int nt, float iou, int *fp, int *miss)
{
    unsigned char done[64] = {0}, taken[64] = {0};
    *fp = 0;
    for (int step = 0; step < nd; step++) {
        int k = -1;
        for (int i = 0; i < nd; i++)
            if (!done[i] && (k < 0 || d[i].score > d[k].score)) k = i;
        done[k] = 1;
        int best = -1;
        float bi = -1;
        for (int j = 0; j < nt; j++)
            if (t[j].cls == d[k].cls && box_iou(d[k].b, t[j].b) > bi) best = j, bi = box_iou(d[k].b, t[j].b);
        if (best >= 0 && bi > iou && !taken[best]) taken[best] = 1;
        else (*fp)++;
    }
    *miss = 0;
    for (int j = 0; j < nt; j++) *miss += !taken[j];
}

static box random_box(void)
{
    box b = {.2f + .6f * rng_unit(), .2f + .6f * rng_unit(), .05f + .3f * rng_unit(), .05f + .3f * rng_unit()};
    return b;
}

static void test_match_against_brute_force_and_map(void **state)
{
    (void)state;
    rng_seed(5);
    for (int trial = 0; trial < 500; trial++) {
        int nt = (int)(rng_u32() % 6), nd = (int)(rng_u32() % 12), classes = 3;
        map_truth t[8];
        map_det d[16];
        for (int j = 0; j < nt; j++) t[j] = (map_truth){0, (int)(rng_u32() % classes), random_box(), 0};
        for (int i = 0; i < nd; i++) {
            /* half of them near a truth, so that hits, duplicates and misses all occur */
            box b = random_box();
            if (nt && rng_u32() % 2) {
                b = t[rng_u32() % nt].b;
                b.x += .05f * (rng_unit() - .5f);
                b.w *= .8f + .4f * rng_unit();
            }
            d[i] = (map_det){0, (int)(rng_u32() % classes), (float)(rng_u32() % 20) / 20, b};
        }
        unsigned char det_fp[16], missed[8];
        int fp, miss, bfp, bmiss;
        mine_match(d, nd, t, nt, .5f, det_fp, missed, &fp, &miss);
        brute_match(d, nd, t, nt, .5f, &bfp, &bmiss);
        assert_int_equal(fp, bfp);
        assert_int_equal(miss, bmiss);
        int sfp = 0, smiss = 0;
        for (int i = 0; i < nd; i++) sfp += det_fp[i];
        for (int j = 0; j < nt; j++) smiss += missed[j];
        assert_int_equal(sfp, fp);
        assert_int_equal(smiss, miss);
        /* map_evaluate's counts at score threshold 0: the same */
        map_class mc[3];
        map_evaluate(d, nd, t, nt, classes, .5f, 0, 0.f, mc);
        int mtp = 0, mfp = 0;
        for (int c = 0; c < classes; c++) mtp += mc[c].tp, mfp += mc[c].fp;
        assert_int_equal(fp, mfp);
        assert_int_equal(miss, nt - mtp);
        if (nt == 0) assert_int_equal(fp, nd); /* a negative image: every detection is false */
    }
}

static void test_rank(void **state)
{
    (void)state;
    rng_seed(9);
    enum { N = 200 };
    mine_figures f[N];
    int order[N];
    for (int i = 0; i < N; i++) {
        f[i] = (mine_figures){(float)(rng_u32() % 30) / 3, 0, 0, (int)(rng_u32() % 4), (int)(rng_u32() % 3)};
        if (i % 50 == 7) f[i].loss = NAN;
    }
    for (int by = MINE_BY_LOSS; by <= MINE_BY_ERRORS; by++) {
        mine_rank(f, N, (mine_by)by, order);
        unsigned char seen[N] = {0};
        for (int k = 0; k < N; k++) {
            assert_false(seen[order[k]]);
            seen[order[k]] = 1;
        }
        for (int k = 1; k < N; k++) {
            const mine_figures *a = &f[order[k - 1]], *b = &f[order[k]];
            int ea = a->fp + a->misses, eb = b->fp + b->misses;
            if (by == MINE_BY_ERRORS) {
                assert_true(ea >= eb);
                if (ea != eb) continue;
            }
            /* NaN last; then loss descending; ties in list order */
            assert_false(isnan(a->loss) && !isnan(b->loss));
            if (isnan(a->loss) || isnan(b->loss)) continue;
            assert_true(a->loss >= b->loss);
            if (a->loss == b->loss) assert_true(order[k - 1] < order[k]);
        }
    }
}

/* libdarknet's PNG writer (stb_image_write) */
int stbi_write_png(char const *filename, int w, int h, int comp, const void *data, int stride_in_bytes);

#define LDIR "tests/tmp/test_mine"
#define LN 9  /* images of the list */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Image LDIR/images/name.png (w x h, seeded pixels: blocks of colour, so that the
 * network sees shapes) with nrows random boxes in its label file; returns its path. */
static char *write_image(const char *name, int w, int h, int nrows)
{
    char path[256], lab[256], text[512] = "";
    snprintf(path, sizeof(path), LDIR "/images/%s.png", name);
    snprintf(lab, sizeof(lab), LDIR "/labels/%s.txt", name);
    unsigned char *px = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++) px[i] = (unsigned char)(((i / 3 % w) / 8 * 37 + (i / 3 / w) / 8 * 91 + i % 3 * 50 + rng_u32() % 40) & 255);
    assert_true(stbi_write_png(path, w, h, 3, px, w * 3) != 0);
    free(px);
    random_labels(text, sizeof(text), nrows);
    write_file(lab, text);
    return strdup(path);
}

/* mine_images with the loader thread (on) or OHEM_PREFETCH=off, stderr into the file
 * err. */
static int mine_list(mine_net *m, char **paths, int n, float thresh, mine_figures *fig, const char *err, int on)
{
    if (on) unsetenv("OHEM_PREFETCH");
    else setenv("OHEM_PREFETCH", "off", 1);
    int saved = stderr_to(err);
    int st = mine_images(m, paths, n, thresh, fig);
    stderr_back(saved);
    unsetenv("OHEM_PREFETCH");
    return st;
}

static void test_list_against_images_one_by_one(void **state)
{
    (void)state;
    assert_int_equal(system("rm -rf " LDIR " && mkdir -p " LDIR "/images " LDIR "/labels"), 0);
    rng_seed(21);
    char *paths[LN + 1];
    for (int i = 0; i < LN; i++) {
        char name[16];
        snprintf(name, sizeof(name), "im%d", i);
        /* most not square, so that letterboxing and stretching differ; image 3 a negative */
        paths[i] = write_image(name, 20 + (int)(rng_u32() % 50), 20 + (int)(rng_u32() % 50), i == 3 ? 0 : 1 + (int)(rng_u32() % 3));
    }
    write_file(LDIR "/images/broken.png", "not a picture\n");
    write_file(LDIR "/labels/broken.txt", "0 0.5 0.5 0.2 0.2\n");
    char *badlabel = write_image("badlabel", 30, 20, 1);
    write_file(LDIR "/labels/badlabel.txt", "0 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.2 0.2\n");
    network *net = tiny_network();
    mine_net m;
    assert_int_equal(mine_net_init(&m, net), 0);
    const float thresh = 0.02f;
    /* the oracle: each image loaded here, its loss through mine_image_loss (resized
     * there), its detections through detector_detect (its input made there) */
    mine_figures want[LN];
    int any_det = 0;
    for (int i = 0; i < LN; i++) {
        int ok, nrows, nb, nd = 0;
        char lab[256];
        float *rows;
        image im = load_image_checked(paths[i], &ok);
        assert_true(ok);
        label_path(paths[i], lab, sizeof(lab));
        assert_int_equal(read_labels(lab, 2, &rows, &nrows), 0);
        memset(&want[i], 0, sizeof(want[i]));
        want[i].loss = mine_image_loss(&m, im, rows, nrows);
        want[i].truths = nrows;
        detection *d = detector_detect(net, im, thresh, &nb);
        map_det dets[512];
        for (int k = 0; k < nb; k++)
            for (int c = 0; c < 2; c++)
                if (d[k].prob[c] >= thresh && d[k].prob[c] > 0 && nd < 512) dets[nd++] = (map_det){0, c, d[k].prob[c], d[k].bbox};
        free_detections(d, nb);
        map_truth t[8];
        for (int r = 0; r < nrows; r++)
            t[r] = (map_truth){0, (int)rows[5 * r], {rows[5 * r + 1], rows[5 * r + 2], rows[5 * r + 3], rows[5 * r + 4]}, 0};
        want[i].detections = nd;
        any_det += nd;
        mine_match(dets, nd, t, nrows, 0.5f, NULL, NULL, &want[i].fp, &want[i].misses);
        free(rows);
        free_image(im);
    }
    assert_true(any_det > 0); /* else the detections say nothing */
    for (int on = 0; on < 2; on++) {
        mine_figures got[LN];
        memset(got, 0, sizeof(got));
        assert_int_equal(mine_list(&m, paths, LN, thresh, got, LDIR "/err", on), 0);
        for (int i = 0; i < LN; i++) {
            if (memcmp(&got[i], &want[i], sizeof(got[i])))
                fprintf(stderr, "prefetch %s, image %d: loss %.9g, %d truths, %d detections, fp %d, misses %d; oracle %.9g, %d, %d, %d, %d\n",
                        on ? "on" : "off", i, got[i].loss, got[i].truths, got[i].detections, got[i].fp, got[i].misses,
                        want[i].loss, want[i].truths, want[i].detections, want[i].fp, want[i].misses);
            assert_memory_equal(&got[i], &want[i], sizeof(got[i]));
        }
    }
    /* a broken image or label file at k: the images before it mined, none after it,
     * the error naming it, the same both ways */
    static const char *const says[] = {"\nerror: " LDIR "/images/broken.png: the image is missing or does not decode\n",
                                       LDIR "/labels/badlabel.txt:2: class '5' is not an integer in 0..1"};
    for (int which = 0; which < 2; which++)
        for (int k = 0; k <= LN; k += 3) {
            char *list[LN + 1];
            int n = 0;
            for (int i = 0; i <= LN; i++) {
                if (i == k) list[n++] = which ? badlabel : LDIR "/images/broken.png";
                if (i < LN) list[n++] = paths[i];
            }
            char *err[2];
            for (int on = 0; on < 2; on++) {
                mine_figures got[LN + 1];
                memset(got, 0xa5, sizeof(got));
                mine_figures untouched;
                memset(&untouched, 0xa5, sizeof(untouched));
                assert_int_equal(mine_list(&m, list, n, thresh, got, LDIR "/err", on), -1);
                for (int i = 0; i < k; i++) assert_memory_equal(&got[i], &want[i], sizeof(got[i]));
                for (int i = k + 1; i < n; i++) assert_memory_equal(&got[i], &untouched, sizeof(got[i]));
                err[on] = slurp(LDIR "/err");
                if (!strstr(err[on], says[which])) fprintf(stderr, "stderr: %s\n", err[on]);
                assert_non_null(strstr(err[on], says[which]));
            }
            /* the same message both ways (after the progress line, timed, when there is one) */
            char *a = strrchr(err[0], '\r'), *b = strrchr(err[1], '\r');
            assert_true(!a == !b);
            assert_string_equal(a ? strchr(a, '\n') : err[0], b ? strchr(b, '\n') : err[1]);
            free(err[0]);
            free(err[1]);
        }
    mine_net_free(&m);
    free_network(net);
    for (int i = 0; i < LN; i++) free(paths[i]);
    free(badlabel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_against_forward_and_cost),
        cmocka_unit_test(test_match_against_brute_force_and_map),
        cmocka_unit_test(test_rank),
        cmocka_unit_test(test_list_against_images_one_by_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
