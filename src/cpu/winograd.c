/* winograd.c: 3 x 3, stride-1, pad-1 convolutions by Winograd's minimal filtering
 * F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks").
 *
 * Each 2 x 2 block of outputs (a tile) of filter f is A' [sum over channels c of
 * (G g G') .* (B' d B)] A, where g is the 3 x 3 kernel of (f, c), d the 4 x 4 input
 * patch under the tile, and .* the product element by element. The sum over
 * channels is, for each of the 16 elements xi, a gemm: M_xi (f x tiles) = U_xi (f x
 * c) V_xi (c x tiles). That is 16 c f products a tile where the direct convolution
 * takes 36: 2.25 times fewer. B, G and A hold only 0, +-1 and +-1/2, so the
 * transforms are additions (and halvings, exact in float).
 *
 * The tiles go in blocks of about TILES (whole rows of tiles, across images), each
 * block in one part of the pool: its input transform V (16 x c x tiles), the 16
 * gemms (in the part's thread: our gemm runs in its caller inside a pool loop), and
 * the output transform. A block's V and M stay in the core's L2. */
#include "winograd.h"
#include "pool.h"
#include "sgemm.h"

#define HOT __attribute__((target_clones("avx512f", "avx2", "default")))
/* the transforms' inner loops, inlined into each clone of a HOT caller (a call
 * through the clones' resolver per image row cost more than the row) */
#define INNER static inline __attribute__((always_inline))
#define TILES 64 /* tiles of a block, about */
/* floats between a block's 16 matrices beyond their size: strides that are multiples
 * of 4 KB would put the 16 rows a tile reads or writes in the same L1 sets */
#define SKEW 16

/* ---- the weights ----------------------------------------------------------- */

typedef struct {
    int f, c, turned;
    const float *w;
    float *u;
} weights_args;

#define KB 64 /* kernels of a row transformed together */

/* Rows [b, e) of every u_xi (f x c), KB kernels at a time (vectors across them). */
HOT static void weights_part(void *ctx, long b, long e)
{
    const weights_args *p = ctx;
    long fc = (long)p->f * p->c;
    float g[9][KB], t[4][3][KB];
    for (long a = b; a < e; a++)
        for (int k0 = 0; k0 < p->c; k0 += KB) {
            int n = p->c - k0 < KB ? p->c - k0 : KB;
            for (int k = 0; k < n; k++) {
                const float *src = p->turned ? p->w + ((long)(k0 + k) * p->f + a) * 9 : p->w + (a * p->c + k0 + k) * 9;
                for (int q = 0; q < 9; q++) g[q][k] = src[p->turned ? 8 - q : q];
            }
            for (int x = 0; x < 3; x++) /* t = G g */
                for (int k = 0; k < n; k++) {
                    t[0][x][k] = g[x][k];
                    t[1][x][k] = 0.5f * (g[x][k] + g[3 + x][k] + g[6 + x][k]);
                    t[2][x][k] = 0.5f * (g[x][k] - g[3 + x][k] + g[6 + x][k]);
                    t[3][x][k] = g[6 + x][k];
                }
            float *u = p->u + a * p->c + k0;
            for (int i = 0; i < 4; i++) { /* u = t G' */
                float *restrict u0 = u + (4 * i) * fc, *restrict u1 = u0 + fc, *restrict u2 = u1 + fc;
                float *restrict u3 = u2 + fc;
                for (int k = 0; k < n; k++) {
                    u0[k] = t[i][0][k];
                    u1[k] = 0.5f * (t[i][0][k] + t[i][1][k] + t[i][2][k]);
                    u2[k] = 0.5f * (t[i][0][k] - t[i][1][k] + t[i][2][k]);
                    u3[k] = t[i][2][k];
                }
            }
        }
}

void ohem_winograd_weights(int f, int c, const float *w, int turned, float *u)
{
    weights_args p = {f, c, turned, w, u};
    ohem_pool_for(f, ohem_pool_grain(30L * c), weights_part, &p);
}

/* ---- the transforms ------------------------------------------------------- */

/* e = d B along one input row r (w floats; NULL: a row of the padding) for the tw
 * tiles across: e[j js + tx] from r[2 tx - 1 .. 2 tx + 2], zeros outside.
 * scratch: 2 (tw + 1) floats. */
