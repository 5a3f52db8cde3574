/* chart.h: the training chart, a PNG drawn with cairo and kept up to date while
 * `detector train` runs: loss and average loss (log scale) with mAP on a second
 * axis, the [ohem] mean loss of the kept and of all candidates, the learning rate,
 * and the iteration and time left as text. Memory stays bounded: each series keeps
 * at most CHART_MAX_POINTS points, the min and max of buckets of raw points. */
#ifndef OHEM_CHART_H
#define OHEM_CHART_H

/* Points a series keeps (two per bucket). */
#define CHART_MAX_POINTS 4096

typedef struct {
    long x; /* iteration */
    float y;
} chart_point;

/* A series decimated by buckets: every bucket holds `stride` consecutive raw points
 * and keeps two of them, its minimum and its maximum (in iteration order; the same
 * point twice when the bucket has one). When the buckets fill the capacity, pairs of
 * neighbours merge into one (stride doubles), so the bucket j always covers raw
 * points [j * stride, (j + 1) * stride). The bucket being filled, and the first and
 * last raw points, are kept beside them. */
typedef struct {
    chart_point *p; /* 2 points per complete bucket */
    int n, cap;     /* points used, capacity (even, >= 4) */
    long stride;    /* raw points per bucket */
    long pending;   /* raw points in the bucket being filled */
    chart_point lo, hi;
    chart_point first, last;
    long count; /* raw points added */
} chart_series;

/* cap points at most (rounded down to a multiple of 4, at least 4). Returns 0, or -1
 * when memory runs out. */
int chart_series_init(chart_series *s, int cap);
void chart_series_add(chart_series *s, long x, float y);
/* The points to draw, in iteration order: the first raw point, the buckets' points,
 * the pending bucket's min and max, the last raw point. out holds s->cap + 4 points.
 * Returns the count. */
int chart_series_points(const chart_series *s, chart_point *out);
void chart_series_free(chart_series *s);

typedef struct chart chart;

/* A chart written to path (a PNG) on each chart_draw. title names the run (the cfg's
 * name). Returns NULL when memory runs out. */
chart *chart_init(const char *path, const char *title);

/* One iteration: loss and its running average; kept and all are the [ohem] mean
 * loss per candidate of the kept and of all candidates (NAN without [ohem]). */
void chart_add_loss(chart *c, long it, float loss, float avg, float kept, float all);
/* mAP (0..1) measured at iteration it. */
void chart_add_map(chart *c, long it, float map);
/* The learning rate in force at iteration it. */
void chart_set_lr(chart *c, long it, float lr);
/* Where training is: iteration it of max, seconds_left estimated. */
void chart_set_progress(chart *c, long it, long max, double seconds_left);

/* Draws the chart into its PNG through a temporary file in the same folder and a
 * rename, so the path holds either the previous picture or the new one whole.
 * Returns 0, or -1 after printing an error naming the file. */
int chart_draw(chart *c);

/* chart_draw when at least 10 iterations and 5 seconds (now, in seconds) have
 * passed since the last draw by chart_update, or since its first call. A failed
 * write is reported once (until a write succeeds again), with a warning that
 * training goes on. Returns 1 when it drew, 0 when not, -1 on a failed write. */
int chart_update(chart *c, long it, double now);

void chart_free(chart *c);

/* The drawing's geometry, for tests: the loss panel's plot rectangle in pixels and
 * its axes (the loss axis is log10; mAP is 0..1 on the right), and the size. */
typedef struct {
    int width, height;
    double left, top, right, bottom; /* loss panel plot area */
    long x_min, x_max;               /* iteration axis, every panel */
    double loss_min, loss_max;       /* log10 axis of the loss panel */
} chart_layout;
void chart_get_layout(const chart *c, chart_layout *out);

/* The colours of the series (RGB 0..255), for tests. */
enum { CHART_RGB_LOSS = 0xa6c8ea, CHART_RGB_AVG = 0x1f4e9c, CHART_RGB_MAP = 0xd62728,
       CHART_RGB_LR = 0x2ca02c, CHART_RGB_KEPT = 0xe67e00, CHART_RGB_ALL = 0x7f7f7f };

#endif
