/* test_prefetch.c: detection's images loaded ahead on a thread (prefetch.h) against
 * loading them one by one here: every item equal, byte for byte, to the image
 * decoded, letterboxed or stretched (and stretched beside the letterbox, and the
 * decoded image itself, when asked), with its label rows, in list order, for every
 * count ahead, and stopping at any point neither hangs nor leaks. detector_evaluate
 * with the loader thread against OHEM_PREFETCH=off and against the inputs made here:
 * the same inputs reach the forward in the same order, the same table. A broken
 * image or label file in the middle of the list: the same error in both, naming
 * it, after the forwards of the images before it and before any after it. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"
#include "detect.h"
#include "prefetch.h"
#include "oracle.h"
#include "tiny_detector.h"

/* libdarknet's PNG writer (stb_image_write) */
int stbi_write_png(char const *filename, int w, int h, int comp, const void *data, int stride_in_bytes);

#define DIR "tests/tmp/test_prefetch"
#define N 23       /* good images */
#define MAXLIST 32

static char *good[N], *hard[N];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Image `name` under dir/images (w x h, seeded pixels) and its label file of nrows
 * random boxes of classes 0..1 under dir/labels; returns the image's path. */
static char *write_entry(const char *dir, const char *name, int w, int h, int nrows)
{
    char path[512], lab[512], text[512] = "";
    snprintf(path, sizeof(path), "%s/images/%s.png", dir, name);
    snprintf(lab, sizeof(lab), "%s/labels/%s.txt", dir, name);
    unsigned char *px = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++) px[i] = (unsigned char)(rng_u32() & 255);
    assert_true(stbi_write_png(path, w, h, 3, px, w * 3) != 0);
    free(px);
    random_labels(text, sizeof(text), nrows);
    write_text(lab, text);
    return strdup(path);
}

/* The data set: N good images of assorted sizes (most not square), a parallel list
 * whose label files hold boxes to ignore, and the broken entries. */
static int setup(void **state)
{
    (void)state;
    assert_int_equal(system("rm -rf " DIR " && mkdir -p " DIR "/images " DIR "/labels " DIR "/hard/images " DIR "/hard/labels"), 0);
    rng_seed(5);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "im%02d", i);
        good[i] = write_entry(DIR, name, 8 + (int)(rng_u32() % 60), 8 + (int)(rng_u32() % 60), i == 4 ? 0 : 1 + (int)(rng_u32() % 3));
        hard[i] = write_entry(DIR "/hard", name, 4, 4, (int)(rng_u32() % 2));
    }
    write_text(DIR "/images/broken.png", "not a picture\n");
    write_text(DIR "/labels/broken.txt", "0 0.5 0.5 0.2 0.2\n");
    free(write_entry(DIR, "badlabel", 20, 30, 1));
    write_text(DIR "/labels/badlabel.txt", "0 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.2 0.2\n");
    /* an ignore entry whose label file is missing */
    free(write_entry(DIR "/hard", "nolabel", 4, 4, 0));
    remove(DIR "/hard/labels/nolabel.txt");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++) free(good[i]), free(hard[i]);
    return 0;
}

/* The good list with `bad` put in at position k (k < 0: none); ignore gets the hard
 * list alike, with `bad_ignore` at k. Returns the count. */
static int make_list(char **paths, char **ignore, int k, char *bad, char *bad_ignore)
{
    int n = 0;
    for (int i = 0; i <= N; i++) {
        if (i == k) {
            paths[n] = bad;
            ignore[n++] = bad_ignore;
        }
        if (i < N) {
            paths[n] = good[i];
            ignore[n++] = hard[i];
        }
    }
    return n;
}

/* The oracle of an item: the image loaded and made the network's input here, and
 * its label files read. */
