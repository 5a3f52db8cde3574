/* detect.c: ./darknet detector map | valid | test. */
#include "detect.h"
#include "loader.h"
#include "plan.h"
#include "prefetch.h"
#include "yolo_layer.h"
#include "cli.h"
#include "roi_loss_layer.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DET_THRESH 0.005f  /* as Darknet's validate_detector */
#define DET_NMS 0.45f

const layer *detector_layer(const network *net)
{
    for (int i = net->n - 1; i >= 0; i--) {
        LAYER_TYPE t = net->layers[i].type;
        if (t == YOLO || t == REGION || t == DETECTION || is_roi_loss_layer(&net->layers[i]))
            return &net->layers[i];
    }
    return NULL;
}

int draw_relative_box(image im, box b, int width, const float rgb[3])
{
    box c;
    if (!map_clip_box(b, &c)) return 0;
    /* pixel columns 0 .. w - 1: an edge at 1 is drawn in the last one */
    int l = (int)((c.x - c.w / 2) * im.w), r = (int)((c.x + c.w / 2) * im.w);
    int t = (int)((c.y - c.h / 2) * im.h), bo = (int)((c.y + c.h / 2) * im.h);
    if (r > im.w - 1) r = im.w - 1;
    if (bo > im.h - 1) bo = im.h - 1;
    draw_box_width(im, l, t, r, bo, width, rgb[0], rgb[1], rgb[2]);
    return 1;
}

void cli_image_error(const char *path, const char *lead)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        fprintf(stderr, "%serror: %s: is a directory, where an image should be\n", lead, path);
    else
        fprintf(stderr, "%serror: %s: the image is missing or does not decode\n", lead, path);
}

int cli_check_path(const char *what, const char *path)
{
    size_t len = path ? strlen(path) : 0;
    if (!len) {
        fprintf(stderr, "error: %s: the path is empty\n", what);
        return -1;
    }
    if (len > CLI_PATH_MAX) {
        fprintf(stderr, "error: %s: the path is %zu bytes long (it starts '%.40s...'); at most %d are accepted\n",
                what, len, path, CLI_PATH_MAX);
        return -1;
    }
    return 0;
}

int cli_check_flag_value(const char *flag, const char *value)
{
    if (value[0] == '-' && isalpha((unsigned char)value[1])) {
        fprintf(stderr, "error: %s %s: %s needs a value, and '%s' is a flag (hint: give the value right after %s)\n",
                flag, value, flag, value, flag);
        return -1;
    }
    return 0;
}

/* libdarknet's PNG encoder (stb_image_write, exported by libdarknet.so): encodes to
 * memory, so that we open, write and close the file ourselves and see every error. */
unsigned char *stbi_write_png_to_mem(const unsigned char *pixels, int stride_bytes, int x, int y, int n,
                                     int *out_len);

int cli_save_png(image im, const char *name)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s.png", name) >= sizeof(path)) {
        fprintf(stderr, "error: %s.png: the path is too long\n", name);
        return -1;
    }
    size_t n = (size_t)im.w * im.h;
    unsigned char *px = malloc(n * im.c + 1);
    if (!px) {
        fprintf(stderr, "error: %s: out of memory\n", path);
        return -1;
    }
    for (int k = 0; k < im.c; k++)
        for (size_t i = 0; i < n; i++) {
            float v = im.data[i + k * n];
            px[i * im.c + k] = (unsigned char)(255 * (v < 0 ? 0 : v > 1 ? 1 : v));
        }
    int len = 0;
    unsigned char *png = stbi_write_png_to_mem(px, im.w * im.c, im.w, im.h, im.c, &len);
    free(px);
    if (!png) {
        fprintf(stderr, "error: %s: the picture could not be encoded\n", path);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    int err = f ? 0 : errno;
    if (f && fwrite(png, 1, (size_t)len, f) != (size_t)len) err = errno ? errno : EIO;
    if (f && fclose(f) != 0 && !err) err = errno ? errno : EIO;
    free(png);
    if (err) {
        fprintf(stderr, "error: %s: cannot write the picture: %s\n", path, strerror(err));
        if (f) remove(path);
        return -1;
    }
    return 0;
}