INNER void row_in(const float *restrict r, int w, int tw, float *restrict e, long js, float *restrict scratch)
{
    float *restrict ev = scratch, *restrict od = scratch + tw + 1; /* ev[q] = r[2q], od[q] = r[2q - 1] */
    int half = w / 2;
    if (!r) {
        for (int j = 0; j < 4; j++)
            for (int t = 0; t < tw; t++) e[j * js + t] = 0;
        return;
    }
    for (int q = 0; q < half; q++) {
        ev[q] = r[2 * q];
        od[q + 1] = r[2 * q + 1];
    }
    od[0] = 0;
    if (w & 1) ev[half] = r[w - 1], od[half + 1] = 0;
    ev[tw] = 0;
    float *restrict e0 = e, *restrict e1 = e + js, *restrict e2 = e + 2 * js, *restrict e3 = e + 3 * js;
    for (int t = 0; t < tw; t++) {
        e0[t] = od[t] - od[t + 1];
        e1[t] = ev[t] + od[t + 1];
        e2[t] = od[t + 1] - ev[t];
        e3[t] = ev[t] - ev[t + 1];
    }
}

/* One row (j) of B' e over n tiles: a0 .. a3 the row transforms of the four input
 * rows, v0 .. v3 elements j, 4 + j, 8 + j, 12 + j. */
static inline void col4(const float *restrict a0, const float *restrict a1, const float *restrict a2,
                        const float *restrict a3, int n, float *restrict v0, float *restrict v1,
                        float *restrict v2, float *restrict v3)
{
    for (int t = 0; t < n; t++) {
        v0[t] = a0[t] - a2[t];
        v1[t] = a1[t] + a2[t];
        v2[t] = a2[t] - a1[t];
        v3[t] = a1[t] - a3[t];
    }
}

/* V = B' e for n tiles: odd and even (4 x js each, element j at j js) the row
 * transforms of the input rows 2 ty - 1 and 2 ty of the tiles' rows, one after
 * another, so that the rows 2 ty + 1 and 2 ty + 2 are tw further on; element xi of
 * tile t to v[xi xs + t]. */
INNER void col_in(const float *odd, const float *even, long js, int tw, int n, float *v, long xs)
{
    for (int j = 0; j < 4; j++)
        col4(odd + j * js, even + j * js, odd + j * js + tw, even + j * js + tw, n, v + j * xs, v + (4 + j) * xs,
             v + (8 + j) * xs, v + (12 + j) * xs);
}

/* M A for one row of n tiles, a0 .. a3 its elements: s0 = a0 + a1 + a2, s1 = a1 -
 * a2 - a3, times sign (+1 or -1, the row's entry in a row of A'), stored into y0,
 * y1 (store) or added to them. */
static inline void out_row(const float *restrict a0, const float *restrict a1, const float *restrict a2,
                           const float *restrict a3, int n, float *restrict y0, float *restrict y1, float sign,
                           int store)
{
    if (store)
        for (int t = 0; t < n; t++) {
            y0[t] = sign * (a0[t] + a1[t] + a2[t]);
            y1[t] = sign * (a1[t] - a2[t] - a3[t]);
        }
    else
        for (int t = 0; t < n; t++) {
            y0[t] += sign * (a0[t] + a1[t] + a2[t]);
            y1[t] += sign * (a1[t] - a2[t] - a3[t]);
        }
}

/* Y = A' M A for n tiles (element xi of tile t at m[xi xs + t]): y[2 r + j][t] is
 * output row r, column j of tile t. A' = (1 1 1 0; 0 1 -1 -1). */