static void check_item(const prefetch_item *it, const prefetch_options *o, int j)
{
    int ok;
    image im = load_image_checked(o->paths[j], &ok);
    assert_int_equal(it->ok, ok);
    assert_true(ok);
    assert_int_equal(it->w, im.w);
    assert_int_equal(it->h, im.h);
    image sized = o->letter ? letterbox_image(im, o->w, o->h) : resize_image(im, o->w, o->h);
    assert_int_equal(it->sized.w, o->w);
    assert_int_equal(it->sized.h, o->h);
    assert_int_equal(it->sized.c, 3);
    assert_memory_equal(it->sized.data, sized.data, (size_t)o->w * o->h * 3 * sizeof(float));
    free_image(sized);
    /* the stretched input beside the letterboxed one, and the decoded image, when asked */
    if (o->letter && o->stretched) {
        image st = resize_image(im, o->w, o->h);
        assert_true(it->stretched.w == o->w && it->stretched.h == o->h && it->stretched.c == 3);
        assert_memory_equal(it->stretched.data, st.data, (size_t)o->w * o->h * 3 * sizeof(float));
        free_image(st);
    } else {
        assert_null(it->stretched.data);
    }
    if (o->original) {
        assert_true(it->original.w == im.w && it->original.h == im.h && it->original.c == im.c);
        assert_memory_equal(it->original.data, im.data, (size_t)im.w * im.h * im.c * sizeof(float));
    } else {
        assert_null(it->original.data);
    }
    free_image(im);
    assert_int_equal(it->bad_labels, 0);
    assert_null(it->errors);
    for (int pass = 0; pass < (o->classes ? 1 + !!o->ignore : 0); pass++) {
        char lab[4096];
        float *rows;
        int n;
        label_path(pass ? o->ignore[j] : o->paths[j], lab, sizeof(lab));
        assert_int_equal(read_labels(lab, o->classes, &rows, &n), 0);
        assert_int_equal(pass ? it->nignore : it->nrows, n);
        if (n) assert_memory_equal(pass ? it->ignore : it->rows, rows, (size_t)n * 5 * sizeof(float));
        free(rows);
    }
    if (!o->classes) assert_true(it->rows == NULL && it->nrows == 0);
}

static void test_items_against_loading_here(void **state)
{
    (void)state;
    char *paths[MAXLIST], *ignore[MAXLIST];
    int n = make_list(paths, ignore, -1, NULL, NULL);
    static const int aheads[] = {0, 1, 2, 5, 40};
    for (size_t a = 0; a < sizeof(aheads) / sizeof(aheads[0]); a++)
        for (int variant = 0; variant < 16; variant++) {
            /* letterboxed or stretched; labels with and without the ignore list, none;
             * the stretched input and the original kept or not */
            int v = variant & 3;
            prefetch_options o = {paths, n, 24 + 8 * (v & 1), 32, v & 1, v < 3 ? 2 : 0, v == 1 ? ignore : NULL,
                                  (variant >> 2) & 1, variant >> 3};
            prefetch *p = prefetch_start(&o, aheads[a]);
            assert_non_null(p);
            for (int j = 0; j < n; j++) {
                const prefetch_item *it = prefetch_next(p);
                assert_non_null(it);
                check_item(it, &o, j);
            }
            assert_null(prefetch_next(p));
            assert_null(prefetch_next(p));
            prefetch_stop(p);
        }
}

/* Stopping after any number of items, the thread waiting for a slot or still
 * loading: it ends, and nothing leaks (run under SANITIZE=1). */
static void test_stop_anywhere(void **state)
{
    (void)state;
    char *paths[MAXLIST], *ignore[MAXLIST];
    int n = make_list(paths, ignore, -1, NULL, NULL);
    /* everything an item can hold */
    prefetch_options o = {paths, n, 32, 32, 1, 2, ignore, 1, 1};
    prefetch_stop(NULL);
    for (int taken = 0; taken <= n; taken += taken < 4 ? 1 : 7)
        for (int ahead = 0; ahead <= 3; ahead++) {
            prefetch *p = prefetch_start(&o, ahead);
            for (int j = 0; j < taken; j++) assert_non_null(prefetch_next(p));
            prefetch_stop(p);
        }
}

/* A broken entry at k: items 0 .. k - 1 as loaded here, then the failed one (and
 * nothing after it), for every count ahead. */
