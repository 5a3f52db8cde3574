/* import.c: what `ohem import voc` and `ohem import coco` share: the class list,
 * images and boxes in pixels, and the writer of Darknet's layout (import.h). */
#include "import.h"
#include "cli.h"
#include "files.h"
#include "dn_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP FILES_PATH_CAP
/* A box keeps at least this share of the image's width and height, so that its
 * label, printed with 6 decimals, has a size above 0. */
#define MIN_SIDE 2e-6
/* Warnings printed per reason; the rest are counted in the summary. */
#define WARN_MAX 10

static const char *const reason_text[IMPORT_NREASONS] = {
    "boxes clipped to the image", "boxes skipped (empty inside the image)",
    "images whose annotated size differs from the file's", "images copied (a link could not be made)"};

void importer_init(importer *im, const char *out, const char *name)
{
    memset(im, 0, sizeof(*im));
    im->out = out;
    im->name = name;
}

static void list_free(import_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->images[i].src);
        free(l->images[i].sub);
        free(l->images[i].name);
        free(l->images[i].boxes);
    }
    free(l->images);
    memset(l, 0, sizeof(*l));
}

void importer_free(importer *im)
{
    if (!im) return;
    for (int k = 0; k < im->classes; k++) free(im->names[k]);
    free(im->names);
    list_free(&im->train);
    list_free(&im->valid);
    im->names = NULL;
    im->classes = 0;
}

/* Prints a warning for reason, the first WARN_MAX of each, and counts it. */
static void warn(importer *im, int reason, const char *fmt, ...)
{
    if (im->count[reason]++ >= WARN_MAX) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "warning: ");
    vfprintf(stderr, fmt, ap);
    if (im->count[reason] == WARN_MAX) fprintf(stderr, " (further such warnings are only counted)");
    fprintf(stderr, "\n");
    va_end(ap);
}

int import_class(importer *im, const char *name)
{
    for (int k = 0; k < im->classes; k++)
        if (!strcmp(im->names[k], name)) return k;
    if (im->fixed) return -1;
    if (im->classes == im->cap) {
        int cap = im->cap ? 2 * im->cap : 32;
        char **p = realloc(im->names, cap * sizeof(char *));
        if (!p) return -1;
        im->names = p;
        im->cap = cap;
    }
    if (!(im->names[im->classes] = strdup(name))) return -1;
    return im->classes++;
}

int import_read_names(importer *im, const char *path)
{
    char **names;
    int n = read_list(path, "-names", &names);
    if (n < 0) return -1;
    for (int k = 0; k < n; k++)
        for (int j = 0; j < k; j++)
            if (!strcmp(names[j], names[k])) {
                fprintf(stderr, "error: %s: the class '%s' is named twice\n", path, names[k]);
                free_paths(names, n);
                return -1;
            }
    im->names = names;
    im->classes = im->cap = n;
    im->fixed = 1;
    return 0;
}

static char **sort_names;

static int by_name(const void *a, const void *b)
{
    return strcmp(sort_names[*(const int *)a], sort_names[*(const int *)b]);
}

static void renumber(import_list *l, const int *to)
{
    for (int i = 0; i < l->n; i++)
        for (int b = 0; b < l->images[i].nboxes; b++) l->images[i].boxes[b].cls = to[l->images[i].boxes[b].cls];
}

void import_sort_classes(importer *im)
{
    int n = im->classes;
    int *order = malloc((n + 1) * sizeof(int)), *to = malloc((n + 1) * sizeof(int));
    char **names = malloc((n + 1) * sizeof(char *));
    if (!order || !to || !names) {
        free(order), free(to), free(names);
        return; /* left in first-seen order: still a consistent numbering */
    }
    for (int k = 0; k < n; k++) order[k] = k;
    sort_names = im->names;
    qsort(order, n, sizeof(int), by_name);
    for (int k = 0; k < n; k++) {
        to[order[k]] = k;
        names[k] = im->names[order[k]];
    }
    renumber(&im->train, to);
    renumber(&im->valid, to);
    free(im->names);
    im->names = names;
    im->cap = n;
    free(order);
    free(to);
}

