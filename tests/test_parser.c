/* test_parser.c: the table-driven parser. Every stock cfg gives the same network as
 * libdarknet's own parser (every size, every scalar field, the initial weights);
 * every bad cfg gives an error naming file, line, section, key and value. */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "darknet.h"
#include "ohem_layer.h"
#include "parser.h"
#include "keep_delta.h"
#include "net_steps.h"

#define TMP "tests/tmp"
#define CFG_DIR "/usr/share/darknet/cfg"

/* Stock cfgs left out: their random weight initialisation alone takes longer than
 * the test time allows (over 100 million weights) */
static const char *const too_large[] = {"vgg-16.cfg", "vgg-conv.cfg", "yolov3-openimages.cfg", "alexnet.cfg"};

static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

#define FIELD(f) fprintf(out, "net " #f " %g\n", (double)net->f)
/* Writes everything that defines a network, one fact a line, so that two
 * descriptions compare line by line. */
static void describe(FILE *out, network *net)
{
    FIELD(n); FIELD(batch); FIELD(subdivisions); FIELD(inputs); FIELD(outputs); FIELD(truths);
    FIELD(h); FIELD(w); FIELD(c); FIELD(time_steps); FIELD(learning_rate); FIELD(momentum);
    FIELD(decay); FIELD(max_batches); FIELD(policy); FIELD(num_steps); FIELD(burn_in);
    FIELD(adam); FIELD(max_crop); FIELD(min_crop); FIELD(angle); FIELD(aspect); FIELD(exposure);
    FIELD(saturation); FIELD(hue); FIELD(random); FIELD(clip); FIELD(gamma); FIELD(power);
    fprintf(out, "net output_is_last %d\n", net->output == get_network_output_layer(net).output);
    fprintf(out, "net workspace %d\n", net->workspace != NULL);
    for (int i = 0; i < net->num_steps; i++) fprintf(out, "net step %d %d %g\n", i, net->steps[i], net->scales[i]);
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        char *a = (char *)l;
        size_t from = offsetof(layer, batch_normalize), mid = offsetof(layer, mask),
               after = mid + sizeof(l->mask), to = offsetof(layer, cweights);
        fprintf(out, "layer %d type %d activation %d cost_type %d\n", i, l->type, l->activation, l->cost_type);
        fprintf(out, "layer %d scalars %016llx %016llx\n", i, (unsigned long long)fnv(a + from, mid - from),
                (unsigned long long)fnv(a + after, to - after));
        fprintf(out, "layer %d sizes in %d out %d %dx%dx%d -> %dx%dx%d n %d size %d stride %d truths %d workspace %zu\n",
                i, l->inputs, l->outputs, l->w, l->h, l->c, l->out_w, l->out_h, l->out_c, l->n, l->size,
                l->stride, l->truths, l->workspace_size);
        Dl_info info;
        const char *fw = l->forward && dladdr((void *)l->forward, &info) && info.dli_sname ? info.dli_sname : "?";
        /* ours wraps some backwards (keep_delta.c): the one inside is compared */
        void (*bf)(struct layer, struct network) = ohem_backward_of(net, i);
        const char *bw = bf && dladdr((void *)bf, &info) && info.dli_sname ? info.dli_sname : "?";
        if (l->type == REGION) bw = "(region)";
        /* [yolo]: ours in place of libdarknet's, held equal to it by tests/test_yolo.c */
        if (l->type == YOLO) fw = bw = "(yolo)";
        fprintf(out, "layer %d functions %s %s update %d\n", i, fw, bw, l->update != NULL);
        fprintf(out, "layer %d buffers output %d delta %d cost %d\n", i, l->output != NULL, l->delta != NULL, l->cost != NULL);
        if (l->weights) fprintf(out, "layer %d weights %d %016llx\n", i, l->nweights, (unsigned long long)fnv(l->weights, l->nweights * sizeof(float)));
        if (l->biases) fprintf(out, "layer %d biases %d %016llx\n", i, l->nbiases, (unsigned long long)fnv(l->biases, l->nbiases * sizeof(float)));
        if (l->type == YOLO && l->mask) fprintf(out, "layer %d mask %016llx\n", i, (unsigned long long)fnv(l->mask, l->n * sizeof(int)));
        if ((l->type == YOLO || l->type == REGION) && l->biases)
            fprintf(out, "layer %d anchors %016llx\n", i, (unsigned long long)fnv(l->biases, 2 * (l->type == YOLO ? l->total : l->n) * sizeof(float)));
        if (l->batch_normalize && l->scales && l->type == CONVOLUTIONAL)
            fprintf(out, "layer %d bn %016llx %016llx %016llx\n", i, (unsigned long long)fnv(l->scales, l->n * sizeof(float)),
                    (unsigned long long)fnv(l->rolling_mean, l->n * sizeof(float)), (unsigned long long)fnv(l->rolling_variance, l->n * sizeof(float)));
    }
}

