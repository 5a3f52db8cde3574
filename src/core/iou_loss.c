/* iou_loss.c: IoU, GIoU, DIoU and CIoU of two boxes, their exact gradients, and
 * AlexeyAB's [yolo] box delta expressed as that gradient plus his departures.
 * Computed in double; a box's edges are l = x - w/2, r = x + w/2, t = y - h/2,
 * b = y + h/2. */
#include "iou_loss.h"

#include <math.h>
#include <string.h>

static const char *const kind_names[] = {"mse", "iou", "giou", "diou", "ciou"};

int iou_kind_parse(const char *word)
{
    for (int k = 0; k < 5; k++)
        if (!strcmp(word, kind_names[k])) return k;
    return -1;
}

const char *iou_kind_name(iou_kind k)
{
    return kind_names[k];
}

/* The geometry of a pair: edges, the intersection, the union, the enclosing box. */
typedef struct {
    double l, r, t, b;       /* pred's edges */
    double tl, tr, tt, tb;   /* truth's edges */
    double iw, ih, inter, uni;
    double cw, ch;           /* the enclosing box */
} pair_geo;

static pair_geo geo_of(iou_box p, iou_box q)
{
    pair_geo g;
    g.l = p.x - p.w / 2.0, g.r = p.x + p.w / 2.0, g.t = p.y - p.h / 2.0, g.b = p.y + p.h / 2.0;
    g.tl = q.x - q.w / 2.0, g.tr = q.x + q.w / 2.0, g.tt = q.y - q.h / 2.0, g.tb = q.y + q.h / 2.0;
    g.iw = fmin(g.r, g.tr) - fmax(g.l, g.tl);
    g.ih = fmin(g.b, g.tb) - fmax(g.t, g.tt);
    g.inter = g.iw > 0 && g.ih > 0 ? g.iw * g.ih : 0;
    g.uni = (double)p.w * p.h + (double)q.w * q.h - g.inter;
    g.cw = fmax(g.r, g.tr) - fmin(g.l, g.tl);
    g.ch = fmax(g.b, g.tb) - fmin(g.t, g.tt);
    return g;
}

static double aspect_v(iou_box p, iou_box q)
{
    double d = atan((double)q.w / q.h) - atan((double)p.w / p.h);
    return 4.0 / (M_PI * M_PI) * d * d;
}

double iou_score(iou_box a, iou_box b, iou_kind k)
{
    pair_geo g = geo_of(a, b);
    double iou = g.uni > 0 ? g.inter / g.uni : 0;
    if (k == IOU_MSE || k == IOU_IOU) return iou;
    if (k == IOU_GIOU) {
        double c = g.cw * g.ch;
        return c > 0 ? iou - (c - g.uni) / c : iou;
    }
    double c2 = g.cw * g.cw + g.ch * g.ch;
    if (c2 <= 0) return iou;
    double s = ((double)a.x - b.x) * ((double)a.x - b.x) + ((double)a.y - b.y) * ((double)a.y - b.y);
    double score = iou - s / c2;
    if (k == IOU_CIOU) {
        double v = aspect_v(a, b), alpha = v / (1 - iou + v + 1e-6);
        score -= alpha * v;
    }
    return score;
}

/* Derivatives with respect to the four edges (l, r, t, b) turned into x, y, w, h. */
static void edges_to_xywh(double dl, double dr, double dt, double db, double g[4])
{
    g[0] = dl + dr;
    g[1] = dt + db;
    g[2] = 0.5 * (dr - dl);
    g[3] = 0.5 * (db - dt);
}

/* The IoU part (with GIoU's enclosing-box term for IOU_GIOU), the d^2/c^2 part with
 * the c^2 term of dx, dy apart (cterm), and the aspect part, all exact. */
