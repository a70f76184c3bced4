/*
 * sedna_env.c - reading and validating the env the Sedna GlobalManager
 * injects into a lifelong-learning worker (see sedna.h for the sources).
 */
#include "sedna/sedna.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"

const char *mtg_sedna_stage_str(enum mtg_sedna_stage stage)
{
    switch (stage) {
    case MTG_SEDNA_TRAIN: return "train";
    case MTG_SEDNA_EVAL: return "eval";
    case MTG_SEDNA_DEPLOY: return "deploy";
    }
    return "unknown";
}

const char *mtg_sedna_status_str(enum mtg_sedna_status status)
{
    switch (status) {
    case MTG_SEDNA_COMPLETED: return "completed";
    case MTG_SEDNA_FAILED: return "failed";
    case MTG_SEDNA_RUNNING: return "running";
    }
    return "unknown";
}

const char *mtg_sedna_getenv_default(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

/* Which stages need a variable: bit (1 << stage). */
#define ST_TRAIN (1u << MTG_SEDNA_TRAIN)
#define ST_EVAL (1u << MTG_SEDNA_EVAL)
#define ST_DEPLOY (1u << MTG_SEDNA_DEPLOY)
#define ST_ALL (ST_TRAIN | ST_EVAL | ST_DEPLOY)

enum url_kind {
    URL_NONE,   /* a plain name (NAMESPACE, JOB_NAME, WORKER_NAME) */
    URL_PATH,   /* a container path or a storage URL (s3://, http://) */
    URL_SERVER, /* must be http:// or https:// with a host */
};

/*
 * One row per variable: where its value lands, which stages require it and
 * how it is checked. Lists (MODEL_URLS) are handled separately.
 */
struct var_spec {
    const char *name;
    size_t offset;
    unsigned required;
    enum url_kind kind;
};

static const struct var_spec vars[] = {
    {"NAMESPACE", offsetof(struct mtg_sedna_env, namespace), ST_ALL, URL_NONE},
    {"JOB_NAME", offsetof(struct mtg_sedna_env, job_name), ST_ALL, URL_NONE},
    {"WORKER_NAME", offsetof(struct mtg_sedna_env, worker_name), ST_ALL, URL_NONE},
    {"LC_SERVER", offsetof(struct mtg_sedna_env, lc_server), 0, URL_SERVER},
    {"KB_SERVER", offsetof(struct mtg_sedna_env, kb_server), 0, URL_SERVER},
    {"OUTPUT_URL", offsetof(struct mtg_sedna_env, output_url), ST_TRAIN | ST_EVAL, URL_PATH},
    {"TRAIN_DATASET_URL", offsetof(struct mtg_sedna_env, train_dataset_url), ST_TRAIN, URL_PATH},
    {"ORIGINAL_DATASET_URL", offsetof(struct mtg_sedna_env, original_dataset_url), 0, URL_PATH},
    {"TEST_DATASET_URL", offsetof(struct mtg_sedna_env, test_dataset_url), ST_EVAL, URL_PATH},
    {"CLOUD_KB_INDEX", offsetof(struct mtg_sedna_env, cloud_kb_index), 0, URL_PATH},
    {"DATA_PATH_PREFIX", offsetof(struct mtg_sedna_env, data_path_prefix), 0, URL_PATH},
};

static char **field(struct mtg_sedna_env *env, size_t offset)
{
    return (char **)(void *)((char *)env + offset);
}

static const char *stage_for_msg(enum mtg_sedna_stage stage)
{
    return mtg_sedna_stage_str(stage);
}

/* A name or URL never contains blanks or control bytes. */
static const char *find_bad_byte(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == 0x7f)
            return s;
    }
    return NULL;
}

/*
 * "Valid-looking": no blanks; if it has a scheme ("x://"), the scheme is
 * RFC 3986 shaped and something follows it. Servers must be http(s) with a
 * host. Deeper checks are left to whoever opens the URL.
 */
