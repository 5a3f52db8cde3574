/* roi_rows.c: the RoIs of a two-stage network and the rows of its head
 * (roi_rows.h). */
#include "roi_rows.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

struct roi_rows {
    int images, R, pool, loss;
    int ints;               /* carried per row */
    box *boxes;             /* (images x R) */
    unsigned char *valid;   /* (images x R) */
    int *row_of;            /* (images x R): the RoI of each row */
    int packed;             /* K after a packed plan, else -1 */
    int sparse;             /* a sparse pass follows each training forward */
    unsigned char *picked;  /* (images x R): the picker's choice */
    int *carried;           /* (images x R, ints) */
    roi_rows_picker picker;
    void *picker_ctx;
};

roi_rows *roi_rows_make(int images, int R, int pool, int ints_per_row)
{
    assert(images > 0 && R > 0 && ints_per_row >= 0);
    size_t n = (size_t)images * R;
    roi_rows *rr = calloc(1, sizeof(*rr));
    if (!rr) return NULL;
    rr->images = images;
    rr->R = R;
    rr->pool = pool;
    rr->loss = -1;
    rr->ints = ints_per_row;
    rr->packed = -1;
    rr->boxes = calloc(n, sizeof(box));
    rr->valid = calloc(n, 1);
    rr->row_of = malloc(n * sizeof(int));
    rr->picked = calloc(n, 1);
    if (ints_per_row) rr->carried = malloc(n * ints_per_row * sizeof(int));
    if (!rr->boxes || !rr->valid || !rr->row_of || !rr->picked || (ints_per_row && !rr->carried)) {
        roi_rows_free(rr);
        return NULL;
    }
    for (size_t r = 0; r < n; r++) rr->row_of[r] = (int)r;
    return rr;
}

void roi_rows_free(roi_rows *rr)
{
    if (!rr) return;
    free(rr->boxes);
    free(rr->valid);
    free(rr->row_of);
    free(rr->picked);
    free(rr->carried);
    free(rr);
}

int roi_rows_per_image(const roi_rows *rr)
{
    return rr->R;
}

box *roi_rows_boxes(const roi_rows *rr)
{
    return rr->boxes;
}

unsigned char *roi_rows_valid(const roi_rows *rr)
{
    return rr->valid;
}

int *roi_rows_ints(const roi_rows *rr, int k)
{
    return rr->carried ? rr->carried + (size_t)k * rr->ints : NULL;
}

void roi_rows_attach(roi_rows *rr, int loss, roi_rows_picker picker, void *ctx)
{
    assert(loss > rr->pool);
    rr->loss = loss;
    rr->picker = picker;
    rr->picker_ctx = ctx;
}

int roi_rows_roi(const roi_rows *rr, int k)
{
    return rr->row_of[k];
}

int roi_rows_packed(const roi_rows *rr, const int **row_of)
{
    if (row_of) *row_of = rr->row_of;
    return rr->packed;
}

/* Head layers whose rows are computed independently of each other. */
static int row_wise(const layer *l)
{
    if (l->batch_normalize) return 0;
    return l->type == CONNECTED || l->type == CONVOLUTIONAL || l->type == ACTIVE || l->type == MAXPOOL ||
           l->type == AVGPOOL;
}

/* Head layers whose backward reads nothing of their forward but the output (and the
 * input): no batch-norm statistics, no max-pooling indexes. */
static int output_only(const layer *l)
{
    return !l->batch_normalize &&
           (l->type == CONNECTED || l->type == CONVOLUTIONAL || l->type == ACTIVE || l->type == AVGPOOL);
}

/* 1 when every layer strictly between [roipool] and [roi_loss] computes each row
 * on its own. */
static int head_row_wise(const roi_rows *rr, const network *net)
{
    if (rr->loss < 0) return 0;
    for (int i = rr->pool + 1; i < rr->loss; i++)
        if (!row_wise(&net->layers[i])) return 0;
    return 1;
}

/* The head's batch, from [roipool] to [roi_loss], set to rows. */
static void head_batch(const roi_rows *rr, network *net, int rows)
{
    for (int i = rr->pool; i <= rr->loss; i++) net->layers[i].batch = rows;
}

void roi_rows_expect_sparse(roi_rows *rr)
{
    rr->sparse = 1;
}

int roi_rows_delta_rows(const roi_rows *rr, const network *net, int rows)
{
    return rr->sparse && rr->packed < 0 && net->train ? 0 : rows;
}