INNER void out_tiles(const float *m, long xs, int n, float *y)
{
    const float *r0 = m, *r1 = m + 4 * xs, *r2 = m + 8 * xs, *r3 = m + 12 * xs;
    out_row(r0, r0 + xs, r0 + 2 * xs, r0 + 3 * xs, n, y, y + n, 1, 1);
    out_row(r1, r1 + xs, r1 + 2 * xs, r1 + 3 * xs, n, y + 2 * n, y + 3 * n, 1, 1);
    for (int t = 0; t < 2 * n; t++) y[t] += y[2 * n + t];
    out_row(r2, r2 + xs, r2 + 2 * xs, r2 + 3 * xs, n, y, y + n, 1, 0);
    out_row(r2, r2 + xs, r2 + 2 * xs, r2 + 3 * xs, n, y + 2 * n, y + 3 * n, -1, 0);
    out_row(r3, r3 + xs, r3 + 2 * xs, r3 + 3 * xs, n, y + 2 * n, y + 3 * n, -1, 0);
}

/* dst (w floats) = the columns of tiles a (even) and b (odd) side by side, + beta dst. */
INNER void row_out(const float *restrict a, const float *restrict b, int w, float beta, float *restrict dst)
{
    int half = w / 2;
    if (beta == 0) {
        for (int t = 0; t < half; t++) {
            dst[2 * t] = a[t];
            dst[2 * t + 1] = b[t];
        }
        if (w & 1) dst[w - 1] = a[half];
    } else {
        for (int t = 0; t < half; t++) {
            dst[2 * t] = a[t] + beta * dst[2 * t];
            dst[2 * t + 1] = b[t] + beta * dst[2 * t + 1];
        }
        if (w & 1) dst[w - 1] = a[half] + beta * dst[w - 1];
    }
}

/* ---- the convolution, block by block -------------------------------------- */

typedef struct {
    int batch, c, h, w, f;
    int tw, th; /* tiles across and down an image */
    int rows;   /* rows of tiles in a block */
    const float *u, *in;
    long in_stride;
    float *out;
    long out_stride;
    float beta;
} conv_args;

/* Rows of tiles [ty0, ty1) of image i (the block's tiles from t0) into v (16 x c x
 * nt). e: 8 (ty1 - ty0 + 1) tw + 2 (tw + 1) floats. */
HOT static void transform_in(const conv_args *p, int i, int ty0, int ty1, int t0, int nt, float *v, float *e)
{
    long xs = (long)p->c * nt + SKEW, plane = (long)p->h * p->w;
    int rows = ty1 - ty0, tw = p->tw;
    long js = (long)(rows + 1) * tw; /* the row transforms: odd rows, then even ones, each 4 x js */
    float *odd = e, *even = e + 4 * js, *scratch = e + 8 * js;
    const float *im = p->in + i * p->in_stride;
    for (int k = 0; k < p->c; k++, im += plane) {
        for (int yy = 0; yy < 2 * rows + 2; yy++) {
            int y = 2 * ty0 - 1 + yy;
            float *e_row = (yy & 1 ? even : odd) + (yy / 2) * tw;
            row_in(y >= 0 && y < p->h ? im + (long)y * p->w : NULL, p->w, tw, e_row, js, scratch);
        }
        col_in(odd, even, js, tw, rows * tw, v + (long)k * nt + t0, xs);
    }
}

/* Rows of tiles [ty0, ty1) of image i from m (16 x f x nt, the block's tiles from
 * t0) into the output, out = y + beta out. y: 4 (ty1 - ty0) tw floats. */
HOT static void transform_out(const conv_args *p, int i, int ty0, int ty1, int t0, int nt, const float *m, float *y)
{
    long xs = (long)p->f * nt + SKEW, plane = (long)p->h * p->w;
    int n = (ty1 - ty0) * p->tw;
    float *out = p->out + i * p->out_stride;
    for (int k = 0; k < p->f; k++, out += plane) {
        out_tiles(m + (long)k * nt + t0, xs, n, y);
        for (int ty = ty0; ty < ty1; ty++) {
            int t = (ty - ty0) * p->tw;
            float *dst = out + (long)(2 * ty) * p->w;
            row_out(y + t, y + n + t, p->w, p->beta, dst);
            if (2 * ty + 1 < p->h) row_out(y + 2 * n + t, y + 3 * n + t, p->w, p->beta, dst + p->w);
        }
    }
}

/* The calling thread's buffers for a block of p: v (16 x c x tiles), m (16 x f x
 * tiles), each matrix SKEW floats further on than its size, and the rows' scratch;
 * kept for the next call. */