static int check_value(const char *name, const char *v, enum url_kind kind, struct mtg_err *err)
{
    const char *bad = find_bad_byte(v);
    if (bad)
        return mtg_err_set(err, MTG_EINVAL,
                           "sedna: %s contains a blank or control character at offset %zu",
                           name, (size_t)(bad - v));
    if (kind == URL_NONE)
        return MTG_OK;
    const char *sep = strstr(v, "://");
    if (kind == URL_SERVER) {
        size_t skip = 0;
        if (strncasecmp(v, "http://", 7) == 0)
            skip = 7;
        else if (strncasecmp(v, "https://", 8) == 0)
            skip = 8;
        if (skip == 0 || v[skip] == '\0' || v[skip] == '/')
            return mtg_err_set(err, MTG_EINVAL,
                               "sedna: %s must be an http:// or https:// URL with a host, got \"%s\"",
                               name, v);
        return MTG_OK;
    }
    if (!sep)
        return MTG_OK; /* a path, absolute (container) or relative (local runs) */
    int scheme_ok = sep > v && isalpha((unsigned char)v[0]);
    for (const char *p = v; scheme_ok && p < sep; p++)
        scheme_ok = isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.';
    if (!scheme_ok || sep[3] == '\0')
        return mtg_err_set(err, MTG_EINVAL, "sedna: %s is not a valid URL: \"%s\"", name, v);
    return MTG_OK;
}

/* Splits "a;b;c" (Sedna's urlsFieldSep) into owned strings; a trailing ';' is tolerated. */
static int split_list(const char *name, const char *v, struct mtg_sedna_list *out,
                      struct mtg_err *err)
{
    size_t cap = 1;
    for (const char *p = v; *p; p++)
        cap += *p == ';';
    out->items = calloc(cap, sizeof *out->items);
    if (!out->items)
        return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory splitting %s", name);
    out->n = 0;
    const char *start = v;
    for (size_t i = 0; i < cap; i++) {
        const char *end = strchr(start, ';');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        if (len == 0) {
            if (!end && i > 0)
                break; /* "a;b;" */
            return mtg_err_set(err, MTG_EINVAL, "sedna: %s item %zu is empty in \"%s\"", name,
                               i + 1, v);
        }
        char *item = strndup(start, len);
        if (!item)
            return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory splitting %s", name);
        out->items[out->n++] = item;
        char what[64];
        snprintf(what, sizeof what, "%s item %zu", name, i + 1);
        int rc = check_value(what, item, URL_PATH, err);
        if (rc != MTG_OK)
            return rc;
        if (!end)
            break;
        start = end + 1;
    }
    return MTG_OK;
}

static int parse_bool(const char *name, const char *v, int *out, struct mtg_err *err)
{
    /* Go's strconv.FormatBool writes "true"/"false"; the Python library and
     * ianvs lower-case before comparing, so "True" is accepted as well. */
    if (strcasecmp(v, "true") == 0) {
        *out = 1;
        return MTG_OK;
    }
    if (strcasecmp(v, "false") == 0) {
        *out = 0;
        return MTG_OK;
    }
    return mtg_err_set(err, MTG_EINVAL, "sedna: %s must be \"true\" or \"false\", got \"%s\"",
                       name, v);
}

static int set_default(char **dst, const char *value, const char *name, struct mtg_err *err)
{
    if (*dst)
        return MTG_OK;
    *dst = strdup(value);
    if (!*dst)
        return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory for %s", name);
    return MTG_OK;
}

