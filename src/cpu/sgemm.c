/* sgemm.c: a single-precision gemm of our own for CPUs with AVX-512: C = alpha
 * op(A) op(B) + beta C, row-major, Darknet's arguments; and a convolution's gemms
 * with B made from the image inside the packing (no im2col written out).
 *
 * Blocked as in Goto and van de Geijn's "Anatomy of high-performance matrix
 * multiplication": op(B) is copied in blocks of KC x NC into panels NR columns wide
 * (a panel, KC x NR floats = 32 KB, stays in L1), and a register tile of 12 (or 8)
 * rows x 32 (or 16) columns of C, held in zmm registers, takes one panel of A and
 * one of B at a time. A is read in place, row by row or, transposed, k by k; only a
 * last, partial tile of a transposed A is copied (with zeros). The work is one
 * split of the kernels' pool: by column strips, each part packing its own B, or,
 * for tall narrow products, by strips of 8 rows with all of B packed once for the
 * parts when it fits in B_ALL_MAX.
 *
 * A stride-1 convolution's forward (B = col, output rows at least NR wide) packs
 * nothing: its tiles take B's rows straight from the image, each row of a panel
 * one masked load at a known offset (direct_block below).
 *
 * Every element of C is one sum over k in order, in float, with fused multiply-adds
 * (so not the bits of OpenBLAS's or libdarknet's gemm: float rounding), the same
 * whatever the threads. beta 0 never reads C, as in BLAS. */
#include "sgemm.h"
#include "coretype.h"
#include "im2col.h"
#include "pool.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define MR 12     /* rows of the tall tile */
#define NR 32     /* columns of a panel (two zmm) */
#define KC 256    /* k of a block */
#define MC 192    /* rows of a block: a multiple of 12 and of 8 */
#define NC 3072   /* columns of a block: a multiple of NR */

/* the kernels in use: 512 (AVX-512), 256 (AVX2 and FMA), set by ohem_sgemm_use */
static int isa = 512;
/* rows of a strip when the threads split by rows: tiles of 8 (AVX-512) or 6 */
#define ROWS (isa == 512 ? 8 : 6)

/* the packed blocks of one thread, allocated on its first gemm and kept */
static __thread float *a_pack, *b_pack;

static void packs_ready(void)
{
    static __thread void *a_buf, *b_buf;
    static __thread size_t a_cap, b_cap;
    if (b_pack) return;
    a_pack = ohem_thread_buffer(&a_buf, &a_cap, sizeof(float) * MR * KC, "the gemm's packing buffers");
    b_pack = ohem_thread_buffer(&b_buf, &b_cap, sizeof(float) * KC * NC, "the gemm's packing buffers");
}

typedef struct {
    int ta, tb, m, n, k;
    float alpha, beta;
    const float *a, *b;
    int lda, ldb;
    float *c;
    int ldc;
    int by_rows; /* the pool's items are 8-row strips, else NR-column strips */
    const ohem_im2col_src *im; /* B is the im2col of this image (b unused), or NULL */
    int hc, wc;                /* with im: its output's height and width */
    int direct;                /* with im: B read from the image in place (direct_block) */
    const float *b_all;        /* all of op(B) packed (by rows), or NULL: each part packs its own */
    /* a batch of nimg images in one split (ohem_sgemm_conv_*): with concat_k, C is
     * the sum over images of A_i op(B_i) (k per image; A_i = a + i a_img), else each
     * image its own C_i = A op(B_i) (c + i c_img); B_i is the im2col of im + i im_img */
    int nimg, concat_k;
    long a_img, im_img, c_img;
} gemm_args;

/* g's image i: its A (concat_k), its B and its C (not concat_k); src holds B's. */
static gemm_args image_of(const gemm_args *g, int i, ohem_im2col_src *src)
{
    gemm_args gi = *g;
    if (!g->im || g->nimg <= 1) return gi;
    *src = *g->im;
    src->im += i * g->im_img;
    gi.im = src;
    if (g->concat_k) gi.a += i * g->a_img;
    else gi.c += i * g->c_img;
    return gi;
}

/* The mask of lanes [0, n) of 16 (none for n <= 0, all for n >= 16). */
static inline __mmask16 lanes16(int n)
{
    return n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* 16 rows of 16 floats, r[t] = src + t * lds, into 16 columns: dst[c * ldd + t] =
 * r[t][c]. Unpacks within 128-bit lanes, then lane shuffles. */
__attribute__((target("avx512f"))) static void transpose16(const float *src, long lds, float *dst, long ldd)
{
    __m512 r[16], t[16], u[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * lds);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    /* u[4g + q]: within each lane L, column 4L + q of rows 4g .. 4g+3 */
    for (int g = 0; g < 4; g++) {
        __m512d t0 = _mm512_castps_pd(t[4 * g]), t1 = _mm512_castps_pd(t[4 * g + 1]);
        __m512d t2 = _mm512_castps_pd(t[4 * g + 2]), t3 = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int q = 0; q < 4; q++) {
        __m512 v = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x44), w = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xee);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x44);
        __m512 w2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xee);
        _mm512_storeu_ps(dst + (0 + q) * ldd, _mm512_shuffle_f32x4(v, v2, 0x88));
        _mm512_storeu_ps(dst + (4 + q) * ldd, _mm512_shuffle_f32x4(v, v2, 0xdd));
        _mm512_storeu_ps(dst + (8 + q) * ldd, _mm512_shuffle_f32x4(w, w2, 0x88));
        _mm512_storeu_ps(dst + (12 + q) * ldd, _mm512_shuffle_f32x4(w, w2, 0xdd));
    }
}

/* kc rows of w <= 32 floats, lds apart, into rows of 32 (padded with zeros). */
__attribute__((target("avx512f"))) static void copy_rows32(const float *src, long lds, int kc, int w, float *dst)
{
    __mmask16 m0 = lanes16(w), m1 = lanes16(w - 16);
    for (int k = 0; k < kc; k++, src += lds, dst += 32) {
        _mm512_store_ps(dst, _mm512_maskz_loadu_ps(m0, src));
        _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(m1, src + 16));
    }
}

/* transpose16 and copy_rows32 in plain C, for the AVX2 kernels (the functions
 * above are built for AVX-512 and must not run without it). */
static void transpose16_plain(const float *src, long lds, float *dst, long ldd)
{
    for (int c = 0; c < 16; c++)
        for (int t = 0; t < 16; t++) dst[c * ldd + t] = src[t * lds + c];
}