int cli_check_data_paths(const data_cfg *d)
{
    const char *keys[] = {"train", "valid", "names", "backup", "difficult"};
    const char *vals[] = {d->train, d->valid, d->names, d->backup, d->difficult};
    for (int i = 0; i < 5; i++) {
        char what[256];
        snprintf(what, sizeof(what), "%.200s: %s", d->path, keys[i]);
        if (vals[i] && cli_check_path(what, vals[i]) != 0) return -1;
    }
    return 0;
}

int cli_check_list(const char *list, char **paths, int n)
{
    for (int i = 0; i < n; i++) {
        char what[256];
        snprintf(what, sizeof(what), "%.200s: entry %d", list, i + 1);
        if (cli_check_path(what, paths[i]) != 0) return -1;
    }
    return 0;
}

const char *cli_program = "./darknet";

int cli_read_data(const char *path, data_cfg *d)
{
    if (data_cfg_read(path, d) != 0) return -1;
    if (cli_check_data_paths(d) != 0) {
        data_cfg_free(d);
        return -1;
    }
    return 0;
}

int cli_read_difficult(const data_cfg *d, int nvalid, char ***paths)
{
    *paths = NULL;
    if (!d->difficult) return 0;
    int n = cli_read_list(d->difficult, d->difficult_from, paths, NULL);
    if (n >= 0 && n != nvalid) {
        fprintf(stderr, "error: %s: %d entries, but valid= lists %d images (hint: the difficult list names one image a "
                "line, parallel to valid's; `ohem import` writes both) (%s)\n", d->difficult, n, nvalid, d->difficult_from);
        free_paths(*paths, n);
        *paths = NULL;
        return -1;
    }
    return n;
}

int cli_read_list(const char *path, const char *from, char ***paths, int **lines)
{
    int n = read_list_lines(path, from, paths, lines);
    if (n >= 0 && cli_check_list(path, *paths, n) != 0) {
        free_paths(*paths, n);
        *paths = NULL;
        if (lines) {
            free(*lines);
            *lines = NULL;
        }
        return -1;
    }
    return n;
}

void free_alphabet(image **a)
{
    if (!a) return;
    for (int j = 0; j < 8; j++) {
        for (int i = 32; i < 127; i++) free_image(a[j][i]);
        free(a[j]);
    }
    free(a);
}

int detector_letterboxes(const network *net)
{
    /* the image as training shaped it: letterboxed, or stretched to the input */
    loader_options lo = loader_options_of(net);
    return loader_keeps_aspect(&lo);
}

image detector_input(image im, int w, int h, int letter)
{
    return letter ? letterbox_image(im, w, h) : resize_image(im, w, h);
}

detection *detector_detect_input(network *net, image sized, int letter, int w, int h, float thresh, int *n)
{
    network_predict(net, sized.data);
    /* letterboxed: the boxes mapped back from the letterbox (get_network_boxes with
     * the image's size); stretched: already fractions of the image (the input's size) */
    detection *dets = get_network_boxes(net, letter ? w : net->w, letter ? h : net->h, thresh, .5f, NULL, 1, n);
    const layer *l = detector_layer(net);
    /* a [yolo] layer's nms_kind= (AlexeyAB's DIoU-NMS), else libdarknet's */
    if (l && *n) yolo_nms(dets, *n, l->classes, DET_NMS, yolo_layer_options(l));
    return dets;
}

detection *detector_detect(network *net, image im, float thresh, int *n)
{
    int letter = detector_letterboxes(net);
    image sized = detector_input(im, net->w, net->h, letter);
    detection *dets = detector_detect_input(net, sized, letter, im.w, im.h, thresh, n);
    free_image(sized);
    return dets;
}

static void progress_bar(const char *what, int done, int total, double t0)
{
    int width = 30, filled = total ? done * width / total : width;
    double rate = done / (cli_seconds() - t0 + 1e-9);
    fprintf(stderr, "\r%s [%.*s%*s] %d/%d, %.1f img/s", what, filled, "##############################",
            width - filled, "", done, total, rate);
    if (done == total) fprintf(stderr, "\n");
}

