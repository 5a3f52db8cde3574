/* ohem.h: the mining core of online hard example mining.
 *
 * Plain C over float arrays: no network, no layer. Candidates are ranked by loss
 * (descending; equal losses: lower index first), walked greedily, and a candidate
 * is dropped when its IoU with an already kept one is greater than nms_iou.
 * IoU is Darknet's box_iou: boxes are (centre x, centre y, width, height). */
#ifndef OHEM_H
#define OHEM_H

#include <stddef.h>
#include <stdint.h>
#include "darknet.h"

/* Scratch memory for the walk, sized for up to cap candidates. Allocate it once
 * (make/resize), reuse it for every image. */
typedef struct {
    int cap;
    uint64_t *keys;         /* (cap) rank keys: loss bits << 32 | ~index */
    float *kl, *kr, *kt, *kb, *ka;  /* (cap) kept boxes: left, right, top, bottom, area */
} ohem_scratch;

/* Bytes of scratch memory for cap candidates, and how to lay it over such a block
 * (mem aligned to 8). */
size_t ohem_scratch_bytes(int cap);
void ohem_scratch_bind(ohem_scratch *s, void *mem, int cap);

/* Allocates on its own. Returns 0, or -1 when memory runs out.
 * ohem_scratch_free(NULL) is a no-op. */
int ohem_scratch_init(ohem_scratch *s, int cap);
void ohem_scratch_free(ohem_scratch *s);

/* Ranks the n candidates by loss and keeps up to max_keep of them with greedy NMS
 * (boxes NULL or nms_iou >= 1: no NMS). Writes the kept indices into keep[] in the
 * order in which they were kept and returns how many. NaN ranks above any number.
 * loss is (n), boxes is (n) or NULL, keep has room for min(n, max_keep). Returns -1
 * when it cannot allocate its scratch memory. */
int ohem_select(const float *loss, const box *boxes, int n, float nms_iou, int max_keep, int *keep);

/* The walk behind ohem_select, with no allocation. keep[0..nkept) are candidates
 * already kept: they count against max_total and take part in NMS. Candidates with
 * skip[i] != 0 are not visited (skip may be NULL); the caller marks the ones already
 * in keep[] there. The walk appends to keep[] until it holds max_total indices or the
 * candidates run out, and returns the new count. s must have cap >= n. */
int ohem_walk(ohem_scratch *s, const float *loss, const box *boxes, const unsigned char *skip,
              int n, float nms_iou, int nkept, int max_total, int *keep);

/* What the [ohem] layer keeps of one image, beyond the plain walk. */
typedef struct {
    int budget;           /* kept by the ranked walk: per_image, or ceil(fraction x n) */
    float nms;            /* IoU above which a candidate is dropped; >= 1: no NMS */
    int keep_positives;   /* 1: every positive is kept, on top of budget negatives */
    float neg_pos_ratio;  /* > 0: at most ceil(ratio x kept positives) negatives */
    int min_negatives;    /* at least this many negatives, while there are any */
} ohem_policy;

/* Selects with the policy (docs/ohem.md, "The forward", says it in words):
 *  keep_positives: all positives first, then a walk over the negatives for
 *    min(budget, ceil(ratio x P)) of them (no cap when ratio is 0), at least
 *    min_negatives;
 *  otherwise: a walk over all for budget; if ratio > 0, only the first
 *    max(min_negatives, ceil(ratio x P)) negatives of it stay (P: positives kept);
 *    if fewer than min_negatives negatives are kept, the walk goes on over the
 *    remaining negatives until there are.
 * loss, boxes (or NULL), pos and mark are (n); mark is scratch. keep has room for n.
 * Returns the number kept. */
int ohem_select_policy(ohem_scratch *s, const ohem_policy *p, const float *loss, const box *boxes,
                       const unsigned char *pos, unsigned char *mark, int n, int *keep);

/* IoU exactly as Darknet's box_iou computes it. */
float ohem_box_iou(box a, box b);

#endif
