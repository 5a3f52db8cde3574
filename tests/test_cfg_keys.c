/* test_cfg_keys.c: the keys of the built-in sections. The tables of cfg_keys.c hold
 * exactly the keys libdarknet's own parse functions read (found a second way: every
 * string of libdarknet.so offered to each of them, the read ones marked); each kind
 * of message about a key it does not read is asserted word for word; every stock cfg
 * and every cfg of ours passes with the warnings listed here and no error. */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "darknet.h"
#include "dn_internal.h"
#include "cfg_keys.h"
#include "parser.h"

#define TMP "tests/tmp"
#define CFG_DIR "/usr/share/darknet/cfg"
#define LIBDARKNET "/usr/lib/darknet/libdarknet.so"

/* ---- the tables against libdarknet ------------------------------------------------ */

static char **strings;
static int nstrings;

static void add_string(const char *s, size_t n)
{
    for (int i = 0; i < nstrings; i++)
        if (strlen(strings[i]) == n && !strncmp(strings[i], s, n)) return;
    strings = realloc(strings, (nstrings + 1) * sizeof(*strings));
    strings[nstrings++] = strndup(s, n);
}

/* Every string of libdarknet.so that could be a key: the run of key characters
 * that ends each NUL-terminated string, and each suffix of it that starts with a
 * letter (the linker stores "scale" as the tail of "class_scale"). */
static void read_library_strings(void)
{
    FILE *f = fopen(LIBDARKNET, "rb");
    assert_non_null(f);
    static char buf[1 << 21];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    assert_true(n > 0 && n < sizeof(buf) - 1);
    for (size_t i = 0; i < n; i++) {
        if (buf[i]) continue;
        size_t start = i;
        while (start > 0 && (buf[start - 1] == '_' || (buf[start - 1] >= 'a' && buf[start - 1] <= 'z') ||
                             (buf[start - 1] >= 'A' && buf[start - 1] <= 'Z') || (buf[start - 1] >= '0' && buf[start - 1] <= '9')))
            start--;
        for (size_t k = start; k + 1 < i; k++)
            if ((buf[k] >= 'a' && buf[k] <= 'z') || (buf[k] >= 'A' && buf[k] <= 'Z')) add_string(buf + k, i - k);
    }
}

/* The value a probe gives key: one libdarknet accepts without reading a file or
 * aborting. NULL: leave the key out (tree= and map= name files to read). */
static const char *probe_value(const char *key, const char *policy)
{
    if (!strcmp(key, "tree") || !strcmp(key, "map")) return NULL;
    if (!strcmp(key, "policy")) return policy;
    if (!strcmp(key, "layers") || !strcmp(key, "from") || !strcmp(key, "mask")) return "0";
    if (!strcmp(key, "anchors")) return "1,1";
    if (!strcmp(key, "activation")) return "leaky";
    if (!strcmp(key, "type")) return "sse";
    return "1";
}

typedef layer (*parse_plain)(list *, dn_size_params);
typedef layer (*parse_net_arg)(list *, dn_size_params, network *);

typedef struct {
    const char *type;
    parse_plain plain;
    parse_net_arg with_net;
    int c;           /* channels of the input: what the keys' values make fit */
} probe_section;

static const probe_section probes[] = {
    {"[convolutional]", parse_convolutional, NULL, 3}, {"[deconvolutional]", parse_deconvolutional, NULL, 3},
    {"[local]", parse_local, NULL, 3}, {"[activation]", parse_activation, NULL, 3},
    {"[logistic]", parse_logistic, NULL, 3}, {"[l2norm]", parse_l2norm, NULL, 3}, {"[rnn]", parse_rnn, NULL, 3},
    {"[gru]", parse_gru, NULL, 3}, {"[lstm]", parse_lstm, NULL, 3}, {"[crnn]", parse_crnn, NULL, 3},
    {"[connected]", parse_connected, NULL, 3}, {"[crop]", parse_crop, NULL, 3}, {"[cost]", parse_cost, NULL, 3},
    {"[region]", parse_region, NULL, 3}, {"[yolo]", parse_yolo, NULL, 6}, {"[iseg]", parse_iseg, NULL, 2},
    {"[detection]", parse_detection, NULL, 0}, {"[softmax]", parse_softmax, NULL, 3},
    {"[normalization]", parse_normalization, NULL, 3}, {"[batchnorm]", parse_batchnorm, NULL, 3},
    {"[maxpool]", parse_maxpool, NULL, 3}, {"[reorg]", parse_reorg, NULL, 3}, {"[avgpool]", parse_avgpool, NULL, 3},
    {"[dropout]", parse_dropout, NULL, 3}, {"[route]", NULL, parse_route, 3},
    {"[upsample]", NULL, parse_upsample, 3}, {"[shortcut]", NULL, parse_shortcut, 3},
    {"[net]", NULL, NULL, 0},
};

