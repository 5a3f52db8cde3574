/* chart.c: the training chart (chart.h), drawn with cairo into a PNG. */
#include "chart.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int chart_series_init(chart_series *s, int cap)
{
    memset(s, 0, sizeof(*s));
    cap = cap < 4 ? 4 : cap / 4 * 4;
    s->p = malloc(sizeof(*s->p) * cap);
    if (!s->p) return -1;
    s->cap = cap;
    s->stride = 1;
    return 0;
}

void chart_series_free(chart_series *s)
{
    free(s->p);
    memset(s, 0, sizeof(*s));
}

/* Writes the minimum and the maximum of the n points in (in iteration order; the
 * first occurrence wins a tie) to out[0], out[1], in iteration order. */
static void min_max(const chart_point *in, int n, chart_point *out)
{
    chart_point lo = in[0], hi = in[0];
    for (int i = 1; i < n; i++) {
        if (in[i].y < lo.y) lo = in[i];
        if (in[i].y > hi.y) hi = in[i];
    }
    out[0] = lo.x <= hi.x ? lo : hi;
    out[1] = lo.x <= hi.x ? hi : lo;
}

/* Merges neighbouring buckets pairwise: n points (a multiple of 4) become n / 2, and
 * the stride doubles. */
static void compact(chart_series *s)
{
    for (int j = 0; j < s->n / 4; j++) {
        chart_point four[4];
        memcpy(four, s->p + 4 * j, sizeof(four));
        min_max(four, 4, s->p + 2 * j);
    }
    s->n /= 2;
    s->stride *= 2;
}

void chart_series_add(chart_series *s, long x, float y)
{
    if (!isfinite(y)) return;
    chart_point q = {x, y};
    if (s->count++ == 0) s->first = q;
    s->last = q;
    if (s->pending == 0) s->lo = s->hi = q;
    if (y < s->lo.y) s->lo = q;
    if (y > s->hi.y) s->hi = q;
    if (++s->pending < s->stride) return;
    chart_point two[2] = {s->lo, s->hi};
    min_max(two, 2, s->p + s->n);
    s->n += 2;
    s->pending = 0;
    if (s->n == s->cap) compact(s);
}

int chart_series_points(const chart_series *s, chart_point *out)
{
    int k = 0;
    if (!s->count) return 0;
    out[k++] = s->first;
    memcpy(out + k, s->p, sizeof(*out) * s->n);
    k += s->n;
    if (s->pending) {
        chart_point two[2] = {s->lo, s->hi};
        min_max(two, 2, out + k);
        k += 2;
    }
    out[k++] = s->last;
    return k;
}

enum { S_LOSS, S_AVG, S_KEPT, S_ALL, S_LR, S_MAP, S_COUNT };

struct chart {
    char *path, *title;
    chart_series s[S_COUNT];
    chart_point *buf; /* chart_series_points' output */
    long it, max;
    double seconds_left;
    long drawn_it;
    double drawn_at;
    int failed;
    chart_layout layout;
};

chart *chart_init(const char *path, const char *title)
{
    chart *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->path = strdup(path);
    c->title = strdup(title ? title : "");
    c->buf = malloc(sizeof(*c->buf) * (CHART_MAX_POINTS + 4));
    int ok = c->path && c->title && c->buf;
    for (int i = 0; i < S_COUNT; i++)
        if (chart_series_init(&c->s[i], CHART_MAX_POINTS) != 0) ok = 0;
    c->drawn_it = -1;
    c->seconds_left = -1;
    if (!ok) {
        chart_free(c);
        return NULL;
    }
    return c;
}

void chart_free(chart *c)
{
    if (!c) return;
    for (int i = 0; i < S_COUNT; i++) chart_series_free(&c->s[i]);
    free(c->buf);
    free(c->path);
    free(c->title);
    free(c);
}

void chart_add_loss(chart *c, long it, float loss, float avg, float kept, float all)
{
    chart_series_add(&c->s[S_LOSS], it, loss);
    chart_series_add(&c->s[S_AVG], it, avg);
    chart_series_add(&c->s[S_KEPT], it, kept);
    chart_series_add(&c->s[S_ALL], it, all);
    if (it > c->it) c->it = it;
}

void chart_add_map(chart *c, long it, float map)
{
    chart_series_add(&c->s[S_MAP], it, map);
}

void chart_set_lr(chart *c, long it, float lr)
{
    chart_series_add(&c->s[S_LR], it, lr);
}

void chart_set_progress(chart *c, long it, long max, double seconds_left)
{
    c->it = it;
    c->max = max;
    c->seconds_left = seconds_left;
}

