/* fuzz_labels.c: libFuzzer target for the label reader (class x y w h per line):
 * any input ends in rows or errors naming file and line; no crash, no leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) mkdir("tests/tmp", 0777);
    if (!path[0]) snprintf(path, sizeof(path), "tests/tmp/fuzz_labels_input_%d.txt", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) { /* a target that cannot write its input would test nothing */
        perror(path);
        abort();
    }
    fwrite(data, 1, size, f);
    fclose(f);
    float *rows;
    int n;
    int saved = dup(2);
    freopen("/dev/null", "w", stderr);
    read_labels(path, 5, &rows, &n);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    for (int i = 0; i < n; i++)
        if (rows[5 * i] < 0 || rows[5 * i] >= 5 || !(rows[5 * i + 1] > 0 && rows[5 * i + 1] <= 1)) abort();
    free(rows);
    return 0;
}