double detector_evaluate(network *net, char **paths, int n, int classes, const map_options *o,
                         map_class *out)
{
    int ndet = 0, capdet = 1024, ntru = 0, captru = 256, bad = 0;
    map_det *dets = malloc(capdet * sizeof(*dets));
    map_truth *tru = malloc(captru * sizeof(*tru));
    int letter = detector_letterboxes(net);
    prefetch_options po = {paths, n, net->w, net->h, letter, classes, o->ignore, 0, 0};
    prefetch *p = prefetch_start(&po, PREFETCH_AHEAD);
    if (!dets || !tru || !p) {
        fprintf(stderr, "error: out of memory for the evaluation of %d images\n", n);
        bad = 1;
    }
    double t0 = cli_seconds();
    for (int i = 0; i < n && !bad; i++) {
        const prefetch_item *it = prefetch_next(p);
        if (it->errors) fputs(it->errors, stderr);
        if (!it->ok) cli_image_error(paths[i], o->progress ? "\n" : "");
        if (!it->ok || it->bad_labels) {
            bad = 1;
            break;
        }
        /* the truths, then the boxes to ignore: the label file of the difficult list's entry */
        for (int pass = 0; pass < 2; pass++) {
            const float *rows = pass ? it->ignore : it->rows;
            int nrows = pass ? it->nignore : it->nrows;
            for (int r = 0; r < nrows; r++) {
                if (ntru == captru) tru = realloc(tru, (captru *= 2) * sizeof(*tru));
                tru[ntru++] = (map_truth){i, (int)rows[5 * r], {rows[5 * r + 1], rows[5 * r + 2], rows[5 * r + 3], rows[5 * r + 4]}, pass};
            }
        }
        int nb;
        detection *d = detector_detect_input(net, it->sized, letter, it->w, it->h, DET_THRESH, &nb);
        for (int k = 0; k < nb; k++)
            for (int c = 0; c < classes && c < d[k].classes; c++)
                if (d[k].prob[c] > 0) {
                    if (ndet == capdet) dets = realloc(dets, (capdet *= 2) * sizeof(*dets));
                    dets[ndet++] = (map_det){i, c, d[k].prob[c], d[k].bbox};
                }
        free_detections(d, nb);
        if (o->progress && (i % 10 == 9 || i == n - 1)) progress_bar("map", i + 1, n, t0);
    }
    prefetch_stop(p);
    double m = bad ? -1 : map_evaluate(dets, ndet, tru, ntru, classes, o->iou, o->points, o->thresh, out);
    free(dets);
    free(tru);
    return m;
}

void print_map_table(FILE *f, const map_class *m, int classes, char **names, float iou, float thresh, double map)
{
    long ignored = 0;
    fprintf(f, "ranked: the detections AP ranks (score > %g, after NMS); TP + FP, precision and recall: those with "
               "score >= %g (-thresh)\n", DET_THRESH, thresh);
    fprintf(f, "%-16s %7s %7s %8s %9s %7s %6s %6s\n", "class", "truths", "ranked", "AP", "precision", "recall", "TP", "FP");
    for (int c = 0; c < classes; c++) {
        char ap[16] = "n/a", pr[16] = "n/a", rc[16] = "n/a";
        if (!isnan(m[c].ap)) snprintf(ap, sizeof(ap), "%.4f", m[c].ap);
        if (!isnan(m[c].precision)) snprintf(pr, sizeof(pr), "%.4f", m[c].precision);
        if (!isnan(m[c].recall)) snprintf(rc, sizeof(rc), "%.4f", m[c].recall);
        fprintf(f, "%-16s %7d %7d %8s %9s %7s %6d %6d\n", names ? names[c] : "?", m[c].truths,
                m[c].detections, ap, pr, rc, m[c].tp, m[c].fp);
        ignored += m[c].ignored;
    }
    if (ignored) fprintf(f, "ignored: %ld detections on difficult or crowd boxes (neither true nor false positives)\n", ignored);
    fprintf(f, "mAP@%.2f = %.4f\n", iou, isnan(map) ? 0.0 : map);
}

/* Positional operands and the -flag value pairs of one command. Returns 0, or
 * prints usage and returns CLI_USAGE. */
typedef struct {
    const char *name;
    const char **val;
} flag;

