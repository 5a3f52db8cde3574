/* resize.c: resize_network, replacing libdarknet's, which aborts on layer types it
 * does not know ([ohem] among them). Multi-scale training (random=1) calls it. */
#include "dn_internal.h"
#include "ohem_layer.h"
#include "parser.h"

#include <stdio.h>
#include <stdlib.h>

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
        case CONVOLUTIONAL: resize_convolutional_layer(&l, w, h); break;
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
