/*
 * sedna_kb_read.c - reading our knowledge-base index (index.json) back: the
 * next train round gets it as CLOUD_KB_INDEX, the eval stage as one of
 * MODEL_URLS, and the deploy worker as MODEL_URLS=<outputDir>/deploy/index.pkl
 * (the LC copies eval's results[0] there under that name, so the file name
 * says nothing; the "format" member does).
 */
#include "sedna/sedna.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "config/config.h"
#include "sedna/sedna_internal.h"

#define KB_FORMAT "mtgan-kb-index"
#define KB_VERSION 1
/* An index lists a few hundred tasks at most; anything far bigger is not one. */
#define KB_MAX_BYTES (16L * 1024 * 1024)

void mtg_sedna_kb_deinit(struct mtg_sedna_kb *kb)
{
    if (!kb)
        return;
    for (size_t i = 0; i < kb->n; i++) {
        struct mtg_sedna_kb_entry *e = &kb->tasks[i];
        free(e->id);
        free(e->generator);
        free(e->discriminator);
        for (size_t m = 0; m < e->n_metrics; m++)
            free((char *)(uintptr_t)e->metrics[m].name);
    }
    free(kb->tasks);
    memset(kb, 0, sizeof *kb);
}

static int read_text(const char *path, char **out, size_t *len, struct mtg_err *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return mtg_err_set(err, MTG_ENOTFOUND, "sedna: kb index %s does not exist", path);
    if (!S_ISREG(st.st_mode))
        return mtg_err_set(err, MTG_EIO, "sedna: kb index %s is not a regular file", path);
    if (st.st_size > KB_MAX_BYTES)
        return mtg_err_set(err, MTG_ETOOBIG, "sedna: kb index %s is %lld bytes, over %ld",
                           path, (long long)st.st_size, KB_MAX_BYTES);
    FILE *f = fopen(path, "rb");
    if (!f)
        return mtg_err_set(err, MTG_EIO, "sedna: cannot open %s: %s", path, strerror(errno));
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory reading %s", path);
    if (bad) {
        free(buf);
        return mtg_err_set(err, MTG_EIO, "sedna: reading %s failed", path);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return MTG_OK;
}

int mtg_sedna_is_index(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    struct mtg_err err = {0};
    if (!path || read_text(path, &text, &len, &err) != MTG_OK)
        return 0;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    int yes = cJSON_IsString(fmt) && strcmp(fmt->valuestring, KB_FORMAT) == 0;
    cJSON_Delete(root);
    return yes;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Resolves a stored model path (see mtg_sedna_read_index); malloc'd. */
static char *resolve_model(const char *stored, const char *index_dir, const char *prefix)
{
    if (strstr(stored, "://"))
        return strdup(stored);
    if (stored[0] != '/') {
        size_t n = strlen(index_dir) + 1 + strlen(stored) + 1;
        char *p = malloc(n);
        if (p)
            snprintf(p, n, "%s/%s", index_dir, stored);
        return p;
    }
    if (prefix && *prefix && strcmp(prefix, "/") != 0 &&
        mtg_sedna_strip_prefix(stored, prefix) == stored) {
        size_t n = strlen(prefix) + strlen(stored) + 1;
        char *p = malloc(n);
        if (!p)
            return NULL;
        snprintf(p, n, "%s%s", prefix, stored);
        /* Inside a pod the host path is mounted under the prefix; in a local
         * run nothing is, and the stored path is the real one. */
        if (file_exists(p))
            return p;
        free(p);
    }
    return strdup(stored);
}

static int parse_entry(const cJSON *o, size_t i, const char *path, const char *dir,
                       const char *prefix, struct mtg_sedna_kb_entry *e, struct mtg_err *err)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "generator");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "discriminator");
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(o, "steps");
    const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(o, "metrics");
    if (!cJSON_IsObject(o) || !cJSON_IsString(id) || !id->valuestring[0])
        return mtg_err_set(err, MTG_EFORMAT, "sedna: kb index %s: tasks[%zu] has no id", path, i);
    /* The id names files and URL paths later (models, checkpoints, routes): refuse "../x" and friends here. */
    if (!mtg_cfg_id_valid(id->valuestring))
        return mtg_err_set(err, MTG_EFORMAT,
                           "sedna: kb index %s: tasks[%zu] id \"%.64s\" must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}",
                           path, i, id->valuestring);
    if (!cJSON_IsString(g) || !g->valuestring[0])
        return mtg_err_set(err, MTG_EFORMAT, "sedna: kb index %s: task \"%s\" has no generator",
                           path, id->valuestring);
    if (d && !cJSON_IsNull(d) && !cJSON_IsString(d))
        return mtg_err_set(err, MTG_EFORMAT,
                           "sedna: kb index %s: task \"%s\" discriminator is not a string", path,
                           id->valuestring);
    if (steps && (!cJSON_IsNumber(steps) || steps->valuedouble < 0 || steps->valuedouble > 9e15))
        return mtg_err_set(err, MTG_EFORMAT, "sedna: kb index %s: task \"%s\" steps is invalid",
                           path, id->valuestring);
    e->id = strdup(id->valuestring);
    e->generator = resolve_model(g->valuestring, dir, prefix);
    if (cJSON_IsString(d) && d->valuestring[0])
        e->discriminator = resolve_model(d->valuestring, dir, prefix);
    e->steps = steps ? (long long)steps->valuedouble : 0;
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(o, "version");
    if (cJSON_IsNumber(version) && version->valuedouble >= 0 && version->valuedouble <= 9e15)
        e->version = (unsigned long long)version->valuedouble;
    if (!e->id || !e->generator || (cJSON_IsString(d) && d->valuestring[0] && !e->discriminator))
        return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory reading %s", path);
    const cJSON *obj = cJSON_IsObject(metrics) ? metrics : NULL;
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        if (e->n_metrics == MTG_SEDNA_KB_MAX_METRICS || !cJSON_IsNumber(m) ||
            !isfinite(m->valuedouble))
            continue; /* metrics are informative: skip what we cannot carry */
        char *name = strdup(m->string);
        if (!name)
            return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory reading %s", path);
        e->metrics[e->n_metrics].name = name;
        e->metrics[e->n_metrics].value = m->valuedouble;
        e->n_metrics++;
    }
    return MTG_OK;
}

