/* test_twostage.c: the two-stage sections in a real network: shapes and batches,
 * the RoIs [roipool] hands on, [roi_loss]'s labels, sampler and normalisation, the
 * gradient through the head and RoIAlign into the feature map (finite
 * differences), detections that decode back to the truth, set_batch_network,
 * weights, and an error naming file, line, section and key for every bad key. */
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
#include "parser.h"
#include "pool.h"
#include "weights.h"
#include "net_steps.h"
#include "rcnn.h"
#include "roi_loss_layer.h"
#include "roipool_layer.h"
#include "rpn_layer.h"

#define TMP "tests/tmp"

/* A small two-stage network: 32x32 input, 2 images (unless net extras give batch=),
 * an 8x8 stride-4 map, 2 anchors, 6 RoIs
 * per image cut at 3x3, a linear head, 2 classes. %s slots: batch=2 or nothing, [net] extras, [rpn]
 * extras, [roipool]'s from= (1 unless given) and extras, the head's activation, [roi_loss]'s classes= (2 unless given)
 * and extras, a tail. */
static const char *const base_cfg =
    "[net]\n%ssubdivisions=1\nwidth=32\nheight=32\nchannels=3\nlearning_rate=0.01\n"
    "momentum=0.9\ndecay=0\nmax_batches=10\n%s\n"
    "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=leaky\n"       /* 0: 16x16 */
    "[convolutional]\nfilters=6\nsize=3\nstride=2\npad=1\nactivation=leaky\n"       /* 1: 8x8 */
    "[convolutional]\nfilters=10\nsize=1\nstride=1\npad=1\nactivation=linear\n"     /* 2 */
    "[rpn]\nanchors=8,8, 16,12\nproposals=5\nnms=0.7\n%s\n"                        /* 3 */
    "[roipool]\nsize=3\nrois=6\n%s%s\n"                                              /* 4 */
    "[connected]\noutput=8\nactivation=%s\n"                                        /* 5 */
    "[connected]\noutput=11\nactivation=linear\n"                                   /* 6 */
    "[roi_loss]\n%s%s\n%s";                                                /* 7 */

static char path_buf[256];

static const char *write_cfg(const char *name, const char *net_x, const char *rpn_x, const char *pool_x,
                             const char *act, const char *loss_x, const char *tail)
{
    mkdir(TMP, 0777);
    snprintf(path_buf, sizeof(path_buf), TMP "/%s.cfg", name);
    FILE *f = fopen(path_buf, "w");
    assert_non_null(f);
    fprintf(f, base_cfg, strstr(net_x, "batch=") ? "" : "batch=2\n", net_x, rpn_x, strstr(pool_x, "from=") ? "" : "from=1\n", pool_x, act,
            strstr(loss_x, "classes=") ? "" : "classes=2\n", loss_x, tail);
    fclose(f);
    return path_buf;
}

static network *build(const char *path)
{
    network *net;
    ohem_err e;
    if (ohem_parse_network(path, &net, &e) != 0) fail_msg("%s", e.msg);
    return net;
}

/* Runs layers [from, n) as forward_network does, from the output of layer from - 1. */
static void forward_from(network *net, int from)
{
    network n = *net;
    n.input = net->layers[from - 1].output;
    for (int i = from; i < net->n; i++) {
        n.index = i;
        layer l = net->layers[i];
        if (l.delta) fill_cpu(l.outputs * l.batch, 0, l.delta, 1);
        l.forward(l, n);
        n.input = l.output;
    }
}

static void random_fill(float *x, int n, unsigned *seed, float scale)
{
    for (int i = 0; i < n; i++) x[i] = scale * ((float)rand_r(seed) / RAND_MAX * 2 - 1);
}

/* Truth row t of image b: centre box and class. */
static void set_truth(network *net, int b, int t, float x, float y, float w, float h, int cls)
{
    float *r = net->truth + (size_t)b * net->truths + 5 * t;
    r[0] = x;
    r[1] = y;
    r[2] = w;
    r[3] = h;
    r[4] = (float)cls;
}

/* A truth of image b: centre box and class. */
typedef struct {
    int b;
    float x, y, w, h;
    int cls;
} truth_row;

/* Gives the network exactly these truths and runs a training forward. */
static void train_forward(network *net, const truth_row *t, int n)
{
    memset(net->truth, 0, (size_t)net->truths * net->batch * sizeof(float));
    int row[2] = {0, 0};
    for (int k = 0; k < n; k++) set_truth(net, t[k].b, row[t[k].b]++, t[k].x, t[k].y, t[k].w, t[k].h, t[k].cls);
    net->train = 1;
    forward_network(net);
}