static void block_buffers(const conv_args *p, float **v, float **m, float **scratch)
{
    static __thread void *vbuf, *mbuf, *sbuf;
    static __thread size_t vcap, mcap, scap;
    long most = (long)p->rows * p->tw, rows = p->rows < p->th ? p->rows : p->th;
    *v = ohem_thread_buffer(&vbuf, &vcap, sizeof(float) * 16 * (p->c * most + SKEW),
                            "a block's transformed input (a Winograd convolution)");
    *m = ohem_thread_buffer(&mbuf, &mcap, sizeof(float) * 16 * (p->f * most + SKEW),
                            "a block's transformed output or delta (a Winograd convolution)");
    *scratch = ohem_thread_buffer(&sbuf, &scap, sizeof(float) * (8 * (rows + 1) * p->tw + 2 * (p->tw + 1)),
                                  "a Winograd convolution's rows");
}

/* Block blk's units (rows of tiles, p->rows of them, across images): [*u0, *u1). */
static void block_units(const conv_args *p, long blk, long *u0, long *u1)
{
    long units = (long)p->batch * p->th;
    *u0 = blk * p->rows;
    *u1 = *u0 + p->rows < units ? *u0 + p->rows : units;
}

/* From unit un to the end of its image or u1: image *i, rows of tiles [*ty0, *ty1). */
static void unit_run(const conv_args *p, long un, long u1, int *i, int *ty0, int *ty1)
{
    *i = (int)(un / p->th);
    *ty0 = (int)(un % p->th);
    *ty1 = u1 - un < p->th - *ty0 ? (int)(u1 - un) + *ty0 : p->th;
}

/* Blocks [b, e). */
static void conv_part(void *ctx, long b, long e)
{
    const conv_args *p = ctx;
    float *v, *m, *scratch;
    block_buffers(p, &v, &m, &scratch);
    long fc = (long)p->f * p->c;
    for (long blk = b; blk < e; blk++) {
        long u0, u1;
        block_units(p, blk, &u0, &u1);
        int nt = (int)(u1 - u0) * p->tw, i, ty0, ty1;
        for (long un = u0; un < u1; un += ty1 - ty0) {
            unit_run(p, un, u1, &i, &ty0, &ty1);
            transform_in(p, i, ty0, ty1, (int)(un - u0) * p->tw, nt, v, scratch);
        }
        for (int xi = 0; xi < 16; xi++)
            ohem_sgemm(0, 0, p->f, nt, p->c, 1, p->u + xi * fc, p->c, v + xi * ((long)p->c * nt + SKEW), nt, 0,
                       m + xi * ((long)p->f * nt + SKEW), nt);
        for (long un = u0; un < u1; un += ty1 - ty0) {
            unit_run(p, un, u1, &i, &ty0, &ty1);
            transform_out(p, i, ty0, ty1, (int)(un - u0) * p->tw, nt, m, scratch);
        }
    }
}

/* The arguments of a convolution of batch images (c x h x w) with f filters, its
 * tiles and its rows of tiles a block; returns its blocks. */
static long conv_setup(conv_args *p, int batch, int c, int h, int w, int f, const float *u, const float *in,
                       long in_stride, float *out, long out_stride, float beta)
{
    *p = (conv_args){batch, c, h, w, f, (w + 1) / 2, (h + 1) / 2, 1, u, in, in_stride, out, out_stride, beta};
    p->rows = TILES / p->tw > 0 ? TILES / p->tw : 1;
    return ((long)batch * p->th + p->rows - 1) / p->rows;
}

void ohem_winograd_conv(int batch, int c, int h, int w, int f, const float *u, const float *in, long in_stride,
                        float *out, long out_stride, float beta)
{
    conv_args p;
    long blocks = conv_setup(&p, batch, c, h, w, f, u, in, in_stride, out, out_stride, beta);
    ohem_pool_for(blocks, 1, conv_part, &p);
}

/* ---- the weight gradient --------------------------------------------------- *
 *
 * With y = A' [sum_c (G g G') .* V_c] A for each tile, the gradient of g is G' dU G,
 * dU_xi (f x c) = the sum over tiles of dM_xi (f x tiles) V_xi' (tiles x c), dM = A
 * dY A' the delta of each tile. The blocks go in at most GROUPS groups, fixed by the
 * shapes (never by the threads), each summed in order into a dU of its own; the
 * groups' sums are added in order: the same bits whatever the threads. */
