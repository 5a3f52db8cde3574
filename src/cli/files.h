/* files.h: the command line's file writing: mkdir -p, and files written under a
 * temporary name and renamed into place, so that a reader never sees half a file. */
#ifndef OHEM_FILES_H
#define OHEM_FILES_H

#include <stdio.h>

/* Capacity of the path buffers these functions take. */
#define FILES_PATH_CAP 4096

/* Creates dir and its missing parents; -1 after an error naming the directory. */
int files_make_dirs(const char *dir);

/* Opens "path.tmp" for writing into tmp (capacity FILES_PATH_CAP); NULL after an
 * error naming it. */
FILE *files_tmp_open(const char *path, char *tmp);

/* Closes f and renames tmp over path; -1 after an error naming path if any write,
 * the close or the rename failed (tmp is then removed). */
int files_tmp_commit(FILE *f, const char *tmp, const char *path);

#endif