static void test_shapes(void **state)
{
    (void)state;
    network *net = build(write_cfg("shapes", "", "", "", "linear", "", ""));
    assert_int_equal(net->n, 8);
    assert_true(is_rpn_layer(&net->layers[3]));
    assert_true(is_roipool_layer(&net->layers[4]));
    assert_true(is_roi_loss_layer(&net->layers[7]));
    for (int i = 0; i < 4; i++) assert_int_equal(net->layers[i].batch, 2);
    for (int i = 4; i < 8; i++) assert_int_equal(net->layers[i].batch, 2 * 6);
    assert_int_equal(net->layers[4].outputs, 3 * 3 * 6);
    assert_int_equal(net->layers[5].inputs, 54);
    assert_int_equal(net->truths, 5 * 90);
    assert_int_equal(net->layers[7].classes, 2);
    /* Faster R-CNN's initialisation of the two prediction layers: N(0, 0.01^2),
     * box deltas of the head N(0, 0.001^2), biases 0 (Darknet's would give +-1) */
    const layer *rpn_conv = &net->layers[2], *head = &net->layers[6];
    double ss = 0;
    for (int i = 0; i < rpn_conv->nweights; i++) ss += rpn_conv->weights[i] * rpn_conv->weights[i];
    double sd = sqrt(ss / rpn_conv->nweights);
    if (!(sd > .005 && sd < .02)) fail_msg("rpn conv weights: std %g, expected about 0.01", sd);
    for (int o = 0; o < head->outputs; o++) {
        assert_true(head->biases[o] == 0);
        for (int i = 0; i < head->inputs; i++)
            assert_true(fabsf(head->weights[o * head->inputs + i]) < (o < 3 ? .06f : .006f));
    }
    set_batch_network(net, 1);
    assert_int_equal(net->batch, 1);
    assert_int_equal(net->layers[2].batch, 1);
    assert_int_equal(net->layers[5].batch, 6);
    free_network(net);
}

/* Training forward: the truths come first among the RoIs, labelled with their class;
 * the sampler's counts hold; only the sampled RoIs go through the head, packed in
 * their order (the head's batch is their count); the delta is scaled by
 * 1 / (RoIs trained in the image). */
static void test_rois_labels_sampler(void **state)
{
    (void)state;
    network *net = build(write_cfg("labels", "", "", "", "linear", "rois_per_image=4\nfg_fraction=0.25", ""));
    unsigned seed = 7;
    random_fill(net->input, net->inputs * net->batch, &seed, 1);
    static const truth_row truths[] = {{0, .3f, .4f, .2f, .3f, 1}, {0, .7f, .6f, .3f, .2f, 0}, {1, .5f, .5f, .4f, .4f, 1}};
    train_forward(net, truths, 3);
    const unsigned char *valid;
    int R;
    roi_rows *rr = roipool_layer_rows(&net->layers[4]);
    R = roi_rows_per_image(rr);
    valid = roi_rows_valid(rr);
    const box *rois = roi_rows_boxes(rr);
    assert_int_equal(R, 6);
    assert_float_equal(rois[0].x, .3f, 1e-7);
    assert_float_equal(rois[1].w, .3f, 1e-7);
    assert_float_equal(rois[6].x, .5f, 1e-7);
    const layer *rl = &net->layers[7];
    const float *loss;
    const int *label;
    const unsigned char *trained;
    roi_loss_layer_rois(rl, &loss, &label, &trained);
    assert_int_equal(label[0], 1);
    assert_int_equal(label[1], 0);
    assert_int_equal(label[6], 1);
    const int *row_of;
    int K = roi_rows_packed(roipool_layer_rows(&net->layers[4]), &row_of), k = 0;
    assert_true(K > 0 && K <= 8);
    for (int i = 4; i <= 7; i++) assert_int_equal(net->layers[i].batch, K);
    for (int row = 0; row < 2 * R; row++)
        if (trained[row]) {
            assert_true(k < K);
            assert_int_equal(row_of[k], row);
            k++;
        }
    assert_int_equal(k, K);
    for (int b = 0, k0 = 0; b < 2; b++) {
        int n = 0, fg = 0;
        for (int r = 0; r < R; r++) {
            int row = b * R + r;
            n += trained[row];
            fg += trained[row] && label[row] < 2;
            if (!valid[row]) assert_int_equal(label[row], -1);
            if (trained[row]) assert_true(label[row] >= 0);
        }
        assert_true(n <= 4);
        assert_true(fg <= 1);
        assert_true(fg >= 1); /* the truths themselves are foreground */
        /* the scale: delta of a trained row's true class = (1 - p) / n, at its packed row */
        for (int j = k0; j < k0 + n; j++) {
            int row = row_of[j];
            const float *d = rl->delta + (size_t)j * rl->inputs;
            double sum_scores = 0;
            for (int c = 0; c < 3; c++) sum_scores += d[c];
            assert_true(fabs(sum_scores) < 1e-6); /* softmax delta sums to 0 */
            float p = rl->output[(size_t)j * rl->inputs + label[row]];
            assert_float_equal(d[label[row]], (1 - p) / n, 1e-6);
        }
        k0 += n;
    }
    roi_loss_stats st;
    roi_loss_layer_stats(rl, &st);
    assert_int_equal(st.trained, K);
    assert_true(st.trained > 0 && st.roi > 0 && st.rpn > 0);
    assert_float_equal(*rl->cost, st.roi + st.rpn, 1e-5);
    free_network(net);
}