int import_join(char *out, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/') la--;
    int n = snprintf(out, cap, "%.*s/%s", (int)la, a, b);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

import_image *import_add_image(importer *im, import_list *list, const char *src, const char *sub,
                               const char *name, int want_w, int want_h, const char *where)
{
    int w, h, comp;
    char abs[PATH_MAX];
    if (!realpath(src, abs)) {
        fprintf(stderr, "error: %s: the image %s is missing: %s\n", where, src, strerror(errno));
        return NULL;
    }
    if (!stbi_info(abs, &w, &h, &comp) || w < 1 || h < 1) {
        fprintf(stderr, "error: %s: the image %s cannot be read as an image (JPEG, PNG, BMP, ...)\n", where, src);
        return NULL;
    }
    if ((want_w > 0 || want_h > 0) && (want_w != w || want_h != h))
        warn(im, IMPORT_SIZE, "%s: the annotation says %dx%d but %s is %dx%d; the file's size is used", where, want_w,
             want_h, src, w, h);
    if (list->n == list->cap) {
        int cap = list->cap ? 2 * list->cap : 256;
        import_image *p = realloc(list->images, cap * sizeof(*p));
        if (!p) goto nomem;
        list->images = p;
        list->cap = cap;
    }
    import_image *img = &list->images[list->n];
    memset(img, 0, sizeof(*img));
    img->src = strdup(abs);
    img->sub = strdup(sub);
    img->name = strdup(name);
    img->w = w;
    img->h = h;
    if (!img->src || !img->sub || !img->name) {
        free(img->src), free(img->sub), free(img->name);
        goto nomem;
    }
    list->n++;
    return img;
nomem:
    fprintf(stderr, "error: %s: out of memory\n", where);
    return NULL;
}

int import_add_box(importer *im, import_image *img, int cls, double x0, double y0, double x1, double y1,
                   int ignore, const char *where)
{
    double W = img->w, H = img->h;
    double cx0 = x0 < 0 ? 0 : x0, cy0 = y0 < 0 ? 0 : y0;
    double cx1 = x1 > W ? W : x1, cy1 = y1 > H ? H : y1;
    if ((cx1 - cx0) / W < MIN_SIDE || (cy1 - cy0) / H < MIN_SIDE) {
        warn(im, IMPORT_EMPTY, "%s: the box [%g, %g] x [%g, %g] (pixels from the top-left) leaves nothing inside the "
             "%dx%d image; skipped", where, x0, x1, y0, y1, img->w, img->h);
        return 0;
    }
    if (cx0 != x0 || cy0 != y0 || cx1 != x1 || cy1 != y1)
        warn(im, IMPORT_CLIPPED, "%s: the box [%g, %g] x [%g, %g] (pixels from the top-left) sticks out of the %dx%d "
             "image; clipped", where, x0, x1, y0, y1, img->w, img->h);
    if (img->nboxes == img->cap) {
        int cap = img->cap ? 2 * img->cap : 8;
        import_box *p = realloc(img->boxes, cap * sizeof(*p));
        if (!p) {
            fprintf(stderr, "error: %s: out of memory\n", where);
            return -1;
        }
        img->boxes = p;
        img->cap = cap;
    }
    img->boxes[img->nboxes++] = (import_box){cls, cx0, cy0, cx1, cy1, ignore};
    return 0;
}

/* ---- files ---------------------------------------------------------------------- */

/* Copies the file src to dst through a temporary name. -1 after an error. */
static int copy_file(const char *src, const char *dst)
{
    char tmp[PATH_CAP], buf[1 << 16];
    FILE *in = fopen(src, "rb");
    if (!in) {
        fprintf(stderr, "error: %s: cannot read: %s\n", src, strerror(errno));
        return -1;
    }
    FILE *out = files_tmp_open(dst, tmp);
    if (!out) {
        fclose(in);
        return -1;
    }
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, got, out) != got) break;
    int bad_in = ferror(in);
    fclose(in);
    if (bad_in) {
        fprintf(stderr, "error: %s: cannot read\n", src);
        fclose(out);
        remove(tmp);
        return -1;
    }
    return files_tmp_commit(out, tmp, dst);
}

/* Puts the image src at dst: a symbolic link, or a copy when asked for or when no
 * link can be made there (a file system without them). An earlier file at dst is
 * replaced. -1 after an error. */
