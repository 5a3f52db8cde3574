/* plan.c: the convolution planner (plan.h): the choice from costs, the cache
 * file, the timing of a layer's candidates and the table the kernels read. */
#define _GNU_SOURCE
#include "plan.h"
#include "coretype.h"
#include "gemm.h"
#include "kernels.h"
#include "pool.h"
#include "sgemm.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *openblas_get_corename(void);

static const char *const path_names[OHEM_PATHS] = {"ours", "ours-images", "winograd", "openblas"};

int ohem_plan_choose(const double *cost)
{
    int best = OHEM_PATH_RULES;
    for (int p = 0; p < OHEM_PATHS; p++) {
        if (!(cost[p] >= 0)) continue;
        if (best == OHEM_PATH_RULES || cost[p] < cost[best] * (1 - OHEM_PLAN_MARGIN)) best = p;
    }
    return best;
}

const char *ohem_plan_path_name(int path)
{
    return path >= 0 && path < OHEM_PATHS ? path_names[path] : "rules";
}

int ohem_plan_path_of_name(const char *name)
{
    for (int p = 0; p < OHEM_PATHS; p++)
        if (!strcmp(name, path_names[p])) return p;
    return !strcmp(name, "rules") ? OHEM_PATH_RULES : -2;
}

/* ---- the cache file ---------------------------------------------------------
 *
 * Text, one plan a line, seven fields separated by tabs: CPU model, ISA (512, 256
 * or 0), OpenBLAS's core, threads, the shape (batch c h w filters size stride pad
 * groups train, separated by spaces), the path, and the costs in seconds of the
 * four paths (separated by spaces, -1 for none). Lines starting with # are
 * comments. */

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

/* Splits s at sep into at most max fields (s is changed); returns the count. */
static int split(char *s, char sep, char **f, int max)
{
    int n = 0;
    while (n < max) {
        f[n++] = s;
        char *c = strchr(s, sep);
        if (!c) return n;
        *c = 0;
        s = c + 1;
    }
    return n + 1; /* more than max */
}

/* One data line into e; NULL, or what is wrong. */
static const char *parse_line(char *line, ohem_plan_entry *e)
{
    char *f[8], *k[11], *c[5];
    if (split(line, '\t', f, 7) != 7) return "expected 7 fields separated by tabs";
    memset(e, 0, sizeof(*e));
    if (!f[0][0] || strlen(f[0]) >= sizeof(e->cpu)) return "bad CPU model";
    strcpy(e->cpu, f[0]);
    if (parse_int(f[1], 0, 512, &e->isa) || (e->isa != 0 && e->isa != 256 && e->isa != 512)) return "bad ISA";
    if (!f[2][0] || strlen(f[2]) >= sizeof(e->core)) return "bad OpenBLAS core";
    strcpy(e->core, f[2]);
    if (parse_int(f[3], 1, 1024, &e->threads)) return "bad threads";
    if (split(f[4], ' ', k, 10) != 10) return "expected 10 numbers in the shape";
    int *v[10] = {&e->key.batch, &e->key.c, &e->key.h, &e->key.w, &e->key.n, &e->key.size, &e->key.stride,
                  &e->key.pad, &e->key.groups, &e->key.train};
    for (int i = 0; i < 10; i++)
        if (parse_int(k[i], i == 7 ? 0 : i == 9 ? 0 : 1, i == 9 ? 1 : 1 << 24, v[i])) return "bad number in the shape";
    if ((e->path = ohem_plan_path_of_name(f[5])) == -2) return "unknown path";
    if (split(f[6], ' ', c, OHEM_PATHS) != OHEM_PATHS) return "expected 4 costs";
    for (int i = 0; i < OHEM_PATHS; i++) {
        char *end;
        e->cost[i] = strtod(c[i], &end);
        if (end == c[i] || *end || !(e->cost[i] == -1 || (e->cost[i] >= 0 && e->cost[i] < 1e6))) return "bad cost";
    }
    return NULL;
}

