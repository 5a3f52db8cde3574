/* cfg.c: the .cfg reader. */
#include "cfg.h"
#include "dn_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ohem_err_set(ohem_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

/* Removes spaces, tabs, CR and LF anywhere in s, as Darknet's strip does (plus CR). */
static void strip_spaces(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++)
        if (*r != ' ' && *r != '\t' && *r != '\r' && *r != '\n') *w++ = *r;
    *w = 0;
}

char *ohem_read_line(FILE *f)
{
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    int ch;
    while ((ch = fgetc(f)) != EOF && ch != '\n') {
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        buf[len++] = (char)ch;
    }
    if (ch == EOF && len == 0) {
        free(buf);
        return NULL;
    }
    buf[len] = 0;
    return buf;
}

FILE *ohem_open_file(const char *path, const char *mode, const char *what, ohem_err *e)
{
    FILE *f = fopen(path, mode);
    if (!f) {
        ohem_err_set(e, "%s: cannot open the %s: %s", path, what, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        ohem_err_set(e, "%s: is a directory, where the %s should be", path, what);
        return NULL;
    }
    return f;
}

int ohem_utf8_bom(const char *s)
{
    return s[0] == '\xEF' && s[1] == '\xBB' && s[2] == '\xBF' ? 3 : 0;
}

int ohem_wide_bom(const char *s)
{
    return (s[0] == '\xFF' && s[1] == '\xFE') || (s[0] == '\xFE' && s[1] == '\xFF');
}

static int section_add_key(ohem_cfg_section *s, char *line, int lineno)
{
    char **keys = realloc(s->keys, (s->nkeys + 1) * sizeof(*keys));
    if (keys) s->keys = keys;
    int *lines = realloc(s->lines, (s->nkeys + 1) * sizeof(*lines));
    if (lines) s->lines = lines;
    if (!keys || !lines) return -1;
    char *eq = strchr(line, '=');
    *eq = 0;
    option_insert(s->options, line, eq + 1);
    s->keys[s->nkeys] = line;
    s->lines[s->nkeys] = lineno;
    s->nkeys++;
    return 0;
}

int ohem_cfg_read(const char *path, ohem_cfg *cfg, ohem_err *e)
{
    memset(cfg, 0, sizeof(*cfg));
    FILE *f = ohem_open_file(path, "r", "cfg file", e);
    if (!f) return -1;
    cfg->path = strdup(path);
    char *line;
    int lineno = 0, status = 0;
    while (status == 0 && (line = ohem_read_line(f))) {
        lineno++;
        if (lineno == 1 && ohem_wide_bom(line)) {
            ohem_err_set(e, "%s:1: the file starts with a UTF-16 byte-order mark (hint: save the cfg as UTF-8 or ASCII text)", path);
            free(line);
            status = -1;
            break;
        }
        if (lineno == 1 && ohem_utf8_bom(line)) memmove(line, line + 3, strlen(line + 3) + 1);
        strip_spaces(line);
        if (line[0] == 0 || line[0] == '#' || line[0] == ';') {
            free(line);
            continue;
        }
        if (line[0] == '[') {
            size_t len = strlen(line);
            char *close = strchr(line, ']');
            if (close && close[1] == '#') {
                ohem_err_set(e, "%s:%d: '%s': a comment after a section header, which libdarknet reads as part of the name (hint: put the comment on a line of its own)",
                             path, lineno, line);
                free(line);
                status = -1;
                break;
            }
            if (len < 3 || line[len - 1] != ']') {
                ohem_err_set(e, "%s:%d: '%s' is not a section header (hint: write it as [name])",
                             path, lineno, line);
                free(line);
                status = -1;
                break;
            }
            ohem_cfg_section *ns = realloc(cfg->sections, (cfg->n + 1) * sizeof(*ns));
            if (!ns) {
                free(line);
                status = -1;
                ohem_err_set(e, "%s:%d: out of memory", path, lineno);
                break;
            }
            cfg->sections = ns;
            ohem_cfg_section *s = &cfg->sections[cfg->n++];
            memset(s, 0, sizeof(*s));
            s->type = line;
            s->options = make_list();
            s->line = lineno;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!cfg->n) {
            ohem_err_set(e, "%s:%d: '%s' comes before the first section (hint: start the file with [net])",
                         path, lineno, line);
            status = -1;
        } else if (!eq || eq == line) {
            ohem_err_set(e, "%s:%d: %s: '%s' is not key=value", path, lineno,
                         cfg->sections[cfg->n - 1].type, line);
            status = -1;
        } else {
            if (section_add_key(&cfg->sections[cfg->n - 1], line, lineno) == 0) continue;
            ohem_err_set(e, "%s:%d: out of memory", path, lineno);
            status = -1;
        }
        free(line);
    }
    if (status == 0 && ferror(f)) {
        ohem_err_set(e, "%s: read error: %s", path, strerror(errno));
        status = -1;
    }
    fclose(f);
    if (status == 0 && cfg->n == 0) {
        ohem_err_set(e, "%s:%d: the cfg file has no sections (hint: a network starts with [net])",
                     path, lineno > 0 ? lineno : 1);
        status = -1;
    }
    if (status != 0) ohem_cfg_free(cfg);
    return status;
}

void ohem_cfg_cut_comments(ohem_cfg_section *s)
{
    for (int i = 0; i < s->nkeys; i++) {
        char *hash = strchr(s->keys[i] + strlen(s->keys[i]) + 1, '#');
        if (hash) *hash = 0;
    }
}

int ohem_cfg_line(const ohem_cfg_section *s, const char *key)
{
    for (int i = 0; i < s->nkeys; i++)
        if (strcmp(s->keys[i], key) == 0) return s->lines[i];
    return s->line;
}

void ohem_cfg_free(ohem_cfg *cfg)
{
    if (!cfg) return;
    for (int i = 0; i < cfg->n; i++) {
        ohem_cfg_section *s = &cfg->sections[i];
        if (s->options) {
            dn_section *ds = malloc(sizeof(*ds));
            if (ds) {
                ds->type = s->type;
                ds->options = s->options;
                free_section(ds);
                s->type = NULL;
            }
        }
        free(s->type);
        free(s->keys);
        free(s->lines);
    }
    free(cfg->sections);
    free(cfg->path);
    memset(cfg, 0, sizeof(*cfg));
}

/* The integer after "key=" at the start of s (spaces already removed), or -1. */
static int int_after(const char *s, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(s, key, n) || s[n] != '=') return -1;
    char *end;
    long v = strtol(s + n + 1, &end, 10);
    return end == s + n + 1 || v < 0 || v > 1000000 ? -1 : (int)v;
}