static void test_failed_item_ends_the_list(void **state)
{
    (void)state;
    char *paths[MAXLIST], *ignore[MAXLIST];
    for (int which = 0; which < 3; which++)
        for (int k = 0; k <= N; k += k < 2 ? 1 : 11) {
            int n = which == 0   ? make_list(paths, ignore, k, DIR "/images/broken.png", hard[0])
                    : which == 1 ? make_list(paths, ignore, k, DIR "/images/badlabel.png", hard[0])
                                 : make_list(paths, ignore, k, good[0], DIR "/hard/images/nolabel.png");
            for (int ahead = 0; ahead <= 2; ahead++) {
                prefetch_options o = {paths, n, 32, 32, 1, 2, ignore, ahead & 1, 1};
                prefetch *p = prefetch_start(&o, ahead);
                for (int j = 0; j < k; j++) check_item(prefetch_next(p), &o, j);
                const prefetch_item *it = prefetch_next(p);
                assert_non_null(it);
                assert_int_equal(it->ok, which != 0);
                assert_int_equal(!!it->bad_labels, which != 0);
                assert_true(which == 0 ? it->errors == NULL : it->errors != NULL);
                if (which == 1) assert_non_null(strstr(it->errors, "badlabel.txt:2: class '5' is not an integer in 0..1"));
                if (which == 2) assert_non_null(strstr(it->errors, "nolabel.txt: cannot open the label file"));
                assert_null(prefetch_next(p));
                prefetch_stop(p);
            }
        }
}

/* The forward of the network's first layer, wrapped: each input's hash, in order,
 * and how much had been written to stderr (fd 2) when it started. */
static void (*first_forward)(layer, network);
static uint64_t inputs_seen[MAXLIST];
static long stderr_at[MAXLIST];
static int forwards;

static uint64_t hash_floats(const float *x, size_t n)
{
    uint64_t h = 1469598103934665603u;
    const unsigned char *b = (const unsigned char *)x;
    for (size_t i = 0; i < n * sizeof(float); i++) h = (h ^ b[i]) * 1099511628211u;
    return h;
}

static void counting_forward(layer l, network net)
{
    if (forwards < MAXLIST) {
        inputs_seen[forwards] = hash_floats(net.input, (size_t)net.inputs);
        fflush(stderr);
        stderr_at[forwards] = (long)lseek(2, 0, SEEK_CUR);
    }
    forwards++;
    first_forward(l, net);
}

static network *tiny_network(void)
{
    rng_seed(3);
    network *net = tiny_detector(DIR "/tiny.cfg");
    first_forward = net->layers[0].forward;
    net->layers[0].forward = counting_forward;
    return net;
}

/* detector_evaluate with stderr in file err (NULL: left alone); forwards counted
 * from 0. */
static double evaluate(network *net, char **paths, int n, const map_options *o, map_class *m, const char *err,
                       int prefetch_on)
{
    if (prefetch_on) unsetenv("OHEM_PREFETCH");
    else setenv("OHEM_PREFETCH", "off", 1);
    int saved = err ? stderr_to(err) : -1;
    forwards = 0;
    memset(m, 0, 2 * sizeof(*m));
    double map = detector_evaluate(net, paths, n, 2, o, m);
    if (err) stderr_back(saved);
    unsetenv("OHEM_PREFETCH");
    return map;
}

