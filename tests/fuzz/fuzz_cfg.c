/* fuzz_cfg.c: libFuzzer target for the cfg reader and the [ohem] option parser.
 * Any input must end in a parsed cfg or an error message: no crash, no leak, no
 * undefined behaviour. The [ohem] sections are parsed against a network whose
 * layers 0..3 are [yolo], [convolutional], [region], [softmax]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "parser.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) mkdir("tests/tmp", 0777);
    if (!path[0]) snprintf(path, sizeof(path), "tests/tmp/fuzz_cfg_input_%d.cfg", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) { /* a target that cannot write its input would test nothing */
        perror(path);
        abort();
    }
    fwrite(data, 1, size, f);
    fclose(f);
    ohem_cfg cfg;
    ohem_err e;
    if (ohem_cfg_read(path, &cfg, &e) != 0) return 0;
    layer layers[4];
    memset(layers, 0, sizeof(layers));
    layers[0].type = YOLO;
    layers[1].type = CONVOLUTIONAL;
    layers[2].type = REGION;
    layers[3].type = SOFTMAX;
    network net;
    memset(&net, 0, sizeof(net));
    net.n = 4;
    net.layers = layers;
    for (int i = 0; i < cfg.n; i++)
        if (!strcmp(cfg.sections[i].type, "[ohem]")) {
            ohem_options o;
            ohem_cfg_cut_comments(&cfg.sections[i]); /* as the parser does for its own sections */
            ohem_parse_options(&cfg, &cfg.sections[i], &net, 4, &o, &e);
        }
    ohem_cfg_free(&cfg);
    return 0;
}