static int parse_args(int argc, char **argv, const char **pos, int npos, int nreq, flag *flags,
                      int nflags, const char *usage)
{
    int k = 0;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            int found = 0;
            for (int f = 0; f < nflags; f++)
                if (!strcmp(argv[i] + 1, flags[f].name) && i + 1 < argc) {
                    if (cli_check_flag_value(argv[i], argv[i + 1]) != 0) {
                        fprintf(stderr, "usage: %s\n", usage);
                        return CLI_USAGE;
                    }
                    *flags[f].val = argv[++i];
                    found = 1;
                }
            if (!found) {
                fprintf(stderr, "error: unknown flag or missing value: %s\nusage: %s\n", argv[i], usage);
                return CLI_USAGE;
            }
        } else if (k < npos) {
            pos[k++] = argv[i];
        } else {
            fprintf(stderr, "error: unexpected argument: %s\nusage: %s\n", argv[i], usage);
            return CLI_USAGE;
        }
    }
    if (k < nreq) {
        fprintf(stderr, "error: missing operand\nusage: %s\n", usage);
        return CLI_USAGE;
    }
    /* every operand of these commands is a path: DATA CFG WEIGHTS IMAGE */
    static const char *const names[] = {"DATA", "CFG", "WEIGHTS", "IMAGE"};
    for (int q = 0; q < k; q++)
        if (cli_check_path(q < 4 ? names[q] : "operand", pos[q]) != 0) return CLI_BAD_INPUT;
    for (int f = 0; f < nflags; f++)
        if (!strcmp(flags[f].name, "out") && *flags[f].val && cli_check_path("-out", *flags[f].val) != 0)
            return CLI_BAD_INPUT;
    return 0;
}

/* A float flag in [lo, hi]; returns 0 or prints and returns -1. */
static int flag_float(const char *name, const char *v, float lo, float hi, float *out)
{
    if (!v) return 0;
    char *end;
    float x = strtof(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "error: -%s %s: expected a number in [%g, %g]\n", name, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

/* Loads DATA, CFG and WEIGHTS for inference at batch 1. */
static network *load_for_inference(const char *cfg, const char *weights)
{
    FILE *f = fopen(weights, "rb");
    if (!f) {
        fprintf(stderr, "error: %s: cannot read the weights file: %s\n", weights, strerror(errno));
        return NULL;
    }
    fclose(f);
    network *net = load_network((char *)cfg, (char *)weights, 0);
    set_batch_network(net, 1);
    return net;
}

/* The .data file's classes must be the network's: the detections carry the layer's
 * class count, and the commands read d->classes of them. */
static int check_classes(const data_cfg *d, const char *cfg, const network *net)
{
    const layer *l = detector_layer(net);
    if (!l) {
        fprintf(stderr, "error: %s: no [yolo], [region], [detection] or [roi_loss] layer\n", cfg);
        return -1;
    }
    if (l->classes != d->classes) {
        fprintf(stderr, "error: %s says classes=%d but %s's last detection layer has classes=%d\n", d->path, d->classes,
                cfg, l->classes);
        return -1;
    }
    return 0;
}

int detector_map(int argc, char **argv)
{
    static const char *usage = "./darknet detector map DATA CFG WEIGHTS [-iou 0.5] [-points 0|11] [-thresh 0.25] [-v]";
    const char *pos[3] = {0}, *iou_s = NULL, *points_s = NULL, *thresh_s = NULL;
    flag flags[] = {{"iou", &iou_s}, {"points", &points_s}, {"thresh", &thresh_s}};
    /* -v (no value): each convolution's planned path on stderr */
    int verbose = 0, kept = 0;
    char **args = malloc(sizeof(char *) * (argc > 0 ? argc : 1));
    if (!args) return CLI_BAD_INPUT;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "-v")) verbose = 1;
        else args[kept++] = argv[i];
    int st = parse_args(kept, args, pos, 3, 3, flags, 3, usage);
    free(args);
    if (st) return st;
    map_options o = {0.5f, 0, 0.25f, 1, NULL};
    if (flag_float("iou", iou_s, 0, 1, &o.iou) || flag_float("thresh", thresh_s, 0, 1, &o.thresh)) return CLI_USAGE;
    if (points_s && strcmp(points_s, "0") && strcmp(points_s, "11")) {
        fprintf(stderr, "error: -points %s: expected 0 (all points) or 11\nusage: %s\n", points_s, usage);
        return CLI_USAGE;
    }
    o.points = points_s ? atoi(points_s) : 0;
    data_cfg d;
    if (cli_read_data(pos[0], &d) != 0) return CLI_BAD_INPUT;
    int status = CLI_BAD_INPUT, n = -1, nn = -1, nd = 0, *lines = NULL;
    char **paths = NULL, **names = NULL, **difficult = NULL;
    network *net = NULL;
    if (!d.valid) {
        fprintf(stderr, "error: %s: the key 'valid' is missing (hint: valid=path/to/valid.txt)\n", pos[0]);
        goto done;
    }
    if ((n = cli_read_list(d.valid, d.valid_from, &paths, &lines)) < 0 || (nd = cli_read_difficult(&d, n, &difficult)) < 0) goto done;
    o.ignore = difficult;
    if (d.names && (nn = read_names(d.names, d.names_from, d.classes, &names)) < 0) goto done;
    if (check_dataset(d.valid, paths, lines, n, d.classes, 0) != 0) goto done;
    if (!(net = load_for_inference(pos[1], pos[2])) || check_classes(&d, pos[1], net) != 0) goto done;
    if (verbose) {
        ohem_plan_summary plan;
        ohem_plan_network(net, 0, stderr, &plan);
        ohem_plan_print_summary(stderr, &plan);
    }
    map_class *m = calloc(d.classes, sizeof(*m));
    double map = detector_evaluate(net, paths, n, d.classes, &o, m);
    if (map != -1) {
        print_map_table(stdout, m, d.classes, names, o.iou, o.thresh, map);
        status = 0;
    }
    free(m);
done:
    if (net) free_network(net);
    free_paths(paths, n);
    free(lines);
    free_paths(names, nn);
    free_paths(difficult, nd);
    data_cfg_free(&d);
    return status;
}

