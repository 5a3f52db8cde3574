/* test_layer.c: the [ohem] layer inside real networks. After a training forward and
 * backward, the candidates that keep their delta must be exactly those an
 * independent computation here selects (losses, boxes and positives recomputed from
 * the loss layers' outputs, deltas and truths; selection by the brute-force oracle),
 * with their deltas unchanged bit for bit, and every other delta entry 0. */
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
#include "oracle.h"

#define TMP "tests/tmp"

/* What the test expects a section to mean: the oracle's options. */
typedef struct {
    int per_image;
    float fraction;
    float nms;
    int nsrc;
    int src[4];          /* absolute indices; nsrc 0: every [yolo]/[region] */
    int rank;            /* 0 all, 1 coord, 2 obj, 3 class */
    int keep_positives;
    float ratio;
    int min_negatives;
} expect;

static const expect DEFAULTS = {64, 0, 0.7f, 0, {0}, 0, 0, 0, 0};

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc(n + 1);
    if (fread(s, 1, n, f) != (size_t)n) fail_msg("cannot read %s", path);
    s[n] = 0;
    fclose(f);
    return s;
}

/* Writes Debian's yolov3-tiny.cfg at size x size, batch images per step, then extra. */
static const char *tiny_cfg(const char *name, int size, int batch, const char *extra)
{
    static char path[256];
    char *src = slurp("/usr/share/darknet/cfg/yolov3-tiny.cfg");
    mkdir(TMP, 0777);
    snprintf(path, sizeof(path), TMP "/%s.cfg", name);
    FILE *f = fopen(path, "w");
    for (char *line = strtok(src, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "batch=", 6)) fprintf(f, "batch=%d\n", batch);
        else if (!strncmp(line, "subdivisions=", 13)) fprintf(f, "subdivisions=1\n");
        else if (!strncmp(line, "width=", 6)) fprintf(f, "width=%d\n", size);
        else if (!strncmp(line, "height=", 7)) fprintf(f, "height=%d\n", size);
        else fprintf(f, "%s\n", line);
    }
    fprintf(f, "\n%s\n", extra);
    fclose(f);
    free(src);
    return path;
}

static network *load_cfg(const char *path);

