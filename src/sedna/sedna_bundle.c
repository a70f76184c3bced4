/*
 * sedna_bundle.c - the knowledge base in one file, for the deploy worker.
 *
 * Sedna's LC copies eval's results[0] to <outputDir>/deploy/index.pkl and
 * the GM mounts only that file's parent folder into the inference pod
 * (pkg/localcontroller/managers/lifelonglearning/lifelonglearningjob.go
 * updateDeployModelFile; pkg/globalmanager/runtime/
 * storage_initializer_injector.go parseHostPath). An index that names
 * blobs under train/<round>/ would point at files the pod cannot see, so
 * what the deploy worker gets must carry the models themselves: one blob
 * whose tensors are "<task>/<generator tensor>" plus "<task>/kb.meta".
 */
#include "sedna/sedna.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "wire/blob.h"

#define META "kb.meta"
/* Counters are split into 24-bit halves: each is exact as a float. */
#define HALF 16777216.0

static void meta_put(float m[4], long long steps, unsigned long long version)
{
    unsigned long long s = steps > 0 ? (unsigned long long)steps : 0;
    m[0] = (float)(s >> 24);
    m[1] = (float)(s & 0xffffffu);
    m[2] = (float)(version >> 24);
    m[3] = (float)(version & 0xffffffu);
}

static int meta_get(const struct mtg_blob_tensor *t, long long *steps, unsigned long long *version)
{
    if (t->n != 4)
        return -1;
    for (int i = 0; i < 4; i++)
        if (!(t->data[i] >= 0 && t->data[i] < HALF))
            return -1;
    *steps = (long long)t->data[0] * (long long)HALF + (long long)t->data[1];
    *version = (unsigned long long)t->data[2] * (unsigned long long)HALF + (unsigned long long)t->data[3];
    return 0;
}

int mtg_sedna_bundle_write(const struct mtg_sedna_kb *kb, const char *path, struct mtg_err *err)
{
    struct mtg_blob *out = mtg_blob_new(err);
    if (!out)
        return MTG_ENOMEM;
    int rc = MTG_OK;
    for (size_t i = 0; rc == MTG_OK && i < kb->n; i++) {
        const struct mtg_sedna_kb_entry *e = &kb->tasks[i];
        if (!e->id[0] || strchr(e->id, '/')) {
            rc = mtg_err_set(err, MTG_EINVAL, "sedna bundle: task id \"%s\" is empty or has a '/'", e->id);
            break;
        }
        struct mtg_blob *g = NULL;
        rc = mtg_blob_read_file(e->generator, NULL, &g, err);
        for (size_t j = 0; rc == MTG_OK && j < mtg_blob_count(g); j++) {
            const struct mtg_blob_tensor *t = mtg_blob_at(g, j);
            char name[MTG_BLOB_MAX_NAME + 1];
            if (snprintf(name, sizeof name, "%s/%s", e->id, t->name) >= (int)sizeof name)
                rc = mtg_err_set(err, MTG_ERANGE, "sedna bundle: name %s/%s is too long", e->id, t->name);
            else
                rc = mtg_blob_add(out, name, t->rank, t->dims, t->data, t->dtype, err);
        }
        mtg_blob_free(g);
        char name[MTG_BLOB_MAX_NAME + 1];
        float m[4];
        uint32_t dims[1] = {4};
        meta_put(m, e->steps, e->version);
        if (rc == MTG_OK && snprintf(name, sizeof name, "%s/" META, e->id) >= (int)sizeof name)
            rc = mtg_err_set(err, MTG_ERANGE, "sedna bundle: task id %s is too long", e->id);
        if (rc == MTG_OK)
            rc = mtg_blob_add(out, name, 1, dims, m, MTG_DTYPE_F32, err);
        if (rc != MTG_OK)
            mtg_err_wrap(err, "sedna bundle: task %s (%s)", e->id, e->generator);
    }
    if (rc == MTG_OK && kb->n == 0)
        rc = mtg_err_set(err, MTG_EINVAL, "sedna bundle: no tasks");
    if (rc == MTG_OK)
        rc = mtg_blob_write_file(out, path, MTG_BLOB_ZLIB, err);
    mtg_blob_free(out);
    return rc;
}

int mtg_sedna_is_bundle(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char magic[4];
    int ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "MTGB", 4) == 0;
    fclose(f);
    if (!ok)
        return 0;
    struct mtg_blob *b = NULL;
    if (mtg_blob_read_file(path, NULL, &b, NULL) != MTG_OK)
        return 0;
    const struct mtg_blob_tensor *t = mtg_blob_at(b, mtg_blob_count(b) ? mtg_blob_count(b) - 1 : 0);
    const char *slash = t ? strchr(t->name, '/') : NULL;
    ok = slash && strcmp(slash + 1, META) == 0;
    mtg_blob_free(b);
    return ok;
}

