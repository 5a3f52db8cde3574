/* pipeline.c: [ohem] pipeline=1 (ohem_pipeline.h): the read-only pass of the next
 * batch on a second thread while the trainable pass of the current one runs. */
#include "ohem_pipeline.h"
#include "kernels.h"
#include "ohem_layer.h"
#include "ohem_parser.h"
#include "roi_loss_layer.h"
#include "roipool_layer.h"

#include <cblas.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ohem_pipeline {
    network *ro;            /* the read-only copy */
    int pool, ohem;         /* [roipool] and [ohem], the same index in both networks */
    size_t rows;            /* images x RoIs */
    box *rois;              /* the selection handed on: the RoIs of a batch, */
    unsigned char *valid;   /* their valid flags, */
    unsigned char *kept;    /* those that train, */
    ohem_stats part;        /* and [ohem]'s figures of the read-only pass */
    int pending;            /* a selection waits for the first batch of the next call */
    int threads;            /* OpenBLAS's threads before: the trainable backward's */
    int lend;               /* 0: one core each to the end (the benchmark's) */
};

int ohem_pipeline_layer(const network *net)
{
    for (int i = 0; i < net->n; i++)
        if (ohem_layer_pipeline(&net->layers[i])) return i;
    return -1;
}

void ohem_pipeline_free(ohem_pipeline *p)
{
    if (!p) return;
    free_network(p->ro); /* the plugin's, which frees the plugin layers too */
    if (p->threads) ohem_blas_threads(p->threads);
    free(p->rois);
    free(p->valid);
    free(p->kept);
    free(p);
}

ohem_pipeline *ohem_pipeline_make(network *net, const char *path, ohem_err *e)
{
    int oh = ohem_pipeline_layer(net);
    if (oh < 0) {
        ohem_err_set(e, "%s: no [ohem] with pipeline=1", path);
        return NULL;
    }
    ohem_pipeline *p = calloc(1, sizeof(*p));
    if (!p) {
        ohem_err_set(e, "%s: pipeline=1: out of memory", path);
        return NULL;
    }
    p->ohem = oh;
    p->pool = oh;
    while (p->pool > 0 && !is_roipool_layer(&net->layers[p->pool])) p->pool--;
    /* the copy's construction prints its layers again: keep them off the terminal */
    fflush(stderr);
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    if (saved >= 0 && devnull >= 0) dup2(devnull, 2);
    if (devnull >= 0) close(devnull);
    int rc = ohem_parse_network(path, &p->ro, e);
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    if (rc != 0) {
        ohem_pipeline_free(p);
        return NULL;
    }
    if (p->ro->n != net->n || p->ro->batch != net->batch) {
        ohem_err_set(e, "%s: pipeline=1: the read-only copy built from the cfg does not match the network (%d layers, batch %d, against %d and %d)",
                     path, p->ro->n, p->ro->batch, net->n, net->batch);
        ohem_pipeline_free(p);
        return NULL;
    }
    p->rows = (size_t)net->batch * roipool_layer_count(&net->layers[p->pool]);
    p->rois = malloc(p->rows * sizeof(box));
    p->valid = malloc(p->rows);
    p->kept = malloc(p->rows);
    if (!p->rois || !p->valid || !p->kept) {
        ohem_err_set(e, "%s: pipeline=1: out of memory", path);
        ohem_pipeline_free(p);
        return NULL;
    }
    ohem_layer_set_readonly(&p->ro->layers[p->ohem]);
    ohem_copy_parameters(p->ro, net);
    /* the two passes are the parallelism: one core each; the trainable backward,
     * after the read-only pass, every core */
    p->threads = openblas_get_num_threads();
    p->lend = 1;
    ohem_blas_threads(1);
    fprintf(stderr, "pipeline   the read-only pass of the next batch on a second thread (a copy of the network) during the trainable forward, one core each\n");
    return p;
}

void ohem_pipeline_lend(ohem_pipeline *p, int on)
{
    p->lend = on;
}

static void *read_only_pass(void *arg)
{
    ohem_pipeline *p = arg;
    p->ro->train = 1;
    forward_network(p->ro);
    return NULL;
}

/* Takes the read-only pass's selection for the trainable network's next forward. */
static void take(ohem_pipeline *p)
{
    const unsigned char *valid, *kept;
    const box *rois = roipool_layer_rois(&p->ro->layers[p->pool], &valid, NULL);
    int per_image;
    kept = ohem_layer_kept(&p->ro->layers[p->ohem], &per_image);
    memcpy(p->rois, rois, p->rows * sizeof(box));
    memcpy(p->valid, valid, p->rows);
    if (kept) memcpy(p->kept, kept, p->rows);
    else memset(p->kept, 0, p->rows);
    ohem_layer_last(&p->ro->layers[p->ohem], &p->part);
    p->pending = 1;
}

/* Loads batch i of d into the read-only copy, at the seen count that the trainable
 * network will have when it trains that batch ([ohem]'s warmup counts iterations). */
static void load_ro(ohem_pipeline *p, data d, int i, size_t seen)
{
    network *ro = p->ro;
    get_next_batch(d, ro->batch, i * ro->batch, ro->input, ro->truth);
    *ro->seen = seen;
}

float ohem_pipeline_train(ohem_pipeline *p, network *net, data d, const data *next,
                          int (*before_update)(network *net))
{
    int batch = net->batch, n = d.X.rows / batch;
    if (!p->pending) { /* the first call: the first batch's selection, now */
        ohem_copy_parameters(p->ro, net);
        load_ro(p, d, 0, *net->seen + batch);
        ohem_blas_threads(p->threads);
        read_only_pass(p);
        ohem_blas_threads(1);
        take(p);
    }
    float sum = 0;
    for (int i = 0; i < n; i++) {
        if (roipool_layer_feed(&net->layers[p->pool], p->rois, p->valid, p->kept) != 0 ||
            ohem_layer_feed(&net->layers[p->ohem], p->kept, &p->part) != 0) {
            fprintf(stderr, "error: pipeline=1: out of memory\n");
            return NAN;
        }
        p->pending = 0;
        get_next_batch(d, batch, i * batch, net->input, net->truth);
        *net->seen += batch;
        /* the read-only pass of the batch after this one, on the second thread */
        const data *jd = i + 1 < n ? &d : next;
        pthread_t t;
        int threaded = 0;
        if (jd) {
            load_ro(p, *jd, i + 1 < n ? i + 1 : 0, *net->seen + batch);
            threaded = pthread_create(&t, NULL, read_only_pass, p) == 0;
        }
        net->train = 1;
        forward_network(net);
        /* the backward on every core once the read-only pass is done: always at this
         * point, so that the results do not depend on which pass ends first (the
         * kernels' sums are cut by their thread count) */
        if (p->lend) {
            if (jd && threaded) pthread_join(t, NULL);
            ohem_blas_threads(p->threads);
        }
        backward_network(net);
        if (jd && threaded && !p->lend) pthread_join(t, NULL);
        if (jd && !threaded) read_only_pass(p);
        sum += *net->cost;
        if ((*net->seen / batch) % net->subdivisions == 0) {
            if (before_update && before_update(net) != 0) return NAN;
            update_network(net);
            ohem_copy_parameters(p->ro, net);
        }
        ohem_blas_threads(1);
        if (jd) take(p);
    }
    return sum / (n * batch);
}
