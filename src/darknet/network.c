/* network.c: libdarknet functions that must know the two-stage layers, replaced
 * through the PLT as gemm is: set_batch_network (the layers from [roipool] on run
 * images x RoIs rows) and get_network_boxes (detections of [roi_loss]). For any
 * other network they do what libdarknet's do. */
#define _GNU_SOURCE
#include "darknet.h"
#include "ohem_layer.h"
#include "roi_loss_layer.h"
#include "roipool_layer.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

/* Sets the images per forward to b: b x RoIs rows for [roipool] and the layers after
 * it, b for the others. b must not exceed the batch the network was built with. */
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
