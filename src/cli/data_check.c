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
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "error: %s: cannot open the .data file: %s\n", path, strerror(errno));
        return -1;
    }
    d->path = strdup(path);
    char *line;
    int lineno = 0, bad = 0, classes_line = 0;
    while (!bad && (line = get_line(f))) {
        lineno++;
        char *s = trim(line);
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
                        : !strcmp(key, "names") ? &d->names : !strcmp(key, "backup") ? &d->backup : NULL;
            if (slot) {
                free(*slot);
                *slot = strdup(val);
            } else if (!strcmp(key, "classes")) {
                char *end;
                errno = 0;
                long c = strtol(val, &end, 10);
                if (end == val || *end || errno || c < 1 || c > 100000) {
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
    memset(d, 0, sizeof(*d));
}

int read_names(const char *path, int classes, char ***names)
{
    int n = read_list(path, names);
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

int read_list(const char *path, char ***paths)
{
    FILE *f = fopen(path, "r");
    *paths = NULL;
    if (!f) {
        fprintf(stderr, "error: %s: cannot open the image list: %s\n", path, strerror(errno));
        return -1;
    }
    int n = 0, cap = 0;
    char *line;
    while ((line = get_line(f))) {
        char *s = trim(line);
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
        fprintf(stderr, "error: %s: the image list is empty\n", path);
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

int read_labels(const char *path, int classes, float **out, int *n)
{
    FILE *f = fopen(path, "r");
    *out = NULL;
    *n = 0;
    if (!f) {
        fprintf(stderr, "error: %s: cannot open the label file: %s\n", path, strerror(errno));
        return 1;
    }
    int bad = 0, lineno = 0, cap = 0;
    char *line;
    while ((line = get_line(f)) && bad < 5) {
        lineno++;
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

/* Checks one label file; returns the number of problems printed. */
static int check_labels(const char *path, int classes)
{
    float *boxes;
    int n;
    int bad = read_labels(path, classes, &boxes, &n);
    free(boxes);
    return bad;
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

int check_dataset(char **paths, int n, int classes, int quiet)
{
    int bad = 0;
    char lab[4096];
    for (int i = 0; i < n && bad < 20; i++) {
        int w, h, c;
        unsigned char *px = stbi_load(paths[i], &w, &h, &c, 3);
        if (!px) {
            fprintf(stderr, "error: %s: the image is missing or does not decode\n", paths[i]);
            bad++;
        } else {
            stbi_image_free(px);
        }
        label_path(paths[i], lab, sizeof(lab));
        if (!strcmp(lab, paths[i])) {
            fprintf(stderr, "error: %s: no label path follows from it (hint: images/NAME.jpg has its labels in labels/NAME.txt)\n", paths[i]);
            bad++;
        } else {
            bad += check_labels(lab, classes);
        }
        if (!quiet && (i % 500 == 499 || i == n - 1)) fprintf(stderr, "\rchecking data: %d/%d", i + 1, n);
    }
    if (!quiet) fprintf(stderr, "\n");
    if (bad >= 20) fprintf(stderr, "error: stopped checking after 20 problems\n");
    return bad;
}