/* In a child: offers every library string to the section's parse function (for
 * [net], parse_net_options with the given policy) and writes the keys it read,
 * one a line, to out. */
static void probe_run(const probe_section *p, const char *policy, const char *out)
{
    int null = open("/dev/null", 1);
    dup2(null, 1);
    dup2(null, 2);
    list *o = make_list();
    for (int i = 0; i < nstrings; i++) {
        const char *v = probe_value(strings[i], policy);
        if (v) option_insert(o, strings[i], strdup(v));
    }
    network *net = make_network(2);
    int c = p->c;
    dn_size_params sp = {1, 8 * 8 * c, 8, 8, c, 1, 1, net};
    if (!strcmp(p->type, "[detection]")) sp.inputs = 3; /* side 1: (1 + coords 1) x num 1 + classes 1 */
    net->layers[0].outputs = sp.inputs;
    net->layers[0].out_w = net->layers[0].out_h = 8;
    net->layers[0].out_c = c;
    if (!strcmp(p->type, "[net]")) parse_net_options(o, net);
    else if (p->plain) p->plain(o, sp);
    else p->with_net(o, sp, net);
    FILE *f = fopen(out, "w");
    for (node *n = o->front; n; n = n->next) {
        dn_kvp *kv = n->val;
        if (kv->used) fprintf(f, "%s\n", kv->key);
    }
    fclose(f);
    _exit(0);
}

/* Adds the keys a probe read (in file) to read; 0 when the probe failed. */
static int probe_keys(const probe_section *p, const char *policy, char read[][128], int *nread)
{
    const char *out = TMP "/keys_probe.txt";
    unlink(out);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) probe_run(p, policy, out);
    int st;
    waitpid(pid, &st, 0);
    FILE *f = fopen(out, "r");
    if (!WIFEXITED(st) || WEXITSTATUS(st) || !f) {
        if (f) fclose(f);
        return 0;
    }
    char line[128];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        int have = 0;
        for (int i = 0; i < *nread; i++) have |= !strcmp(read[i], line);
        if (!have) snprintf(read[(*nread)++], 128, "%s", line);
    }
    fclose(f);
    return 1;
}

static void test_tables_as_libdarknet(void **state)
{
    (void)state;
    mkdir(TMP, 0777);
    read_library_strings();
    assert_true(nstrings > 1000);
    static const char *const policies[] = {"constant", "step", "steps", "exp", "poly", "sigmoid", "random"};
    for (size_t s = 0; s < sizeof(probes) / sizeof(probes[0]); s++) {
        const probe_section *p = &probes[s];
        char read[128][128];
        int nread = 0, net = !strcmp(p->type, "[net]");
        for (size_t k = 0; k < (net ? sizeof(policies) / sizeof(policies[0]) : 1); k++)
            if (!probe_keys(p, policies[k], read, &nread)) fail_msg("%s: libdarknet's parser failed on the probe", p->type);
        const char *const *table = ohem_cfg_known_keys(p->type);
        assert_non_null(table);
        int ntable = 0;
        for (; table[ntable]; ntable++) {
            int found = !strcmp(table[ntable], "tree") || !strcmp(table[ntable], "map");
            for (int i = 0; i < nread; i++) found |= !strcmp(read[i], table[ntable]);
            if (!found) fail_msg("%s: the table has '%s', which libdarknet does not read", p->type, table[ntable]);
        }
        for (int i = 0; i < nread; i++) {
            int found = 0;
            for (int k = 0; k < ntable; k++) found |= !strcmp(read[i], table[k]);
            if (!found) fail_msg("%s: libdarknet reads '%s', which the table lacks", p->type, read[i]);
        }
        printf("%s: %d keys, as libdarknet\n", p->type, ntable);
    }
    for (int i = 0; i < nstrings; i++) free(strings[i]);
    free(strings);
}

/* ---- the messages --------------------------------------------------------------- */

