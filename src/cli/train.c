/* train.c: ./darknet detector train DATA CFG [WEIGHTS] [flags], Darknet's training
 * loop with data checks up front, atomic weights files, resumable interrupts, a CSV
 * log and a progress line. */
#include "cli.h"
#include "detect.h"
#include "dist.h"
#include "parser.h"
#include "gemm.h"
#include "weights.h"
#include "ohem_layer.h"
#include "roi_loss_layer.h"
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
    /* libdarknet's save_weights exits with status 0 when it cannot open the file,
     * and names the temporary file on stderr: open it here first, and silence it. */
    int probe = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (probe < 0) {
        fprintf(stderr, "error: %s: could not write the weights: %s; the previous file is untouched\n", path, strerror(errno));
        return -1;
    }
    close(probe);
    fflush(stderr);
    int saved_stderr = dup(2), devnull = open("/dev/null", O_WRONLY);
    if (saved_stderr >= 0 && devnull >= 0) dup2(devnull, 2);
    if (devnull >= 0) close(devnull);
    save_weights(net, tmp);
    if (saved_stderr >= 0) {
        dup2(saved_stderr, 2);
        close(saved_stderr);
    }
    struct stat st;
    long want = ohem_weights_bytes(net);
    int fd = open(tmp, O_RDONLY);
    int ok = fd >= 0 && fsync(fd) == 0 && fstat(fd, &st) == 0 && (want < 0 || st.st_size == want);
    if (fd >= 0) close(fd);
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "error: %s: could not write the weights (disk full?); the previous file is untouched\n", path);
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

static void usage_train(void)
{
    fprintf(stderr,
            "usage: ./darknet detector train DATA CFG [WEIGHTS] [-seed N] [-max_batches N] [-log FILE] [-map N] [-clear] [-quiet]\n");
}