int detector_valid(int argc, char **argv)
{
    static const char *usage = "./darknet detector valid DATA CFG WEIGHTS [-out DIR/PREFIX]";
    const char *pos[3] = {0}, *out = NULL;
    flag flags[] = {{"out", &out}};
    int st = parse_args(argc, argv, pos, 3, 3, flags, 1, usage);
    if (st) return st;
    if (!out) out = "results/comp4_det_test_";
    data_cfg d;
    if (cli_read_data(pos[0], &d) != 0) return CLI_BAD_INPUT;
    int status = CLI_BAD_INPUT, n = -1, nn = -1, *lines = NULL;
    char **paths = NULL, **names = NULL;
    network *net = NULL;
    prefetch *p = NULL;
    FILE **fps = calloc(d.classes, sizeof(FILE *));
    if (!d.valid || !d.names) {
        fprintf(stderr, "error: %s: the key '%s' is missing\n", pos[0], !d.valid ? "valid" : "names");
        goto done;
    }
    if ((n = cli_read_list(d.valid, d.valid_from, &paths, &lines)) < 0 || (nn = read_names(d.names, d.names_from, d.classes, &names)) < 0) goto done;
    if (check_images(d.valid, paths, lines, n, 0) != 0) goto done;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", out);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        mkdir(dir, 0777);
    }
    for (int c = 0; c < d.classes; c++) {
        char path[4300];
        snprintf(path, sizeof(path), "%s%s.txt", out, names[c]);
        if (!(fps[c] = fopen(path, "w"))) {
            fprintf(stderr, "error: %s: cannot write: %s\n", path, strerror(errno));
            goto done;
        }
    }
    if (!(net = load_for_inference(pos[1], pos[2])) || check_classes(&d, pos[1], net) != 0) goto done;
    int letter = detector_letterboxes(net);
    prefetch_options po = {paths, n, net->w, net->h, letter, 0, NULL, 0, 0};
    if (!(p = prefetch_start(&po, PREFETCH_AHEAD))) {
        fprintf(stderr, "error: out of memory for the detection of %d images\n", n);
        goto done;
    }
    double t0 = cli_seconds();
    for (int i = 0; i < n; i++) {
        const prefetch_item *it = prefetch_next(p);
        if (!it->ok) {
            cli_image_error(paths[i], "\n");
            goto done;
        }
        int nb;
        detection *dets = detector_detect_input(net, it->sized, letter, it->w, it->h, DET_THRESH, &nb);
        char id[1024];
        path_stem(paths[i], id, sizeof(id));
        for (int k = 0; k < nb; k++) {
            /* clipped to the image on both sides; a box with nothing inside is not written */
            float v[4];
            if (!map_voc_corners(dets[k].bbox, it->w, it->h, v)) continue;
            for (int c = 0; c < d.classes; c++)
                if (dets[k].prob[c] > 0) fprintf(fps[c], "%s %f %f %f %f %f\n", id, dets[k].prob[c], v[0], v[1], v[2], v[3]);
        }
        free_detections(dets, nb);
        if (i % 10 == 9 || i == n - 1) progress_bar("valid", i + 1, n, t0);
    }
    status = 0;
