/* train_state.c: the state file of a training run (see train_state.h). */
#include "train_state.h"
#include "dist.h"
#include "roi_loss_layer.h"
#include "rpn_layer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAGIC "OHEMRUN\n"
#define STATE_VERSION 1u
/* Per rank: rand()'s two streams, the training width and height, then the
 * generator of each plugin layer. */
#define RANK_VALUES 4

typedef struct {
    char magic[8];
    uint32_t version, seed;
    uint64_t seen;           /* images seen: the weights file's count */
    int32_t layers, images;  /* net->n; images per iteration (batch x subdivisions) */
    int32_t ranks, gens;     /* ranks; values per rank (RANK_VALUES + plugin layers) */
    int64_t momentum;        /* momentum floats */
} state_header;

/* The generator of layer l ([rpn], [roi_loss]), or NULL. */
static uint64_t *layer_rng(const layer *l)
{
    uint64_t *p = rpn_layer_rng(l);
    return p ? p : roi_loss_layer_rng(l);
}

/* The values saved per rank: RANK_VALUES + one per plugin layer. */
static int gens_count(const network *net)
{
    int n = RANK_VALUES;
    for (int i = 0; i < net->n; i++) n += layer_rng(&net->layers[i]) != NULL;
    return n;
}

/* Momentum floats of net, or -1 with *bad the first layer whose kind is unknown. */
static long momentum_count(const network *net, int *bad)
{
    long total = 0;
    for (int i = 0; i < net->n; i++) {
        dist_span s[5];
        int ns;
        if (dist_layer_spans(&net->layers[i], 0, s, &ns) != 0) {
            *bad = i;
            return -1;
        }
        for (int k = 0; k < ns; k++) total += s[k].n;
    }
    return total;
}

int train_state_supported(const network *net)
{
    int bad;
    if (momentum_count(net, &bad) >= 0) return 0;
    fprintf(stderr, "warning: layer %d (type %d) keeps a momentum that the training state does not hold: "
                    "an interrupted run of this cfg will not continue exactly\n", bad, (int)net->layers[bad].type);
    return -1;
}

static void header_of(const network *net, unsigned seed, state_header *hd)
{
    int bad;
    memset(hd, 0, sizeof(*hd));
    memcpy(hd->magic, STATE_MAGIC, 8);
    hd->version = STATE_VERSION;
    hd->seed = seed;
    hd->seen = *net->seen;
    hd->layers = net->n;
    hd->images = net->batch * net->subdivisions;
    hd->ranks = dist_size();
    hd->gens = gens_count(net);
    hd->momentum = momentum_count(net, &bad);
}