int roi_rows_plan(roi_rows *rr, network *net)
{
    int n = net->batch * rr->R;
    assert(net->batch <= rr->images);
    /* a packed or sparse pass of the last step left the head at K rows */
    for (int i = rr->pool; i < net->n; i++) net->layers[i].batch = n;
    rr->packed = -1;
    if (net->train && net->truth && rr->picker && head_row_wise(rr, net) &&
        rr->picker(rr->picker_ctx, net, rr->picked)) {
        int K = 0;
        for (int r = 0; r < n; r++)
            if (rr->picked[r]) rr->row_of[K++] = r;
        rr->packed = K;
        if (!K) rr->row_of[0] = 0; /* one row that no loss trains */
        head_batch(rr, net, K ? K : 1);
        return K ? K : 1;
    }
    for (int r = 0; r < n; r++) rr->row_of[r] = r;
    return n;
}

/* Copies row r of rows of width w to row k. */
static void move_row(float *rows, int w, int k, int r)
{
    memcpy(rows + (size_t)k * w, rows + (size_t)r * w, (size_t)w * sizeof(float));
}

typedef struct {
    float *rows;
    int w;
    const int *row_of;
    int base; /* the run's first row */
} gather_job;

static void gather_part(void *ctx, long begin, long end)
{
    const gather_job *j = ctx;
    for (long k = j->base + begin; k < j->base + end; k++)
        if (j->row_of[k] != k) move_row(j->rows, j->w, (int)k, j->row_of[k]);
}

/* In runs [a, b) with b at most row_of[a]: every source of a run
 * is at or past b, so no row of the run is written before it is read, and the run's
 * rows are copied on the pool; the runs go in order, each writing below the sources
 * of those after it. */
void roi_rows_gather(float *rows, int w, const int *row_of, int K)
{
    gather_job j = {rows, w, row_of, 0};
    long grain = ohem_pool_grain(w);
    for (int a = 0; a < K;) {
        int b = row_of[a] < K ? row_of[a] : K;
        if (b <= a) b = a + 1;
        j.base = a;
        if (b - a >= 2 * grain) ohem_pool_for(b - a, grain, gather_part, &j);
        else gather_part(&j, 0, b - a);
        a = b;
    }
}

int roi_rows_sparse(roi_rows *rr, network *net, const unsigned char *trained)
{
    layer *P = &net->layers[rr->pool], *L = &net->layers[rr->loss];
    int total = P->batch, K = 0;
    if (!head_row_wise(rr, net)) {
        memset(P->delta, 0, (size_t)total * P->outputs * sizeof(float));
        return -1;
    }
    rr->packed = -1;
    for (int r = 0; r < total; r++)
        if (trained[r]) rr->row_of[K++] = r;
    if (!K) { /* nothing trains: the dense rows are all zero anyway */
        for (int r = 0; r < total; r++) rr->row_of[r] = r;
        memset(P->delta, 0, (size_t)total * P->outputs * sizeof(float));
        return 0;
    }
    /* in place: row_of[k] >= k and grows, so no source is overwritten first */
    roi_rows_gather(P->output, P->outputs, rr->row_of, K);
    for (int k = 0; k < K; k++) {
        int r = rr->row_of[k];
        if (r == k) continue;
        if (rr->carried)
            memcpy(rr->carried + (size_t)k * rr->ints, rr->carried + (size_t)r * rr->ints,
                   (size_t)rr->ints * sizeof(int));
        move_row(L->delta, L->inputs, k, r);
    }
    head_batch(rr, net, K);
    fill_cpu(K * P->outputs, 0, P->delta, 1);
    /* what the head's backward reads of its forward is each layer's output (and its
     * input, the layer before's): the read-only forward computed them for every row,
     * so the kept rows are gathered, unless a layer keeps more (max pooling's indexes
     * point into the whole batch) */
    int gather = 1;
    for (int i = rr->pool + 1; i < rr->loss; i++) gather &= output_only(&net->layers[i]);
    if (gather) {
        for (int i = rr->pool + 1; i < rr->loss; i++) {
            layer *h = &net->layers[i];
            roi_rows_gather(h->output, h->outputs, rr->row_of, K);
            if (h->delta) fill_cpu(h->outputs * K, 0, h->delta, 1);
        }
        return K;
    }
    /* else the head's forward again over the K rows */
    network n = *net;
    n.train = 1;
    n.input = P->output;
    for (int i = rr->pool + 1; i < rr->loss; i++) {
        layer l = net->layers[i];
        n.index = i;
        if (l.delta) fill_cpu(l.outputs * l.batch, 0, l.delta, 1);
        l.forward(l, n);
        n.input = l.output;
    }
    return K;
}
