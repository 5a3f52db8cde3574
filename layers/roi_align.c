/* roi_align.c: a direct implementation of roi_align.h (one bilinear lookup per sample point and channel). */
#include "roi_align.h"
#include <math.h>
static float bil(const float *m, int h, int w, float y, float x, int *i, float *wt)
{
    if (y < -1 || y > h || x < -1 || x > w) { for (int k=0;k<4;k++){i[k]=0;wt[k]=0;} return 0; }
    if (y < 0) y = 0;
    if (x < 0) x = 0;
    int y0 = (int)y, x0 = (int)x, y1, x1;
    if (y0 >= h - 1) { y0 = y1 = h - 1; y = y0; } else y1 = y0 + 1;
    if (x0 >= w - 1) { x0 = x1 = w - 1; x = x0; } else x1 = x0 + 1;
    float ly = y - y0, lx = x - x0, hy = 1 - ly, hx = 1 - lx;
    i[0]=y0*w+x0; i[1]=y0*w+x1; i[2]=y1*w+x0; i[3]=y1*w+x1;
    wt[0]=hy*hx; wt[1]=hy*lx; wt[2]=ly*hx; wt[3]=ly*lx;
    (void)m; return 1;
}
static void walk(const float *map, const float *dout, float *out, float *dmap, int c, int h, int w, const float roi[4], int size, int sampling)
{
    float x1 = roi[0]-.5f, y1 = roi[1]-.5f, rw = roi[2]-roi[0], rh = roi[3]-roi[1];
    float bw = rw/size, bh = rh/size;
    int gy = sampling > 0 ? sampling : (int)ceilf(rh/size), gx = sampling > 0 ? sampling : (int)ceilf(rw/size);
    if (gy < 1) gy = 1;
    if (gx < 1) gx = 1;
    for (int ch = 0; ch < c; ch++) for (int py = 0; py < size; py++) for (int px = 0; px < size; px++) {
        float acc = 0; int o = (ch*size+py)*size+px;
        for (int iy = 0; iy < gy; iy++) for (int ix = 0; ix < gx; ix++) {
            float y = y1 + py*bh + (iy+.5f)*bh/gy, x = x1 + px*bw + (ix+.5f)*bw/gx;
            int id[4]; float wt[4]; bil(map,h,w,y,x,id,wt);
            for (int k=0;k<4;k++) {
                if (out) acc += wt[k]*map[ch*h*w+id[k]];
                else dmap[ch*h*w+id[k]] += wt[k]*dout[o]/(gx*gy);
            }
        }
        if (out) out[o] = acc/(gx*gy);
    }
}
void roi_align_forward(const float *map, int c, int h, int w, const float roi[4], int size, int sampling, float *out)
{ walk(map, 0, out, 0, c, h, w, roi, size, sampling); }
void roi_align_backward(const float *dout, int c, int h, int w, const float roi[4], int size, int sampling, float *dmap)
{ walk(0, dout, 0, dmap, c, h, w, roi, size, sampling); }
void roi_max_forward(const float *map, int c, int h, int w, const float roi[4], int size, float *out, int *argmax)
{
    int sx = (int)roundf(roi[0]), sy = (int)roundf(roi[1]), ex = (int)roundf(roi[2]), ey = (int)roundf(roi[3]);
    int rw = ex-sx+1 > 1 ? ex-sx+1 : 1, rh = ey-sy+1 > 1 ? ey-sy+1 : 1;
    float bw = (float)rw/size, bh = (float)rh/size;
    for (int ch=0;ch<c;ch++) for (int py=0;py<size;py++) for (int px=0;px<size;px++) {
        int hs = (int)floorf(py*bh)+sy, he=(int)ceilf((py+1)*bh)+sy, ws=(int)floorf(px*bw)+sx, we=(int)ceilf((px+1)*bw)+sx;
        if (hs<0)hs=0; if(hs>h)hs=h; if(he<0)he=0; if(he>h)he=h; if(ws<0)ws=0; if(ws>w)ws=w; if(we<0)we=0; if(we>w)we=w;
        int o=(ch*size+py)*size+px, best=-1; float m=0;
        for (int y=hs;y<he;y++) for(int x=ws;x<we;x++){int id=ch*h*w+y*w+x; if(best<0||map[id]>m){m=map[id];best=id;}}
        out[o]= best<0?0:m; argmax[o]=best;
    }
}
void roi_max_backward(const float *dout, const int *argmax, int c, int size, float *dmap)
{ for (int o=0;o<c*size*size;o++) if (argmax[o]>=0) dmap[argmax[o]] += dout[o]; }
