/* data_check.c: .data files, image lists and labels, checked before training,
 * evaluation and detection over a list: libdarknet's loader exits with status 0
 * from a thread on a missing label and trains on a blank image for a missing one.
 * The list is read once; its images and label files are then checked in parallel
 * on the kernels' thread pool, and the problems printed in list order. */
#define _GNU_SOURCE
#include "cli.h"
#include "cfg.h"
#include "pool.h"
#include "dn_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Reads one line without its end (LF or CRLF); NULL at end of file. */
static char *get_line(FILE *f)
{
    char *s = ohem_read_line(f);
    size_t len = s ? strlen(s) : 0;
    if (len && s[len - 1] == '\r') s[len - 1] = 0;
    return s;
}

/* Ends an error line about path on err: where the path was written (from, when
 * known) and, for a relative path that does not exist, the working directory it was
 * resolved against, which is where Darknet resolves every path of a .data file and
 * a list. */
static void end_error(FILE *err, const char *path, const char *from)
{
    char cwd[4096];
    struct stat st;
    int relative = path[0] != '/' && stat(path, &st) != 0;
    if (relative && !getcwd(cwd, sizeof(cwd))) snprintf(cwd, sizeof(cwd), "(unknown: %s)", strerror(errno));
    if (from && relative) fprintf(err, " (%s; a relative path is resolved against the working directory %s)\n", from, cwd);
    else if (from) fprintf(err, " (%s)\n", from);
    else if (relative) fprintf(err, " (a relative path, resolved against the working directory %s)\n", cwd);
    else fprintf(err, "\n");
}

/* Opens path as what, or prints on err why not (missing, unreadable, a directory)
 * with end_error and returns NULL. */
static FILE *open_checked(FILE *err, const char *path, const char *what, const char *from)
{
    ohem_err e;
    FILE *f = ohem_open_file(path, "r", what, &e);
    if (!f) {
        fprintf(err, "error: %s", e.msg);
        end_error(err, path, from);
    }
    return f;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

int data_cfg_read(const char *path, data_cfg *d)
{
    memset(d, 0, sizeof(*d));
    FILE *f = open_checked(stderr, path, ".data file", NULL);
    if (!f) return -1;
    d->path = strdup(path);
    char *line;
    int lineno = 0, bad = 0, classes_line = 0;
    while (!bad && (line = get_line(f))) {
        lineno++;
        char *s = trim(line + (lineno == 1 ? ohem_utf8_bom(line) : 0));
        if (!*s || *s == '#' || *s == ';') {
            free(line);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "error: %s:%d: '%s' is not key=value\n", path, lineno, s);
            bad = 1;
        } else {
            *eq = 0;
            char *key = trim(s), *val = trim(eq + 1);
            char **slot = !strcmp(key, "train") ? &d->train : !strcmp(key, "valid") ? &d->valid
                        : !strcmp(key, "names") ? &d->names : !strcmp(key, "backup") ? &d->backup
                        : !strcmp(key, "difficult") ? &d->difficult : NULL;
            char **from = !strcmp(key, "train") ? &d->train_from : !strcmp(key, "valid") ? &d->valid_from
                        : !strcmp(key, "names") ? &d->names_from : !strcmp(key, "difficult") ? &d->difficult_from : NULL;
            if (from) {
                char buf[4200];
                snprintf(buf, sizeof(buf), "%s= on line %d of %s", key, lineno, path);
                free(*from);
                *from = strdup(buf);
            }
            if (slot) {
                free(*slot);
                *slot = strdup(val);
            } else if (!strcmp(key, "classes")) {
                char *end;
                errno = 0;
                long c = strtol(val, &end, 10);
                while (isspace((unsigned char)*end)) end++; /* classes=3 # as libdarknet's atoi reads it */
                if (end == val || (*end && *end != '#') || errno || c < 1 || c > 100000) {
                    fprintf(stderr, "error: %s:%d: classes=%s: expected an integer >= 1\n", path, lineno, val);
                    bad = 1;
                }
                d->classes = (int)c;
                classes_line = lineno;
            }
            /* Other keys (eval, results, map, ...) belong to other Darknet commands. */
        }
        free(line);
    }
    fclose(f);
    if (!bad && !classes_line) {
        fprintf(stderr, "error: %s: the key 'classes' is missing (hint: classes=N)\n", path);
        bad = 1;
    }
    if (!bad && !d->train) {
        fprintf(stderr, "error: %s: the key 'train' is missing (hint: train=path/to/train.txt)\n", path);
        bad = 1;
    }
    if (!bad && !d->backup) d->backup = strdup("backup");
    if (!bad) {
        size_t len = strlen(d->backup);
        while (len > 1 && d->backup[len - 1] == '/') d->backup[--len] = 0;
    }
    if (bad) data_cfg_free(d);
    return bad ? -1 : 0;
}

