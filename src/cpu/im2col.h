/* im2col.h: libdarknet's im2col_cpu and col2im_cpu, replaced by row-wise versions
 * on the thread pool, and the pieces of them our gemm's packing shares. */
#ifndef OHEM_IM2COL_H
#define OHEM_IM2COL_H

/* libdarknet's names, replaced: im (channels, height, width) to col (channels *
 * ksize * ksize, out_h * out_w), and col back, added into im. */
void im2col_cpu(float *data_im, int channels, int height, int width, int ksize, int stride, int pad, float *data_col);
void col2im_cpu(float *data_col, int channels, int height, int width, int ksize, int stride, int pad, float *data_im);

/* "plugin" (row-wise) or "darknet" (libdarknet's per-pixel im2col_cpu/col2im_cpu);
 * returns 0, or -1 for another name. OHEM_IM2COL sets it at start-up. */
int ohem_im2col_select(const char *name);

/* The columns w of an output row of an im2col that read inside the image for
 * kernel offset kx (0 <= kx + w stride - pad < width), as [*w0, *w1) within [0, wc):
 * im2col.c's rows and the packing of our gemm (sgemm.c). */
void ohem_im2col_span(int kx, int stride, int pad, int width, int wc, int *w0, int *w1);

/* col2im_cpu for the output rows [h0, h1) alone: col is (channels*ksize*ksize,
 * (h1 - h0)*wc), those rows of the whole im2col; adds them into im as col2im_cpu
 * adds the whole col. */
void ohem_col2im_rows(const float *col, int channels, int height, int width, int ksize, int stride, int pad, int h0,
                      int h1, float *im);

#endif