void chart_get_layout(const chart *c, chart_layout *out)
{
    *out = c->layout;
}

/* ---- drawing ---- */

static void set_rgb(cairo_t *cr, int rgb)
{
    cairo_set_source_rgb(cr, (rgb >> 16 & 255) / 255.0, (rgb >> 8 & 255) / 255.0, (rgb & 255) / 255.0);
}

/* The step of about n ticks over range: 1, 2 or 5 times a power of ten. */
static double nice_step(double range, int n)
{
    double raw = range / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return p * (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10);
}

/* The largest (down) or smallest (up) of 1, 2, 5 times a power of ten around v > 0. */
static double nice_round(double v, int up)
{
    double p = pow(10, floor(log10(v)));
    static const double m[] = {1, 2, 5, 10};
    if (up) {
        for (int i = 0; i < 4; i++)
            if (m[i] * p >= v * (1 - 1e-6)) return m[i] * p;
        return 10 * p;
    }
    for (int i = 3; i >= 0; i--)
        if (m[i] * p <= v * (1 + 1e-6)) return m[i] * p;
    return p;
}

/* The top of a linear axis from lo showing hi with a little room: the next multiple
 * of its tick step above 1.05 hi. */
static double linear_top(double lo, double hi)
{
    if (!(hi > lo)) hi = lo + 1;
    double step = nice_step(1.05 * hi - lo, 4);
    return lo + ceil((1.05 * hi - lo) / step) * step;
}

static void tick_label(double v, char *out, size_t cap)
{
    double a = fabs(v);
    if (a >= 1e6 && fmod(a, 1e5) == 0) snprintf(out, cap, "%gM", v / 1e6);
    else if (a >= 1e4 && fmod(a, 100) == 0) snprintf(out, cap, "%gk", v / 1e3);
    else snprintf(out, cap, "%g", v);
}

/* Text at (x, y); ax, ay: 0 left/top, 0.5 centre, 1 right/bottom of the text. */
static void text_at(cairo_t *cr, double x, double y, double ax, double ay, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - e.x_bearing - ax * e.width, y - e.y_bearing - ay * e.height);
    cairo_show_text(cr, s);
}

typedef struct {
    double left, top, right, bottom;
    long x0, x1;
    double y0, y1; /* bottom and top values (log10 when logy) */
    int logy;
} panel;

static double px(const panel *p, double x)
{
    return p->left + (x - p->x0) / (double)(p->x1 - p->x0) * (p->right - p->left);
}

static double py(const panel *p, double y, double y0, double y1, int logy)
{
    if (logy) y = y > 0 ? log10(y) : y0;
    if (y < y0) y = y0;
    if (y > y1) y = y1;
    return p->bottom - (y - y0) / (y1 - y0) * (p->bottom - p->top);
}

/* A light grid line across p at device height Y, and its label left of the axis. */
static void y_gridline(cairo_t *cr, const panel *p, double Y, const char *label)
{
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, p->left, Y);
    cairo_line_to(cr, p->right, Y);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text_at(cr, p->left - 5, Y, 1, 0.5, label);
}

/* The frame, the grid, the iteration ticks (labelled when labels) and the left axis
 * ticks of p, and its axis title. */
static void draw_frame(cairo_t *cr, const panel *p, int labels, const char *ytitle)
{
    char s[32];
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    double step = nice_step((double)(p->x1 - p->x0), 8);
    for (double x = ceil(p->x0 / step) * step; x <= p->x1 + 1e-9; x += step) {
        double X = floor(px(p, x)) + 0.5;
        cairo_move_to(cr, X, p->top);
        cairo_line_to(cr, X, p->bottom);
    }
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_font_size(cr, 11);
    if (labels)
        for (double x = ceil(p->x0 / step) * step; x <= p->x1 + 1e-9; x += step) {
            tick_label(x, s, sizeof(s));
            text_at(cr, px(p, x), p->bottom + 5, 0.5, 0, s);
        }
    /* left axis: decades (and 2, 5 between when the range is short) or linear steps */
    if (p->logy) {
        int dense = p->y1 - p->y0 <= 2.01;
        for (int k = (int)floor(p->y0); k <= (int)ceil(p->y1); k++)
            for (int m = 1; m <= 5; m += m == 1 ? 1 : 3) {
                if (m > 1 && !dense) continue;
                double v = m * pow(10, k), lv = log10(v);
                if (lv < p->y0 - 1e-9 || lv > p->y1 + 1e-9) continue;
                tick_label(v, s, sizeof(s));
                y_gridline(cr, p, floor(py(p, v, p->y0, p->y1, 1)) + 0.5, s);
            }
    } else {
        double ystep = nice_step(p->y1 - p->y0, 4);
        for (double y = ceil(p->y0 / ystep) * ystep; y <= p->y1 + 1e-9 * ystep; y += ystep) {
            snprintf(s, sizeof(s), "%.3g", fabs(y) < 1e-12 * ystep ? 0.0 : y);
            y_gridline(cr, p, floor(py(p, y, p->y0, p->y1, 0)) + 0.5, s);
        }
    }
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_rectangle(cr, p->left + 0.5, p->top + 0.5, p->right - p->left - 1, p->bottom - p->top - 1);
    cairo_stroke(cr);
    cairo_save(cr);
    cairo_set_font_size(cr, 12);
    cairo_translate(cr, 16, (p->top + p->bottom) / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, 0.5, 0.5, ytitle);
    cairo_restore(cr);
}