/* Copies cfg with batch=1 and subdivisions=1 in its [net]. */
static void copy_batch1(const char *src, const char *dst)
{
    FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
    char line[8192];
    int section = 0;
    while (fgets(line, sizeof(line), in)) {
        if (line[0] == '[') section++;
        if (section == 1 && !strncmp(line, "batch", 5) && strchr(line, '=')) fputs("batch=1\n", out);
        else if (section == 1 && !strncmp(line, "subdivisions", 12)) fputs("subdivisions=1\n", out);
        else fputs(line, out);
    }
    fclose(in);
    fclose(out);
}

typedef network *(*parse_fn)(char *);

/* Starts a child that parses cfg with parser and writes its description to out,
 * then "end". */
static pid_t describe_start(parse_fn parse, const char *cfg, const char *out)
{
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        freopen("/dev/null", "w", stdout);
        srand(1);
        network *net = parse((char *)cfg);
        FILE *f = fopen(out, "w");
        describe(f, net);
        fprintf(f, "end\n");
        fclose(f);
        _exit(0);
    }
    return pid;
}

/* Waits for the child; 1 when its description is complete. */
static int describe_wait(pid_t pid, const char *out)
{
    int st;
    waitpid(pid, &st, 0);
    FILE *f = fopen(out, "r");
    if (!f) return 0;
    char line[512], last[512] = "";
    while (fgets(line, sizeof(line), f)) strcpy(last, line);
    fclose(f);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && !strcmp(last, "end\n");
}

static void test_stock_cfgs_identical(void **state)
{
    (void)state;
    parse_fn stock = (parse_fn)dlsym(RTLD_NEXT, "parse_network_cfg");
    assert_non_null(stock);
    assert_true(stock != (parse_fn)parse_network_cfg);
    mkdir(TMP, 0777);
    DIR *d = opendir(CFG_DIR);
    assert_non_null(d);
    struct dirent *e;
    int compared = 0, skipped = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".cfg")) continue;
        int large = 0;
        for (size_t i = 0; i < sizeof(too_large) / sizeof(too_large[0]); i++) large |= !strcmp(e->d_name, too_large[i]);
        if (large) continue;
        char src[512], cfg[512], a[512], b[512];
        snprintf(src, sizeof(src), CFG_DIR "/%s", e->d_name);
        snprintf(cfg, sizeof(cfg), TMP "/stock_%s", e->d_name);
        snprintf(a, sizeof(a), TMP "/stock_%s.libdarknet", e->d_name);
        snprintf(b, sizeof(b), TMP "/stock_%s.ours", e->d_name);
        copy_batch1(src, cfg);
        unlink(a);
        unlink(b);
        pid_t pa = describe_start(stock, cfg, a), pb = describe_start(parse_network_cfg, cfg, b);
        int ok_a = describe_wait(pa, a), ok_b = describe_wait(pb, b);
        if (!ok_a) {
            skipped++;
            printf("skipped %s: libdarknet's parser rejects it\n", e->d_name);
            continue;
        }
        if (!ok_b) fail_msg("%s: our parser failed where libdarknet's succeeds", e->d_name);
        FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
        char la[512], lb[512];
        int lineno = 0;
        while (1) {
            char *ra = fgets(la, sizeof(la), fa), *rb = fgets(lb, sizeof(lb), fb);
            lineno++;
            if (!ra && !rb) break;
            if (!ra || !rb || strcmp(la, lb)) fail_msg("%s differs at line %d:\n  libdarknet: %s  ours:       %s", e->d_name, lineno, ra ? la : "(end)\n", rb ? lb : "(end)\n");
        }
        fclose(fa);
        fclose(fb);
        compared++;
    }
    closedir(d);
    printf("compared %d stock cfgs, %d rejected by libdarknet itself\n", compared, skipped);
    assert_true(compared >= 30);
}

/* ---- errors ---------------------------------------------------------------------- */

