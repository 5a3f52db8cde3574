/* weights.c: checks a weights file against a network before libdarknet reads it
 * (its load_weights reads what is there and leaves the rest, silently). */
#include "weights.h"
#include "parser.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Floats layer l takes in a weights file as saved (loading 0) or as read (1); -1 for
 * layer kinds whose size this does not count (recurrent, local). */
static long layer_floats(const layer *l, int loading)
{
    if (loading ? l->dontload : l->dontsave) return 0;
    int scales = l->batch_normalize && !(loading && l->dontloadscales);
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL: return l->n + l->nweights + (scales ? 3L * l->n : 0);
    case CONNECTED: return l->outputs + (long)l->outputs * l->inputs + (scales ? 3L * l->outputs : 0);
    case BATCHNORM: return 3L * l->c;
    case RNN: case GRU: case LSTM: case CRNN: case LOCAL: return -1;
    default: return 0;
    }
}

static long header_bytes(int major, int minor)
{
    return 3 * (long)sizeof(int) + ((major * 10 + minor) >= 2 ? (long)sizeof(size_t) : (long)sizeof(int));
}

long ohem_weights_bytes(const network *net)
{
    long floats = 0;
    for (int i = 0; i < net->n; i++) {
        long f = layer_floats(&net->layers[i], 0);
        if (f < 0) return -1;
        floats += f;
    }
    return header_bytes(0, 2) + floats * (long)sizeof(float);
}

int ohem_check_weights(const network *net, const char *path, ohem_err *e)
{
    FILE *f = ohem_open_file(path, "rb", "weights file", e);
    if (!f) return -1;
    int head[3] = {0};
    struct stat st;
    size_t got = fread(head, sizeof(int), 3, f);
    int ok = fstat(fileno(f), &st) == 0 && !ferror(f);
    fclose(f);
    if (!ok) {
        ohem_err_set(e, "%s: cannot read the weights file: %s", path, strerror(errno));
        return -1;
    }
    long size = (long)st.st_size;
    if (got != 3) {
        ohem_err_set(e, "%s: truncated: %ld bytes, shorter than a Darknet weights header (%ld bytes)", path, size,
                     header_bytes(0, 2));
        return -1;
    }
    if (head[0] < 0 || head[1] < 0 || head[0] > 1000 || head[1] > 1000) {
        ohem_err_set(e, "%s: not a Darknet weights file (its header reads %d.%d.%d)", path, head[0], head[1], head[2]);
        return -1;
    }
    long at = header_bytes(head[0], head[1]);
    if (size < at) {
        ohem_err_set(e, "%s: truncated: %ld bytes, shorter than its header (%ld bytes)", path, size, at);
        return -1;
    }
    /* The file may end at any layer boundary (a partial file, like darknet53.conv.74,
     * loads the first layers); anywhere else it is truncated or from another cfg. */
    int last = -1, full = 1;
    for (int i = 0; i < net->n; i++) {
        long fl = layer_floats(&net->layers[i], 1);
        if (fl < 0) return 0;
        if (fl == 0) continue;
        if (at == size) {
            full = 0;
            break;
        }
        long end = at + fl * (long)sizeof(float);
        if (end > size) {
            ohem_err_set(e, "%s: %ld bytes end inside layer %d's weights ([%s], bytes %ld to %ld) (hint: a truncated file, or weights of another cfg)",
                         path, size, i, ohem_layer_name(&net->layers[i]), at, end);
            return -1;
        }
        at = end;
        last = i;
    }
    if (at != size) {
        ohem_err_set(e, "%s: %ld bytes, but the network needs %ld (hint: weights of another cfg?)", path, size, at);
        return -1;
    }
    if (!full)
        fprintf(stderr, "%s: holds the weights of the first layers only (up to layer %d); the rest keep their initial values\n",
                path, last);
    return 0;
}

/* Copies n scales, rolling means and rolling variances of a batch-normalised layer. */
static void copy_norms(layer *d, const layer *s, int n)
{
    memcpy(d->scales, s->scales, n * sizeof(float));
    memcpy(d->rolling_mean, s->rolling_mean, n * sizeof(float));
    memcpy(d->rolling_variance, s->rolling_variance, n * sizeof(float));
}

void ohem_copy_parameters(network *dst, const network *src)
{
    for (int i = 0; i < src->n && i < dst->n; i++) {
        const layer *s = &src->layers[i];
        layer *d = &dst->layers[i];
        int units = s->type == CONNECTED ? s->outputs : s->type == BATCHNORM ? s->c : s->n;
        if (s->type == CONVOLUTIONAL || s->type == DECONVOLUTIONAL || s->type == CONNECTED) {
            size_t nw = s->type == CONNECTED ? (size_t)s->inputs * s->outputs : (size_t)s->nweights;
            memcpy(d->weights, s->weights, nw * sizeof(float));
            memcpy(d->biases, s->biases, units * sizeof(float));
            if (s->batch_normalize) copy_norms(d, s, units);
        } else if (s->type == BATCHNORM) {
            copy_norms(d, s, units);
        }
    }
}