static void copy_rows32_plain(const float *src, long lds, int kc, int w, float *dst)
{
    for (int k = 0; k < kc; k++, src += lds, dst += 32) {
        for (int j = 0; j < w; j++) dst[j] = src[j];
        for (int j = w; j < 32; j++) dst[j] = 0;
    }
}

/* A row r = (channel, ky, kx) of the im2col of g->im: the channel's plane, and
 * the output columns w whose input column w stride + x0 is inside the image,
 * [w0, w1). */
typedef struct {
    const float *plane;
    int ky, x0, w0, w1;
} col_row_info;

static void col_row_infos(const gemm_args *g, int r0, int n, col_row_info *info)
{
    const ohem_im2col_src *s = g->im;
    int ks = s->ksize, st = s->stride;
    for (int i = 0; i < n; i++) {
        int r = r0 + i, kx = r % ks, ky = r / ks % ks, ci = r / ks / ks, w0, w1;
        ohem_im2col_span(kx, st, s->pad, s->width, g->wc, &w0, &w1);
        info[i] = (col_row_info){s->im + (long)ci * s->height * s->width, ky, kx - s->pad, w0, w1};
    }
}

/* The run of col row ri from the output pixel (h, w) to the end of its output row,
 * at most n long: its length *len, and the columns [*a, *b) of it that read inside
 * the image, from the returned row (column q at src[q stride]); NULL when the run
 * reads nothing inside (all zeros). Shared by col_row and col_row_plain, inlined. */
__attribute__((always_inline)) static inline const float *col_run(const gemm_args *g, const col_row_info *ri, int h,
                                                                  int w, int n, int *len, int *a, int *b)
{
    const ohem_im2col_src *s = g->im;
    int l = g->wc - w < n ? g->wc - w : n, y = h * s->stride - s->pad + ri->ky;
    *len = l;
    *a = ri->w0 > w ? ri->w0 : w, *b = ri->w1 < w + l ? ri->w1 : w + l;
    if (y < 0 || y >= s->height || *a >= *b) return NULL;
    return ri->plane + (long)y * s->width + ri->x0;
}

/* col[r][j .. j+n) into out, r described by ri and the column j being the output
 * pixel (h, w): the image's pixel (h stride - pad + ky, w stride + x0), 0 outside.
 * Runs along one output row at a time; with stride 1, 16 floats a masked load
 * (lanes outside the image read nothing and give 0). */
__attribute__((target("avx512f"), always_inline)) static inline void col_row(const gemm_args *g, const col_row_info *ri, int h, int w,
                                                      int n, float *out)
{
    int st = g->im->stride;
    for (int t = 0, len, a, b; t < n; h++, w = 0, t += len) {
        const float *src = col_run(g, ri, h, w, n - t, &len, &a, &b);
        float *o = out + t;
        if (!src) {
            for (int q = 0; q < len; q += 16) _mm512_mask_storeu_ps(o + q, lanes16(len - q), _mm512_setzero_ps());
            continue;
        }
        if (st != 1) {
            for (int q = w; q < a; q++) o[q - w] = 0;
            for (int q = a; q < b; q++) o[q - w] = src[q * st];
            for (int q = b; q < w + len; q++) o[q - w] = 0;
            continue;
        }
        const float *sw = src + w;
        if (a == w && b == w + len) { /* inside the image: plain copies, a masked tail */
            int q = 0;
            for (; q + 16 <= len; q += 16) _mm512_storeu_ps(o + q, _mm512_loadu_ps(sw + q));
            if (q < len) _mm512_mask_storeu_ps(o + q, lanes16(len - q), _mm512_maskz_loadu_ps(lanes16(len - q), sw + q));
            continue;
        }
        /* lanes q of [0, len) with w + q in [a, b) load src[w + q] */
        for (int q = 0; q < len; q += 16) { /* the lanes to load: [a - w - q, b - w - q) */
            __mmask16 m = lanes16(b - w - q) & ~lanes16(a - w - q);
            _mm512_mask_storeu_ps(o + q, lanes16(len - q), _mm512_maskz_loadu_ps(m, src + w + q));
        }
    }
}

/* col_row in plain C (copies and zeros a run at a time), for the AVX2 kernels. */
static inline void col_row_plain(const gemm_args *g, const col_row_info *ri, int h, int w, int n, float *out)
{
    int st = g->im->stride;
    for (int t = 0, len, a, b; t < n; h++, w = 0, t += len) {
        const float *src = col_run(g, ri, h, w, n - t, &len, &a, &b);
        float *o = out + t;
        if (!src) {
            memset(o, 0, sizeof(float) * len);
            continue;
        }
        memset(o, 0, sizeof(float) * (a - w));
        if (st == 1) memcpy(o + (a - w), src + a, sizeof(float) * (b - a));
        else
            for (int q = a; q < b; q++) o[q - w] = src[q * st];
        memset(o + (b - w), 0, sizeof(float) * (w + len - b));
    }
}

/* pack_b for B given as an im2col (g->im): without tb, each panel row is a piece of
 * a row of col; with tb (op(B) = col'), 16 rows of col at a time are made in a
 * buffer that stays in L1 and transposed into the panel. */
#define PACK_B_IM2COL(name, attr, col_row, transpose16)                                                   \
    attr static void name(const gemm_args *g, int k0, int kc, int j0, int nc, float *dst)                     \
    {                                                                                                         \
        col_row_info info[KC > NR ? KC : NR];                                                                 \
        if (!g->tb) { /* row by row of col, so that each reads along the image */                            \
            col_row_infos(g, k0, kc, info);                                                                   \
            int h0 = j0 / g->wc, w0 = j0 % g->wc;                                                             \
            for (int k = 0; k < kc; k++) {                                                                    \
                int h = h0, w = w0;                                                                           \
                for (int p = 0; p < nc; p += NR) {                                                            \
                    int n = nc - p < NR ? nc - p : NR;                                                        \
                    float *d = dst + (long)p * kc + k * NR;                                                   \
                    col_row(g, &info[k], h, w, n, d);                                                         \
                    for (int j = n; j < NR; j++) d[j] = 0;                                                    \
                    w += NR;                                                                                  \
                    while (w >= g->wc) w -= g->wc, h++;                                                       \
                }                                                                                             \
            }                                                                                                 \
            return;                                                                                           \
        }                                                                                                     \
        float rows[16 * KC];                                                                                  \
        int h0 = k0 / g->wc, w0 = k0 % g->wc;                                                                 \
        for (int p = 0; p < nc; p += NR, dst += (long)kc * NR) {                                              \
            int w = nc - p < NR ? nc - p : NR;                                                                \
            col_row_infos(g, j0 + p, w, info);                                                               \
            for (int j = 0; j < NR; j += 16) {                                                                \
                int h = w - j < 16 ? w - j : 16;                                                              \
                if (h <= 0) {                                                                                 \
                    for (int k = 0; k < kc; k++) memset(dst + k * NR + j, 0, sizeof(float) * 16);             \
                    continue;                                                                                 \
                }                                                                                             \
                for (int t = 0; t < h; t++) col_row(g, &info[j + t], h0, w0, kc, rows + t * kc);              \
                for (int t = h; t < 16; t++) memset(rows + t * kc, 0, sizeof(float) * kc);                    \
                int k = 0;                                                                                    \
                for (; k + 16 <= kc; k += 16) transpose16(rows + k, kc, dst + k * NR + j, NR);                \
                for (; k < kc; k++)                                                                           \
                    for (int t = 0; t < 16; t++) dst[k * NR + j + t] = rows[t * kc + k];                      \
            }                                                                                                 \
        }                                                                                                     \
    }
