/* test_ohem_roi.c: [ohem] mining the RoIs of a two-stage network ([roi_loss]).
 * After a training forward, the kept RoIs of each image equal the oracle's
 * (tests/oracle.h) over labels and losses computed here a second way, by hand,
 * from the RoI boxes, the truths and the head's output; no unlabelled RoI is ever
 * kept; the delta is zero on every row not kept and, on kept rows, the Fast R-CNN
 * delta scaled by 1 / (kept RoIs of the image); the stats count real RoIs only.
 * Then the cfg errors: rank=obj, [roi_loss] mixed with [yolo], [ohem] not last. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "darknet.h"
#include "ohem_layer.h"
#include "parser.h"
#include "oracle.h"
#include "rcnn.h"
#include "roi_loss_layer.h"
#include "roipool_layer.h"
#include "roi_rows.h"
#include "pool.h"

#define TMP "tests/tmp"
#define C 2  /* classes */
#define R 12 /* RoIs per image */

/* 32x32 input, an 8x8 map, 2 anchors, 12 RoIs per image from 10 proposals (so an
 * image with one truth or none has invalid repeats), a linear head, 2 classes,
 * then [roi_loss] (%s: its extra keys) and [ohem] (%s: its keys). Layers: 0-2
 * convolutions, 3 [rpn], 4 [roipool], 5-6 head, 7 [roi_loss], 8 [ohem]. */
static const char *const roi_cfg =
    "[net]\nbatch=2\nsubdivisions=1\nwidth=32\nheight=32\nchannels=3\nlearning_rate=0.01\n"
    "momentum=0.9\ndecay=0\nmax_batches=10\n"
    "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
    "[convolutional]\nfilters=6\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
    "[convolutional]\nfilters=10\nsize=1\nstride=1\npad=1\nactivation=linear\n"
    "[rpn]\nanchors=8,8, 16,12\nproposals=10\nnms=0.7\nmin_size=1\n"
    "[roipool]\nfrom=1\nsize=3\nrois=12\n"
    "[connected]\noutput=8\nactivation=linear\n"
    "[connected]\noutput=11\nactivation=linear\n"
    "[roi_loss]\nclasses=2\n%s\n"
    "[ohem]\n%s\n";

static char path_buf[256];

static const char *write_text(const char *name, const char *text)
{
    mkdir(TMP, 0777);
    snprintf(path_buf, sizeof(path_buf), TMP "/ohem_roi_%s.cfg", name);
    FILE *f = fopen(path_buf, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path_buf;
}

static network *build(const char *loss_x, const char *ohem_x)
{
    char text[4096];
    snprintf(text, sizeof(text), roi_cfg, loss_x, ohem_x);
    network *net;
    ohem_err e;
    if (ohem_parse_network(write_text("net", text), &net, &e) != 0) fail_msg("%s", e.msg);
    return net;
}

/* The truths of the test: image 0 two, image 1 one. */
static const box truth_box[2][2] = {{{.3f, .4f, .25f, .3f}, {.7f, .6f, .3f, .25f}}, {{.5f, .5f, .4f, .4f}, {0, 0, 0, 0}}};
static const int truth_cls[2][2] = {{1, 0}, {1, 0}};
static const int truth_n[2] = {2, 1};

static void set_truths(network *net)
{
    memset(net->truth, 0, (size_t)net->truths * net->batch * sizeof(float));
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < truth_n[b]; t++) {
            float *r = net->truth + (size_t)b * net->truths + 5 * t;
            r[0] = truth_box[b][t].x;
            r[1] = truth_box[b][t].y;
            r[2] = truth_box[b][t].w;
            r[3] = truth_box[b][t].h;
            r[4] = (float)truth_cls[b][t];
        }
}

static float smooth_l1(float x)
{
    return fabsf(x) < 1 ? .5f * x * x : fabsf(x) - .5f;
}

/* The oracle's view of one RoI: label (class, C background, -1 none), the matched
 * truth's Fast R-CNN target, and the two loss parts, by hand. */
