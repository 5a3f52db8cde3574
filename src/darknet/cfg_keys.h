/* cfg_keys.h: the keys libdarknet's parse functions read, per built-in section, and
 * what a key they do not read means: a misspelling (the closest key as a hint), a key
 * of AlexeyAB's Darknet (an error when it changes the network or the loss, a
 * warning when it changes only augmentation or display), or a key of older cfgs that
 * this libdarknet ignores. */
#ifndef OHEM_CFG_KEYS_H
#define OHEM_CFG_KEYS_H

#include "cfg.h"

/* Checks every key of the built-in section s ([net] included; not the plugin's
 * sections, whose parsers check their own keys). Prints a warning with file, line,
 * section and key for each key libdarknet does not read that changes nothing the
 * plugin trains (augmentation, display, keys of older cfgs); returns -1 with e set
 * at the first that would change the network or training (a misspelling, an unknown
 * key, AlexeyAB's network and loss keys), else 0. */
int ohem_cfg_check_keys(const ohem_cfg *cfg, const ohem_cfg_section *s, ohem_err *e);

/* After libdarknet parsed s: warns of keys given twice (libdarknet reads the first)
 * and of keys it reads only with other settings (gamma= without policy=exp or
 * sigmoid), naming the setting. */
void ohem_cfg_warn_unread(const ohem_cfg *cfg, const ohem_cfg_section *s);

/* The keys libdarknet reads in a section of type ("[yolo]", "[conv]", "[net]"),
 * without the common keys of a layer section: a NULL-terminated list, or NULL for a
 * type that is not built in. */
const char *const *ohem_cfg_known_keys(const char *type);

/* The common keys: those libdarknet reads in every layer section. NULL-terminated. */
extern const char *const ohem_cfg_common_keys[];

/* Edit distance between a and b: insertions, deletions, substitutions and swaps of
 * neighbours each count 1. Only the first 63 characters of each are compared. */
int ohem_edit_distance(const char *a, const char *b);

#endif
