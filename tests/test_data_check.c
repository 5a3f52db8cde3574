/* test_data_check.c: the data check before train, map and valid, on a generated
 * list of 5000 entries with blank lines, CRLF ends and a byte-order mark, whose
 * line numbers the generator records (the oracle): read_list_lines gives those
 * lines; each problem (a text file posing as an image, a bad class, a missing
 * label, a directory) is reported with the right list line and file, in list
 * order; the output and the count are byte-identical with 1 and 2 pool threads;
 * the check stops after 20 problems, the first 20 in list order; check_images
 * leaves the labels alone. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"
#include "pool.h"

int stbi_write_png(char const *filename, int w, int h, int comp, const void *data, int stride_in_bytes);

#define N 5000
#define GOOD 32   /* distinct good images (and label files) the entries cycle through */
#define CLASSES 3

static char root[1024], list_path[1100];
static int expect_line[N]; /* the list line of entry i, as the generator wrote it */

static uint64_t rng = 20240611;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The good entries: images/good_K.png (tiny, seeded pixels) and their labels. */
static void write_good(void)
{
    for (int k = 0; k < GOOD; k++) {
        unsigned char px[4 * 3 * 3];
        for (size_t j = 0; j < sizeof(px); j++) px[j] = (unsigned char)next_rand();
        char p[1200];
        snprintf(p, sizeof(p), "%s/images/good_%d.png", root, k);
        assert_true(stbi_write_png(p, 4, 3, 3, px, 4 * 3) != 0);
        snprintf(p, sizeof(p), "%s/labels/good_%d.txt", root, k);
        char row[128];
        snprintf(row, sizeof(row), "%u 0.5 0.5 0.%u 0.2\n", next_rand() % CLASSES, 1 + next_rand() % 9);
        write_text(p, row);
    }
}

/* Writes list_path with n entries: entry i is bad[i] when set, else a good image; blank
 * lines, CRLF ends and a leading byte-order mark shift the lines, which are
 * recorded in expect_line. */
static void write_list(int n, char *const *bad)
{
    FILE *f = fopen(list_path, "w");
    assert_non_null(f);
    fputs("\xEF\xBB\xBF", f);
    int line = 1;
    for (int i = 0; i < n; i++) {
        while (next_rand() % 8 == 0) {
            fputs(next_rand() % 2 ? "\n" : "  \r\n", f);
            line++;
        }
        if (bad && bad[i]) fprintf(f, "%s", bad[i]);
        else fprintf(f, "%s/images/good_%d.png", root, i % GOOD);
        fputs(next_rand() % 3 ? "\n" : "\r\n", f);
        expect_line[i] = line++;
    }
    fputs("\n\n", f);
    assert_int_equal(fclose(f), 0);
}

/* Runs check_dataset (labels) or check_images with the pool at threads; returns
 * what it printed on stderr (owned) and its count in *problems. */
static char *run_check(int threads, int labels, int *problems)
{
    char **paths;
    int *lines;
    int n = read_list_lines(list_path, NULL, &paths, &lines);
    assert_true(n > 0);
    char out[1100];
    snprintf(out, sizeof(out), "%s/stderr.txt", root);
    fflush(stderr);
    int saved = dup(2), fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    ohem_pool_set_threads(threads);
    *problems = labels ? check_dataset(list_path, paths, lines, n, CLASSES, 1) : check_images(list_path, paths, lines, n, 1);
    ohem_pool_set_threads(2);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    free_paths(paths, n);
    free(lines);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char *text = calloc(1 << 20, 1);
    size_t len = fread(text, 1, (1 << 20) - 1, f);
    text[len] = 0;
    fclose(f);
    return text;
}

static int setup(void **state)
{
    (void)state;
    char cwd[900];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(root, sizeof(root), "%s/tests/tmp/data_check", cwd);
    char cmd[3200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s/images' '%s/labels'", root, root, root);
    if (system(cmd) != 0) return -1;
    snprintf(list_path, sizeof(list_path), "%s/list_path.txt", root);
    write_good();
    return 0;
}

/* read_list_lines: the paths without blanks, CR or the mark, and their lines. */
static void test_lines(void **state)
{
    (void)state;
    write_list(N, NULL);
    char **paths;
    int *lines;
    int n = read_list_lines(list_path, NULL, &paths, &lines);
    assert_int_equal(n, N);
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        char want[1200];
        snprintf(want, sizeof(want), "%s/images/good_%d.png", root, i % GOOD);
        if ((lines[i] != expect_line[i] || strcmp(paths[i], want)) && wrong++ < 5)
            print_error("entry %d: line %d '%s', want line %d '%s'\n", i, lines[i], paths[i], expect_line[i], want);
    }
    assert_int_equal(wrong, 0);
    assert_true(expect_line[N - 1] > N); /* the blank lines shifted the lines */
    free_paths(paths, n);
    free(lines);
    int ok;
    assert_int_equal(run_check(2, 1, &ok) != NULL, 1);
    assert_int_equal(ok, 0);
}

