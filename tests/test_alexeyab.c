/* test_alexeyab.c: what AlexeyAB's cfgs need beyond libdarknet. [route] groups= and
 * group_id=: the route's output against a plain copy loop, its backward against
 * the transpose relation <dy, R x> = <R^T dy, x>, and the parser's errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "darknet.h"
#include "parser.h"
#include "kernels.h"
#include "act_oracle.h"

#define TMP "tests/tmp"

static uint64_t rng_state;
static float urand(void) /* [-1, 1), xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (float)((rng_state * 2685821657736338717ull) >> 40) / (float)(1 << 23) - 1.f;
}

static void fill(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = urand();
}

static const char *write_cfg(const char *text)
{
    static const char *path = TMP "/alexeyab.cfg";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Parses text; NULL with the message in msg when the parser rejects it. */
static network *parse(const char *text, char *msg, size_t cap)
{
    network *net = NULL;
    ohem_err e;
    if (ohem_parse_network(write_cfg(text), &net, &e) != 0) {
        snprintf(msg, cap, "%.500s", e.msg);
        return NULL;
    }
    return net;
}

#define ROUTE_NET                                                                   \
    "[net]\nbatch=2\nwidth=5\nheight=4\nchannels=3\n"                               \
    "[convolutional]\nfilters=6\nsize=1\nactivation=linear\n"                       \
    "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n"

/* A [route] layers=-1,-2 of a 4- and a 6-channel map with groups and group_id:
 * forward against a plain loop, backward against the transpose relation. */
static void check_route(int groups, int gid)
{
    char text[512], msg[512];
    snprintf(text, sizeof(text), ROUTE_NET "[route]\nlayers=-1,-2\ngroups=%d\ngroup_id=%d\n", groups, gid);
    network *net = parse(text, msg, sizeof(msg));
    assert_non_null(net);
    layer *r = &net->layers[2];
    int ins[2] = {1, 0}, hw = 5 * 4, batch = 2;
    assert_int_equal(r->out_c, 4 / groups + 6 / groups);
    assert_int_equal(r->outputs, hw * r->out_c);
    assert_int_equal(r->out_w, 5);
    assert_int_equal(r->out_h, 4);
    rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)groups * 31 + (uint64_t)gid;
    for (int k = 0; k < 2; k++) fill(net->layers[ins[k]].output, (size_t)net->layers[ins[k]].outputs * batch);
    fill(r->output, (size_t)r->outputs * batch);
    r->forward(*r, *net);
    /* the oracle: per image, per input in order, its channels [gid c/g, (gid+1) c/g) */
    for (int b = 0; b < batch; b++) {
        int o = 0;
        for (int k = 0; k < 2; k++) {
            const layer *in = &net->layers[ins[k]];
            int cg = in->out_c / groups;
            for (int ch = gid * cg; ch < (gid + 1) * cg; ch++)
                for (int p = 0; p < hw; p++, o++)
                    assert_true(r->output[(size_t)b * r->outputs + o] == in->output[(size_t)b * in->outputs + ch * hw + p]);
        }
        assert_int_equal(o, r->outputs);
    }
    /* backward: x random, dy random; <dy, R x> = <R^T dy, x> where R^T dy is what
     * backward adds into the inputs' deltas (zeroed first) */
    fill(r->delta, (size_t)r->outputs * batch);
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < (size_t)r->outputs * batch; i++) lhs += (double)r->delta[i] * r->output[i];
    for (int k = 0; k < 2; k++)
        memset(net->layers[ins[k]].delta, 0, sizeof(float) * net->layers[ins[k]].outputs * batch);
    r->backward(*r, *net);
    size_t touched = 0;
    for (int k = 0; k < 2; k++) {
        const layer *in = &net->layers[ins[k]];
        for (size_t i = 0; i < (size_t)in->outputs * batch; i++) {
            rhs += (double)in->delta[i] * in->output[i];
            touched += in->delta[i] != 0;
        }
    }
    assert_true(fabs(lhs - rhs) < 1e-4 * (1 + fabs(lhs)));
    assert_int_equal(touched, (size_t)r->outputs * batch); /* only the group's channels */
    free_network(net);
}