typedef struct {
    int label;
    float target[4];
    double cls, box;
} roi_truth;

static roi_truth oracle_roi(box roi, int valid, int b, const float *x, float bg_lo, float bg_hi)
{
    roi_truth o = {-1, {0, 0, 0, 0}, 0, 0};
    if (!valid) return o;
    float best = 0;
    int arg = -1;
    for (int t = 0; t < truth_n[b]; t++) {
        float iou = box_iou(roi, truth_box[b][t]);
        if (arg < 0 || iou > best) best = iou, arg = t;
    }
    if (arg >= 0 && best >= .5f) o.label = truth_cls[b][arg];
    else if (best >= bg_lo && best < bg_hi) o.label = C;
    else return o;
    double mx = x[0], sum = 0;
    for (int k = 1; k <= C; k++) mx = x[k] > mx ? x[k] : mx;
    for (int k = 0; k <= C; k++) sum += exp(x[k] - mx);
    o.cls = log(sum) - (x[o.label] - mx);
    if (o.label < C) {
        box g = truth_box[b][arg];
        o.target[0] = (g.x - roi.x) / roi.w / .1f;
        o.target[1] = (g.y - roi.y) / roi.h / .1f;
        o.target[2] = logf(g.w / roi.w) / .2f;
        o.target[3] = logf(g.h / roi.h) / .2f;
        for (int k = 0; k < 4; k++) o.box += smooth_l1(x[C + 1 + 4 * o.label + k] - o.target[k]);
    }
    return o;
}

typedef struct {
    const char *loss_x, *ohem_x;
    float bg_lo;           /* the band mining labels with */
    int per_image;         /* 0: fraction */
    float fraction, nms;
    ohem_rank rank;
    int keep_positives;
    float neg_pos_ratio;
    int min_negatives;
    int warmup;            /* 1: no mining on this forward */
} roi_case;

