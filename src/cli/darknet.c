/* darknet.c: ./darknet, Darknet's command line with [ohem] support. */
#include "cli.h"
#include "dataset.h"
#include "dist.h"
#include "import.h"
#include "mine.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *group, *name;
    int (*run)(int argc, char **argv);
    const char *args;
} command;

/* detector train, data-parallel when mpirun started it (dist.h) */
static int detector_train_dist(int argc, char **argv)
{
    return dist_main(detector_train, argc, argv);
}

static const command commands[] = {
    {"detector", "train", detector_train_dist, "DATA CFG [WEIGHTS] [-seed N] [-max_batches N] [-log FILE] [-map [N]] [-clear] [-quiet] [-v]"},
    {"detector", "map", detector_map, "  DATA CFG WEIGHTS [-iou 0.5] [-points 0|11] [-thresh 0.25] [-v]"},
    {"detector", "valid", detector_valid, "DATA CFG WEIGHTS [-out DIR/PREFIX]"},
    {"detector", "test", detector_test, " DATA CFG WEIGHTS IMAGE [-thresh 0.25] [-out NAME]"},
    {"ohem", "show", ohem_show, "     DATA CFG WEIGHTS IMAGE [-out NAME]"},
    {"ohem", "mine", ohem_mine, "     DATA CFG WEIGHTS [-list train|valid|FILE] [-top N] [-out DIR] [-thresh T] [-repeat K] [-by loss|errors]"},
    {"partial", "", cli_partial, "CFG WEIGHTS OUT N"},
    {"ohem", "dataset", dataset_main, "  OUTDIR [-train N] [-valid N] [-size S] [-seed N] [-quiet]"},
    /* one command, two usage lines: the first row runs, import_main reads the format */
    {"ohem", "import", import_main, "   voc VOCDEVKIT OUTDIR [-train 2007/trainval,2012/trainval] [-valid 2007/test] [-names FILE] [-copy] [-quiet]"},
    {"ohem", "import", import_main, "   coco OUTDIR -train INSTANCES.json IMAGEDIR [-valid INSTANCES.json IMAGEDIR] [-copy] [-quiet]"},
};
enum { NCOMMANDS = sizeof(commands) / sizeof(commands[0]) };

/* The usage lines of one group, or of every command when group is NULL. */
static void usage(const char *group)
{
    fprintf(stderr, "usage: ./darknet COMMAND ...\n");
    for (int i = 0; i < NCOMMANDS; i++)
        if (!group || !strcmp(group, commands[i].group))
            fprintf(stderr, "  %s %s %s\n", commands[i].group, commands[i].name, commands[i].args);
}

static int is_help(const char *a)
{
    return !strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help");
}

/* AlexeyAB's and hank.ai's command lines: -dont_show (no window opens here) is
 * dropped from every detector command, and flags given before the subcommand
 * (hank.ai's `detector -map -dont_show train DATA CFG`) move after it. argv is
 * rewritten in place; returns the new argc. */
static int alexeyab_args(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "detector")) return argc;
    int n = 2;
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "-dont_show")) argv[n++] = argv[i];
    argc = n;
    int verb = 0;
    for (int i = 2; i < argc && !verb; i++)
        for (int c = 0; c < NCOMMANDS; c++)
            if (!strcmp(commands[c].group, "detector") && !strcmp(argv[i], commands[c].name)) verb = i;
    if (verb <= 2 || argv[2][0] != '-') return argc;
    /* rotate argv[2..verb] so the subcommand comes first, the flags after the rest */
    char *v = argv[verb], *moved[64];
    int nm = verb - 2;
    if (nm > 64) return argc;
    memcpy(moved, argv + 2, sizeof(char *) * nm);
    argv[2] = v;
    memmove(argv + 3, argv + verb + 1, sizeof(char *) * (argc - verb - 1));
    memcpy(argv + 3 + (argc - verb - 1), moved, sizeof(char *) * nm);
    return argc;
}

int main(int argc, char **argv)
{
    if (argc > 0 && argv[0] && *argv[0]) cli_program = argv[0];
    argc = alexeyab_args(argc, argv);
    for (int i = 0; argc >= 3 && i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].group) && !strcmp(argv[2], commands[i].name))
            return commands[i].run(argc - 3, argv + 3);
    for (int i = 0; argc >= 2 && i < NCOMMANDS; i++) /* a command without subcommand */
        if (!commands[i].name[0] && !strcmp(argv[1], commands[i].group)) return commands[i].run(argc - 2, argv + 2);
    if (argc >= 2 && is_help(argv[1])) {
        usage(NULL);
        return 0;
    }
    /* a known group: its own usage, for a missing, unknown or help subcommand */
    for (int i = 0; argc >= 2 && i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].group)) {
            if (argc >= 3 && is_help(argv[2])) {
                usage(argv[1]);
                return 0;
            }
            if (argc < 3) fprintf(stderr, "error: %s: the subcommand is missing\n", argv[1]);
            else fprintf(stderr, "error: %s: unknown subcommand: %s\n", argv[1], argv[2]);
            usage(argv[1]);
            return CLI_USAGE;
        }
    if (argc < 2) fprintf(stderr, "error: the command is missing\n");
    else fprintf(stderr, "error: unknown command: %s\n", argv[1]);
    usage(NULL);
    return CLI_USAGE;
}