static const char *write_cfg(const char *text)
{
    static const char *path = TMP "/keys.cfg";
    mkdir(TMP, 0777);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static int parse_quiet; /* 1: parse_caught parses as detector train -map's evaluation copy */

/* Parses text with stderr caught; returns the status, what stderr received in err
 * (cap bytes) and the error in e. */
static int parse_caught(const char *text, char *err, size_t cap, ohem_err *e)
{
    const char *path = write_cfg(text);
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(TMP "/keys.err", "w+");
    dup2(fileno(f), 2);
    network *net = NULL;
    e->msg[0] = 0;
    int st = parse_quiet ? ohem_parse_network_quiet(path, &net, e) : ohem_parse_network(path, &net, e);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    size_t n = fread(err, 1, cap - 1, f);
    err[n] = 0;
    fclose(f);
    free_network(net);
    return st;
}

/* The lines of err that hold "warning:", in order. */
static void warnings_of(const char *err, char *out, size_t cap)
{
    out[0] = 0;
    for (const char *l = err; *l;) {
        const char *end = strchr(l, '\n');
        size_t n = end ? (size_t)(end - l + 1) : strlen(l);
        if (memmem(l, n, "warning:", 8) && strlen(out) + n < cap) strncat(out, l, n);
        l += n;
    }
}

#define NET "[net]\nbatch=1\nwidth=32\nheight=32\nchannels=3\n"
#define CONV "[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
/* conv (0), conv (1), yolo (2, lines 17..21): 16x16 cells x 3 anchors = 768 candidates
 * per image */
#define YOLO_NET NET "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=leaky\n" \
    "[convolutional]\nfilters=24\nsize=1\nstride=1\nactivation=linear\n"                \
    "[yolo]\nmask=0,1,2\nanchors=10,14,23,27,37,58\nclasses=3\nnum=3\n"

typedef struct {
    const char *text;
    const char *error;     /* the whole message, or NULL: parses */
    const char *warnings;  /* every warning line, in order */
} key_case;

static void test_messages(void **state)
{
    (void)state;
    static const key_case cases[] = {
        /* misspellings: the closest key of the section */
        {NET "burnin=0\n" CONV, "tests/tmp/keys.cfg:6: [net] burnin=0: unknown key (hint: did you mean burn_in?)", ""},
        {NET "learning_rte=0.05\n" CONV,
         "tests/tmp/keys.cfg:6: [net] learning_rte=0.05: unknown key (hint: did you mean learning_rate?)", ""},
        {NET "[convolutional]\nfilter=4\n", "tests/tmp/keys.cfg:7: [convolutional] filter=4: unknown key (hint: did you mean filters?)", ""},
        {YOLO_NET "ignore_tresh=.7\n",
         "tests/tmp/keys.cfg:22: [yolo] ignore_tresh=.7: unknown key (hint: did you mean ignore_thresh?)", ""},
        /* a common key of every layer */
        {NET "[maxpool]\nstopbackwards=1\n", "tests/tmp/keys.cfg:7: [maxpool] stopbackwards=1: unknown key (hint: did you mean stopbackward?)", ""},
        /* nothing close: the section's keys; a key of other sections: where it goes */
        {NET "foo_bar=1\n" CONV,
         "tests/tmp/keys.cfg:6: [net] foo_bar=1: unknown key (hint: libdarknet's [net] reads batch, subdivisions, width, "
         "height, channels, inputs, max_batches, learning_rate, momentum, decay, policy, burn_in, power, step, scale, steps, "
         "scales, gamma, time_steps, notruth, random, adam, B1, B2, eps, max_crop, min_crop, max_ratio, min_ratio, center, "
         "clip, angle, aspect, saturation, exposure, hue)", ""},
        {NET "[route]\nlayers=0\nfoo=1\n", "tests/tmp/keys.cfg:8: [route] foo=1: unknown key (hint: libdarknet's [route] reads layers)", ""},
        {NET "jitter=.3\n" CONV,
         "tests/tmp/keys.cfg:6: [net] jitter=.3: libdarknet reads jitter in [region], [yolo], [detection], not in [net] (hint: move the line there)", ""},
        /* AlexeyAB's keys that change the network or the loss */
        {NET CONV "[shortcut]\nfrom=-1\nweights_type=per_feature\n",
         "tests/tmp/keys.cfg:14: [shortcut] weights_type=per_feature: AlexeyAB's Darknet key, not implemented here: it changes the network "
         "(weighted shortcut sums) (hint: remove the line to train libdarknet's network, which differs from AlexeyAB's)", ""},
        /* AlexeyAB's keys the plugin implements: no message */
        {NET CONV "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n", NULL, ""},
        {YOLO_NET "counters_per_class=5,9,2\n",
         "tests/tmp/keys.cfg:22: [yolo] counters_per_class=5,9,2: AlexeyAB's Darknet key, not implemented here: it changes the class weights of the loss "
         "(hint: remove the line to train libdarknet's network, which differs from AlexeyAB's)", ""},
        {YOLO_NET "iou_thresh_kind=giou\n",
         "tests/tmp/keys.cfg:22: [yolo] iou_thresh_kind=giou: AlexeyAB's Darknet key, not implemented here: it changes which anchors learn a truth "
         "(the overlap measure) (hint: remove the line to train libdarknet's network, which differs from AlexeyAB's)", ""},
        /* AlexeyAB's [yolo] loss keys implemented here: read, no message */
        {YOLO_NET "scale_x_y=1.05\niou_loss=ciou\niou_normalizer=0.07\niou_thresh=0.213\nnew_coords=1\n", NULL, ""},
        {NET "ema_alpha=0.9998\n" CONV,
         "tests/tmp/keys.cfg:6: [net] ema_alpha=0.9998: AlexeyAB's Darknet key, not implemented here: it changes the weights saved "
         "(an exponential moving average of them) (hint: remove the line to train libdarknet's network, which differs from AlexeyAB's)", ""},
        {NET CONV "dont_update=1\n",
         "tests/tmp/keys.cfg:12: [convolutional] dont_update=1: AlexeyAB's Darknet key, not implemented here: it changes which weights train "
         "(the layer's frozen) (hint: remove the line to train libdarknet's network, which differs from AlexeyAB's)", ""},
        /* AlexeyAB's name for a key libdarknet reads under another */
        {NET "[crnn]\noutput=4\nhidden=4\n", "tests/tmp/keys.cfg:7: [crnn] output=4: AlexeyAB's Darknet name; libdarknet reads this as output_filters= (hint: output_filters=4)", ""},
        /* augmentation, display and GPU keys, keys at the value that changes nothing,
         * keys of older cfgs, keys read only with another setting: warnings */
        {NET "mosaic=1\nletter_box=1\ncutmix=1\nflip=0\nmax_chart_loss=10\ngamma=0.1\nseen=0\n" CONV "[route]\nlayers=-1\ngroups=1\n", NULL,
         "tests/tmp/keys.cfg:8: warning: [net] cutmix=1: AlexeyAB's Darknet key, not implemented here: training leaves out CutMix (a patch of another image pasted in)\n"
         "tests/tmp/keys.cfg:9: warning: [net] flip=0: AlexeyAB's Darknet switch for flips; libdarknet's detection loader flips half the "
         "images at random whatever it says; ignored\n"
         "tests/tmp/keys.cfg:10: warning: [net] max_chart_loss=10: AlexeyAB's Darknet key for its loss chart, which this build does not draw; ignored\n"
         "tests/tmp/keys.cfg:12: warning: [net] seen=0: not read by libdarknet (the count of images seen comes from the weights file); ignored\n"
         "tests/tmp/keys.cfg:11: warning: [net] gamma=0.1: libdarknet reads it only with policy=exp or policy=sigmoid; ignored\n"},
        {YOLO_NET "resize=1.5\nnms_kind=diounms\nshow_details=0\n", NULL,
         "tests/tmp/keys.cfg:24: warning: [yolo] show_details=0: AlexeyAB's Darknet key for its printout; ignored\n"},
        {NET "batch=2\n" CONV, NULL, "tests/tmp/keys.cfg:6: warning: [net] key 'batch' is given twice; libdarknet reads line 2\n"},
        /* [ohem]: a per_image at or above the candidates of an image */
        {YOLO_NET "[ohem]\nper_image=800\n", NULL,
         "tests/tmp/keys.cfg:23: warning: [ohem] per_image=800: an image has 768 candidates, so mining keeps every one that NMS at 0.70 leaves "
         "and the loss ranks none out (hint: per_image below 768, or fraction=)\n"},
        {YOLO_NET "[ohem]\nper_image=768\nnms=1\n", NULL,
         "tests/tmp/keys.cfg:23: warning: [ohem] per_image=768: an image has 768 candidates, so mining keeps every one and the loss ranks none out "
         "(hint: per_image below 768, or fraction=)\n"},
        {YOLO_NET "[ohem]\nper_image=767\n", NULL, ""},
        {YOLO_NET "[ohem]\nfraction=1\n", NULL, ""},
        /* pipeline is no key of [ohem] */
        {YOLO_NET "[ohem]\npipeline=0\n",
         "tests/tmp/keys.cfg:23: [ohem] unknown key 'pipeline' (hint: the keys are per_image, fraction, nms, layers, rank, positives, "
         "neg_pos_ratio, min_negatives, warmup, stats, sparse, rescale)", ""},
    };
    static char err[1 << 16];
    char warn[8192];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const key_case *k = &cases[i];
        ohem_err e;
        int st = parse_caught(k->text, err, sizeof(err), &e);
        if (k->error && st == 0) fail_msg("case %zu parsed; expected:\n  %s", i, k->error);
        if (!k->error && st != 0) fail_msg("case %zu: %s", i, e.msg);
        if (k->error && strcmp(e.msg, k->error)) fail_msg("case %zu:\n  got:      %s\n  expected: %s", i, e.msg, k->error);
        warnings_of(err, warn, sizeof(warn));
        if (strcmp(warn, k->warnings)) {
            printf("case %zu warnings:\n---- got:\n%s---- expected:\n%s", i, warn, k->warnings);
            fail_msg("case %zu: other warnings", i);
        }
        /* the quiet parse: the same status and error, no warning */
        parse_quiet = 1;
        ohem_err eq;
        int stq = parse_caught(k->text, err, sizeof(err), &eq);
        parse_quiet = 0;
        warnings_of(err, warn, sizeof(warn));
        if (stq != st || strcmp(eq.msg, e.msg) || warn[0]) fail_msg("case %zu: the quiet parse differs or warns:\n%s", i, warn);
    }
}