static int place_image(importer *im, const char *src, const char *dst)
{
    struct stat st;
    if (lstat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "error: %s: a directory is in the way of the image\n", dst);
        return -1;
    }
    if (!im->copy) {
        char have[PATH_CAP];
        ssize_t n = readlink(dst, have, sizeof(have) - 1);
        if (n >= 0 && (have[n] = 0, !strcmp(have, src))) return 0; /* already there */
        unlink(dst);
        if (symlink(src, dst) == 0) return 0;
        if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS) {
            fprintf(stderr, "error: %s: cannot link to %s: %s\n", dst, src, strerror(errno));
            return -1;
        }
        warn(im, IMPORT_COPIED, "%s: cannot link (%s); copied", dst, strerror(errno));
    } else {
        unlink(dst);
    }
    return copy_file(src, dst);
}

/* Writes the boxes of img with ignore == which as Darknet labels to path. */
static int write_labels(const import_image *img, int which, const char *path)
{
    char tmp[PATH_CAP];
    FILE *f = files_tmp_open(path, tmp);
    if (!f) return -1;
    double W = img->w, H = img->h;
    for (int b = 0; b < img->nboxes; b++) {
        const import_box *x = &img->boxes[b];
        if (x->ignore != which) continue;
        fprintf(f, "%d %.6f %.6f %.6f %.6f\n", x->cls, (x->x0 + x->x1) / (2 * W), (x->y0 + x->y1) / (2 * H),
                (x->x1 - x->x0) / W, (x->y1 - x->y0) / H);
    }
    return files_tmp_commit(f, tmp, path);
}

/* The paths of one image under the absolute output directory out. */
typedef struct {
    char image[PATH_CAP], labels[PATH_CAP], dimage[PATH_CAP], dlabels[PATH_CAP];
} image_paths;

/* Fills p for img and checks that libdarknet's label path of each image path is
 * the label file written (its replacements hit the first "images", "raw", ... of
 * the whole path). -1 after an error. */
static int image_paths_of(const char *out, const import_image *img, image_paths *p)
{
    char stem[PATH_CAP], want[PATH_CAP];
    snprintf(stem, sizeof(stem), "%s", img->name);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = 0;
    int bad = snprintf(p->image, PATH_CAP, "%s/images/%s/%s", out, img->sub, img->name) >= PATH_CAP;
    bad |= snprintf(p->labels, PATH_CAP, "%s/labels/%s/%s.txt", out, img->sub, stem) >= PATH_CAP;
    bad |= snprintf(p->dimage, PATH_CAP, "%s/images_difficult/%s/%s", out, img->sub, img->name) >= PATH_CAP;
    bad |= snprintf(p->dlabels, PATH_CAP, "%s/labels_difficult/%s/%s.txt", out, img->sub, stem) >= PATH_CAP;
    if (bad || cli_check_path("an output path", p->dimage) || cli_check_path("an output path", p->dlabels)) {
        fprintf(stderr, "error: %s: the output path of %s is too long\n", out, img->src);
        return -1;
    }
    const char *pairs[2][2] = {{p->image, p->labels}, {p->dimage, p->dlabels}};
    for (int k = 0; k < 2; k++) {
        label_path(pairs[k][0], want, sizeof(want));
        if (strcmp(want, pairs[k][1])) {
            fprintf(stderr, "error: %s: Darknet would look for the labels of this image in %s, not in %s "
                    "(hint: Darknet knows the extensions .jpg .png .JPG .JPEG, and the output directory's path must "
                    "have no 'images', 'JPEGImages' or 'raw' in it)\n", pairs[k][0], want, pairs[k][1]);
            return -1;
        }
    }
    return 0;
}

/* Writes every image of list (image, labels, difficult labels) and the image list
 * out/NAME.txt, and with difficult set, the parallel list out/difficult.txt. */