int mtg_sedna_read_index(const char *path, const char *data_path_prefix, struct mtg_sedna_kb *out,
                         struct mtg_err *err)
{
    struct mtg_err local = {0};
    if (!err)
        err = &local;
    if (!out || !path)
        return mtg_err_set(err, MTG_EINVAL, "sedna: read_index needs a path and an output");
    memset(out, 0, sizeof *out);
    char *text = NULL, *dir = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    int rc = read_text(path, &text, &len, err);
    if (rc != MTG_OK)
        return rc;
    root = cJSON_ParseWithLength(text, len);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(root, "tasks");
    if (!cJSON_IsObject(root)) {
        rc = mtg_err_set(err, MTG_EFORMAT, "sedna: kb index %s is not a JSON object", path);
        goto done;
    }
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, KB_FORMAT) != 0 || !cJSON_IsNumber(ver) ||
        ver->valuedouble != KB_VERSION || !cJSON_IsArray(tasks)) {
        rc = mtg_err_set(err, MTG_EFORMAT,
                         "sedna: %s is not an mtgan kb index (want format \"%s\" version %d "
                         "with a tasks array)", path, KB_FORMAT, KB_VERSION);
        goto done;
    }
    const char *slash = strrchr(path, '/');
    dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    size_t n = (size_t)cJSON_GetArraySize(tasks);
    out->tasks = n ? calloc(n, sizeof *out->tasks) : NULL;
    if (!dir || (n && !out->tasks)) {
        rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory reading %s", path);
        goto done;
    }
    size_t i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, tasks)
    {
        out->n = i + 1; /* counted first so deinit frees a half-parsed entry */
        rc = parse_entry(o, i, path, dir, data_path_prefix, &out->tasks[i], err);
        if (rc != MTG_OK)
            goto done;
        for (size_t j = 0; j < i; j++)
            if (strcmp(out->tasks[j].id, out->tasks[i].id) == 0) {
                rc = mtg_err_set(err, MTG_EFORMAT, "sedna: kb index %s: task \"%s\" appears twice",
                                 path, out->tasks[i].id);
                goto done;
            }
        i++;
    }
done:
    if (rc != MTG_OK)
        mtg_sedna_kb_deinit(out);
    cJSON_Delete(root);
    free(text);
    free(dir);
    return rc;
}

/* ---- model lists ---- */

static int kb_push(struct mtg_sedna_kb *kb, size_t *cap, const char *id, const char *g,
                   const char *d, const char *src, struct mtg_err *err)
{
    if (!mtg_cfg_id_valid(id))
        return mtg_err_set(err, MTG_EINVAL, "sedna: %s: task id \"%.64s\" must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}",
                           src, id);
    for (size_t i = 0; i < kb->n; i++)
        if (strcmp(kb->tasks[i].id, id) == 0)
            return mtg_err_set(err, MTG_EINVAL, "sedna: task \"%s\" given twice (again by %s)",
                               id, src);
    if (kb->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct mtg_sedna_kb_entry *t = realloc(kb->tasks, nc * sizeof *t);
        if (!t)
            return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory listing models");
        kb->tasks = t;
        *cap = nc;
    }
    struct mtg_sedna_kb_entry *e = &kb->tasks[kb->n++];
    memset(e, 0, sizeof *e);
    e->id = strdup(id);
    e->generator = strdup(g);
    e->discriminator = d ? strdup(d) : NULL;
    if (!e->id || !e->generator || (d && !e->discriminator))
        return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory listing models");
    return MTG_OK;
}