#define GROUPS 4

/* The tiles of output rows 2 ty, 2 ty + 1 (r0, r1: w floats; r1 NULL past the
 * image): their dY = (a b; c d), tile by tile, zeros outside. */
INNER void delta_split(const float *restrict r0, const float *restrict r1, int w, float *restrict a,
                            float *restrict b, float *restrict c, float *restrict d)
{
    int half = w / 2;
    for (int t = 0; t < half; t++) a[t] = r0[2 * t], b[t] = r0[2 * t + 1];
    if (r1)
        for (int t = 0; t < half; t++) c[t] = r1[2 * t], d[t] = r1[2 * t + 1];
    else
        for (int t = 0; t < half; t++) c[t] = 0, d[t] = 0;
    if (w & 1) a[half] = r0[w - 1], b[half] = 0, c[half] = r1 ? r1[w - 1] : 0, d[half] = 0;
}

/* Row i of dM = A dY A' over n tiles: with (q0, q1) = sa (a, b) + sc (c, d), row i
 * of A dY, elements 4 i .. 4 i + 3 are q0, q0 + q1, q0 - q1, -q1 (sa, sc: 0, +-1). */
static inline void dm4(const float *restrict a, const float *restrict b, const float *restrict c,
                       const float *restrict d, float sa, float sc, int n, float *restrict m0, float *restrict m1,
                       float *restrict m2, float *restrict m3)
{
    for (int t = 0; t < n; t++) {
        float q0 = sa * a[t] + sc * c[t], q1 = sa * b[t] + sc * d[t];
        m0[t] = q0;
        m1[t] = q0 + q1;
        m2[t] = q0 - q1;
        m3[t] = -q1;
    }
}

/* dM = A dY A' for n tiles (dY = (a b; c d)): element xi of tile t to m[xi xs + t].
 * A dY has rows (a b), (a + c, b + d), (a - c, b - d), (-c, -d). */
INNER void delta_tiles(const float *a, const float *b, const float *c, const float *d, int n, float *m, long xs)
{
    static const float sa[4] = {1, 1, 1, 0}, sc[4] = {0, 1, -1, -1};
    for (int i = 0; i < 4; i++) {
        float *m0 = m + 4 * i * xs;
        dm4(a, b, c, d, sa[i], sc[i], n, m0, m0 + xs, m0 + 2 * xs, m0 + 3 * xs);
    }
}

typedef struct {
    conv_args conv; /* in: the input; out: the output's delta (f x h x w an image) */
    long blocks;
    int groups; /* of blocks: min(GROUPS, blocks), so each has one at least (its first gemm sets its dU) */
    float *du;  /* groups x 16 x f x c */
} grad_args;

/* Rows of tiles [ty0, ty1) of image i of the output's delta (p->out) into m (16 x
 * f x nt, the block's tiles from t0): dY split four ways over the rows, then dM.
 * scratch: 4 (ty1 - ty0) tw floats. */
HOT static void transform_delta(const conv_args *p, int i, int ty0, int ty1, int t0, int nt, float *m, float *scratch)
{
    long ms = (long)p->f * nt + SKEW, plane = (long)p->h * p->w;
    int n = (ty1 - ty0) * p->tw;
    const float *dl = p->out + i * p->out_stride;
    float *a = scratch, *b = a + n, *c = b + n, *d = c + n;
    for (int k = 0; k < p->f; k++, dl += plane) {
        for (int ty = ty0; ty < ty1; ty++) {
            const float *r0 = dl + (long)(2 * ty) * p->w;
            int t = (ty - ty0) * p->tw;
            delta_split(r0, 2 * ty + 1 < p->h ? r0 + p->w : NULL, p->w, a + t, b + t, c + t, d + t);
        }
        delta_tiles(a, b, c, d, n, m + (long)k * nt + t0, ms);
    }
}