/* An error at a layer leaves no started line of the layer table: stderr ends with a
 * whole line, and no line is the failing layer's number alone. */
static void test_no_stray_layer_line(void **state)
{
    (void)state;
    static const char *const texts[] = {
        YOLO_NET "[ohem]\nper_image=0\n",                                              /* layer 3, [ohem] */
        NET CONV CONV "[convolutional]\nfilters=24\nsize=1\n[yolo]\nmask=0,1,2\nclasses=3\nnum=3\n", /* layer 3, [yolo] */
        NET "[connected]\noutput=10\n[softmax]\n" CONV,                              /* layer 2, needs an image */
        NET CONV CONV "[route]\nlayers=-1,9\n",                                         /* layer 2, [route] */
    };
    static const int failing[] = {3, 3, 2, 2};
    static char err[1 << 16];
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        ohem_err e;
        if (parse_caught(texts[i], err, sizeof(err), &e) == 0) fail_msg("case %zu parsed", i);
        size_t n = strlen(err);
        if (n && err[n - 1] != '\n') fail_msg("case %zu: stderr ends inside a line:\n%s", i, err);
        char stray[32];
        snprintf(stray, sizeof(stray), "\n%5d \n", failing[i]);
        if (strstr(err, stray)) fail_msg("case %zu: a stray line '%5d ' before the error:\n%s", i, failing[i], err);
        snprintf(stray, sizeof(stray), "\n%5d ", failing[i] - 1);
        if (!strstr(err, stray)) fail_msg("case %zu: layer %d's line is missing:\n%s", i, failing[i] - 1, err);
    }
}