static void run_case(const roi_case *c, int ci)
{
    /* the dense masked backward: the sparse pass gathers rows, so the delta of a
     * RoI would not stay at its row (test_sparse_equals_dense holds the two equal) */
    char ohem_x[512];
    snprintf(ohem_x, sizeof(ohem_x), "%s\nsparse=0", c->ohem_x);
    network *net = build(c->loss_x, ohem_x);
    assert_int_equal(net->n, 9);
    assert_true(is_ohem_layer(&net->layers[8]));
    assert_int_equal(net->layers[8].batch, 2 * R);
    unsigned seed = 11 + ci;
    for (int i = 0; i < net->inputs * net->batch; i++) net->input[i] = (float)rand_r(&seed) / RAND_MAX * 2 - 1;
    /* a larger spread of the head's output, so that the losses differ */
    layer *head = &net->layers[6];
    for (int i = 0; i < head->outputs * head->inputs; i++) head->weights[i] = ((float)rand_r(&seed) / RAND_MAX - .5f);
    set_truths(net);
    net->train = 1;
    forward_network(net);

    const unsigned char *valid;
    int nr;
    roi_rows *rr = roipool_layer_rows(&net->layers[4]);
    nr = roi_rows_per_image(rr);
    valid = roi_rows_valid(rr);
    const box *rois = roi_rows_boxes(rr);
    assert_int_equal(nr, R);
    const layer *rl = &net->layers[7];
    const float *loss, *cls_part, *box_part;
    const int *label;
    const unsigned char *trained;
    roi_loss_layer_rois(rl, &loss, &label, &trained);
    roi_loss_layer_parts(rl, &cls_part, &box_part);
    int per;
    const unsigned char *kept = ohem_layer_kept(&net->layers[8], &per);
    assert_non_null(kept);
    assert_int_equal(per, R);

    /* [ohem]'s backward, as backward_network runs it */
    network bn = *net;
    bn.index = 8;
    bn.input = net->layers[7].output;
    bn.delta = net->layers[7].delta;
    net->layers[8].backward(net->layers[8], bn);

    long all_kept = 0, all_lab = 0, all_pos = 0, all_pos_kept = 0, invalid_seen = 0, unlabelled_seen = 0;
    double roi_sum = 0;
    for (int b = 0; b < 2; b++) {
        roi_truth o[R];
        float lossv[R], full[R];
        box bx[R];
        unsigned char pos[R];
        int idx[R], m = 0;
        for (int r = 0; r < R; r++) {
            size_t row = (size_t)b * R + r;
            const float *x = net->layers[6].output + row * rl->inputs;
            o[r] = oracle_roi(rois[row], valid[row], b, x, c->bg_lo, .5f);
            invalid_seen += !valid[row];
            unlabelled_seen += valid[row] && o[r].label < 0;
            if (o[r].label != label[row]) fail_msg("case %d image %d RoI %d: label %d, oracle %d", ci, b, r, label[row], o[r].label);
            if (o[r].label < 0) {
                if (kept[row]) fail_msg("case %d image %d RoI %d: unlabelled but kept", ci, b, r);
                continue;
            }
            if (fabs(cls_part[row] - o[r].cls) > 1e-4 * (1 + o[r].cls) || fabs(box_part[row] - o[r].box) > 1e-4 * (1 + o[r].box))
                fail_msg("case %d image %d RoI %d: parts %g %g, by hand %g %g", ci, b, r, cls_part[row], box_part[row], o[r].cls, o[r].box);
            assert_float_equal(loss[row], cls_part[row] + box_part[row], 1e-5 * (1 + loss[row]));
            /* the oracle ranks the layer's own parts (equal within rounding, checked above) */
            idx[m] = r;
            full[m] = box_part[row] + cls_part[row];
            lossv[m] = c->rank == OHEM_RANK_CLASS ? cls_part[row] : c->rank == OHEM_RANK_COORD ? box_part[row] : full[m];
            bx[m] = rois[row];
            pos[m] = o[r].label < C;
            m++;
        }
        unsigned char want[R] = {0};
        int nk;
        if (c->warmup) {
            for (int q = 0; q < m; q++) want[idx[q]] = 1;
            nk = m;
        } else {
            int budget = c->per_image;
            if (!budget) budget = (int)ceil((double)c->fraction * m - 1e-6);
            ohem_policy p = {budget, c->nms, c->keep_positives, c->neg_pos_ratio, c->min_negatives};
            int keep[R];
            oracle_tie = c->rank == OHEM_RANK_ALL ? NULL : full;
            nk = oracle_policy(&p, lossv, bx, pos, m, keep);
            oracle_tie = NULL;
            for (int k = 0; k < nk; k++) want[idx[keep[k]]] = 1;
        }
        int n_kept = 0;
        for (int r = 0; r < R; r++) {
            size_t row = (size_t)b * R + r;
            n_kept += kept[row];
            if (kept[row] != want[r]) fail_msg("case %d image %d RoI %d: kept %d, oracle %d", ci, b, r, kept[row], want[r]);
            if (trained[row] != kept[row]) fail_msg("case %d image %d RoI %d: trained %d, kept %d", ci, b, r, trained[row], kept[row]);
        }
        assert_int_equal(n_kept, nk);
        all_kept += nk;
        all_lab += m;
        for (int q = 0; q < m; q++) {
            all_pos += pos[q];
            all_pos_kept += pos[q] && want[idx[q]];
        }
        /* the delta: 0 off the kept rows; Fast R-CNN's, scaled by 1 / nk, on them */
        float *d = rl->delta + (size_t)b * R * rl->inputs, expect[5 * C + 1];
        for (int r = 0; r < R; r++) {
            const float *row_d = d + (size_t)r * rl->inputs;
            if (!want[r]) {
                for (int k = 0; k < rl->inputs; k++)
                    if (row_d[k] != 0) fail_msg("case %d image %d RoI %d: delta[%d] = %g on a row not kept", ci, b, r, k, row_d[k]);
                continue;
            }
            const float *x = net->layers[6].output + ((size_t)b * R + r) * rl->inputs;
            float cl, bo;
            float l1 = rcnn_roi_loss(x, C, o[r].label, o[r].target, 1, 1.f / nk, expect, &cl, &bo);
            roi_sum += l1 / nk;
            for (int k = 0; k < rl->inputs; k++)
                if (fabsf(row_d[k] - expect[k]) > 1e-5f * (1 + fabsf(expect[k])))
                    fail_msg("case %d image %d RoI %d: delta[%d] = %g, expected %g", ci, b, r, k, row_d[k], expect[k]);
        }
    }
    /* the stats count real RoIs only */
    ohem_stats s;
    assert_int_equal(ohem_layer_stats(&net->layers[8], &s), 0);
    assert_int_equal(s.kept, all_kept);
    assert_int_equal(s.candidates, all_lab);
    assert_int_equal(s.positives, all_pos);
    assert_int_equal(s.positives_kept, all_pos_kept);
    assert_int_equal(s.active, !c->warmup);
    roi_loss_stats rs;
    roi_loss_layer_stats(rl, &rs);
    assert_int_equal(rs.trained, all_kept);
    assert_float_equal(rs.roi, roi_sum, 1e-4 * (1 + roi_sum));
    assert_float_equal(*rl->cost, rs.roi + rs.rpn, 1e-4 * (1 + rs.roi + rs.rpn));
    /* the printed loss: forward_network summed [roi_loss]'s cost with the RoI part in */
    assert_float_equal(*net->cost, rs.roi + rs.rpn, 1e-4 * (1 + rs.roi + rs.rpn));
    print_message("case %d: kept %ld of %ld labelled RoIs (%ld invalid, %ld unlabelled)\n", ci, all_kept, all_lab, invalid_seen, unlabelled_seen);
    if (c->bg_lo > 0 && c->per_image >= R) assert_true(unlabelled_seen + invalid_seen > 0); /* the case means something */
    free_network(net);
}