/* Writes text as TMP/name.cfg and builds it. */
static network *load_text(const char *name, const char *text)
{
    char path[256];
    mkdir(TMP, 0777);
    snprintf(path, sizeof(path), TMP "/%s.cfg", name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return load_cfg(path);
}

static network *load_cfg(const char *path)
{
    srand(7);
    network *net = parse_network_cfg((char *)path);
    net->train = 1;
    return net;
}

/* Seeded input noise and, per image b, 1 + 2b truth boxes. */
static void fill_batch(network *net, uint64_t seed, int truth_stride)
{
    rng_seed(seed);
    for (int i = 0; i < net->inputs * net->batch; i++) net->input[i] = rng_unit();
    memset(net->truth, 0, (size_t)net->truths * net->batch * sizeof(float));
    for (int b = 0; b < net->batch; b++)
        for (int t = 0; t < 1 + 2 * b && t < 30; t++) {
            float *tr = net->truth + b * net->truths + t * truth_stride;
            tr[0] = 0.1f + 0.8f * rng_unit();
            tr[1] = 0.1f + 0.8f * rng_unit();
            tr[2] = 0.05f + 0.45f * rng_unit();
            tr[3] = 0.05f + 0.45f * rng_unit();
            tr[4] = (float)(rng_u32() % 3);
        }
}

static int is_grid(const layer *l) { return l->type == YOLO || l->type == REGION; }

/* One training step's view of the grid loss layers: their deltas before the mask. */
typedef struct {
    int nsrc, src[8];
    float *before[8];
} snapshot;

static int sources_of(const network *net, const expect *x, int *src)
{
    if (x->nsrc) {
        memcpy(src, x->src, x->nsrc * sizeof(int));
        return x->nsrc;
    }
    int n = 0;
    for (int i = 0; i < net->n; i++)
        if (is_grid(&net->layers[i])) src[n++] = i;
    return n;
}

/* Forward with the [ohem] layer bypassed for the snapshot, then the real step. */
static void train_step(network *net, snapshot *s, const expect *x)
{
    forward_network(net);
    s->nsrc = sources_of(net, x, s->src);
    for (int k = 0; k < s->nsrc; k++) {
        const layer *L = &net->layers[s->src[k]];
        size_t bytes = (size_t)L->outputs * L->batch * sizeof(float);
        s->before[k] = malloc(bytes);
        memcpy(s->before[k], L->delta, bytes);
    }
    backward_network(net);
}

static void snapshot_free(snapshot *s)
{
    for (int k = 0; k < s->nsrc; k++) free(s->before[k]);
}

/* The candidates of one grid layer for image b, computed again from its output,
 * its delta before the mask and the truths, in Darknet's formulas. */
static void grid_candidates(const network *net, const layer *L, const float *delta, int b, int rank,
                            float *loss, box *boxes, unsigned char *pos)
{
    int wh = L->w * L->h, nc = L->type == YOLO ? 4 : L->coords, E = nc + 1 + L->classes;
    for (int a = 0; a < L->n; a++)
        for (int k = 0; k < wh; k++) {
            int base = b * L->outputs + a * E * wh + k, c = a * wh + k;
            float co = 0, ob = 0, cl = 0;
            for (int e = 0; e < E; e++) {
                float d = delta[base + e * wh];
                if (e < nc) co += d * d;
                else if (e == nc) ob += d * d;
                else cl += d * d;
            }
            loss[c] = rank == 1 ? co : rank == 2 ? ob : rank == 3 ? cl : co + ob + cl;
            const float *o = L->output + base;
            int i = k % L->w, j = k / L->w;
            double pw = L->type == YOLO ? L->biases[2 * L->mask[a]] / (double)1 : L->biases[2 * a];
            double ph = L->type == YOLO ? L->biases[2 * L->mask[a] + 1] : L->biases[2 * a + 1];
            int dw = L->type == YOLO ? net->w : L->w, dh = L->type == YOLO ? net->h : L->h;
            boxes[c].x = (i + o[0]) / L->w;
            boxes[c].y = (j + o[wh]) / L->h;
            boxes[c].w = exp(o[2 * wh]) * (float)pw / dw;
            boxes[c].h = exp(o[3 * wh]) * (float)ph / dh;
            pos[c] = 0;
        }
    int stride = L->type == YOLO ? 5 : L->coords + 1, max = L->type == YOLO ? 90 : 30;
    for (int t = 0; t < max; t++) {
        const float *tr = net->truth + b * L->truths + t * stride;
        if (!tr[0]) break;
        int i = (int)(tr[0] * L->w), j = (int)(tr[1] * L->h), best = 0;
        float best_iou = 0;
        box shape = {0, 0, tr[2], tr[3]};
        int anchors = L->type == YOLO ? L->total : L->n;
        for (int a = 0; a < anchors; a++) {
            box p = {0, 0, 0, 0};
            if (L->type == YOLO) {
                p.w = L->biases[2 * a] / net->w;
                p.h = L->biases[2 * a + 1] / net->h;
            } else {
                p = boxes[a * wh + j * L->w + i];
                p.x = p.y = 0;
            }
            float iou = box_iou(p, shape);
            if (iou > best_iou) best_iou = iou, best = a;
        }
        if (L->type == YOLO) {
            int m = -1;
            for (int q = 0; q < L->n; q++)
                if (L->mask[q] == best) m = q;
            if (m >= 0) pos[m * wh + j * L->w + i] = 1;
        } else {
            pos[best * wh + j * L->w + i] = 1;
        }
    }
}

/* Checks the masked deltas of every source against the oracle's selection; returns
 * the kept flags (batch, n) for comparisons between settings. */
static unsigned char *check_against_oracle(const network *net, const snapshot *s, const expect *x,
                                           int mining)
{
    int n = 0;
    for (int k = 0; k < s->nsrc; k++) {
        const layer *L = &net->layers[s->src[k]];
        n += L->n * L->w * L->h;
    }
    float *loss = malloc(n * sizeof(float)), *full = malloc(n * sizeof(float));
    box *boxes = malloc(n * sizeof(box));
    unsigned char *pos = malloc(n), *flags = calloc((size_t)n * net->batch, 1);
    int *keep = malloc(n * sizeof(int));
    for (int b = 0; b < net->batch; b++) {
        int off = 0;
        for (int k = 0; k < s->nsrc; k++) {
            const layer *L = &net->layers[s->src[k]];
            grid_candidates(net, L, s->before[k], b, 0, full + off, boxes + off, pos + off);
            grid_candidates(net, L, s->before[k], b, x->rank, loss + off, boxes + off, pos + off);
            off += L->n * L->w * L->h;
        }
        /* rank=coord/obj/class: candidates at 0 on that part rank by the full loss */
        oracle_tie = x->rank ? full : NULL;
        unsigned char *f = flags + (size_t)b * n;
        if (mining) {
            int budget = x->fraction > 0 ? (int)ceil((double)x->fraction * n) : x->per_image;
            ohem_policy p = {budget, x->nms, x->keep_positives, x->ratio, x->min_negatives};
            int nk = oracle_policy(&p, loss, boxes, pos, n, keep);
            for (int q = 0; q < nk; q++) f[keep[q]] = 1;
        } else {
            memset(f, 1, n);
        }
        off = 0;
        for (int k = 0; k < s->nsrc; k++) {
            const layer *L = &net->layers[s->src[k]];
            int wh = L->w * L->h, E = L->outputs / (L->n * wh);
            for (int a = 0; a < L->n; a++)
                for (int e = 0; e < E; e++)
                    for (int c = 0; c < wh; c++) {
                        int idx = b * L->outputs + (a * E + e) * wh + c;
                        float got = L->delta[idx], want = f[off + a * wh + c] ? s->before[k][idx] : 0;
                        if (memcmp(&got, &want, sizeof(float)) != 0)
                            fail_msg("layer %d image %d anchor %d entry %d cell %d: delta %g, expected %g (%s)",
                                     s->src[k], b, a, e, c, got, want, f[off + a * wh + c] ? "kept" : "dropped");
                    }
            off += L->n * wh;
        }
    }
    oracle_tie = NULL;
    free(loss);
    free(full);
    free(boxes);
    free(pos);
    free(keep);
    return flags;
}

static void check_sources_untouched(const network *net, const snapshot *s, const int *others, int nothers,
                                    float **before_other)
{
    for (int k = 0; k < nothers; k++) {
        const layer *L = &net->layers[others[k]];
        assert_memory_equal(L->delta, before_other[k], (size_t)L->outputs * L->batch * sizeof(float));
    }
    (void)s;
}

/* Runs one step of yolov3-tiny at 96x96 with the section and checks the mask. */
static unsigned char *run_tiny(const char *name, const char *section, const expect *x, size_t seen)
{
    network *net = load_cfg(tiny_cfg(name, 96, 2, section));
    assert_true(is_ohem_layer(&net->layers[net->n - 1]));
    fill_batch(net, 11, 5);
    *net->seen = seen;
    snapshot s;
    train_step(net, &s, x);
    int mining = seen == 0 || strstr(section, "warmup") == NULL || seen > 5 * (size_t)net->batch;
    unsigned char *flags = check_against_oracle(net, &s, x, mining);
    snapshot_free(&s);
    free_network(net);
    return flags;
}

static int count_kept(const unsigned char *f, int n) { int k = 0; for (int i = 0; i < n; i++) k += f[i]; return k; }

/* yolov3-tiny at 96: 3x3x3 + 6x6x3 = 135 candidates per image, 2 images. */
#define TINY_N (2 * 135)

static unsigned char *base_flags;

static void test_defaults(void **state)
{
    (void)state;
    base_flags = run_tiny("defaults", "[ohem]", &DEFAULTS, 0);
    assert_int_equal(count_kept(base_flags, 135), 64);
    assert_int_equal(count_kept(base_flags + 135, 135), 64);
}

typedef struct {
    const char *section;
    expect x;
    int differs;  /* 1: must differ from the selection of case `against` */
    int against;  /* -1: the defaults */
} option_case;

static void test_each_option(void **state)
{
    (void)state;
    static const option_case cases[] = {
        {"[ohem]\nper_image=10", {10, 0, 0.7f, 0, {0}, 0, 0, 0, 0}, 1, -1},
        {"[ohem]\nfraction=0.75", {0, 0.75f, 0.7f, 0, {0}, 0, 0, 0, 0}, 1, -1},
        {"[ohem]\nnms=1", {64, 0, 1, 0, {0}, 0, 0, 0, 0}, 1, 3},
        {"[ohem]\nnms=0.3", {64, 0, 0.3f, 0, {0}, 0, 0, 0, 0}, 1, -1},
        /* rank=coord and rank=class: positives first (their coord and class losses
         * are > 0), then the rest by the full loss: here what rank=all keeps */
        {"[ohem]\nrank=coord", {64, 0, 0.7f, 0, {0}, 1, 0, 0, 0}, 0, -1},
        {"[ohem]\nrank=obj", {64, 0, 0.7f, 0, {0}, 2, 0, 0, 0}, 1, -1},
        {"[ohem]\nrank=class", {64, 0, 0.7f, 0, {0}, 3, 0, 0, 0}, 0, -1},
        {"[ohem]\nper_image=8\npositives=keep", {8, 0, 0.7f, 0, {0}, 0, 1, 0, 0}, 1, -1},
        {"[ohem]\nneg_pos_ratio=1", {64, 0, 0.7f, 0, {0}, 0, 0, 1, 0}, 1, -1},
        {"[ohem]\nneg_pos_ratio=1\nmin_negatives=20", {64, 0, 0.7f, 0, {0}, 0, 0, 1, 20}, 1, -1},
        {"[ohem]\nper_image=5\nmin_negatives=12", {5, 0, 0.7f, 0, {0}, 0, 0, 0, 12}, 1, -1},
        {"[ohem]\nlayers=16,23", {64, 0, 0.7f, 2, {16, 23}, 0, 0, 0, 0}, 0, -1},
        {"[ohem]\nlayers=-8,-1\nstats=0", {64, 0, 0.7f, 2, {16, 23}, 0, 0, 0, 0}, 0, -1},
    };
    enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
    unsigned char *flags[NCASES];
    assert_non_null(base_flags);
    for (int i = 0; i < NCASES; i++) {
        char name[32];
        snprintf(name, sizeof(name), "option%d", i);
        flags[i] = run_tiny(name, cases[i].section, &cases[i].x, 0);
    }
    for (int i = 0; i < NCASES; i++) {
        const unsigned char *other = cases[i].against < 0 ? base_flags : flags[cases[i].against];
        const char *other_name = cases[i].against < 0 ? "the defaults" : cases[cases[i].against].section;
        int same = memcmp(flags[i], other, TINY_N) == 0;
        if (cases[i].differs && same) fail_msg("'%s' selects what '%s' selects", cases[i].section, other_name);
        if (!cases[i].differs && !same) fail_msg("'%s' should select what '%s' selects", cases[i].section, other_name);
    }
    for (int i = 0; i < NCASES; i++) free(flags[i]);
}

/* layers= names one [yolo]: the other keeps its whole delta. */
static void test_one_source(void **state)
{
    (void)state;
    expect x = DEFAULTS;
    x.nsrc = 1;
    x.src[0] = 23;
    network *net = load_cfg(tiny_cfg("one_source", 96, 2, "[ohem]\nlayers=-1"));
    fill_batch(net, 11, 5);
    forward_network(net);
    const layer *other = &net->layers[16];
    size_t bytes = (size_t)other->outputs * other->batch * sizeof(float);
    float *keep16 = malloc(bytes);
    memcpy(keep16, other->delta, bytes);
    free_network(net);
    net = load_cfg(tiny_cfg("one_source", 96, 2, "[ohem]\nlayers=-1"));
    fill_batch(net, 11, 5);
    snapshot s;
    train_step(net, &s, &x);
    free(check_against_oracle(net, &s, &x, 1));
    int others[1] = {16};
    check_sources_untouched(net, &s, others, 1, &keep16);
    snapshot_free(&s);
    free(keep16);
    free_network(net);
}

/* warmup=5: iterations 1..5 train every candidate, mining starts at 6. */
static void test_warmup(void **state)
{
    (void)state;
    free(run_tiny("warmup_a", "[ohem]\nwarmup=5", &DEFAULTS, 5 * 2));
    unsigned char *f = run_tiny("warmup_b", "[ohem]\nwarmup=5", &DEFAULTS, 5 * 2 + 1);
    assert_memory_equal(f, base_flags, TINY_N);
    free(f);
}

/* Inference: the output is the input, and nothing is mined. */
static void test_inference(void **state)
{
    (void)state;
    network *net = load_cfg(tiny_cfg("inference", 96, 2, "[ohem]"));
    fill_batch(net, 5, 5);
    net->train = 0;
    forward_network(net);
    const layer *o = &net->layers[net->n - 1], *y = &net->layers[net->n - 2];
    assert_int_equal(o->outputs, y->outputs);
    assert_memory_equal(o->output, y->output, (size_t)o->outputs * o->batch * sizeof(float));
    assert_ptr_equal(net->output, o->output);
    int per;
    assert_null(ohem_layer_kept(o, &per));
    free_network(net);
}

/* Multi-scale: after resize_network the layer follows its sources. */
static void test_multiscale(void **state)
{
    (void)state;
    network *net = load_cfg(tiny_cfg("resize", 96, 2, "[ohem]\nper_image=20"));
    assert_int_equal(resize_network(net, 160, 160), 0);
    int per;
    ohem_layer_kept(&net->layers[net->n - 1], &per);
    assert_int_equal(per, 3 * 25 + 3 * 100);
    fill_batch(net, 3, 5);
    expect x = DEFAULTS;
    x.per_image = 20;
    snapshot s;
    train_step(net, &s, &x);
    free(check_against_oracle(net, &s, &x, 1));
    snapshot_free(&s);
    ohem_stats st;
    assert_int_equal(ohem_layer_stats(&net->layers[net->n - 1], &st), 0);
    assert_int_equal(st.kept, 40);
    assert_int_equal(st.candidates, 2 * 375);
    assert_true(st.loss_kept > 0 && st.loss_all >= st.loss_kept);
    free_network(net);
}

/* The figures: kept and positives counted as the oracle counts them. */
static void test_stats(void **state)
{
    (void)state;
    network *net = load_cfg(tiny_cfg("stats", 96, 2, "[ohem]\nper_image=10\npositives=keep"));
    fill_batch(net, 11, 5);
    snapshot s;
    expect x = DEFAULTS;
    x.per_image = 10;
    x.keep_positives = 1;
    train_step(net, &s, &x);
    unsigned char *f = check_against_oracle(net, &s, &x, 1);
    ohem_stats st;
    assert_int_equal(ohem_layer_stats(&net->layers[net->n - 1], &st), 0);
    assert_int_equal(st.kept, count_kept(f, TINY_N));
    assert_int_equal(st.candidates, TINY_N);
    assert_int_equal(st.positives, st.positives_kept);
    assert_true(st.positives >= 1 && st.positives <= 4);
    free(f);
    snapshot_free(&s);
    free_network(net);
}

/* rank=class on [yolo]: every negative's class loss is 0. The negatives kept must be
 * those of highest full loss, not the first cells of the image (the walk's order for
 * equal keys), which would train one corner of the grid. */
static void test_rank_ties(void **state)
{
    (void)state;
    network *net = load_cfg(tiny_cfg("ranktie", 96, 2, "[ohem]\nrank=class\nnms=1\nper_image=20"));
    fill_batch(net, 11, 5);
    snapshot s;
    expect x = DEFAULTS;
    x.per_image = 20;
    x.nms = 1;
    x.rank = 3;
    train_step(net, &s, &x);
    free(check_against_oracle(net, &s, &x, 1));
    int per;
    const unsigned char *kept = ohem_layer_kept(&net->layers[net->n - 1], &per);
    assert_non_null(kept);
    assert_int_equal(per, 135);
    float full[135], cls[135];
    box boxes[135];
    unsigned char pos[135];
    for (int b = 0; b < 2; b++) {
        int off = 0;
        for (int k = 0; k < s.nsrc; k++) {
            const layer *L = &net->layers[s.src[k]];
            grid_candidates(net, L, s.before[k], b, 0, full + off, boxes + off, pos + off);
            grid_candidates(net, L, s.before[k], b, 3, cls + off, boxes + off, pos + off);
            off += L->n * L->w * L->h;
        }
        float min_kept = 1e30f, max_dropped = -1;
        int zero_kept = 0, last_kept = -1;
        for (int c = 0; c < 135; c++) {
            if (cls[c] != 0) continue;
            if (kept[b * 135 + c]) {
                zero_kept++;
                last_kept = c;
                if (full[c] < min_kept) min_kept = full[c];
            } else if (full[c] > max_dropped) {
                max_dropped = full[c];
            }
        }
        assert_true(zero_kept > 0);
        if (min_kept < max_dropped)
            fail_msg("image %d: a candidate at class loss 0 with full loss %g was kept over one with %g", b, min_kept, max_dropped);
        if (last_kept < zero_kept)
            fail_msg("image %d: the %d candidates at class loss 0 kept are the first ones", b, zero_kept);
    }
    snapshot_free(&s);
    free_network(net);
}

/* [region] (YOLOv2 head) mined with the same oracle. */
/* rescale=count and rescale=norm: the same candidates are kept as without, and each
 * image's kept deltas are the plain run's times candidates / kept, or times the
 * norm of the unmined delta over the kept one's (computed here from the deltas
 * before the mask, over both [yolo] layers). */
static void test_rescale(void **state)
{
    (void)state;
    static const char *const modes[] = {"none", "count", "norm"};
    float *after[3][2];
    double factor[3][2];
    for (int m = 0; m < 3; m++) {
        char section[96];
        snprintf(section, sizeof(section), "[ohem]\nper_image=16\nrescale=%s", modes[m]);
        network *net = load_cfg(tiny_cfg("rescale", 96, 2, section));
        fill_batch(net, 11, 5);
        snapshot s;
        train_step(net, &s, &DEFAULTS);
        int per;
        const unsigned char *kept = ohem_layer_kept(&net->layers[net->n - 1], &per);
        assert_int_equal(per, 135);
        for (int b = 0; b < 2; b++) {
            double all = 0, kept_sq = 0;
            int nk = 0, off = 0;
            for (int k = 0; k < s.nsrc; k++) {
                const layer *L = &net->layers[s.src[k]];
                int wh = L->w * L->h, E = 4 + 1 + L->classes;
                for (int a = 0; a < L->n; a++)
                    for (int c = 0; c < wh; c++) {
                        double sq = 0;
                        for (int e = 0; e < E; e++) {
                            double d = s.before[k][b * L->outputs + (a * E + e) * wh + c];
                            sq += d * d;
                        }
                        int cand = off + a * wh + c;
                        all += sq;
                        if (kept[b * per + cand]) kept_sq += sq, nk++;
                    }
                off += L->n * wh;
            }
            factor[m][b] = m == 0 ? 1 : m == 1 ? (double)per / nk : sqrt(all / kept_sq);
            after[m][b] = malloc(2 * 3 * 85 * 36 * sizeof(float) + 2 * 3 * 85 * 9 * sizeof(float));
            int o = 0;
            for (int k = 0; k < s.nsrc; k++) {
                const layer *L = &net->layers[s.src[k]];
                memcpy(after[m][b] + o, L->delta + b * L->outputs, L->outputs * sizeof(float));
                o += L->outputs;
            }
        }
        snapshot_free(&s);
        free_network(net);
    }
    for (int m = 1; m < 3; m++)
        for (int b = 0; b < 2; b++) {
            assert_true(factor[m][b] > 1);
            for (int i = 0; i < 3 * 85 * 45; i++) {
                double want = after[0][b][i] * factor[m][b];
                if (fabs(after[m][b][i] - want) > 1e-5 * (1 + fabs(want)))
                    fail_msg("rescale=%s image %d entry %d: %g, plain %g x %g", modes[m], b, i, after[m][b][i], after[0][b][i], factor[m][b]);
            }
        }
    printf("rescale factors: count %.2f %.2f, norm %.3f %.3f\n", factor[1][0], factor[1][1], factor[2][0], factor[2][1]);
    for (int m = 0; m < 3; m++) free(after[m][0]), free(after[m][1]);
}

static void test_region(void **state)
{
    (void)state;
    network *net = load_text("region", "[net]\nbatch=2\nsubdivisions=1\nwidth=64\nheight=64\nchannels=3\n"
                                       "[convolutional]\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
                                       "[convolutional]\nfilters=40\nsize=1\nstride=1\npad=1\nactivation=linear\n"
                                       "[region]\nanchors=1,1,2,2,3,3,4,4,5,6\nclasses=3\ncoords=4\nnum=5\nsoftmax=1\nthresh=.6\n"
                                       "[ohem]\nper_image=50\n");
    fill_batch(net, 9, 5);
    *net->seen = 100000; /* past the prior-box phase of forward_region_layer */
    expect x = DEFAULTS;
    x.per_image = 50;
    snapshot s;
    train_step(net, &s, &x);
    free(check_against_oracle(net, &s, &x, 1));
    snapshot_free(&s);
    free_network(net);
}

/* [softmax]: one candidate per sample; per_image counts per batch. */
static void test_softmax(void **state)
{
    (void)state;
    network *net = load_text("softmax", "[net]\nbatch=6\nsubdivisions=1\nwidth=4\nheight=4\nchannels=1\n"
                                        "[connected]\noutput=5\nactivation=linear\n[softmax]\n[ohem]\nper_image=2\n");
    rng_seed(4);
    for (int i = 0; i < net->inputs * net->batch; i++) net->input[i] = rng_unit() * 4 - 2;
    memset(net->truth, 0, (size_t)net->truths * net->batch * sizeof(float));
    for (int b = 0; b < net->batch; b++) net->truth[b * net->truths + rng_u32() % 5] = 1;
    forward_network(net);
    const layer *L = &net->layers[1];
    float before[30], loss[6];
    memcpy(before, L->delta, sizeof(before));
    for (int b = 0; b < 6; b++) {
        loss[b] = 0;
        for (int k = 0; k < 5; k++) loss[b] += before[b * 5 + k] * before[b * 5 + k];
    }
    int keep[6];
    assert_int_equal(oracle_select(loss, NULL, 6, 1, 2, keep), 2);
    backward_network(net);
    for (int b = 0; b < 6; b++) {
        int kept = b == keep[0] || b == keep[1];
        for (int k = 0; k < 5; k++)
            assert_true(L->delta[b * 5 + k] == (kept ? before[b * 5 + k] : 0));
    }
    free_network(net);
}

/* [detection] (YOLOv1 head): slots of a cell; class entries go with the cell. */
static void test_detection(void **state)
{
    (void)state;
    /* side 3, 2 boxes, 2 classes: 9 x (2 x 5 + 2) = 108 outputs */
    network *net = load_text("detection", "[net]\nbatch=2\nsubdivisions=1\nwidth=8\nheight=8\nchannels=3\n"
                                          "[connected]\noutput=108\nactivation=linear\n"
                                          "[detection]\nclasses=2\ncoords=4\nrescore=1\nside=3\nnum=2\nsoftmax=0\nsqrt=1\n"
                                          "jitter=.2\nobject_scale=1\nnoobject_scale=.5\nclass_scale=1\ncoord_scale=5\n"
                                          "[ohem]\nper_image=4\nnms=1\n");
    rng_seed(8);
    for (int i = 0; i < net->inputs * net->batch; i++) net->input[i] = rng_unit();
    memset(net->truth, 0, (size_t)net->truths * net->batch * sizeof(float));
    int cells[2] = {4, 7};
    for (int b = 0; b < 2; b++) {
        float *t = net->truth + (b * 9 + cells[b]) * 7;
        t[0] = 1;
        t[1 + b] = 1;
        t[3] = 0.5f, t[4] = 0.5f, t[5] = 0.3f, t[6] = 0.4f;
    }
    forward_network(net);
    const layer *L = &net->layers[1];
    float before[216];
    memcpy(before, L->delta, sizeof(before));
    backward_network(net);
    for (int b = 0; b < 2; b++) {
        const float *d0 = before + b * 108, *d = L->delta + b * 108;
        float loss[18];
        for (int cell = 0; cell < 9; cell++)
            for (int s = 0; s < 2; s++) {
                int c = cell * 2 + s;
                float co = 0, cl = 0, p = d0[18 + c];
                for (int k = 0; k < 4; k++) co += d0[36 + c * 4 + k] * d0[36 + c * 4 + k];
                for (int k = 0; k < 2; k++) cl += d0[cell * 2 + k] * d0[cell * 2 + k];
                loss[c] = co + p * p + cl;
            }
        int keep[4];
        assert_int_equal(oracle_select(loss, NULL, 18, 1, 4, keep), 4);
        unsigned char kept[18] = {0};
        for (int q = 0; q < 4; q++) kept[keep[q]] = 1;
        for (int cell = 0; cell < 9; cell++) {
            int any = kept[cell * 2] || kept[cell * 2 + 1];
            for (int k = 0; k < 2; k++) assert_true(d[cell * 2 + k] == (any ? d0[cell * 2 + k] : 0));
            for (int s = 0; s < 2; s++) {
                int c = cell * 2 + s;
                assert_true(d[18 + c] == (kept[c] ? d0[18 + c] : 0));
                for (int k = 0; k < 4; k++) assert_true(d[36 + c * 4 + k] == (kept[c] ? d0[36 + c * 4 + k] : 0));
            }
        }
    }
    free_network(net);
}

static int teardown(void **state)
{
    (void)state;
    free(base_flags);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_each_option),
        cmocka_unit_test(test_one_source),
        cmocka_unit_test(test_warmup),
        cmocka_unit_test(test_inference),
        cmocka_unit_test(test_multiscale),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_rank_ties),
        cmocka_unit_test(test_rescale),
        cmocka_unit_test(test_region),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_detection),
    };
    return cmocka_run_group_tests_name("ohem_layer", tests, NULL, teardown);
}
