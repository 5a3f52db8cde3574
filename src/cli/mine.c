/* mine.c: ./darknet ohem mine DATA CFG WEIGHTS [-list train|valid|FILE] [-top N]
 * [-out DIR] [-thresh T] [-repeat K] [-by loss|errors]: ranks the images of a list by
 * how hard the network finds them, and writes the ranking, the hardest images as a
 * training list, a contact sheet of them and, with -repeat, the training list with
 * the hardest images repeated. */
#include "mine.h"
#include "files.h"
#include "cli.h"
#include "prefetch.h"
#include "ohem_layer.h"
#include "roi_loss_layer.h"
#include "roipool_layer.h"
#include "rpn_layer.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINE_IOU 0.5f        /* a detection matches a truth at IoU > 0.5, as in detector map */
#define MINE_SHEET_MAX 256   /* tiles on the contact sheet at most */
#define MINE_TILE 192        /* a tile's side, pixels */

int mine_net_init(mine_net *m, network *net)
{
    memset(m, 0, sizeof(*m));
    m->net = net;
    ohem_options o;
    ohem_options_default(&o);
    o.nms = 1;     /* no selection is wanted, only the gather: no NMS to pay for */
    o.stats = 0;
    int roi = -1;
    for (int i = 0; i < net->n; i++)
        if (is_roi_loss_layer(&net->layers[i])) roi = i;
    if (roi >= 0) {
        o.layers[o.nlayers++] = roi;
    } else {
        for (int i = 0; i < net->n && o.nlayers < OHEM_MAX_SOURCES; i++) {
            LAYER_TYPE t = net->layers[i].type;
            if (t == YOLO || t == REGION || t == DETECTION) o.layers[o.nlayers++] = i;
        }
    }
    if (!o.nlayers) {
        fprintf(stderr, "error: the network has no [yolo], [region], [detection] or [roi_loss] layer to mine\n");
        return -1;
    }
    const layer *last = &net->layers[net->n - 1];
    /* its one-line summary is for a cfg's [ohem], not for this one */
    FILE *keep = stderr, *null = fopen("/dev/null", "w");
    if (null) stderr = null;
    int st = make_ohem_layer(&m->ohem, &o, net, net->n, last->batch, last->outputs, last->out_h, last->out_w,
                             last->out_c);
    stderr = keep;
    if (null) fclose(null);
    if (st != 0) {
        fprintf(stderr, "error: out of memory building the mining layer\n");
        return -1;
    }
    m->classes = net->layers[o.layers[o.nlayers - 1]].classes;
    return 0;
}

void mine_net_free(mine_net *m)
{
    if (!m->ohem.cweights) return;
    free(m->ohem.output);
    free(m->ohem.delta);
    free(m->ohem.cweights);
    memset(&m->ohem, 0, sizeof(m->ohem));
}

/* 1 for the layers that read the truth, which run in training mode while mining. */
static int reads_truth(const layer *l)
{
    return l->type == YOLO || l->type == REGION || l->type == DETECTION || is_rpn_layer(l) ||
           is_roipool_layer(l) || is_roi_loss_layer(l);
}

float mine_image_loss(mine_net *m, image im, const float *rows, int n)
{
    image sized = resize_image(im, m->net->w, m->net->h);
    float loss = mine_input_loss(m, sized.data, rows, n);
    free_image(sized);
    return loss;
}

float mine_input_loss(mine_net *m, const float *input, const float *rows, int n)
{
    network *net = m->net;
    memcpy(net->input, input, (size_t)net->inputs * sizeof(float));
    cli_fill_truth(net, rows, n);
    *net->seen = (size_t)1 << 40; /* past [region]'s prior-box phase */
    /* libdarknet's forward_network, with the training flag per layer */
    network run = *net;
    for (int i = 0; i < net->n; i++) {
        layer l = net->layers[i];
        run.index = i;
        run.train = reads_truth(&l);
        if (l.delta) memset(l.delta, 0, (size_t)l.outputs * l.batch * sizeof(float));
        l.forward(l, run);
        run.input = l.output;
        if (l.truth) run.truth = l.output;
    }
    run.train = 1;
    run.index = net->n;
    forward_ohem_layer(m->ohem, run);
    const box *boxes;
    const float *loss;
    const unsigned char *pos, *kept;
    int nc;
    if (ohem_layer_candidates(&m->ohem, &boxes, &loss, &pos, &kept, &nc) != 0) return NAN;
    double sum = 0;
    for (int c = 0; c < nc; c++) sum += loss[c];
    return (float)sum;
}

