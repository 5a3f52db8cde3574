/* train.c: ./darknet detector train DATA CFG [WEIGHTS] [flags], Darknet's training
 * loop with data checks up front, atomic weights files, resumable interrupts, a CSV
 * log and a progress line. */
#include "cli.h"
#include "chart.h"
#include "detect.h"
#include "dist.h"
#include "parser.h"
#include "gemm.h"
#include "loader.h"
#include "plan.h"
#include "weights.h"
#include "ohem_layer.h"
#include "roi_loss_layer.h"
#include "rng.h"
#include "train_state.h"
#include "yolo_layer.h"

#include <cblas.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* Removes the temporary weights files that a killed run left in dir (the name
 * ends in .tmp-PID and that process is gone). */
static void remove_stale_tmp(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    size_t bl = strlen(base);
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp-");
        if (strncmp(e->d_name, base, bl) || !t) continue;
        char *end;
        long pid = strtol(t + 5, &end, 10);
        if (*end || pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
            char path[4500];
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if (unlink(path) == 0) fprintf(stderr, "removed %s, left by an interrupted save\n", path);
        }
    }
    closedir(d);
}

/* Creates dir and its parents; checks that a file can be written there. */
static int ensure_dir(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    snprintf(buf, sizeof(buf), "%s/.write-test-%d", dir, (int)getpid());
    int fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    close(fd);
    unlink(buf);
    return 0;
}

/* Writes the weights to path through a temporary file and a rename, so that path
 * holds either the old file or the whole new one. Returns 0 or -1 (printed). */
