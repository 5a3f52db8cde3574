/* show.c: ./darknet ohem show DATA CFG WEIGHTS IMAGE [-out NAME]: one training-mode
 * forward on an image and its labels, and a picture of what [ohem] keeps. */
#include "cli.h"
#include "ohem_layer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float *sort_loss;

static int by_loss(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    float x = sort_loss[i], y = sort_loss[j];
    if (x != y) return x > y ? -1 : 1;
    return i - j;
}

/* [detection] (YOLOv1) reads its truths per cell, as libdarknet's loader writes them
 * (REGION_DATA): (present, one-hot classes, x and y within the cell, w, h) for each
 * of side x side cells; the first box of a cell wins. rows are n of (class, x, y, w, h). */
static void fill_cell_truth(float *truth, const layer *det, const float *rows, int n)
{
    int side = det->side, stride = 1 + det->classes + 4;
    for (int r = 0; r < n; r++) {
        const float *b = rows + 5 * r;
        if (b[3] < .005f || b[4] < .005f) continue;
        int col = (int)(b[1] * side), row = (int)(b[2] * side);
        if (col >= side) col = side - 1;
        if (row >= side) row = side - 1;
        float *t = truth + (row * side + col) * stride;
        if (t[0]) continue;
        t[0] = 1;
        t[1 + (int)b[0]] = 1;
        t[1 + det->classes] = b[1] * side - col;
        t[2 + det->classes] = b[2] * side - row;
        t[3 + det->classes] = b[3];
        t[4 + det->classes] = b[4];
    }
}

void cli_fill_truth(network *net, const float *rows, int n)
{
    const layer *det = detector_layer(net);
    memset(net->truth, 0, (size_t)net->truths * sizeof(float));
    if (det && det->type == DETECTION) {
        fill_cell_truth(net->truth, det, rows, n);
        return;
    }
    for (int r = 0; r < n && (r + 1) * 5 <= net->truths; r++) {
        float *t = net->truth + 5 * r;
        t[0] = rows[5 * r + 1], t[1] = rows[5 * r + 2], t[2] = rows[5 * r + 3], t[3] = rows[5 * r + 4];
        t[4] = rows[5 * r];
    }
}