static void test_kept_and_delta(void **state)
{
    (void)state;
    static const roi_case cases[] = {
        {"", "per_image=4\nnms=0.7", 0, 4, 0, .7f, OHEM_RANK_ALL, 0, 0, 0, 0},
        {"", "per_image=3\nnms=0.3\nrank=class", 0, 3, 0, .3f, OHEM_RANK_CLASS, 0, 0, 0, 0},
        {"", "fraction=0.5\nnms=1\nrank=coord", 0, 0, .5f, 1, OHEM_RANK_COORD, 0, 0, 0, 0},
        {"", "per_image=2\nnms=0.5\npositives=keep\nneg_pos_ratio=1\nmin_negatives=1", 0, 2, 0, .5f, OHEM_RANK_ALL, 1, 1, 1, 0},
        {"", "per_image=5\nnms=0.7\nneg_pos_ratio=0.5\nmin_negatives=2", 0, 5, 0, .7f, OHEM_RANK_ALL, 0, .5f, 2, 0},
        /* bg_iou given: RoIs below 0.3 have no label; a budget above every RoI */
        {"bg_iou=0.3,0.5", "per_image=12\nnms=1", .3f, 12, 0, 1, OHEM_RANK_ALL, 0, 0, 0, 0},
        {"bg_iou=0.3,0.5", "per_image=12\nnms=0.7", .3f, 12, 0, .7f, OHEM_RANK_ALL, 0, 0, 0, 0},
        {"bg_iou=0.3,0.5", "fraction=0.5\nnms=1", .3f, 0, .5f, 1, OHEM_RANK_ALL, 0, 0, 0, 0},
        {"", "per_image=8\nnms=0.1", 0, 8, 0, .1f, OHEM_RANK_ALL, 0, 0, 0, 0},
        /* warmup: every labelled RoI trains */
        {"bg_iou=0.3,0.5", "per_image=2\nwarmup=5", .3f, 2, 0, .7f, OHEM_RANK_ALL, 0, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) run_case(&cases[i], (int)i);
}

/* set_batch_network to one image: the layer mines that image's rows. */
static void test_one_image(void **state)
{
    (void)state;
    network *net = build("", "per_image=3\nnms=0.7");
    set_batch_network(net, 1);
    assert_int_equal(net->layers[8].batch, R);
    unsigned seed = 5;
    for (int i = 0; i < net->inputs; i++) net->input[i] = (float)rand_r(&seed) / RAND_MAX * 2 - 1;
    set_truths(net);
    net->train = 1;
    forward_network(net);
    int per;
    const unsigned char *kept = ohem_layer_kept(&net->layers[8], &per);
    assert_non_null(kept);
    int n = 0;
    for (int r = 0; r < R; r++) n += kept[r];
    assert_int_equal(n, 3);
    ohem_stats s;
    assert_int_equal(ohem_layer_stats(&net->layers[8], &s), 0);
    assert_int_equal(s.kept, 3);
    assert_true(s.candidates > 3 && s.candidates <= R);
    free_network(net);
}

static void expect_error(const char *name, const char *text, const char *key_text, const char *want)
{
    const char *path = write_text(name, text);
    network *net;
    ohem_err e;
    if (ohem_parse_network(path, &net, &e) == 0) fail_msg("%s: no error", name);
    int line = 1;
    const char *p = strstr(text, key_text);
    assert_non_null(p);
    for (const char *q = text; q < p; q++) line += *q == '\n';
    char head[300];
    snprintf(head, sizeof(head), "%s:%d: %s", path, line, want);
    if (!strstr(e.msg, head)) fail_msg("%s: '%s' does not say '%s'", name, e.msg, head);
}

static void test_cfg_errors(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof(text), roi_cfg, "", "per_image=4\nrank=obj");
    expect_error("rank_obj", text, "rank=obj", "[ohem] rank=obj: a RoI of [roi_loss] has no objectness loss");
    /* [ohem] not last: before the [roi_loss] */
    const char *roi = strstr(roi_cfg, "[roi_loss]");
    snprintf(text, sizeof(text), "%.*s[ohem]\nper_image=4\n[roi_loss]\nclasses=2\n", (int)(roi - roi_cfg), roi_cfg);
    expect_error("not_last", text, "[ohem]", "[ohem] must be the last section");
    /* a section after [roi_loss] other than [ohem] */
    snprintf(text, sizeof(text), "%.*s[roi_loss]\nclasses=2\n[connected]\noutput=11\n[ohem]\n", (int)(roi - roi_cfg), roi_cfg);
    expect_error("after_loss", text, "[roi_loss]", "[roi_loss]: must be the last section");
    /* a [yolo] beside the two-stage head: [ohem] mines both by default, or by layers= */
    static const char *const mixed =
        "[net]\nbatch=2\nwidth=32\nheight=32\nchannels=3\n"
        "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=leaky\n"            /* 0 */
        "[convolutional]\nfilters=6\nsize=3\nstride=2\npad=1\nactivation=leaky\n"            /* 1 */
        "[convolutional]\nfilters=21\nsize=1\nstride=1\npad=1\nactivation=linear\n"          /* 2 */
        "[yolo]\nmask=0,1,2\nanchors=8,8, 16,16, 24,24\nclasses=2\nnum=3\n"               /* 3 */
        "[route]\nlayers=1\n"                                                              /* 4 */
        "[convolutional]\nfilters=10\nsize=1\nstride=1\npad=1\nactivation=linear\n"          /* 5 */
        "[rpn]\nanchors=8,8, 16,12\nproposals=10\n"                                        /* 6 */
        "[roipool]\nfrom=1\nsize=3\nrois=12\n"                                             /* 7 */
        "[connected]\noutput=11\nactivation=linear\n"                                      /* 8 */
        "[roi_loss]\nclasses=2\n"                                                          /* 9 */
        "[ohem]\n%s\n";
    snprintf(text, sizeof(text), mixed, "per_image=4");
    expect_error("mixed", text, "[ohem]", "[ohem] layers=(all): mixes [roi_loss] with other loss layers");
    snprintf(text, sizeof(text), mixed, "layers=3,9");
    expect_error("mixed_layers", text, "layers=3,9", "[ohem] layers=3,9: mixes [roi_loss] with other loss layers");
    /* pipeline is no key of [ohem], whatever its value */
    snprintf(text, sizeof(text), roi_cfg, "", "per_image=4\npipeline=1");
    expect_error("pipeline", text, "pipeline=1", "[ohem] unknown key 'pipeline' (hint: the keys are per_image,");
    snprintf(text, sizeof(text), roi_cfg, "", "per_image=4\npipeline=0");
    expect_error("pipeline0", text, "pipeline=0", "[ohem] unknown key 'pipeline'");
    /* the [roi_loss] alone, named: builds */
    snprintf(text, sizeof(text), mixed, "layers=-1");
    network *net;
    ohem_err e;
    if (ohem_parse_network(write_text("named", text), &net, &e) != 0) fail_msg("%s", e.msg);
    free_network(net);
}

