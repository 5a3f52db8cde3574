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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_groups),
        cmocka_unit_test(test_route_resize),
        cmocka_unit_test(test_route_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
