/* test_dataset.c: the Fashion-MNIST scene generator. Same seed -> byte-identical
 * files (whatever the thread timing), another seed -> other labels; labels parse and
 * lie in range; listed images exist and libdarknet loads them at the right size; the
 * .data keys; a tiny hand-made MNIST whose items are squares, so that every box must
 * be a square of a known size range; bad IDX files and bad command lines. */
#define _GNU_SOURCE /* nftw */
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "darknet.h"
#include "dataset.h"

#define TMP "tests/tmp/dataset"
#define N_TRAIN 20
#define N_VALID 5
#define SIZE 96
#define MAX_FILES 256

/* nftw callback: removes one entry (children first). */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Creates dir and its parents. */
static void make_dir(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(path, 0777);
        *p = '/';
    }
    mkdir(path, 0777);
}

/* Reads a whole file; NULL when missing. *len gets its size. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

/* Options for a small set named out (relative to the working directory). */
static dataset_options small_options(const char *out, unsigned seed)
{
    dataset_options o;
    dataset_options_default(&o);
    o.out_dir = out;
    o.train = N_TRAIN;
    o.valid = N_VALID;
    o.size = SIZE;
    o.seed = seed;
    o.quiet = 1;
    return o;
}

/* Generates a small set as "fashion" with working directory dir, so that two runs in
 * two directories write the same bytes, lists and .data included. */
static int generate_in(const char *dir, unsigned seed)
{
    char cwd[4096];
    make_dir(dir);
    if (!getcwd(cwd, sizeof(cwd)) || chdir(dir)) return -1;
    dataset_options o = small_options("fashion", seed);
    int rc = dataset_generate(&o);
    if (chdir(cwd)) return -1;
    return rc;
}

static int setup(void **state)
{
    (void)state;
    nftw(TMP, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    make_dir(TMP);
    if (generate_in(TMP "/a", 7) || generate_in(TMP "/b", 7) || generate_in(TMP "/c", 8)) return -1;
    return 0;
}

/* Files found under the tree being walked, relative to its root. */
static char *walked[MAX_FILES];
static int n_walked;
static size_t walk_root_len;

/* nftw callback: records the path of each regular file. */
static int record_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (flag == FTW_F && n_walked < MAX_FILES) walked[n_walked++] = strdup(path + walk_root_len);
    return 0;
}

/* Walks root; returns the number of regular files, their paths in walked[]. */
static int walk(const char *root)
{
    for (int i = 0; i < n_walked; i++) free(walked[i]);
    n_walked = 0;
    walk_root_len = strlen(root);
    nftw(root, record_file, 16, FTW_PHYS);
    return n_walked;
}

static void test_same_seed_same_bytes(void **state)
{
    (void)state;
    int n = walk(TMP "/a");
    /* Images and labels of both splits, two lists, names and data; no temporary left. */
    assert_int_equal(n, 2 * (N_TRAIN + N_VALID) + 4);
    for (int i = 0; i < n; i++) {
        char pa[4096], pb[4096];
        size_t la = 0, lb = 0;
        snprintf(pa, sizeof(pa), TMP "/a%s", walked[i]);
        snprintf(pb, sizeof(pb), TMP "/b%s", walked[i]);
        char *a = read_all(pa, &la), *b = read_all(pb, &lb);
        if (!a || !b || la != lb || memcmp(a, b, la)) fail_msg("%s and %s differ", pa, pb);
        if (strstr(walked[i], ".tmp")) fail_msg("%s: a temporary file is left", pa);
        free(a);
        free(b);
    }
    assert_int_equal(walk(TMP "/b"), n);
}

/* All label files of split `name` of the set under dir, concatenated. */
static char *all_labels(const char *dir, const char *name, int n)
{
    size_t cap = 1 << 16, len = 0;
    char *s = calloc(cap, 1);
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/fashion/labels/%s_%05d.txt", dir, name, i);
        char *one = read_all(path, NULL);
        if (!one) fail_msg("%s is missing", path);
        size_t k = strlen(one);
        if (len + k + 1 > cap) s = realloc(s, cap = 2 * (len + k + 1));
        memcpy(s + len, one, k + 1);
        len += k;
        free(one);
    }
    return s;
}