void mine_match(const map_det *dets, int nd, const map_truth *truths, int nt, float iou,
                unsigned char *det_fp, unsigned char *truth_missed, int *fp, int *misses)
{
    int *order = malloc((nd + 1) * sizeof(int));
    unsigned char *taken = calloc(nt + 1, 1);
    for (int i = 0; i < nd; i++) order[i] = i;
    map_sort_by_score(dets, order, nd);
    *fp = 0;
    for (int k = 0; k < nd; k++) {
        const map_det *d = &dets[order[k]];
        int best = -1;
        float best_iou = 0;
        for (int t = 0; t < nt; t++) {
            if (truths[t].cls != d->cls) continue;
            float v = box_iou(d->b, truths[t].b);
            if (best < 0 || v > best_iou) best = t, best_iou = v;
        }
        int hit = best >= 0 && best_iou > iou && !taken[best];
        if (hit) taken[best] = 1;
        if (det_fp) det_fp[order[k]] = !hit;
        *fp += !hit;
    }
    *misses = 0;
    for (int t = 0; t < nt; t++) {
        if (truth_missed) truth_missed[t] = !taken[t];
        *misses += !taken[t];
    }
    free(order);
    free(taken);
}

static const mine_figures *sort_fig;
static mine_by sort_by;

static int by_hardness(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    const mine_figures *x = &sort_fig[i], *y = &sort_fig[j];
    if (sort_by == MINE_BY_ERRORS && x->fp + x->misses != y->fp + y->misses)
        return x->fp + x->misses > y->fp + y->misses ? -1 : 1;
    /* a NaN loss ranks last */
    int xn = isnan(x->loss), yn = isnan(y->loss);
    if (xn != yn) return xn - yn;
    if (!xn && x->loss != y->loss) return x->loss > y->loss ? -1 : 1;
    return i - j;
}

void mine_rank(const mine_figures *f, int n, mine_by by, int *order)
{
    for (int i = 0; i < n; i++) order[i] = i;
    sort_fig = f;
    sort_by = by;
    qsort(order, n, sizeof(int), by_hardness);
}

/* Closes f, reporting a write error on path. Returns 0 or -1. */
static int close_checked(FILE *f, const char *path)
{
    int err = ferror(f) ? (errno ? errno : EIO) : 0;
    if (fclose(f) != 0 && !err) err = errno ? errno : EIO;
    if (err) fprintf(stderr, "error: %s: cannot write: %s\n", path, strerror(err));
    return err ? -1 : 0;
}

static FILE *open_write(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "error: %s: cannot write: %s\n", path, strerror(errno));
    return f;
}

int mine_write_csv(const char *path, char **paths, const mine_figures *f, const int *order, int n)
{
    FILE *o = open_write(path);
    if (!o) return -1;
    fprintf(o, "rank,path,loss,truths,detections,false_positives,misses\n");
    for (int k = 0; k < n; k++) {
        const mine_figures *x = &f[order[k]];
        fprintf(o, "%d,%s,%.6g,%d,%d,%d,%d\n", k + 1, paths[order[k]], x->loss, x->truths, x->detections, x->fp,
                x->misses);
    }
    return close_checked(o, path);
}

/* The detections of the loaded image it (its input letterboxed or stretched as
 * letter says) above thresh as map_det rows (class per row). */
