/* test_chart.c: the training chart. Decimation against a brute-force min/max per
 * bucket; the picture read back with cairo and checked at pixels placed by the
 * test's own mapping from iteration and value; the axes covering the data; the
 * throttle; and the atomic write, with a second process reading the file while
 * it is rewritten. */
#include <cairo.h>
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "chart.h"

#define TMP "tests/tmp/chart"

static uint32_t rng = 12345;
static float next_float(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return (float)(rng % 100000) / 1000.0f;
}

/* The min and max (first occurrence) of ys[a..b), as points ordered by x = index + 1. */
static void brute_min_max(const float *ys, long a, long b, chart_point *out)
{
    long lo = a, hi = a;
    for (long i = a + 1; i < b; i++) {
        if (ys[i] < ys[lo]) lo = i;
        if (ys[i] > ys[hi]) hi = i;
    }
    long first = lo < hi ? lo : hi, second = lo < hi ? hi : lo;
    out[0] = (chart_point){first + 1, ys[first]};
    out[1] = (chart_point){second + 1, ys[second]};
}

static void check_series(long n, int cap)
{
    float *ys = malloc(sizeof(*ys) * n);
    chart_series s;
    assert_int_equal(chart_series_init(&s, cap), 0);
    for (long i = 0; i < n; i++) {
        ys[i] = next_float();
        chart_series_add(&s, i + 1, ys[i]);
    }
    assert_true(s.n <= s.cap);
    assert_int_equal(s.count, n);
    /* every complete bucket keeps exactly the min and max of its raw points */
    long buckets = s.n / 2;
    assert_int_equal(buckets * s.stride + s.pending, n);
    for (long j = 0; j < buckets; j++) {
        chart_point want[2];
        brute_min_max(ys, j * s.stride, (j + 1) * s.stride, want);
        for (int k = 0; k < 2; k++)
            if (s.p[2 * j + k].x != want[k].x || s.p[2 * j + k].y != want[k].y)
                fail_msg("n %ld cap %d stride %ld bucket %ld point %d: (%ld, %g), want (%ld, %g)", n, cap, s.stride, j, k,
                         s.p[2 * j + k].x, s.p[2 * j + k].y, want[k].x, want[k].y);
    }
    /* the drawn points: the first raw point, the buckets, the pending bucket's min
     * and max, the last raw point */
    chart_point *out = malloc(sizeof(*out) * (s.cap + 4));
    int m = chart_series_points(&s, out);
    assert_true(m <= s.cap + 4);
    assert_true(out[0].x == 1 && out[0].y == ys[0]);
    assert_true(out[m - 1].x == n && out[m - 1].y == ys[n - 1]);
    if (s.pending) {
        chart_point want[2];
        brute_min_max(ys, buckets * s.stride, n, want);
        assert_true(out[m - 3].x == want[0].x && out[m - 2].x == want[1].x);
    }
    for (int i = 1; i < m; i++) assert_true(out[i].x >= out[i - 1].x);
    /* the envelope: the drawn min and max are those of all the raw points */
    float lo = INFINITY, hi = -INFINITY, dlo = INFINITY, dhi = -INFINITY;
    for (long i = 0; i < n; i++) lo = fminf(lo, ys[i]), hi = fmaxf(hi, ys[i]);
    for (int i = 0; i < m; i++) dlo = fminf(dlo, out[i].y), dhi = fmaxf(dhi, out[i].y);
    assert_true(lo == dlo && hi == dhi);
    free(out);
    free(ys);
    chart_series_free(&s);
}

static void test_decimation(void **state)
{
    (void)state;
    static const long sizes[] = {1, 2, 3, 63, 64, 65, 127, 128, 129, 1000, 4097, 10007};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
        check_series(sizes[i], 64);
        check_series(sizes[i], 16);
    }
    check_series(5000, CHART_MAX_POINTS);
}