/* One problem of each kind, far down a big list_path: each names the right list_path line. */
static void test_problems_name_the_line(void **state)
{
    (void)state;
    static char fake[1200], badclass[1200], missing[1200], dir[1200];
    char p[2600];
    snprintf(fake, sizeof(fake), "%s/images/fake.jpg", root);
    write_text(fake, "this is text, not a JPEG\n");
    snprintf(p, sizeof(p), "%s/labels/fake.txt", root);
    write_text(p, "0 0.5 0.5 0.1 0.1\n");
    snprintf(badclass, sizeof(badclass), "%s/images/badclass.png", root);
    snprintf(p, sizeof(p), "cp '%s/images/good_0.png' '%s'", root, badclass);
    assert_int_equal(system(p), 0);
    snprintf(p, sizeof(p), "%s/labels/badclass.txt", root);
    write_text(p, "1 0.5 0.5 0.1 0.1\n9 0.5 0.5 0.1 0.1\n");
    snprintf(missing, sizeof(missing), "%s/images/nolabel.png", root);
    snprintf(p, sizeof(p), "cp '%s/images/good_1.png' '%s'", root, missing);
    assert_int_equal(system(p), 0);
    snprintf(dir, sizeof(dir), "%s/images/adir.png", root);
    mkdir(dir, 0777);
    snprintf(p, sizeof(p), "%s/labels/adir.txt", root);
    write_text(p, "0 0.5 0.5 0.1 0.1\n");
    /* the entries whose lines are near 3000, 3700, 4200 and the last */
    char *bad[N] = {0};
    rng = 99; /* the same seed for both writes: the blank lines fall the same */
    write_list(N, NULL);
    int at[4] = {0};
    int targets[4] = {3000, 3700, 4200, expect_line[N - 1]};
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < N; i++)
            if (expect_line[i] >= targets[t]) {
                at[t] = i;
                break;
            }
    at[3] = N - 1;
    bad[at[0]] = fake, bad[at[1]] = badclass, bad[at[2]] = missing, bad[at[3]] = dir;
    rng = 99;
    write_list(N, bad);
    char want[1 << 16];
    snprintf(want, sizeof(want),
             "error: %s: the image is missing or does not decode (line %d of %s)\n"
             "error: %s/labels/badclass.txt:2: class '9' is not an integer in 0..%d\n"
             "error: %s/labels/nolabel.txt: cannot open the label file: No such file or directory (the labels of %s, line %d of %s)\n"
             "error: %s: is a directory, where an image should be (line %d of %s)\n",
             fake, expect_line[at[0]], list_path, root, CLASSES - 1, root, missing, expect_line[at[2]], list_path, dir,
             expect_line[at[3]], list_path);
    int problems1, problems2;
    char *one = run_check(1, 1, &problems1), *two = run_check(2, 1, &problems2);
    if (strcmp(two, want)) print_error("got:\n%s\nwant:\n%s\n", two, want);
    assert_string_equal(two, want);
    assert_string_equal(one, two);
    assert_int_equal(problems2, 4);
    assert_int_equal(problems1, 4);
    free(one);
    free(two);
    /* images only: the missing label and the bad class are not looked at */
    snprintf(want, sizeof(want),
             "error: %s: the image is missing or does not decode (line %d of %s)\n"
             "error: %s: is a directory, where an image should be (line %d of %s)\n",
             fake, expect_line[at[0]], list_path, dir, expect_line[at[3]], list_path);
    two = run_check(2, 0, &problems2);
    assert_string_equal(two, want);
    assert_int_equal(problems2, 2);
    free(two);
}

/* 40 missing images spread over the list_path: the first 20 in list_path order, then the
 * stop, the same with 1 and 2 threads. */
static void test_stops_after_20(void **state)
{
    (void)state;
    static char names[40][1200];
    char *bad[N] = {0};
    int idx[40];
    for (int k = 0; k < 40; k++) {
        idx[k] = 37 + k * 123; /* ascending, all below N */
        snprintf(names[k], sizeof(names[k]), "%s/images/gone_%d.png", root, k);
        bad[idx[k]] = names[k];
    }
    rng = 7;
    write_list(N, bad);
    char want[1 << 16];
    /* each entry has two problems: the 10th brings the count to 20 */
    size_t len = 0;
    for (int k = 0; k < 10; k++)
        len += snprintf(want + len, sizeof(want) - len,
                        "error: %s: the image is missing or does not decode (line %d of %s)\n"
                        "error: %s/labels/gone_%d.txt: cannot open the label file: No such file or directory (the labels of %s, line %d of %s)\n",
                        names[k], expect_line[idx[k]], list_path, root, k, names[k], expect_line[idx[k]], list_path);
    snprintf(want + len, sizeof(want) - len, "error: stopped checking after 20 problems\n");
    int p1, p2;
    char *one = run_check(1, 1, &p1), *two = run_check(2, 1, &p2);
    assert_string_equal(two, want);
    assert_string_equal(one, two);
    assert_int_equal(p1, 20);
    assert_int_equal(p2, 20);
    free(one);
    free(two);
    /* images alone: one problem each, so 20 entries */
    len = 0;
    for (int k = 0; k < 20; k++)
        len += snprintf(want + len, sizeof(want) - len, "error: %s: the image is missing or does not decode (line %d of %s)\n",
                        names[k], expect_line[idx[k]], list_path);
    snprintf(want + len, sizeof(want) - len, "error: stopped checking after 20 problems\n");
    one = run_check(1, 0, &p1), two = run_check(2, 0, &p2);
    assert_string_equal(two, want);
    assert_string_equal(one, two);
    assert_int_equal(p2, 20);
    free(one);
    free(two);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_problems_name_the_line),
        cmocka_unit_test(test_stops_after_20),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