/* cfg/fashion-frcnn-ohem.cfg is cfg/fashion-frcnn.cfg without its bg_iou line and
 * with an [ohem] section, byte for byte, and it builds. */
static void test_committed_cfg(void **state)
{
    (void)state;
    static char a[1 << 16], b[1 << 16];
    /* the sampler's cfg without its bg_iou line (the paper's band: bg_lo 0), plus [ohem] */
    FILE *f = fopen("cfg/fashion-frcnn.cfg", "rb");
    assert_non_null(f);
    size_t na = 0;
    char line[512];
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "bg_iou=", 7)) {
            size_t n = strlen(line);
            memcpy(a + na, line, n);
            na += n;
        }
    fclose(f);
    f = fopen("cfg/fashion-frcnn-ohem.cfg", "rb");
    assert_non_null(f);
    size_t nb = fread(b, 1, sizeof(b) - 1, f);
    fclose(f);
    b[nb] = 0;
    assert_true(nb > na);
    if (memcmp(a, b, na)) fail_msg("cfg/fashion-frcnn-ohem.cfg is not cfg/fashion-frcnn.cfg without bg_iou before its end");
    assert_string_equal(b + na, "\n[ohem]\nper_image=32\nnms=0.7\n");
    network *net;
    ohem_err e;
    if (ohem_parse_network("cfg/fashion-frcnn-ohem.cfg", &net, &e) != 0) fail_msg("%s", e.msg);
    assert_true(is_ohem_layer(&net->layers[net->n - 1]));
    assert_true(is_roi_loss_layer(&net->layers[net->n - 2]));
    assert_int_equal(net->layers[net->n - 1].batch, net->layers[net->n - 2].batch);
    free_network(net);
}

