/* config_args.c - the MTGAN_* environment, command-line flags and --help. */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

static const char *const binary_names[MTG_CFG_BIN_COUNT] = {
    "mtgan-server", "mtgan-edge", "mtgan demo", "mtgan bench",
    "mtgan train-local", "mtgan eval", "mtgan sample", "mtgan inspect",
};

const char *mtg_cfg_binary_name(enum mtg_cfg_binary bin)
{
    if ((int)bin < 0 || bin >= MTG_CFG_BIN_COUNT)
        return "mtgan";
    return binary_names[bin];
}

/* Value of name in envp ("NAME=value" entries), or getenv() when envp is NULL. */
static const char *env_lookup(char *const *envp, const char *name)
{
    if (!envp)
        return getenv(name);
    size_t n = strlen(name);
    for (char *const *e = envp; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

int mtg_cfg_load_env(struct mtg_cfg *c, char *const *envp, struct mtg_err *err)
{
    size_t n;
    const struct mtg_cfg_key *keys = mtg_cfg_keys(MTG_CFG_TABLE_TOP, &n);
    for (size_t i = 0; i < n; i++) {
        if (!keys[i].env)
            continue;
        const char *v = env_lookup(envp, keys[i].env);
        if (!v || !v[0])
            continue;
        char label[64];
        snprintf(label, sizeof label, "env %s", keys[i].env);
        int rc = mtg_cfg_key_set_string(&keys[i], c, v, label, err);
        if (rc != MTG_OK)
            return rc;
    }
    return MTG_OK;
}

/* The key whose flag is name (any binary), or NULL. */
static const struct mtg_cfg_key *flag_key(const char *name, size_t len)
{
    size_t n;
    const struct mtg_cfg_key *keys = mtg_cfg_keys(MTG_CFG_TABLE_TOP, &n);
    for (size_t i = 0; i < n; i++)
        if (keys[i].flag && strlen(keys[i].flag) == len && strncmp(keys[i].flag, name, len) == 0)
            return &keys[i];
    return NULL;
}

static int add_positional(struct mtg_cfg_args *extra, const char *arg, struct mtg_err *err)
{
    if (extra->n_pos >= MTG_CFG_MAX_POSITIONAL)
        return mtg_err_set(err, MTG_EINVAL, "too many arguments (at most %d): \"%.40s\"",
                           MTG_CFG_MAX_POSITIONAL, arg);
    extra->pos[extra->n_pos++] = arg;
    return MTG_OK;
}

int mtg_cfg_parse_args(struct mtg_cfg *c, enum mtg_cfg_binary bin, int argc, char **argv,
                       struct mtg_cfg_args *extra, struct mtg_err *err)
{
    struct mtg_cfg_args scratch;
    if (!extra)
        extra = &scratch;
    memset(extra, 0, sizeof *extra);
    bool only_positional = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int rc;
        if (only_positional || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if ((rc = add_positional(extra, arg, err)) != MTG_OK)
                return rc;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            extra->help = true;
            continue;
        }
        if (arg[1] != '-')
            return mtg_err_set(err, MTG_EINVAL, "unknown flag \"%.60s\" (flags are --long; see --help)",
                               arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
        bool is_config = len == 6 && strncmp(name, "config", 6) == 0;
        const struct mtg_cfg_key *k = is_config ? NULL : flag_key(name, len);
        if (!is_config && (!k || !(k->bins & (1u << bin))))
            return mtg_err_set(err, MTG_EINVAL, "unknown flag --%.*s for %s (see --help)",
                               (int)(len > 60 ? 60 : len), name, mtg_cfg_binary_name(bin));
        /* A boolean flag alone means true (--deterministic); --flag=false turns it off. */
        if (!value && k && k->kind == MTG_CFG_K_BOOL &&
            (i + 1 >= argc || (strcmp(argv[i + 1], "true") != 0 && strcmp(argv[i + 1], "false") != 0)))
            value = "true";
        if (!value) {
            if (i + 1 >= argc)
                return mtg_err_set(err, MTG_EINVAL, "flag --%.*s needs a value", (int)len, name);
            value = argv[++i];
        }
        if (is_config) {
            extra->config_path = value;
            continue;
        }
        char label[64];
        snprintf(label, sizeof label, "flag --%s", k->flag);
        if ((rc = mtg_cfg_key_set_string(k, c, value, label, err)) != MTG_OK)
            return rc;
    }
    return MTG_OK;
}

/* Placeholder shown after a flag: the key's meta, else its enum names. */
static void flag_meta(const struct mtg_cfg_key *k, char *buf, size_t n)
{
    if (k->meta) {
        snprintf(buf, n, "%s", k->meta);
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; k->names && k->names[i] && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "|" : "", k->names[i]);
}

/* Compact JSON of the key's default value in base. */
static void default_text(const struct mtg_cfg_key *k, const void *base, char *buf, size_t n)
{
    snprintf(buf, n, "-");
    cJSON *v = mtg_cfg_key_to_json(k, base);
    char *txt = v ? cJSON_PrintUnformatted(v) : NULL;
    if (txt)
        snprintf(buf, n, "%s", txt);
    free(txt);
    cJSON_Delete(v);
}

static void print_table_keys(FILE *f, enum mtg_cfg_table t, const char *prefix, const void *defaults)
{
    size_t n;
    const struct mtg_cfg_key *keys = mtg_cfg_keys(t, &n);
    for (size_t i = 0; i < n; i++) {
        const struct mtg_cfg_key *k = &keys[i];
        if (k->kind == MTG_CFG_K_OBJ || k->kind == MTG_CFG_K_ARRAY)
            continue;
        char path[128], def[96];
        snprintf(path, sizeof path, "%s%s", prefix, k->path);
        default_text(k, defaults, def, sizeof def);
        fprintf(f, "  %-40s %s (default %s)\n", path, k->help ? k->help : "", def);
    }
}

void mtg_cfg_print_help(FILE *f, enum mtg_cfg_binary bin)
{
    /* The defaults are ~85 KB: on the heap rather than the caller's stack. */
    struct mtg_cfg *d = malloc(sizeof *d);
    if (d)
        mtg_cfg_defaults(d);
    fprintf(f, "usage: %s [flags]%s\n\n", mtg_cfg_binary_name(bin),
            bin == MTG_CFG_BIN_INSPECT ? " FILE..." : "");
    fprintf(f, "Settings come from flags, then MTGAN_* environment variables, then the JSON\n"
               "config file, then defaults (docs/config.md).\n\nflags:\n");
    fprintf(f, "  %-28s %s\n", "--config FILE", "JSON config file (env MTGAN_CONFIG)");
    size_t n;
    const struct mtg_cfg_key *keys = mtg_cfg_keys(MTG_CFG_TABLE_TOP, &n);
    for (size_t i = 0; i < n; i++) {
        const struct mtg_cfg_key *k = &keys[i];
        if (!k->flag || !(k->bins & (1u << bin)))
            continue;
        char left[96], meta[64], def[96] = "-";
        flag_meta(k, meta, sizeof meta);
        snprintf(left, sizeof left, "--%s %s", k->flag, meta);
        if (d)
            default_text(k, d, def, sizeof def);
        /* A long placeholder (an enum's names) pushes the help text to its own line. */
        if (strlen(left) > 28)
            fprintf(f, "  %s\n  %-28s %s\n", left, "", k->help);
        else
            fprintf(f, "  %-28s %s\n", left, k->help);
        fprintf(f, "  %-28s (key %s%s%s, default %s)\n", "", k->path, k->env ? ", env " : "",
                k->env ? k->env : "", def);
    }
    fprintf(f, "  %-28s %s\n\nenvironment without a flag here:\n", "--help", "this text");
    for (size_t i = 0; i < n; i++)
        if (keys[i].env && !(keys[i].flag && (keys[i].bins & (1u << bin))))
            fprintf(f, "  %-28s key %s\n", keys[i].env, keys[i].path);
    if (d) {
        fprintf(f, "\nconfig file keys:\n");
        print_table_keys(f, MTG_CFG_TABLE_TOP, "", d);
        struct mtg_cfg_task t;
        mtg_cfg_task_defaults(&t, "digit-0");
        print_table_keys(f, MTG_CFG_TABLE_TASK, "tasks[].", &t);
        print_table_keys(f, MTG_CFG_TABLE_EDGE, "edges[].", &d->edges[0]);
    }
    free(d);
}
