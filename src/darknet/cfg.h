/* cfg.h: a Darknet .cfg reader that remembers where every section and key stands,
 * so that errors can name file, line, section and key. */
#ifndef OHEM_CFG_H
#define OHEM_CFG_H

#include <stddef.h>
#include <stdio.h>
#include "darknet.h"

/* An error message: "FILE:LINE: [section] key=value: what is wrong (hint)". */
typedef struct {
    char msg[1024];
} ohem_err;

void ohem_err_set(ohem_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct {
    char *type;       /* "[yolo]", as written (whitespace removed) */
    list *options;    /* libdarknet's list of kvp, for its parse_* functions */
    int line;         /* line of the header */
    int nkeys;
    char **keys;      /* (nkeys) the keys in file order, pointing into options */
    int *lines;       /* (nkeys) their lines */
} ohem_cfg_section;

typedef struct {
    char *path;
    int n;
    ohem_cfg_section *sections;
    int quiet;        /* 1: no warnings (a second network from a cfg already checked) */
} ohem_cfg;

/* Reads one line of any length, without its LF (a CR before it stays); NULL at end
 * of file or when memory runs out. The caller frees it. */
char *ohem_read_line(FILE *f);

/* Opens path for reading ("r" or "rb") as what ("cfg file", "image list"): NULL with
 * e set ("PATH: cannot open the WHAT: reason", "PATH: is a directory, where the WHAT should be")
 * when it is missing, unreadable or a directory (which fopen opens and reads as
 * empty). */
FILE *ohem_open_file(const char *path, const char *mode, const char *what, ohem_err *e);

/* Bytes of the UTF-8 byte-order mark at the start of s (3), or 0. */
int ohem_utf8_bom(const char *s);

/* 1 when s starts with a UTF-16 byte-order mark (a file saved in a wide encoding,
 * which no Darknet reader takes). */
int ohem_wide_bom(const char *s);

/* Reads path. Whitespace inside a line is dropped, as Darknet drops it; blank lines
 * and lines starting with # or ; are comments; CRLF ends and a UTF-8 byte-order mark
 * are fine. A comment after a value (filters=255 # yolo) stays in the value, as in
 * libdarknet; the parser decides what it means. Errors (missing, unreadable or
 * directory, UTF-16 text, no sections, a key before the first section, a line that
 * is neither [section] nor key=value) return -1 with e set. A key given twice stays
 * twice: libdarknet reads the first. */
int ohem_cfg_read(const char *path, ohem_cfg *cfg, ohem_err *e);

/* Frees what ohem_cfg_read made, except the options lists already handed on (set
 * to NULL by the caller). ohem_cfg_free(NULL) is a no-op. */
void ohem_cfg_free(ohem_cfg *cfg);

/* Cuts a comment after each value of s (per_image=64#hard: 64), for sections whose
 * keys the plugin reads itself. */
void ohem_cfg_cut_comments(ohem_cfg_section *s);

/* Line of key's first occurrence in s, or the header's line when key is absent. */
int ohem_cfg_line(const ohem_cfg_section *s, const char *key);

/* The batch lines of a cfg's [net]: those in force and those commented out, as in
 * Darknet's cfgs, which keep "# Training" lines (# batch=64, # subdivisions=2) beside
 * the "# Testing" ones in force (batch=1). A line number is 0 where there is no such
 * line; a value is that of the line. */
typedef struct {
    int batch, batch_line, subdivisions, subdivisions_line;                 /* in force */
    int commented_batch, commented_batch_line;    /* the first commented batch= above 1 */
    int commented_subdivisions, commented_subdivisions_line;  /* the first commented subdivisions= after it */
} ohem_cfg_batch_lines;

/* Reads the batch lines of the cfg at path. Returns 0, or -1 with e set. */
int ohem_cfg_batch_lines_read(const char *path, ohem_cfg_batch_lines *b, ohem_err *e);

#endif