PACK_B_IM2COL(pack_b_im2col, __attribute__((target("avx512f"))), col_row, transpose16)
PACK_B_IM2COL(pack_b_im2col_plain, , col_row_plain, transpose16_plain)

/* op(B)[k0 .. k0+kc) x [j0 .. j0+nc) into panels of NR columns, each kc rows of NR
 * floats, the last panel padded with zeros. */
static void pack_b(const gemm_args *g, int k0, int kc, int j0, int nc, float *dst)
{
    if (g->im) {
        if (isa == 512) pack_b_im2col(g, k0, kc, j0, nc, dst);
        else pack_b_im2col_plain(g, k0, kc, j0, nc, dst);
        return;
    }
    for (int p = 0; p < nc; p += NR, dst += (long)kc * NR) {
        int w = nc - p < NR ? nc - p : NR;
        if (!g->tb) {
            if (isa == 512) copy_rows32(g->b + (long)k0 * g->ldb + j0 + p, g->ldb, kc, w, dst);
            else copy_rows32_plain(g->b + (long)k0 * g->ldb + j0 + p, g->ldb, kc, w, dst);
            continue;
        }
        /* op(B)[k][j] = B[j][k]: each row of B is a column of the panel; whole
         * blocks of 16 x 16 are transposed in registers */
        int j = 0;
        for (; j + 16 <= w; j += 16) {
            const float *s = g->b + (long)(j0 + p + j) * g->ldb + k0;
            int k = 0;
            for (; k + 16 <= kc; k += 16)
                if (isa == 512) transpose16(s + k, g->ldb, dst + k * NR + j, NR);
                else transpose16_plain(s + k, g->ldb, dst + k * NR + j, NR);
            for (; k < kc; k++)
                for (int t = 0; t < 16; t++) dst[k * NR + j + t] = s[t * (long)g->ldb + k];
        }
        for (; j < w; j++) {
            const float *s = g->b + (long)(j0 + p + j) * g->ldb + k0;
            for (int k = 0; k < kc; k++) dst[k * NR + j] = s[k];
        }
        for (; j < NR; j++)
            for (int k = 0; k < kc; k++) dst[k * NR + j] = 0;
    }
}

/* op(A)[i0 .. i0+h) x [k0 .. k0+kc), h < MR rows of a transposed A (op(A)[i][k] =
 * A[k][i]: a row of A gives h consecutive floats), into one panel of MR rows (kc
 * steps of MR floats), padded with zeros. Full tiles the kernels read in place. */
static void pack_a(const gemm_args *g, int i0, int h, int k0, int kc, float *dst)
{
    for (int k = 0; k < kc; k++) {
        const float *s = g->a + (long)(k0 + k) * g->lda + i0;
        float *d = dst + k * MR;
        for (int i = 0; i < h; i++) d[i] = s[i];
        for (int i = h; i < MR; i++) d[i] = 0;
    }
}

/* A row k of B read in place (direct_block): at base + off, the lanes of m0 (and m1
 * for the second 16) loaded, the others 0. */
typedef struct {
    int off;
    __mmask16 m0, m1;
} b_row;

/* The kernels: an h x (16 nv) tile of C (mr x nr of it, mr <= h, nr <= 16 nv) =
 * (or +=, when add) alpha times the product of an A panel and a B panel over kc,
 * in h nv zmm accumulators. h is MR (12), or 8 where fewer rows remain; nv is 2,
 * or 1 for a last panel of at most 16 columns. The A panel is k-major (cols: h
 * consecutive floats a step, the steps s apart: MR when packed, lda for op(A) = A'
 * read in place) or row-major (rows: h rows s = lda apart, each kc consecutive
 * floats, read in place, or, given rows, row i at rows[i] + k0; rows past mr repeat
 * row 0 and are not stored). B is a packed panel (NR floats a step), or, given d,
 * kc rows read in place from base (direct_block). Whatever the source, the same
 * multiply-adds in the same order. */
__attribute__((target("avx512f"), always_inline)) static inline void
kernel_tile(int kc, const float *a, long s, const float *const *rows, long k0, const float *b, const b_row *d,
            const float *base, float *c, long ldc, int mr, int nr, int add, float alpha, const int rowmajor,
            const int nv, const int h)
{
    __m512 acc[MR][2];
    const float *ar[MR];
#pragma GCC unroll 12
    for (int i = 0; i < h; i++) {
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        ar[i] = rows ? rows[i < mr ? i : 0] + k0 : a + (rowmajor ? (i < mr ? i : 0) * s : i);
    }
    if (!rowmajor) {
        for (int k = 0; k < kc; k++, a += s, b += NR) {
            __m512 b0 = _mm512_load_ps(b), b1 = nv > 1 ? _mm512_load_ps(b + 16) : b0;
#pragma GCC unroll 12
            for (int i = 0; i < h; i++) {
                __m512 ai = _mm512_set1_ps(a[i]);
                acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
                if (nv > 1) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            }
        }
    } else {
        for (int k = 0; k < kc; k++, b += NR) {
            __m512 b0, b1;
            if (d) {
                const float *bk = base + d[k].off;
                b0 = _mm512_maskz_loadu_ps(d[k].m0, bk), b1 = nv > 1 ? _mm512_maskz_loadu_ps(d[k].m1, bk + 16) : b0;
            } else
                b0 = _mm512_load_ps(b), b1 = nv > 1 ? _mm512_load_ps(b + 16) : b0;
#pragma GCC unroll 12
            for (int i = 0; i < h; i++) {
                __m512 ai = _mm512_set1_ps(ar[i][k]);
                acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
                if (nv > 1) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            }
        }
    }
    __mmask16 m0 = lanes16(nr), m1 = lanes16(nr - 16);
    __m512 al = _mm512_set1_ps(alpha);
#pragma GCC unroll 12
    for (int i = 0; i < h; i++) {
        if (i >= mr) break;
        float *r = c + i * ldc;
        __m512 v0 = acc[i][0], v1 = acc[i][1];
        if (alpha != 1) v0 = _mm512_mul_ps(v0, al), v1 = _mm512_mul_ps(v1, al);
        if (add) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, r));
            if (nv > 1) v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, r + 16));
        }
        _mm512_mask_storeu_ps(r, m0, v0);
        if (nv > 1) _mm512_mask_storeu_ps(r + 16, m1, v1);
    }
}