/* The RoI loss of the last forward (the RPN's part is left out: its sampler draws
 * anew each forward). */
static double roi_cost(network *net)
{
    roi_loss_stats st;
    roi_loss_layer_stats(&net->layers[7], &st);
    return st.roi;
}

static double rpn_cost(network *net)
{
    return rpn_layer_loss(&net->layers[3], NULL, NULL);
}

/* Weights of a layer: [connected] leaves nweights 0 in this libdarknet. */
static int weight_count(const layer *l)
{
    return l->type == CONNECTED ? l->outputs * l->inputs : l->nweights;
}

/* Central finite differences of cost, the network run from layer `from` on, with
 * respect to every stride-th entry of x (n): each must equal minus the analytic
 * derivative (Darknet's delta and weight updates are negative gradients) within
 * tol + tol |fd|. Returns how many of the checked entries had a nonzero delta. */
static int fd_check(network *net, int from, double (*cost)(network *), float *x, const float *analytic,
                    int n, int stride, double tol, const char *what)
{
    int nonzero = 0;
    for (int j = 0; j < n; j += stride) {
        float keep = x[j], h = 1e-2f;
        x[j] = keep + h;
        forward_from(net, from);
        double up = cost(net);
        x[j] = keep - h;
        forward_from(net, from);
        double down = cost(net);
        x[j] = keep;
        double fd = -(up - down) / (2 * h);
        if (fabs(fd - analytic[j]) > tol + tol * fabs(fd))
            fail_msg("%s[%d]: delta %g, finite difference %g", what, j, analytic[j], fd);
        nonzero += analytic[j] != 0;
    }
    forward_from(net, from);
    return nonzero;
}

/* Finite differences through the head and RoIAlign: the delta that reaches the
 * feature map (layer 1) and a head weight's update equal minus the derivative of
 * the RoI loss. Every labelled RoI trains (rois_per_image = rois, fg_fraction 1), so
 * the loss is a fixed function of the map. */
static void check_gradient(const char *mode, double tol)
{
    char pool[64], what[64];
    snprintf(pool, sizeof(pool), "mode=%s", mode);
    network *net = build(write_cfg(mode, "", "", pool, "linear", "rois_per_image=6\nfg_fraction=1", ""));
    unsigned seed = 11;
    random_fill(net->input, net->inputs * net->batch, &seed, 1);
    for (int i = 5; i <= 6; i++) random_fill(net->layers[i].weights, weight_count(&net->layers[i]), &seed, .5f);
    static const truth_row truths[] = {{0, .4f, .45f, .35f, .3f, 1}, {1, .55f, .5f, .3f, .45f, 0}};
    train_forward(net, truths, 2);
    /* values at least 0.05 apart, so that no step of the differences moves a maximum */
    layer *map = &net->layers[1];
    int nmap = map->outputs * map->batch;
    for (int j = 0; j < nmap; j++) map->output[j] = .05f * (float)((j * 7919) % nmap) / 8 - 1;
    forward_from(net, 4);
    for (int i = 0; i < net->n; i++) /* backward from the loss down to [roipool] only */
        if (net->layers[i].weight_updates) memset(net->layers[i].weight_updates, 0, weight_count(&net->layers[i]) * sizeof(float));
    memset(map->delta, 0, (size_t)nmap * sizeof(float));
    network n = *net;
    for (int i = net->n - 1; i >= 4; i--) {
        layer prev = net->layers[i - 1];
        n.index = i;
        n.input = prev.output;
        n.delta = prev.delta;
        net->layers[i].backward(net->layers[i], n);
    }
    snprintf(what, sizeof(what), "%s: map", mode);
    assert_true(fd_check(net, 4, roi_cost, map->output, map->delta, nmap, 7, tol, what) > 10);
    layer *fc = &net->layers[5]; /* the weights of the first [connected] */
    snprintf(what, sizeof(what), "%s: weight", mode);
    assert_true(fd_check(net, 4, roi_cost, fc->weights, fc->weight_updates, weight_count(fc), 13, tol, what) > 5);
    free_network(net);
}