int ohem_plan_cache_read(const char *file, ohem_plan_entry **out, int *n, char *why, size_t cap)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen(file, "r");
    if (!f) return 0;
    ohem_plan_entry *e = NULL;
    int cnt = 0, room = 0, lineno = 0;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\n') line[--len] = 0;
        else if (!feof(f)) {
            snprintf(why, cap, "%s:%d: line too long", file, lineno);
            goto bad;
        }
        if (line[0] == '#') continue;
        if (cnt == room) {
            room = room ? 2 * room : 64;
            ohem_plan_entry *ne = realloc(e, sizeof(*e) * room);
            if (!ne) {
                snprintf(why, cap, "%s: out of memory", file);
                goto bad;
            }
            e = ne;
        }
        const char *what = parse_line(line, &e[cnt]);
        if (what) {
            snprintf(why, cap, "%s:%d: %s", file, lineno, what);
            goto bad;
        }
        cnt++;
    }
    fclose(f);
    *out = e;
    *n = cnt;
    return 0;
bad:
    fclose(f);
    free(e);
    return -1;
}

/* Makes dir's parent and dir (the cache's folder, ~/.cache/ohem); existing is fine. */
static void make_dirs(const char *file)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", file);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return;
    *slash = 0;
    char *up = strrchr(dir, '/');
    if (up && up != dir) {
        *up = 0;
        mkdir(dir, 0777);
        *up = '/';
    }
    mkdir(dir, 0777);
}