static int save_weights_atomic(network *net, const char *path)
{
    if (dist_rank() != 0) return 0; /* rank 0 saves for all */
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
    /* libdarknet names the temporary file on stderr: silence it */
    fflush(stderr);
    int saved_stderr = dup(2), devnull = open("/dev/null", O_WRONLY);
    if (saved_stderr >= 0 && devnull >= 0) dup2(devnull, 2);
    if (devnull >= 0) close(devnull);
    ohem_err e;
    int rc = ohem_save_weights(net, tmp, net->n, &e);
    if (saved_stderr >= 0) {
        dup2(saved_stderr, 2);
        close(saved_stderr);
    }
    if (rc != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "error: %s: could not write the weights (%s); the previous file is untouched\n", path,
                rc != 0 ? e.msg : strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static const layer *ohem_layer_of(const network *net)
{
    for (int i = 0; i < net->n; i++)
        if (is_ohem_layer(&net->layers[i])) return &net->layers[i];
    return NULL;
}

static void format_duration(double s, char *out, size_t cap)
{
    long t = s > 0 && s < 1e9 ? (long)s : 0;
    if (t >= 3600) snprintf(out, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else snprintf(out, cap, "%ldm%02lds", t / 60, t % 60);
}

/* -quiet: libdarknet prints the layer table on stderr while the network is built.
 * It goes to a temporary file; the lines that are not the table (warnings, notes)
 * are printed afterwards, and all of it when the process exits while building
 * (a cfg error ends the process there). */
static FILE *capture_file;
static int capture_saved = -1;

static int is_table_line(const char *s)
{
    if (!strncmp(s, "layer     filters", 17) || !strncmp(s, "Loading weights from", 20)) return 1;
    while (*s == ' ') s++;
    if (!(*s >= '0' && *s <= '9')) return 0;
    while (*s >= '0' && *s <= '9') s++;
    return *s == ' ';
}

static void capture_end(int all)
{
    if (!capture_file) return;
    fflush(stderr);
    dup2(capture_saved, 2);
    close(capture_saved);
    rewind(capture_file);
    char line[4096];
    while (fgets(line, sizeof(line), capture_file))
        if (all || !is_table_line(line)) fputs(line, stderr);
    fclose(capture_file);
    capture_file = NULL;
}

static void capture_at_exit(void)
{
    capture_end(1);
}

static void capture_begin(void)
{
    static int registered;
    fflush(stderr);
    if (!(capture_file = tmpfile())) return;
    if ((capture_saved = dup(2)) < 0) {
        fclose(capture_file);
        capture_file = NULL;
        return;
    }
    dup2(fileno(capture_file), 2);
    if (!registered++) atexit(capture_at_exit);
}

/* Appends s to the command line cmd, in single quotes when the shell needs them. */
static void append_word(char *cmd, size_t cap, const char *s)
{
    size_t len = strlen(cmd);
    int plain = *s != 0;
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@", *p)) plain = 0;
    if (plain) {
        snprintf(cmd + len, cap - len, " %s", s);
        return;
    }
    snprintf(cmd + len, cap - len, " '");
    for (const char *p = s; *p; p++) {
        len = strlen(cmd);
        snprintf(cmd + len, cap - len, *p == '\'' ? "'\\''" : "%c", *p);
    }
    len = strlen(cmd);
    snprintf(cmd + len, cap - len, "'");
}

/* Warns when the cfg trains one image per iteration while its [net] holds a larger
 * batch commented out: Darknet's cfgs ship with the "# Testing" lines (batch=1,
 * subdivisions=1) in force and the "# Training" ones commented, and libdarknet
 * trains such a cfg at batch 1 without a word. */
static void warn_testing_batch(const char *cfg, int imgs)
{
    ohem_cfg_batch_lines b;
    ohem_err e;
    if (imgs != 1 || ohem_cfg_batch_lines_read(cfg, &b, &e) != 0 || !b.commented_batch_line) return;
    char in_force[128] = "", commented[128], fix[160];
    if (b.batch_line) snprintf(in_force, sizeof(in_force), " (batch=%d on line %d", b.batch, b.batch_line);
    if (b.batch_line && b.subdivisions_line)
        snprintf(in_force + strlen(in_force), sizeof(in_force) - strlen(in_force), ", subdivisions=%d on line %d",
                 b.subdivisions, b.subdivisions_line);
    if (b.batch_line) strcat(in_force, ")");
    snprintf(commented, sizeof(commented), "# batch=%d on line %d", b.commented_batch, b.commented_batch_line);
    snprintf(fix, sizeof(fix), "uncomment line %d", b.commented_batch_line);
    if (b.commented_subdivisions_line) {
        snprintf(commented + strlen(commented), sizeof(commented) - strlen(commented), ", # subdivisions=%d on line %d",
                 b.commented_subdivisions, b.commented_subdivisions_line);
        snprintf(fix, sizeof(fix), "uncomment lines %d and %d", b.commented_batch_line, b.commented_subdivisions_line);
    }
    if (b.batch_line && b.subdivisions_line)
        snprintf(fix + strlen(fix), sizeof(fix) - strlen(fix), ", and comment out lines %d and %d", b.batch_line, b.subdivisions_line);
    else if (b.batch_line)
        snprintf(fix + strlen(fix), sizeof(fix) - strlen(fix), ", and comment out line %d", b.batch_line);
    fprintf(stderr, "warning: %s trains one image per iteration%s, Darknet's testing setting; its training batch is commented out (%s) (hint: %s)\n",
            cfg, in_force, commented, fix);
}

/* Multi-scale training picks, every 10 iterations, a multiple of 32 from 10/13 to
 * 19/13 of the cfg's width (Darknet's 320..608 at 416), or with scale > 1 (the last
 * [yolo]'s random=, AlexeyAB's meaning) from about width / scale to width x scale:
 * *lo and *hi in units of 32. */
static void multiscale_range(int width, float scale, int *lo, int *hi)
{
    *lo = (10 * width + 13 * 32 - 1) / (13 * 32);
    *hi = 19 * width / (13 * 32);
    if (scale > 1) {
        /* AlexeyAB's detector.c: (round(s x width / 32) + 1) x 32, s from 1/random to random */
        *lo = (int)lround(width / scale / 32) + 1;
        *hi = (int)lround(width * scale / 32) + 1;
    }
    if (*lo < 1) *lo = 1;
    if (*hi < *lo) *hi = *lo;
}

/* Warns about the label files with more boxes than the loader keeps (the first
 * max of a file; detector map counts them all). side > 0 ([detection], YOLOv1): the
 * loader keeps one box per cell of the side x side grid, the first; the cells are
 * taken before augmentation, which can move a centre to the next cell. */
static void warn_box_limit(char **paths, int n, int classes, int max, int side)
{
    int over = 0;
    char lab[4096];
    for (int i = 0; i < n; i++) {
        float *rows = NULL;
        int nrows = 0, same = -1, first = -1;
        label_path(paths[i], lab, sizeof(lab));
        read_labels(lab, classes, &rows, &nrows);
        for (int a = 0; side > 0 && same < 0 && a < nrows; a++)
            for (int b = a + 1; same < 0 && b < nrows; b++)
                if ((int)(rows[5 * a + 1] * side) == (int)(rows[5 * b + 1] * side) &&
                    (int)(rows[5 * a + 2] * side) == (int)(rows[5 * b + 2] * side))
                    same = b, first = a;
        free(rows);
        if (side > 0 ? same < 0 : nrows <= max) continue;
        if (over++ >= 5) continue;
        if (side > 0)
            fprintf(stderr, "warning: %s: boxes %d and %d share a cell of the %dx%d grid; [detection] trains one box per cell (the first), detector map counts all\n",
                    lab, first + 1, same + 1, side, side);
        else
            fprintf(stderr, "warning: %s: %d boxes; training reads the first %d (the detection layer's limit), detector map counts all\n",
                    lab, nrows, max);
    }
    if (over > 5) fprintf(stderr, "warning: %d label files in all hold boxes that training drops\n", over);
}

/* The chart of the run: at path, or chart_<cfg>.png in the backup folder. Removes
 * the temporary charts a killed run left there, and draws the empty chart once, so
 * that an unwritable place is an error before training. Returns the chart, or NULL
 * after printing an error. */
static chart *train_chart_open(const char *path, const char *backup, const char *base, network *net)
{
    char def[4200], dir[4200];
    if (!path) {
        snprintf(def, sizeof(def), "%s/chart_%s.png", backup, base);
        path = def;
    }
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    remove_stale_tmp(slash == path ? "/" : dir, slash ? slash + 1 : path);
    chart *ch = chart_init(path, base);
    if (!ch) {
        fprintf(stderr, "error: out of memory for the chart\n");
        return NULL;
    }
    long it = (long)get_current_batch(net);
    chart_set_progress(ch, it, net->max_batches, -1);
    if (chart_draw(ch) != 0) {
        chart_free(ch);
        return NULL;
    }
    return ch;
}

/* One iteration into the chart: the loss, the [ohem] means (s may be NULL), mAP
 * when measured (not NAN), the learning rate and the time left; drawn every 10
 * iterations and 5 seconds. */
static void train_chart_add(chart *ch, network *net, long it, float loss, float avg, const ohem_stats *s,
                            double map, double seconds_left)
{
    float kept = s && s->kept ? (float)(s->loss_kept / s->kept) : NAN;
    float all = s && s->candidates ? (float)(s->loss_all / s->candidates) : NAN;
    chart_add_loss(ch, it, loss, avg, kept, all);
    if (!isnan(map)) chart_add_map(ch, it, (float)map);
    chart_set_lr(ch, it, get_current_rate(net));
    chart_set_progress(ch, it, net->max_batches, seconds_left);
    chart_update(ch, it, cli_seconds());
}

/* The state of one training run, shared by the steps of detector_train. */
typedef struct {
    /* the command line */
    const char *pos[3]; /* DATA, CFG, WEIGHTS (NULL when not given) */
    int npos, clear, quiet, verbose, max_batches, map_every;
    unsigned seed;
    const char *log_path;
    const char *chart_path; /* -chart: a PNG, "none", or NULL for the default */
    /* the inputs */
    data_cfg d;
    char **paths, **vpaths; /* this rank's training images; the valid list for -map */
    int *lines, *vlines;    /* the list line of each, for the data check's messages */
    char **difficult;       /* difficult=: the boxes -map ignores, parallel to vpaths */
    int ndifficult;
    int npaths, nvalid;
    map_class *mc;
    /* what is built */
    network *net, *eval;
    const layer *det, *ohem_l;
    FILE *log;
    chart *ch;              /* rank 0's chart, or NULL */
    char base[256], backup_path[4096];
    int imgs, ms_lo, ms_hi, saved_stdout;
    /* the loop */
    load_args args;
    loader_options loader_opts; /* AlexeyAB's augmentation keys of the cfg */
    data buffer;
    pthread_t loader;
    uint64_t loader_rng; /* the loader stream before the prefetched batch was drawn */
    int save_state;      /* every layer's momentum can be saved: write WEIGHTS.state */
    float avg_loss;
    double ema_step, t_start;
    long start_iter;
} train_run;

static void usage_train(void)
{
    fprintf(stderr,
            "usage: ./darknet detector train DATA CFG [WEIGHTS] [-seed N] [-max_batches N] [-log FILE] [-map [N]] [-chart PNG|none] [-clear] [-quiet] [-v] [-dont_show]\n");
}

/* Reads the operands and flags into r. Returns 0, or CLI_USAGE after printing why. */
static int train_parse_flags(train_run *r, int argc, char **argv)
{
    r->max_batches = -1;
    r->seed = dist_clock_seed(); /* time(NULL); under MPI, rank 0's */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        char *end;
        if (has_val && (!strcmp(a, "-log") || !strcmp(a, "-chart") || !strcmp(a, "-seed") || !strcmp(a, "-max_batches")) &&
            cli_check_flag_value(a, argv[i + 1]) != 0) {
            usage_train();
            return CLI_USAGE;
        }
        /* -map without a number (AlexeyAB's): every 4 epochs, at least 100 iterations
         * apart, and at the end; the period is set once the network is loaded */
        if (!strcmp(a, "-map") && (!has_val || strtol(argv[i + 1], &end, 10) < 0 || end == argv[i + 1] || *end)) {
            r->map_every = -1;
            continue;
        }
        if (!strcmp(a, "-clear")) r->clear = 1;
        else if (!strcmp(a, "-quiet")) r->quiet = 1;
        else if (!strcmp(a, "-v")) r->verbose = 1;
        else if (!strcmp(a, "-log") && has_val) r->log_path = argv[++i];
        else if (!strcmp(a, "-chart") && has_val) r->chart_path = argv[++i];
        else if ((!strcmp(a, "-seed") || !strcmp(a, "-max_batches") || !strcmp(a, "-map")) && has_val) {
            long long hi = !strcmp(a, "-seed") ? 4294967295LL : 2000000000LL;
            errno = 0;
            long long v = strtoll(argv[i + 1], &end, 10);
            if (end == argv[i + 1] || *end || errno || v < 0 || v > hi) {
                fprintf(stderr, "error: %s %s: expected an integer in 0..%lld\n", a, argv[i + 1], hi);
                usage_train();
                return CLI_USAGE;
            }
            if (!strcmp(a, "-seed")) r->seed = (unsigned)v;
            else if (!strcmp(a, "-max_batches")) r->max_batches = (int)v;
            else r->map_every = (int)v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "error: unknown flag or missing value: %s\n", a);
            usage_train();
            return CLI_USAGE;
        } else if (r->npos < 3) r->pos[r->npos++] = a;
        else {
            fprintf(stderr, "error: unexpected argument: %s\n", a);
            usage_train();
            return CLI_USAGE;
        }
    }
    if (r->npos < 2) {
        usage_train();
        return CLI_USAGE;
    }
    return 0;
}

/* Checks the paths, the .data file, the image lists and their labels, the backup
 * folder and the weights file, and keeps this rank's shard of the list. Returns 0,
 * or CLI_BAD_INPUT after printing the problem. */
static int train_check_inputs(train_run *r)
{
    static const char *const operand[] = {"DATA", "CFG", "WEIGHTS"};
    for (int q = 0; q < r->npos; q++)
        if (cli_check_path(operand[q], r->pos[q]) != 0) return CLI_BAD_INPUT;
    if (r->log_path && cli_check_path("-log", r->log_path) != 0) return CLI_BAD_INPUT;
    if (r->chart_path && cli_check_path("-chart", r->chart_path) != 0) return CLI_BAD_INPUT;
    if (cli_read_data(r->pos[0], &r->d) != 0) return CLI_BAD_INPUT;
    int n = cli_read_list(r->d.train, r->d.train_from, &r->paths, &r->lines), nlist = n;
    if (n >= 0 && (n = dist_shard(r->paths, r->lines, n, r->seed)) < 0) {
        free_paths(r->paths, nlist);
        r->paths = NULL;
    }
    if (n < 0) return CLI_BAD_INPUT;
    r->npaths = n;
    if (check_dataset(r->d.train, r->paths, r->lines, r->npaths, r->d.classes, r->quiet) != 0) return CLI_BAD_INPUT;
    if (r->map_every) {
        if (!r->d.valid) {
            fprintf(stderr, "error: %s: -map needs the key 'valid' (hint: valid=path/to/valid.txt)\n", r->pos[0]);
            return CLI_BAD_INPUT;
        }
        if ((r->nvalid = cli_read_list(r->d.valid, r->d.valid_from, &r->vpaths, &r->vlines)) < 0 ||
            check_dataset(r->d.valid, r->vpaths, r->vlines, r->nvalid, r->d.classes, r->quiet) != 0 ||
            (r->ndifficult = cli_read_difficult(&r->d, r->nvalid, &r->difficult)) < 0)
            return CLI_BAD_INPUT;
        r->mc = calloc(r->d.classes, sizeof(*r->mc));
    }
    if (ensure_dir(r->d.backup) != 0) {
        fprintf(stderr, "error: %s: %s: the backup folder cannot be created or written: %s\n", r->pos[0], r->d.backup, strerror(errno));
        return CLI_BAD_INPUT;
    }
    if (r->pos[2] && access(r->pos[2], R_OK) != 0) {
        fprintf(stderr, "error: %s: cannot read the weights file: %s\n", r->pos[2], strerror(errno));
        return CLI_BAD_INPUT;
    }
    return 0;
}

/* Builds the network (and the -map copy), checks it against the data, opens the log,
 * starts the ranks and prints the run's header. Returns 0, or CLI_BAD_INPUT. */
static int train_build(train_run *r)
{
    srand(r->seed);
    if (r->quiet) capture_begin();
    r->net = load_network((char *)r->pos[1], (char *)r->pos[2], r->clear);
    network *net = r->net;
    if (r->max_batches >= 0) net->max_batches = r->max_batches;
    if (r->map_every < 0) {
        long every = 4L * r->npaths / (net->batch * net->subdivisions);
        r->map_every = every < 100 ? 100 : (int)every;
    }
    if (r->map_every) {
        /* the cfg's warnings were printed by the parse above */
        ohem_err e;
        if (ohem_parse_network_quiet(r->pos[1], &r->eval, &e) != 0) {
            capture_end(0);
            fprintf(stderr, "error: %s\n", e.msg);
            return CLI_BAD_INPUT;
        }
        set_batch_network(r->eval, 1);
    }
    capture_end(0);
    /* libdarknet's make_yolo_layer and make_region_layer call srand(0): seed again,
     * so that the data order and augmentation follow -seed (with or without -map). */
    srand(r->seed);
    dist_srand(r->seed);
    const layer *det = r->det = detector_layer(net);
    if (!det) {
        fprintf(stderr, "error: %s: no [yolo], [region], [detection] or [roi_loss] layer: detector train needs one\n", r->pos[1]);
        return CLI_BAD_INPUT;
    }
    if (det->classes != r->d.classes) {
        fprintf(stderr, "error: %s says classes=%d but %s's last detection layer has classes=%d\n", r->pos[0], r->d.classes,
                r->pos[1], det->classes);
        return CLI_BAD_INPUT;
    }
    long at = (long)get_current_batch(net);
    if (at >= net->max_batches) {
        fprintf(stderr, "error: %s is at iteration %ld and max_batches is %d: there is nothing to train (hint: -max_batches above %ld continues; -clear starts again at 0)\n",
                r->pos[2] ? r->pos[2] : r->pos[1], at, net->max_batches, at);
        return CLI_BAD_INPUT;
    }
    warn_box_limit(r->paths, r->npaths, r->d.classes, det->max_boxes, det->type == DETECTION ? det->side : 0);
    if (r->log_path && dist_rank() == 0) {
        int resume = at > 0 && access(r->log_path, F_OK) == 0;
        r->log = fopen(r->log_path, resume ? "a" : "w");
        if (!r->log) {
            fprintf(stderr, "error: %s: cannot write the log: %s\n", r->log_path, strerror(errno));
            return CLI_BAD_INPUT;
        }
        if (!resume)
            fprintf(r->log, "iteration,loss,avg_loss,learning_rate,seconds,images,ohem_kept,ohem_candidates,"
                            "ohem_positives_kept,ohem_positives,ohem_loss_kept,ohem_loss_all,map,"
                            "rpn_loss,rpn_obj,rpn_box,roi_loss,roi_cls,roi_box,roi_trained,roi_foreground\n");
    }
    path_stem(r->pos[1], r->base, sizeof(r->base));
    if (dist_rank() == 0 && !(r->chart_path && !strcmp(r->chart_path, "none")) &&
        !(r->ch = train_chart_open(r->chart_path, r->d.backup, r->base, net)))
        return CLI_BAD_INPUT;
    if (dist_start(net) != 0) return CLI_BAD_INPUT;
    snprintf(r->backup_path, sizeof(r->backup_path), "%s/%s.backup", r->d.backup, r->base);
    r->imgs = net->batch * net->subdivisions;
    fprintf(stderr, "%s: %d images, %d per iteration, seed %u, learning rate %g, momentum %g, decay %g\n",
            r->base, r->npaths, r->imgs, r->seed, net->learning_rate, net->momentum, net->decay);
    if (dist_rank() == 0) warn_testing_batch(r->pos[1], r->imgs);
    int threads = openblas_get_num_threads();
    fprintf(stderr, "gemm: %s; %d thread%s (OHEM_THREADS)\n", ohem_gemm_name(), threads, threads == 1 ? "" : "s");
    /* each convolution's path, measured now (or from the cache) rather than in the first step */
    ohem_plan_summary plan;
    ohem_plan_network(net, 1, r->verbose ? stderr : NULL, &plan);
    if (!r->quiet || r->verbose) ohem_plan_print_summary(stderr, &plan);
    const yolo_options *yo = yolo_layer_options(det);
    r->loader_opts = loader_options_of(net);
    const loader_options *lo = &r->loader_opts;
    if (loader_is_alexeyab(lo))
        fprintf(stderr, "training images: AlexeyAB's crops (jitter=%g, resize=%g%s)%s%s\n", det->jitter, lo->resize,
                lo->letter_box ? ", letter_box: aspect kept" : ", stretched to the input", lo->mosaic ? ", mosaic in half the batches" : "",
                lo->mosaic && lo->mosaic_bound ? " (boxes bound to their tile)" : "");
    float ms_scale = yo && yo->random > 1 ? yo->random : 0;
    multiscale_range(net->w, ms_scale, &r->ms_lo, &r->ms_hi);
    if (det->random && ms_scale)
        fprintf(stderr, "multi-scale training: every 10 iterations a size from %dx%d to %dx%d (random=%g: about 1/%g to %g times the width %d, as AlexeyAB's Darknet; multiples of 32)\n",
                32 * r->ms_lo, 32 * r->ms_lo, 32 * r->ms_hi, 32 * r->ms_hi, ms_scale, ms_scale, ms_scale, net->w);
    else if (det->random)
        fprintf(stderr, "multi-scale training: every 10 iterations a size from %dx%d to %dx%d (10/13 to 19/13 of the width %d, multiples of 32)\n",
                32 * r->ms_lo, 32 * r->ms_lo, 32 * r->ms_hi, 32 * r->ms_hi, net->w);
    return 0;
}

/* Starts the loader thread on the next batch, noting the loader stream's state
 * before it draws: what a checkpoint saves, so that a resumed run draws the
 * prefetched batch again. */
static void loader_start(train_run *r)
{
    r->loader_rng = rng_loader_state();
    r->loader = load_data(r->args);
}

/* Continues an interrupted run: with WEIGHTS past iteration 0 (and no -clear), reads
 * WEIGHTS.state and sets the generators, the momentum and the training size from it;
 * without a matching one, warns that the run will not be exact. Returns 0, or
 * CLI_BAD_INPUT when the network cannot take the saved size. */
static int train_resume_state(train_run *r)
{
    r->save_state = train_state_supported(r->net) == 0;
    if (!r->pos[2] || r->clear || get_current_batch(r->net) == 0) return 0;
    char path[4200];
    train_resume s;
    snprintf(path, sizeof(path), "%s.state", r->pos[2]);
    if (train_state_load(path, r->net, r->seed, &s) != 0) return 0;
    rng_set_states(s.main_rng, s.loader_rng);
    if ((s.w != r->net->w || s.h != r->net->h) && resize_network(r->net, s.w, s.h) != 0) return CLI_BAD_INPUT;
    r->det = detector_layer(r->net);
    if (!r->quiet) fprintf(stderr, "continuing exactly: generators, momentum and training size from %s\n", path);
    return 0;
}

/* Quiets stdout (-quiet), installs the signal handlers, removes stale temporary
 * files and starts the loader thread on the first batch. */
static void train_start_loop(train_run *r)
{
    network *net = r->net;
    const layer *det = r->det;
    if (r->quiet) {
        /* libdarknet prints a line per loss layer per step on stdout. */
        fflush(stdout);
        r->saved_stdout = dup(1);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            close(devnull);
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGXFSZ, SIG_IGN); /* past a file-size limit, a write fails (and is reported) */
    if (dist_rank() == 0) remove_stale_tmp(r->d.backup, r->base);

    load_args *a = &r->args;
    a->w = net->w;
    a->h = net->h;
    a->paths = r->paths;
    a->n = r->imgs;
    a->m = r->npaths;
    a->classes = det->classes;
    a->jitter = det->jitter;
    a->num_boxes = det->type == DETECTION ? det->side : det->max_boxes;
    a->coords = det->coords;
    a->angle = net->angle;
    a->exposure = net->exposure;
    a->saturation = net->saturation;
    a->hue = net->hue;
    a->threads = 1; /* one loader thread: the order of rand() calls, so -seed, holds */
    loader_set_options(&r->loader_opts);
    a->type = det->type == DETECTION ? REGION_DATA : DETECTION_DATA;
    a->d = &r->buffer;
    loader_start(r);
    r->ohem_l = ohem_layer_of(net);
    r->avg_loss = -1;
    r->t_start = cli_seconds();
    r->start_iter = (long)get_current_batch(net);
}

/* Every 10 iterations of multi-scale training: draws a size, restarts the loader at
 * it and resizes the network. Returns 0, or CLI_BAD_INPUT when the resize fails. */
static int train_multiscale(train_run *r)
{
    pthread_join(r->loader, NULL);
    free_data(r->buffer);
    int dim = 32 * (r->ms_lo + rand() % (r->ms_hi - r->ms_lo + 1));
    r->args.w = r->args.h = dim;
    if (!r->quiet) fprintf(stderr, "multi-scale: %dx%d\n", dim, dim);
    loader_start(r);
    if (resize_network(r->net, dim, dim) != 0) return CLI_BAD_INPUT;
    r->det = detector_layer(r->net);
    r->ohem_l = ohem_layer_of(r->net);
    return 0;
}

/* Prints the progress line of iteration it and writes its log row; map is NAN
 * when it was not measured. wait is the part of the step spent waiting for the
 * loader's batch, shown when it passes 5% of the step (the loader then limits
 * the speed). */
static void train_report(train_run *r, long it, float loss, double step, double wait, double map,
                         const char *map_text)
{
    network *net = r->net;
    const layer *det = r->det;
    int imgs = r->imgs;
    char left[32];
    /* two-stage: the loss is RPN + RoI, each a mean per image */
    char parts[96] = "";
    roi_loss_stats rs;
    int two_stage = is_roi_loss_layer(det); /* the last layer, or the one before [ohem] */
    if (two_stage) {
        roi_loss_layer_take_stats(&net->layers[det - net->layers], &rs);
        dist_roi_stats(&rs);
        snprintf(parts, sizeof(parts), " (rpn %.4f + roi %.4f)", rs.rpn / imgs, rs.roi / imgs);
    }
    format_duration(r->ema_step * (net->max_batches - it), left, sizeof(left));
    char waited[48] = "";
    if (wait > .05 * step) snprintf(waited, sizeof(waited), " (%.2fs waiting for the loader)", wait);
    fprintf(stderr, "%s%ld/%d: loss %.4f%s, avg %.4f, rate %g, %.2fs%s, %.1f img/s, left %s%s%s",
            r->quiet && isatty(2) ? "\r" : "", it, net->max_batches, loss, parts, r->avg_loss,
            get_current_rate(net), step, waited, imgs * dist_size() / step, left, map_text,
            r->quiet && isatty(2) ? "   " : "\n");
    ohem_stats s;
    int has_s = r->ohem_l && dist_ohem_stats(r->ohem_l, &s) == 0;
    if (r->ch) train_chart_add(r->ch, net, it, loss, r->avg_loss, has_s ? &s : NULL, map, r->ema_step * (net->max_batches - it));
    FILE *log = r->log;
    if (!log) return;
    fprintf(log, "%ld,%g,%g,%g,%.4f,%ld", it, loss, r->avg_loss, get_current_rate(net), step, it * imgs * dist_size());
    if (has_s)
        fprintf(log, ",%ld,%ld,%ld,%ld,%g,%g", s.kept, s.candidates, s.positives_kept, s.positives,
                s.kept ? s.loss_kept / s.kept : 0.0, s.candidates ? s.loss_all / s.candidates : 0.0);
    else
        fprintf(log, ",,,,,,");
    if (!isnan(map)) fprintf(log, ",%.6f", map);
    else fprintf(log, ",");
    if (two_stage)
        fprintf(log, ",%g,%g,%g,%g,%g,%g,%d,%d\n", rs.rpn / imgs, rs.rpn_obj / imgs, rs.rpn_box / imgs,
                rs.roi / imgs, rs.roi_cls / imgs, rs.roi_box / imgs, rs.trained, rs.foreground);
    else
        fprintf(log, ",,,,,,,,\n");
    fflush(log);
}

/* Saves the weights to path and, beside them, the run's state to path.state
 * (collective under MPI: every rank calls it). A state that fails to save after
 * the weights is an error; the older state left then does not match the weights'
 * count of images, so a resume says so. Returns 0 or -1 (printed). */
static int save_run(train_run *r, const char *path)
{
    train_resume s = {r->seed, r->net->w, r->net->h, rng_main_state(), r->loader_rng};
    char spath[4200];
    snprintf(spath, sizeof(spath), "%s.state", path);
    int ok = save_weights_atomic(r->net, path) == 0;
    if (r->save_state && train_state_save(spath, r->net, &s, ok) != 0) ok = 0;
    return ok ? 0 : -1;
}

/* Prints the command that continues this run from the backup: the run's flags, so
 * that it continues as started. */
static void print_resume_line(const train_run *r, long it)
{
    char cmd[16384] = "", num[32];
    append_word(cmd, sizeof(cmd), cli_program);
    append_word(cmd, sizeof(cmd), "detector");
    append_word(cmd, sizeof(cmd), "train");
    const char *words[] = {r->pos[0], r->pos[1], r->backup_path};
    for (int w = 0; w < 3; w++) append_word(cmd, sizeof(cmd), words[w]);
    snprintf(num, sizeof(num), "%u", r->seed);
    append_word(cmd, sizeof(cmd), "-seed");
    append_word(cmd, sizeof(cmd), num);
    snprintf(num, sizeof(num), "%d", r->net->max_batches);
    append_word(cmd, sizeof(cmd), "-max_batches");
    append_word(cmd, sizeof(cmd), num);
    if (r->log_path) {
        append_word(cmd, sizeof(cmd), "-log");
        append_word(cmd, sizeof(cmd), r->log_path);
    }
    if (r->map_every) {
        snprintf(num, sizeof(num), "%d", r->map_every);
        append_word(cmd, sizeof(cmd), "-map");
        append_word(cmd, sizeof(cmd), num);
    }
    if (r->chart_path) {
        append_word(cmd, sizeof(cmd), "-chart");
        append_word(cmd, sizeof(cmd), r->chart_path);
    }
    if (r->quiet) append_word(cmd, sizeof(cmd), "-quiet");
    fprintf(stderr, "\ninterrupted at iteration %ld; saved %s\nresume with:%s\n", it, r->backup_path, cmd);
}

/* Saves what iteration it calls for: the backup and its state every 100 iterations
 * and on a stop signal (then with the resume line), <cfg>_N.weights at 100 .. 900 and
 * every 10000. Every rank calls it. Returns -1 to go on, or the run's exit status. */
static int train_checkpoint(train_run *r, long it)
{
    int stop = dist_stop(stop_signal);
    char path[4096];
    if (it % 100 == 0 || stop) {
        if (save_run(r, r->backup_path) != 0) return it % 100 == 0 ? CLI_BAD_INPUT : 128 + stop;
        if (!r->quiet && it % 100 == 0) fprintf(stderr, "saved %s\n", r->backup_path);
    }
    if (it % 10000 == 0 || (it < 1000 && it % 100 == 0)) {
        snprintf(path, sizeof(path), "%s/%s_%ld.weights", r->d.backup, r->base, it);
        if (save_weights_atomic(r->net, path) != 0) return CLI_BAD_INPUT;
        if (!r->quiet) fprintf(stderr, "saved %s\n", path);
    }
    if (stop) {
        print_resume_line(r, it);
        return 128 + stop;
    }
    return -1;
}

/* Trains to max_batches: one step per iteration, with its report and checkpoint.
 * Returns 0 at max_batches, or the status that stopped the loop. */
static int train_loop(train_run *r)
{
    network *net = r->net;
    int fresh = 1; /* the loader's batch had no step to load behind: its wait is not shown */
    while ((int)get_current_batch(net) < net->max_batches) {
        /* by the iteration count, so that a resumed run resizes where the first did */
        if (r->det->random && get_current_batch(net) % 10 == 0) {
            if (train_multiscale(r) != 0) return CLI_BAD_INPUT;
            fresh = 1;
        }
        double t0 = cli_seconds();
        pthread_join(r->loader, NULL);
        double wait = fresh ? 0 : cli_seconds() - t0;
        fresh = 0;
        data train = r->buffer;
        loader_start(r);
        float loss = dist_train_step(net, train);
        free_data(train);
        if (dist_left()) return CLI_BAD_INPUT; /* another rank stopped on an error */
        dist_reduce(&loss, r->ohem_l, stop_signal);
        double step = cli_seconds() - t0;
        long it = (long)get_current_batch(net);
        if (!isfinite(loss)) {
            if (access(r->backup_path, R_OK) == 0)
                fprintf(stderr, "\nerror: iteration %ld: the loss is %f; training stopped. The last good weights are in %s (hint: lower learning_rate or raise burn_in)\n",
                        it, loss, r->backup_path);
            else
                fprintf(stderr, "\nerror: iteration %ld: the loss is %f; training stopped before any backup was saved (hint: lower learning_rate or raise burn_in)\n",
                        it, loss);
            return CLI_BAD_INPUT;
        }
        if (r->avg_loss < 0) r->avg_loss = loss;
        r->avg_loss = r->avg_loss * .9f + loss * .1f;
        r->ema_step = r->ema_step > 0 ? r->ema_step * 0.9 + step * 0.1 : step;
        char map_text[32] = "";
        double map = NAN;
        if (r->map_every && dist_rank() == 0 && (it % r->map_every == 0 || it == net->max_batches)) {
            map_options mo = {0.5f, 0, 0.25f, 0, r->difficult};
            ohem_copy_parameters(r->eval, net);
            map = detector_evaluate(r->eval, r->vpaths, r->nvalid, r->d.classes, &mo, r->mc);
            if (map == -1) return CLI_BAD_INPUT;
            snprintf(map_text, sizeof(map_text), ", mAP@0.50 %.4f", map);
        }
        train_report(r, it, loss, step, wait, map, map_text);
        int status = train_checkpoint(r, it);
        if (status >= 0) return status;
    }
    return 0;
}

/* Ends the loop: releases the other ranks and the loader, saves <cfg>_final.weights
 * when the loop reached max_batches, and gives stdout back. Returns the status. */
static int train_finish(train_run *r, int status)
{
    dist_leave();
    pthread_join(r->loader, NULL);
    free_data(r->buffer);
    /* the final save is collective: only when every rank reached max_batches */
    if (!dist_agree(status == 0) && status == 0) status = CLI_BAD_INPUT;
    if (status == 0) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s_final.weights", r->d.backup, r->base);
        if (save_run(r, path) != 0) status = CLI_BAD_INPUT;
        else
            fprintf(stderr, "%sdone: %ld iterations in %.1fs; saved %s\n", r->quiet ? "\n" : "",
                    (long)get_current_batch(r->net) - r->start_iter, cli_seconds() - r->t_start, path);
    }
    if (r->saved_stdout >= 0) {
        fflush(stdout);
        dup2(r->saved_stdout, 1);
        close(r->saved_stdout);
    }
    return status;
}