static void test_evaluate_same_with_and_without_thread(void **state)
{
    (void)state;
    network *net = tiny_network();
    char *paths[MAXLIST], *ignore[MAXLIST];
    int n = make_list(paths, ignore, -1, NULL, NULL);
    /* the oracle: the inputs made here, in list order */
    uint64_t want[MAXLIST];
    for (int j = 0; j < n; j++) {
        int ok;
        image im = load_image_checked(paths[j], &ok);
        image sized = letterbox_image(im, net->w, net->h);
        want[j] = hash_floats(sized.data, (size_t)net->inputs);
        free_image(sized);
        free_image(im);
    }
    for (int ign = 0; ign < 2; ign++) {
        map_options o = {0.5f, 0, 0.25f, 0, ign ? ignore : NULL};
        map_class seq[2], ahead[2];
        double a = evaluate(net, paths, n, &o, seq, NULL, 0);
        assert_int_equal(forwards, n);
        assert_memory_equal(inputs_seen, want, n * sizeof(*want));
        double b = evaluate(net, paths, n, &o, ahead, NULL, 1);
        assert_int_equal(forwards, n);
        assert_memory_equal(inputs_seen, want, n * sizeof(*want));
        /* untrained weights: many detections, every class has truths */
        assert_true(a >= 0 && a <= 1);
        assert_true(seq[0].detections > 50 && seq[0].truths > 0 && seq[1].truths > 0);
        if (ign) assert_true(seq[0].ignored + seq[1].ignored > 0);
        assert_memory_equal(&a, &b, sizeof(a));
        assert_memory_equal(seq, ahead, sizeof(seq));
    }
    free_network(net);
}

/* A broken image, a bad label file, a missing label file of the ignore list at k:
 * -1, the same stderr with and without the thread, naming the file, printed after
 * the forwards of images 0 .. k - 1 began, and no forward after. */
static void test_evaluate_error_in_the_middle(void **state)
{
    (void)state;
    network *net = tiny_network();
    char *paths[MAXLIST], *ignore[MAXLIST];
    static const char *const says[] = {"error: " DIR "/images/broken.png: the image is missing or does not decode\n",
                                       "error: " DIR "/labels/badlabel.txt:2: class '5' is not an integer in 0..1",
                                       "error: " DIR "/hard/labels/nolabel.txt: cannot open the label file"};
    for (int which = 0; which < 3; which++)
        for (int k = 0; k <= N; k += k == 12 ? N - 12 : 12) {
            int n = which == 0   ? make_list(paths, ignore, k, DIR "/images/broken.png", hard[0])
                    : which == 1 ? make_list(paths, ignore, k, DIR "/images/badlabel.png", hard[0])
                                 : make_list(paths, ignore, k, good[0], DIR "/hard/images/nolabel.png");
            map_options o = {0.5f, 0, 0.25f, 0, ignore};
            map_class m[2];
            assert_true(evaluate(net, paths, n, &o, m, DIR "/err-seq.txt", 0) == -1);
            assert_int_equal(forwards, k);
            assert_true(evaluate(net, paths, n, &o, m, DIR "/err-ahead.txt", 1) == -1);
            assert_int_equal(forwards, k);
            char *seq = slurp(DIR "/err-seq.txt"), *ahead = slurp(DIR "/err-ahead.txt");
            if (strcmp(seq, ahead) || !strstr(ahead, says[which]))
                print_error("entry %d at %d: without the thread '%s', with it '%s', expected '%s'\n", which, k, seq,
                            ahead, says[which]);
            assert_string_equal(seq, ahead);
            char *at = strstr(ahead, says[which]);
            assert_non_null(at);
            /* printed after the last forward started, not when the thread read the file */
            if (k > 0) assert_true(at - ahead >= stderr_at[k - 1]);
            free(seq);
            free(ahead);
            /* with the progress bar: the error after "10/24", and no "20/24" */
            if (k != 12) continue;
            o.progress = 1;
            assert_true(evaluate(net, paths, n, &o, m, DIR "/err-ahead.txt", 1) == -1);
            ahead = slurp(DIR "/err-ahead.txt");
            char *bar = strstr(ahead, "10/24"), *err = strstr(ahead, says[which]);
            assert_true(bar && err && bar < err);
            assert_null(strstr(ahead, "20/24"));
            free(ahead);
        }
    free_network(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_against_loading_here),
        cmocka_unit_test(test_stop_anywhere),
        cmocka_unit_test(test_failed_item_ends_the_list),
        cmocka_unit_test(test_evaluate_same_with_and_without_thread),
        cmocka_unit_test(test_evaluate_error_in_the_middle),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