static void test_other_seed_other_labels(void **state)
{
    (void)state;
    char *a = all_labels(TMP "/a", "train", N_TRAIN), *c = all_labels(TMP "/c", "train", N_TRAIN);
    assert_string_not_equal(a, c);
    free(a);
    free(c);
}

/* Checks one label line "class x y w h" (6 decimals) of a (size, size) scene; adds
 * its class to counts. */
static void check_label_line(char *line, const char *where, int size, int *counts)
{
    char *tok[6] = {0}, *end;
    int n = 0;
    for (char *t = strtok(line, " \n"); t && n < 6; t = strtok(NULL, " \n")) tok[n++] = t;
    if (n != 5) fail_msg("%s: %d fields, expected 5", where, n);
    long cls = strtol(tok[0], &end, 10);
    if (*end || cls < 0 || cls >= DATASET_CLASSES) fail_msg("%s: class '%s'", where, tok[0]);
    counts[cls]++;
    float v[4];
    for (int k = 0; k < 4; k++) {
        char again[32];
        v[k] = strtof(tok[k + 1], &end);
        snprintf(again, sizeof(again), "%.6f", v[k]);
        if (*end || !isfinite(v[k]) || v[k] <= 0 || v[k] > 1 || strcmp(again, tok[k + 1]))
            fail_msg("%s: field %d is '%s', expected a number in (0,1] with 6 decimals", where, k + 2, tok[k + 1]);
    }
    float eps = 1e-5f;
    if (v[0] - v[2] / 2 < -eps || v[0] + v[2] / 2 > 1 + eps || v[1] - v[3] / 2 < -eps || v[1] + v[3] / 2 > 1 + eps)
        fail_msg("%s: the box sticks out of the image", where);
    if (v[2] < 2.0f / size - eps || v[3] < 2.0f / size - eps) fail_msg("%s: the box is under 2 pixels", where);
}

/* Checks every label file of a split; returns the number of labels, counts by class. */
static int check_split_labels(const char *dir, const char *name, int n, int size, int *counts)
{
    int lines = 0;
    for (int i = 0; i < n; i++) {
        char path[4096], where[4200], *save = NULL;
        snprintf(path, sizeof(path), "%s/fashion/labels/%s_%05d.txt", dir, name, i);
        char *text = read_all(path, NULL);
        if (!text) fail_msg("%s is missing", path);
        int lineno = 0;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            snprintf(where, sizeof(where), "%s:%d", path, ++lineno);
            check_label_line(line, where, size, counts);
        }
        lines += lineno;
        free(text);
    }
    return lines;
}

static void test_labels_in_range(void **state)
{
    (void)state;
    int counts[DATASET_CLASSES] = {0};
    int n = check_split_labels(TMP "/a", "train", N_TRAIN, SIZE, counts);
    n += check_split_labels(TMP "/a", "valid", N_VALID, SIZE, counts);
    /* About 1.5 targets a scene: every class shows up in 25 scenes. */
    assert_true(n >= N_TRAIN + N_VALID);
    for (int k = 0; k < DATASET_CLASSES; k++)
        if (counts[k] == 0) fail_msg("class %d has no label in %d scenes", k, N_TRAIN + N_VALID);
}

/* Checks the list dir/fashion/NAME.txt: n lines fashion/images/NAME_%05d.png, each
 * an image libdarknet loads as (3, size, size) and that is not a flat colour. */
