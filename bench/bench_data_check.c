/* bench_data_check.c: the data check that runs before `detector train` (and map,
 * valid) on a list of tiny images: the list read once (read_list_lines), then its
 * images and label files checked (check_dataset) with one pool thread and with
 * all of them. The set is generated into DIR (default bench/tmp-data-check) from
 * a seed, and kept for the next run with the same size and seed; the timings are
 * with the files in the page cache. The CPU time beside the wall time is the
 * figure that other work on the machine does not move.
 *
 *   bench/bench_data_check [-n 100000] [-seed 1] [-dir DIR] [-a REPORT]
 *
 * Prints a table row per thread count; -a appends it to REPORT too. Exit status 1
 * when a step fails or the check finds a problem in the generated set. */
#include "cli.h"
#include "pool.h"
#include "bench_util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int stbi_write_png(char const *filename, int w, int h, int comp, const void *data, int stride_in_bytes);

static uint64_t rng_state;
static uint32_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Writes n tiny PNGs (4x4 to 8x8, seeded pixels), their label files (1 to 3
 * boxes) and the list into dir; skipped when dir/stamp says it holds this n and
 * seed already. Returns 0, or -1 after printing an error. */
static int generate(const char *dir, int n, unsigned seed, char *list, size_t cap)
{
    char path[4096], stamp[4096], want[64];
    snprintf(list, cap, "%s/list.txt", dir);
    snprintf(stamp, sizeof(stamp), "%s/stamp", dir);
    snprintf(want, sizeof(want), "n=%d seed=%u\n", n, seed);
    FILE *f = fopen(stamp, "r");
    if (f) {
        char have[64] = "";
        int same = fgets(have, sizeof(have), f) && !strcmp(have, want);
        fclose(f);
        if (same) return 0;
    }
    snprintf(path, sizeof(path), "%s/images", dir);
    mkdir(dir, 0777);
    mkdir(path, 0777);
    snprintf(path, sizeof(path), "%s/labels", dir);
    mkdir(path, 0777);
    FILE *l = fopen(list, "w");
    if (!l) {
        fprintf(stderr, "bench_data_check: %s: cannot write: %s\n", list, strerror(errno));
        return -1;
    }
    rng_state = seed;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        int w = 4 + rng_next() % 5, h = 4 + rng_next() % 5;
        unsigned char px[8 * 8 * 3];
        for (int k = 0; k < w * h * 3; k++) px[k] = (unsigned char)rng_next();
        snprintf(path, sizeof(path), "%s/images/%06d.png", dir, i);
        if (!stbi_write_png(path, w, h, 3, px, w * 3)) {
            fprintf(stderr, "bench_data_check: %s: cannot write\n", path);
            fclose(l);
            return -1;
        }
        fprintf(l, "%s\n", path);
        snprintf(path, sizeof(path), "%s/labels/%06d.txt", dir, i);
        FILE *t = fopen(path, "w");
        if (!t) {
            fprintf(stderr, "bench_data_check: %s: cannot write: %s\n", path, strerror(errno));
            fclose(l);
            return -1;
        }
        for (int b = 1 + rng_next() % 3; b > 0; b--)
            fprintf(t, "%u 0.%03u 0.%03u 0.%03u 0.%03u\n", rng_next() % 10, 100 + rng_next() % 800, 100 + rng_next() % 800,
                    10 + rng_next() % 190, 10 + rng_next() % 190);
        if (fclose(t) != 0) {
            fprintf(stderr, "bench_data_check: %s: cannot write\n", path);
            fclose(l);
            return -1;
        }
    }
    if (fclose(l) != 0 || !(f = fopen(stamp, "w")) || fputs(want, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench_data_check: %s: cannot write\n", dir);
        return -1;
    }
    fprintf(stderr, "bench_data_check: wrote %d images and labels into %s in %.1f s\n", n, dir, now() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    int n = 100000;
    unsigned seed = 1;
    const char *dir = "bench/tmp-data-check", *file = NULL;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "-n") && i + 1 < argc) n = (int)strtol(argv[++i], &end, 10);
        else if (!strcmp(argv[i], "-seed") && i + 1 < argc) seed = (unsigned)strtoul(argv[++i], &end, 10);
        else if (!strcmp(argv[i], "-dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "-a") && i + 1 < argc) file = argv[++i];
        else end = argv[i];
        if (end && (*end || n < 1)) {
            fprintf(stderr, "usage: bench/bench_data_check [-n 100000] [-seed 1] [-dir DIR] [-a REPORT]\n");
            return 2;
        }
    }
    if (file && !(report = fopen(file, "a"))) {
        fprintf(stderr, "bench_data_check: cannot append to %s\n", file);
        return 1;
    }
    char list[4200], cpu[256] = "?";
    if (generate(dir, n, seed, list, sizeof(list)) != 0) return 1;
    cpu_model(cpu, sizeof(cpu));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    out("\n## The data check before training (%s, %ld cores)\n\n", cpu, cores);
    out("| list | threads | read the list | check images and labels | images/s | CPU time of the check |\n|---|---|---|---|---|---|\n");
    int status = 0, threads[2] = {1, (int)cores};
    for (int r = 0; r < (cores > 1 ? 2 : 1); r++) {
        char **paths;
        int *lines;
        double t0 = now();
        int got = read_list_lines(list, NULL, &paths, &lines);
        double t1 = now();
        if (got != n) {
            fprintf(stderr, "bench_data_check: %s: %d entries, expected %d\n", list, got, n);
            return 1;
        }
        ohem_pool_set_threads(threads[r]);
        double c1 = cpu_now();
        int bad = check_dataset(list, paths, lines, n, 10, 1);
        double t2 = now(), c2 = cpu_now();
        if (bad) status = 1;
        out("| %d tiny PNGs (seed %u) | %d | %.3f s | %.2f s | %.0f | %.2f s |\n", n, seed, threads[r], t1 - t0, t2 - t1,
            n / (t2 - t1), c2 - c1);
        free_paths(paths, got);
        free(lines);
    }
    if (report && fclose(report) != 0) status = 1;
    return status;
}
