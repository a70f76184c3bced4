/*
 * cmd_flags.h - a subcommand's own flags, taken out of argv before the
 * rest goes to the config parser (mtg_cfg_cli), which refuses flags it
 * does not know.
 *
 *     static const char *const names[] = {"model", "out"};
 *     const char **slots[] = {&model, &out};           // set when the flag is given
 *     char *rest[64]; int n_rest;
 *     if (mtg_cmd_take_flags("mtgan sample", argc, argv, names, slots, 2, rest, &n_rest) != 0)
 *         return 2;
 */
#ifndef MTG_CMD_FLAGS_H
#define MTG_CMD_FLAGS_H
#include <stddef.h>
#include <stdio.h>

#include "config/config.h"

/*
 * Moves --NAME VALUE and --NAME=VALUE for each of names[0..n) into
 * *slots[k] (pointing into argv); every other argument, argv[0] first, is
 * copied to rest (room for argc entries; rest may be argv itself). Returns 0, or -1 after printing
 * "<prog>: flag --NAME needs a value" when a value is missing.
 */
int mtg_cmd_take_flags(const char *prog, int argc, char **argv, const char *const *names, const char ***slots,
                       size_t n, char **rest, int *n_rest);

/*
 * mtg_cfg_resolve of cfg (holding defaults) from the rest of argv, for a
 * subcommand with its own usage text: --help prints usage then the config
 * help to stdout; an error or a positional argument prints "<prog>: why"
 * and usage to stderr. Sets the log level. Returns -1 to carry on, else the
 * exit code (0 after --help, 2 on an error).
 */
int mtg_cmd_config(const char *prog, enum mtg_cfg_binary bin, struct mtg_cfg *cfg, int argc, char **argv,
                   void (*usage)(FILE *));

#endif