static int image_dets(network *net, const prefetch_item *it, int letter, float thresh, int classes, map_det **out)
{
    int nb, n = 0, cap = 16;
    detection *d = detector_detect_input(net, it->sized, letter, it->w, it->h, thresh, &nb);
    map_det *dets = malloc(cap * sizeof(*dets));
    for (int k = 0; k < nb; k++)
        for (int c = 0; c < classes && c < d[k].classes; c++)
            if (d[k].prob[c] >= thresh && d[k].prob[c] > 0) {
                if (n == cap) dets = realloc(dets, (cap *= 2) * sizeof(*dets));
                dets[n++] = (map_det){0, c, d[k].prob[c], d[k].bbox};
            }
    free_detections(d, nb);
    *out = dets;
    return n;
}

static map_truth *image_truths(const float *rows, int n)
{
    map_truth *t = malloc((n + 1) * sizeof(*t));
    for (int r = 0; r < n; r++)
        t[r] = (map_truth){0, (int)rows[5 * r], {rows[5 * r + 1], rows[5 * r + 2], rows[5 * r + 3], rows[5 * r + 4]}, 0};
    return t;
}

/* One image's detections and their matches to its truths. */
typedef struct {
    int ndets;
    map_det *dets;
    unsigned char *det_fp, *missed;  /* per detection: a false positive; per truth: missed */
} mine_image;

static void mine_image_free(mine_image *x)
{
    free(x->dets);
    free(x->det_fp);
    free(x->missed);
    memset(x, 0, sizeof(*x));
}

/* The images of paths as mining takes them from the loader thread: labels read
 * (m's classes), the network's input as detection makes it, with the stretched one
 * for the loss, and the decoded image when original (the sheet's tiles). Returns NULL
 * after printing that memory ran out. */
static prefetch *mine_prefetch(mine_net *m, char **paths, int n, int original, prefetch_options *po)
{
    const network *net = m->net;
    *po = (prefetch_options){paths, n, net->w, net->h, detector_letterboxes(net), m->classes, NULL, 1, original};
    prefetch *p = prefetch_start(po, PREFETCH_AHEAD);
    if (!p) fprintf(stderr, "error: out of memory for the loading of %d images\n", n);
    return p;
}

/* One image, loaded (it, of path): its loss, detections and matches into f and x
 * (the caller frees x). Returns 0, or -1 after printing why the image or its labels
 * could not be read. */
static int mine_one(mine_net *m, const prefetch_item *it, int letter, const char *path, float thresh, mine_figures *f,
                    mine_image *x)
{
    memset(x, 0, sizeof(*x));
    if (it->errors) fputs(it->errors, stderr);
    if (!it->ok) cli_image_error(path, "\n");
    if (!it->ok || it->bad_labels) return -1;
    /* the loss on the image stretched, as training shapes it without augmentation */
    f->loss = mine_input_loss(m, (letter ? it->stretched : it->sized).data, it->rows, it->nrows);
    f->truths = it->nrows;
    x->ndets = image_dets(m->net, it, letter, thresh, m->classes, &x->dets);
    f->detections = x->ndets;
    map_truth *t = image_truths(it->rows, it->nrows);
    x->det_fp = malloc(x->ndets + 1);
    x->missed = malloc(it->nrows + 1);
    mine_match(x->dets, x->ndets, t, it->nrows, MINE_IOU, x->det_fp, x->missed, &f->fp, &f->misses);
    free(t);
    return 0;
}

/* Copies src into dst at (dx, dy), clipped. */
static void paste(image src, image dst, int dx, int dy)
{
    for (int k = 0; k < src.c && k < dst.c; k++)
        for (int y = 0; y < src.h && y + dy < dst.h; y++)
            for (int x = 0; x < src.w && x + dx < dst.w; x++)
                dst.data[(k * dst.h + y + dy) * dst.w + x + dx] = src.data[(k * src.h + y) * src.w + x];
}

/* The contact sheet of the images order[0 .. n): each tile the image with its truths
 * (green), its detections (yellow when they match, red when false positives), its
 * missed truths (magenta, thick), and a caption with rank, loss, false positives and
 * misses. Returns 0, or -1 after an error. */