static void clear_delta(layer *l)
{
    memset(l->delta, 0, (size_t)l->outputs * l->batch * sizeof(float));
}

/* The RoIs' gradient reaches the map although the layer right after it (the RPN's
 * 1x1 [convolutional]) runs its backward later and has libdarknet's gemm write the
 * map's delta (beta 0): the map's delta when its own backward is next is the RPN's
 * part (the same backward with [roi_loss]'s delta cleared) plus [roipool]'s (the
 * backward from the loss down to [roipool] alone), to float rounding. */
static void test_roi_gradient_kept_in_map(void **state)
{
    (void)state;
    network *net = build(write_cfg("keep_map", "", "", "", "linear", "", ""));
    assert_true(net->layers[2].type == CONVOLUTIONAL && net->layers[2].size == 1);
    unsigned seed = 13;
    random_fill(net->input, net->inputs * net->batch, &seed, 1);
    for (int i = 5; i <= 6; i++) random_fill(net->layers[i].weights, weight_count(&net->layers[i]), &seed, .5f);
    static const truth_row truths[] = {{0, .4f, .45f, .35f, .3f, 1}, {1, .55f, .5f, .3f, .45f, 0}};
    train_forward(net, truths, 2);
    layer *map = &net->layers[1], *loss = &net->layers[7];
    int nmap = map->outputs * map->batch, nloss = loss->outputs * loss->batch;
    float *loss_delta = malloc(nloss * sizeof(float)), *full = malloc(nmap * sizeof(float));
    float *rpn_part = malloc(nmap * sizeof(float)), *roi_part = malloc(nmap * sizeof(float));
    memcpy(loss_delta, loss->delta, nloss * sizeof(float));
    backward_down_to(net, 2); /* everything but the map's own backward and below */
    memcpy(full, map->delta, nmap * sizeof(float));
    /* the RPN's part: [roi_loss]'s delta cleared */
    for (int i = 1; i <= 6; i++)
        if (i != 3) clear_delta(&net->layers[i]);
    clear_delta(loss);
    backward_down_to(net, 2);
    memcpy(rpn_part, map->delta, nmap * sizeof(float));
    /* [roipool]'s part */
    for (int i = 1; i <= 6; i++)
        if (i != 3) clear_delta(&net->layers[i]);
    memcpy(loss->delta, loss_delta, nloss * sizeof(float));
    backward_down_to(net, 4);
    memcpy(roi_part, map->delta, nmap * sizeof(float));
    double worst = 0, roi_size = 0, rpn_size = 0, big = 0;
    for (int i = 0; i < nmap; i++) {
        double want = (double)rpn_part[i] + roi_part[i];
        worst = fmax(worst, fabs(full[i] - want));
        roi_size += fabs(roi_part[i]);
        rpn_size += fabs(rpn_part[i]);
        big = fmax(big, fabs(want));
    }
    assert_true(roi_size > 0 && rpn_size > 0); /* both send a gradient */
    if (worst > 1e-5 * big) fail_msg("map delta: whole backward against RPN + RoI parts: off by %g (largest %g)", worst, big);
    free(loss_delta);
    free(full);
    free(rpn_part);
    free(roi_part);
    free_network(net);
}

static void test_gradient_align(void **state)
{
    (void)state;
    check_gradient("align", 2e-3);
}

static void test_gradient_max(void **state)
{
    (void)state;
    check_gradient("max", 2e-3);
}

/* The RPN's delta against finite differences of its loss, over the whole input of
 * [rpn] (every anchor samples: samples >= anchors, fg_fraction 1). */
static void test_rpn_gradient(void **state)
{
    (void)state;
    network *net = build(write_cfg("rpn_grad", "", "samples=1000\nfg_fraction=1\nfg_iou=0.5\nbg_iou=0.2", "", "linear", "", ""));
    unsigned seed = 5;
    random_fill(net->input, net->inputs * net->batch, &seed, 1);
    static const truth_row truths[] = {{0, .3f, .4f, .3f, .35f, 1}, {0, .7f, .7f, .45f, .4f, 0}, {1, .5f, .45f, .5f, .3f, 1}};
    train_forward(net, truths, 3);
    layer *in = &net->layers[2];
    memset(in->delta, 0, (size_t)in->outputs * in->batch * sizeof(float));
    network n = *net;
    n.input = in->output;
    n.delta = in->delta;
    net->layers[3].backward(net->layers[3], n);
    int checked = fd_check(net, 3, rpn_cost, in->output, in->delta, in->outputs * in->batch, 3, 2e-3, "rpn input");
    assert_true(checked > 50);
    free_network(net);
}

