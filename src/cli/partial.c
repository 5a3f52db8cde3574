/* partial.c: ./darknet partial CFG WEIGHTS OUT N, AlexeyAB's command that cuts a
 * backbone (yolov4-tiny.conv.29) from trained weights: the network of CFG with
 * WEIGHTS loaded, its first N layers' weights written to OUT with seen = 0 and
 * AlexeyAB's header (major 0, minor 2, revision 5, then seen as 64 bits). detector
 * train starts from such a file: it ends at a layer boundary. */
#include "cli.h"
#include "network.h"
#include "weights.h"

#include <errno.h>
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
    int rc = ohem_save_weights(net, argv[2], (int)n, &e);
    free_network(net);
    if (rc != 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        return CLI_BAD_INPUT;
    }
    fprintf(stderr, "%s: the weights of layers 0..%ld of %s\n", argv[2], n - 1, argv[1]);
    return 0;
}