static int write_sheet(mine_net *m, char **paths, const int *order, const mine_figures *f, int n, float thresh,
                       const char *name)
{
    int cols = (int)ceil(sqrt((double)n)), rows = (n + cols - 1) / cols, gap = 4;
    image sheet = make_image(cols * (MINE_TILE + gap) + gap, rows * (MINE_TILE + gap) + gap, 3);
    fill_image(sheet, 0.25f);
    image **alphabet = load_alphabet();
    static const float green[3] = {0, 1, .2f}, yellow[3] = {1, 1, 0}, red[3] = {1, 0, 0}, magenta[3] = {1, 0, 1};
    static const float white[3] = {1, 1, 1};
    /* the top images in rank order, loaded ahead with their decoded originals */
    char **top = malloc((n + 1) * sizeof(char *));
    if (!top) fprintf(stderr, "error: out of memory for the contact sheet of %d images\n", n);
    for (int k = 0; k < n && top; k++) top[k] = paths[order[k]];
    prefetch_options po;
    prefetch *p = top ? mine_prefetch(m, top, n, 1, &po) : NULL;
    int status = p ? 0 : -1;
    for (int k = 0; k < n && !status; k++) {
        mine_image x;
        mine_figures g;
        const prefetch_item *it = prefetch_next(p);
        if (mine_one(m, it, po.letter, top[k], thresh, &g, &x) != 0) {
            status = -1;
            break;
        }
        image tile = resize_image(it->original, MINE_TILE, MINE_TILE);
        /* the detections first, the truths over them */
        for (int d = 0; d < x.ndets; d++) draw_relative_box(tile, x.dets[d].b, x.det_fp[d] ? 2 : 1, x.det_fp[d] ? red : yellow);
        for (int r = 0; r < it->nrows; r++) {
            const float *row = it->rows + 5 * r;
            box t = {row[1], row[2], row[3], row[4]};
            draw_relative_box(tile, t, x.missed[r] ? 3 : 2, x.missed[r] ? magenta : green);
        }
        char caption[128];
        snprintf(caption, sizeof(caption), "%d loss %.3g fp %d miss %d", k + 1, f[order[k]].loss, f[order[k]].fp,
                 f[order[k]].misses);
        image label = get_label(alphabet, caption, 1);
        draw_label(tile, label.h + 1, 1, label, white);
        free_image(label);
        paste(tile, sheet, gap + (k % cols) * (MINE_TILE + gap), gap + (k / cols) * (MINE_TILE + gap));
        free_image(tile);
        mine_image_free(&x);
    }
    prefetch_stop(p);
    free(top);
    free_alphabet(alphabet);
    if (!status) status = cli_save_png(sheet, name);
    free_image(sheet);
    return status;
}

/* Writes the n paths of order, one a line. */
static int write_list(const char *path, char **paths, const int *order, int n)
{
    FILE *o = open_write(path);
    if (!o) return -1;
    for (int k = 0; k < n; k++) fprintf(o, "%s\n", paths[order[k]]);
    return close_checked(o, path);
}

/* train-hard.txt: the training list, then the top images K more times. */
static int write_repeat(const char *path, char **train, int ntrain, char **paths, const int *order, int top, int k)
{
    FILE *o = open_write(path);
    if (!o) return -1;
    for (int i = 0; i < ntrain; i++) fprintf(o, "%s\n", train[i]);
    for (int r = 0; r < k; r++)
        for (int i = 0; i < top; i++) fprintf(o, "%s\n", paths[order[i]]);
    return close_checked(o, path);
}

/* libdarknet's loss layers print a line per training forward on stdout: while
 * mining, stdout goes to /dev/null. mute returns the saved descriptor (or -1),
 * unmute restores it. */
static int mute_stdout(void)
{
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    if (saved >= 0 && null >= 0) dup2(null, 1);
    if (null >= 0) close(null);
    return saved;
}