/* A 500,000-iteration run keeps its memory flat and draws. */
static void test_long_run(void **state)
{
    (void)state;
    mkdir("tests/tmp", 0777);
    mkdir(TMP, 0777);
    chart *c = chart_init(TMP "/long.png", "long");
    assert_non_null(c);
    for (long it = 1; it <= 500000; it++) {
        float loss = 1000.0f / sqrtf((float)it) + next_float() / 100;
        chart_add_loss(c, it, loss, loss, loss / 2, loss / 3);
        chart_set_lr(c, it, 1e-3f);
        if (it % 1000 == 0) chart_add_map(c, it, 0.5f);
    }
    chart_set_progress(c, 500000, 500000, 0);
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    assert_int_equal(chart_draw(c), 0);
    double t = (double)clock() / CLOCKS_PER_SEC - t0;
    if (t > 2) fail_msg("drawing 500,000 iterations took %.2f s of CPU", t);
    chart_layout L;
    chart_get_layout(c, &L);
    assert_true(L.x_min == 0 && L.x_max == 500000);
    chart_free(c);
}

/* The colour at (x, y) as 0xRRGGBB. */
static int pixel(cairo_surface_t *sf, int x, int y)
{
    const unsigned char *d = cairo_image_surface_get_data(sf);
    uint32_t v = *(const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(sf) + 4 * x);
    return (int)(v & 0xffffff);
}

static int near(int a, int b)
{
    for (int sh = 0; sh < 24; sh += 8)
        if (abs((a >> sh & 255) - (b >> sh & 255)) > 8) return 0;
    return 1;
}

/* 1 when a pixel within 1 of (x, y) has colour rgb. */
static int has_colour(cairo_surface_t *sf, double x, double y, int rgb)
{
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
            if (near(pixel(sf, (int)floor(x) + dx, (int)floor(y) + dy), rgb)) return 1;
    return 0;
}

static void test_pixels(void **state)
{
    (void)state;
    mkdir("tests/tmp", 0777);
    mkdir(TMP, 0777);
    const char *path = TMP "/pixels.png";
    chart *c = chart_init(path, "pixels");
    assert_non_null(c);
    /* loss 5 at iteration 1, then 80 up to 100 and 40 up to 200; average 20 throughout;
     * mAP 0.3 at 100 and 0.9 at 150 */
    for (long it = 1; it <= 200; it++) {
        chart_add_loss(c, it, it == 1 ? 5 : it <= 100 ? 80 : 40, 20, NAN, NAN);
        chart_set_lr(c, it, 1e-3f);
    }
    chart_add_map(c, 100, 0.3f);
    chart_add_map(c, 150, 0.9f);
    chart_set_progress(c, 200, 300, 100);
    assert_int_equal(chart_draw(c), 0);
    chart_layout L;
    chart_get_layout(c, &L);
    chart_free(c);

    /* the axes cover the data: iterations 1..300 (max), loss 5..80 */
    assert_true(L.x_min <= 1 && L.x_max >= 300);
    assert_true(L.loss_min > 0 && L.loss_min <= 5 && L.loss_max >= 80);

    cairo_surface_t *sf = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(sf), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(sf), L.width);
    assert_int_equal(cairo_image_surface_get_height(sf), L.height);
    cairo_surface_flush(sf);
#define X(it) (L.left + ((it) - L.x_min) / (double)(L.x_max - L.x_min) * (L.right - L.left))
#define Y(v) (L.bottom - (log10(v) - log10(L.loss_min)) / (log10(L.loss_max) - log10(L.loss_min)) * (L.bottom - L.top))
#define YMAP(v) (L.bottom - (v) * (L.bottom - L.top))
    if (!has_colour(sf, X(30), Y(80), CHART_RGB_LOSS)) fail_msg("no loss colour at iteration 30, loss 80");
    if (!has_colour(sf, X(170), Y(40), CHART_RGB_LOSS)) fail_msg("no loss colour at iteration 170, loss 40");
    if (!has_colour(sf, X(30), Y(20), CHART_RGB_AVG)) fail_msg("no average colour at iteration 30, 20");
    if (!has_colour(sf, X(150), YMAP(0.9), CHART_RGB_MAP)) fail_msg("no mAP colour at iteration 150, 0.9");
    if (!has_colour(sf, X(100), YMAP(0.3), CHART_RGB_MAP)) fail_msg("no mAP colour at iteration 100, 0.3");
    /* and not elsewhere: the curves are where the mapping puts them */
    if (has_colour(sf, X(30), Y(80) + 6, CHART_RGB_LOSS)) fail_msg("loss colour 6 pixels below the loss line");
    if (has_colour(sf, X(30), Y(40), CHART_RGB_LOSS)) fail_msg("loss colour at iteration 30, loss 40");
    if (has_colour(sf, X(250), Y(40), CHART_RGB_LOSS)) fail_msg("loss colour past the last iteration");
    if (has_colour(sf, X(30), Y(20) - 6, CHART_RGB_AVG)) fail_msg("average colour 6 pixels above its line");
    cairo_surface_destroy(sf);
}