int ohem_cfg_batch_lines_read(const char *path, ohem_cfg_batch_lines *b, ohem_err *e)
{
    memset(b, 0, sizeof(*b));
    FILE *f = ohem_open_file(path, "r", "cfg file", e);
    if (!f) return -1;
    char *line;
    int lineno = 0, sections = 0;
    while (sections < 2 && (line = ohem_read_line(f))) {
        lineno++;
        strip_spaces(line);
        int v;
        if (line[0] == '[') sections++;
        else if (sections == 1 && (line[0] == '#' || line[0] == ';')) {
            const char *c = line + strspn(line, "#;");
            if (!b->commented_batch_line && (v = int_after(c, "batch")) > 1) {
                b->commented_batch = v;
                b->commented_batch_line = lineno;
            } else if (b->commented_batch_line && !b->commented_subdivisions_line && (v = int_after(c, "subdivisions")) >= 1) {
                b->commented_subdivisions = v;
                b->commented_subdivisions_line = lineno;
            }
        } else if (sections == 1) {
            /* libdarknet reads the first of a key given twice */
            if (!b->batch_line && (v = int_after(line, "batch")) >= 0) {
                b->batch = v;
                b->batch_line = lineno;
            } else if (!b->subdivisions_line && (v = int_after(line, "subdivisions")) >= 0) {
                b->subdivisions = v;
                b->subdivisions_line = lineno;
            }
        }
        free(line);
    }
    fclose(f);
    return 0;
}
