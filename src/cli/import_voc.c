/* import_voc.c: `ohem import voc`, Pascal VOC annotations (libxml2) into Darknet's
 * layout.
 *
 * VOC's boxes are 1-based pixel indices, both ends inclusive (the devkit's own
 * evaluation measures a width as xmax - xmin + 1): the box covers the pixels
 * xmin..xmax, i.e. [xmin - 1, xmax] in continuous 0-based coordinates, where pixel
 * i spans [i, i + 1). So the centre is (xmin + xmax - 1) / 2 and the width
 * xmax - xmin + 1, and a box over the whole image is (0.5, 0.5, 1, 1). (Darknet's
 * voc_label.py takes the centre as (xmin + xmax) / 2 - 1 and the width as
 * xmax - xmin: half a pixel left and one pixel narrower.) */
#include "cli.h"
#include "import.h"

#include <dirent.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PATH_CAP 4096

typedef struct {
    const char *devkit, *out, *train, *valid, *names;
    int copy, quiet;
} voc_options;

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The element child of node named name, or NULL. */
static xmlNode *child(xmlNode *node, const char *name)
{
    for (xmlNode *c = node ? node->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, name)) return c;
    return NULL;
}

/* The text of node, trimmed, into out (capacity cap); "" for NULL. */
static void text_of(xmlNode *node, char *out, size_t cap)
{
    out[0] = 0;
    if (!node) return;
    xmlChar *t = xmlNodeGetContent(node);
    if (!t) return;
    const char *s = (const char *)t;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    snprintf(out, cap, "%s", s);
    size_t n = strlen(out);
    while (n && (out[n - 1] == ' ' || out[n - 1] == '\t' || out[n - 1] == '\n' || out[n - 1] == '\r')) out[--n] = 0;
    xmlFree(t);
}

/* The number in child `key` of node into *v. -1 after an error naming where. */
static int number_of(xmlNode *node, const char *key, const char *where, double *v)
{
    char s[128], *end;
    xmlNode *c = child(node, key);
    if (!c) {
        fprintf(stderr, "error: %s: <%s> is missing\n", where, key);
        return -1;
    }
    text_of(c, s, sizeof(s));
    errno = 0;
    *v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(*v)) {
        fprintf(stderr, "error: %s: <%s>%s</%s> is not a number\n", where, key, s, key);
        return -1;
    }
    return 0;
}

/* libxml2's first error of a file, kept to be printed as ours (its own printing is
 * turned off). */
typedef struct {
    int line, set;
    char msg[512];
} xml_first_error;

static void keep_first_error(void *ctx, xmlErrorPtr e)
{
    xml_first_error *f = ctx;
    if (f->set || !e) return;
    f->set = 1;
    f->line = e->line;
    snprintf(f->msg, sizeof(f->msg), "%s", e->message ? e->message : "?");
    size_t n = strlen(f->msg);
    while (n && f->msg[n - 1] == '\n') f->msg[--n] = 0;
}

/* Reads one annotation file: its image (image_dir/<filename>, or image_path when
 * given) into list under sub, and its objects. -1 after an error naming the file
 * and, for an object, its index (1-based, in file order) and name. */