/* The polyline of series s in p, on the axis y0..y1 (log10 values when logy); dots
 * of radius dot at each point when dot > 0. */
static void draw_series(cairo_t *cr, chart *c, int which, const panel *p, double y0, double y1, int logy,
                        int rgb, double width, double dot)
{
    int n = chart_series_points(&c->s[which], c->buf);
    if (!n) return;
    cairo_save(cr);
    cairo_rectangle(cr, p->left, p->top, p->right - p->left, p->bottom - p->top);
    cairo_clip(cr);
    set_rgb(cr, rgb);
    cairo_set_line_width(cr, width);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (int i = 0; i < n; i++) {
        double X = px(p, c->buf[i].x), Y = py(p, c->buf[i].y, y0, y1, logy);
        if (i) cairo_line_to(cr, X, Y);
        else cairo_move_to(cr, X, Y);
    }
    if (n == 1) cairo_line_to(cr, px(p, c->buf[0].x) + 0.01, py(p, c->buf[0].y, y0, y1, logy));
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_stroke(cr);
    if (dot > 0) {
        for (int i = 0; i < n; i++) {
            cairo_new_sub_path(cr);
            cairo_arc(cr, px(p, c->buf[i].x), py(p, c->buf[i].y, y0, y1, logy), dot, 0, 2 * M_PI);
        }
        cairo_fill(cr);
    }
    cairo_restore(cr);
}

/* Points of the series which (on the axis y0..y1, log10 when logy) inside the box. */
static int points_in(chart *c, int which, const panel *p, double y0, double y1, int logy, double x, double y,
                     double w, double h)
{
    int n = chart_series_points(&c->s[which], c->buf), in = 0;
    for (int i = 0; i < n; i++) {
        double X = px(p, c->buf[i].x), Y = py(p, c->buf[i].y, y0, y1, logy);
        in += X >= x && X <= x + w && Y >= y && Y <= y + h;
    }
    return in;
}

/* A legend of n entries (colour and label) in the corner of p that hides the fewest
 * points of the panel's series (which[k] on axis y0[k]..y1[k]), top right first. */
static void draw_legend(cairo_t *cr, chart *c, const panel *p, int n, const int *rgb, const char *const *label,
                        int ns, const int *which, const double *y0, const double *y1, const int *logy)
{
    cairo_set_font_size(cr, 12);
    double w = 0;
    for (int i = 0; i < n; i++) {
        cairo_text_extents_t e;
        cairo_text_extents(cr, label[i], &e);
        if (e.x_advance > w) w = e.x_advance;
    }
    double bw = w + 40, bh = 18 * n + 8, x = p->right - bw - 8, y = p->top + 8;
    const double cx[4] = {x, p->left + 8, p->left + 8, x}, cy[4] = {y, y, p->bottom - bh - 8, p->bottom - bh - 8};
    int best = -1;
    for (int k = 0; k < 4; k++) {
        int hidden = 0;
        for (int i = 0; i < ns; i++) hidden += points_in(c, which[i], p, y0[i], y1[i], logy[i], cx[k], cy[k], bw, bh);
        if (best < 0 || hidden < best) best = hidden, x = cx[k], y = cy[k];
    }
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_rectangle(cr, x, y, bw, bh);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
        double Y = y + 13 + 18 * i;
        set_rgb(cr, rgb[i]);
        cairo_set_line_width(cr, 3);
        cairo_move_to(cr, x + 6, Y);
        cairo_line_to(cr, x + 26, Y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, x + 32, Y, 0, 0.5, label[i]);
    }
}

