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
    char *difficult; /* AlexeyAB's key: a list parallel to valid's whose label files hold boxes map ignores */
    char *train_from, *valid_from, *names_from, *difficult_from; /* "train= on line 3 of my.data", or NULL */
} data_cfg;

/* Reads a .data file: classes (required, >= 1), train (required), valid, names,
 * backup (default "backup", trailing slashes dropped), difficult. A UTF-8 byte-order mark is
 * skipped. Returns 0, or -1 after printing an error naming file, line and key (a
 * directory is named as such). */
int data_cfg_read(const char *path, data_cfg *d);
void data_cfg_free(data_cfg *d);

/* Reads an image list (one path a line, CR, blank lines and a UTF-8 byte-order mark
 * ignored). from says where path was written ("train= on line 3 of my.data", or
 * NULL), for the error, which also names the working directory a relative path is
 * resolved against. Returns the count, or -1 after printing an error; *paths is
 * owned by the caller. */
int read_list(const char *path, const char *from, char ***paths);
/* read_list, and (lines not NULL) the line of the list each path was read from,
 * counted from 1 (blank lines counted): *lines is owned by the caller. */
int read_list_lines(const char *path, const char *from, char ***paths, int **lines);
void free_paths(char **paths, int n);

/* Darknet's label path for an image: images -> labels, extension -> .txt. */
void label_path(const char *image, char *out, size_t cap);

/* Checks every image (exists, decodes) and label file (exists; lines of
 * "class x y w h" with class < classes and finite coordinates in (0,1]; no
 * byte-order mark, which libdarknet's loader cannot read) of the n paths read from
 * list, path i from line lines[i] of it (as read_list_lines gives). Prints each
 * problem with file and line (for an image or a missing file, the line of the list
 * and the working directory too), in list order, and stops after 20; returns the
 * number of problems. The entries are checked in parallel on the pool (pool.h);
 * unless quiet, a check that runs longer than a second prints a progress line
 * (checked/total, images/s, time left) on stderr. */
int check_dataset(const char *list, char **paths, const int *lines, int n, int classes, int quiet);

/* check_dataset over the images alone, for a list without labels. */
int check_images(const char *list, char **paths, const int *lines, int n, int quiet);

/* Reads a label file: *out gets n rows of (class, x, y, w, h). Returns the number of
 * problems printed (file and line each); the good rows are kept. */
int read_labels(const char *path, int classes, float **out, int *n);
/* read_labels with the problems printed on err, and from (NULL: nothing) saying where
 * the label path comes from, for the error that it cannot be opened. */
int read_labels_from(FILE *err, const char *path, const char *from, int classes, float **out, int *n);

/* Loads an image as 3 channels with stb, never through OpenCV's fallback (a blank
 * 10x10 image and a shell command). *ok is 0 when it does not decode. */
image load_image_checked(const char *path, int *ok);

/* Reads a .names file (one name a line; from as for read_list): returns the count,
 * or -1 after an error; fewer than classes names is an error. */
int read_names(const char *path, const char *from, int classes, char ***names);

/* "dir/abc.png" -> "abc" */
void path_stem(const char *path, char *out, size_t cap);

/* Monotonic seconds, for rates and durations. */
double cli_seconds(void);

/* The last [yolo], [region] or [detection] layer of net, or NULL. */
const layer *detector_layer(const network *net);

/* Writes n label rows (class, x, y, w, h) into net->truth (batch 1) in the layout
 * of its last detection layer, as libdarknet's loader writes them: [yolo] and the
 * others (x, y, w, h, class) per box, the first net->truths / 5; [detection] per
 * cell (the first box of a cell wins). */
void cli_fill_truth(network *net, const float *rows, int n);

/* Draws box b (relative coordinates) on im, width pixels thick, in colour rgb,
 * clipped to the image (map_clip_box). Returns 1, or 0 (and draws nothing) when
 * nothing of the box is inside the image. */
int draw_relative_box(image im, box b, int width, const float rgb[3]);

/* Prints why the image at path did not load: "is a directory, where an image should
 * be", or "the image is missing or does not decode". lead goes first ("\n" after a
 * progress bar). */
void cli_image_error(const char *path, const char *lead);

/* The longest path the command line accepts (bytes). Our own buffers are 4096
 * bytes and take suffixes; libdarknet copies paths into fixed buffers (its label
 * path, its image saver), so no longer path may reach it. */
#define CLI_PATH_MAX 3800

/* The one check every path the user gives goes through before it is used: not
 * empty and at most CLI_PATH_MAX bytes. what names where it came from ("CFG",
 * "-out", "data/x.data: train"). Returns 0, or -1 after printing an error. */
int cli_check_path(const char *what, const char *path);

/* The value of a flag must not look like a flag: "-log -quiet" is a usage error, not
 * a log file named "-quiet". A '-' followed by a letter is a flag; "-1" passes on
 * to the value's own check. Returns 0, or -1 after printing an error. */
int cli_check_flag_value(const char *flag, const char *value);

/* cli_check_path over the paths of a .data file, and over the entries of an image
 * list read from list. Return 0, or -1 after printing an error. */
int cli_check_data_paths(const data_cfg *d);
int cli_check_list(const char *list, char **paths, int n);

/* data_cfg_read and read_list_lines (lines may be NULL), then the checks above:
 * what every command uses. */
int cli_read_data(const char *path, data_cfg *d);
int cli_read_list(const char *path, const char *from, char ***paths, int **lines);

/* The list of d's difficult= key, which must have nvalid entries (one per image of
 * valid=, in its order): returns nvalid, 0 when there is no such key (*paths NULL),
 * or -1 after an error. */
int cli_read_difficult(const data_cfg *d, int nvalid, char ***paths);

/* Writes im as the PNG file name + ".png", checking every step (open, write, close).
 * Returns 0, or -1 after printing an error naming the file and the reason. */
int cli_save_png(image im, const char *name);

/* Frees what libdarknet's load_alphabet allocated. free_alphabet(NULL) is a no-op. */
void free_alphabet(image **a);

/* The program as it was started (main's argv[0]), for the commands it prints. */
extern const char *cli_program;

int detector_train(int argc, char **argv);
int detector_map(int argc, char **argv);
int detector_valid(int argc, char **argv);
int detector_test(int argc, char **argv);
int ohem_show(int argc, char **argv);
/* partial CFG WEIGHTS OUT N (partial.c) */
int cli_partial(int argc, char **argv);

/* The detections of net (batch 1) on im with a score above thresh, after NMS, boxes
 * relative to the image, as `detector map` sees them. */
detection *detector_detect(network *net, image im, float thresh, int *n);

/* 1 when detection letterboxes an image into net's input (training kept the aspect
 * ratio), 0 when it stretches it. */
int detector_letterboxes(const network *net);

/* im as a network input of w x h: letterboxed (letter 1) or stretched to it. */
image detector_input(image im, int w, int h, int letter);

/* detector_detect on its input made by detector_input(im, net->w, net->h, letter)
 * from a w x h image im. */
detection *detector_detect_input(network *net, image sized, int letter, int w, int h, float thresh, int *n);

#endif