/* Closes the log (a write error turns status 0 into CLI_BAD_INPUT) and frees what
 * the run holds. Returns the status. */
static int train_free(train_run *r, int status)
{
    if (r->log && (ferror(r->log) | fclose(r->log)) != 0 && status == 0) {
        fprintf(stderr, "error: %s: the log could not be written in full (disk full?)\n", r->log_path);
        status = CLI_BAD_INPUT;
    }
    if (r->ch && chart_draw(r->ch) != 0 && status == 0) status = CLI_BAD_INPUT; /* a stopped run's too */
    chart_free(r->ch);
    if (r->net) free_network(r->net);
    if (r->eval) free_network(r->eval);
    free(r->mc);
    free_paths(r->vpaths, r->nvalid);
    free_paths(r->difficult, r->ndifficult);
    free_paths(r->paths, r->npaths);
    free(r->lines);
    free(r->vlines);
    data_cfg_free(&r->d);
    return status;
}

int detector_train(int argc, char **argv)
{
    train_run r = {0};
    r.saved_stdout = -1;
    r.nvalid = -1;
    int status = train_parse_flags(&r, argc, argv);
    if (status != 0) return status;
    status = train_check_inputs(&r);
    if (status == 0) status = train_build(&r);
    if (status == 0) status = train_resume_state(&r);
    if (status == 0) {
        train_start_loop(&r);
        status = train_finish(&r, train_loop(&r));
    }
    return train_free(&r, status);
}