void data_cfg_free(data_cfg *d)
{
    if (!d) return;
    free(d->path);
    free(d->train);
    free(d->valid);
    free(d->names);
    free(d->backup);
    free(d->train_from);
    free(d->valid_from);
    free(d->names_from);
    free(d->difficult);
    free(d->difficult_from);
    memset(d, 0, sizeof(*d));
}

int read_names(const char *path, const char *from, int classes, char ***names)
{
    int n = read_list(path, from, names);
    if (n < 0) return -1;
    if (n < classes) {
        fprintf(stderr, "error: %s: %d names for %d classes (hint: one name a line)\n", path, n, classes);
        free_paths(*names, n);
        *names = NULL;
        return -1;
    }
    return n;
}

void path_stem(const char *path, char *out, size_t cap)
{
    const char *b = strrchr(path, '/');
    snprintf(out, cap, "%s", b ? b + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

int read_list_lines(const char *path, const char *from, char ***paths, int **lines)
{
    *paths = NULL;
    if (lines) *lines = NULL;
    FILE *f = open_checked(stderr, path, "image list", from);
    if (!f) return -1;
    int n = 0, cap = 0, lineno = 0, oom = 0;
    char *line;
    while (!oom && (line = get_line(f))) {
        char *s = trim(line + (++lineno == 1 ? ohem_utf8_bom(line) : 0));
        if (*s && n == cap) {
            cap = cap ? 2 * cap : 256;
            char **np = realloc(*paths, cap * sizeof(char *));
            int *nl = lines ? realloc(*lines, cap * sizeof(int)) : NULL;
            if (np) *paths = np;
            if (nl) *lines = nl;
            oom = !np || (lines && !nl);
        }
        if (*s && !oom) {
            if (!((*paths)[n] = strdup(s))) oom = 1;
            else if (lines) (*lines)[n++] = lineno;
            else n++;
        }
        free(line);
    }
    fclose(f);
    if (oom || n == 0) {
        if (oom) fprintf(stderr, "error: %s: out of memory at line %d of the image list", path, lineno);
        else fprintf(stderr, "error: %s: the image list is empty", path);
        end_error(stderr, path, from);
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

int read_list(const char *path, const char *from, char ***paths)
{
    return read_list_lines(path, from, paths, NULL);
}

void free_paths(char **paths, int n)
{
    if (!paths) return;
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

/* Replaces the first "from" in s (of capacity cap) by "to". */
static void replace_once(char *s, size_t cap, const char *from, const char *to)
{
    char *p = strstr(s, from);
    if (!p) return;
    size_t fl = strlen(from), tl = strlen(to), rest = strlen(p + fl);
    if (strlen(s) - fl + tl + 1 > cap) return;
    memmove(p + tl, p + fl, rest + 1);
    memcpy(p, to, tl);
}

void label_path(const char *image, char *out, size_t cap)
{
    /* The replacements libdarknet's fill_truth_detection makes, in its order. */
    static const char *const rules[][2] = {
        {"images", "labels"}, {"JPEGImages", "labels"}, {"raw", "labels"},
        {".jpg", ".txt"}, {".png", ".txt"}, {".JPG", ".txt"}, {".JPEG", ".txt"}};
    snprintf(out, cap, "%s", image);
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) replace_once(out, cap, rules[i][0], rules[i][1]);
}

int read_labels_from(FILE *err, const char *path, const char *from, int classes, float **out, int *n)
{
    *out = NULL;
    *n = 0;
    FILE *f = open_checked(err, path, "label file", from);
    if (!f) return 1;
    int bad = 0, lineno = 0, cap = 0;
    char *line;
    while ((line = get_line(f)) && bad < 5) {
        lineno++;
        if (lineno == 1 && ohem_utf8_bom(line)) {
            /* libdarknet's loader reads labels with fscanf("%d ..."), which stops at
             * the mark: the image would train with no box at all. */
            fprintf(err, "error: %s:1: the file starts with a UTF-8 byte-order mark, and libdarknet's loader would read no box from it "
                         "(hint: save it without one, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' FILE)\n", path);
            bad++;
            break;
        }
        char *s = trim(line);
        if (!*s) {
            free(line);
            continue;
        }
        char *tok[6] = {0}, *save = NULL;
        int nt = 0;
        for (char *t = strtok_r(s, " \t", &save); t && nt < 6; t = strtok_r(NULL, " \t", &save)) tok[nt++] = t;
        float v[5];
        int line_bad = 0;
        if (nt != 5) {
            fprintf(err, "error: %s:%d: expected 5 fields (class x y w h), found %d\n", path, lineno, nt);
            line_bad++;
        } else {
            char *end;
            errno = 0;
            long c = strtol(tok[0], &end, 10);
            if (end == tok[0] || *end || errno || c < 0 || c >= classes) {
                fprintf(err, "error: %s:%d: class '%s' is not an integer in 0..%d\n", path, lineno, tok[0], classes - 1);
                line_bad++;
            }
            v[0] = (float)c;
            static const char *const names[] = {"x", "y", "w", "h"};
            for (int k = 1; k < 5; k++) {
                v[k] = strtof(tok[k], &end);
                if (end == tok[k] || *end || !isfinite(v[k]) || v[k] <= 0 || v[k] > 1) {
                    fprintf(err, "error: %s:%d: %s = '%s' is not a number in (0,1]\n", path, lineno, names[k - 1], tok[k]);
                    line_bad++;
                }
            }
        }
        free(line);
        line = NULL;
        bad += line_bad;
        if (line_bad) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            float *no = realloc(*out, cap * 5 * sizeof(float));
            if (!no) {
                fprintf(err, "error: %s:%d: out of memory for the boxes\n", path, lineno);
                bad++;
                break;
            }
            *out = no;
        }
        memcpy(*out + 5 * (*n)++, v, sizeof(v));
    }
    free(line);
    fclose(f);
    return bad;
}

int read_labels(const char *path, int classes, float **out, int *n)
{
    return read_labels_from(stderr, path, NULL, classes, out, n);
}

image load_image_checked(const char *path, int *ok)
{
    int w, h, c;
    unsigned char *px = stbi_load(path, &w, &h, &c, 3);
    *ok = px != NULL;
    if (!px) return make_image(1, 1, 3);
    image im = make_image(w, h, 3);
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) im.data[k * w * h + y * w + x] = px[(y * w + x) * 3 + k] / 255.0f;
    stbi_image_free(px);
    return im;
}

double cli_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Checks the image at path, written on line `line` of list, and (labels != 0) its
 * label file; prints each problem on err and returns their number. Safe to run
 * from several threads at once. */
static int check_entry(FILE *err, const char *list, const char *path, int line, int classes, int labels)
{
    int bad = 0, w, h, c;
    char lab[4096], from[8500];
    struct stat st;
    unsigned char *px = stbi_load(path, &w, &h, &c, 3);
    snprintf(from, sizeof(from), "line %d of %s", line, list);
    if (!px) {
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            fprintf(err, "error: %s: is a directory, where an image should be", path);
        else
            fprintf(err, "error: %s: the image is missing or does not decode", path);
        end_error(err, path, from);
        bad++;
    } else {
        stbi_image_free(px);
    }
    if (!labels) return bad;
    label_path(path, lab, sizeof(lab));
    if (!strcmp(lab, path)) {
        fprintf(err, "error: %s: no label path follows from it (hint: images/NAME.jpg has its labels in labels/NAME.txt)", path);
        end_error(err, path, from);
        return bad + 1;
    }
    snprintf(from, sizeof(from), "the labels of %s, line %d of %s", path, line, list);
    float *boxes;
    int n;
    bad += read_labels_from(err, lab, from, classes, &boxes, &n);
    free(boxes);
    return bad;
}

/* A block of entries [first, first + count) of a list, checked by the pool: what
 * each entry printed (NULL: nothing) and its number of problems, indexed from
 * first. */
typedef struct {
    const char *list;
    char **paths;
    const int *lines;
    int classes, labels, first;
    char **msg;
    int *bad;
} check_block;

/* The pool's part: entries [begin, end) of the block, each printing into a buffer
 * of its own so that the problems can be printed in list order afterwards. */
static void check_part(void *ctx, long begin, long end)
{
    check_block *b = ctx;
    for (long k = begin; k < end; k++) {
        int i = b->first + (int)k;
        size_t len = 0;
        b->msg[k] = NULL;
        FILE *err = open_memstream(&b->msg[k], &len);
        b->bad[k] = check_entry(err ? err : stderr, b->list, b->paths[i], b->lines[i], b->classes, b->labels);
        if (err) fclose(err);
        if (!len) {
            free(b->msg[k]);
            b->msg[k] = NULL;
        }
    }
}

/* "42 s", "3 min 05 s", "1 h 02 min" */
static void format_duration(double s, char *out, size_t cap)
{
    long t = (long)(s + 0.5);
    if (t < 60) snprintf(out, cap, "%ld s", t);
    else if (t < 3600) snprintf(out, cap, "%ld min %02ld s", t / 60, t % 60);
    else snprintf(out, cap, "%ld h %02ld min", t / 3600, t / 60 % 60);
}

/* The progress line on stderr, rewritten in place ("\r"): entries checked of
 * total, the rate and the time left, or the time taken once done. */
static void print_progress(int done, int total, double seconds)
{
    double rate = done / (seconds > 1e-9 ? seconds : 1e-9);
    char t[64];
    format_duration(done < total ? (total - done) / rate : seconds, t, sizeof(t));
    fprintf(stderr, "\rchecking data: %d/%d images, %.0f images/s, %s %s", done, total, rate, t,
            done < total ? "left" : "in all");
    if (done == total) fprintf(stderr, "\n");
}

/* The problems an error stops the check at. */
#define CHECK_MAX_PROBLEMS 20
/* The entries of a block: enough to give every thread parts, at most what the
 * buffers hold; in between, about CHECK_BLOCK_SECONDS of work at the rate of the
 * block before, so that the progress line moves and a list with problems near its
 * top stops soon. */
#define CHECK_BLOCK_MIN 64
#define CHECK_BLOCK_MAX 8192
#define CHECK_BLOCK_SECONDS 0.25
/* The progress line appears once a check has run this long. */
#define CHECK_PROGRESS_AFTER 1.0

/* check_dataset and check_images: the entries in blocks, each block's entries in
 * parallel on the pool, then their problems printed in list order until
 * CHECK_MAX_PROBLEMS, as one thread checking the list from the top would. */
static int check_entries(const char *list, char **paths, const int *lines, int n, int classes, int labels, int quiet)
{
    char **msg = malloc(CHECK_BLOCK_MAX * sizeof(char *));
    int *bad = malloc(CHECK_BLOCK_MAX * sizeof(int));
    if (!msg || !bad) {
        free(msg);
        free(bad);
        fprintf(stderr, "error: %s: out of memory for checking the images of the list\n", list);
        return 1;
    }
    int problems = 0, done = 0, block = CHECK_BLOCK_MIN, shown = 0;
    double t0 = cli_seconds(), last = t0;
    while (done < n && problems < CHECK_MAX_PROBLEMS) {
        int count = n - done < block ? n - done : block;
        check_block b = {list, paths, lines, classes, labels, done, msg, bad};
        double tb = cli_seconds();
        ohem_pool_for(count, 2, check_part, &b);
        double now = cli_seconds();
        for (int k = 0; k < count; k++) {
            if (msg[k] && problems < CHECK_MAX_PROBLEMS) {
                if (shown) fprintf(stderr, "\n");
                shown = 0;
                fputs(msg[k], stderr);
            }
            if (problems < CHECK_MAX_PROBLEMS) problems += bad[k];
            free(msg[k]);
        }
        done += count;
        double want = count / (now - tb + 1e-9) * CHECK_BLOCK_SECONDS;
        block = want < CHECK_BLOCK_MIN ? CHECK_BLOCK_MIN : want > CHECK_BLOCK_MAX ? CHECK_BLOCK_MAX : (int)want;
        if (!quiet && now - t0 > CHECK_PROGRESS_AFTER && (now - last > 0.2 || done == n)) {
            print_progress(done, n, now - t0);
            shown = done < n;
            last = now;
        }
    }
    if (shown) fprintf(stderr, "\n");
    free(msg);
    free(bad);
    if (problems >= CHECK_MAX_PROBLEMS) fprintf(stderr, "error: stopped checking after %d problems\n", CHECK_MAX_PROBLEMS);
    return problems;
}

int check_dataset(const char *list, char **paths, const int *lines, int n, int classes, int quiet)
{
    return check_entries(list, paths, lines, n, classes, 1, quiet);
}

int check_images(const char *list, char **paths, const int *lines, int n, int quiet)
{
    return check_entries(list, paths, lines, n, 0, 0, quiet);
}