typedef void (*kernel_fn)(int kc, const float *a, long s, const float *b, float *c, long ldc, int mr, int nr, int add,
                          float alpha);
#define KERNEL(name, rowmajor, nv, h)                                                                        \
    __attribute__((target("avx512f"))) static void name(int kc, const float *a, long s, const float *b,     \
                                                        float *c, long ldc, int mr, int nr, int add, float alpha) \
    {                                                                                                        \
        kernel_tile(kc, a, s, NULL, 0, b, NULL, NULL, c, ldc, mr, nr, add, alpha, rowmajor, nv, h);          \
    }
KERNEL(kernel_cols, 0, 2, 12)
KERNEL(kernel_cols16, 0, 1, 12)
KERNEL(kernel_cols_8, 0, 2, 8)
KERNEL(kernel_cols16_8, 0, 1, 8)
KERNEL(kernel_rows, 1, 2, 12)
KERNEL(kernel_rows16, 1, 1, 12)
KERNEL(kernel_rows_8, 1, 2, 8)
KERNEL(kernel_rows16_8, 1, 1, 8)
/* [row-major A][32 columns][12 rows] */
static const kernel_fn kernels[2][2][2] = {
    {{kernel_cols16_8, kernel_cols16}, {kernel_cols_8, kernel_cols}},
    {{kernel_rows16_8, kernel_rows16}, {kernel_rows_8, kernel_rows}},
};

/* Where B is read in place (direct_block): at most DIRECT_M rows of C (more rows
 * share a packed panel better) and at least DIRECT_K (fewer are dominated by C's
 * stores): the shapes of this project's convolutions where it beats packing
 * (docs/performance.md, convolution paths). */
#define DIRECT_M 64
#define DIRECT_K 64

typedef void (*direct_fn)(int kc, const float *a, long lda, const b_row *d, const float *base, float *c, long ldc,
                          int mr, int nr, int add, float alpha);
#define DIRECT(name, nv, h)                                                                                     \
    __attribute__((target("avx512f"))) static void name(int kc, const float *a, long lda, const b_row *d,      \
                                                        const float *base, float *c, long ldc, int mr, int nr, \
                                                        int add, float alpha)                                  \
    {                                                                                                           \
        kernel_tile(kc, a, lda, NULL, 0, NULL, d, base, c, ldc, mr, nr, add, alpha, 1, nv, h);                 \
    }
DIRECT(direct_32, 2, 12)
DIRECT(direct_16, 1, 12)
DIRECT(direct_32_8, 2, 8)
DIRECT(direct_16_8, 1, 8)
/* [32 columns][12 rows] */
static const direct_fn directs[2][2] = {{direct_16_8, direct_16}, {direct_32_8, direct_32}};

typedef void (*ptr_fn)(int kc, const float *const *rows, long k0, const float *b, float *c, long ldc, int mr, int nr,
                       int add);
#define PTR_KERNEL(name, nv, h)                                                                                     \
    __attribute__((target("avx512f"))) static void name(int kc, const float *const *rows, long k0, const float *b, \
                                                        float *c, long ldc, int mr, int nr, int add)               \
    {                                                                                                               \
        kernel_tile(kc, NULL, 0, rows, k0, b, NULL, NULL, c, ldc, mr, nr, add, 1, 1, nv, h);                      \
    }
PTR_KERNEL(ptr_32, 2, 12)
PTR_KERNEL(ptr_16, 1, 12)
PTR_KERNEL(ptr_32_8, 2, 8)
PTR_KERNEL(ptr_16_8, 1, 8)
/* [32 columns][12 rows] */
static const ptr_fn ptrs[2][2] = {{ptr_16_8, ptr_16}, {ptr_32_8, ptr_32}};

/* The AVX2 tile: 6 rows x 16 columns (half a panel: b steps NR floats a k) in 12
 * ymm accumulators, the A panel as kernel_tile's; the columns past nr masked. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
kernel_tile_avx2(int kc, const float *a, long s, const float *b, float *c, long ldc, int mr, int nr, int add,
                 float alpha, const int rowmajor)
{
    __m256 acc[6][2];
    const float *ar[6];
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
        ar[i] = a + (rowmajor ? (i < mr ? i : 0) * s : i);
    }
    if (!rowmajor) {
        for (int k = 0; k < kc; k++, a += s, b += NR) {
            __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
            for (int i = 0; i < 6; i++) {
                __m256 ai = _mm256_broadcast_ss(a + i);
                acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
            }
        }
    } else {
        for (int k = 0; k < kc; k++, b += NR) {
            __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
            for (int i = 0; i < 6; i++) {
                __m256 ai = _mm256_broadcast_ss(ar[i] + k);
                acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
            }
        }
    }
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lane);
    __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), lane);
    __m256 al = _mm256_set1_ps(alpha);
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
        if (i >= mr) break;
        float *r = c + i * ldc;
        __m256 v0 = acc[i][0], v1 = acc[i][1];
        if (alpha != 1) v0 = _mm256_mul_ps(v0, al), v1 = _mm256_mul_ps(v1, al);
        if (add) {
            v0 = _mm256_add_ps(v0, _mm256_maskload_ps(r, m0));
            v1 = _mm256_add_ps(v1, _mm256_maskload_ps(r + 8, m1));
        }
        _mm256_maskstore_ps(r, m0, v0);
        _mm256_maskstore_ps(r + 8, m1, v1);
    }
}

__attribute__((target("avx2,fma"))) static void kernel_avx2_cols(int kc, const float *a, long s, const float *b,
                                                                float *c, long ldc, int mr, int nr, int add,
                                                                float alpha)
{
    kernel_tile_avx2(kc, a, s, b, c, ldc, mr, nr, add, alpha, 0);
}
__attribute__((target("avx2,fma"))) static void kernel_avx2_rows(int kc, const float *a, long s, const float *b,
                                                                float *c, long ldc, int mr, int nr, int add,
                                                                float alpha)
{
    kernel_tile_avx2(kc, a, s, b, c, ldc, mr, nr, add, alpha, 1);
}

/* The heights (12 or 8) of the tiles that cover n rows with the fewest unused:
 * 12s, and the remainder r as an 8 (r <= 8), or, for r <= 4 after a 12, the last
 * 12 + r as 8 + (r + 4). Returns the count. */
