#include "proto/spill.h"
#include "core/status.h"
#include "wire/blob.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int mtg_spill_path(char *buf, size_t cap, const char *dir, const char *task, struct mtg_err *err)
{
    /* Task ids become file names: refuse anything that could name a file outside dir. */
    if (!task[0] || task[0] == '.' || strchr(task, '/'))
        return mtg_err_set(err, MTG_EINVAL, "spill: task id \"%s\" cannot be a file name", task);
    int n = snprintf(buf, cap, "%s/%s.blob", dir, task);
    if (n < 0 || (size_t)n >= cap)
        return mtg_err_set(err, MTG_EINVAL, "spill: path for task \"%s\" under %s is too long", task, dir);
    return MTG_OK;
}

int mtg_spill_write(const char *dir, const char *task, const float *g, size_t ng, const float *d, size_t nd,
                    struct mtg_err *err)
{
    char path[1024];
    int rc = mtg_spill_path(path, sizeof path, dir, task, err);
    if (rc != MTG_OK)
        return rc;
    if (ng == 0 || nd == 0 || ng > UINT32_MAX || nd > UINT32_MAX)
        return mtg_err_set(err, MTG_EINVAL, "spill: task \"%s\" has %zu+%zu parameters", task, ng, nd);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return mtg_err_set(err, MTG_EIO, "spill: mkdir %s: %s", dir, strerror(errno));
    struct mtg_blob *b = mtg_blob_new(err);
    if (!b)
        return err ? err->code : MTG_ENOMEM;
    uint32_t dg = (uint32_t)ng, dd = (uint32_t)nd;
    /* Borrowed tensors: spilling must not first double the very memory it is trying to free. */
    rc = mtg_blob_add_ref(b, "g", 1, &dg, g, MTG_DTYPE_F32, err);
    if (rc == MTG_OK)
        rc = mtg_blob_add_ref(b, "d", 1, &dd, d, MTG_DTYPE_F32, err);
    if (rc == MTG_OK)
        rc = mtg_blob_write_file(b, path, 0, err);
    mtg_blob_free(b);
    return rc;
}

static float *take(const struct mtg_blob *b, const char *name, size_t n, const char *path, struct mtg_err *err)
{
    const struct mtg_blob_tensor *t = mtg_blob_find(b, name);
    if (!t || t->n != n) {
        mtg_err_set(err, MTG_EFORMAT, "spill: %s: tensor \"%s\" missing or has %zu values, want %zu", path, name,
                    t ? t->n : 0, n);
        return NULL;
    }
    float *p = malloc(n * sizeof(float));
    if (!p) {
        mtg_err_set(err, MTG_ENOMEM, "spill: %s: out of memory", path);
        return NULL;
    }
    memcpy(p, t->data, n * sizeof(float));
    return p;
}

int mtg_spill_read(const char *dir, const char *task, float **g, size_t ng, float **d, size_t nd,
                   struct mtg_err *err)
{
    *g = NULL;
    *d = NULL;
    char path[1024];
    int rc = mtg_spill_path(path, sizeof path, dir, task, err);
    if (rc != MTG_OK)
        return rc;
    struct mtg_blob *b = NULL;
    rc = mtg_blob_read_file(path, NULL, &b, err);
    if (rc != MTG_OK)
        return rc;
    float *pg = take(b, "g", ng, path, err);
    float *pd = pg ? take(b, "d", nd, path, err) : NULL;
    mtg_blob_free(b);
    if (!pg || !pd) {
        free(pg);
        return err ? err->code : MTG_EFORMAT;
    }
    *g = pg;
    *d = pd;
    return MTG_OK;
}