int ohem_plan_cache_write(const char *file, const ohem_plan_entry *e, int n)
{
    char tmp[4200];
    make_dirs(file);
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", file, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "# ohem convolution plans: cpu, isa, openblas core, threads, shape (batch c h w filters size stride pad groups train), path, seconds of ours ours-images winograd openblas\n");
    for (int i = 0; i < n; i++) {
        const ohem_plan_key *k = &e[i].key;
        fprintf(f, "%s\t%d\t%s\t%d\t%d %d %d %d %d %d %d %d %d %d\t%s\t", e[i].cpu, e[i].isa, e[i].core, e[i].threads,
                k->batch, k->c, k->h, k->w, k->n, k->size, k->stride, k->pad, k->groups, k->train,
                ohem_plan_path_name(e[i].path));
        for (int p = 0; p < OHEM_PATHS; p++) fprintf(f, "%s%.6g", p ? " " : "", e[i].cost[p] < 0 ? -1 : e[i].cost[p]);
        fputc('\n', f);
    }
    if (fclose(f) != 0 || rename(tmp, file) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- the table ------------------------------------------------------------ */

static int mode = OHEM_PLAN_AUTO;
static char cache_file[4096];
static int loaded;             /* the cache file was read (or is not to be) */
static ohem_plan_entry *table; /* the cache's plans (every machine's), then this process's */
static int ntable, room;
static char *mine;             /* per entry: 1 once this process planned or ran it (the path is then kept) */
static double spent;           /* seconds of measuring so far */
static double cap_seconds = OHEM_PLAN_CAP;
static int forcing = OHEM_PATH_RULES, timing; /* a path forced while a candidate is timed */
static int forced_path = OHEM_PATH_RULES;      /* ohem_plan_force's */
static int current = OHEM_PATH_RULES;
static double busy_limit = OHEM_PLAN_BUSY;

/* The machine's load while this network's planning measured: the CPU seconds of
 * every process (/proc/stat, steal included) and of this one, at the window's start
 * and summed over the measurements. */
typedef struct {
    double machine, own;
} cpu_mark;
static double window_others, window_wall; /* other processes' CPU seconds, and the wall seconds, measured */

void ohem_plan_set(int m, const char *file)
{
    mode = m;
    if (file) snprintf(cache_file, sizeof(cache_file), "%s", file);
    else if (getenv("XDG_CACHE_HOME") && getenv("XDG_CACHE_HOME")[0] == '/')
        snprintf(cache_file, sizeof(cache_file), "%s/ohem/plan.tsv", getenv("XDG_CACHE_HOME"));
    else if (getenv("HOME") && getenv("HOME")[0] == '/')
        snprintf(cache_file, sizeof(cache_file), "%s/.cache/ohem/plan.tsv", getenv("HOME"));
    else cache_file[0] = 0;
    free(table);
    free(mine);
    table = NULL;
    mine = NULL;
    ntable = room = loaded = 0;
    spent = window_others = window_wall = 0;
}

const char *ohem_plan_cache_file(void)
{
    return cache_file;
}

static int suspended;

void ohem_plan_suspend(int on)
{
    suspended = on;
}

int ohem_plan_active(void)
{
    return mode != OHEM_PLAN_OFF && !suspended && !ohem_gemm_forced() && ohem_kernels_planned();
}

int ohem_plan_winograd_shape(const layer *l)
{
    return l->size == 3 && l->stride == 1 && l->pad == 1 && l->groups == 1 && !l->xnor && !l->binary &&
           l->out_h == l->h && l->out_w == l->w;
}

/* What identifies this machine's plans: CPU model, our kernels, OpenBLAS's core,
 * threads. */
static void machine(ohem_plan_entry *e)
{
    static char cpu[96];
    if (!cpu[0]) ohem_cpu_model(cpu, sizeof(cpu));
    snprintf(e->cpu, sizeof(e->cpu), "%s", cpu);
    for (char *c = e->cpu; *c; c++)
        if (*c == '\t') *c = ' ';
    e->isa = ohem_gemm_can_ours() ? ohem_sgemm_kernels() : 0;
    snprintf(e->core, sizeof(e->core), "%s", openblas_get_corename());
    e->threads = ohem_pool_threads();
}

static ohem_plan_key key_of(const layer *l, int train)
{
    return (ohem_plan_key){l->batch, l->c, l->h, l->w, l->n, l->size, l->stride, l->pad, l->groups, train != 0};
}

static int same_machine(const ohem_plan_entry *a, const ohem_plan_entry *b)
{
    return !strcmp(a->cpu, b->cpu) && a->isa == b->isa && !strcmp(a->core, b->core) && a->threads == b->threads;
}

static void load_cache(void)
{
    loaded = 1;
    if (mode == OHEM_PLAN_OFF || !cache_file[0]) return;
    char why[4300];
    ohem_plan_entry *e;
    int n;
    if (ohem_plan_cache_read(cache_file, &e, &n, why, sizeof(why)) != 0) {
        fprintf(stderr, "ohem: warning: the plan cache is not readable, so it is ignored and rewritten: %s\n", why);
        return;
    }
    table = e;
    ntable = room = n;
    mine = calloc(n ? n : 1, 1);
}

/* The entry of key on the machine of me, or -1. */
static int find_any(const ohem_plan_key *key, const ohem_plan_entry *me)
{
    if (!loaded) load_cache();
    for (int i = 0; i < ntable; i++)
        if (!memcmp(&table[i].key, key, sizeof(*key)) && same_machine(&table[i], me)) return i;
    return -1;
}

/* The plan to use for key on this machine, or -1: under measure, only one this
 * process made. */
static int find(const ohem_plan_key *key)
{
    ohem_plan_entry me;
    machine(&me);
    int i = find_any(key, &me);
    return i >= 0 && (mode != OHEM_PLAN_MEASURE || mine[i]) ? i : -1;
}

/* Adds e, or puts it in place of the cache's plan of the same shape and machine. */
static int add(const ohem_plan_entry *e)
{
    int i = find_any(&e->key, e);
    if (i >= 0) {
        table[i] = *e;
        mine[i] = 1;
        return i;
    }
    if (ntable == room) {
        room = room ? 2 * room : 64;
        ohem_plan_entry *t = realloc(table, sizeof(*table) * room);
        char *f = realloc(mine, room);
        if (!t || !f) {
            fprintf(stderr, "ohem: out of memory (the convolution plans)\n");
            exit(1);
        }
        table = t;
        mine = f;
    }
    table[ntable] = *e;
    mine[ntable] = 1;
    return ntable++;
}

/* Writes every plan to the cache (those left to the rules by the time cap too, so
 * that the next run takes the same paths); an unwritable cache is no error. */
static void save_cache(void)
{
    if (cache_file[0]) ohem_plan_cache_write(cache_file, table, ntable);
}

/* ---- timing ------------------------------------------------------------- */

/* CPU seconds of the whole machine (every CPU's time neither idle nor waiting for
 * I/O; steal counts: another machine's guest took it) and of this process; the
 * machine's is -1 where /proc/stat cannot be read. */
static cpu_mark cpu_now_mark(void)
{
    cpu_mark m = {-1, 0};
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    m.own = ts.tv_sec + ts.tv_nsec * 1e-9;
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                    &v[6], &v[7]) == 8) {
        long hz = sysconf(_SC_CLK_TCK);
        m.machine = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (hz > 0 ? hz : 100);
    }
    if (f) fclose(f);
    return m;
}