/* Largest difference between two arrays, relative to the larger magnitude + 1e-3. */
static double max_rel_diff(const float *a, const float *b, int n, int *where)
{
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (fabs(a[i]) > fabs(b[i]) ? fabs(a[i]) + 1e-3 : fabs(b[i]) + 1e-3);
        if (d > worst) {
            worst = d;
            *where = i;
        }
    }
    return worst;
}

/* One training step of the same network with the sparse trainable pass (the head's
 * backward over the kept RoIs only) and with the dense masked backward: the same
 * weight and bias updates in every layer and the same delta of the feature map, to
 * float rounding; the sparse head really ran at K rows, and the next forward sets
 * the batches back. extra goes into the head right after [roipool]: with a
 * [maxpool] there (whose indexes point into the whole batch), the sparse pass runs
 * the head's forward again over the kept rows; without, it gathers the rows of the
 * read-only forward. */
static void sparse_vs_dense(const char *extra)
{
    char text[4096], cfg[4096];
    const char *after = strstr(roi_cfg, "rois=12\n") + strlen("rois=12\n");
    snprintf(cfg, sizeof(cfg), "%.*s%s%s", (int)(after - roi_cfg), roi_cfg, extra, after);
    int shift = *extra ? 1 : 0, pool = 4, loss = 7 + shift, oh = 8 + shift;
    network *net[2];
    for (int v = 0; v < 2; v++) {
        srand(21); /* the same initial weights and RPN/sampler draws */
        snprintf(text, sizeof(text), cfg, "", v ? "per_image=4\nnms=0.7\nsparse=1" : "per_image=4\nnms=0.7\nsparse=0");
        ohem_err e;
        if (ohem_parse_network(write_text("sparse", text), &net[v], &e) != 0) fail_msg("%s", e.msg);
        assert_true(is_ohem_layer(&net[v]->layers[oh]));
        unsigned seed = 5;
        for (int i = 0; i < net[v]->inputs * net[v]->batch; i++) net[v]->input[i] = (float)rand_r(&seed) / RAND_MAX * 2 - 1;
        layer *head = &net[v]->layers[loss - 1];
        for (int i = 0; i < head->outputs * head->inputs; i++) head->weights[i] = ((float)rand_r(&seed) / RAND_MAX - .5f);
        set_truths(net[v]);
        net[v]->train = 1;
        forward_network(net[v]);
        backward_network(net[v]);
    }
    int kept = 0, per;
    const unsigned char *k = ohem_layer_kept(&net[1]->layers[oh], &per);
    for (int i = 0; i < 2 * R; i++) kept += k[i];
    assert_true(kept > 0 && kept < 2 * R);
    for (int i = pool; i <= loss; i++) assert_int_equal(net[1]->layers[i].batch, kept);
    for (int i = pool; i <= loss; i++) assert_int_equal(net[0]->layers[i].batch, 2 * R);
    assert_memory_equal(k, ohem_layer_kept(&net[0]->layers[oh], &per), 2 * R);
    for (int i = 0; i < net[0]->n; i++) {
        layer *a = &net[0]->layers[i], *b = &net[1]->layers[i];
        int nw = a->type == CONNECTED ? a->outputs * a->inputs : a->nweights;
        int where = 0;
        if (a->weight_updates && nw) {
            double d = max_rel_diff(a->weight_updates, b->weight_updates, nw, &where);
            if (d > 1e-4) fail_msg("layer %d: weight update %d: dense %g, sparse %g", i, where, a->weight_updates[where], b->weight_updates[where]);
        }
        if (a->bias_updates && a->type != BLANK) {
            double d = max_rel_diff(a->bias_updates, b->bias_updates, a->outputs && a->type == CONNECTED ? a->outputs : a->n, &where);
            if (d > 1e-4) fail_msg("layer %d: bias update %d: dense %g, sparse %g", i, where, a->bias_updates[where], b->bias_updates[where]);
        }
    }
    int where = 0;
    layer *m0 = &net[0]->layers[1], *m1 = &net[1]->layers[1];
    double d = max_rel_diff(m0->delta, m1->delta, m0->outputs * m0->batch, &where);
    if (d > 1e-4) fail_msg("feature map delta %d: dense %g, sparse %g", where, m0->delta[where], m1->delta[where]);
    double any = 0;
    for (int i = 0; i < m0->outputs * m0->batch; i++) any += fabs(m0->delta[i]);
    assert_true(any > 0);
    /* the next forward restores the rows (an inference forward: no mining after it) */
    net[1]->train = 0;
    forward_network(net[1]);
    for (int i = pool; i <= oh; i++) assert_int_equal(net[1]->layers[i].batch, 2 * R);
    free_network(net[0]);
    free_network(net[1]);
}