int detector_train(int argc, char **argv)
{
    const char *pos[3] = {0};
    int npos = 0, clear = 0, quiet = 0, max_batches = -1, map_every = 0;
    unsigned seed = dist_clock_seed(); /* time(NULL); under MPI, rank 0's */
    const char *log_path = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        char *end;
        if (has_val && (!strcmp(a, "-log") || !strcmp(a, "-seed") || !strcmp(a, "-max_batches") || !strcmp(a, "-map")) &&
            cli_check_flag_value(a, argv[i + 1]) != 0) {
            usage_train();
            return CLI_USAGE;
        }
        if (!strcmp(a, "-clear")) clear = 1;
        else if (!strcmp(a, "-quiet")) quiet = 1;
        else if (!strcmp(a, "-log") && has_val) log_path = argv[++i];
        else if ((!strcmp(a, "-seed") || !strcmp(a, "-max_batches") || !strcmp(a, "-map")) && has_val) {
            long long hi = !strcmp(a, "-seed") ? 4294967295LL : 2000000000LL;
            errno = 0;
            long long v = strtoll(argv[i + 1], &end, 10);
            if (end == argv[i + 1] || *end || errno || v < 0 || v > hi) {
                fprintf(stderr, "error: %s %s: expected an integer in 0..%lld\n", a, argv[i + 1], hi);
                usage_train();
                return CLI_USAGE;
            }
            if (!strcmp(a, "-seed")) seed = (unsigned)v;
            else if (!strcmp(a, "-max_batches")) max_batches = (int)v;
            else map_every = (int)v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "error: unknown flag or missing value: %s\n", a);
            usage_train();
            return CLI_USAGE;
        } else if (npos < 3) pos[npos++] = a;
        else {
            fprintf(stderr, "error: unexpected argument: %s\n", a);
            usage_train();
            return CLI_USAGE;
        }
    }
    if (npos < 2) {
        usage_train();
        return CLI_USAGE;
    }
    static const char *const operand[] = {"DATA", "CFG", "WEIGHTS"};
    for (int q = 0; q < npos; q++)
        if (cli_check_path(operand[q], pos[q]) != 0) return CLI_BAD_INPUT;
    if (log_path && cli_check_path("-log", log_path) != 0) return CLI_BAD_INPUT;
    data_cfg d;
    if (cli_read_data(pos[0], &d) != 0) return CLI_BAD_INPUT;
    char **paths;
    int *lines = NULL, *vlines = NULL;
    int npaths = cli_read_list(d.train, d.train_from, &paths, &lines), nlist = npaths;
    if (npaths >= 0 && (npaths = dist_shard(paths, lines, npaths, seed)) < 0) free_paths(paths, nlist);
    if (npaths < 0) {
        free(lines);
        data_cfg_free(&d);
        return CLI_BAD_INPUT;
    }
    int status = CLI_BAD_INPUT, nvalid = -1;
    network *net = NULL, *eval = NULL;
    FILE *log = NULL;
    char **vpaths = NULL;
    map_class *mc = NULL;
    if (check_dataset(d.train, paths, lines, npaths, d.classes, quiet) != 0) goto done;
    if (map_every) {
        if (!d.valid) {
            fprintf(stderr, "error: %s: -map needs the key 'valid' (hint: valid=path/to/valid.txt)\n", pos[0]);
            goto done;
        }
        if ((nvalid = cli_read_list(d.valid, d.valid_from, &vpaths, &vlines)) < 0 ||
            check_dataset(d.valid, vpaths, vlines, nvalid, d.classes, quiet) != 0) goto done;
        mc = calloc(d.classes, sizeof(*mc));
    }
    if (ensure_dir(d.backup) != 0) {
        fprintf(stderr, "error: %s: %s: the backup folder cannot be created or written: %s\n", pos[0], d.backup, strerror(errno));
        goto done;
    }
    if (pos[2] && access(pos[2], R_OK) != 0) {
        fprintf(stderr, "error: %s: cannot read the weights file: %s\n", pos[2], strerror(errno));
        goto done;
    }
    srand(seed);
    if (quiet) capture_begin();
    net = load_network((char *)pos[1], (char *)pos[2], clear);
    if (max_batches >= 0) net->max_batches = max_batches;
    if (map_every) {
        eval = parse_network_cfg((char *)pos[1]);
        set_batch_network(eval, 1);
    }
    capture_end(0);
    /* libdarknet's make_yolo_layer and make_region_layer call srand(0): seed again,
     * so that the data order and augmentation follow -seed (with or without -map). */
    srand(seed);
    dist_srand(seed);
    const layer *det = detector_layer(net);
    if (!det) {
        fprintf(stderr, "error: %s: no [yolo], [region], [detection] or [roi_loss] layer: detector train needs one\n", pos[1]);
        goto done;
    }
    if (det->classes != d.classes) {
        fprintf(stderr, "error: %s says classes=%d but %s's last detection layer has classes=%d\n", pos[0], d.classes, pos[1], det->classes);
        goto done;
    }
    if ((long)get_current_batch(net) >= net->max_batches) {
        fprintf(stderr, "error: %s is at iteration %ld and max_batches is %d: there is nothing to train (hint: -max_batches above %ld continues; -clear starts again at 0)\n",
                pos[2] ? pos[2] : pos[1], (long)get_current_batch(net), net->max_batches, (long)get_current_batch(net));
        goto done;
    }
    warn_box_limit(paths, npaths, d.classes, det->max_boxes, det->type == DETECTION ? det->side : 0);
    if (log_path && dist_rank() == 0) {
        int resume = get_current_batch(net) > 0 && access(log_path, F_OK) == 0;
        log = fopen(log_path, resume ? "a" : "w");
        if (!log) {
            fprintf(stderr, "error: %s: cannot write the log: %s\n", log_path, strerror(errno));
            goto done;
        }
        if (!resume)
            fprintf(log, "iteration,loss,avg_loss,learning_rate,seconds,images,ohem_kept,ohem_candidates,"
                         "ohem_positives_kept,ohem_positives,ohem_loss_kept,ohem_loss_all,map,"
                         "rpn_loss,rpn_obj,rpn_box,roi_loss,roi_cls,roi_box,roi_trained,roi_foreground\n");
    }
    if (dist_start(net) != 0) goto done;
    char base[256];
    path_stem(pos[1], base, sizeof(base));
    int imgs = net->batch * net->subdivisions;
    fprintf(stderr, "%s: %d images, %d per iteration, seed %u, learning rate %g, momentum %g, decay %g\n",
            base, npaths, imgs, seed, net->learning_rate, net->momentum, net->decay);
    if (dist_rank() == 0) warn_testing_batch(pos[1], imgs);
    int threads = openblas_get_num_threads();
    fprintf(stderr, "gemm: %s; %d thread%s (OHEM_THREADS)\n", ohem_gemm_name(), threads, threads == 1 ? "" : "s");
    int ms_lo, ms_hi;
    const yolo_options *yo = yolo_layer_options(det);
    float ms_scale = yo && yo->random > 1 ? yo->random : 0;
    multiscale_range(net->w, ms_scale, &ms_lo, &ms_hi);
    if (det->random && ms_scale)
        fprintf(stderr, "multi-scale training: every 10 iterations a size from %dx%d to %dx%d (random=%g: about 1/%g to %g times the width %d, as AlexeyAB's Darknet; multiples of 32)\n",
                32 * ms_lo, 32 * ms_lo, 32 * ms_hi, 32 * ms_hi, ms_scale, ms_scale, ms_scale, net->w);
    else if (det->random)
        fprintf(stderr, "multi-scale training: every 10 iterations a size from %dx%d to %dx%d (10/13 to 19/13 of the width %d, multiples of 32)\n",
                32 * ms_lo, 32 * ms_lo, 32 * ms_hi, 32 * ms_hi, net->w);
    int saved_stdout = -1;
    if (quiet) {
        /* libdarknet prints a line per loss layer per step on stdout. */
        fflush(stdout);
        saved_stdout = dup(1);
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
    if (dist_rank() == 0) remove_stale_tmp(d.backup, base);

    load_args args = {0};
    args.w = net->w;
    args.h = net->h;
    args.paths = paths;
    args.n = imgs;
    args.m = npaths;
    args.classes = det->classes;
    args.jitter = det->jitter;
    args.num_boxes = det->type == DETECTION ? det->side : det->max_boxes;
    args.coords = det->coords;
    args.angle = net->angle;
    args.exposure = net->exposure;
    args.saturation = net->saturation;
    args.hue = net->hue;
    args.threads = 1; /* one loader thread: the order of rand() calls, so -seed, holds */
    args.type = det->type == DETECTION ? REGION_DATA : DETECTION_DATA;
    data train, buffer;
    args.d = &buffer;
    pthread_t loader = load_data(args);
    const layer *ohem_l = ohem_layer_of(net);
    float avg_loss = -1;
    double ema_step = 0, t_start = cli_seconds();
    long start_iter = (long)get_current_batch(net);
    int count = 0;
    char backup_path[4096], path[4096];
    snprintf(backup_path, sizeof(backup_path), "%s/%s.backup", d.backup, base);
    status = 0;
    while ((int)get_current_batch(net) < net->max_batches) {
        if (det->random && count++ % 10 == 0) {
            pthread_join(loader, NULL);
            free_data(buffer);
            int dim = 32 * (ms_lo + rand() % (ms_hi - ms_lo + 1));
            args.w = args.h = dim;
            if (!quiet) fprintf(stderr, "multi-scale: %dx%d\n", dim, dim);
            loader = load_data(args);
            if (resize_network(net, dim, dim) != 0) {
                status = CLI_BAD_INPUT;
                break;
            }
            det = detector_layer(net);
            ohem_l = ohem_layer_of(net);
        }
        double t0 = cli_seconds();
        pthread_join(loader, NULL);
        train = buffer;
        loader = load_data(args);
        float loss = dist_train_step(net, train);
        free_data(train);
        if (dist_left()) {
            status = CLI_BAD_INPUT; /* another rank stopped on an error */
            break;
        }
        dist_reduce(&loss, ohem_l, stop_signal);
        double step = cli_seconds() - t0;
        long it = (long)get_current_batch(net);
        if (!isfinite(loss)) {
            if (access(backup_path, R_OK) == 0)
                fprintf(stderr, "\nerror: iteration %ld: the loss is %f; training stopped. The last good weights are in %s (hint: lower learning_rate or raise burn_in)\n",
                        it, loss, backup_path);
            else
                fprintf(stderr, "\nerror: iteration %ld: the loss is %f; training stopped before any backup was saved (hint: lower learning_rate or raise burn_in)\n",
                        it, loss);
            status = CLI_BAD_INPUT;
            break;
        }
        if (avg_loss < 0) avg_loss = loss;
        avg_loss = avg_loss * .9f + loss * .1f;
        ema_step = ema_step > 0 ? ema_step * 0.9 + step * 0.1 : step;
        char left[32], map_text[32] = "";
        double map = NAN;
        if (map_every && dist_rank() == 0 && (it % map_every == 0 || it == net->max_batches)) {
            map_options mo = {0.5f, 0, 0.25f, 0};
            ohem_copy_parameters(eval, net);
            map = detector_evaluate(eval, vpaths, nvalid, d.classes, &mo, mc);
            if (map == -1) {
                status = CLI_BAD_INPUT;
                break;
            }
            snprintf(map_text, sizeof(map_text), ", mAP@0.50 %.4f", map);
        }
        /* two-stage: the loss is RPN + RoI, each a mean per image */
        char parts[96] = "";
        roi_loss_stats rs;
        int two_stage = is_roi_loss_layer(det); /* the last layer, or the one before [ohem] */
        if (two_stage) {
            roi_loss_layer_take_stats(&net->layers[det - net->layers], &rs);
            dist_roi_stats(&rs);
            snprintf(parts, sizeof(parts), " (rpn %.4f + roi %.4f)", rs.rpn / imgs, rs.roi / imgs);
        }
        format_duration(ema_step * (net->max_batches - it), left, sizeof(left));
        fprintf(stderr, "%s%ld/%d: loss %.4f%s, avg %.4f, rate %g, %.2fs, %.1f img/s, left %s%s%s",
                quiet && isatty(2) ? "\r" : "", it, net->max_batches, loss, parts, avg_loss,
                get_current_rate(net), step, imgs * dist_size() / step, left, map_text, quiet && isatty(2) ? "   " : "\n");
        if (log) {
            fprintf(log, "%ld,%g,%g,%g,%.4f,%ld", it, loss, avg_loss, get_current_rate(net), step, it * imgs * dist_size());
            ohem_stats s;
            if (ohem_l && dist_ohem_stats(ohem_l, &s) == 0)
                fprintf(log, ",%ld,%ld,%ld,%ld,%g,%g", s.kept, s.candidates, s.positives_kept,
                        s.positives, s.kept ? s.loss_kept / s.kept : 0.0,
                        s.candidates ? s.loss_all / s.candidates : 0.0);
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
        if (it % 100 == 0) {
            if (save_weights_atomic(net, backup_path) != 0) {
                status = CLI_BAD_INPUT;
                break;
            }
            if (!quiet) fprintf(stderr, "saved %s\n", backup_path);
        }
        if (it % 10000 == 0 || (it < 1000 && it % 100 == 0)) {
            snprintf(path, sizeof(path), "%s/%s_%ld.weights", d.backup, base, it);
            if (save_weights_atomic(net, path) != 0) {
                status = CLI_BAD_INPUT;
                break;
            }
            if (!quiet) fprintf(stderr, "saved %s\n", path);
        }
        if (dist_stop(stop_signal)) {
            if (save_weights_atomic(net, backup_path) == 0) {
                /* the flags of this run, so that the command continues it as started */
                char cmd[16384] = "./darknet detector train", num[32];
                const char *words[] = {pos[0], pos[1], backup_path};
                for (int w = 0; w < 3; w++) append_word(cmd, sizeof(cmd), words[w]);
                snprintf(num, sizeof(num), "%u", seed);
                append_word(cmd, sizeof(cmd), "-seed");
                append_word(cmd, sizeof(cmd), num);
                snprintf(num, sizeof(num), "%d", net->max_batches);
                append_word(cmd, sizeof(cmd), "-max_batches");
                append_word(cmd, sizeof(cmd), num);
                if (log_path) {
                    append_word(cmd, sizeof(cmd), "-log");
                    append_word(cmd, sizeof(cmd), log_path);
                }
                if (map_every) {
                    snprintf(num, sizeof(num), "%d", map_every);
                    append_word(cmd, sizeof(cmd), "-map");
                    append_word(cmd, sizeof(cmd), num);
                }
                if (quiet) append_word(cmd, sizeof(cmd), "-quiet");
                fprintf(stderr, "\ninterrupted at iteration %ld; saved %s\nresume with: %s\n", it, backup_path, cmd);
            }
            status = 128 + dist_stop(stop_signal);
            break;
        }
    }
    dist_leave();
    pthread_join(loader, NULL);
    free_data(buffer);
    if (status == 0) {
        snprintf(path, sizeof(path), "%s/%s_final.weights", d.backup, base);
        if (save_weights_atomic(net, path) != 0) status = CLI_BAD_INPUT;
        else
            fprintf(stderr, "%sdone: %ld iterations in %.1fs; saved %s\n", quiet ? "\n" : "",
                    (long)get_current_batch(net) - start_iter, cli_seconds() - t_start, path);
    }
    if (saved_stdout >= 0) {
        fflush(stdout);
        dup2(saved_stdout, 1);
        close(saved_stdout);
    }
done:
    if (log && (ferror(log) | fclose(log)) != 0 && status == 0) {
        fprintf(stderr, "error: %s: the log could not be written in full (disk full?)\n", log_path);
        status = CLI_BAD_INPUT;
    }
    if (net) free_network(net);
    if (eval) free_network(eval);
    free(mc);
    free_paths(vpaths, nvalid);
    free_paths(paths, npaths);
    free(lines);
    free(vlines);
    data_cfg_free(&d);
    return status;
}