/* 1 when the measurements of this network's planning so far ran beside other
 * processes using more than busy_limit cores. */
static int window_busy(void)
{
    return busy_limit >= 0 && window_others >= OHEM_PLAN_BUSY_MIN && window_others > busy_limit * window_wall;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Scratch floats, filled with values in [-1, 1) from a fixed xorshift (not rand():
 * planning must leave the program's random stream as it was). */
static float *scratch(long n, uint64_t *s)
{
    float *p = malloc(sizeof(float) * (n > 0 ? n : 1));
    if (!p) {
        fprintf(stderr, "ohem: out of memory (planning a convolution)\n");
        exit(1);
    }
    for (long i = 0; i < n; i++) {
        *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
        p[i] = (float)((*s >> 40) * (2.0 / 16777216.0) - 1);
    }
    return p;
}

/* One forward (and backward) of s on path p, in seconds, the forward's in *fwd;
 * stops after the forward when that passes stop_fwd seconds. */
static double time_path(layer s, network sn, int p, int train, double stop_fwd, double *fwd)
{
    forcing = p;
    timing = 1;
    double t0 = seconds();
    forward_convolutional_layer(s, sn);
    double t = *fwd = seconds() - t0;
    if (train && t < stop_fwd) {
        t0 = seconds();
        backward_convolutional_layer(s, sn);
        t += seconds() - t0;
    }
    timing = 0;
    forcing = OHEM_PATH_RULES;
    return t;
}

/* Which paths l's shape can take. */
static void candidates(const layer *l, int *can)
{
    int ours = ohem_gemm_can_ours();
    can[OHEM_PATH_OURS] = ours;
    /* image by image differs from one split only where the batch is split as one */
    can[OHEM_PATH_OURS_IMAGES] = ours && l->size != 1 && l->groups == 1 && l->batch > 1;
    can[OHEM_PATH_WINOGRAD] = ours && ohem_plan_winograd_shape(l);
    can[OHEM_PATH_OPENBLAS] = 1;
}

/* Times l's candidates on scratch buffers (its weights read in place, nothing of
 * it written) into e->cost and chooses. Each candidate runs once, its backward
 * skipped when its forward took PRUNE times the best forward (its cost then the
 * forward scaled by the best's total over its forward: never the cheapest); then
 * each within AGAIN of the best runs once more, its cost the faster run. The
 * scratch is touched before (page faults are not a path's cost). */
#define PRUNE 1.5
#define AGAIN 1.3
static void measure(const layer *l, network net, int train, ohem_plan_entry *e)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    long out = (long)l->outputs * l->batch, in = (long)l->inputs * l->batch;
    layer s = *l;
    float *bufs[16];
    int nb = 0;
#define SCRATCH(field, n) (bufs[nb++] = s.field = scratch(n, &seed))
    SCRATCH(output, out);
    SCRATCH(delta, out);
    if (l->batch_normalize) {
        SCRATCH(x, out);
        SCRATCH(x_norm, out);
        SCRATCH(mean, l->n);
        SCRATCH(variance, l->n);
        SCRATCH(rolling_mean, l->n);
        SCRATCH(rolling_variance, l->n);
        SCRATCH(mean_delta, l->n);
        SCRATCH(variance_delta, l->n);
        SCRATCH(scale_updates, l->n);
        for (int i = 0; i < l->n; i++) s.rolling_variance[i] = 1 + s.rolling_variance[i] * s.rolling_variance[i];
    }
    SCRATCH(bias_updates, l->n);
    SCRATCH(weight_updates, l->nweights);
    if (l->h_cpu) SCRATCH(h_cpu, out);
    network sn = net;
    sn.train = train;
    bufs[nb++] = sn.input = scratch(in, &seed);
    bufs[nb++] = sn.delta = scratch(in, &seed);
#undef SCRATCH
    int can[OHEM_PATHS];
    candidates(l, can);
    double best = -1, best_fwd = -1, fwd, fwd2;
    for (int p = 0; p < OHEM_PATHS; p++) {
        e->cost[p] = -1;
        if (!can[p]) continue;
        double stop = best < 0 ? 1e30 : PRUNE * best_fwd;
        double t = time_path(s, sn, p, train, stop, &fwd);
        if (train && fwd >= stop) t = fwd * best / best_fwd;
        e->cost[p] = t;
        if (best < 0 || t < best) best = t, best_fwd = fwd > 0 ? fwd : 1e-9;
    }
    double first_best = best;
    for (int p = 0; p < OHEM_PATHS; p++)
        if (e->cost[p] >= 0 && e->cost[p] < AGAIN * first_best) {
            double t2 = time_path(s, sn, p, train, 1e30, &fwd2);
            if (t2 < e->cost[p]) e->cost[p] = t2;
        }
    e->path = ohem_plan_choose(e->cost);
    for (int i = 0; i < nb; i++) free(bufs[i]);
}

/* The entry of l's shape: the one found, or a new one, measured while the time cap
 * allows (else the rules). *how: 0 found in the cache, 1 measured, 2 rules, 3
 * planned before in this process, 4 measured on a busy machine (the rules). */
static int plan_layer(const layer *l, network net, int train, int *how)
{
    ohem_plan_key key = key_of(l, train);
    int i = find(&key);
    if (i >= 0) {
        *how = mine[i] ? 3 : 0;
        mine[i] = 1;
        return i;
    }
    ohem_plan_entry e;
    memset(&e, 0, sizeof(e));
    machine(&e);
    e.key = key;
    for (int p = 0; p < OHEM_PATHS; p++) e.cost[p] = -1;
    e.path = OHEM_PATH_RULES;
    *how = 2;
    if (spent < cap_seconds) {
        int engine = ohem_gemm_engine(ohem_gemm_default_ours());
        double t0 = seconds();
        cpu_mark a = cpu_now_mark();
        measure(l, net, train, &e);
        cpu_mark b = cpu_now_mark();
        double wall = seconds() - t0;
        spent += wall;
        if (a.machine >= 0 && b.machine >= 0) {
            double others = (b.machine - a.machine) - (b.own - a.own);
            window_others += others > 0 ? others : 0;
            window_wall += wall;
        }
        ohem_gemm_engine(engine);
        *how = 1;
        if (window_busy()) { /* the costs stay as measured, for -v and the cache */
            e.path = OHEM_PATH_RULES;
            *how = 4;
        }
    }
    return add(&e);
}

/* 1 for a layer our kernels plan: a convolution they run (not binary, XNOR, or an
 * activation they pass to libdarknet's). */
static int plannable(const layer *l)
{
    int a = l->activation;
    return l->type == CONVOLUTIONAL && !l->xnor && !l->binary &&
           (a == LEAKY || a == RELU || a == LOGISTIC || a == LINEAR || ohem_act_is_ours(a));
}

int ohem_plan_enter(const layer *l, network net)
{
    int token = (current + 2) * 2 + ohem_gemm_engine(ohem_gemm_default_ours());
    if (timing) current = forcing;
    else if (forced_path != OHEM_PATH_RULES && plannable(l)) current = forced_path;
    else if (!ohem_plan_active() || !plannable(l)) current = OHEM_PATH_RULES;
    else {
        int how;
        int i = plan_layer(l, net, net.train, &how);
        if (how != 0 && how != 3) save_cache(); /* measured, or left to the rules: the next run takes the same */
        current = table[i].path;
    }
    if (current != OHEM_PATH_RULES) ohem_gemm_engine(current != OHEM_PATH_OPENBLAS);
    return token;
}

void ohem_plan_leave(int token)
{
    ohem_gemm_engine(token & 1);
    current = token / 2 - 2;
}

int ohem_plan_layer_path(const layer *l, int train)
{
    if (!ohem_plan_active() || !plannable(l)) return OHEM_PATH_RULES;
    ohem_plan_key key = key_of(l, train);
    int i = find(&key);
    return i >= 0 ? table[i].path : OHEM_PATH_RULES;
}

void ohem_plan_cap(double seconds)
{
    cap_seconds = seconds;
}

void ohem_plan_busy_limit(double cores)
{
    busy_limit = cores;
}

void ohem_plan_force(int path)
{
    forced_path = path;
}

int ohem_plan_current(void)
{
    return current;
}

/* ---- a network's plan ------------------------------------------------------ */

void ohem_plan_network(network *net, int train, FILE *out, ohem_plan_summary *sum)
{
    ohem_plan_summary s;
    memset(&s, 0, sizeof(s));
    spent = window_others = window_wall = 0; /* each network's planning has the cap and the load to itself */
    int any_new = 0;
    for (int i = 0; i < net->n; i++) {
        const layer *l = &net->layers[i];
        if (!plannable(l)) continue;
        s.layers++;
        int path = OHEM_PATH_RULES, how = 2, idx = -1;
        if (ohem_plan_active()) {
            idx = plan_layer(l, *net, train, &how);
            path = table[idx].path;
        }
        if (how == 0) s.cached++;
        if (how == 1 || how == 4) s.measured++;
        if (how == 4) s.busy++;
        if (idx >= 0 && (how == 1 || how == 2 || how == 4)) any_new = 1;
        if (path == OHEM_PATH_RULES) s.rules++;
        else s.count[path]++;
        if (!out) continue;
        fprintf(out, "plan: layer %3d conv %4d %dx%d/%d %4d x%4d x%4d:", i, l->n, l->size, l->size, l->stride, l->w, l->h,
                l->c);
        for (int p = 0; idx >= 0 && p < OHEM_PATHS; p++)
            if (table[idx].cost[p] >= 0) fprintf(out, " %s %.2f ms,", path_names[p], table[idx].cost[p] * 1e3);
        fprintf(out, " -> %s (%s)\n", ohem_plan_path_name(path),
                how == 0 ? "from the cache" : how == 1 ? "measured" : how == 3 ? "as planned before"
                : how == 4 ? "measured on a busy machine" : ohem_plan_active() ? "time cap reached" : "planning off");
    }
    s.seconds = spent;
    s.others = window_wall > 0 ? window_others / window_wall : 0;
    if (any_new) save_cache();
    if (sum) *sum = s;
}

void ohem_plan_print_summary(FILE *out, const ohem_plan_summary *s)
{
    if (!ohem_plan_active()) {
        fprintf(out, "plan: off (OHEM_PLAN=off, or OHEM_GEMM, OHEM_CONV or OHEM_KERNELS set): the fixed rules\n");
        return;
    }
    fprintf(out, "plan: %d convolutional layers:", s->layers);
    for (int p = 0; p < OHEM_PATHS; p++)
        if (s->count[p]) fprintf(out, " %s %d,", path_names[p], s->count[p]);
    if (s->rules > s->busy) fprintf(out, " the fixed rules %d (time cap),", s->rules - s->busy);
    if (s->busy)
        fprintf(out, " the fixed rules %d (measured while other processes used %.1f cores; OHEM_PLAN=measure on a quiet machine plans them),",
                s->busy, s->others);
    fprintf(out, " %d shapes measured in %.2f s, %d from the cache %s\n", s->measured, s->seconds, s->cached,
            cache_file[0] ? cache_file : "(none)");
}
