/* net_augment.c: [net] mosaic=, mosaic_bound=, letter_box= (net_augment.h). */
#include "net_augment.h"
#include "dn_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const layer *layers; /* the network's layers: the key */
    net_augment a;
} entry;

static entry *entries;
static int nentries, capentries;

static const char *const keys[] = {"mosaic", "mosaic_bound", "letter_box"};

int ohem_parse_net_augment(const ohem_cfg *cfg, const ohem_cfg_section *s, net_augment *a, ohem_err *e)
{
    int *field[] = {&a->mosaic, &a->mosaic_bound, &a->letter_box};
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < s->nkeys; i++)
        for (int k = 0; k < 3; k++) {
            if (strcmp(s->keys[i], keys[k])) continue;
            const char *v = s->keys[i] + strlen(keys[k]) + 1;
            char *end;
            errno = 0;
            long x = strtol(v, &end, 10);
            if (end == v || errno || (*end && *end != '#') || (x != 0 && x != 1)) {
                ohem_err_set(e, "%s:%d: [net] %s=%s: expected 0 or 1", cfg->path, s->lines[i], keys[k], v);
                return -1;
            }
            /* libdarknet reads the first of a key given twice: so do we */
            if (ohem_cfg_line(s, keys[k]) == s->lines[i]) *field[k] = (int)x;
        }
    return 0;
}

static entry *find(const layer *layers)
{
    for (int i = 0; i < nentries; i++)
        if (entries[i].layers == layers) return &entries[i];
    return NULL;
}

int ohem_net_augment_set(const network *net, const net_augment *a)
{
    entry *en = find(net->layers);
    if (!en) {
        if (nentries == capentries) {
            int cap = capentries ? 2 * capentries : 4;
            entry *p = realloc(entries, cap * sizeof(*p));
            if (!p) return -1;
            entries = p, capentries = cap;
        }
        en = &entries[nentries++];
        en->layers = net->layers;
    }
    en->a = *a;
    return 0;
}

net_augment ohem_net_augment(const network *net)
{
    const entry *en = find(net->layers);
    return en ? en->a : (net_augment){0, 0, 0};
}

void ohem_net_augment_release(const network *net)
{
    entry *en = find(net->layers);
    if (en) *en = entries[--nentries];
    if (!nentries) {
        free(entries);
        entries = NULL;
        capentries = 0;
    }
}
