/* oracle.h: the tests' brute-force selection, written a second, simpler way:
 * a full sort, a greedy pass over it with libdarknet's own box_iou, and the
 * [ohem] policy spelled out as docs/ohem.md states it. Also the tests' seeded PRNG. */
#ifndef OHEM_TEST_ORACLE_H
#define OHEM_TEST_ORACLE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "ohem.h"

/* xorshift64*: the tests' only source of randomness, seeded explicitly. */
static uint64_t rng_state;
static inline void rng_seed(uint64_t s) { rng_state = s * 2654435761u + 1; }
static inline uint32_t rng_u32(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}
static inline float rng_unit(void) { return (rng_u32() >> 8) / 16777216.0f; }

/* Rank order of the oracle: higher loss first, NaN above everything, ties by index;
 * when oracle_tie is set (the [ohem] layer's rank=coord/obj/class), candidates whose
 * loss is 0 are ordered among themselves by oracle_tie (their full loss) first. */
static const float *cmp_loss, *oracle_tie;
static inline int cmp_rank(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    float x = cmp_loss[i], y = cmp_loss[j];
    int xn = isnan(x), yn = isnan(y);
    if (xn != yn) return xn ? -1 : 1;
    if (!xn && x != y) return x > y ? -1 : 1;
    if (oracle_tie && x == 0 && oracle_tie[i] != oracle_tie[j]) return oracle_tie[i] > oracle_tie[j] ? -1 : 1;
    return i - j;
}

/* Greedy over the full order; skip may be NULL. Appends to keep from nk. */
static inline int oracle_walk(const float *loss, const box *boxes, const unsigned char *skip, int n,
                       float nms, int nk, int max_total, int *keep)
{
    int *order = malloc((n + 1) * sizeof(int));
    for (int i = 0; i < n; i++) order[i] = i;
    cmp_loss = loss;
    qsort(order, n, sizeof(int), cmp_rank);
    for (int q = 0; q < n && nk < max_total; q++) {
        int i = order[q], drop = 0;
        if (skip && skip[i]) continue;
        if (boxes && nms < 1)
            for (int k = 0; k < nk && !drop; k++) drop = box_iou(boxes[i], boxes[keep[k]]) > nms;
        if (!drop) keep[nk++] = i;
    }
    free(order);
    return nk;
}

static inline int oracle_select(const float *loss, const box *boxes, int n, float nms, int max_keep, int *keep)
{
    return oracle_walk(loss, boxes, NULL, n, nms, 0, max_keep < n ? max_keep : n, keep);
}

/* The policy oracle: docs/ohem.md's words, written out with the oracle walk. */
static inline int oracle_policy(const ohem_policy *p, const float *loss, const box *boxes,
                         const unsigned char *pos, int n, int *keep)
{
    unsigned char *skip = calloc(n + 1, 1);
    int nk = 0;
    if (p->keep_positives) {
        int P = 0;
        for (int i = 0; i < n; i++)
            if (pos[i]) keep[nk++] = i, skip[i] = 1, P++;
        long negs = p->budget;
        if (p->neg_pos_ratio > 0) {
            long cap = (long)ceil((double)p->neg_pos_ratio * P);
            if (cap < negs) negs = cap;
        }
        if (negs < p->min_negatives) negs = p->min_negatives;
        nk = oracle_walk(loss, boxes, skip, n, p->nms, nk, (int)(P + negs > n ? n : P + negs), keep);
        free(skip);
        return nk;
    }
    int *first = malloc((n + 1) * sizeof(int));
    int nf = oracle_walk(loss, boxes, NULL, n, p->nms, 0, p->budget < n ? p->budget : n, first);
    int P = 0;
    for (int k = 0; k < nf; k++) P += pos[first[k]] != 0;
    long cap = n;
    if (p->neg_pos_ratio > 0) {
        cap = (long)ceil((double)p->neg_pos_ratio * P);
        if (cap < p->min_negatives) cap = p->min_negatives;
    }
    int negs = 0;
    for (int k = 0; k < nf; k++) {
        if (!pos[first[k]]) {
            if (negs == cap) continue;
            negs++;
        }
        keep[nk++] = first[k];
    }
    if (negs < p->min_negatives) {
        for (int i = 0; i < n; i++) skip[i] = pos[i];
        for (int k = 0; k < nk; k++) skip[keep[k]] = 1;
        nk = oracle_walk(loss, boxes, skip, n, p->nms, nk, nk + p->min_negatives - negs, keep);
    }
    free(first);
    free(skip);
    return nk;
}

#endif