static int tile_heights(int n, unsigned char *hs)
{
    if (isa != 512) { /* AVX2: 6s, the last one short */
        int t = 0;
        for (; n > 0; n -= 6) hs[t++] = 6;
        return t;
    }
    int t = 0, n12 = n / 12, r = n % 12;
    if (r > 0 && r <= 4 && n12 > 0) n12--, r += 12;
    for (int i = 0; i < n12; i++) hs[t++] = 12;
    if (r > 12) hs[t++] = 8, r -= 8;
    if (r > 8) hs[t++] = 12;
    else if (r > 0) hs[t++] = 8;
    return t;
}

/* C[i0 .. i1) x [j0 .. j1) of g->direct (j0 and j1 at the start of output rows):
 * a panel is NR pixels of one output row, at most; its rows of B are read from
 * the image in place, lanes outside the image (the padding) masked to 0. The
 * blocks of k and of rows, and each tile's sums, are gemm_block's, so the bits are
 * those of the packed B. A strip of panels goes down the image (output row h
 * reads rows h - pad .. h - pad + ksize - 1), so that consecutive panels share all
 * but one row of each channel, and that row is prefetched one panel ahead: without
 * the prefetch it is slower than packing. A panel's row descriptors change only
 * at the image's top and bottom rows, so they are made again only there. */
static void direct_block(const gemm_args *g, int i0, int i1, int j0, int j1)
{
    const ohem_im2col_src *s = g->im;
    int ks = s->ksize, pad = s->pad, wd = s->width, wc = g->wc;
    int h0 = j0 / wc, h1 = j1 / wc;
    for (int pc = 0; pc < g->k; pc += KC) {
        int kc = g->k - pc < KC ? g->k - pc : KC, add = pc > 0 || g->beta != 0;
        /* this block's rows of col: (channel, ky, kx), and their offset in the image */
        int off[KC];
        unsigned char ky[KC], kx[KC];
        for (int j = 0; j < kc; j++) {
            int r = pc + j;
            kx[j] = (unsigned char)(r % ks), ky[j] = (unsigned char)(r / ks % ks);
            off[j] = (r / ks / ks) * s->height * wd + (ky[j] - pad) * wd + kx[j] - pad;
        }
        for (int w0 = 0; w0 < wc; w0 += NR) {
            int nr = wc - w0 < NR ? wc - w0 : NR;
            /* lanes inside the image, by kx: w0 + q + kx - pad in [0, wd), q < nr */
            __mmask16 xm0[16], xm1[16];
            for (int x = 0; x < ks && x < 16; x++) {
                int lo = pad - x - w0 > 0 ? pad - x - w0 : 0, hi = wd - (w0 + x - pad);
                if (hi > nr) hi = nr;
                xm0[x] = lanes16(hi) & ~lanes16(lo), xm1[x] = lanes16(hi - 16) & ~lanes16(lo - 16);
            }
            b_row d[KC];
            unsigned rows_in = ~0u; /* the ky inside the image for the descriptors made */
            for (int h = h0; h < h1; h++) {
                unsigned in = 0;
                for (int y = 0; y < ks && y < 32; y++)
                    if (h + y - pad >= 0 && h + y - pad < s->height) in |= 1u << y;
                if (in != rows_in) {
                    for (int j = 0; j < kc; j++) {
                        int ok = in >> ky[j] & 1;
                        d[j] = (b_row){off[j], ok ? xm0[kx[j]] : 0, ok ? xm1[kx[j]] : 0};
                    }
                    rows_in = in;
                }
                const float *base = s->im + (long)h * wd + w0;
                /* the next panel's new row of each channel: 34 floats from x = w0 - 1 */
                if (h + 1 < h1)
                    for (int j = 0; j < kc; j++)
                        if (ky[j] == ks - 1 && kx[j] == 0) {
                            _mm_prefetch((const char *)(base + wd + off[j]), _MM_HINT_T0);
                            _mm_prefetch((const char *)(base + wd + off[j] + 16), _MM_HINT_T0);
                            _mm_prefetch((const char *)(base + wd + off[j] + 32), _MM_HINT_T0);
                        }
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = i1 - ic < MC ? i1 - ic : MC;
                    unsigned char hs[MC / 6 + 2];
                    int tiles = tile_heights(mc, hs);
                    for (int t = 0, ir = 0; t < tiles; ir += hs[t], t++) {
                        int mr = mc - ir < hs[t] ? mc - ir : hs[t];
                        float *ct = g->c + (long)(ic + ir) * g->ldc + (long)h * wc + w0;
                        directs[nr > 16][hs[t] == 12](kc, g->a + (long)(ic + ir) * g->lda + pc, g->lda, d, base, ct,
                                                      g->ldc, mr, nr, add, g->alpha);
                    }
                }
            }
        }
    }
}

/* C[i0 .. i1) x [j0 .. j1) of g (of each of its images, with concat_k), on this
 * thread's buffers. */