static void test_route_groups(void **state)
{
    (void)state;
    check_route(1, 0);
    check_route(2, 0);
    check_route(2, 1);
}

/* After a resize the route keeps its group. */
static void test_route_resize(void **state)
{
    (void)state;
    char msg[512];
    network *net = parse(ROUTE_NET "[route]\nlayers=-2\ngroups=2\ngroup_id=1\n", msg, sizeof(msg));
    assert_non_null(net);
    resize_network(net, 7, 6);
    layer *r = &net->layers[2];
    assert_int_equal(r->out_c, 3);
    assert_int_equal(r->outputs, 7 * 6 * 3);
    assert_int_equal(r->out_w, 7);
    free_network(net);
}

static void expect_error(const char *text, const char *want)
{
    char msg[512] = "";
    network *net = parse(text, msg, sizeof(msg));
    if (net) free_network(net);
    if (!strstr(msg, want)) fail_msg("message \"%s\" lacks \"%s\"", msg, want);
}

static void test_route_errors(void **state)
{
    (void)state;
    expect_error(ROUTE_NET "[route]\nlayers=-1\ngroups=2\ngroup_id=2\n",
                 TMP "/alexeyab.cfg:17: [route] group_id=2: group_id must be in 0..groups-1 (groups=2, group_id=2)");
    expect_error(ROUTE_NET "[route]\nlayers=-1\ngroups=3\n",
                 TMP "/alexeyab.cfg:16: [route] groups=3: layer 1 has 4 channels, not a multiple of groups");
    expect_error(ROUTE_NET "[route]\nlayers=-1\ngroups=0\n", TMP "/alexeyab.cfg:16: [route] groups=0: expected an integer >= 1");
    expect_error(ROUTE_NET "[route]\nlayers=-1\ngroups=2\ngroup_id=-1\n", TMP "/alexeyab.cfg:17: [route] group_id=-1: expected an integer >= 0");
}

/* ---- activations: mish, swish, hard_mish, relu6 ---------------------------- */


static const int acts[] = {OHEM_MISH, OHEM_SWISH, OHEM_HARD_MISH, OHEM_RELU6};

/* Values against the oracle and gradients against its central differences, on
 * x in [-30, 30] away from the kinks of hard_mish and relu6. */
static void test_act_values(void **state)
{
    (void)state;
    for (size_t a = 0; a < 4; a++)
        for (int i = 0; i <= 6000; i++) {
            float x = -30.f + i * 0.01f, y = x, pre, d = 1;
            if (fabsf(x) < 0.02f || fabsf(x + 2) < 0.02f || fabsf(x - 6) < 0.02f) continue;
            ohem_act_forward(&y, &pre, 1, acts[a]);
            double want = act_double(acts[a], x), h = 1e-5;
            if (fabs(y - want) > 1e-6 + 1e-6 * fabs(want))
                fail_msg("act %d at %g: %.9g, oracle %.9g", acts[a], x, y, want);
            assert_true(pre == x);
            ohem_act_gradient(&pre, 1, acts[a], &d);
            double g = (act_double(acts[a], x + h) - act_double(acts[a], x - h)) / (2 * h);
            if (fabs(d - g) > 1e-5 + 1e-5 * fabs(g))
                fail_msg("act %d at %g: gradient %.9g, central difference %.9g", acts[a], x, d, g);
        }
}

#define ACT_NET "[net]\nbatch=2\nwidth=4\nheight=4\nchannels=2\n[convolutional]\nfilters=3\nsize=3\npad=1\n"

/* A [convolutional] with activation word: its output is the oracle's activation
 * of a linear twin's (same weights), and its input gradient matches central
 * differences of sum(w . output). */