/* The range lo..hi (linear) of the series in which, from 0; NAN-free. */
static void series_range(const chart_series *s, double *lo, double *hi)
{
    for (int i = 0; i < s->n; i++) {
        if (s->p[i].y < *lo) *lo = s->p[i].y;
        if (s->p[i].y > *hi) *hi = s->p[i].y;
    }
    if (s->pending) {
        if (s->lo.y < *lo) *lo = s->lo.y;
        if (s->hi.y > *hi) *hi = s->hi.y;
    }
    if (s->count) {
        chart_point e[2] = {s->first, s->last};
        for (int i = 0; i < 2; i++) {
            if (e[i].y < *lo) *lo = e[i].y;
            if (e[i].y > *hi) *hi = e[i].y;
        }
    }
}

static void format_left(double s, char *out, size_t cap)
{
    long t = s > 0 && s < 1e9 ? (long)s : 0;
    if (t >= 3600) snprintf(out, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else snprintf(out, cap, "%ldm%02lds", t / 60, t % 60);
}

/* Draws the whole chart on a new surface; sets c->layout. */
static cairo_surface_t *render(chart *c)
{
    int has_ohem = c->s[S_KEPT].count > 0 || c->s[S_ALL].count > 0;
    int has_map = c->s[S_MAP].count > 0;
    const int W = 1000, top = 58, loss_h = 360, gap = 34, small_h = 110, bottom_margin = 52;
    int H = top + loss_h + gap + small_h + (has_ohem ? gap + small_h : 0) + bottom_margin;
    cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(sf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

    /* iteration axis: from the iteration before the first point to max */
    const chart_series *ls = &c->s[S_LOSS];
    long x0 = ls->count ? ls->first.x - 1 : 0, x1 = c->max > c->it ? c->max : c->it;
    if (x0 < 0) x0 = 0;
    if (x1 <= x0) x1 = x0 + 1;

    /* loss axis: log10, from the 1-2-5 value below the smallest to the one above
     * the largest point of loss and average */
    double lo = INFINITY, hi = -INFINITY;
    series_range(&c->s[S_LOSS], &lo, &hi);
    series_range(&c->s[S_AVG], &lo, &hi);
    if (!(hi > 0)) lo = 0.1, hi = 10;
    if (!(lo > 0)) lo = hi * 1e-3 < 1e-3 ? hi * 1e-3 : 1e-3;
    lo = nice_round(lo / 1.25, 0);
    hi = nice_round(hi * 1.25, 1);
    if (hi <= lo) hi = lo * 10;
    panel lp = {80, top, W - 74, top + loss_h, x0, x1, log10(lo), log10(hi), 1};
    c->layout = (chart_layout){W, H, lp.left, lp.top, lp.right, lp.bottom, x0, x1, lo, hi};

    /* title and progress */
    char line[512], left[32];
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 16);
    snprintf(line, sizeof(line), "detector train %s", c->title);
    text_at(cr, lp.left, 12, 0, 0, line);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 13);
    format_left(c->seconds_left, left, sizeof(left));
    int k = snprintf(line, sizeof(line), "iteration %ld of %ld", c->it, c->max);
    if (ls->count) k += snprintf(line + k, sizeof(line) - k, ", avg loss %.4g", c->s[S_AVG].last.y);
    if (has_map)
        k += snprintf(line + k, sizeof(line) - k, ", mAP@0.50 %.4f at %ld", c->s[S_MAP].last.y, c->s[S_MAP].last.x);
    if (c->seconds_left >= 0)
        snprintf(line + k, sizeof(line) - k, c->it >= c->max ? ", done" : ", %s left", left);
    text_at(cr, lp.left, 36, 0, 0, line);

    /* loss panel, mAP on the right axis */
    draw_frame(cr, &lp, 0, "loss (log scale)");
    if (has_map) {
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_set_font_size(cr, 11);
        for (int i = 0; i <= 5; i++) {
            char s[16];
            snprintf(s, sizeof(s), "%.1f", i / 5.0);
            set_rgb(cr, CHART_RGB_MAP);
            text_at(cr, lp.right + 5, py(&lp, i / 5.0, 0, 1, 0), 0, 0.5, s);
        }
        cairo_save(cr);
        cairo_set_font_size(cr, 12);
        cairo_translate(cr, W - 16, (lp.top + lp.bottom) / 2);
        cairo_rotate(cr, M_PI / 2);
        text_at(cr, 0, 0, 0.5, 0.5, "mAP@0.50");
        cairo_restore(cr);
    }
    draw_series(cr, c, S_LOSS, &lp, lp.y0, lp.y1, 1, CHART_RGB_LOSS, 2, 0);
    draw_series(cr, c, S_AVG, &lp, lp.y0, lp.y1, 1, CHART_RGB_AVG, 3, 0);
    if (has_map) draw_series(cr, c, S_MAP, &lp, 0, 1, 0, CHART_RGB_MAP, 2, 3.5);
    {
        const int rgb[] = {CHART_RGB_LOSS, CHART_RGB_AVG, CHART_RGB_MAP};
        const char *const label[] = {"loss", "average loss", "mAP@0.50 (right axis)"};
        const int which[] = {S_LOSS, S_AVG, S_MAP}, logy[] = {1, 1, 0};
        const double y0[] = {lp.y0, lp.y0, 0}, y1[] = {lp.y1, lp.y1, 1};
        draw_legend(cr, c, &lp, has_map ? 3 : 2, rgb, label, 3, which, y0, y1, logy);
    }

    /* [ohem] panel: mean loss per candidate, kept and all */
    double y = lp.bottom + gap;
    if (has_ohem) {
        double olo = 0, ohi = -INFINITY;
        series_range(&c->s[S_KEPT], &olo, &ohi);
        series_range(&c->s[S_ALL], &olo, &ohi);
        ohi = linear_top(olo, ohi);
        panel op = {lp.left, y, lp.right, y + small_h, x0, x1, olo, ohi, 0};
        draw_frame(cr, &op, 0, "[ohem] loss");
        draw_series(cr, c, S_ALL, &op, op.y0, op.y1, 0, CHART_RGB_ALL, 1.5, 0);
        draw_series(cr, c, S_KEPT, &op, op.y0, op.y1, 0, CHART_RGB_KEPT, 1.5, 0);
        const int rgb[] = {CHART_RGB_KEPT, CHART_RGB_ALL};
        const char *const label[] = {"kept candidates (mean)", "all candidates (mean)"};
        const int which[] = {S_KEPT, S_ALL}, logy[] = {0, 0};
        const double y0[] = {op.y0, op.y0}, y1[] = {op.y1, op.y1};
        draw_legend(cr, c, &op, 2, rgb, label, 2, which, y0, y1, logy);
        y += small_h + gap;
    }

    /* learning-rate panel, with the iteration labels */
    double rlo = 0, rhi = -INFINITY;
    series_range(&c->s[S_LR], &rlo, &rhi);
    rhi = linear_top(rlo, rhi > rlo ? rhi : 1e-3);
    panel rp = {lp.left, y, lp.right, y + small_h, x0, x1, rlo, rhi, 0};
    draw_frame(cr, &rp, 1, "learning rate");
    draw_series(cr, c, S_LR, &rp, rp.y0, rp.y1, 0, CHART_RGB_LR, 2, 0);
    {
        const int rgb[] = {CHART_RGB_LR};
        const char *const label[] = {"learning rate"};
        const int which[] = {S_LR}, logy[] = {0};
        draw_legend(cr, c, &rp, 1, rgb, label, 1, which, &rp.y0, &rp.y1, logy);
    }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_font_size(cr, 12);
    text_at(cr, (rp.left + rp.right) / 2, rp.bottom + 24, 0.5, 0, "iteration");
    cairo_destroy(cr);
    cairo_surface_flush(sf);
    return sf;
}

