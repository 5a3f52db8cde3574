/* weights.c: checks a weights file against a network before libdarknet reads it
 * (its load_weights reads what is there and leaves the rest, silently), and saves
 * weights with AlexeyAB's header. */
#include "weights.h"
#include "parser.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Bytes save_weights_upto writes for the first cutoff layers of net, or -1. */
static long weights_bytes_upto(const network *net, int cutoff)
{
    long floats = 0;
    for (int i = 0; i < net->n && i < cutoff; i++) {
        long f = layer_floats(&net->layers[i], 0);
        if (f < 0) return -1;
        floats += f;
    }
    return header_bytes(0, 2) + floats * (long)sizeof(float);
}

long ohem_weights_bytes(const network *net)
{
    return weights_bytes_upto(net, net->n);
}

int ohem_save_weights(network *net, const char *path, int cutoff, ohem_err *e)
{
    /* libdarknet's save_weights_upto ends the process with status 0 when it cannot
     * open the file: find out first */
    FILE *f = fopen(path, "wb");
    if (!f) {
        ohem_err_set(e, "%s: cannot write the weights: %s", path, strerror(errno));
        return -1;
    }
    fclose(f);
    save_weights_upto(net, (char *)path, cutoff);
    /* libdarknet writes 0.2.0 and seen as size_t; AlexeyAB's Darknet 0.2.5 and seen
     * as uint64_t: the same bytes on LP64 but for the revision */
    _Static_assert(sizeof(size_t) == sizeof(uint64_t), "seen is written as 64 bits");
    const int32_t revision = 5;
    f = fopen(path, "r+b");
    struct stat st;
    int ok = f && fseek(f, 2 * sizeof(int32_t), SEEK_SET) == 0 && fwrite(&revision, sizeof(revision), 1, f) == 1 &&
             fflush(f) == 0 && fsync(fileno(f)) == 0 && fstat(fileno(f), &st) == 0;
    int err = errno;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) {
        ohem_err_set(e, "%s: cannot write the weights: %s", path, strerror(err));
        return -1;
    }
    long want = weights_bytes_upto(net, cutoff);
    if (want >= 0 && (long)st.st_size != want) {
        ohem_err_set(e, "%s: %ld bytes written of %ld (disk full?)", path, (long)st.st_size, want);
        return -1;
    }
    return 0;
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
    /* AlexeyAB's Darknet and OpenCV read what their network needs and ignore the
     * rest; a longer file is that of another cfg (a full yolov4.weights for a cfg of
     * other classes), whose later layers would be read shifted: refused. */
    if (at != size) {
        ohem_err_set(e, "%s: %ld bytes, %ld more than the %ld this cfg's network reads (hint: weights of another cfg; "
                     "to start from its first layers, cut them with ./darknet partial ITS_CFG WEIGHTS OUT N)",
                     path, size, size - at, at);
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