static void check_list(const char *dir, const char *name, int n, int size)
{
    char path[4096], want[256], *save = NULL;
    snprintf(path, sizeof(path), "%s/fashion/%s.txt", dir, name);
    char *text = read_all(path, NULL);
    if (!text) fail_msg("%s is missing", path);
    int i = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
        snprintf(want, sizeof(want), "fashion/images/%s_%05d.png", name, i);
        if (strcmp(line, want)) fail_msg("%s:%d: '%s', expected '%s'", path, i + 1, line, want);
        char img[4096];
        struct stat st;
        snprintf(img, sizeof(img), "%s/%s", dir, line);
        /* libdarknet exits or substitutes a 10x10 image when a file does not load. */
        if (stat(img, &st) || st.st_size == 0) fail_msg("%s is missing", img);
        image im = load_image_color(img, 0, 0);
        if (im.w != size || im.h != size || im.c != 3) fail_msg("%s: %dx%dx%d", img, im.w, im.h, im.c);
        float lo = 1, hi = 0;
        for (int k = 0; k < im.w * im.h * im.c; k++) {
            lo = fminf(lo, im.data[k]);
            hi = fmaxf(hi, im.data[k]);
        }
        if (hi - lo < 0.05f) fail_msg("%s is flat", img);
        free_image(im);
    }
    assert_int_equal(i, n);
    free(text);
}

static void test_images_load(void **state)
{
    (void)state;
    check_list(TMP "/a", "train", N_TRAIN, SIZE);
    check_list(TMP "/a", "valid", N_VALID, SIZE);
}

static void test_data_file(void **state)
{
    (void)state;
    struct stat st;
    char *data = read_all(TMP "/a/fashion/fashion.data", NULL);
    char *names = read_all(TMP "/a/fashion/fashion.names", NULL);
    assert_non_null(data);
    assert_non_null(names);
    assert_string_equal(data, "classes=3\ntrain=fashion/train.txt\nvalid=fashion/valid.txt\n"
                              "names=fashion/fashion.names\nbackup=fashion/backup/\n");
    assert_string_equal(names, "tshirt\nsneaker\npullover\n");
    assert_int_equal(stat(TMP "/a/fashion/backup", &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    free(data);
    free(names);
}

/* Writes n bytes to path as gzip. */
static void write_gz(const char *path, const void *bytes, unsigned n)
{
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, bytes, n), (int)n);
    assert_int_equal(gzclose(f), Z_OK);
}

/* Writes a big-endian 32-bit word at p. */
static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Writes PREFIX-{images-idx3,labels-idx1}-ubyte.gz into dir: n images, image i of
 * label i % 10, each a full-intensity 20x20 square centred in 28x28. The header
 * fields can be spoilt: image magic, label count. */