int ohem_show(int argc, char **argv)
{
    static const char *usage = "./darknet ohem show DATA CFG WEIGHTS IMAGE [-out NAME]";
    const char *pos[4] = {0}, *out = "ohem";
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-out") && i + 1 < argc) {
            if (cli_check_flag_value(argv[i], argv[i + 1]) != 0) {
                fprintf(stderr, "usage: %s\n", usage);
                return CLI_USAGE;
            }
            out = argv[++i];
        } else if (argv[i][0] == '-' || npos == 4) {
            fprintf(stderr, "error: unexpected argument: %s\nusage: %s\n", argv[i], usage);
            return CLI_USAGE;
        } else pos[npos++] = argv[i];
    }
    if (npos < 4) {
        fprintf(stderr, "error: missing operand\nusage: %s\n", usage);
        return CLI_USAGE;
    }
    static const char *const names[] = {"DATA", "CFG", "WEIGHTS", "IMAGE"};
    for (int q = 0; q < 4; q++)
        if (cli_check_path(names[q], pos[q]) != 0) return CLI_BAD_INPUT;
    if (cli_check_path("-out", out) != 0) return CLI_BAD_INPUT;
    data_cfg d;
    if (cli_read_data(pos[0], &d) != 0) return CLI_BAD_INPUT;
    int status = CLI_BAD_INPUT, ok, nrows = 0;
    float *rows = NULL;
    network *net = NULL;
    image im = load_image_checked(pos[3], &ok);
    char lab[4096];
    label_path(pos[3], lab, sizeof(lab));
    if (!ok) {
        cli_image_error(pos[3], "");
        goto done;
    }
    if (read_labels(lab, d.classes, &rows, &nrows) != 0) goto done;
    FILE *wf = fopen(pos[2], "rb");
    if (!wf) {
        fprintf(stderr, "error: %s: cannot read the weights file: %s\n", pos[2], strerror(errno));
        goto done;
    }
    fclose(wf);
    net = load_network((char *)pos[1], (char *)pos[2], 0);
    set_batch_network(net, 1);
    layer *ol = NULL;
    for (int i = 0; i < net->n; i++)
        if (is_ohem_layer(&net->layers[i])) ol = &net->layers[i];
    if (!ol) {
        fprintf(stderr, "error: %s has no [ohem] section (hint: append one; cfg/fashion-ohem.cfg shows how)\n", pos[1]);
        goto done;
    }
    for (int i = 0; i < net->n; i++)
        if (net->layers[i].type == SOFTMAX) {
            fprintf(stderr, "error: %s: [softmax] candidates are images, not boxes: ohem show draws [yolo], [region] and [detection] candidates\n", pos[1]);
            goto done;
        }
    const layer *det = detector_layer(net);
    if (det && det->classes != d.classes) {
        fprintf(stderr, "error: %s says classes=%d but %s's last detection layer has classes=%d\n", pos[0], d.classes,
                pos[1], det->classes);
        goto done;
    }
    image sized = resize_image(im, net->w, net->h);
    memcpy(net->input, sized.data, (size_t)net->inputs * sizeof(float));
    free_image(sized);
    if (nrows * 5 > net->truths && !(det && det->type == DETECTION))
        fprintf(stderr, "warning: %s: %d boxes; the network takes the first %d, as in training\n", lab, nrows,
                net->truths / 5);
    cli_fill_truth(net, rows, nrows);
    ohem_layer_inspect(ol, 1);
    *net->seen = (size_t)1 << 40; /* past [region]'s prior-box phase */
    net->train = 1;
    forward_network(net);
    const box *boxes;
    const float *loss;
    const unsigned char *posf, *kept;
    int n;
    if (ohem_layer_candidates(ol, &boxes, &loss, &posf, &kept, &n) != 0) goto done;
    int *order = malloc(n * sizeof(int)), nk = 0, ntrue = 0, nposk = 0;
    for (int c = 0; c < n; c++) {
        if (kept[c]) order[nk++] = c;
        ntrue += posf[c];
        nposk += posf[c] && kept[c];
    }
    sort_loss = loss;
    qsort(order, nk, sizeof(int), by_loss);
    /* The picture keeps the image's own aspect (the network saw it stretched to its
     * input; boxes are relative to the image either way), scaled up by a whole factor
     * until its longer side reaches 512 pixels. */
    int longer = im.w > im.h ? im.w : im.h, scale = longer < 512 ? (512 + longer - 1) / longer : 1;
    image canvas = resize_image(im, im.w * scale, im.h * scale);
    /* hardest first in red, fading through orange to yellow; drawn easiest first;
     * a candidate wholly outside the image is not drawn */
    int outside = 0;
    for (int k = nk - 1; k >= 0; k--) {
        float g = nk > 1 ? 0.9f * k / (nk - 1) : 0;
        float rgb[3] = {1, g, 0};
        outside += !draw_relative_box(canvas, boxes[order[k]], posf[order[k]] ? 3 : 1, rgb);
    }
    for (int r = 0; r < nrows; r++) {
        box t = {rows[5 * r + 1], rows[5 * r + 2], rows[5 * r + 3], rows[5 * r + 4]};
        static const float green[3] = {0, 1, 0.2f};
        draw_relative_box(canvas, t, 3, green);
    }
    char caption[256];
    double lk = 0, la = 0;
    for (int c = 0; c < n; c++) la += loss[c], lk += kept[c] ? loss[c] : 0;
    snprintf(caption, sizeof(caption), "kept %d/%d, positives %d/%d, loss kept %.3g all %.3g", nk, n, nposk, ntrue,
             nk ? lk / nk : 0, n ? la / n : 0);
    image **alphabet = load_alphabet();
    image label = get_label(alphabet, caption, 2);
    float white[3] = {1, 1, 1};
    draw_label(canvas, label.h + 2, 2, label, white);
    free_image(label);
    free_alphabet(alphabet);
    int saved = cli_save_png(canvas, out);
    free_image(canvas);
    if (saved != 0) {
        free(order);
        goto done;
    }
    printf("%s\n", caption);
    if (outside) printf("%d kept candidates lie wholly outside the image and are not drawn\n", outside);
    printf("hardest kept candidates (green: ground truth; red to yellow: loss rank; thick: positive):\n");
    for (int k = 0; k < nk && k < 10; k++) {
        char where[128];
        ohem_layer_describe(ol, net, order[k], where, sizeof(where));
        printf("%3d. loss %8.4f  %s%s\n", k + 1, loss[order[k]], where, posf[order[k]] ? "  (positive)" : "");
    }
    fprintf(stderr, "wrote %s.png\n", out);
    free(order);
    status = 0;
done:
    free(rows);
    free_image(im);
    if (net) free_network(net);
    data_cfg_free(&d);
    return status;
}