int train_state_save(const char *path, network *net, const train_resume *mine, int write)
{
    state_header hd;
    header_of(net, mine->seed, &hd);
    uint64_t *g = malloc((size_t)hd.gens * sizeof(*g));
    uint64_t *all = malloc((size_t)hd.gens * hd.ranks * sizeof(*all));
    if (!g || !all) {
        fprintf(stderr, "error: out of memory for the training state\n");
        exit(1);
    }
    g[0] = mine->main_rng, g[1] = mine->loader_rng, g[2] = (uint64_t)mine->w, g[3] = (uint64_t)mine->h;
    for (int i = 0, k = RANK_VALUES; i < net->n; i++)
        if (layer_rng(&net->layers[i])) g[k++] = *layer_rng(&net->layers[i]);
    dist_gather(g, hd.gens, all);
    free(g);
    if (dist_rank() != 0 || !write) {
        free(all);
        return 0;
    }
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(&hd, sizeof(hd), 1, f) == 1 && fwrite(all, sizeof(*all), (size_t)hd.gens * hd.ranks, f) == (size_t)hd.gens * hd.ranks;
    free(all);
    for (int i = 0; ok && i < net->n; i++) {
        dist_span s[5];
        int ns;
        dist_layer_spans(&net->layers[i], 0, s, &ns);
        for (int k = 0; ok && k < ns; k++) ok = fwrite(s[k].p, sizeof(float), (size_t)s[k].n, f) == (size_t)s[k].n;
    }
    int err = errno;
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "error: %s: could not write the training state: %s; the previous file is untouched\n", path,
                strerror(err ? err : errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Prints why path is not used, and what that means. Returns -1. */
static int not_used(const char *path, const char *why)
{
    fprintf(stderr, "warning: %s: %s; training continues from the weights alone (momentum at zero, the generators "
                    "from -seed), so it will not be the run an uninterrupted one would have been\n", path, why);
    return -1;
}

int train_state_load(const char *path, network *net, unsigned seed, train_resume *out)
{
    char why[512];
    state_header want, hd;
    header_of(net, seed, &want);
    if (want.momentum < 0) return not_used(path, "this cfg has a layer whose momentum is not saved");
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, sizeof(why), "cannot read the training state saved beside the weights: %s", strerror(errno));
        return not_used(path, why);
    }
    struct stat st;
    int got = fread(&hd, sizeof(hd), 1, f) == 1;
    long size = fstat(fileno(f), &st) == 0 ? (long)st.st_size : -1;
    why[0] = 0;
    if (!got || memcmp(hd.magic, STATE_MAGIC, 8) || hd.version != STATE_VERSION)
        snprintf(why, sizeof(why), "not a training state file of this version");
    else if (hd.layers != want.layers || hd.images != want.images || hd.gens != want.gens || hd.momentum != want.momentum)
        snprintf(why, sizeof(why), "saved for another network (%d layers, %d images per iteration, %ld momentum floats; "
                 "this cfg has %d, %d, %ld)", hd.layers, hd.images, (long)hd.momentum, want.layers, want.images,
                 (long)want.momentum);
    else if (hd.seen != want.seen)
        snprintf(why, sizeof(why), "saved after %llu images, but the weights have seen %llu (they were saved apart)",
                 (unsigned long long)hd.seen, (unsigned long long)want.seen);
    else if (hd.ranks != want.ranks)
        snprintf(why, sizeof(why), "saved by a run on %d rank%s; this one has %d (hint: the same mpirun -np)", hd.ranks,
                 hd.ranks == 1 ? "" : "s", want.ranks);
    else if (hd.seed != want.seed)
        snprintf(why, sizeof(why), "saved by a run with -seed %u; this one has seed %u (hint: -seed %u)", hd.seed,
                 want.seed, hd.seed);
    else if (size != (long)(sizeof(hd) + (size_t)hd.gens * hd.ranks * 8 + (size_t)hd.momentum * 4))
        snprintf(why, sizeof(why), "%ld bytes, not the %ld its header says (truncated?)", size,
                 (long)(sizeof(hd) + (size_t)hd.gens * hd.ranks * 8 + (size_t)hd.momentum * 4));
    if (why[0]) {
        fclose(f);
        return not_used(path, why);
    }
    uint64_t *g = malloc((size_t)hd.gens * sizeof(*g));
    int ok = g && fseek(f, (long)(sizeof(hd) + (size_t)hd.gens * dist_rank() * 8), SEEK_SET) == 0 &&
             fread(g, sizeof(*g), (size_t)hd.gens, f) == (size_t)hd.gens &&
             fseek(f, (long)(sizeof(hd) + (size_t)hd.gens * hd.ranks * 8), SEEK_SET) == 0;
    for (int i = 0; ok && i < net->n; i++) {
        dist_span s[5];
        int ns;
        dist_layer_spans(&net->layers[i], 0, s, &ns);
        for (int k = 0; ok && k < ns; k++) ok = fread(s[k].p, sizeof(float), (size_t)s[k].n, f) == (size_t)s[k].n;
    }
    fclose(f);
    if (ok && (g[2] < 1 || g[3] < 1 || g[2] > 65536 || g[3] > 65536)) ok = 0;
    if (!ok) {
        free(g);
        /* some momentum may be read: start it at zero, as without a state */
        for (int i = 0; i < net->n; i++) {
            dist_span s[5];
            int ns;
            dist_layer_spans(&net->layers[i], 0, s, &ns);
            for (int k = 0; k < ns; k++) memset(s[k].p, 0, (size_t)s[k].n * sizeof(float));
        }
        return not_used(path, "a read error, or a training size out of range");
    }
    out->seed = hd.seed;
    out->main_rng = g[0];
    out->loader_rng = g[1];
    out->w = (int)g[2];
    out->h = (int)g[3];
    for (int i = 0, k = RANK_VALUES; i < net->n; i++)
        if (layer_rng(&net->layers[i])) *layer_rng(&net->layers[i]) = g[k++];
    free(g);
    return 0;
}
