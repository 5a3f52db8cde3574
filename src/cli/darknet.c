/* darknet.c: ./darknet, Darknet's command line with [ohem] support. */
#include "cli.h"
#include "dataset.h"
#include "dist.h"

#include <stdio.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: ./darknet COMMAND ...\n"
            "  detector train DATA CFG [WEIGHTS] [-seed N] [-max_batches N] [-log FILE] [-map N] [-clear] [-quiet]\n"
            "  detector map   DATA CFG WEIGHTS [-iou 0.5] [-points 0|11] [-thresh 0.25]\n"
            "  detector valid DATA CFG WEIGHTS [-out DIR/PREFIX]\n"
            "  detector test  DATA CFG WEIGHTS IMAGE [-thresh 0.25] [-out NAME]\n"
            "  ohem show      DATA CFG WEIGHTS IMAGE [-out NAME]\n"
            "  ohem dataset   OUTDIR [-train N] [-valid N] [-size S] [-seed N] [-quiet]\n");
}

typedef struct {
    const char *group, *name;
    int (*run)(int argc, char **argv);
} command;

/* detector train, data-parallel when mpirun started it (dist.h) */
static int detector_train_dist(int argc, char **argv)
{
    return dist_main(detector_train, argc, argv);
}

static const command commands[] = {
    {"detector", "train", detector_train_dist},
    {"detector", "map", detector_map},
    {"detector", "valid", detector_valid},
    {"detector", "test", detector_test},
    {"ohem", "show", ohem_show},
    {"ohem", "dataset", dataset_main},
};

int main(int argc, char **argv)
{
    for (size_t i = 0; argc >= 3 && i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].group) && !strcmp(argv[2], commands[i].name))
            return commands[i].run(argc - 3, argv + 3);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))) {
        usage();
        return 0;
    }
    fprintf(stderr, "error: unknown command:");
    for (int i = 1; i < argc && i < 3; i++) fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, "\n");
    usage();
    return CLI_USAGE;
}
