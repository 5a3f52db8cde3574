/* cli.h: the ./darknet command line: shared pieces. */
#ifndef OHEM_CLI_H
#define OHEM_CLI_H

#include "darknet.h"

/* Exit statuses: bad input 1, bad usage 2. */
enum { CLI_BAD_INPUT = 1, CLI_USAGE = 2 };

/* A .data file: Darknet's keys. Paths are owned. */
typedef struct {
    char *path;
    int classes;
    char *train, *valid, *names, *backup;
} data_cfg;

/* Reads a .data file: classes (required, >= 1), train (required), valid, names,
 * backup (default "backup/"). Returns 0, or -1 after printing an error naming file,
 * line and key. */
int data_cfg_read(const char *path, data_cfg *d);
void data_cfg_free(data_cfg *d);

/* Reads an image list (one path a line, CR and blank lines ignored). Returns the
 * count, or -1 after printing an error; *paths is owned by the caller. */
int read_list(const char *path, char ***paths);
void free_paths(char **paths, int n);

/* Darknet's label path for an image: images -> labels, extension -> .txt. */
void label_path(const char *image, char *out, size_t cap);

/* Checks every image (exists, decodes) and label file (exists; lines of
 * "class x y w h" with class < classes and finite coordinates in (0,1]).
 * Prints each problem with file and line; returns the number of problems. */
int check_dataset(char **paths, int n, int classes, int quiet);

int detector_train(int argc, char **argv);

#endif