/* What a training forward from [rpn] on leaves: [rpn]'s output, proposals, scores,
 * counts, loss and parts, the delta its backward hands on, its generator after the
 * sampler, and the cost of the step ([roi_loss]'s, the RPN's included: the loss the
 * training line prints). */
typedef struct {
    float *output, *dinput, *scores;
    box *props;
    int count[32];
    float loss[3], cost;
    uint64_t rng;
} rpn_run;

static void nothing_part(void *ctx, long begin, long end)
{
    (void)ctx, (void)begin, (void)end;
}

static void rpn_run_on(network *net, int threads, uint64_t rpn_rng, uint64_t roi_rng, rpn_run *r)
{
    layer *rpn = &net->layers[3], *in = &net->layers[2];
    int P = rpn_layer_options(rpn)->proposals;
    assert_true(net->batch <= 32);
    memset(r, 0, sizeof(*r));
    *rpn_layer_rng(rpn) = rpn_rng;
    *roi_loss_layer_rng(&net->layers[7]) = roi_rng;
    ohem_pool_set_threads(threads);
    ohem_pool_for(threads, 1, nothing_part, NULL); /* the workers awake, spinning for the next loop */
    forward_from(net, 3);
    network n = *net;
    n.input = in->output;
    n.delta = r->dinput = calloc((size_t)in->outputs * in->batch, sizeof(float));
    rpn->backward(*rpn, n);
    r->output = malloc((size_t)rpn->outputs * rpn->batch * sizeof(float));
    memcpy(r->output, rpn->output, (size_t)rpn->outputs * rpn->batch * sizeof(float));
    r->props = calloc((size_t)net->batch * P, sizeof(box));
    r->scores = calloc((size_t)net->batch * P, sizeof(float));
    for (int b = 0; b < net->batch; b++) {
        const box *boxes;
        const float *scores;
        r->count[b] = rpn_layer_proposals(rpn, b, &boxes, &scores);
        memcpy(r->props + (size_t)b * P, boxes, r->count[b] * sizeof(box));
        memcpy(r->scores + (size_t)b * P, scores, r->count[b] * sizeof(float));
    }
    r->loss[0] = rpn_layer_loss(rpn, &r->loss[1], &r->loss[2]);
    r->cost = *net->layers[7].cost;
    r->rng = *rpn_layer_rng(rpn);
}

static void rpn_run_free(rpn_run *r)
{
    free(r->output);
    free(r->dinput);
    free(r->props);
    free(r->scores);
}

/* [rpn]'s images split between threads give the bytes of one thread: the proposals
 * and anchor labels run on the pool by images, the sampler draws image after image
 * in one thread. Each image's proposals are held against rcnn_proposals on its
 * input gathered here. */