static void parts(iou_box p, iou_box q, iou_kind k, double ip[4], double dp[4], double cterm[2], double ap[4])
{
    pair_geo g = geo_of(p, q);
    memset(ip, 0, 4 * sizeof(double));
    memset(dp, 0, 4 * sizeof(double));
    memset(ap, 0, 4 * sizeof(double));
    cterm[0] = cterm[1] = 0;
    /* edges: dX (pred's area), dI (the intersection), dC (the enclosing box's sides) */
    double dx_l = -p.h, dx_r = p.h, dx_t = -p.w, dx_b = p.w;
    int over = g.iw > 0 && g.ih > 0;
    double di_l = over && g.l > g.tl ? -g.ih : 0, di_r = over && g.r < g.tr ? g.ih : 0;
    double di_t = over && g.t > g.tt ? -g.iw : 0, di_b = over && g.b < g.tb ? g.iw : 0;
    double dcw_l = g.l < g.tl ? -1 : 0, dcw_r = g.r > g.tr ? 1 : 0;
    double dch_t = g.t < g.tt ? -1 : 0, dch_b = g.b > g.tb ? 1 : 0;
    double U = g.uni, I = g.inter;
    double e[4] = {0, 0, 0, 0}; /* l, r, t, b */
    double dX[4] = {dx_l, dx_r, dx_t, dx_b}, dI[4] = {di_l, di_r, di_t, di_b};
    if (U > 0)
        for (int i = 0; i < 4; i++) e[i] = (dI[i] * U - I * (dX[i] - dI[i])) / (U * U);
    if (k == IOU_GIOU) {
        double C = g.cw * g.ch;
        double dC[4] = {dcw_l * g.ch, dcw_r * g.ch, dch_t * g.cw, dch_b * g.cw};
        if (C > 0)
            for (int i = 0; i < 4; i++) e[i] += ((dX[i] - dI[i]) * C - U * dC[i]) / (C * C);
    }
    edges_to_xywh(e[0], e[1], e[2], e[3], ip);
    if (k != IOU_DIOU && k != IOU_CIOU) return;
    double c2 = g.cw * g.cw + g.ch * g.ch;
    if (c2 <= 0) return;
    double s = ((double)p.x - q.x) * ((double)p.x - q.x) + ((double)p.y - q.y) * ((double)p.y - q.y);
    double dc2[4];
    edges_to_xywh(2 * g.cw * dcw_l, 2 * g.cw * dcw_r, 2 * g.ch * dch_t, 2 * g.ch * dch_b, dc2);
    /* d(-s/c2) = -ds/c2 + s dc2/c2^2 */
    cterm[0] = s * dc2[0] / (c2 * c2);
    cterm[1] = s * dc2[1] / (c2 * c2);
    dp[0] = -2.0 * (p.x - q.x) / c2 + cterm[0];
    dp[1] = -2.0 * (p.y - q.y) / c2 + cterm[1];
    dp[2] = s * dc2[2] / (c2 * c2);
    dp[3] = s * dc2[3] / (c2 * c2);
    if (k != IOU_CIOU) return;
    double iou = U > 0 ? I / U : 0, v = aspect_v(p, q), alpha = v / (1 - iou + v + 1e-6);
    double delta = atan((double)q.w / q.h) - atan((double)p.w / p.h);
    double n2 = (double)p.w * p.w + (double)p.h * p.h;
    /* d(-alpha v)/dw = alpha 8/pi^2 delta h / (w^2 + h^2); /dh with -w */
    ap[2] = alpha * 8.0 / (M_PI * M_PI) * delta * p.h / n2;
    ap[3] = -alpha * 8.0 / (M_PI * M_PI) * delta * p.w / n2;
}

void iou_grad_parts(iou_box pred, iou_box truth, iou_kind k, double iou_part[4], double dist_part[4],
                    double aspect_part[4])
{
    double cterm[2];
    parts(pred, truth, k, iou_part, dist_part, cterm, aspect_part);
}

void iou_score_grad(iou_box pred, iou_box truth, iou_kind k, double g[4])
{
    double ip[4], dp[4], ap[4], cterm[2];
    parts(pred, truth, k, ip, dp, cterm, ap);
    for (int i = 0; i < 4; i++) g[i] = ip[i] + dp[i] + ap[i];
}

void iou_delta_alexeyab(iou_box pred, iou_box truth, iou_kind k, float d[4])
{
    double ip[4], dp[4], ap[4], cterm[2];
    parts(pred, truth, k, ip, dp, cterm, ap);
    double n2 = (double)pred.w * pred.w + (double)pred.h * pred.h;
    d[0] = (float)(ip[0] + dp[0] - 2 * cterm[0]);
    d[1] = (float)(ip[1] + dp[1] - 2 * cterm[1]);
    d[2] = (float)(2 * ip[2] + dp[2] + ap[2] * n2);
    d[3] = (float)(2 * ip[3] + dp[3] + ap[3] * n2);
}

double iou_diou_nms(iou_box a, iou_box b, double beta)
{
    pair_geo g = geo_of(a, b);
    double iou = g.uni > 0 ? g.inter / g.uni : 0, c2 = g.cw * g.cw + g.ch * g.ch;
    if (c2 <= 0) return iou;
    double d2 = ((double)a.x - b.x) * ((double)a.x - b.x) + ((double)a.y - b.y) * ((double)a.y - b.y);
    return iou - pow(d2 / c2, beta);
}