/* Moves the entries of src (an index read from path) into kb. */
static int kb_merge(struct mtg_sedna_kb *kb, size_t *cap, struct mtg_sedna_kb *src,
                    const char *path, struct mtg_err *err)
{
    int rc = MTG_OK;
    for (size_t i = 0; rc == MTG_OK && i < src->n; i++) {
        rc = kb_push(kb, cap, src->tasks[i].id, src->tasks[i].generator,
                     src->tasks[i].discriminator, path, err);
        if (rc == MTG_OK) {
            struct mtg_sedna_kb_entry *e = &kb->tasks[kb->n - 1];
            e->steps = src->tasks[i].steps;
            e->version = src->tasks[i].version;
            /* Metric names move over: src forgets them. */
            memcpy(e->metrics, src->tasks[i].metrics, sizeof e->metrics);
            e->n_metrics = src->tasks[i].n_metrics;
            src->tasks[i].n_metrics = 0;
        }
    }
    return rc;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls > lx && strcmp(s + ls - lx, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect_dir(struct mtg_sedna_kb *kb, size_t *cap, const char *dir, struct mtg_err *err)
{
    static const char gs[] = ".generator.blob", ds[] = ".discriminator.blob";
    DIR *dp = opendir(dir);
    if (!dp)
        return mtg_err_set(err, MTG_EIO, "sedna: cannot list %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, ncap = 0;
    int rc = MTG_OK;
    struct dirent *de;
    while (rc == MTG_OK && (de = readdir(dp)) != NULL) {
        if (!has_suffix(de->d_name, gs) || de->d_name[0] == '.')
            continue;
        if (n == ncap) {
            ncap = ncap ? ncap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory listing %s", dir);
                break;
            }
            names = nn;
        }
        if (!(names[n++] = strdup(de->d_name)))
            rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory listing %s", dir);
    }
    closedir(dp);
    if (rc == MTG_OK && n == 0)
        rc = mtg_err_set(err, MTG_ENOTFOUND, "sedna: %s has no index.json and no *%s", dir, gs);
    if (rc == MTG_OK)
        qsort(names, n, sizeof *names, cmp_str); /* a stable task order */
    for (size_t i = 0; rc == MTG_OK && i < n; i++) {
        size_t idl = strlen(names[i]) - (sizeof gs - 1);
        char id[256], g[2048], d[2048];
        snprintf(id, sizeof id, "%.*s", (int)(idl < 255 ? idl : 255), names[i]);
        snprintf(g, sizeof g, "%s/%s", dir, names[i]);
        snprintf(d, sizeof d, "%s/%s%s", dir, id, ds);
        rc = kb_push(kb, cap, id, g, file_exists(d) ? d : NULL, dir, err);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int mtg_sedna_models_collect(const char *const *items, size_t n, const char *data_path_prefix,
                             struct mtg_sedna_kb *out, struct mtg_err *err)
{
    struct mtg_err local = {0};
    if (!err)
        err = &local;
    if (!out)
        return mtg_err_set(err, MTG_EINVAL, "sedna: models_collect needs an output");
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    int rc = MTG_OK;
    if (n == 0)
        rc = mtg_err_set(err, MTG_EINVAL, "sedna: no models given");
    for (size_t i = 0; rc == MTG_OK && i < n; i++) {
        const char *it = items[i];
        struct stat st;
        if (strstr(it, "://")) {
            rc = mtg_err_set(err, MTG_EINVAL,
                             "sedna: model %s is remote; Sedna's storage initializer copies "
                             "remote models to a local path, pass that", it);
            break;
        }
        if (stat(it, &st) != 0) {
            rc = mtg_err_set(err, MTG_ENOTFOUND, "sedna: model %s does not exist", it);
            break;
        }
        char idx_path[2048];
        const char *index = NULL;
        if (S_ISDIR(st.st_mode)) {
            snprintf(idx_path, sizeof idx_path, "%s/index.json", it);
            if (mtg_sedna_is_index(idx_path))
                index = idx_path;
            else {
                rc = collect_dir(out, &cap, it, err);
                continue;
            }
        } else if (mtg_sedna_is_index(it)) {
            index = it;
        }
        if (index) {
            struct mtg_sedna_kb one;
            rc = mtg_sedna_read_index(index, data_path_prefix, &one, err);
            if (rc == MTG_OK)
                rc = kb_merge(out, &cap, &one, index, err);
            mtg_sedna_kb_deinit(&one);
            continue;
        }
        const char *base = strrchr(it, '/');
        base = base ? base + 1 : it;
        size_t l = strlen(base);
        if (has_suffix(base, ".generator.blob"))
            l -= sizeof ".generator.blob" - 1;
        else if (has_suffix(base, ".blob"))
            l -= sizeof ".blob" - 1;
        char id[256];
        snprintf(id, sizeof id, "%.*s", (int)(l < 255 ? l : 255), base);
        if (!id[0]) {
            rc = mtg_err_set(err, MTG_EINVAL, "sedna: cannot name the task of model %s", it);
            break;
        }
        rc = kb_push(out, &cap, id, it, NULL, it, err);
    }
    if (rc != MTG_OK)
        mtg_sedna_kb_deinit(out);
    return rc;
}