static void test_rpn_threads_same(void **state)
{
    (void)state;
    enum { B = 24 };
    int saved = ohem_pool_threads();
    network *net = build(write_cfg("rpn_threads", "batch=24\n", "samples=24\nmin_size=2\nfg_iou=0.5", "", "linear", "", ""));
    assert_int_equal(net->batch, B);
    layer *in = &net->layers[2], *rpn = &net->layers[3];
    unsigned seed = 11;
    random_fill(in->output, in->outputs * in->batch, &seed, 2);
    memset(net->truth, 0, (size_t)net->truths * net->batch * sizeof(float));
    for (int b = 0; b < B; b++)
        for (int t = 0; t < 1 + b % 3; t++)
            set_truth(net, b, t, .2f + .6f * rand_r(&seed) / RAND_MAX, .2f + .6f * rand_r(&seed) / RAND_MAX,
                      .15f + .4f * rand_r(&seed) / RAND_MAX, .15f + .4f * rand_r(&seed) / RAND_MAX, t % 2);
    net->train = 1;
    /* two threads several times over: a part runs on the worker only when it wakes in time */
    rpn_run one, two;
    rpn_run_on(net, 1, 0x1234567, 0x89abcdef, &one);
    int P = rpn_layer_options(rpn)->proposals;
    for (int rep = 0; rep < 50; rep++) {
        rpn_run_on(net, 2, 0x1234567, 0x89abcdef, &two);
        assert_memory_equal(one.output, two.output, (size_t)rpn->outputs * B * sizeof(float));
        assert_memory_equal(one.dinput, two.dinput, (size_t)in->outputs * B * sizeof(float));
        assert_memory_equal(one.props, two.props, (size_t)B * P * sizeof(box));
        assert_memory_equal(one.scores, two.scores, (size_t)B * P * sizeof(float));
        assert_memory_equal(one.count, two.count, sizeof(one.count));
        assert_memory_equal(one.loss, two.loss, sizeof(one.loss));
        assert_memory_equal(&one.cost, &two.cost, sizeof(one.cost));
        assert_true(one.rng == two.rng);
        rpn_run_free(&two);
    }
    ohem_pool_set_threads(saved);
    assert_true(one.rng != 0x1234567);
    assert_true(one.loss[0] > 0 && one.loss[2] > 0 && one.cost > one.loss[0]);
    /* the oracle: each image's input gathered by hand, rcnn_proposals over it */
    int wh = in->out_w * in->out_h, A = 2, n = A * wh;
    static const float sizes[4] = {8, 8, 16, 12};
    box *anchors = malloc(n * sizeof(box)), *boxes = malloc(n * sizeof(box)), *want = malloc(P * sizeof(box));
    float *obj = malloc(n * sizeof(float)), *deltas = malloc(4 * n * sizeof(float)), *score = malloc(P * sizeof(float));
    unsigned char *skip = malloc(n);
    int *keep = malloc(n * sizeof(int)), nonzero = 0;
    ohem_scratch s;
    assert_int_equal(ohem_scratch_init(&s, n), 0);
    rcnn_anchors(in->out_w, in->out_h, sizes, A, net->w, net->h, anchors);
    for (int b = 0; b < B; b++) {
        const float *x = in->output + (size_t)b * in->outputs;
        for (int a = 0; a < A; a++)
            for (int k = 0; k < wh; k++) {
                obj[a * wh + k] = x[(5 * a) * wh + k];
                for (int e = 0; e < 4; e++) deltas[4 * (a * wh + k) + e] = x[(5 * a + 1 + e) * wh + k];
            }
        int c = rcnn_proposals(anchors, obj, deltas, n, 2.f / net->w, 2.f / net->h, .7f, P, &s, boxes, skip, keep, want,
                               score);
        assert_int_equal(one.count[b], c);
        assert_memory_equal(one.props + (size_t)b * P, want, c * sizeof(box));
        assert_memory_equal(one.scores + (size_t)b * P, score, c * sizeof(float));
        for (int j = 0; j < P; j++) {
            const float *o = one.output + (size_t)b * rpn->outputs + 4 * j;
            if (j < c) assert_true(o[0] == want[j].x && o[1] == want[j].y && o[2] == want[j].w && o[3] == want[j].h);
            else assert_true(o[0] == 0 && o[1] == 0 && o[2] == 0 && o[3] == 0);
        }
        nonzero += c > 0;
    }
    assert_int_equal(nonzero, B);
    ohem_scratch_free(&s);
    free(anchors);
    free(boxes);
    free(want);
    free(obj);
    free(deltas);
    free(score);
    free(skip);
    free(keep);
    rpn_run_free(&one);
    free_network(net);
}

/* Inference: deltas set to the exact encoded targets of a truth decode back to it,
 * with the probability of the class given to the detection. */
static void test_detections_decode(void **state)
{
    (void)state;
    network *net = build(write_cfg("decode", "", "", "", "linear", "", ""));
    set_batch_network(net, 1);
    unsigned seed = 3;
    random_fill(net->input, net->inputs, &seed, 1);
    net->train = 0;
    float *saved_truth = net->truth; /* inference sees no truth */
    net->truth = NULL;
    forward_network(net);
    net->truth = saved_truth;
    const unsigned char *valid;
    int R;
    roi_rows *rr = roipool_layer_rows(&net->layers[4]);
    R = roi_rows_per_image(rr);
    valid = roi_rows_valid(rr);
    const box *rois = roi_rows_boxes(rr);
    int nvalid = 0;
    for (int r = 0; r < R; r++) nvalid += valid[r];
    assert_true(nvalid > 0);
    layer *rl = &net->layers[7];
    float *x = calloc((size_t)R * rl->inputs, sizeof(float));
    box truth = {.45f, .5f, .3f, .25f};
    static const float std[4] = {.1f, .1f, .2f, .2f};
    for (int r = 0; r < R; r++) {
        x[r * rl->inputs + 1] = 5; /* class 1 */
        rcnn_encode(rois[r], truth, std, x + r * rl->inputs + 3 + 4);
    }
    network n = *net;
    n.input = x;
    rl->forward(*rl, n);
    int num;
    detection *d = get_network_boxes(net, net->w, net->h, .5f, .5f, NULL, 1, &num);
    assert_int_equal(num, nvalid);
    for (int i = 0; i < num; i++) {
        assert_float_equal(d[i].bbox.x, truth.x, 1e-5);
        assert_float_equal(d[i].bbox.y, truth.y, 1e-5);
        assert_float_equal(d[i].bbox.w, truth.w, 1e-5);
        assert_float_equal(d[i].bbox.h, truth.h, 1e-5);
        assert_true(d[i].prob[1] > .9f && d[i].prob[0] == 0);
    }
    free_detections(d, num);
    /* a letterboxed 64x32 image: the box moves as Darknet's correct_yolo_boxes says */
    d = get_network_boxes(net, 64, 32, .5f, .5f, NULL, 1, &num);
    assert_true(num > 0);
    assert_float_equal(d[0].bbox.y, (truth.y - .25f) / .5f, 1e-5);
    assert_float_equal(d[0].bbox.h, truth.h * 2, 1e-5);
    free_detections(d, num);
    free(x);
    free_network(net);
}

