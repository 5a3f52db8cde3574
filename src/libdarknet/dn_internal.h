/* dn_internal.h: what libdarknet (Debian, 2018-09-14) exports but its darknet.h
 * does not declare. Each layout here was checked against that build; see
 * DESIGN.md. Include after darknet.h. */
#ifndef OHEM_DN_INTERNAL_H
#define OHEM_DN_INTERNAL_H

#include "darknet.h"

/* parser.c's private struct, passed by value to every parse_* function. */
typedef struct dn_size_params {
    int batch;
    int inputs;
    int h;
    int w;
    int c;
    int index;
    int time_steps;
    network *net;
} dn_size_params;

/* option_list.h: one key=value of a section; the key owns the line's memory. */
typedef struct dn_kvp {
    char *key;
    char *val;
    int used;
} dn_kvp;

/* parser.c's section: "[type]" and its options. free_section frees both. */
typedef struct dn_section {
    char *type;
    list *options;
} dn_section;

list *make_list(void);
void option_insert(list *l, char *key, char *val);
float option_find_float_quiet(list *l, char *key, float def);
network *make_network(int n);
void calc_network_cost(network *net);
void free_section(dn_section *s);
void parse_net_options(list *options, network *net);
int int_index(int *a, int val, int n);
char *get_activation_string(ACTIVATION a);
char *get_cost_string(COST_TYPE a);
box get_yolo_box(float *x, float *biases, int n, int index, int i, int j, int lw, int lh, int w, int h, int stride);
box get_region_box(float *x, float *biases, int n, int index, int i, int j, int w, int h, int stride);

#define DN_PARSE(name) layer parse_##name(list *options, dn_size_params params)
DN_PARSE(convolutional);
DN_PARSE(deconvolutional);
DN_PARSE(local);
DN_PARSE(activation);
DN_PARSE(logistic);
DN_PARSE(l2norm);
DN_PARSE(rnn);
DN_PARSE(gru);
DN_PARSE(lstm);
DN_PARSE(crnn);
DN_PARSE(connected);
DN_PARSE(crop);
DN_PARSE(cost);
DN_PARSE(region);
DN_PARSE(yolo);
DN_PARSE(iseg);
DN_PARSE(detection);
DN_PARSE(softmax);
DN_PARSE(normalization);
DN_PARSE(batchnorm);
DN_PARSE(maxpool);
DN_PARSE(reorg);
DN_PARSE(avgpool);
DN_PARSE(dropout);
#undef DN_PARSE
layer parse_route(list *options, dn_size_params params, network *net);
layer parse_upsample(list *options, dn_size_params params, network *net);
layer parse_shortcut(list *options, dn_size_params params, network *net);

/* resize functions that darknet.h leaves out. */
void resize_convolutional_layer(layer *l, int w, int h);
void resize_crop_layer(layer *l, int w, int h);
void resize_maxpool_layer(layer *l, int w, int h);
void resize_region_layer(layer *l, int w, int h);
void resize_yolo_layer(layer *l, int w, int h);
void resize_route_layer(layer *l, network *net);
void resize_shortcut_layer(layer *l, int w, int h);
void resize_upsample_layer(layer *l, int w, int h);
void resize_reorg_layer(layer *l, int w, int h);
void resize_avgpool_layer(layer *l, int w, int h);
void resize_normalization_layer(layer *l, int w, int h);
void resize_cost_layer(layer *l, int inputs);

/* yolo_layer.c: boxes from the letterboxed network input back to the image; the
 * mean of a flipped batch's outputs. */
void correct_yolo_boxes(detection *dets, int n, int w, int h, int netw, int neth, int relative);
void avg_flipped_yolo(layer l);

/* data.c, matrix.c, image.c, utils.c: the detection loader (load_thread calls it
 * through the PLT), n of the m paths drawn with rand() under the loader's mutex, a
 * zeroed rows x cols matrix, the hue shift, saturation and exposure scales of an
 * image (through HSV, clamped to [0, 1] after), and a scale from 1 to s or its
 * inverse, each half the time (two rand() draws). */
data load_data_detection(int n, char **paths, int m, int w, int h, int boxes, int classes, float jitter, float hue,
                         float saturation, float exposure);
char **get_random_paths(char **paths, int n, int m);
matrix make_matrix(int rows, int cols);
void distort_image(image im, float hue, float sat, float val);
float rand_scale(float s);

/* The stb_image that libdarknet is built with. */
unsigned char *stbi_load(char const *filename, int *x, int *y, int *comp, int req_comp);
void stbi_image_free(void *retval_from_stbi_load);
int stbi_info(char const *filename, int *x, int *y, int *comp);

#endif
