/* data_check.c: .data files, image lists and labels, checked before training:
 * libdarknet's loader exits with status 0 from a thread on a missing label and
 * trains on a blank image for a missing one. */
#include "cli.h"
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

unsigned char *stbi_load(char const *filename, int *x, int *y, int *comp, int req_comp);
void stbi_image_free(void *retval_from_stbi_load);

/* Reads one line without its end (LF or CRLF); NULL at end of file. */
static char *get_line(FILE *f)
{
    char *s = ohem_read_line(f);
    size_t len = s ? strlen(s) : 0;
    if (len && s[len - 1] == '\r') s[len - 1] = 0;
    return s;
}

/* Ends an error line about path: where the path was written (from, when known)
 * and, for a relative path that does not exist, the working directory it was
 * resolved against, which is where Darknet resolves every path of a .data file and
 * a list. */
static void end_error(const char *path, const char *from)
{
    char cwd[4096];
    struct stat st;
    int relative = path[0] != '/' && stat(path, &st) != 0;
    if (relative && !getcwd(cwd, sizeof(cwd))) snprintf(cwd, sizeof(cwd), "(unknown: %s)", strerror(errno));
    if (from && relative) fprintf(stderr, " (%s; a relative path is resolved against the working directory %s)\n", from, cwd);
    else if (from) fprintf(stderr, " (%s)\n", from);
    else if (relative) fprintf(stderr, " (a relative path, resolved against the working directory %s)\n", cwd);
    else fprintf(stderr, "\n");
}

/* Opens path as what, or prints why not (missing, unreadable, a directory) with
 * end_error and returns NULL. */
static FILE *open_checked(const char *path, const char *what, const char *from)
{
    ohem_err e;
    FILE *f = ohem_open_file(path, "r", what, &e);
    if (!f) {
        fprintf(stderr, "error: %s", e.msg);
        end_error(path, from);
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
    FILE *f = open_checked(path, ".data file", NULL);
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

int read_list(const char *path, const char *from, char ***paths)
{
    *paths = NULL;
    FILE *f = open_checked(path, "image list", from);
    if (!f) return -1;
    int n = 0, cap = 0, lineno = 0;
    char *line;
    while ((line = get_line(f))) {
        char *s = trim(line + (++lineno == 1 ? ohem_utf8_bom(line) : 0));
        if (!*s) {
            free(line);
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            char **np = realloc(*paths, cap * sizeof(char *));
            if (!np) break;
            *paths = np;
        }
        (*paths)[n++] = strdup(s);
        free(line);
    }
    fclose(f);
    if (n == 0) {
        fprintf(stderr, "error: %s: the image list is empty", path);
        end_error(path, from);
        free(*paths);
        *paths = NULL;
        return -1;
    }
    return n;
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

/* read_labels, with where the label path comes from for an error that it cannot
 * be opened. */
static int read_labels_from(const char *path, const char *from, int classes, float **out, int *n)
{
    *out = NULL;
    *n = 0;
    FILE *f = open_checked(path, "label file", from);
    if (!f) return 1;
    int bad = 0, lineno = 0, cap = 0;
    char *line;
    while ((line = get_line(f)) && bad < 5) {
        lineno++;
        if (lineno == 1 && ohem_utf8_bom(line)) {
            /* libdarknet's loader reads labels with fscanf("%d ..."), which stops at
             * the mark: the image would train with no box at all. */
            fprintf(stderr, "error: %s:1: the file starts with a UTF-8 byte-order mark, and libdarknet's loader would read no box from it "
                            "(hint: save it without one, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' FILE)\n", path);
            bad++;
            break;
        }
        char *s = trim(line);
        if (!*s) {
            free(line);
            continue;
        }
        char *tok[6] = {0};
        int nt = 0;
        for (char *t = strtok(s, " \t"); t && nt < 6; t = strtok(NULL, " \t")) tok[nt++] = t;
        float v[5];
        int line_bad = 0;
        if (nt != 5) {
            fprintf(stderr, "error: %s:%d: expected 5 fields (class x y w h), found %d\n", path, lineno, nt);
            line_bad++;
        } else {
            char *end;
            errno = 0;
            long c = strtol(tok[0], &end, 10);
            if (end == tok[0] || *end || errno || c < 0 || c >= classes) {
                fprintf(stderr, "error: %s:%d: class '%s' is not an integer in 0..%d\n", path, lineno, tok[0], classes - 1);
                line_bad++;
            }
            v[0] = (float)c;
            static const char *const names[] = {"x", "y", "w", "h"};
            for (int k = 1; k < 5; k++) {
                v[k] = strtof(tok[k], &end);
                if (end == tok[k] || *end || !isfinite(v[k]) || v[k] <= 0 || v[k] > 1) {
                    fprintf(stderr, "error: %s:%d: %s = '%s' is not a number in (0,1]\n", path, lineno, names[k - 1], tok[k]);
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
            if (!no) break;
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
    return read_labels_from(path, NULL, classes, out, n);
}

/* Checks one label file; returns the number of problems printed. */
static int check_labels(const char *path, const char *from, int classes)
{
    float *boxes;
    int n;
    int bad = read_labels_from(path, from, classes, &boxes, &n);
    free(boxes);
    return bad;
}

/* The line of list that holds its index-th path, counted as read_list counts; 0
 * when the list cannot be read again. */
static int list_line(const char *list, int index)
{
    FILE *f = fopen(list, "r");
    if (!f) return 0;
    int lineno = 0, seen = -1;
    char *line;
    while (seen < index && (line = get_line(f))) {
        lineno++;
        seen += *trim(line + (lineno == 1 ? ohem_utf8_bom(line) : 0)) != 0;
        free(line);
    }
    fclose(f);
    return seen == index ? lineno : 0;
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

int check_dataset(const char *list, char **paths, int n, int classes, int quiet)
{
    int bad = 0;
    char lab[4096], from[8500];
    for (int i = 0; i < n && bad < 20; i++) {
        int w, h, c;
        struct stat st;
        unsigned char *px = stbi_load(paths[i], &w, &h, &c, 3);
        snprintf(from, sizeof(from), "line %d of %s", list_line(list, i), list);
        if (!px) {
            if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
                fprintf(stderr, "error: %s: is a directory, where an image should be", paths[i]);
            else
                fprintf(stderr, "error: %s: the image is missing or does not decode", paths[i]);
            end_error(paths[i], from);
            bad++;
        } else {
            stbi_image_free(px);
        }
        label_path(paths[i], lab, sizeof(lab));
        if (!strcmp(lab, paths[i])) {
            fprintf(stderr, "error: %s: no label path follows from it (hint: images/NAME.jpg has its labels in labels/NAME.txt)", paths[i]);
            end_error(paths[i], from);
            bad++;
        } else {
            snprintf(from, sizeof(from), "the labels of %s, line %d of %s", paths[i], list_line(list, i), list);
            bad += check_labels(lab, from, classes);
        }
        if (!quiet && (i % 500 == 499 || i == n - 1)) fprintf(stderr, "\rchecking data: %d/%d", i + 1, n);
    }
    if (!quiet) fprintf(stderr, "\n");
    if (bad >= 20) fprintf(stderr, "error: stopped checking after 20 problems\n");
    return bad;
}