/* The weights file: the two-stage layers write nothing; a one-stage network's first
 * layers load into a two-stage one with the same backbone. */
static void test_weights(void **state)
{
    (void)state;
    network *net = build(write_cfg("weights", "", "", "", "leaky", "", ""));
    long bytes = ohem_weights_bytes(net);
    assert_true(bytes > 0);
    save_weights(net, TMP "/twostage.weights");
    struct stat sb;
    assert_int_equal(stat(TMP "/twostage.weights", &sb), 0);
    assert_int_equal(sb.st_size, bytes);
    network *again = build(path_buf);
    ohem_err e;
    if (ohem_check_weights(again, TMP "/twostage.weights", &e) != 0) fail_msg("%s", e.msg);
    load_weights(again, TMP "/twostage.weights");
    for (int i = 0; i < net->n; i++)
        if (net->layers[i].weights)
            assert_memory_equal(net->layers[i].weights, again->layers[i].weights, net->layers[i].nweights * sizeof(float));
    /* the backbone (layers 0..1) alone */
    save_weights_upto(net, TMP "/backbone.weights", 2);
    network *third = build(path_buf);
    if (ohem_check_weights(third, TMP "/backbone.weights", &e) != 0) fail_msg("%s", e.msg);
    load_weights(third, TMP "/backbone.weights");
    assert_memory_equal(net->layers[1].weights, third->layers[1].weights, net->layers[1].nweights * sizeof(float));
    free_network(net);
    free_network(again);
    free_network(third);
}

/* Every bad key: the error names the file, the key's line, the section and key. */
typedef struct {
    const char *net_x, *rpn_x, *pool_x, *loss_x, *tail;
    int line;                 /* expected line, 0: not checked */
    const char *want;         /* expected substring */
} bad_case;

static int line_of(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    int line = 1;
    for (const char *q = text; p && q < p; q++) line += *q == '\n';
    return p ? line : 0;
}