static int write_list(importer *im, const char *out, const import_list *l, const char *name, int difficult,
                      const char *progress)
{
    char path[PATH_CAP], tmp[PATH_CAP], dpath[PATH_CAP], dtmp[PATH_CAP], last_sub[PATH_CAP] = "";
    snprintf(path, sizeof(path), "%s/%s.txt", out, name);
    snprintf(dpath, sizeof(dpath), "%s/difficult.txt", out);
    FILE *f = files_tmp_open(path, tmp), *df = NULL;
    if (!f) return -1;
    if (difficult && !(df = files_tmp_open(dpath, dtmp))) {
        fclose(f);
        remove(tmp);
        return -1;
    }
    int bad = 0;
    for (int i = 0; i < l->n && !bad; i++) {
        const import_image *img = &l->images[i];
        image_paths p;
        if (image_paths_of(out, img, &p)) {
            bad = 1;
            break;
        }
        if (strcmp(last_sub, img->sub)) {
            static const char *const dirs[] = {"images", "labels", "labels_difficult"};
            char dir[PATH_CAP];
            for (int k = 0; k < 3 && !bad; k++) {
                snprintf(dir, sizeof(dir), "%s/%s/%s", out, dirs[k], img->sub);
                bad = files_make_dirs(dir);
            }
            snprintf(last_sub, sizeof(last_sub), "%s", img->sub);
            if (bad) break;
        }
        bad = place_image(im, img->src, p.image) || write_labels(img, 0, p.labels) || write_labels(img, 1, p.dlabels);
        fprintf(f, "%s\n", p.image);
        if (df) fprintf(df, "%s\n", p.dimage);
        if (!im->quiet && (i % 500 == 499 || i == l->n - 1)) fprintf(stderr, "\r%s: %d/%d", progress, i + 1, l->n);
    }
    if (!im->quiet && l->n) fprintf(stderr, "\n");
    if (bad) {
        fclose(f);
        remove(tmp);
        if (df) fclose(df), remove(dtmp);
        return -1;
    }
    if (files_tmp_commit(f, tmp, path)) {
        if (df) fclose(df), remove(dtmp);
        return -1;
    }
    return df ? files_tmp_commit(df, dtmp, dpath) : 0;
}

/* Writes out/NAME.names and out/NAME.data; the .data path goes to data. */
static int write_meta(const importer *im, const char *out, char *data)
{
    char path[PATH_CAP + 64], tmp[PATH_CAP];
    snprintf(path, sizeof(path), "%s/%s.names", out, im->name);
    FILE *f = files_tmp_open(path, tmp);
    if (!f) return -1;
    for (int k = 0; k < im->classes; k++) fprintf(f, "%s\n", im->names[k]);
    if (files_tmp_commit(f, tmp, path)) return -1;
    snprintf(data, PATH_CAP + 64, "%s/%s.data", out, im->name);
    if (!(f = files_tmp_open(data, tmp))) return -1;
    fprintf(f, "classes=%d\ntrain=%s/train.txt\nvalid=%s/%s.txt\nnames=%s\nbackup=%s/backup/\ndifficult=%s/difficult.txt\n",
            im->classes, out, out, im->valid_is_train ? "train" : "valid", path, out, out);
    return files_tmp_commit(f, tmp, data);
}

/* Boxes per class of a list: train[k] and ignored[k]; images without any box. */
static int tally(const import_list *l, long *boxes, long *ignored)
{
    int negatives = 0;
    for (int i = 0; i < l->n; i++) {
        int kept = 0;
        for (int b = 0; b < l->images[i].nboxes; b++) {
            const import_box *x = &l->images[i].boxes[b];
            if (x->ignore) ignored[x->cls]++;
            else boxes[x->cls]++, kept++;
        }
        negatives += !kept;
    }
    return negatives;
}

