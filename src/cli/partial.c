/* partial.c: ./darknet partial CFG WEIGHTS OUT N, AlexeyAB's command that cuts a
 * backbone (yolov4-tiny.conv.29) from trained weights: the network of CFG with
 * WEIGHTS loaded, its first N layers' weights written to OUT with seen = 0 and
 * AlexeyAB's header (major 0, minor 2, revision 5, then seen as 64 bits). detector
 * train starts from such a file: it ends at a layer boundary. */
#include "cli.h"
#include "network.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int cli_partial(int argc, char **argv)
{
    static const char *usage = "usage: ./darknet partial CFG WEIGHTS OUT N";
    if (argc != 4) {
        fprintf(stderr, "%s\n", usage);
        return CLI_USAGE;
    }
    char *end;
    errno = 0;
    long n = strtol(argv[3], &end, 10);
    if (end == argv[3] || *end || errno || n < 1) {
        fprintf(stderr, "error: partial N=%s: expected a number of layers >= 1\n%s\n", argv[3], usage);
        return CLI_USAGE;
    }
    if (cli_check_path("CFG", argv[0]) != 0 || cli_check_path("WEIGHTS", argv[1]) != 0) return CLI_BAD_INPUT;
    network *net;
    ohem_err e;
    if (ohem_load_network(argv[0], argv[1], 1, &net, &e) != 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        return CLI_BAD_INPUT;
    }
    if (n > net->n) {
        fprintf(stderr, "error: partial N=%ld: %s has %d layers\n", n, argv[0], net->n);
        free_network(net);
        return CLI_BAD_INPUT;
    }
    FILE *probe = fopen(argv[2], "wb");
    if (!probe) {
        fprintf(stderr, "error: %s: cannot write: %s\n", argv[2], strerror(errno));
        free_network(net);
        return CLI_BAD_INPUT;
    }
    fclose(probe);
    save_weights_upto(net, argv[2], (int)n);
    free_network(net);
    /* libdarknet writes revision 0; AlexeyAB's Darknet writes 5 (the layout is the same) */
    FILE *f = fopen(argv[2], "r+b");
    int32_t head[3] = {0, 2, 5};
    uint64_t seen = 0;
    if (!f || fwrite(head, sizeof(head), 1, f) != 1 || fwrite(&seen, sizeof(seen), 1, f) != 1 || fclose(f) != 0) {
        fprintf(stderr, "error: %s: cannot write the header: %s\n", argv[2], strerror(errno));
        return CLI_BAD_INPUT;
    }
    fprintf(stderr, "%s: the weights of layers 0..%ld of %s\n", argv[2], n - 1, argv[1]);
    return 0;
}