static void unmute_stdout(int saved)
{
    fflush(stdout);
    if (saved < 0) return;
    dup2(saved, 1);
    close(saved);
}

/* An integer flag in [lo, hi]; returns 0, or prints and returns -1. */
static int flag_int(const char *name, const char *v, long lo, long hi, int *out)
{
    if (!v) return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "error: -%s %s: expected an integer in %ld .. %ld\n", name, v, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* The command line of ohem mine, checked. */
typedef struct {
    const char *data, *cfg, *weights, *list, *out;
    int top, repeat;
    float thresh;
    mine_by by;
    char out_buf[4096];
} mine_args;

static const char *mine_usage = "./darknet ohem mine DATA CFG WEIGHTS [-list train|valid|FILE] [-top N] [-out DIR] "
                                "[-thresh T] [-repeat K] [-by loss|errors]";

/* Returns 0, or the exit status after printing the error (and the usage). */
static int parse_args(int argc, char **argv, mine_args *a)
{
    const char *pos[3] = {0}, *top_s = NULL, *thresh_s = NULL, *repeat_s = NULL, *by_s = NULL;
    memset(a, 0, sizeof(*a));
    a->list = "train";
    struct { const char *name; const char **val; } flags[] = {{"list", &a->list}, {"top", &top_s}, {"out", &a->out},
        {"thresh", &thresh_s}, {"repeat", &repeat_s}, {"by", &by_s}};
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            int found = 0;
            for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]) && !found; f++)
                if (!strcmp(argv[i] + 1, flags[f].name) && i + 1 < argc) {
                    if (cli_check_flag_value(argv[i], argv[i + 1]) != 0) {
                        fprintf(stderr, "usage: %s\n", mine_usage);
                        return CLI_USAGE;
                    }
                    *flags[f].val = argv[++i];
                    found = 1;
                }
            if (!found) {
                fprintf(stderr, "error: unknown flag or missing value: %s\nusage: %s\n", argv[i], mine_usage);
                return CLI_USAGE;
            }
        } else if (npos < 3) {
            pos[npos++] = argv[i];
        } else {
            fprintf(stderr, "error: unexpected argument: %s\nusage: %s\n", argv[i], mine_usage);
            return CLI_USAGE;
        }
    }
    if (npos < 3) {
        fprintf(stderr, "error: missing operand\nusage: %s\n", mine_usage);
        return CLI_USAGE;
    }
    a->data = pos[0], a->cfg = pos[1], a->weights = pos[2];
    a->top = 100;
    a->thresh = 0.25f;
    a->by = by_s && !strcmp(by_s, "errors") ? MINE_BY_ERRORS : MINE_BY_LOSS;
    int bad = flag_int("top", top_s, 1, 1000000000, &a->top) || flag_int("repeat", repeat_s, 1, 1000, &a->repeat);
    if (!bad && thresh_s) {
        char *end;
        a->thresh = strtof(thresh_s, &end);
        if ((bad = end == thresh_s || *end || !(a->thresh >= 0 && a->thresh <= 1)))
            fprintf(stderr, "error: -thresh %s: expected a number in [0, 1]\n", thresh_s);
    }
    if (!bad && by_s && (bad = strcmp(by_s, "loss") && strcmp(by_s, "errors")))
        fprintf(stderr, "error: -by %s: expected loss or errors\n", by_s);
    if (bad) {
        fprintf(stderr, "usage: %s\n", mine_usage);
        return CLI_USAGE;
    }
    static const char *const names[] = {"DATA", "CFG", "WEIGHTS"};
    for (int q = 0; q < 3; q++)
        if (cli_check_path(names[q], pos[q]) != 0) return CLI_BAD_INPUT;
    /* the default output folder: mine/ beside the weights */
    if (!a->out) {
        const char *slash = strrchr(a->weights, '/');
        if (slash) snprintf(a->out_buf, sizeof(a->out_buf), "%.*s/mine", (int)(slash - a->weights), a->weights);
        else snprintf(a->out_buf, sizeof(a->out_buf), "mine");
        a->out = a->out_buf;
    }
    if (cli_check_path("-out", a->out) != 0 || cli_check_path("-list", a->list) != 0) return CLI_BAD_INPUT;
    return 0;
}

