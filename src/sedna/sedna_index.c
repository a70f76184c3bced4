/*
 * sedna_index.c - Sedna dataset index files (txt: one sample path [label]
 * per line; csv: a header line, then one row per line).
 *
 * Sedna's own readers: lib/sedna/datasources/__init__.py TxtDataParse
 * (line.strip().split(): field 0 is the sample, field 1 the label, empty
 * lines skipped) and pkg/localcontroller/managers/dataset/dataset.go
 * readByLine (csv: "the first row of csv file is header"). Relative sample
 * paths are joined to the directory of ORIGINAL_DATASET_URL by Sedna's
 * lifelong-learning examples (their train.py _load_txt_dataset does
 * os.path.join(os.path.dirname(original_dataset_url), line)); host paths
 * live under DATA_PATH_PREFIX inside the pod
 * (pkg/globalmanager/runtime/storage_initializer_injector.go).
 */
#include "sedna/sedna.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* An index bigger than this is not a list of sample paths. */
#define INDEX_MAX_BYTES (256L * 1024 * 1024)

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trims in place; returns the first non-blank byte. */
static char *trim(char *s)
{
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int has_scheme(const char *s)
{
    const char *sep = strstr(s, "://");
    if (!sep || sep == s)
        return 0;
    for (const char *p = s; p < sep; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (p > s && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
        if (!ok)
            return 0;
    }
    return 1;
}

/* Joins a and b with exactly one '/' between them; malloc'd. */
static char *join2(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    size_t lb = strlen(b);
    char *out = malloc(la + 1 + lb + 1);
    if (!out)
        return NULL;
    memcpy(out, a, la);
    size_t k = la;
    if (la == 0 || a[la - 1] != '/')
        out[k++] = '/';
    memcpy(out + k, b, lb + 1);
    return out;
}

static int under_prefix(const char *path, const char *prefix)
{
    size_t lp = strlen(prefix);
    while (lp > 1 && prefix[lp - 1] == '/')
        lp--;
    return strncmp(path, prefix, lp) == 0 && (path[lp] == '/' || path[lp] == '\0');
}

static char *resolve(const char *sample, const char *base_dir, const char *prefix)
{
    if (has_scheme(sample))
        return strdup(sample);
    if (sample[0] == '/') {
        if (!prefix || !*prefix || under_prefix(sample, prefix))
            return strdup(sample);
        return join2(prefix, sample);
    }
    if (!base_dir || !*base_dir)
        return strdup(sample);
    return join2(base_dir, sample);
}

/* The directory part of path ("" when it has none); malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup("");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    if (lx > ls)
        return 0;
    for (size_t i = 0; i < lx; i++) {
        char a = s[ls - lx + i], b = suffix[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return 1;
}

static int push_entry(struct mtg_sedna_index *idx, size_t *cap, const char *line,
                      const char *base_dir, const char *prefix, const char *path,
                      size_t lineno, struct mtg_err *err)
{
    if (idx->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct mtg_sedna_index_entry *ne = realloc(idx->entries, ncap * sizeof *ne);
        if (!ne)
            return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory reading %s", path);
        idx->entries = ne;
        *cap = ncap;
    }
    struct mtg_sedna_index_entry *e = &idx->entries[idx->n];
    memset(e, 0, sizeof *e);
    idx->n++; /* counted now so deinit frees a half-built entry */
    e->line = strdup(line);
    if (!e->line)
        goto oom;
    if (idx->format == MTG_SEDNA_INDEX_CSV)
        return MTG_OK;

    size_t plen = 0;
    while (line[plen] && !is_blank(line[plen]))
        plen++;
    char *sample = strndup(line, plen);
    if (!sample)
        goto oom;
    e->path = resolve(sample, base_dir, prefix);
    free(sample);
    if (!e->path)
        goto oom;
    const char *rest = line + plen;
    while (is_blank(*rest))
        rest++;
    if (*rest) {
        e->label = strdup(rest);
        if (!e->label)
            goto oom;
    }
    return MTG_OK;
oom:
    return mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory at %s:%zu", path, lineno);
}

int mtg_sedna_index_read(const char *path, enum mtg_sedna_index_format format,
                         const char *base_dir, const char *data_path_prefix,
                         struct mtg_sedna_index *out, struct mtg_err *err)
{
    int rc = MTG_OK;
    FILE *f = NULL;
    char *buf = NULL;
    char *own_dir = NULL;
    size_t bufcap = 0, cap = 0, lineno = 0;

    if (!out)
        return mtg_err_set(err, MTG_EINVAL, "sedna: index output is NULL");
    memset(out, 0, sizeof *out);
    if (!path || !*path)
        return mtg_err_set(err, MTG_EINVAL, "sedna: index path is empty");
    if (format == MTG_SEDNA_INDEX_AUTO)
        format = ends_with_ci(path, ".csv") ? MTG_SEDNA_INDEX_CSV : MTG_SEDNA_INDEX_TXT;
    if (format != MTG_SEDNA_INDEX_TXT && format != MTG_SEDNA_INDEX_CSV)
        return mtg_err_set(err, MTG_EINVAL, "sedna: unknown index format %d", (int)format);
    out->format = format;

    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return mtg_err_set(err, e == ENOENT ? MTG_ENOTFOUND : MTG_EIO,
                           "sedna: index file %s: %s", path,
                           e == ENOENT ? "does not exist" : strerror(e));
    }
    if (!S_ISREG(st.st_mode))
        return mtg_err_set(err, MTG_EIO, "sedna: index file %s is not a regular file", path);
    if (st.st_size > INDEX_MAX_BYTES)
        return mtg_err_set(err, MTG_ETOOBIG, "sedna: index file %s is %lld bytes, limit %ld",
                           path, (long long)st.st_size, INDEX_MAX_BYTES);

    if (!base_dir) {
        own_dir = dir_of(path);
        if (!own_dir) {
            rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory reading %s", path);
            goto fail;
        }
        base_dir = own_dir;
    }
    f = fopen(path, "r");
    if (!f) {
        rc = mtg_err_set(err, MTG_EIO, "sedna: cannot open index file %s: %s", path,
                         strerror(errno));
        goto fail;
    }
    ssize_t got;
    while ((got = getline(&buf, &bufcap, f)) != -1) {
        lineno++;
        if (strlen(buf) != (size_t)got) {
            rc = mtg_err_set(err, MTG_EFORMAT, "sedna: %s:%zu contains a NUL byte", path, lineno);
            goto fail;
        }
        char *line = trim(buf);
        if (!*line || *line == '#')
            continue;
        if (format == MTG_SEDNA_INDEX_CSV && !out->header) {
            out->header = strdup(line);
            if (!out->header) {
                rc = mtg_err_set(err, MTG_ENOMEM, "sedna: out of memory reading %s", path);
                goto fail;
            }
            continue;
        }
        rc = push_entry(out, &cap, line, base_dir, data_path_prefix, path, lineno, err);
        if (rc != MTG_OK)
            goto fail;
    }
    if (ferror(f)) {
        rc = mtg_err_set(err, MTG_EIO, "sedna: reading index file %s failed", path);
        goto fail;
    }
    if (out->n == 0) {
        rc = mtg_err_set(err, MTG_EFORMAT, "sedna: index file %s has no %s", path,
                         format == MTG_SEDNA_INDEX_CSV ? "rows after the header" : "entries");
        goto fail;
    }
    fclose(f);
    free(buf);
    free(own_dir);
    return MTG_OK;

fail:
    if (f)
        fclose(f);
    free(buf);
    free(own_dir);
    mtg_sedna_index_deinit(out);
    return rc;
}

void mtg_sedna_index_deinit(struct mtg_sedna_index *idx)
{
    if (!idx)
        return;
    for (size_t i = 0; i < idx->n; i++) {
        free(idx->entries[i].line);
        free(idx->entries[i].path);
        free(idx->entries[i].label);
    }
    free(idx->entries);
    free(idx->header);
    memset(idx, 0, sizeof *idx);
}
