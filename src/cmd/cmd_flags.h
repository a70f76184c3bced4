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

/*
 * Moves --NAME VALUE and --NAME=VALUE for each of names[0..n) into
 * *slots[k] (pointing into argv); every other argument, argv[0] first, is
 * copied to rest (room for argc entries; rest may be argv itself). Returns 0, or -1 after printing
 * "<prog>: flag --NAME needs a value" when a value is missing.
 */
int mtg_cmd_take_flags(const char *prog, int argc, char **argv, const char *const *names, const char ***slots,
                       size_t n, char **rest, int *n_rest);

#endif