static void check_conv_act(const char *word, int bn)
{
    char text[512], msg[512];
    snprintf(text, sizeof(text), ACT_NET "batch_normalize=%d\nactivation=%s\n", bn, word);
    network *net = parse(text, msg, sizeof(msg));
    snprintf(text, sizeof(text), ACT_NET "batch_normalize=%d\nactivation=linear\n", bn);
    network *lin = parse(text, msg, sizeof(msg));
    assert_non_null(net);
    assert_non_null(lin);
    layer *l = &net->layers[0], *k = &lin->layers[0];
    int act = ohem_act_of_word(word), n_in = net->inputs * net->batch, n_out = l->outputs * l->batch;
    assert_int_equal(l->activation, act);
    assert_non_null(l->h_cpu);
    rng_state = 0x1234567ull + (uint64_t)act * 7 + (uint64_t)bn;
    fill(l->weights, l->nweights);
    fill(l->biases, l->n);
    memcpy(k->weights, l->weights, sizeof(float) * l->nweights);
    memcpy(k->biases, l->biases, sizeof(float) * l->n);
    if (bn) {
        for (int i = 0; i < l->n; i++) l->scales[i] = k->scales[i] = 0.5f + 0.1f * i;
    }
    fill(net->input, n_in);
    for (int i = 0; i < n_in; i++) net->input[i] *= 3; /* both sides of the kinks */
    memcpy(lin->input, net->input, sizeof(float) * n_in);
    net->train = lin->train = 1;
    l->forward(*l, *net);
    k->forward(*k, *lin);
    for (int i = 0; i < n_out; i++) {
        double want = act_double(act, k->output[i]);
        if (fabs(l->output[i] - want) > 1e-5 + 1e-5 * fabs(want))
            fail_msg("%s: output %d is %.9g, the oracle of the linear twin's %.9g", word, i, l->output[i], want);
    }
    /* backward of sum(w . output): delta = w */
    float *w = malloc(sizeof(float) * n_out), *grad = calloc(n_in, sizeof(float));
    fill(w, n_out);
    memcpy(l->delta, w, sizeof(float) * n_out);
    network nd = *net;
    nd.delta = grad;
    l->backward(*l, nd);
    for (int i = 0; i < n_in; i += 3) {
        double f[2], h = 1e-2;
        float x0 = net->input[i];
        for (int s = 0; s < 2; s++) {
            net->input[i] = x0 + (s ? -h : h);
            l->forward(*l, *net);
            f[s] = 0;
            for (int j = 0; j < n_out; j++) f[s] += (double)w[j] * l->output[j];
        }
        net->input[i] = x0;
        double g = (f[0] - f[1]) / (2 * h);
        if (fabs(grad[i] - g) > 2e-2 + 2e-2 * fabs(g))
            fail_msg("%s bn=%d: input gradient %d is %.6g, central difference %.6g", word, bn, i, grad[i], g);
    }
    free(w);
    free(grad);
    free_network(net);
    free_network(lin);
}

static void test_conv_act(void **state)
{
    (void)state;
    const char *words[] = {"mish", "swish", "hard_mish", "relu6"};
    for (int i = 0; i < 4; i++) {
        check_conv_act(words[i], 0);
        check_conv_act(words[i], 1);
    }
}

static void test_act_errors(void **state)
{
    (void)state;
    expect_error(ROUTE_NET "[shortcut]\nfrom=-2\nactivation=mish\n",
                 TMP "/alexeyab.cfg:16: [shortcut] activation=mish: AlexeyAB's activation, implemented here for [convolutional] only");
    expect_error(ROUTE_NET "[convolutional]\nfilters=2\nactivation=gelu\n", TMP "/alexeyab.cfg:16: [convolutional] activation=gelu: expected one of:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_groups),
        cmocka_unit_test(test_route_resize),
        cmocka_unit_test(test_route_errors),
        cmocka_unit_test(test_act_values),
        cmocka_unit_test(test_conv_act),
        cmocka_unit_test(test_act_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