/* chart_draw, with the error printed only when report. */
static int draw_file(chart *c, int report)
{
    cairo_surface_t *sf = render(c);
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", c->path, (int)getpid());
    cairo_status_t st = cairo_surface_status(sf);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_write_to_png(sf, tmp);
    cairo_surface_destroy(sf);
    if (st != CAIRO_STATUS_SUCCESS) {
        int e = errno;
        if (report)
            fprintf(stderr, "error: %s: could not write the chart: %s (%s)\n", c->path, cairo_status_to_string(st),
                st == CAIRO_STATUS_WRITE_ERROR && e ? strerror(e) : "cairo");
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, c->path) != 0) {
        if (report) fprintf(stderr, "error: %s: could not write the chart: %s\n", c->path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int chart_draw(chart *c)
{
    return draw_file(c, 1);
}

int chart_update(chart *c, long it, double now)
{
    if (c->drawn_it < 0) {
        c->drawn_it = it;
        c->drawn_at = now;
        return 0;
    }
    if (it - c->drawn_it < 10 || now - c->drawn_at < 5) return 0;
    c->drawn_it = it;
    c->drawn_at = now;
    /* a failed write is reported once until a write succeeds again */
    if (draw_file(c, !c->failed) == 0) {
        if (c->failed) fprintf(stderr, "%s: the chart is written again\n", c->path);
        c->failed = 0;
        return 1;
    }
    if (!c->failed++) fprintf(stderr, "warning: training goes on; the chart is tried again every 10 iterations\n");
    return -1;
}
