/* route_layer.c: [route] with channel groups (see route_layer.h). */
#include "route_layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int route_layer_groups(const layer *l)
{
    return l->groups > 0 ? l->groups : 1;
}

int route_layer_group_id(const layer *l)
{
    return l->groups > 1 ? l->side : 0;
}

/* Recomputes the sizes from the inputs' current ones; reallocates output and delta
 * when realloc_bufs. */
static int route_sizes(layer *l, const network *net, int realloc_bufs)
{
    int groups = route_layer_groups(l), outputs = 0;
    const layer *first = &net->layers[l->input_layers[0]];
    l->out_w = first->out_w;
    l->out_h = first->out_h;
    l->out_c = 0;
    for (int i = 0; i < l->n; i++) {
        const layer *in = &net->layers[l->input_layers[i]];
        l->input_sizes[i] = in->outputs;
        outputs += in->outputs / groups;
        l->out_c += in->out_c / groups;
    }
    l->outputs = l->inputs = outputs;
    if (!realloc_bufs) return 0;
    size_t n = (size_t)outputs * l->batch;
    float *out = realloc(l->output, n * sizeof(float)), *d;
    if (!out) return -1;
    l->output = out;
    d = realloc(l->delta, n * sizeof(float));
    if (!d) return -1;
    l->delta = d;
    memset(l->output, 0, n * sizeof(float));
    memset(l->delta, 0, n * sizeof(float));
    return 0;
}

int route_layer_set_groups(layer *l, const network *net, int groups, int group_id)
{
    if (groups == 1) return 0; /* libdarknet's route, its fields untouched */
    l->groups = groups;
    l->side = group_id;
    l->forward = forward_route_layer;
    l->backward = backward_route_layer;
    return route_sizes(l, net, 1);
}

void forward_route_layer(const layer l, network net)
{
    int groups = route_layer_groups(&l), gid = route_layer_group_id(&l), offset = 0;
    for (int i = 0; i < l.n; i++) {
        const float *in = net.layers[l.input_layers[i]].output;
        int size = l.input_sizes[i], part = size / groups;
        for (int b = 0; b < l.batch; b++)
            memcpy(l.output + (size_t)b * l.outputs + offset, in + (size_t)b * size + (size_t)part * gid,
                   (size_t)part * sizeof(float));
        offset += part;
    }
}

void backward_route_layer(const layer l, network net)
{
    int groups = route_layer_groups(&l), gid = route_layer_group_id(&l), offset = 0;
    for (int i = 0; i < l.n; i++) {
        float *d = net.layers[l.input_layers[i]].delta;
        int size = l.input_sizes[i], part = size / groups;
        for (int b = 0; b < l.batch; b++) {
            const float *src = l.delta + (size_t)b * l.outputs + offset;
            float *dst = d + (size_t)b * size + (size_t)part * gid;
            for (int k = 0; k < part; k++) dst[k] += src[k];
        }
        offset += part;
    }
}

void resize_route_layer(layer *l, network *net)
{
    /* libdarknet's resize returns nothing: out of memory ends the process, as its
     * own realloc of a route's output would crash */
    if (route_sizes(l, net, 1) != 0) {
        fprintf(stderr, "resize_route_layer: out of memory\n");
        abort();
    }
}