/* No file but the final name is left, and the final name is always a whole PNG:
 * a child reads it back in a loop while the parent redraws it. */
static void test_atomic(void **state)
{
    (void)state;
    mkdir("tests/tmp", 0777);
    mkdir(TMP, 0777);
    const char *dir = TMP "/atomic";
    mkdir(dir, 0777);
    char path[256];
    snprintf(path, sizeof(path), "%s/chart.png", dir);
    chart *c = chart_init(path, "atomic");
    assert_non_null(c);
    assert_int_equal(chart_draw(c), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int bad = 0;
        for (int i = 0; i < 150; i++) {
            cairo_surface_t *sf = cairo_image_surface_create_from_png(path);
            if (cairo_surface_status(sf) != CAIRO_STATUS_SUCCESS) bad++;
            cairo_surface_destroy(sf);
        }
        _exit(bad ? 1 : 0);
    }
    for (long it = 1; it <= 25; it++) {
        for (int k = 0; k < 50; k++) chart_add_loss(c, 50 * it + k, 100.0f / (float)it, 90.0f / (float)it, 3, 1);
        chart_set_progress(c, 50 * it + 49, 5000, 1000);
        assert_int_equal(chart_draw(c), 0);
        /* nothing else in the folder after each write */
        DIR *d = opendir(dir);
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.' && strcmp(e->d_name, "chart.png")) fail_msg("left in %s: %s", dir, e->d_name);
        closedir(d);
        cairo_surface_t *sf = cairo_image_surface_create_from_png(path);
        assert_int_equal(cairo_surface_status(sf), CAIRO_STATUS_SUCCESS);
        cairo_surface_destroy(sf);
    }
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("the reader saw a partial or missing %s", path);
    /* a folder that does not exist: an error, and nothing written */
    chart *bad = chart_init(TMP "/no/such/dir/chart.png", "bad");
    assert_int_equal(chart_draw(bad), -1);
    chart_free(bad);
    chart_free(c);
}

static void test_throttle(void **state)
{
    (void)state;
    mkdir("tests/tmp", 0777);
    mkdir(TMP, 0777);
    chart *c = chart_init(TMP "/throttle.png", "throttle");
    assert_non_null(c);
    assert_int_equal(chart_update(c, 1, 100.0), 0);  /* the clock starts */
    assert_int_equal(chart_update(c, 10, 200.0), 0); /* 9 iterations */
    assert_int_equal(chart_update(c, 11, 104.9), 0); /* 4.9 seconds */
    assert_int_equal(chart_update(c, 11, 105.0), 1);
    assert_int_equal(chart_update(c, 20, 500.0), 0);
    assert_int_equal(chart_update(c, 21, 109.0), 0);
    assert_int_equal(chart_update(c, 21, 110.0), 1);
    chart_free(c);
    /* a place that cannot be written: -1 at each due update, nothing between */
    c = chart_init(TMP "/no/such/dir/throttle.png", "throttle");
    assert_non_null(c);
    assert_int_equal(chart_update(c, 1, 100.0), 0);
    assert_int_equal(chart_update(c, 11, 105.0), -1);
    assert_int_equal(chart_update(c, 12, 200.0), 0);
    assert_int_equal(chart_update(c, 21, 200.0), -1);
    chart_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimation),
        cmocka_unit_test(test_long_run),
        cmocka_unit_test(test_pixels),
        cmocka_unit_test(test_atomic),
        cmocka_unit_test(test_throttle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
