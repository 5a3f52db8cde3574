/* darknet.c: ./darknet, Darknet's command line with [ohem] support. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: ./darknet detector train DATA CFG [WEIGHTS] [-seed N] [-max_batches N] [-log FILE] [-clear] [-quiet]\n");
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "detector") && !strcmp(argv[2], "train"))
        return detector_train(argc - 3, argv + 3);
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