static void write_tiny_mnist(const char *dir, const char *prefix, int n, uint32_t magic, int n_labels)
{
    char path[4096];
    unsigned char *img = calloc(16 + (size_t)n * 784, 1), lab[8 + 64];
    put_be32(img, magic);
    put_be32(img + 4, (uint32_t)n);
    put_be32(img + 8, 28);
    put_be32(img + 12, 28);
    for (int i = 0; i < n; i++)
        for (int y = 4; y < 24; y++) memset(img + 16 + i * 784 + y * 28 + 4, 255, 20);
    put_be32(lab, 0x801);
    put_be32(lab + 4, (uint32_t)n_labels);
    for (int i = 0; i < n_labels && i < 64; i++) lab[8 + i] = (unsigned char)(i % 10);
    snprintf(path, sizeof(path), "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    write_gz(path, img, 16 + (unsigned)n * 784);
    snprintf(path, sizeof(path), "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    write_gz(path, lab, 8 + (unsigned)(n_labels < 64 ? n_labels : 64));
    free(img);
}

/* Square items: each box is a square (up to a pixel of bilinear edge each side) whose
 * side is 20/28 of the item's, i.e. 20/28 of 1/8..3/8 of the scene. */
static void test_square_items_give_square_boxes(void **state)
{
    (void)state;
    const char *dir = TMP "/tiny";
    make_dir(dir);
    write_tiny_mnist(dir, "train", 20, 0x803, 20);
    write_tiny_mnist(dir, "t10k", 10, 0x803, 10);
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    dataset_options o = small_options("fashion", 3);
    o.mnist_dir = ".";
    o.size = 128;
    int rc = dataset_generate(&o);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    int checked = 0;
    for (int i = 0; i < N_TRAIN; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/fashion/labels/train_%05d.txt", dir, i);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        int c;
        float x, y, w, h;
        while (fscanf(f, "%d %f %f %f %f", &c, &x, &y, &w, &h) == 5) {
            float pw = w * 128, ph = h * 128;
            if (fabsf(pw - ph) > 2.01f) fail_msg("%s: a square item has a %gx%g box", path, pw, ph);
            if (pw < 16 * 20.0f / 28 - 2 || pw > 48 * 20.0f / 28 + 2)
                fail_msg("%s: box side %g is out of 16..48 * 20/28 (+-2)", path, pw);
            checked++;
        }
        fclose(f);
    }
    assert_true(checked > 0);
}

/* Bad IDX files: each must be an error (-1) naming the file, and write nothing. */
static void test_bad_mnist(void **state)
{
    (void)state;
    struct stat st;
    dataset_options o = small_options(TMP "/bad_out", 1);
    o.mnist_dir = TMP "/no_such_dir";
    assert_int_equal(dataset_generate(&o), -1);

    const char *dir = TMP "/bad_mnist";
    make_dir(dir);
    o.mnist_dir = dir;
    write_tiny_mnist(dir, "t10k", 10, 0x803, 10);
    write_tiny_mnist(dir, "train", 10, 0x801, 10); /* wrong image magic */
    assert_int_equal(dataset_generate(&o), -1);
    write_tiny_mnist(dir, "train", 10, 0x803, 9); /* 9 labels for 10 images */
    assert_int_equal(dataset_generate(&o), -1);
    unsigned char head[16];
    put_be32(head, 0x803), put_be32(head + 4, 60000), put_be32(head + 8, 28), put_be32(head + 12, 28);
    char path[4096];
    snprintf(path, sizeof(path), "%s/train-images-idx3-ubyte.gz", dir);
    write_gz(path, head, sizeof(head)); /* truncated: a header and no pixels */
    assert_int_equal(dataset_generate(&o), -1);
    assert_int_not_equal(stat(TMP "/bad_out", &st), 0);
}

/* Runs dataset_main on a NULL-terminated argument list. */
static int run_main(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *)) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return dataset_main(argc, argv);
}

static void test_main_statuses(void **state)
{
    (void)state;
    const char *out = TMP "/main";
    assert_int_equal(run_main(NULL), 2);                                   /* no OUTDIR */
    assert_int_equal(run_main("-train", "5", NULL), 2);                    /* no OUTDIR */
    assert_int_equal(run_main(out, "-bogus", NULL), 2);                    /* unknown flag */
    assert_int_equal(run_main(out, "-size", "0", NULL), 2);                /* out of range */
    assert_int_equal(run_main(out, "-train", "12x", NULL), 2);             /* not a number */
    assert_int_equal(run_main(out, "-seed", "-1", NULL), 2);               /* negative */
    assert_int_equal(run_main(out, "-valid", NULL), 2);                    /* no value */
    assert_int_equal(run_main(out, "other", NULL), 2);                     /* two OUTDIRs */
    assert_int_equal(run_main(TMP "/images_x", "-quiet", NULL), 1);        /* Darknet's label path */
    char long_dir[300];
    snprintf(long_dir, sizeof(long_dir), TMP "/%0240d", 0);
    assert_int_equal(run_main(long_dir, "-quiet", NULL), 1); /* over save_image's 256 bytes */
    FILE *f = fopen(TMP "/plain_file", "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(run_main(TMP "/plain_file/sub", "-train", "1", "-valid", "1", "-quiet", NULL), 1);
    assert_int_equal(run_main(out, "-train", "2", "-valid", "1", "-size", "64", "-seed", "3", "-quiet", NULL), 0);
    struct stat st;
    assert_int_equal(stat(TMP "/main/images/valid_00000.png", &st), 0);
    image im = load_image_color(TMP "/main/images/valid_00000.png", 0, 0);
    assert_int_equal(im.w, 64);
    free_image(im);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_other_seed_other_labels),
        cmocka_unit_test(test_labels_in_range),
        cmocka_unit_test(test_images_load),
        cmocka_unit_test(test_data_file),
        cmocka_unit_test(test_square_items_give_square_boxes),
        cmocka_unit_test(test_bad_mnist),
        cmocka_unit_test(test_main_statuses),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