/* Reads and checks the list that -list names (and, for -repeat, the training
 * list). Returns 0, or -1 after an error. */
static int read_lists(const mine_args *a, const data_cfg *d, char ***paths, int *n, char ***train, int *ntrain)
{
    const char *list = a->list, *from = "-list";
    if (!strcmp(a->list, "train")) {
        list = d->train, from = d->train_from;
    } else if (!strcmp(a->list, "valid")) {
        if (!d->valid) {
            fprintf(stderr, "error: %s: -list valid, but the key 'valid' is missing (hint: valid=path/to/valid.txt)\n", a->data);
            return -1;
        }
        list = d->valid, from = d->valid_from;
    }
    int *lines;
    if ((*n = cli_read_list(list, from, paths, &lines)) < 0) return -1;
    /* every image and label file, before the network is even built */
    int bad = check_dataset(list, *paths, lines, *n, d->classes, 0) != 0;
    free(lines);
    if (bad) return -1;
    if (a->repeat && (*ntrain = cli_read_list(d->train, d->train_from, train, NULL)) < 0) return -1;
    return 0;
}

/* Loads CFG and WEIGHTS at batch 1 and builds the mining layer. Returns the network
 * (m set), or NULL after an error. */
static network *load_mining(const mine_args *a, const data_cfg *d, mine_net *m)
{
    FILE *wf = fopen(a->weights, "rb");
    if (!wf) {
        fprintf(stderr, "error: %s: cannot read the weights file: %s\n", a->weights, strerror(errno));
        return NULL;
    }
    fclose(wf);
    network *net = load_network((char *)a->cfg, (char *)a->weights, 0);
    set_batch_network(net, 1);
    int ok = 1;
    for (int i = 0; i < net->n && ok; i++)
        if (net->layers[i].type == SOFTMAX) {
            fprintf(stderr, "error: %s: a [softmax] network classifies whole images; ohem mine ranks the images of a detector\n", a->cfg);
            ok = 0;
        }
    if (ok && mine_net_init(m, net) != 0) ok = 0;
    if (ok && m->classes != d->classes) {
        fprintf(stderr, "error: %s says classes=%d but %s's last detection layer has classes=%d\n", a->data, d->classes,
                a->cfg, m->classes);
        ok = 0;
    }
    if (ok) return net;
    mine_net_free(m);
    free_network(net);
    return NULL;
}

static void progress(int done, int total, double t0)
{
    double dt = cli_seconds() - t0, rate = done / (dt + 1e-9);
    int left = rate > 0 ? (int)((total - done) / rate + .5) : 0;
    fprintf(stderr, "\rmine: %d/%d images, %.1f images/s, %dm%02ds left ", done, total, rate, left / 60, left % 60);
    if (done == total) fprintf(stderr, "\n");
}

int mine_images(mine_net *m, char **paths, int n, float thresh, mine_figures *fig)
{
    prefetch_options po;
    prefetch *p = mine_prefetch(m, paths, n, 0, &po);
    if (!p) return -1;
    double t0 = cli_seconds(), last = t0;
    int muted = mute_stdout(), status = 0;
    for (int i = 0; i < n; i++) {
        mine_image x;
        if (mine_one(m, prefetch_next(p), po.letter, paths[i], thresh, &fig[i], &x) != 0) {
            status = -1;
            break;
        }
        mine_image_free(&x);
        double now = cli_seconds();
        if (now - last > 0.5 || i == n - 1) {
            progress(i + 1, n, t0);
            last = now;
        }
    }
    unmute_stdout(muted);
    prefetch_stop(p);
    return status;
}

