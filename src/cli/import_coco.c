/* import_coco.c: `ohem import coco`, COCO instances files (jansson) into Darknet's
 * layout.
 *
 * A COCO bbox is [x, y, w, h] in pixels from the image's top-left corner,
 * continuous: the box spans [x, x + w] x [y, y + h]. Category ids become classes
 * 0, 1, ... in increasing id order, named by `categories`. Crowd regions
 * (iscrowd=1) go to the ignored boxes; an image without annotations is kept as a
 * negative (an empty label file). */
#include "cli.h"
#include "import.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CAP 4096

/* A category of the file: its id and name, sorted by id. */
typedef struct {
    json_int_t id;
    const char *name;
} category;

/* An image id and its index in the list, sorted by id. */
typedef struct {
    json_int_t id;
    int index;
} image_id;

static int by_category_id(const void *a, const void *b)
{
    json_int_t x = ((const category *)a)->id, y = ((const category *)b)->id;
    return (x > y) - (x < y);
}

static int by_image_id(const void *a, const void *b)
{
    json_int_t x = ((const image_id *)a)->id, y = ((const image_id *)b)->id;
    return (x > y) - (x < y);
}

/* The array `key` of root, or NULL after an error naming the file. */
static json_t *array_of(json_t *root, const char *key, const char *path)
{
    json_t *a = json_object_get(root, key);
    if (!json_is_array(a)) {
        fprintf(stderr, "error: %s: the top-level key '%s' is %s (hint: an instances_*.json file has 'images', "
                "'annotations' and 'categories')\n", path, key, a ? "not an array" : "missing");
        return NULL;
    }
    return a;
}

/* The integer member `key` of obj into *v. -1 after an error naming where. */
static int int_of(json_t *obj, const char *key, const char *where, json_int_t *v)
{
    json_t *x = json_object_get(obj, key);
    if (!json_is_integer(x)) {
        fprintf(stderr, "error: %s: '%s' is %s, expected an integer\n", where, key, x ? "not an integer" : "missing");
        return -1;
    }
    *v = json_integer_value(x);
    return 0;
}

/* Reads the categories of path sorted by id into *cats. Returns their count, or -1
 * after an error (not an object, a duplicate id, no name). */
static int read_categories(json_t *root, const char *path, category **cats)
{
    json_t *a = array_of(root, "categories", path);
    if (!a) return -1;
    int n = (int)json_array_size(a);
    *cats = calloc(n + 1, sizeof(category));
    if (!*cats) return -1;
    char where[PATH_CAP + 64];
    for (int i = 0; i < n; i++) {
        json_t *c = json_array_get(a, i);
        snprintf(where, sizeof(where), "%s: categories[%d]", path, i);
        json_t *name = json_object_get(c, "name");
        if (!json_is_object(c) || int_of(c, "id", where, &(*cats)[i].id)) goto bad;
        if (!json_is_string(name) || !*json_string_value(name) || strchr(json_string_value(name), '\n')) {
            fprintf(stderr, "error: %s: 'name' is missing, empty or not a one-line string\n", where);
            goto bad;
        }
        (*cats)[i].name = json_string_value(name);
    }
    qsort(*cats, n, sizeof(category), by_category_id);
    for (int i = 1; i < n; i++)
        if ((*cats)[i].id == (*cats)[i - 1].id) {
            fprintf(stderr, "error: %s: the category id %lld is given twice\n", path, (long long)(*cats)[i].id);
            goto bad;
        }
    if (n == 0) {
        fprintf(stderr, "error: %s: 'categories' is empty\n", path);
        goto bad;
    }
    return n;
bad:
    free(*cats);
    *cats = NULL;
    return -1;
}

/* Reads one instances file and its image folder into list (under sub). The first
 * file's categories make the class list; a later file must have the same. -1 after
 * an error naming the file and the image or annotation. */