static const char *write_tmp(const char *name, const char *text)
{
    static char path[256];
    mkdir(TMP, 0777);
    snprintf(path, sizeof(path), TMP "/%s", name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

#define HEAD "[net]\nbatch=1\nwidth=32\nheight=32\nchannels=3\n"
/* conv (0), conv (1), yolo (2): an [ohem] after it is layer 3 on line 17 */
#define YOLO_NET HEAD "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=leaky\n" \
    "[convolutional]\nfilters=24\nsize=1\nstride=1\nactivation=linear\n"                    \
    "[yolo]\nmask=0,1,2\nanchors=10,14,23,27,37,58\nclasses=3\nnum=3\n"

typedef struct {
    const char *text;
    const char *want[3];  /* substrings of the message */
} bad_case;

static void test_bad_cfgs(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"", {"bad.cfg:1:", "no sections"}},
        {"# only a comment\n\n", {"bad.cfg:2:", "no sections"}},
        {"batch=1\n[net]\n", {"bad.cfg:1:", "'batch=1'", "before the first section"}},
        {HEAD "[convolutional]\nfilters=4\n[ohme]\nper_image=3\n", {"bad.cfg:8:", "unknown section [ohme]"}},
        {"[convolutional]\nfilters=4\n", {"bad.cfg:1:", "first section is [convolutional]"}},
        {HEAD "[convolutional]\nfilters\n", {"bad.cfg:7:", "[convolutional]", "'filters' is not key=value"}},
        {YOLO_NET "[ohem]\nnms=0.5\nnms=0.6\n", {"bad.cfg:24:", "key 'nms' is given twice", "line 23"}},
        {HEAD "[net\n", {"bad.cfg:6:", "not a section header"}},
        {HEAD, {"bad.cfg:1:", "not followed by any layer"}},
        {YOLO_NET "[ohem]\nper_img=3\n", {"bad.cfg:23:", "[ohem] unknown key 'per_img'"}},
        {YOLO_NET "[ohem]\nper_image=0\n", {"bad.cfg:23:", "per_image=0", "out of range"}},
        {YOLO_NET "[ohem]\nper_image=abc\n", {"bad.cfg:23:", "per_image=abc", "not an integer"}},
        {YOLO_NET "[ohem]\nper_image=1.5\n", {"bad.cfg:23:", "per_image=1.5", "not an integer"}},
        {YOLO_NET "[ohem]\nfraction=0\n", {"bad.cfg:23:", "fraction=0", "out of range"}},
        {YOLO_NET "[ohem]\nfraction=1.5\n", {"bad.cfg:23:", "fraction=1.5", "out of range"}},
        {YOLO_NET "[ohem]\nfraction=nan\n", {"bad.cfg:23:", "fraction=nan", "not a number"}},
        {YOLO_NET "[ohem]\nper_image=3\nfraction=0.5\n", {"bad.cfg:24:", "fraction=0.5", "not both"}},
        {YOLO_NET "[ohem]\nnms=0\n", {"bad.cfg:23:", "nms=0", "0 < nms <= 1"}},
        {YOLO_NET "[ohem]\nnms=1.1\n", {"bad.cfg:23:", "nms=1.1", "out of range"}},
        {YOLO_NET "[ohem]\nnms=0.7x\n", {"bad.cfg:23:", "nms=0.7x", "not a number"}},
        {YOLO_NET "[ohem]\nrank=hard\n", {"bad.cfg:23:", "rank=hard", "all coord obj class"}},
        {YOLO_NET "[ohem]\npositives=all\n", {"bad.cfg:23:", "positives=all", "rank keep"}},
        {YOLO_NET "[ohem]\nneg_pos_ratio=-1\n", {"bad.cfg:23:", "neg_pos_ratio=-1", "out of range"}},
        {YOLO_NET "[ohem]\nmin_negatives=-3\n", {"bad.cfg:23:", "min_negatives=-3", "out of range"}},
        {YOLO_NET "[ohem]\nwarmup=x\n", {"bad.cfg:23:", "warmup=x", "not an integer"}},
        {YOLO_NET "[ohem]\nstats=2\n", {"bad.cfg:23:", "stats=2", "out of range"}},
        {YOLO_NET "[ohem]\nlayers=9\n", {"bad.cfg:23:", "layers=9", "out of range"}},
        {YOLO_NET "[ohem]\nlayers=-9\n", {"bad.cfg:23:", "layers=-9", "out of range"}},
        {YOLO_NET "[ohem]\nlayers=1\n", {"bad.cfg:23:", "layers=1", "[convolutional], not a loss layer"}},
        {YOLO_NET "[ohem]\nlayers=2,2\n", {"bad.cfg:23:", "layers=2,2", "named twice"}},
        {YOLO_NET "[ohem]\nlayers=2;3\n", {"bad.cfg:23:", "layers=2;3", "comma-separated"}},
        {HEAD "[convolutional]\nfilters=4\n[ohem]\n", {"bad.cfg:8:", "[ohem] has no loss layer above it"}},
        {HEAD "[ohem]\n", {"bad.cfg:6:", "[ohem] has no loss layer above it"}},
        {HEAD "[convolutional]\nfilters=24\nsize=1\n[yolo]\nmask=0,1,2\nanchors=1,1,2,2,3,3\nclasses=3\nnum=3\nmax=100\n",
         {"bad.cfg:14:", "[yolo] max=100", "90"}},
        {HEAD "[convolutional]\nfilters=30\nsize=1\n[yolo]\nmask=0,1,2\nclasses=3\nnum=3\n",
         {"bad.cfg:9:", "[yolo] expects 24 filters", "has 30"}},
        {HEAD "[convolutional]\nfilters=8\nsize=1\n[softmax]\n[route]\nlayers=0\n"
              "[convolutional]\nfilters=24\nsize=1\n[yolo]\nmask=0,1,2\nanchors=1,1,2,2,3,3\nclasses=3\nnum=3\n[ohem]\n",
         {"bad.cfg:20:", "mixes [softmax]"}},
        /* cfg checks: each was an abort, a crash or a silent default */
        {HEAD "[connected]\noutput=100\n[detection]\nclasses=3\ncoords=4\nside=2\nnum=2\n",
         {"bad.cfg:8:", "[detection] expects 52 inputs", "the [connected] before it (line 6) gives 100"}},
        {HEAD "[convolutional]\nfilters=24\nsize=1\n[yolo]\nmask=0,1,3\nanchors=1,1,2,2,3,3\nclasses=3\nnum=3\n",
         {"bad.cfg:10:", "[yolo] mask=0,1,3", "anchor 3 does not exist; num=3"}},
        {HEAD "[convolutional]\nfilters=24\nsize=1\n[yolo]\nmask=0,1,2\nanchors=1,1,2,2,3,3\nclasses=3\n",
         {"bad.cfg:10:", "anchor 1 does not exist; num=1"}},
        {HEAD "[convolutional]\nfilters=24\nsize=1\n[yolo]\nmask=0,1,2\nanchors=1,1,2,2\nclasses=3\nnum=3\n",
         {"bad.cfg:11:", "[yolo] anchors=1,1,2,2", "4 values, but num=3 needs 6"}},
        {HEAD "[convolutional]\nfilters=24\nsize=1\n[yolo]\nmask=0,1,2\nanchors=1,1,2,2,3,3,4,4\nclasses=3\nnum=3\n",
         {"bad.cfg:11:", "8 values, but num=3 needs 6", "past its array"}},
        {HEAD "[convolutional]\nfilters=24\nsize=1\n[yolo]\nmask=0,1,2\nclasses=3\nnum=3\n",
         {"bad.cfg:9:", "[yolo] has no anchors="}},
        {HEAD "[convolutional]\nfilters=40\nsize=1\n[region]\nanchors=1,1,2,2\nclasses=3\ncoords=4\nnum=5\n",
         {"bad.cfg:10:", "[region] anchors=1,1,2,2", "num=5 needs 10"}},
        {HEAD "[convolutional]\nfilters=16\nsize=1\n[region]\nanchors=1,1,2,2\nclasses=3\ncoords=4\nnum=2\ntree=no/9k.tree\n",
         {"bad.cfg:14:", "[region] tree=no/9k.tree: no/9k.tree: cannot open the tree file: No such file"}},
        {HEAD "[convolutional]\nfilters=16\nsize=1\n[region]\nanchors=1,1,2,2\nclasses=3\ncoords=4\nnum=2\nmap=no/9k.map\n",
         {"bad.cfg:14:", "[region] map=no/9k.map: no/9k.map: cannot open the class map file"}},
        {HEAD "[convolutional]\nfilters=4\nsize=1\n[softmax]\ntree=no/9k.tree\n", {"bad.cfg:10:", "[softmax] tree=no/9k.tree", "cannot open"}},
        {HEAD "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\n[maxpool]\nsize=2\nstride=2\n[route]\nlayers=-1,-2\n",
         {"bad.cfg:15:", "[route] layers=-1,-2 joins maps of different sizes", "layer 1 is 8x8x4, layer 0 is 16x16x4"}},
        {YOLO_NET "[ohem]\n[ohem]\nper_image=4\n", {"bad.cfg:23:", "a second [ohem]", "line 22"}},
        {YOLO_NET "[ohem]\n[route]\nlayers=-4\n", {"bad.cfg:22:", "[ohem] must be the last section", "[route] follows it on line 23"}},
        {YOLO_NET "[ohem]\n[convolutional]\nfilters=4\n[ohem]\n", {"bad.cfg:25:", "a second [ohem]"}},
        {YOLO_NET "[ohem]\nper_image=0 # none\n", {"bad.cfg:23:", "per_image=0", "out of range"}},
        {"[net]\nbatch=1\nwidth=32\nheight=32\nchannels=3\npolicy=steps\nsteps=10,20\nscales=.1\n[maxpool]\n",
         {"bad.cfg:8:", "scales=.1: 1 values for 2 steps", "line 7"}},
        {"[net]\nbatch=1\nwidth=32\nheight=32\nchannels=3\npolicy=steps\n[maxpool]\n",
         {"bad.cfg:6:", "policy=steps needs steps= and scales="}},
        {"[net]\nbatch=1\nwidth=32\nheight=32\nchannels=3\npolicy=stepz\n[maxpool]\n",
         {"bad.cfg:6:", "[net] policy=stepz", "expected one of: random poly constant step exp sigmoid steps"}},
        {HEAD "[convolutional]\nfilters=4\nactivation=leakyy\n", {"bad.cfg:8:", "activation=leakyy", " leaky "}},
        {HEAD "[convolutional]\nfilters=4\nactivation=leaky # yolo\n", {"bad.cfg:8:", "activation=leaky#yolo", "the comment after it"}},
        {HEAD "[convolutional]\nfilters=4\n[cost]\ntype=sse#x\n", {"bad.cfg:9:", "[cost] type=sse#x", "on a line of its own"}},
        {HEAD "[convolutional]\nfilters=24\nsize=1\n[yolo]\nmask=0,1,2 # small, medium\nanchors=1,1,2,2,3,3\nclasses=3\nnum=3\n",
         {"bad.cfg:10:", "mask=0,1,2#small,medium", "must not hold a comma"}},
        {HEAD "[convolutional] # the first\nfilters=4\n", {"bad.cfg:6:", "a comment after a section header"}},
        {"\xFF\xFE[\n", {"bad.cfg:1:", "UTF-16"}},
        {"[net]\nbatch=1\nwidth=4\nheight=10\nchannels=3\n[convolutional]\nfilters=4\nsize=7\n",
         {"bad.cfg:6:", "[convolutional] makes a -2x4x4 output from its 4x10x3 input"}},
        {"[net]\nbatch=1\nwidth=4\nheight=4\nchannels=3\n[maxpool]\nsize=8\nstride=1\npadding=0\n[convolutional]\nfilters=4\n",
         {"bad.cfg:6:", "[maxpool] makes a -3x-3x3 output from its 4x4x3 input"}},
    };
    static const bad_case builtin[] = {
        {HEAD "[convolutional]\nfilters=abc\n", {"bad.cfg:7:", "[convolutional] filters=abc", "an integer >= 1"}},
        {HEAD "[convolutional]\nfilters=0\n", {"bad.cfg:7:", "filters=0"}},
        {HEAD "[convolutional]\nsize=3x\n", {"bad.cfg:7:", "size=3x"}},
        {"[net]\nbatch=1\nwidth=32\nheight=-5\nchannels=3\n[maxpool]\n", {"bad.cfg:4:", "[net] height=-5"}},
        {"[net]\nlearning_rate=fast\n[maxpool]\n", {"bad.cfg:2:", "learning_rate=fast", "a number"}},
        {YOLO_NET, {NULL}},
        {HEAD "[convolutional]\nfilters=24\nsize=1\n[yolo]\nmask=0;1\nclasses=3\n", {"bad.cfg:10:", "mask=0;1", "comma-separated integers"}},
        {HEAD "[convolutional]\nfilters=24\nsize=1\n[yolo]\nanchors=1,2,x\n", {"bad.cfg:10:", "anchors=1,2,x"}},
        {HEAD "[connected]\noutput=10\n[softmax]\n[convolutional]\nfilters=4\n", {"bad.cfg:9:", "[convolutional] needs an image input"}},
        {HEAD "[convolutional]\nfilters=4\n[route]\nlayers=-1,7\n", {"bad.cfg:9:", "[route] layers=-1,7", "layer 7 is not before"}},
        {HEAD "[convolutional]\nfilters=4\n[route]\n", {"bad.cfg:8:", "[route] needs layers="}},
        {HEAD "[convolutional]\nfilters=4\n[shortcut]\nfrom=-3\n", {"bad.cfg:9:", "[shortcut] from=-3"}},
    };
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
        if (!builtin[i].want[0]) continue;
        const char *path = write_tmp("bad.cfg", builtin[i].text);
        network *net = NULL;
        ohem_err e;
        if (ohem_parse_network(path, &net, &e) == 0) fail_msg("built-in case %zu parsed:\n%s", i, builtin[i].text);
        for (int k = 0; k < 3 && builtin[i].want[k]; k++)
            if (!strstr(e.msg, builtin[i].want[k])) fail_msg("built-in case %zu: message lacks '%s':\n  %s", i, builtin[i].want[k], e.msg);
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *path = write_tmp("bad.cfg", cases[i].text);
        network *net = NULL;
        ohem_err e;
        int st = ohem_parse_network(path, &net, &e);
        if (st == 0) fail_msg("case %zu parsed:\n%s", i, cases[i].text);
        assert_null(net);
        for (int k = 0; k < 3 && cases[i].want[k]; k++)
            if (!strstr(e.msg, cases[i].want[k])) fail_msg("case %zu: message lacks '%s':\n  %s", i, cases[i].want[k], e.msg);
    }
    network *net;
    ohem_err e;
    assert_int_equal(ohem_parse_network(TMP "/no/such.cfg", &net, &e), -1);
    assert_non_null(strstr(e.msg, "no/such.cfg: cannot open"));
    assert_int_equal(ohem_parse_network(TMP, &net, &e), -1);
    if (!strstr(e.msg, TMP ": is a directory, where the cfg file should be")) fail_msg("directory: %s", e.msg);
}