/* Groups [b, e) of blocks. */
static void grad_part(void *ctx, long b, long e)
{
    const grad_args *g = ctx;
    const conv_args *p = &g->conv;
    float *v, *m, *scratch;
    block_buffers(p, &v, &m, &scratch);
    int tw = p->tw;
    long fc = (long)p->f * p->c;
    for (long grp = b; grp < e; grp++) {
        float *du = g->du + grp * 16 * fc;
        long b0 = grp * g->blocks / g->groups, b1 = (grp + 1) * g->blocks / g->groups;
        for (long blk = b0; blk < b1; blk++) {
            long u0, u1;
            block_units(p, blk, &u0, &u1);
            int nt = (int)(u1 - u0) * tw, i, ty0, ty1;
            long vs = (long)p->c * nt + SKEW, ms = (long)p->f * nt + SKEW;
            for (long un = u0; un < u1; un += ty1 - ty0) {
                unit_run(p, un, u1, &i, &ty0, &ty1);
                transform_in(p, i, ty0, ty1, (int)(un - u0) * tw, nt, v, scratch);
                transform_delta(p, i, ty0, ty1, (int)(un - u0) * tw, nt, m, scratch);
            }
            for (int xi = 0; xi < 16; xi++)
                ohem_sgemm(0, 1, p->f, p->c, nt, 1, m + xi * ms, nt, v + xi * vs, nt, blk == b0 ? 0 : 1,
                           du + xi * fc, p->c);
        }
    }
}

typedef struct {
    int f, c, groups;
    const float *du;
    float *wu;
} back_args;

/* Rows [b, e) of the filters: wu += G' (the groups' dU, added in order) G, KB
 * kernels at a time (vectors across them). */
HOT static void back_part(void *ctx, long b, long e)
{
    const back_args *p = ctx;
    long fc = (long)p->f * p->c;
    float u[16][KB], r[3][4][KB];
    for (long a = b; a < e; a++)
        for (int k0 = 0; k0 < p->c; k0 += KB) {
            int n = p->c - k0 < KB ? p->c - k0 : KB;
            for (int xi = 0; xi < 16; xi++) {
                const float *s = p->du + xi * fc + a * p->c + k0;
                for (int k = 0; k < n; k++) u[xi][k] = s[k];
                for (int grp = 1; grp < p->groups; grp++)
                    for (int k = 0; k < n; k++) u[xi][k] += s[grp * 16 * fc + k];
            }
            for (int j = 0; j < 4; j++) /* r = G' dU */
                for (int k = 0; k < n; k++) {
                    r[0][j][k] = u[j][k] + 0.5f * (u[4 + j][k] + u[8 + j][k]);
                    r[1][j][k] = 0.5f * (u[4 + j][k] - u[8 + j][k]);
                    r[2][j][k] = 0.5f * (u[4 + j][k] + u[8 + j][k]) + u[12 + j][k];
                }
            float *wu = p->wu + (a * p->c + k0) * 9;
            for (int k = 0; k < n; k++)
                for (int i = 0; i < 3; i++) { /* r G */
                    wu[9 * k + 3 * i] += r[i][0][k] + 0.5f * (r[i][1][k] + r[i][2][k]);
                    wu[9 * k + 3 * i + 1] += 0.5f * (r[i][1][k] - r[i][2][k]);
                    wu[9 * k + 3 * i + 2] += 0.5f * (r[i][1][k] + r[i][2][k]) + r[i][3][k];
                }
        }
}

void ohem_winograd_grad(int batch, int c, int h, int w, int f, const float *in, long in_stride, const float *delta,
                        long delta_stride, float *wu)
{
    grad_args g;
    g.blocks = conv_setup(&g.conv, batch, c, h, w, f, NULL, in, in_stride, (float *)delta, delta_stride, 0);
    static __thread void *buf;
    static __thread size_t cap;
    g.groups = g.blocks < GROUPS ? (int)g.blocks : GROUPS;
    g.du = ohem_thread_buffer(&buf, &cap, sizeof(float) * g.groups * 16 * f * c,
                              "the groups' weight gradients (a Winograd weight gradient)");
    ohem_pool_for(g.groups, 1, grad_part, &g);
    back_args bp = {f, c, g.groups, g.du, wu};
    ohem_pool_for(f, ohem_pool_grain(16L * g.groups * c), back_part, &bp);
}