static void gemm_block(const gemm_args *g0, int i0, int i1, int j0, int j1)
{
    packs_ready();
    const gemm_args *g = g0;
    if (g->beta != 0 && g->beta != 1)
        for (int i = i0; i < i1; i++)
            for (int j = j0; j < j1; j++) g->c[(long)i * g->ldc + j] *= g->beta;
    if (g->k == 0) {
        if (g->beta == 0)
            for (int i = i0; i < i1; i++) memset(g->c + (long)i * g->ldc + j0, 0, sizeof(float) * (j1 - j0));
        return;
    }
    if (g->direct) {
        direct_block(g, i0, i1, j0, j1);
        return;
    }
    long npad = (g->n + NR - 1) / NR * NR;
    int nk = g->concat_k ? g->nimg : 1;
    for (int jc = j0; jc < j1; jc += NC) {
        int nc = j1 - jc < NC ? j1 - jc : NC;
        for (int img = 0; img < nk; img++) {
            ohem_im2col_src src;
            gemm_args gi = image_of(g0, img, &src);
            g = &gi;
            for (int pc = 0; pc < g->k; pc += KC) {
                int kc = g->k - pc < KC ? g->k - pc : KC;
                int add = img > 0 || pc > 0 || g->beta != 0;
                /* B's block pc, as panels of all n columns: NR-aligned offsets */
                const float *b_block = g->b_all ? g->b_all + ((long)img * g->k + pc) * npad + (long)jc * kc : b_pack;
                if (!g->b_all) pack_b(g, pc, kc, jc, nc, b_pack);
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = i1 - ic < MC ? i1 - ic : MC;
                    unsigned char hs[MC / 6 + 2];
                    int tiles = tile_heights(mc, hs), last = mc;
                    for (int t = 0; t < tiles - 1; t++) last -= hs[t];
                    /* with ta, tiles are read in place; a last one shorter than its
                     * height is packed with zeros (reading it in place would pass
                     * the matrix) */
                    int packed_last = g->ta && last < hs[tiles - 1];
                    if (packed_last) pack_a(g, ic + mc - last, last, pc, kc, a_pack);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = nc - jr < NR ? nc - jr : NR;
                        const float *bp = b_block + (long)jr * kc;
                        for (int t = 0, ir = 0; t < tiles; ir += hs[t], t++) {
                            int mr = mc - ir < hs[t] ? mc - ir : hs[t];
                            float *ct = g->c + (long)(ic + ir) * g->ldc + jc + jr;
                            const float *ap = g->ta ? g->a + (long)pc * g->lda + ic + ir : g->a + (long)(ic + ir) * g->lda + pc;
                            long step = g->lda;
                            if (packed_last && t == tiles - 1) ap = a_pack, step = MR;
                            if (isa == 512)
                                kernels[!g->ta][nr > 16][hs[t] == 12](kc, ap, step, bp, ct, g->ldc, mr, nr, add,
                                                                      g->alpha);
                            else /* two halves of the panel */
                                for (int half = 0; half < nr; half += 16)
                                    (g->ta ? kernel_avx2_cols : kernel_avx2_rows)(kc, ap, step, bp + half, ct + half,
                                                                                  g->ldc, mr, nr - half, add, g->alpha);
                        }
                    }
                }
            }
        }
    }
}

static void gemm_part(void *ctx, long b, long e)
{
    const gemm_args *g = ctx;
    if (g->direct && !g->by_rows) { /* items are (image, output row) */
        for (long it = b; it < e;) {
            int img = (int)(it / g->hc);
            long r0 = it % g->hc, r1 = g->hc < r0 + (e - it) ? g->hc : r0 + (e - it);
            ohem_im2col_src src;
            gemm_args gi = image_of(g, img, &src);
            gemm_block(&gi, 0, g->m, (int)(r0 * g->wc), (int)(r1 * g->wc));
            it += r1 - r0;
        }
        return;
    }
    if (g->nimg > 1 && !g->concat_k) { /* items are (image, column strip) */
        long spn = (g->n + NR - 1) / NR;
        for (long it = b; it < e;) {
            int img = (int)(it / spn);
            long s0 = it % spn, s1 = spn < s0 + (e - it) ? spn : s0 + (e - it);
            ohem_im2col_src src;
            gemm_args gi = image_of(g, img, &src);
            gemm_block(&gi, 0, g->m, (int)(s0 * NR), (int)(s1 * NR < g->n ? s1 * NR : g->n));
            it += s1 - s0;
        }
        return;
    }
    if (g->by_rows) { /* items are strips of ROWS rows */
        int i1 = (int)(e * ROWS < g->m ? e * ROWS : g->m);
        gemm_block(g, (int)(b * ROWS), i1, 0, g->n);
    } else {
        int j1 = (int)(e * NR < g->n ? e * NR : g->n);
        gemm_block(g, 0, g->m, (int)(b * NR), j1);
    }
}

int ohem_sgemm_available(int set)
{
    static int known = -1, best;
    if (known < 0) {
        ohem_cpu cpu;
        ohem_cpu_detect(&cpu);
        best = cpu.avx512 ? 512 : cpu.avx2 && cpu.fma ? 256 : 0;
        known = 1;
    }
    return (set == 512 || set == 256) && set <= best;
}

int ohem_sgemm_kernels(void)
{
    return isa;
}

int ohem_sgemm_use(int set)
{
    if (!ohem_sgemm_available(set)) return -1;
    isa = set;
    return 0;
}

/* ---- a stride-1 convolution's weight gradient with few filters, transposed ----
 *
 * wu (m x n, n = channels ksize^2) += sum over images of delta_i (m x k, k = hc wc)
 * col_i'. With few filters (m), packing col_i' (n x k, transposed 16 x 16 at a
 * time) costs as much as the product. Transposed, wu' = col_i delta_i': the rows
 * of col are rows of a zero-padded copy of the image, read in place (row (c, ky,
 * kx) starts at plane c + ky Wp + kx; the pixel (y, x) is y Wp + x, Wp the padded
 * width, so each output row carries ksize - 1 pixels past its end, which delta'
 * gives 0), and only delta' (k x m) is packed. The images are summed in fixed
 * groups, each from 0, and the groups then added into wu in order: the same bits
 * whatever the threads (float rounding of the image-by-image sum). */
#define WT_M 64     /* at most this many filters */
#define WT_N 64     /* at least this many rows of col (fewer: slower than packing col') */
#define WT_GROUPS 8 /* at most this many groups of images */

/* A weight gradient summed by fixed groups of images (here and below): each group
 * from 0 into its own part, the parts then added into C in order. */
typedef struct {
    const gemm_args *g;
    int groups;
    float *parts; /* groups x m x n (transposed: n x m, each group's wu') */
} group_args;

/* Group grp's images [*i0, *i1). */
static void group_images(const group_args *w, long grp, int *i0, int *i1)
{
    *i0 = (int)(grp * w->g->nimg / w->groups), *i1 = (int)((grp + 1) * w->g->nimg / w->groups);
}

/* g's weight gradient by groups: part(group_args, groups) sums each, then C += the
 * parts in order (transposed: each part is C'). */