int mtg_sedna_env_load(struct mtg_sedna_env *env, enum mtg_sedna_stage stage,
                       mtg_sedna_getenv_fn getenv_fn, void *ctx, struct mtg_err *err)
{
    int rc = MTG_OK;
    if (!env)
        return mtg_err_set(err, MTG_EINVAL, "sedna: env is NULL");
    memset(env, 0, sizeof *env);
    if (stage != MTG_SEDNA_TRAIN && stage != MTG_SEDNA_EVAL && stage != MTG_SEDNA_DEPLOY)
        return mtg_err_set(err, MTG_EINVAL, "sedna: unknown stage %d", (int)stage);
    if (!getenv_fn)
        getenv_fn = mtg_sedna_getenv_default;
    env->stage = stage;
    unsigned bit = 1u << stage;

    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const struct var_spec *vs = &vars[i];
        const char *v = getenv_fn(ctx, vs->name);
        /* An empty value is treated as unset: k8s renders a missing
         * ConfigMap key as "", and Sedna's GM never injects empty values. */
        if (!v || !*v) {
            if (vs->required & bit) {
                rc = mtg_err_set(err, MTG_EINVAL, "sedna: %s is required for the %s stage",
                                 vs->name, stage_for_msg(stage));
                goto fail;
            }
            continue;
        }
        rc = check_value(vs->name, v, vs->kind, err);
        if (rc != MTG_OK)
            goto fail;
        char **dst = field(env, vs->offset);
        *dst = strdup(v);
        if (!*dst) {
            rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory for %s", vs->name);
            goto fail;
        }
    }

    const char *models = getenv_fn(ctx, "MODEL_URLS");
    if (models && *models) {
        rc = split_list("MODEL_URLS", models, &env->model_urls, err);
        if (rc != MTG_OK)
            goto fail;
    }
    if ((stage == MTG_SEDNA_EVAL || stage == MTG_SEDNA_DEPLOY) && env->model_urls.n == 0) {
        rc = mtg_err_set(err, MTG_EINVAL, "sedna: MODEL_URLS is required for the %s stage",
                         stage_for_msg(stage));
        goto fail;
    }

    const char *hcit = getenv_fn(ctx, "HAS_COMPLETED_INITIAL_TRAINING");
    if (hcit && *hcit) {
        rc = parse_bool("HAS_COMPLETED_INITIAL_TRAINING", hcit,
                        &env->has_completed_initial_training, err);
        if (rc != MTG_OK)
            goto fail;
    }

    rc = set_default(&env->lc_server, MTG_SEDNA_DEFAULT_LC_SERVER, "LC_SERVER", err);
    if (rc == MTG_OK && stage != MTG_SEDNA_DEPLOY)
        rc = set_default(&env->kb_server, MTG_SEDNA_DEFAULT_KB_SERVER, "KB_SERVER", err);
    if (rc == MTG_OK)
        rc = set_default(&env->data_path_prefix, MTG_SEDNA_DEFAULT_DATA_PATH_PREFIX,
                         "DATA_PATH_PREFIX", err);
    if (rc != MTG_OK)
        goto fail;
    if (env->data_path_prefix[0] != '/') {
        rc = mtg_err_set(err, MTG_EINVAL, "sedna: DATA_PATH_PREFIX must be an absolute path, got \"%s\"",
                         env->data_path_prefix);
        goto fail;
    }
    /* "http://lc:9100/" + "/sedna/..." would give a "//" path that the LC's
     * router does not match. */
    size_t len = strlen(env->lc_server);
    while (len > 0 && env->lc_server[len - 1] == '/')
        env->lc_server[--len] = '\0';

    if (stage == MTG_SEDNA_TRAIN && env->has_completed_initial_training && !env->cloud_kb_index)
        mtg_log(MTG_LOG_WARN, "sedna",
                "HAS_COMPLETED_INITIAL_TRAINING=true but CLOUD_KB_INDEX is unset; "
                "starting from an empty knowledge base");
    return MTG_OK;

fail:
    mtg_sedna_env_deinit(env);
    return rc;
}

void mtg_sedna_env_deinit(struct mtg_sedna_env *env)
{
    if (!env)
        return;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        char **dst = field(env, vars[i].offset);
        free(*dst);
    }
    for (size_t i = 0; i < env->model_urls.n; i++)
        free(env->model_urls.items[i]);
    free(env->model_urls.items);
    memset(env, 0, sizeof *env);
}

/* Identity-only lookup for mtg_sedna_env_load_identity: the stage's data
 * variables read as a placeholder, so only what a report needs is checked. */
struct identity_ctx {
    mtg_sedna_getenv_fn fn;
    void *ctx;
};

static const char *identity_getenv(void *p, const char *name)
{
    const struct identity_ctx *ic = p;
    static const char *const keep[] = {"NAMESPACE", "JOB_NAME", "WORKER_NAME", "LC_SERVER",
                                       "DATA_PATH_PREFIX"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (strcmp(name, keep[i]) == 0)
            return ic->fn(ic->ctx, name);
    if (strcmp(name, "OUTPUT_URL") == 0 || strcmp(name, "TRAIN_DATASET_URL") == 0 ||
        strcmp(name, "TEST_DATASET_URL") == 0 || strcmp(name, "MODEL_URLS") == 0)
        return "-";
    return NULL;
}

int mtg_sedna_env_load_identity(struct mtg_sedna_env *env, enum mtg_sedna_stage stage,
                                mtg_sedna_getenv_fn getenv_fn, void *ctx, struct mtg_err *err)
{
    struct identity_ctx ic = {getenv_fn ? getenv_fn : mtg_sedna_getenv_default, ctx};
    int rc = mtg_sedna_env_load(env, stage, identity_getenv, &ic, err);
    if (rc != MTG_OK)
        return rc;
    free(env->output_url);
    free(env->train_dataset_url);
    free(env->test_dataset_url);
    env->output_url = env->train_dataset_url = env->test_dataset_url = NULL;
    for (size_t i = 0; i < env->model_urls.n; i++)
        free(env->model_urls.items[i]);
    free(env->model_urls.items);
    env->model_urls.items = NULL;
    env->model_urls.n = 0;
    return MTG_OK;
}
