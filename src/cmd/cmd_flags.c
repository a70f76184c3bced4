/* cmd_flags.c - see cmd_flags.h. */
#include "cmd/cmd_flags.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/status.h"

/* 1 when a is --name or --name=..., with *value set for the = form. */
static int match(const char *a, const char *name, const char **value)
{
    size_t l = strlen(name);
    if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, l) != 0)
        return 0;
    if (a[2 + l] == '=') {
        *value = a + 3 + l;
        return 1;
    }
    *value = NULL;
    return a[2 + l] == '\0';
}

int mtg_cmd_take_flags(const char *prog, int argc, char **argv, const char *const *names, const char ***slots,
                       size_t n, char **rest, int *n_rest)
{
    *n_rest = 0;
    rest[(*n_rest)++] = argv[0];
    for (int i = 1; i < argc; i++) {
        size_t k = 0;
        const char *value = NULL;
        while (k < n && !match(argv[i], names[k], &value))
            k++;
        if (k == n) {
            rest[(*n_rest)++] = argv[i];
            continue;
        }
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: flag --%s needs a value\n", prog, names[k]);
                return -1;
            }
            value = argv[++i];
        }
        *slots[k] = value;
    }
    return 0;
}

int mtg_cmd_config(const char *prog, enum mtg_cfg_binary bin, struct mtg_cfg *cfg, int argc, char **argv,
                   void (*usage)(FILE *))
{
    struct mtg_err err = {0};
    struct mtg_cfg_args extra;
    int rc = mtg_cfg_resolve(cfg, bin, argc, argv, NULL, &extra, &err);
    if (rc == MTG_CFG_HELP) {
        usage(stdout);
        mtg_cfg_print_help(stdout, bin);
        return 0;
    }
    if (rc != MTG_OK || extra.n_pos > 0) {
        fprintf(stderr, "%s: %s\n", prog, rc != MTG_OK ? err.msg : "unexpected positional argument");
        usage(stderr);
        return 2;
    }
    mtg_log_set_level(cfg->log_level);
    return -1;
}
