/* network.c: libdarknet's network functions, replaced through the PLT as gemm is,
 * so that they know the plugin's sections: parse_network_cfg and load_network (our
 * parser, and a weights file checked before it is read), free_network (which frees
 * what libdarknet's leaves), resize_network (libdarknet's aborts on a layer type it
 * does not know), set_batch_network (the layers from [roipool] on run images x RoIs
 * rows), get_network_boxes (detections of [roi_loss]) and network_predict (no
 * delta cleared). For any other network they do what libdarknet's do. */
#define _GNU_SOURCE
#include "network.h"
#include "dn_internal.h"
#include "keep_delta.h"
#include "net_augment.h"
#include "ohem_layer.h"
#include "parser.h"
#include "roi_loss_layer.h"
#include "roipool_layer.h"
#include "weights.h"
#include "kernels.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

network *parse_network_cfg(char *filename)
{
    network *net;
    ohem_err e;
    if (ohem_parse_network(filename, &net, &e) != 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        exit(1);
    }
    return net;
}

/* Frees everything parse_network_cfg allocated. libdarknet's own leaves the
 * workspace, the counters and the learning-rate steps behind. free_network(NULL) is
 * a no-op. */
void free_network(network *net)
{
    if (!net) return;
    ohem_keep_input_deltas_release(net);
    ohem_net_augment_release(net);
    for (int i = 0; i < net->n; i++) {
        ohem_free_plugin_layer(&net->layers[i]);
        if (net->layers[i].type == CONVOLUTIONAL) ohem_conv_act_free(&net->layers[i]);
        free_layer(net->layers[i]);
    }
    free(net->layers);
    free(net->input);
    free(net->truth);
    free(net->workspace);
    free(net->seen);
    free(net->t);
    free(net->cost);
    free(net->steps);
    free(net->scales);
    free(net);
}

int ohem_load_network(const char *cfg, const char *weights, int clear, network **out, ohem_err *e)
{
    network *net;
    if (ohem_parse_network(cfg, &net, e) != 0) return -1;
    if (weights && weights[0]) {
        if (ohem_check_weights(net, weights, e) != 0) {
            size_t n = strlen(e->msg);
            snprintf(e->msg + n, sizeof(e->msg) - n, " (cfg %s)", cfg);
            free_network(net);
            return -1;
        }
        load_weights(net, (char *)weights);
    }
    if (clear) *net->seen = 0;
    *out = net;
    return 0;
}

network *load_network(char *cfg, char *weights, int clear)
{
    network *net;
    ohem_err e;
    if (ohem_load_network(cfg, weights, clear, &net, &e) != 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        exit(1);
    }
    return net;
}

/* Resizes every layer for a w x h input, as libdarknet's does, plus [ohem].
 * Returns 0, or -1 (with a message) when a layer cannot be resized. */
int resize_network(network *net, int w, int h)
{
    net->w = w;
    net->h = h;
    int inputs = 0;
    size_t workspace = 0;
    for (int i = 0; i < net->n; i++) {
        layer l = net->layers[i];
        switch (l.type) {
        case CONVOLUTIONAL:
            resize_convolutional_layer(&l, w, h);
            if (ohem_conv_act_alloc(&l) != 0) {
                fprintf(stderr, "resize_network: out of memory resizing layer %d\n", i);
                return -1;
            }
            break;
        case CROP: resize_crop_layer(&l, w, h); break;
        case MAXPOOL: resize_maxpool_layer(&l, w, h); break;
        case REGION: resize_region_layer(&l, w, h); break;
        case YOLO: resize_yolo_layer(&l, w, h); break;
        case ROUTE: resize_route_layer(&l, net); break;
        case SHORTCUT: resize_shortcut_layer(&l, w, h); break;
        case UPSAMPLE: resize_upsample_layer(&l, w, h); break;
        case REORG: resize_reorg_layer(&l, w, h); break;
        case AVGPOOL: resize_avgpool_layer(&l, w, h); break;
        case NORMALIZATION: resize_normalization_layer(&l, w, h); break;
        case COST: resize_cost_layer(&l, inputs); break;
        default:
            if (is_ohem_layer(&l)) {
                if (resize_ohem_layer(&l, net, i) != 0) {
                    fprintf(stderr, "resize_network: out of memory resizing [ohem] (layer %d)\n", i);
                    return -1;
                }
                break;
            }
            fprintf(stderr, "resize_network: libdarknet cannot resize [%s] (layer %d) (hint: set random=0 in the last [yolo])\n",
                    ohem_layer_name(&l), i);
            return -1;
        }
        if (l.workspace_size > workspace) workspace = l.workspace_size;
        inputs = l.outputs;
        net->layers[i] = l;
        w = l.out_w;
        h = l.out_h;
        if (l.type == AVGPOOL) break;
    }
    layer out = get_network_output_layer(net);
    net->inputs = net->layers[0].inputs;
    net->outputs = out.outputs;
    net->truths = out.outputs;
    if (net->layers[net->n - 1].truths) net->truths = net->layers[net->n - 1].truths;
    net->output = out.output;
    free(net->input);
    free(net->truth);
    free(net->workspace);
    net->input = calloc((size_t)net->inputs * net->batch, sizeof(float));
    net->truth = calloc((size_t)net->truths * net->batch, sizeof(float));
    net->workspace = calloc(1, workspace ? workspace : 1);
    if (!net->input || !net->truth || !net->workspace) {
        fprintf(stderr, "resize_network: out of memory at %dx%d\n", net->w, net->h);
        return -1;
    }
    return 0;
}