/* The summary on stdout: images, boxes per class, what was skipped and why. */
static void print_summary(const importer *im)
{
    long *c = calloc(4 * (size_t)im->classes + 1, sizeof(long));
    if (!c) return;
    long *tb = c, *ti = c + im->classes, *vb = c + 2 * im->classes, *vi = c + 3 * im->classes;
    int tneg = tally(&im->train, tb, ti), vneg = im->valid_is_train ? tneg : tally(&im->valid, vb, vi);
    if (im->valid_is_train) memcpy(vb, tb, 2 * im->classes * sizeof(long));
    printf("images: %d train (%d without boxes), %d valid (%d without boxes)%s\n", im->train.n, tneg,
           im->valid_is_train ? im->train.n : im->valid.n, vneg, im->valid_is_train ? ", the training images" : "");
    printf("%-20s %9s %9s %9s %9s\n", "class", "train", "train-ign", "valid", "valid-ign");
    long sum[4] = {0};
    for (int k = 0; k < im->classes; k++) {
        printf("%-20s %9ld %9ld %9ld %9ld\n", im->names[k], tb[k], ti[k], vb[k], vi[k]);
        sum[0] += tb[k], sum[1] += ti[k], sum[2] += vb[k], sum[3] += vi[k];
    }
    printf("%-20s %9ld %9ld %9ld %9ld\n", "total", sum[0], sum[1], sum[2], sum[3]);
    printf("ignored (-ign): %s, not trained on; detector map counts a detection on them as neither hit nor miss\n",
           !strcmp(im->name, "coco") ? "crowd regions (iscrowd=1)" : "objects marked difficult");
    for (int r = 0; r < IMPORT_NREASONS; r++)
        if (im->count[r]) printf("%s: %ld\n", reason_text[r], im->count[r]);
    free(c);
}

int import_write(importer *im)
{
    char out[PATH_MAX], data[PATH_CAP + 64];
    if (!im->out || !*im->out || cli_check_path("OUTDIR", im->out)) return -1;
    if (im->classes < 1) {
        fprintf(stderr, "error: no object found in any annotation: no class to train\n");
        return -1;
    }
    if (im->train.n < 1) {
        fprintf(stderr, "error: no training image\n");
        return -1;
    }
    if (!im->valid_is_train && im->valid.n < 1) {
        fprintf(stderr, "error: no validation image\n");
        return -1;
    }
    /* the label lookup checked before anything is created, on the absolute path as
     * it will most likely be (realpath needs the directory; checked again after) */
    char cwd[PATH_CAP], guess[2 * PATH_CAP + 2];
    if (im->out[0] != '/' && !getcwd(cwd, sizeof(cwd))) snprintf(cwd, sizeof(cwd), ".");
    snprintf(guess, sizeof(guess), "%s%s%s", im->out[0] == '/' ? "" : cwd, im->out[0] == '/' ? "" : "/", im->out);
    for (int k = 0; k < 2; k++) {
        const import_list *l = k ? &im->valid : &im->train;
        image_paths p;
        for (int i = 0; i < l->n; i++)
            if (image_paths_of(guess, &l->images[i], &p)) return -1;
    }
    if (files_make_dirs(im->out)) return -1;
    if (!realpath(im->out, out)) {
        fprintf(stderr, "error: %s: %s\n", im->out, strerror(errno));
        return -1;
    }
    if (cli_check_path("OUTDIR's absolute path", out)) return -1;
    char backup[PATH_CAP];
    if (import_join(backup, sizeof(backup), out, "backup") || files_make_dirs(backup)) return -1;
    if (write_list(im, out, &im->train, "train", im->valid_is_train, "train images")) return -1;
    if (!im->valid_is_train && write_list(im, out, &im->valid, "valid", 1, "valid images")) return -1;
    if (write_meta(im, out, data)) return -1;
    print_summary(im);
    printf("%s\n", data);
    return 0;
}

/* ---- the command ------------------------------------------------------------------ */

int import_main(int argc, char **argv)
{
    static const char *usage = "usage: ./darknet ohem import voc VOCDEVKIT OUTDIR [-train 2007/trainval,2012/trainval] "
                               "[-valid 2007/test] [-names FILE] [-copy] [-quiet]\n"
                               "       ./darknet ohem import coco OUTDIR -train INSTANCES.json IMAGEDIR "
                               "[-valid INSTANCES.json IMAGEDIR] [-copy] [-quiet]\n";
    if (argc < 1 || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
        if (argc < 1) fprintf(stderr, "error: the format is missing (voc or coco)\n");
        fputs(usage, stderr);
        return argc < 1 ? CLI_USAGE : 0;
    }
    if (!strcmp(argv[0], "voc")) return import_voc_main(argc - 1, argv + 1);
    if (!strcmp(argv[0], "coco")) return import_coco_main(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown format '%s' (expected voc or coco)\n", argv[0]);
    fputs(usage, stderr);
    return CLI_USAGE;
}