static void test_sparse_equals_dense(void **state)
{
    (void)state;
    sparse_vs_dense("");
}

static void test_sparse_equals_dense_maxpool_head(void **state)
{
    (void)state;
    sparse_vs_dense("[maxpool]\nsize=2\nstride=1\n");
}

/* A head with batch_normalize mixes the RoIs of a batch (its statistics): the
 * sparse pass must not run it over the kept rows alone, and [ohem] keeps the dense
 * masked backward, so sparse=1 gives exactly what sparse=0 does. */
static void test_bn_head_stays_dense(void **state)
{
    (void)state;
    const char *head = strstr(roi_cfg, "[connected]\noutput=8\n");
    int hl = (int)strlen("[connected]\noutput=8\n");
    char bn[4096], text[4096];
    snprintf(bn, sizeof(bn), "%.*sbatch_normalize=1\n%s", (int)(head - roi_cfg) + hl, roi_cfg, head + hl);
    network *net[2];
    for (int v = 0; v < 2; v++) {
        snprintf(text, sizeof(text), bn, "", v ? "per_image=4\nsparse=1" : "per_image=4\nsparse=0");
        ohem_err e;
        srand(21);
        if (ohem_parse_network(write_text("bn_head", text), &net[v], &e) != 0) fail_msg("%s", e.msg);
        assert_true(net[v]->layers[5].batch_normalize);
        unsigned seed = 5;
        for (int i = 0; i < net[v]->inputs * net[v]->batch; i++) net[v]->input[i] = (float)rand_r(&seed) / RAND_MAX * 2 - 1;
        set_truths(net[v]);
        net[v]->train = 1;
        forward_network(net[v]);
        backward_network(net[v]);
        for (int i = 4; i <= 8; i++) assert_int_equal(net[v]->layers[i].batch, 2 * R);
    }
    int per;
    assert_memory_equal(ohem_layer_kept(&net[0]->layers[8], &per), ohem_layer_kept(&net[1]->layers[8], &per), 2 * R);
    for (int i = 0; i < net[0]->n; i++) {
        const layer *a = &net[0]->layers[i], *b = &net[1]->layers[i];
        int nw = a->type == CONNECTED ? a->outputs * a->inputs : a->nweights;
        if (a->weight_updates && nw) assert_memory_equal(a->weight_updates, b->weight_updates, nw * sizeof(float));
    }
    double any = 0;
    for (int i = 0; i < net[1]->layers[5].outputs * 8; i++) any += fabs(net[1]->layers[5].weight_updates[i]);
    assert_true(any > 0 && isfinite(any));
    free_network(net[0]);
    free_network(net[1]);
}

