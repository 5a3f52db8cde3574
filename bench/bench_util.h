/* bench_util.h: what the benchmark programs share: a monotonic clock, a printf
 * that also writes the report file (report NULL: stdout only), the process's CPU
 * clock, a median, and a python3 script
 * run as a child that answers timing requests (the PyTorch and OpenCV anchors).
 * Include once, in a program's main file. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static FILE *report __attribute__((unused));

/* Prints to stdout and the report file. */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    if (report) {
        va_start(ap, fmt);
        vfprintf(report, fmt, ap);
        va_end(ap);
    }
}

/* Seconds on the monotonic clock. */
static double __attribute__((unused)) now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of the process, every thread's (load on the machine leaves it be). */
static double __attribute__((unused)) cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int __attribute__((unused)) bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorted in place: v[0] is then the smallest, v[n - 1] the
 * largest). */
static double __attribute__((unused)) median(double *v, int n)
{
    qsort(v, n, sizeof(double), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* CPU seconds of the calling thread (the time it ran, whatever else the machine runs). */
static double __attribute__((unused)) thread_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Clock of one core, from a chain of dependent fused multiply-adds (each waits for
 * the one before: 4 cycles each on Zen 3 to 5 and on Intel since Skylake), timed in
 * the thread's CPU seconds so that other load does not count. */
__attribute__((target("fma"), unused)) static double chain_ghz(void)
{
    double best = 0;
    for (int r = 0; r < 5; r++) {
        volatile float seed = 1.0f;
        float x = seed, a = 0.999999f, b = 1e-7f;
        long n = 20000000;
        double t0 = thread_cpu_now();
        for (long i = 0; i < n; i++) __asm__("vfmadd132ss %2, %1, %0" : "+x"(x) : "x"(b), "x"(a));
        double t = thread_cpu_now() - t0;
        seed = x;
        double ghz = n * 4.0 / t * 1e-9;
        if (ghz > best) best = ghz;
    }
    return best;
}

/* The "cpu MHz" of /proc/cpuinfo's first core, or 0. */
static double __attribute__((unused)) cpuinfo_ghz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "cpu MHz : %lf", &mhz) == 1) break;
    if (f) fclose(f);
    return mhz / 1000;
}

/* The machine's peak in GFLOP/s: threads x 2 FMA units x lanes x 2 x clock. */
static double __attribute__((unused)) peak_gflops(int lanes, int threads, double ghz)
{
    return threads * 2.0 * lanes * 2 * ghz;
}

/* The CPU's model name from /proc/cpuinfo into out; out is left as it is when there
 * is none. */
static void __attribute__((unused)) cpu_model(char *out, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(out, cap, "%s", strchr(line, ':') + 2);
            out[strcspn(out, "\n")] = 0;
            break;
        }
    if (f) fclose(f);
}

/* A script of bench/ run by Debian's /usr/bin/python3 as a child: requests on to,
 * replies on from. */
typedef struct {
    pid_t pid;
    FILE *to, *from;
} bench_child;

static void __attribute__((unused)) bench_child_stop(bench_child *c)
{
    fclose(c->to);
    fclose(c->from);
    waitpid(c->pid, NULL, 0);
}

/* Starts python3 on args (args[0] the script, NULL-ended, at most 14), with the
 * nenv (name, value) pairs of env set in the child only, and reads its first line
 * into ready. Returns 0, or -1 (nothing left running) when it did not start or its
 * first line is not "ready ...". */
static int __attribute__((unused))
bench_child_start(bench_child *c, const char *const args[], const char *const env[][2], int nenv, char *ready, size_t cap)
{
    int in[2], out[2];
    if (pipe(in)) return -1;
    if (pipe(out)) {
        close(in[0]), close(in[1]);
        return -1;
    }
    /* close-on-exec: a second child must not hold this one's pipes open (its stdin
     * would never end); dup2 clears it on the child's own 0 and 1 */
    for (int i = 0; i < 2; i++) fcntl(in[i], F_SETFD, FD_CLOEXEC), fcntl(out[i], F_SETFD, FD_CLOEXEC);
    c->pid = fork();
    if (c->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        for (int i = 0; i < nenv; i++) setenv(env[i][0], env[i][1], 1);
        char *argv[16] = {"python3"};
        for (int i = 0; i < 14 && args[i]; i++) argv[i + 1] = (char *)args[i];
        execv("/usr/bin/python3", argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (c->pid < 0) {
        close(in[1]), close(out[0]);
        return -1;
    }
    c->to = fdopen(in[1], "w");
    c->from = fdopen(out[0], "r");
    if (!fgets(ready, (int)cap, c->from) || strncmp(ready, "ready", 5)) {
        bench_child_stop(c);
        return -1;
    }
    return 0;
}

/* Sends request (a line) and reads the reply "WALL CPU": the wall seconds of what
 * the child timed, returned, and its CPU seconds in *cpu; -1 when it stopped. */
static double __attribute__((unused)) bench_child_ask(bench_child *c, const char *request, double *cpu)
{
    char line[128];
    double wall = -1;
    fprintf(c->to, "%s\n", request);
    fflush(c->to);
    if (!fgets(line, sizeof(line), c->from) || sscanf(line, "%lf %lf", &wall, cpu) != 2) return -1;
    return wall;
}

#endif