static int read_instances(importer *im, import_list *list, const char *path, const char *image_dir, const char *sub)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        FILE *f = fopen(path, "r");
        if (!f) fprintf(stderr, "error: %s: cannot read: %s\n", path, strerror(errno));
        else fprintf(stderr, "error: %s:%d:%d: malformed JSON: %s\n", path, err.line, err.column, err.text), fclose(f);
        return -1;
    }
    int rc = -1, ncat = -1, nimg = 0;
    category *cats = NULL;
    image_id *ids = NULL;
    char where[PATH_CAP + 128], src[PATH_CAP];
    json_t *images, *anns;
    if (!json_is_object(root)) {
        fprintf(stderr, "error: %s: the top level is not an object: not a COCO instances file\n", path);
        goto done;
    }
    if (!(images = array_of(root, "images", path)) || !(anns = array_of(root, "annotations", path)) ||
        (ncat = read_categories(root, path, &cats)) < 0)
        goto done;
    if (im->classes == 0) {
        for (int k = 0; k < ncat; k++)
            if (import_class(im, cats[k].name) != k) {
                fprintf(stderr, "error: %s: the category name '%s' is given twice\n", path, cats[k].name);
                goto done;
            }
        im->fixed = 1;
    } else {
        int same = ncat == im->classes;
        for (int k = 0; same && k < ncat; k++) same = !strcmp(cats[k].name, im->names[k]);
        if (!same) {
            fprintf(stderr, "error: %s: its categories differ from the training file's (%d classes, the first '%s'): "
                    "the classes would not match\n", path, im->classes, im->names[0]);
            goto done;
        }
    }
    nimg = (int)json_array_size(images);
    ids = calloc(nimg + 1, sizeof(*ids));
    if (!ids) goto done;
    for (int i = 0; i < nimg; i++) {
        json_t *x = json_array_get(images, i);
        json_t *file = json_object_get(x, "file_name");
        json_int_t w = 0, h = 0;
        snprintf(where, sizeof(where), "%s: images[%d]", path, i);
        if (!json_is_object(x) || int_of(x, "id", where, &ids[i].id)) goto done;
        snprintf(where, sizeof(where), "%s: image %lld", path, (long long)ids[i].id);
        const char *name = json_is_string(file) ? json_string_value(file) : "";
        if (!*name || strchr(name, '/') || strchr(name, '\n')) {
            fprintf(stderr, "error: %s: 'file_name' %s: expected a file name in the image folder\n", where,
                    json_is_string(file) ? name : "is missing");
            goto done;
        }
        if (json_object_get(x, "width") && (int_of(x, "width", where, &w) || int_of(x, "height", where, &h))) goto done;
        ids[i].index = list->n;
        if (import_join(src, sizeof(src), image_dir, name) ||
            !import_add_image(im, list, src, sub, name, (int)w, (int)h, where))
            goto done;
        if (!im->quiet && (i % 500 == 499 || i == nimg - 1)) fprintf(stderr, "\rreading %s: %d/%d images", path, i + 1, nimg);
    }
    if (!im->quiet && nimg) fprintf(stderr, "\n");
    qsort(ids, nimg, sizeof(*ids), by_image_id);
    for (int i = 1; i < nimg; i++)
        if (ids[i].id == ids[i - 1].id) {
            fprintf(stderr, "error: %s: the image id %lld is given twice\n", path, (long long)ids[i].id);
            goto done;
        }
    for (size_t a = 0; a < json_array_size(anns); a++) {
        json_t *x = json_array_get(anns, a);
        json_int_t id, image, cat, crowd = 0;
        snprintf(where, sizeof(where), "%s: annotations[%zu]", path, a);
        if (!json_is_object(x) || int_of(x, "id", where, &id)) goto done;
        snprintf(where, sizeof(where), "%s: annotation %lld", path, (long long)id);
        if (int_of(x, "image_id", where, &image) || int_of(x, "category_id", where, &cat)) goto done;
        if (json_object_get(x, "iscrowd") && int_of(x, "iscrowd", where, &crowd)) goto done;
        if (crowd != 0 && crowd != 1) {
            fprintf(stderr, "error: %s: iscrowd %lld: expected 0 or 1\n", where, (long long)crowd);
            goto done;
        }
        image_id key = {image, 0}, *hit = bsearch(&key, ids, nimg, sizeof(*ids), by_image_id);
        if (!hit) {
            fprintf(stderr, "error: %s: image_id %lld is not among the images\n", where, (long long)image);
            goto done;
        }
        category ckey = {cat, NULL}, *c = bsearch(&ckey, cats, ncat, sizeof(*cats), by_category_id);
        if (!c) {
            fprintf(stderr, "error: %s: category_id %lld is not among the categories (an unknown class)\n", where,
                    (long long)cat);
            goto done;
        }
        json_t *bbox = json_object_get(x, "bbox");
        double v[4];
        int ok = json_is_array(bbox) && json_array_size(bbox) == 4;
        for (int k = 0; ok && k < 4; k++) {
            json_t *e = json_array_get(bbox, k);
            ok = json_is_number(e) && isfinite(v[k] = json_number_value(e));
        }
        if (!ok) {
            fprintf(stderr, "error: %s: 'bbox' is %s, expected [x, y, width, height] in pixels\n", where,
                    bbox ? "not 4 numbers" : "missing");
            goto done;
        }
        if (import_add_box(im, &list->images[hit->index], (int)(c - cats), v[0], v[1], v[0] + v[2], v[1] + v[3],
                           (int)crowd, where))
            goto done;
    }
    rc = 0;