/* parse_network_cfg itself prints the error and exits with status 1. */
static void test_exit_status(void **state)
{
    (void)state;
    const char *path = write_tmp("exit.cfg", YOLO_NET "[ohem]\nnms=2\n");
    pid_t pid = fork();
    if (pid == 0) {
        freopen(TMP "/exit.err", "w", stderr);
        parse_network_cfg((char *)path);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    FILE *f = fopen(TMP "/exit.err", "r");
    char buf[4096] = "";
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    assert_non_null(strstr(buf, "exit.cfg:23: [ohem] nms=2"));
}

/* The same network with and without [ohem]: same weights file, byte for byte. */
static void test_weights_layout(void **state)
{
    (void)state;
    const char *plain = write_tmp("plain.cfg", YOLO_NET);
    char plain_path[256];
    strcpy(plain_path, plain);
    const char *mined = write_tmp("mined.cfg", YOLO_NET "[ohem]\nper_image=4\n");
    srand(3);
    network *a = parse_network_cfg(plain_path);
    srand(3);
    network *b = parse_network_cfg((char *)mined);
    assert_int_equal(b->n, a->n + 1);
    assert_int_equal(b->truths, a->truths);
    assert_int_equal(b->outputs, a->outputs);
    save_weights(a, TMP "/plain.weights");
    save_weights(b, TMP "/mined.weights");
    FILE *fa = fopen(TMP "/plain.weights", "rb"), *fb = fopen(TMP "/mined.weights", "rb");
    int ca, cb;
    long n = 0;
    do {
        ca = fgetc(fa);
        cb = fgetc(fb);
        if (ca != cb) fail_msg("weights differ at byte %ld", n);
        n++;
    } while (ca != EOF);
    fclose(fa);
    fclose(fb);
    /* and a weights file loads into the other network */
    load_weights(b, TMP "/plain.weights");
    assert_memory_equal(a->layers[0].weights, b->layers[0].weights, a->layers[0].nweights * sizeof(float));
    free_network(a);
    free_network(b);
}

/* ---- what libdarknet accepts, and what it joins ---------------------- */

/* 1 when the descriptions in files a and b are the same; prints the first
 * difference. */
static int same_description(const char *name, const char *a, const char *b)
{
    FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
    char la[512], lb[512];
    int lineno = 0, same = 1;
    while (fa && fb) {
        char *ra = fgets(la, sizeof(la), fa), *rb = fgets(lb, sizeof(lb), fb);
        lineno++;
        if (!ra && !rb) break;
        if (!ra || !rb || strcmp(la, lb)) {
            printf("%s differs at line %d:\n  first:  %s  second: %s", name, lineno, ra ? la : "(end)\n", rb ? lb : "(end)\n");
            same = 0;
            break;
        }
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same && fa && fb;
}

/* Copies src to dst with a comment after every value libdarknet reads as a number
 * or a list (a word with a comment is an error, tested with the bad cfgs; so is a
 * comma in a list's comment, which libdarknet counts as a separator), and with a
 * UTF-8 byte-order mark first when bom is set. */
static void copy_commented(const char *src, const char *dst, int bom)
{
    FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
    char line[8192];
    if (bom) fputs("\xEF\xBB\xBF", out);
    while (fgets(line, sizeof(line), in)) {
        line[strcspn(line, "\r\n")] = 0;
        int word = !strncmp(line, "activation", 10) || !strncmp(line, "policy", 6) || !strncmp(line, "type", 4);
        int list = !strncmp(line, "mask", 4) || !strncmp(line, "anchors", 7) || !strncmp(line, "layers", 6) ||
                   !strncmp(line, "steps", 5) || !strncmp(line, "scales", 6);
        if (strchr(line, '=') && line[0] != '#' && !word) fprintf(out, "%s  # note%s\n", line, list ? "" : ", with a comma");
        else fprintf(out, "%s\n", line);
    }
    fclose(in);
    fclose(out);
}

/* A comment after a value (filters=255 # yolo) gives the network libdarknet's own
 * parser gives, in stock cfgs of each head ([yolo], [region], [detection]) and one
 * with [shortcut] and [avgpool]; a UTF-8 byte-order mark is ignored. */
static void test_comments_as_libdarknet(void **state)
{
    (void)state;
    static const char *const names[] = {"yolov3-tiny.cfg", "yolov2-tiny.cfg", "yolov1-tiny.cfg", "resnet18.cfg"};
    parse_fn stock = (parse_fn)dlsym(RTLD_NEXT, "parse_network_cfg");
    assert_non_null(stock);
    mkdir(TMP, 0777);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char src[512], plain[512], commented[512], bom[512], a[512], b[512], c[512];
        snprintf(src, sizeof(src), CFG_DIR "/%s", names[i]);
        snprintf(plain, sizeof(plain), TMP "/comments_%s", names[i]);
        snprintf(commented, sizeof(commented), TMP "/comments_%s.commented", names[i]);
        snprintf(bom, sizeof(bom), TMP "/comments_%s.bom", names[i]);
        snprintf(a, sizeof(a), TMP "/comments_%s.libdarknet", names[i]);
        snprintf(b, sizeof(b), TMP "/comments_%s.ours", names[i]);
        snprintf(c, sizeof(c), TMP "/comments_%s.bom.ours", names[i]);
        copy_batch1(src, plain);
        copy_commented(plain, commented, 0);
        copy_commented(plain, bom, 1);
        pid_t pa = describe_start(stock, commented, a), pb = describe_start(parse_network_cfg, commented, b);
        if (!describe_wait(pa, a)) fail_msg("%s: libdarknet's parser fails with comments", names[i]);
        if (!describe_wait(pb, b)) fail_msg("%s: our parser fails with comments", names[i]);
        if (!same_description(names[i], a, b)) fail_msg("%s with comments: not libdarknet's network", names[i]);
        pid_t pc = describe_start(parse_network_cfg, bom, c);
        if (!describe_wait(pc, c)) fail_msg("%s: our parser fails with a byte-order mark", names[i]);
        if (!same_description(names[i], b, c)) fail_msg("%s with a byte-order mark: another network", names[i]);
    }
}

/* [ohem] values take a comment too; the value before it is checked as without. */
static void test_ohem_comments(void **state)
{
    (void)state;
    const char *path = write_tmp("ohem_comments.cfg", YOLO_NET "[ohem]\nper_image=5 # the hardest five\nnms=0.5#x\nlayers=-1 # the [yolo]\nrank=obj ;# x\n");
    network *net = NULL;
    ohem_err e;
    if (ohem_parse_network(path, &net, &e) == 0) fail_msg("rank=obj;: parsed");
    if (!strstr(e.msg, "rank=obj;")) fail_msg("%s", e.msg);
    path = write_tmp("ohem_comments.cfg", YOLO_NET "[ohem]\nper_image=5 # the hardest five\nnms=0.5#x\nlayers=-1 # the [yolo]\nrank=obj# x\n");
    if (ohem_parse_network(path, &net, &e) != 0) fail_msg("%s", e.msg);
    free_network(net);
    /* the values, as the option parser reads them after the cut */
    ohem_cfg cfg;
    assert_int_equal(ohem_cfg_read(path, &cfg, &e), 0);
    ohem_cfg_section *s = &cfg.sections[cfg.n - 1];
    ohem_cfg_cut_comments(s);
    layer layers[3];
    memset(layers, 0, sizeof(layers));
    layers[2].type = YOLO;
    network fake;
    memset(&fake, 0, sizeof(fake));
    fake.n = 3;
    fake.layers = layers;
    ohem_options o;
    assert_int_equal(ohem_parse_options(&cfg, s, &fake, 3, &o, &e), 0);
    assert_int_equal(o.per_image, 5);
    assert_true(o.nms == 0.5f);
    assert_int_equal(o.nlayers, 1);
    assert_int_equal(o.layers[0], 2);
    assert_int_equal(o.rank, OHEM_RANK_OBJ);
    ohem_cfg_free(&cfg);
}

/* Debian's yolov3-tiny at 100x100: its second [route] joins an 8x8 map and a 7x7
 * one; the error names that [route] and its line, not the convolution after it. */
static void test_route_sizes(void **state)
{
    (void)state;
    FILE *in = fopen(CFG_DIR "/yolov3-tiny.cfg", "r"), *out = fopen(TMP "/route100.cfg", "w");
    char line[512];
    int lineno = 0, route_line = 0;
    while (fgets(line, sizeof(line), in)) {
        lineno++;
        if (!strncmp(line, "width", 5)) strcpy(line, "width=100\n");
        if (!strncmp(line, "height", 6)) strcpy(line, "height=100\n");
        if (!strncmp(line, "layers", 6) && strchr(line, ',')) route_line = lineno;
        fputs(line, out);
    }
    fclose(in);
    fclose(out);
    assert_true(route_line > 0);
    network *net = NULL;
    ohem_err e;
    assert_int_equal(ohem_parse_network(TMP "/route100.cfg", &net, &e), -1);
    char want[64];
    snprintf(want, sizeof(want), "route100.cfg:%d: [route] layers=-1,8", route_line);
    if (!strstr(e.msg, want) || !strstr(e.msg, "layer 19 is 8x8x128, layer 8 is 7x7x256") ||
        !strstr(e.msg, "multiples of 32") || !strstr(e.msg, "100x100"))
        fail_msg("%s", e.msg);
}

/* A [shortcut] or a [route] (layer 3) reads layer 0, whose next layer is a 1x1
 * [convolutional] or an [activation]: libdarknet's backward of those writes layer
 * 0's delta after the reader added to it. After the backward down to layer 1, layer
 * 0's delta must be the reader's part (the backward down to the reader alone) plus
 * layer 1's (its own backward on a cleared delta), to float rounding; also with
 * layer 1's weights 0, when it passes nothing and libdarknet leaves 0. With
 * OHEM_BACKWARD=darknet's setting, libdarknet's 0 it is. */
static void test_residual_gradient_kept(void **state)
{
    (void)state;
    static const char *const head = "[net]\nbatch=2\nwidth=8\nheight=8\nchannels=2\n"
                                    "[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=linear\n";
    static const char *const mid[] = {"[convolutional]\nfilters=4\nsize=1\nstride=1\npad=1\nactivation=leaky\n",
                                      "[activation]\nactivation=leaky\n"};
    static const char *const tail[] = {"[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=linear\n"
                                       "[shortcut]\nfrom=-3\nactivation=linear\n[cost]\ntype=sse\n",
                                       "[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=linear\n"
                                       "[route]\nlayers=-1,-3\n"
                                       "[convolutional]\nfilters=4\nsize=1\nstride=1\npad=1\nactivation=linear\n"
                                       "[cost]\ntype=sse\n"};
    for (int m = 0; m < 2; m++)
        for (int t = 0; t < 2; t++)
            for (int zero = 0; zero <= (m == 0); zero++) {
                char text[2048], what[64];
                snprintf(text, sizeof(text), "%s%s%s", head, mid[m], tail[t]);
                snprintf(what, sizeof(what), "%s, %s%s", m ? "activation" : "1x1 conv", t ? "route" : "shortcut",
                         zero ? ", weights 0" : "");
                network *net;
                ohem_err e;
                if (ohem_parse_network(write_tmp("residual.cfg", text), &net, &e) != 0) fail_msg("%s", e.msg);
                layer *l0 = &net->layers[0], *l1 = &net->layers[1];
                if (zero) memset(l1->weights, 0, l1->nweights * sizeof(float));
                unsigned seed = 3;
                for (int i = 0; i < net->inputs * net->batch; i++) net->input[i] = (float)rand_r(&seed) / RAND_MAX - .5f;
                memset(net->truth, 0, (size_t)net->truths * net->batch * sizeof(float));
                net->train = 1;
                int n0 = l0->outputs * l0->batch;
                float *full = malloc(n0 * sizeof(float)), *reader = malloc(n0 * sizeof(float));
                float *own = calloc(n0, sizeof(float));
                forward_network(net);
                backward_down_to(net, 1);
                memcpy(full, l0->delta, n0 * sizeof(float));
                forward_network(net); /* clears every delta */
                backward_down_to(net, 3);
                memcpy(reader, l0->delta, n0 * sizeof(float));
                forward_network(net);
                backward_down_to(net, 2);
                network b = *net;
                b.index = 1;
                b.input = l0->output;
                b.delta = own;
                ohem_backward_of(net, 1)(*l1, b);
                double worst = 0, big = 0, added = 0;
                for (int i = 0; i < n0; i++) {
                    double want = (double)reader[i] + own[i];
                    worst = fmax(worst, fabs(full[i] - want));
                    big = fmax(big, fabs(want));
                    added += fabs(reader[i]);
                }
                if (!(added > 0)) fail_msg("%s: the reader adds nothing to layer 0's delta", what);
                if (worst > 1e-5 * big) fail_msg("%s: layer 0's delta off the reader's part + layer 1's by %g (largest %g)", what, worst, big);
                free(full);
                free(reader);
                free(own);
                free_network(net);
            }
    /* OHEM_BACKWARD=darknet: libdarknet's own backward, which leaves layer 0's delta 0
     * there (the 1x1 layer's gemm writes it with nothing from its weights 0) */
    ohem_keep_input_deltas_select(0);
    char text[2048];
    snprintf(text, sizeof(text), "%s%s%s", head, mid[0], tail[0]);
    network *net;
    ohem_err e;
    if (ohem_parse_network(write_tmp("residual.cfg", text), &net, &e) != 0) fail_msg("%s", e.msg);
    ohem_keep_input_deltas_select(1);
    memset(net->layers[1].weights, 0, net->layers[1].nweights * sizeof(float));
    unsigned seed = 3;
    for (int i = 0; i < net->inputs * net->batch; i++) net->input[i] = (float)rand_r(&seed) / RAND_MAX - .5f;
    memset(net->truth, 0, (size_t)net->truths * net->batch * sizeof(float));
    net->train = 1;
    forward_network(net);
    backward_down_to(net, 1);
    for (int i = 0; i < net->layers[0].outputs * net->batch; i++)
        if (net->layers[0].delta[i] != 0) fail_msg("OHEM_BACKWARD=darknet: layer 0's delta %d is %g, libdarknet's gives 0", i, net->layers[0].delta[i]);
    free_network(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_cfgs),
        cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_weights_layout),
        cmocka_unit_test(test_comments_as_libdarknet),
        cmocka_unit_test(test_ohem_comments),
        cmocka_unit_test(test_route_sizes),
        cmocka_unit_test(test_residual_gradient_kept),
        cmocka_unit_test(test_stock_cfgs_identical),
    };
    return cmocka_run_group_tests_name("parser", tests, NULL, NULL);
}