/* ---- every cfg we know -------------------------------------------------------- */

/* The warnings stock and shipped cfgs give, one per line, as "NAME:LINE: text"; any
 * other message, or an error, fails. */
static const char *const expected_warnings[] = {
    "rnn.cfg:17: warning: [rnn] hidden=1024: not read by libdarknet (libdarknet's [rnn] has output= hidden units); ignored",
    "rnn.cfg:23: warning: [rnn] hidden=1024: not read by libdarknet (libdarknet's [rnn] has output= hidden units); ignored",
    "rnn.cfg:29: warning: [rnn] hidden=1024: not read by libdarknet (libdarknet's [rnn] has output= hidden units); ignored",
    "rnn.train.cfg:17: warning: [rnn] hidden=1024: not read by libdarknet (libdarknet's [rnn] has output= hidden units); ignored",
    "rnn.train.cfg:23: warning: [rnn] hidden=1024: not read by libdarknet (libdarknet's [rnn] has output= hidden units); ignored",
    "rnn.train.cfg:29: warning: [rnn] hidden=1024: not read by libdarknet (libdarknet's [rnn] has output= hidden units); ignored",
    "writing.cfg:10: warning: [net] seen=0: not read by libdarknet (the count of images seen comes from the weights file); ignored",
};

/* Checks the keys of every section of every .cfg in dir (no network is built:
 * stock cfgs go up to 140 million weights; test_parser builds them). Appends the
 * warnings to out, each as "NAME:LINE: ...". Returns the cfgs checked. */