done:
    free(cats);
    free(ids);
    json_decref(root);
    return rc;
}

static const char *usage = "usage: ./darknet ohem import coco OUTDIR -train INSTANCES.json IMAGEDIR "
                           "[-valid INSTANCES.json IMAGEDIR] [-copy] [-quiet]\n";

int import_coco_main(int argc, char **argv)
{
    const char *out = NULL, *train[2] = {0}, *valid[2] = {0};
    importer im;
    int copy = 0, quiet = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stderr);
            return 0;
        }
        if (!strcmp(a, "-copy")) copy = 1;
        else if (!strcmp(a, "-quiet")) quiet = 1;
        else if (!strcmp(a, "-train") || !strcmp(a, "-valid")) {
            if (i + 2 >= argc || cli_check_flag_value(a, argv[i + 1]) || cli_check_flag_value(a, argv[i + 2])) {
                if (i + 2 >= argc) fprintf(stderr, "error: %s needs two values: INSTANCES.json IMAGEDIR\n", a);
                fputs(usage, stderr);
                return CLI_USAGE;
            }
            const char **slot = a[1] == 't' ? train : valid;
            slot[0] = argv[++i];
            slot[1] = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "error: unknown option '%s'\n", a);
            fputs(usage, stderr);
            return CLI_USAGE;
        } else if (!out) {
            out = a;
        } else {
            fprintf(stderr, "error: unexpected argument: %s\n", a);
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    if (!out || !train[0]) {
        fprintf(stderr, "error: %s is missing\n", !out ? "OUTDIR" : "-train INSTANCES.json IMAGEDIR");
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    if (cli_check_path("OUTDIR", out) || cli_check_path("-train", train[0]) || cli_check_path("-train", train[1]) ||
        (valid[0] && (cli_check_path("-valid", valid[0]) || cli_check_path("-valid", valid[1]))))
        return CLI_BAD_INPUT;
    importer_init(&im, out, "coco");
    im.copy = copy;
    im.quiet = quiet;
    int rc = read_instances(&im, &im.train, train[0], train[1], "train");
    if (rc == 0 && valid[0]) rc = read_instances(&im, &im.valid, valid[0], valid[1], "valid");
    if (rc == 0 && !valid[0]) {
        im.valid_is_train = 1;
        fprintf(stderr, "note: no -valid: valid.txt lists the training images\n");
    }
    if (rc == 0) rc = import_write(&im);
    importer_free(&im);
    return rc ? CLI_BAD_INPUT : 0;
}