static int read_annotation(importer *im, import_list *list, const char *xml, const char *image_dir,
                           const char *image_path, const char *sub)
{
    xml_first_error first = {0};
    xmlSetStructuredErrorFunc(&first, keep_first_error);
    xmlDoc *doc = xmlReadFile(xml, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (!doc) {
        fprintf(stderr, "error: %s:%d: malformed XML: %s\n", xml, first.line, first.set ? first.msg : "cannot read the file");
        return -1;
    }
    int rc = -1;
    xmlNode *root = xmlDocGetRootElement(doc);
    char where[PATH_CAP + 128], name[1024], file[1024], path[PATH_CAP];
    if (!root || strcmp((const char *)root->name, "annotation")) {
        fprintf(stderr, "error: %s: the root element is <%s>, not <annotation>: not a VOC annotation\n", xml,
                root ? (const char *)root->name : "(none)");
        goto done;
    }
    xmlNode *size = child(root, "size");
    double w = 0, h = 0;
    if (size && (number_of(size, "width", xml, &w) || number_of(size, "height", xml, &h))) goto done;
    if (image_path) {
        snprintf(path, sizeof(path), "%s", image_path);
    } else {
        text_of(child(root, "filename"), file, sizeof(file));
        if (!*file || strchr(file, '/')) {
            fprintf(stderr, "error: %s: <filename>%s</filename>: expected the image's file name\n", xml, file);
            goto done;
        }
        if (import_join(path, sizeof(path), image_dir, file)) goto done;
    }
    const char *base = strrchr(path, '/');
    import_image *img = import_add_image(im, list, path, sub, base ? base + 1 : path, (int)w, (int)h, xml);
    if (!img) goto done;
    int index = 0;
    for (xmlNode *o = root->children; o; o = o->next) {
        if (o->type != XML_ELEMENT_NODE || strcmp((const char *)o->name, "object")) continue;
        index++;
        text_of(child(o, "name"), name, sizeof(name));
        snprintf(where, sizeof(where), "%s: object %d (%s)", xml, index, *name ? name : "no name");
        if (!*name) {
            fprintf(stderr, "error: %s: <name> is missing or empty\n", where);
            goto done;
        }
        int cls = import_class(im, name);
        if (cls < 0) {
            fprintf(stderr, "error: %s: the class '%s' is not in the -names file\n", where, name);
            goto done;
        }
        char diff[32];
        text_of(child(o, "difficult"), diff, sizeof(diff));
        if (*diff && strcmp(diff, "0") && strcmp(diff, "1")) {
            fprintf(stderr, "error: %s: <difficult>%s</difficult>: expected 0 or 1\n", where, diff);
            goto done;
        }
        xmlNode *bb = child(o, "bndbox");
        double x0, y0, x1, y1;
        if (!bb) {
            fprintf(stderr, "error: %s: <bndbox> is missing\n", where);
            goto done;
        }
        if (number_of(bb, "xmin", where, &x0) || number_of(bb, "ymin", where, &y0) ||
            number_of(bb, "xmax", where, &x1) || number_of(bb, "ymax", where, &y1))
            goto done;
        if (x0 > x1 || y0 > y1) {
            fprintf(stderr, "error: %s: xmin %g > xmax %g or ymin %g > ymax %g: not a box\n", where, x0, x1, y0, y1);
            goto done;
        }
        /* 1-based inclusive pixel indices to continuous 0-based coordinates */
        if (import_add_box(im, img, cls, x0 - 1, y0 - 1, x1, y1, !strcmp(diff, "1"), where)) goto done;
    }
    rc = 0;
done:
    xmlFreeDoc(doc);
    return rc;
}

/* Imports image set SPEC ("2007/trainval": VOCDEVKIT/VOC2007/ImageSets/Main/
 * trainval.txt) into list. -1 after an error. */
static int read_set(importer *im, import_list *list, const char *devkit, const char *spec, const char *flag)
{
    char year[256], set[256], dir[PATH_CAP], ids[PATH_CAP + 300], xml[PATH_CAP], jpg[PATH_CAP], sub[300];
    const char *slash = strchr(spec, '/');
    if (!slash || slash == spec || !slash[1] || strchr(slash + 1, '/') || slash - spec >= (long)sizeof(year) ||
        strlen(slash + 1) >= sizeof(set)) {
        fprintf(stderr, "error: %s %s: expected YEAR/SET, such as 2007/trainval\n", flag, spec);
        return -1;
    }
    snprintf(year, sizeof(year), "%.*s", (int)(slash - spec), spec);
    snprintf(set, sizeof(set), "%s", slash + 1);
    snprintf(sub, sizeof(sub), "VOC%s", year);
    if (import_join(dir, sizeof(dir), devkit, sub) || !is_dir(dir)) {
        fprintf(stderr, "error: %s %s: %s is not a directory (hint: VOCDEVKIT holds VOC2007/, VOC2012/, ...)\n", flag,
                spec, dir);
        return -1;
    }
    snprintf(ids, sizeof(ids), "%s/ImageSets/Main/%s.txt", dir, set);
    FILE *f = fopen(ids, "r");
    if (!f) {
        fprintf(stderr, "error: %s %s: %s: cannot read: %s\n", flag, spec, ids, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0, rc = 0, before = list->n;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char id[1024];
        if (sscanf(line, "%1023s", id) != 1) continue; /* a blank line */
        if (strchr(id, '/')) {
            fprintf(stderr, "error: %s:%d: '%s' is not an image id\n", ids, lineno, id);
            rc = -1;
            break;
        }
        if (snprintf(xml, sizeof(xml), "%s/Annotations/%s.xml", dir, id) >= (int)sizeof(xml) ||
            snprintf(jpg, sizeof(jpg), "%s/JPEGImages/%s.jpg", dir, id) >= (int)sizeof(jpg)) {
            fprintf(stderr, "error: %s:%d: the path is too long\n", ids, lineno);
            rc = -1;
            break;
        }
        struct stat st;
        if (stat(xml, &st) != 0) {
            fprintf(stderr, "error: %s:%d: the annotation %s is missing\n", ids, lineno, xml);
            rc = -1;
            break;
        }
        rc = read_annotation(im, list, xml, NULL, jpg, sub);
        if (!im->quiet && (list->n % 500 == 0)) fprintf(stderr, "\rreading %s: %d images", spec, list->n - before);
    }
    fclose(f);
    if (!im->quiet) fprintf(stderr, "\rreading %s: %d images\n", spec, list->n - before);
    if (rc == 0 && list->n == before) {
        fprintf(stderr, "error: %s: no image id in the file\n", ids);
        rc = -1;
    }
    return rc;
}

/* Imports a comma-separated list of image sets. */
static int read_sets(importer *im, import_list *list, const char *devkit, const char *specs, const char *flag)
{
    char buf[PATH_CAP];
    snprintf(buf, sizeof(buf), "%s", specs);
    for (char *save = NULL, *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save))
        if (read_set(im, list, devkit, s, flag)) return -1;
    return 0;
}

static int xml_name(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 4 && !strcmp(e->d_name + n - 4, ".xml");
}

/* Number of .xml files directly in dir (0 when it cannot be read). */
static int count_xml(const char *dir)
{
    struct dirent **list;
    int n = scandir(dir, &list, xml_name, NULL);
    for (int i = 0; i < n; i++) free(list[i]);
    if (n > 0) free(list);
    return n < 0 ? 0 : n;
}

/* Imports every .xml of the plain folder dir (in name order) with the image its
 * <filename> names beside it, into list under sub. */
static int read_folder(importer *im, import_list *list, const char *dir, const char *sub)
{
    struct dirent **names;
    int n = scandir(dir, &names, xml_name, alphasort), rc = 0;
    if (n <= 0) {
        fprintf(stderr, "error: %s: %s\n", dir, n < 0 ? strerror(errno) : "no .xml file in the folder");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char xml[PATH_CAP];
        if (rc == 0 && import_join(xml, sizeof(xml), dir, names[i]->d_name)) {
            fprintf(stderr, "error: %s/%s: the path is too long\n", dir, names[i]->d_name);
            rc = -1;
        }
        if (rc == 0) rc = read_annotation(im, list, xml, dir, NULL, sub);
        free(names[i]);
    }
    free(names);
    if (!im->quiet && rc == 0) fprintf(stderr, "reading %s: %d images\n", dir, n);
    return rc;
}

/* Whether the image set YEAR/SET of spec exists under devkit. */
static int set_exists(const char *devkit, const char *year, const char *set)
{
    char path[PATH_CAP];
    snprintf(path, sizeof(path), "%s/VOC%s/ImageSets/Main/%s.txt", devkit, year, set);
    struct stat st;
    return stat(path, &st) == 0;
}

static int run(const voc_options *o)
{
    importer im;
    importer_init(&im, o->out, "voc");
    im.copy = o->copy;
    im.quiet = o->quiet;
    int rc = -1;
    if (o->names && import_read_names(&im, o->names)) goto done;
    if (!is_dir(o->devkit)) {
        fprintf(stderr, "error: %s: VOCDEVKIT is not a directory\n", o->devkit);
        goto done;
    }
    if (count_xml(o->devkit) > 0) {
        /* a plain folder of annotations and images */
        if (o->train) {
            fprintf(stderr, "error: -train %s: %s is a folder of .xml files, not a VOCdevkit with image sets "
                    "(hint: leave out -train; -valid takes a second folder)\n", o->train, o->devkit);
            goto done;
        }
        if (read_folder(&im, &im.train, o->devkit, "train")) goto done;
        if (o->valid) {
            if (!is_dir(o->valid)) {
                fprintf(stderr, "error: -valid %s: not a directory (with a plain folder of .xml files, -valid is "
                        "another such folder)\n", o->valid);
                goto done;
            }
            if (read_folder(&im, &im.valid, o->valid, "valid")) goto done;
        } else {
            im.valid_is_train = 1;
            fprintf(stderr, "note: no -valid folder: valid.txt lists the training images\n");
        }
    } else {
        char train[64] = "", valid[64] = "";
        if (!o->train) {
            /* VOC's usual: every year's trainval that is there */
            for (int k = 0; k < 2; k++) {
                const char *year = k ? "2012" : "2007";
                if (set_exists(o->devkit, year, "trainval"))
                    snprintf(train + strlen(train), sizeof(train) - strlen(train), "%s%s/trainval", *train ? "," : "", year);
            }
            if (!*train) {
                fprintf(stderr, "error: %s: neither VOC2007/ImageSets/Main/trainval.txt nor VOC2012/... is there, and "
                        "it holds no .xml file (hint: name the sets with -train YEAR/SET)\n", o->devkit);
                goto done;
            }
        }
        if (!o->valid) {
            if (!set_exists(o->devkit, "2007", "test")) {
                fprintf(stderr, "error: %s: VOC2007/ImageSets/Main/test.txt is not there (hint: name the validation "
                        "sets with -valid YEAR/SET)\n", o->devkit);
                goto done;
            }
            snprintf(valid, sizeof(valid), "2007/test");
        }
        if (read_sets(&im, &im.train, o->devkit, o->train ? o->train : train, "-train") ||
            read_sets(&im, &im.valid, o->devkit, o->valid ? o->valid : valid, "-valid"))
            goto done;
    }
    if (!o->names) import_sort_classes(&im);
    rc = import_write(&im);
done:
    importer_free(&im);
    xmlCleanupParser();
    return rc;
}

static const char *usage = "usage: ./darknet ohem import voc VOCDEVKIT OUTDIR [-train 2007/trainval,2012/trainval] "
                           "[-valid 2007/test] [-names FILE] [-copy] [-quiet]\n"
                           "  VOCDEVKIT holds VOC2007/, VOC2012/ (Annotations, JPEGImages, ImageSets/Main), or is a "
                           "folder of .xml files and their images\n";

int import_voc_main(int argc, char **argv)
{
    voc_options o = {0};
    const char *pos[2] = {0};
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stderr);
            return 0;
        }
        if (!strcmp(a, "-copy")) o.copy = 1;
        else if (!strcmp(a, "-quiet")) o.quiet = 1;
        else if (!strcmp(a, "-train") || !strcmp(a, "-valid") || !strcmp(a, "-names")) {
            if (i + 1 >= argc || cli_check_flag_value(a, argv[i + 1])) {
                if (i + 1 >= argc) fprintf(stderr, "error: %s needs a value\n", a);
                fputs(usage, stderr);
                return CLI_USAGE;
            }
            const char **slot = a[1] == 't' ? &o.train : a[1] == 'v' ? &o.valid : &o.names;
            *slot = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "error: unknown option '%s'\n", a);
            fputs(usage, stderr);
            return CLI_USAGE;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "error: unexpected argument: %s\n", a);
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    if (npos < 2) {
        fprintf(stderr, "error: %s is missing\n", npos ? "OUTDIR" : "VOCDEVKIT");
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    o.devkit = pos[0];
    o.out = pos[1];
    if (cli_check_path("VOCDEVKIT", o.devkit) || cli_check_path("OUTDIR", o.out) ||
        (o.names && cli_check_path("-names", o.names)))
        return CLI_BAD_INPUT;
    return run(&o) ? CLI_BAD_INPUT : 0;
}