/* mine.csv, hard.txt, train-hard.txt (with -repeat) and the sheet hard.png, of the
 * first top of order. Returns 0 or -1. */
static int write_outputs(const mine_args *a, mine_net *m, char **paths, int n, char **train, int ntrain,
                         const mine_figures *fig, const int *order, int top)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/mine.csv", a->out);
    if (mine_write_csv(path, paths, fig, order, n) != 0) return -1;
    snprintf(path, sizeof(path), "%s/hard.txt", a->out);
    if (write_list(path, paths, order, top) != 0) return -1;
    if (a->repeat) {
        snprintf(path, sizeof(path), "%s/train-hard.txt", a->out);
        if (write_repeat(path, train, ntrain, paths, order, top, a->repeat) != 0) return -1;
    }
    snprintf(path, sizeof(path), "%s/hard", a->out);
    int muted = mute_stdout();
    int st = write_sheet(m, paths, order, fig, top < MINE_SHEET_MAX ? top : MINE_SHEET_MAX, a->thresh, path);
    unmute_stdout(muted);
    return st;
}

static void print_summary(const mine_args *a, char **paths, int n, const mine_figures *fig, const int *order, int top)
{
    double loss = 0;
    long fp = 0, miss = 0, truths = 0, negatives = 0;
    for (int i = 0; i < n; i++) {
        loss += isnan(fig[i].loss) ? 0 : fig[i].loss;
        fp += fig[i].fp, miss += fig[i].misses, truths += fig[i].truths;
        negatives += fig[i].truths == 0;
    }
    printf("%d images (%ld without boxes), %ld truths: mean loss %.4g, %ld false positives and %ld misses at -thresh %.2f\n",
           n, negatives, truths, n ? loss / n : 0, fp, miss, a->thresh);
    printf("hardest %d (by %s):\n", top < 10 ? top : 10, a->by == MINE_BY_ERRORS ? "errors" : "loss");
    for (int k = 0; k < top && k < 10; k++) {
        const mine_figures *x = &fig[order[k]];
        printf("%3d. loss %8.4f  fp %d  misses %d/%d  %s\n", k + 1, x->loss, x->fp, x->misses, x->truths, paths[order[k]]);
    }
    fflush(stdout);
    fprintf(stderr, "wrote %s/mine.csv, %s/hard.txt (%d images)%s, %s/hard.png (%d tiles)\n", a->out, a->out, top,
            a->repeat ? ", train-hard.txt" : "", a->out, top < MINE_SHEET_MAX ? top : MINE_SHEET_MAX);
}

int ohem_mine(int argc, char **argv)
{
    mine_args a;
    int st = parse_args(argc, argv, &a);
    if (st) return st;
    data_cfg d;
    if (cli_read_data(a.data, &d) != 0) return CLI_BAD_INPUT;
    int status = CLI_BAD_INPUT, n = -1, ntrain = -1;
    char **paths = NULL, **train = NULL;
    network *net = NULL;
    mine_net m = {0};
    mine_figures *fig = NULL;
    int *order = NULL;
    if (read_lists(&a, &d, &paths, &n, &train, &ntrain) != 0 || !(net = load_mining(&a, &d, &m)) ||
        files_make_dirs(a.out) != 0)
        goto done;
    fig = calloc(n, sizeof(*fig));
    order = malloc(n * sizeof(int));
    if (!fig || !order) {
        fprintf(stderr, "error: out of memory for %d images\n", n);
        goto done;
    }
    if (mine_images(&m, paths, n, a.thresh, fig) != 0) goto done;
    mine_rank(fig, n, a.by, order);
    int top = a.top < n ? a.top : n;
    if (write_outputs(&a, &m, paths, n, train, ntrain, fig, order, top) != 0) goto done;
    print_summary(&a, paths, n, fig, order, top);
    status = 0;
done:
    free(fig);
    free(order);
    mine_net_free(&m);
    if (net) free_network(net);
    free_paths(paths, n);
    free_paths(train, ntrain);
    data_cfg_free(&d);
    return status;
}