/* Appends one task to kb (grown by one); takes nothing, copies strings. */
static int kb_add(struct mtg_sedna_kb *kb, const char *id, const char *gen, long long steps,
                  unsigned long long version, struct mtg_err *err)
{
    struct mtg_sedna_kb_entry *grown = realloc(kb->tasks, (kb->n + 1) * sizeof *grown);
    if (!grown)
        return mtg_err_set(err, MTG_ENOMEM, "sedna bundle: out of memory");
    kb->tasks = grown;
    struct mtg_sedna_kb_entry *e = &kb->tasks[kb->n];
    memset(e, 0, sizeof *e);
    e->id = strdup(id);
    e->generator = strdup(gen);
    e->steps = steps;
    e->version = version;
    kb->n++; /* counted before the check: deinit frees what was copied */
    if (!e->id || !e->generator)
        return mtg_err_set(err, MTG_ENOMEM, "sedna bundle: out of memory");
    return MTG_OK;
}

int mtg_sedna_bundle_unpack(const char *path, const char *dir, struct mtg_sedna_kb *out,
                            struct mtg_err *err)
{
    memset(out, 0, sizeof *out);
    struct mtg_blob *b = NULL, *g = NULL;
    int rc = mtg_blob_read_file(path, NULL, &b, err);
    char task[MTG_BLOB_MAX_NAME + 1] = "";
    for (size_t i = 0; rc == MTG_OK && i < mtg_blob_count(b); i++) {
        const struct mtg_blob_tensor *t = mtg_blob_at(b, i);
        const char *slash = strchr(t->name, '/');
        if (!slash || slash == t->name) {
            rc = mtg_err_set(err, MTG_EFORMAT, "sedna bundle %s: tensor \"%s\" has no task prefix", path, t->name);
            break;
        }
        if (!g) {
            snprintf(task, sizeof task, "%.*s", (int)(slash - t->name), t->name);
            g = mtg_blob_new(err);
            if (!g) {
                rc = MTG_ENOMEM;
                break;
            }
        } else if (strncmp(t->name, task, strlen(task)) != 0 || t->name + strlen(task) != slash) {
            rc = mtg_err_set(err, MTG_EFORMAT, "sedna bundle %s: task %s has no " META " before %s", path,
                             task, t->name);
            break;
        }
        if (strcmp(slash + 1, META) != 0) {
            rc = mtg_blob_add(g, slash + 1, t->rank, t->dims, t->data, t->dtype, err);
            continue;
        }
        /* kb.meta closes a task: its generator goes to a file the server imports. */
        long long steps = 0;
        unsigned long long version = 0;
        char gen[2048];
        if (meta_get(t, &steps, &version) != 0)
            rc = mtg_err_set(err, MTG_EFORMAT, "sedna bundle %s: %s is not [4] counters", path, t->name);
        else if (mtg_blob_count(g) == 0)
            rc = mtg_err_set(err, MTG_EFORMAT, "sedna bundle %s: task %s has no tensors", path, task);
        else if (snprintf(gen, sizeof gen, "%s/%s.generator.blob", dir, task) >= (int)sizeof gen)
            rc = mtg_err_set(err, MTG_ERANGE, "sedna bundle: directory %s is too long", dir);
        for (size_t k = 0; rc == MTG_OK && k < out->n; k++)
            if (strcmp(out->tasks[k].id, task) == 0)
                rc = mtg_err_set(err, MTG_EFORMAT, "sedna bundle %s: task %s twice", path, task);
        if (rc == MTG_OK)
            rc = mtg_blob_write_file(g, gen, 0, err);
        if (rc == MTG_OK)
            rc = kb_add(out, task, gen, steps, version, err);
        mtg_blob_free(g);
        g = NULL;
    }
    if (rc == MTG_OK && g)
        rc = mtg_err_set(err, MTG_EFORMAT, "sedna bundle %s: task %s has no " META " (truncated?)", path, task);
    if (rc == MTG_OK && out->n == 0)
        rc = mtg_err_set(err, MTG_EFORMAT, "sedna bundle %s: no tasks", path);
    mtg_blob_free(g);
    mtg_blob_free(b);
    if (rc != MTG_OK)
        mtg_sedna_kb_deinit(out);
    return rc;
}
