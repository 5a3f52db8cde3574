/* files.c: mkdir -p, and files written under a temporary name (files.h). */
#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Creates dir and its missing parents; -1 after an error naming the directory. */
int files_make_dirs(const char *dir)
{
    char path[FILES_PATH_CAP];
    struct stat st;
    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != 0) continue;
        char keep = *p;
        *p = 0;
        if (mkdir(path, 0777) != 0 && (errno != EEXIST || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) {
            fprintf(stderr, "error: %s: cannot create the directory: %s\n", path,
                    errno == EEXIST ? "a file of that name exists" : strerror(errno));
            return -1;
        }
        if (!(*p = keep)) return 0;
    }
}

/* Opens "path.tmp" for writing into tmp (capacity FILES_PATH_CAP); NULL after an error. */
FILE *files_tmp_open(const char *path, char *tmp)
{
    if (snprintf(tmp, FILES_PATH_CAP, "%s.tmp", path) >= FILES_PATH_CAP) {
        fprintf(stderr, "error: %s: the path is too long\n", path);
        return NULL;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) fprintf(stderr, "error: %s: cannot write: %s\n", tmp, strerror(errno));
    return f;
}

/* Closes f and renames tmp over path; -1 after an error naming path if any write,
 * the close or the rename failed (tmp is then removed). */
int files_tmp_commit(FILE *f, const char *tmp, const char *path)
{
    int bad = ferror(f);
    int saved = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        saved = errno;
    }
    if (bad) {
        fprintf(stderr, "error: %s: cannot write: %s\n", path, strerror(saved));
        remove(tmp);
        return -1;
    }
    return 0;
}