static void sum_by_groups(const gemm_args *g, ohem_pool_fn part, int transposed)
{
    static __thread void *parts;
    static __thread size_t cap;
    group_args w = {g, g->nimg < WT_GROUPS ? g->nimg : WT_GROUPS, NULL};
    w.parts = ohem_thread_buffer(&parts, &cap, sizeof(float) * w.groups * g->n * g->m,
                                 "the weight gradient's groups");
    ohem_pool_for(w.groups, 1, part, &w);
    for (int grp = 0; grp < w.groups; grp++) {
        const float *cg = w.parts + (long)grp * g->n * g->m;
        for (int i = 0; i < g->m; i++)
            for (int j = 0; j < g->n; j++)
                g->c[(long)i * g->ldc + j] += transposed ? cg[(long)j * g->m + i] : cg[(long)i * g->n + j];
    }
}

/* delta' rows [p0, p0 + kc) (padded pixels) x columns [j0, j0 + NR) (filters) into
 * one panel: dst[q NR + j] = delta[j0 + j][pixel of p0 + q], 0 for a pixel past its
 * row's end or a filter past m. Runs of 16 pixels inside one output row are
 * transposed 16 x 16 in registers. */
__attribute__((target("avx512f"))) static void wt_pack(const float *delta, long ldd, int m, int wc, int wp, int p0,
                                                       int kc, int j0, float *dst)
{
    int w = m - j0 < NR ? m - j0 : NR;
    for (int q = 0; q < kc; q += 16) {
        int len = kc - q < 16 ? kc - q : 16, p = p0 + q, y = p / wp, x = p % wp;
        if (len == 16 && x + 16 <= wc) { /* inside one output row */
            const float *src = delta + (long)y * wc + x;
            for (int j = 0; j < NR; j += 16) {
                if (j + 16 <= w) transpose16(src + (long)(j0 + j) * ldd, ldd, dst + (long)q * NR + j, NR);
                else
                    for (int t = 0; t < 16; t++)
                        for (int jj = j; jj < j + 16; jj++)
                            dst[(long)(q + t) * NR + jj] = jj < w ? src[(long)(j0 + jj) * ldd + t] : 0;
            }
            continue;
        }
        for (int t = 0; t < len; t++) {
            int pp = p + t, yy = pp / wp, xx = pp % wp;
            float *d = dst + (long)(q + t) * NR;
            for (int j = 0; j < NR; j++)
                d[j] = j < w && xx < wc ? delta[(long)(j0 + j) * ldd + (long)yy * wc + xx] : 0;
        }
    }
}

static void wt_part(void *ctx, long b, long e)
{
    const group_args *w = ctx;
    const gemm_args *g = w->g;
    const ohem_im2col_src *s = g->im;
    int m = g->m, n = g->n, ks = s->ksize, pad = s->pad, wc = g->wc, hc = g->hc;
    int hp = s->height + 2 * pad, wp = s->width + 2 * pad;
    long plane = (long)hp * wp, np = (long)(hc - 1) * wp + wc; /* padded pixels up to the last output one */
    static __thread void *im_buf, *rows_buf;
    static __thread size_t im_cap, rows_cap;
    packs_ready();
    float *im = ohem_thread_buffer(&im_buf, &im_cap, sizeof(float) * plane * s->channels,
                                   "the gemm's padded image");
    const float **rows = ohem_thread_buffer(&rows_buf, &rows_cap, sizeof(float *) * n, "the gemm's row pointers");
    for (long grp = b; grp < e; grp++) {
        float *cg = w->parts + grp * (long)n * m;
        memset(cg, 0, sizeof(float) * n * m);
        int i0, i1;
        group_images(w, grp, &i0, &i1);
        for (int img = i0; img < i1; img++) {
            const float *src = s->im + img * g->im_img, *delta = g->a + img * g->a_img;
            for (int c = 0; c < s->channels; c++) { /* the zero-padded copy */
                float *pl = im + c * plane;
                memset(pl, 0, sizeof(float) * wp * pad);
                for (int y = 0; y < s->height; y++) {
                    float *row = pl + (long)(y + pad) * wp;
                    memset(row, 0, sizeof(float) * pad);
                    memcpy(row + pad, src + ((long)c * s->height + y) * s->width, sizeof(float) * s->width);
                    memset(row + pad + s->width, 0, sizeof(float) * pad);
                }
                memset(pl + (long)(s->height + pad) * wp, 0, sizeof(float) * wp * pad);
            }
            for (int r = 0; r < n; r++) {
                int kx = r % ks, ky = r / ks % ks, c = r / ks / ks;
                rows[r] = im + c * plane + (long)ky * wp + kx;
            }
            for (long pc = 0; pc < np; pc += KC) {
                int kc = np - pc < KC ? (int)(np - pc) : KC;
                for (int j0 = 0; j0 < m; j0 += NR) {
                    int nr = m - j0 < NR ? m - j0 : NR;
                    wt_pack(delta, g->lda, m, wc, wp, (int)pc, kc, j0, b_pack);
                    for (int ic = 0; ic < n; ic += MC) {
                        int mc = n - ic < MC ? n - ic : MC;
                        unsigned char hs[MC / 6 + 2];
                        int tiles = tile_heights(mc, hs);
                        for (int t = 0, ir = 0; t < tiles; ir += hs[t], t++) {
                            int mr = mc - ir < hs[t] ? mc - ir : hs[t];
                            ptrs[nr > 16][hs[t] == 12](kc, rows + ic + ir, pc, b_pack, cg + (long)(ic + ir) * m + j0,
                                                       m, mr, nr, 1);
                        }
                    }
                }
            }
        }
    }
}

/* ---- a weight gradient too small to split by rows or columns, by images ----
 *
 * With few filters and few rows of col (the first layer: 16 x 27), the split by
 * row strips gives each thread all of k, so each packed all of col' (the 32 images
 * of fashion.cfg's first layer: 64 MB, twice). Here the images go in up to
 * WT_GROUPS fixed groups, each summed from 0 into a C of its own by gemm_block, and
 * the groups then added into C in order: each col' packed once, the same bits
 * whatever the threads (float rounding of the image-by-image sum). */