/* Sets the images per forward to b: b x RoIs rows for [roipool] and the layers after
 * it, b for the others. b must not exceed the batch the network was built with. */
/* 1 when a layer of l's type neither reads nor needs its delta cleared in an
 * inference forward: the kinds whose forward never touches it, and the loss layers
 * that clear it themselves before anything else. */
static int predict_skips_delta(const layer *l)
{
    switch (l->type) {
    case CONVOLUTIONAL:
    case MAXPOOL:
    case ROUTE:
    case SHORTCUT:
    case UPSAMPLE:
    case YOLO:
    case REGION: return 1;
    default: return 0;
    }
}

/* libdarknet's network_predict (a forward of input with train, truth and delta
 * off; returns the last layer's output), whose forward_network clears every
 * layer's delta first: a pass over every output that inference never reads. Here
 * the layers above skip it; others are cleared as there. net itself is not
 * changed (libdarknet's sets its fields for the forward and restores them). */
float *network_predict(network *net, float *input)
{
    network run = *net;
    run.input = input;
    run.truth = 0;
    run.train = 0;
    run.delta = 0;
    for (int i = 0; i < net->n; i++) {
        layer l = net->layers[i];
        run.index = i;
        if (l.delta && !predict_skips_delta(&l)) memset(l.delta, 0, (size_t)l.outputs * l.batch * sizeof(float));
        l.forward(l, run);
        run.input = l.output;
        if (l.truth) run.truth = l.output;
    }
    calc_network_cost(net);
    return net->output;
}

void set_batch_network(network *net, int b)
{
    int rows = 1;
    net->batch = b;
    for (int i = 0; i < net->n; i++) {
        if (is_roipool_layer(&net->layers[i])) rows = roipool_layer_count(&net->layers[i]);
        net->layers[i].batch = b * rows;
    }
}

typedef detection *(*boxes_fn)(network *, int, int, float, float, int *, int, int *);

/* Detections of the last forward of image 0, as libdarknet's get_network_boxes
 * gives them; for a two-stage network, one per RoI and class above thresh, boxes
 * relative to a w x h image letterboxed into the input (pixels when relative is 0).
 * The [roi_loss] is the last layer, or the one before an [ohem] that mines it. */
detection *get_network_boxes(network *net, int w, int h, float thresh, float hier, int *map,
                             int relative, int *num)
{
    const layer *last = &net->layers[net->n - 1];
    if (net->n > 1 && is_ohem_layer(last) && is_roi_loss_layer(last - 1)) last--;
    if (!is_roi_loss_layer(last)) {
        static boxes_fn darknet_boxes;
        if (!darknet_boxes) darknet_boxes = (boxes_fn)dlsym(RTLD_NEXT, "get_network_boxes");
        if (!darknet_boxes) {
            fprintf(stderr, "error: libdarknet's get_network_boxes is not found (link libohem.a before -ldarknet)\n");
            exit(1);
        }
        return darknet_boxes(net, w, h, thresh, hier, map, relative, num);
    }
    detection *dets;
    *num = roi_loss_layer_detections(last, net, 0, w, h, thresh, &dets);
    if (!relative)
        for (int i = 0; i < *num; i++) {
            dets[i].bbox.x *= w;
            dets[i].bbox.w *= w;
            dets[i].bbox.y *= h;
            dets[i].bbox.h *= h;
        }
    return dets;
}