done:
    prefetch_stop(p);
    for (int c = 0; c < d.classes; c++)
        if (fps[c] && (ferror(fps[c]) | fclose(fps[c])) != 0 && status == 0) {
            fprintf(stderr, "error: %s%s.txt: cannot write: %s\n", out, names[c], strerror(errno));
            status = CLI_BAD_INPUT;
        }
    if (status == 0) fprintf(stderr, "wrote %s<class>.txt for %d classes\n", out, d.classes);
    free(fps);
    if (net) free_network(net);
    free_paths(paths, n);
    free(lines);
    free_paths(names, nn);
    data_cfg_free(&d);
    return status;
}

/* Colour of class c, spread over the hue circle. */
static void class_colour(int c, int classes, float rgb[3])
{
    float h = (float)c / (classes > 0 ? classes : 1) * 6;
    int i = (int)h;
    float f = h - i;
    float v[6][3] = {{1, f, 0}, {1 - f, 1, 0}, {0, 1, f}, {0, 1 - f, 1}, {f, 0, 1}, {1, 0, 1 - f}};
    memcpy(rgb, v[i % 6], 3 * sizeof(float));
}

int detector_test(int argc, char **argv)
{
    static const char *usage = "./darknet detector test DATA CFG WEIGHTS IMAGE [-thresh 0.25] [-out NAME]";
    const char *pos[4] = {0}, *thresh_s = NULL, *out = NULL;
    flag flags[] = {{"thresh", &thresh_s}, {"out", &out}};
    int st = parse_args(argc, argv, pos, 4, 4, flags, 2, usage);
    if (st) return st;
    float thresh = 0.25f;
    if (flag_float("thresh", thresh_s, 0, 1, &thresh)) return CLI_USAGE;
    if (!out) out = "predictions";
    data_cfg d;
    if (cli_read_data(pos[0], &d) != 0) return CLI_BAD_INPUT;
    int status = CLI_BAD_INPUT, nn = -1, ok;
    char **names = NULL;
    network *net = NULL;
    image im = load_image_checked(pos[3], &ok);
    if (!ok) {
        cli_image_error(pos[3], "");
        goto done;
    }
    if (!d.names) {
        fprintf(stderr, "error: %s: the key 'names' is missing\n", pos[0]);
        goto done;
    }
    if ((nn = read_names(d.names, d.names_from, d.classes, &names)) < 0) goto done;
    if (!(net = load_for_inference(pos[1], pos[2])) || check_classes(&d, pos[1], net) != 0) goto done;
    int nb;
    detection *dets = detector_detect(net, im, thresh, &nb);
    image show = resize_image(im, im.w < 416 ? im.w * 416 / im.w : im.w, im.w < 416 ? im.h * 416 / im.w : im.h);
    image **alphabet = load_alphabet();
    int shown = 0;
    for (int k = 0; k < nb; k++)
        for (int c = 0; c < d.classes; c++) {
            box b;
            if (dets[k].prob[c] < thresh || !map_clip_box(dets[k].bbox, &b)) continue;
            printf("%s: %.0f%% at x=%.3f y=%.3f w=%.3f h=%.3f\n", names[c], dets[k].prob[c] * 100, b.x, b.y, b.w, b.h);
            float rgb[3];
            class_colour(c, d.classes, rgb);
            draw_relative_box(show, b, 2, rgb);
            char text[256];
            snprintf(text, sizeof(text), "%s %.0f%%", names[c], dets[k].prob[c] * 100);
            image label = get_label(alphabet, text, (int)(show.h * .03));
            int l = (int)((b.x - b.w / 2) * show.w), t = (int)((b.y - b.h / 2) * show.h);
            draw_label(show, t + 2, l < 0 ? 0 : l, label, rgb);
            free_image(label);
            shown++;
        }
    free_alphabet(alphabet);
    printf("%d detections at -thresh %.2f\n", shown, thresh);
    fflush(stdout); /* the detections before stderr's lines, whole, where both go to one file */
    if (cli_save_png(show, out) == 0) {
        fprintf(stderr, "wrote %s.png\n", out);
        status = 0;
    }
    free_image(show);
    free_detections(dets, nb);
done:
    free_image(im);
    if (net) free_network(net);
    free_paths(names, nn);
    data_cfg_free(&d);
    return status;
}