static void group_part(void *ctx, long b, long e)
{
    const group_args *w = ctx;
    const gemm_args *g = w->g;
    for (long grp = b; grp < e; grp++) {
        int i0, i1;
        group_images(w, grp, &i0, &i1);
        ohem_im2col_src src = *g->im;
        src.im += i0 * g->im_img;
        gemm_args gg = *g;
        gg.a += i0 * g->a_img, gg.im = &src, gg.nimg = i1 - i0, gg.beta = 0;
        gg.c = w->parts + grp * (long)g->m * g->n, gg.ldc = g->n;
        gemm_block(&gg, 0, g->m, 0, g->n);
    }
}

static void run(gemm_args *g);

void ohem_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                float beta, float *c, int ldc)
{
    gemm_args g = {ta, tb, m, n, k, alpha, beta, a, b, lda, ldb, c, ldc, .nimg = 1};
    run(&g);
}

void ohem_sgemm_im2col(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                       const ohem_im2col_src *b, float beta, float *c, int ldc)
{
    gemm_args g = {ta, tb, m, n, k, alpha, beta, a, NULL, lda, 0, c, ldc, .im = b, .nimg = 1};
    run(&g);
}

void ohem_sgemm_conv_forward(int batch, int m, int n, int k, const float *w, const ohem_im2col_src *src,
                             long im_stride, float *out, long out_stride, float beta)
{
    gemm_args g = {0, 0, m, n, k, 1, beta, w, NULL, k, 0, out, n, .im = src, .nimg = batch, .im_img = im_stride,
                   .c_img = out_stride};
    run(&g);
}

int ohem_sgemm_conv_direct(int m, int k, const ohem_im2col_src *s)
{
    int wc = (s->width + 2 * s->pad - s->ksize) / s->stride + 1;
    return isa == 512 && s->stride == 1 && wc >= NR && s->ksize <= 16 && m <= DIRECT_M && k >= DIRECT_K;
}

void ohem_sgemm_conv_weights(int batch, int m, int n, int k, const float *delta, long delta_stride,
                             const ohem_im2col_src *src, long im_stride, float *wu)
{
    gemm_args g = {0, 1, m, n, k, 1, 1, delta, NULL, k, 0, wu, n, .im = src, .nimg = batch, .concat_k = 1,
                   .a_img = delta_stride, .im_img = im_stride};
    run(&g);
}

/* Items: (block of k, panel of NR columns) of op(B), packed into g->b_all. */
static void pack_all_part(void *ctx, long b, long e)
{
    const gemm_args *g = ctx;
    long panels = (g->n + NR - 1) / NR, npad = panels * NR, blocks = (g->k + KC - 1) / KC;
    for (long it = b; it < e; it++) {
        int img = (int)(it / (blocks * panels)), pc = (int)(it / panels % blocks) * KC, p = (int)(it % panels) * NR;
        int kc = g->k - pc < KC ? g->k - pc : KC, w = g->n - p < NR ? g->n - p : NR;
        ohem_im2col_src src;
        gemm_args gi = image_of(g, img, &src);
        pack_b(&gi, pc, kc, p, w, (float *)g->b_all + ((long)img * g->k + pc) * npad + (long)p * kc);
    }
}

/* the caller's buffer for all of op(B), grown as needed: at most B_ALL_MAX floats
 * (4 MB), so that the parts read it from the cache; a larger B each part packs
 * itself, block by block, into its own buffer */
#define B_ALL_MAX (1L << 20)
static __thread float *b_all_buf;
static __thread long b_all_cap;

static void run(gemm_args *g)
{
    int m = g->m, n = g->n, k = g->k;
    if (m <= 0 || n <= 0) return;
    if (g->im) { /* its im2col's output size */
        const ohem_im2col_src *s = g->im;
        g->hc = (s->height + 2 * s->pad - s->ksize) / s->stride + 1;
        g->wc = (s->width + 2 * s->pad - s->ksize) / s->stride + 1;
    }
    if (isa == 512 && g->concat_k && g->im && g->tb && g->im->stride == 1 && m <= WT_M && n >= WT_N && g->nimg >= 2 &&
        g->alpha == 1 && g->beta == 1) {
        sum_by_groups(g, wt_part, 1);
        return;
    }
    long strips_n = (n + NR - 1) / NR, strips_m = (m + ROWS - 1) / ROWS;
    /* a weight gradient of at most 32 x 32 (the first layers) by groups of images
     * (sum_by_groups) */
    if (g->concat_k && g->im && g->nimg >= 2 && g->alpha == 1 && g->beta == 1 && n <= NR && m <= 32) {
        sum_by_groups(g, group_part, 0);
        return;
    }
    /* a stride-1 convolution's forward whose output rows fill a panel reads B in
     * place (AVX-512 kernels only) */
    g->direct = g->im && !g->tb && ohem_sgemm_conv_direct(m, k, g->im);
    /* split the longer side (images' own C: their column strips, all images in
     * one split; reading B in place, output rows); a strip's share of the flops
     * sets the grain, so that a gemm of under about a million multiply-adds runs
     * in the caller */
    int own_c = g->nimg > 1 && !g->concat_k;
    g->by_rows = !own_c && (m + MR - 1) / MR > strips_n;
    long strips = g->by_rows ? strips_m : own_c ? strips_n * g->nimg : strips_n;
    if (g->direct && !g->by_rows) strips = (long)g->hc * g->nimg;
    double per_strip = (double)m * n * (k ? k : 1) * g->nimg / strips;
    long grain = (long)(1e6 / per_strip) + 1;
    if (grain < 2) grain = 2;
    /* split by rows, each part would pack all of B: pack it once, in parallel */
    int nk = g->concat_k ? g->nimg : 1;
    long all = (long)nk * k * (strips_n * NR);
    if (g->by_rows && !g->direct && strips >= grain && k > 0 && all <= B_ALL_MAX) {
        if (all > b_all_cap) {
            free(b_all_buf);
            b_all_buf = aligned_alloc(64, sizeof(float) * all); /* NULL: each part packs its own */
            b_all_cap = b_all_buf ? all : 0;
        }
        if (b_all_buf) {
            g->b_all = b_all_buf;
            long items = nk * ((k + KC - 1) / KC) * strips_n;
            ohem_pool_for(items, 1, pack_all_part, g);
        }
    }
    /* a convolution's gemms (B an im2col) in 2 parts per thread, not the pool's 4:
     * each part reads all of A (and, summing images into one C, every image's), and
     * packs its own B; so fewer parts. Faster for these gemms (the deep layers'
     * weight gradients and forwards), slower for a plain gemm (the input's delta),
     * which keeps 4 (docs/performance.md, convolution paths) */
    ohem_pool_for_parts(strips, grain, g->im ? 2 : 4, gemm_part, g);
}