/* roi_rows_gather against copying each kept row out of a second copy of the rows:
 * seeded random kept sets (none, all, the first rows kept in place, runs of every
 * length), rows of 1 to 1600 floats, on 1 and 2 threads; rows past K untouched. */
static void test_gather_rows(void **state)
{
    (void)state;
    rng_seed(41);
    static const int widths[] = {1, 7, 256, 1600};
    int threads = ohem_pool_threads();
    for (int t = 1; t <= 2; t++) {
        ohem_pool_set_threads(t);
        for (int c = 0; c < 40; c++) {
            int w = widths[c % 4], total = 1 + (int)(rng_u32() % 4096);
            int every = 1 + (int)(rng_u32() % 6); /* about one row in `every` kept */
            size_t n = (size_t)total * w;
            float *rows = malloc(n * sizeof(float)), *orig = malloc(n * sizeof(float));
            int *row_of = malloc(total * sizeof(int)), K = 0;
            for (size_t i = 0; i < n; i++) orig[i] = rows[i] = (float)rng_u32();
            for (int r = 0; r < total; r++)
                if (c % 10 == 1 || (c % 10 != 2 && (r < total / 8 * (c % 3 == 0) || rng_u32() % every == 0))) row_of[K++] = r;
            roi_rows_gather(rows, w, row_of, K);
            for (int k = 0; k < K; k++)
                assert_memory_equal(rows + (size_t)k * w, orig + (size_t)row_of[k] * w, w * sizeof(float));
            if (K < total)
                assert_memory_equal(rows + (size_t)K * w, orig + (size_t)K * w, (size_t)(total - K) * w * sizeof(float));
            free(rows);
            free(orig);
            free(row_of);
        }
    }
    ohem_pool_set_threads(threads);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_and_delta),
        cmocka_unit_test(test_sparse_equals_dense),
        cmocka_unit_test(test_sparse_equals_dense_maxpool_head),
        cmocka_unit_test(test_bn_head_stays_dense),
        cmocka_unit_test(test_one_image),
        cmocka_unit_test(test_cfg_errors),
        cmocka_unit_test(test_committed_cfg),
        cmocka_unit_test(test_gather_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