static int check_dir(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    int n = 0;
    static char err[1 << 16];
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".cfg")) continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        ohem_cfg cfg;
        ohem_err e;
        if (ohem_cfg_read(path, &cfg, &e) != 0) fail_msg("%s", e.msg);
        fflush(stderr);
        int saved = dup(2);
        FILE *f = fopen(TMP "/keys_dir.err", "w+");
        dup2(fileno(f), 2);
        int st = 0;
        for (int i = 0; i < cfg.n && st == 0; i++)
            if (ohem_cfg_known_keys(cfg.sections[i].type)) st = ohem_cfg_check_keys(&cfg, &cfg.sections[i], &e);
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        rewind(f);
        size_t got = fread(err, 1, sizeof(err) - 1, f);
        err[got] = 0;
        fclose(f);
        ohem_cfg_free(&cfg);
        if (st != 0) fail_msg("%s: %s", de->d_name, e.msg);
        for (char *l = err; *l;) {
            char *end = strchr(l, '\n');
            if (end) *end = 0;
            const char *rest = strncmp(l, path, strlen(path)) ? l : l + strlen(path);
            size_t used = strlen(out);
            int w = snprintf(out + used, cap - used, "%s%s\n", de->d_name, rest);
            if (w < 0 || (size_t)w >= cap - used) fail_msg("the warnings of %s overflow the %zu-byte buffer", de->d_name, cap);
            l = end ? end + 1 : l + strlen(l);
        }
        n++;
    }
    closedir(d);
    return n;
}

static void test_every_cfg(void **state)
{
    (void)state;
    mkdir(TMP, 0777);
    static char got[1 << 16];
    got[0] = 0;
    int stock = check_dir(CFG_DIR, got, sizeof(got)), ours = check_dir("cfg", got, sizeof(got));
    printf("%d stock cfgs and %d of cfg/ checked\n", stock, ours);
    assert_true(stock >= 40);
    assert_true(ours >= 5);
    for (size_t i = 0; i < sizeof(expected_warnings) / sizeof(expected_warnings[0]); i++)
        if (!strstr(got, expected_warnings[i])) fail_msg("missing: %s", expected_warnings[i]);
    for (char *l = got; *l;) {
        char *end = strchr(l, '\n');
        *end = 0;
        int expected = 0;
        for (size_t i = 0; i < sizeof(expected_warnings) / sizeof(expected_warnings[0]); i++)
            expected |= !strcmp(l, expected_warnings[i]);
        if (!expected) fail_msg("an unexpected message: %s", l);
        l = end + 1;
    }
    /* ours are built too: they are small */
    static const char *const shipped[] = {"cfg/fashion.cfg", "cfg/fashion-ohem.cfg", "cfg/fashion-res.cfg",
                                          "cfg/fashion-frcnn.cfg", "cfg/fashion-frcnn-ohem.cfg"};
    static char err[1 << 16];
    for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++) {
        FILE *f = fopen(shipped[i], "r");
        assert_non_null(f);
        static char text[1 << 16];
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = 0;
        fclose(f);
        ohem_err e;
        if (parse_caught(text, err, sizeof(err), &e) != 0) fail_msg("%s: %s", shipped[i], e.msg);
        char warn[4096];
        warnings_of(err, warn, sizeof(warn));
        if (warn[0]) fail_msg("%s warns:\n%s", shipped[i], warn);
    }
}

static void test_edit_distance(void **state)
{
    (void)state;
    /* against the definition, by hand */
    assert_int_equal(ohem_edit_distance("burnin", "burn_in"), 1);
    assert_int_equal(ohem_edit_distance("learning_rte", "learning_rate"), 1);
    assert_int_equal(ohem_edit_distance("fitlers", "filters"), 1); /* a swap of neighbours */
    assert_int_equal(ohem_edit_distance("", "abc"), 3);
    assert_int_equal(ohem_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(ohem_edit_distance("same", "same"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_no_stray_layer_line),
        cmocka_unit_test(test_every_cfg),
        cmocka_unit_test(test_tables_as_libdarknet),
    };
    return cmocka_run_group_tests_name("cfg_keys", tests, NULL, NULL);
}