static void test_bad_keys(void **state)
{
    (void)state;
    const bad_case cases[] = {
        {"", "samples=0", "", "", "", 0, "[rpn] samples=0: out of range"},
        {"", "min_size=-1", "", "", "", 0, "[rpn] min_size=-1: out of range"},
        {"", "samples=abc", "", "", "", 0, "[rpn] samples=abc: not an integer"},
        {"", "fg_iou=0.2\nbg_iou=0.3", "", "", "", 0, "[rpn] bg_iou=0.3: is above fg_iou"},
        {"", "colour=red", "", "", "", 0, "[rpn] unknown key 'colour'"},
        {"", "nms=0.5\nnms=0.6", "", "", "", 0, "[rpn] key 'nms' is given twice"},
        {"", "", "from=3", "", "", 0, "[roipool] from=3: layer 3 is [rpn]"},
        {"", "", "from=-1", "", "", 0, "[roipool] from=-1: layer 3 is [rpn]"},
        {"", "", "from=9", "", "", 0, "[roipool] from=9: out of range"},
        {"", "", "rois=0", "", "", 0, "[roipool] key 'rois' is given twice"}, {"", "", "sampling=17", "", "", 0, "[roipool] sampling=17: out of range"},
        {"", "", "mode=average", "", "", 0, "[roipool] mode=average: expected one of: align max"},
        {"", "", "mode=max\nsampling=2", "", "", 0, "[roipool] sampling=2: applies to mode=align only"},
        {"", "", "", "classes=3", "", 0, "[roi_loss] classes=3: 3 classes need 16 values per RoI"},
        {"", "", "", "bg_iou=0.2", "", 0, "[roi_loss] bg_iou=0.2: expected two numbers"},
        {"", "", "", "bg_iou=0.4,0.2", "", 0, "[roi_loss] bg_iou=0.4,0.2: low is above high"},
        {"", "", "", "fg_iou=0.4", "", 0, "[roi_loss] bg_iou: high is above fg_iou"},
        {"", "", "", "rois_per_image=7", "", 0, "[roi_loss] rois_per_image=7: out of range; expected 1 <= rois_per_image <= 6"},
        {"", "", "", "", "[connected]\noutput=11\n", 0, "[roi_loss]: must be the last section"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const bad_case *c = &cases[i];
        const char *path = write_cfg("bad", c->net_x, c->rpn_x, c->pool_x, "linear", c->loss_x, c->tail);
        network *net = NULL;
        ohem_err e;
        if (ohem_parse_network(path, &net, &e) == 0) fail_msg("case %zu: no error", i);
        if (!strstr(e.msg, c->want)) fail_msg("case %zu: '%s' does not say '%s'", i, e.msg, c->want);
        if (strncmp(e.msg, path, strlen(path))) fail_msg("case %zu: '%s' does not name the file", i, e.msg);
    }
    /* the line is that of the key */
    char text[4096];
    snprintf(text, sizeof(text), base_cfg, "batch=2\n", "", "samples=0", "from=1\n", "", "linear", "classes=2\n", "", "");
    const char *path = write_cfg("line", "", "samples=0", "", "linear", "", "");
    network *net;
    ohem_err e;
    assert_int_equal(ohem_parse_network(path, &net, &e), -1);
    char want[300];
    snprintf(want, sizeof(want), "%s:%d: [rpn] samples=0", path, line_of(text, "samples=0"));
    if (!strstr(e.msg, want)) fail_msg("'%s' does not say '%s'", e.msg, want);
}

/* Sections in the wrong place. */
static void test_placement(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=7\nsize=1\nactivation=linear\n[rpn]\nanchors=8,8\n",
         "[rpn] anchors=8,8: 1 anchors need 5 filters"},
        {"[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=5\nsize=1\nactivation=linear\n[rpn]\n",
         "[rpn] anchors: is missing"},
        {"[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=5\nsize=1\nactivation=linear\n[roipool]\nfrom=0\n",
         "[roipool]: needs an [rpn] right before it"},
        {"[net]\nwidth=32\nheight=32\nchannels=3\n[connected]\noutput=11\n[roi_loss]\nclasses=2\n",
         "[roi_loss]: needs a [roipool]"},
        {"[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=4\nsize=1\n[convolutional]\nfilters=5\nsize=1\nactivation=linear\n"
         "[rpn]\nanchors=8,8\n[roipool]\nfrom=0\nsize=2\nrois=4\n[roi_loss]\nclasses=2\n",
         "[roi_loss]: comes right after [roipool]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path_buf, sizeof(path_buf), TMP "/place%zu.cfg", i);
        FILE *f = fopen(path_buf, "w");
        fputs(cases[i].text, f);
        fclose(f);
        network *net;
        ohem_err e;
        if (ohem_parse_network(path_buf, &net, &e) == 0) fail_msg("case %zu: no error", i);
        if (!strstr(e.msg, cases[i].want)) fail_msg("case %zu: '%s' does not say '%s'", i, e.msg, cases[i].want);
    }
}

/* cfg/yolov3-tiny-frcnn.cfg (made by make cfgs): Debian's yolov3-tiny backbone,
 * layer for layer, then the two-stage head at images x 256 rows. */
static void test_yolov3_tiny_frcnn(void **state)
{
    (void)state;
    network *two = build("cfg/yolov3-tiny-frcnn.cfg");
    network *one = build("/usr/share/darknet/cfg/yolov3-tiny.cfg");
    for (int i = 0; i < 14; i++) {
        const layer *a = &two->layers[i], *b = &one->layers[i];
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->nweights, b->nweights);
        assert_int_equal(a->out_w, b->out_w);
        assert_int_equal(a->out_c, b->out_c);
    }
    assert_true(is_rpn_layer(&two->layers[20]));
    assert_true(is_roipool_layer(&two->layers[21]));
    assert_int_equal(two->layers[21].batch, two->batch * 256);
    assert_int_equal(two->layers[21].outputs, 7 * 7 * 256);
    assert_true(is_roi_loss_layer(&two->layers[two->n - 1]));
    assert_int_equal(two->layers[two->n - 1].classes, 80);
    free_network(two);
    free_network(one);
}

int main(void)
{
    srand(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_rois_labels_sampler),
        cmocka_unit_test(test_gradient_align),
        cmocka_unit_test(test_roi_gradient_kept_in_map),
        cmocka_unit_test(test_gradient_max),
        cmocka_unit_test(test_rpn_gradient),
        cmocka_unit_test(test_rpn_threads_same),
        cmocka_unit_test(test_detections_decode),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_placement),
        cmocka_unit_test(test_yolov3_tiny_frcnn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
