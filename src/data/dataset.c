#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/digits.h"
#include "data/fashion.h"
#include "data/ring.h"

struct mtg_dataset {
    int n;
    int dim;
    int n_classes;
    float *x;    /* [n, dim] */
    int *labels; /* [n] */
};

/* Allocates an empty dataset with room for n rows; arrays are zeroed. */
static int dataset_alloc(int n, int dim, int n_classes, struct mtg_dataset **out,
                         struct mtg_err *err)
{
    *out = NULL;
    if (n < 0 || n > MTG_DATA_MAX_ROWS)
        return mtg_err_set(err, MTG_ERANGE, "dataset: %d rows outside [0, %d]", n,
                           MTG_DATA_MAX_ROWS);
    if (dim < 1 || dim > MTG_DATA_MAX_DIM)
        return mtg_err_set(err, MTG_ERANGE, "dataset: dim %d outside [1, %d]", dim,
                           MTG_DATA_MAX_DIM);
    if (n_classes < 1 || n_classes > MTG_DATA_MAX_CLASSES)
        return mtg_err_set(err, MTG_ERANGE, "dataset: %d classes outside [1, %d]", n_classes,
                           MTG_DATA_MAX_CLASSES);
    struct mtg_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        goto fail;
    ds->n = n;
    ds->dim = dim;
    ds->n_classes = n_classes;
    /* calloc(0) may return NULL; one spare row keeps every pointer valid. */
    ds->x = calloc((size_t)n * (size_t)dim + (size_t)dim, sizeof *ds->x);
    ds->labels = calloc((size_t)n + 1, sizeof *ds->labels);
    if (!ds->x || !ds->labels)
        goto fail;
    *out = ds;
    return MTG_OK;
fail:
    mtg_data_free(ds);
    return mtg_err_set(err, MTG_ENOMEM, "dataset: out of memory for %d x %d floats", n, dim);
}

int mtg_data_from_array(const float *x, const int *labels, int n, int dim, int n_classes,
                        struct mtg_dataset **out, struct mtg_err *err)
{
    if (!out || (n > 0 && !x))
        return mtg_err_set(err, MTG_EINVAL, "dataset: NULL argument");
    *out = NULL;
    if (labels) {
        for (int i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] >= n_classes)
                return mtg_err_set(err, MTG_ERANGE, "dataset: label %d of row %d outside [0, %d)",
                                   labels[i], i, n_classes);
    }
    struct mtg_dataset *ds;
    int rc = dataset_alloc(n, dim, n_classes, &ds, err);
    if (rc != MTG_OK)
        return rc;
    if (n > 0) {
        memcpy(ds->x, x, (size_t)n * (size_t)dim * sizeof *ds->x);
        if (labels)
            memcpy(ds->labels, labels, (size_t)n * sizeof *ds->labels);
    }
    *out = ds;
    return MTG_OK;
}

int mtg_data_from_u8(const unsigned char *px, const unsigned char *labels, int n, int dim,
                     int n_classes, float scale, struct mtg_dataset **out, struct mtg_err *err)
{
    if (!out || (n > 0 && !px))
        return mtg_err_set(err, MTG_EINVAL, "dataset: NULL argument");
    *out = NULL;
    if (!(scale > 0))
        return mtg_err_set(err, MTG_EINVAL, "dataset: scale %g, need > 0", (double)scale);
    if (labels) {
        for (int i = 0; i < n; i++)
            if (labels[i] >= n_classes)
                return mtg_err_set(err, MTG_ERANGE, "dataset: label %d of row %d outside [0, %d)",
                                   labels[i], i, n_classes);
    }
    struct mtg_dataset *ds;
    int rc = dataset_alloc(n, dim, n_classes, &ds, err);
    if (rc != MTG_OK)
        return rc;
    /* A table, not px * (1 / scale): each value is the correctly rounded quotient (255/255 == 1). */
    float table[256];
    for (int v = 0; v < 256; v++)
        table[v] = (float)v / scale;
    size_t total = (size_t)n * (size_t)dim;
    for (size_t k = 0; k < total; k++)
        ds->x[k] = table[px[k]];
    for (int i = 0; labels && i < n; i++)
        ds->labels[i] = labels[i];
    *out = ds;
    return MTG_OK;
}

void mtg_data_free(struct mtg_dataset *ds)
{
    if (!ds)
        return;
    free(ds->x);
    free(ds->labels);
    free(ds);
}

int mtg_data_n(const struct mtg_dataset *ds) { return ds->n; }
int mtg_data_dim(const struct mtg_dataset *ds) { return ds->dim; }
int mtg_data_n_classes(const struct mtg_dataset *ds) { return ds->n_classes; }
const float *mtg_data_x(const struct mtg_dataset *ds) { return ds->x; }
const int *mtg_data_labels(const struct mtg_dataset *ds) { return ds->labels; }

const float *mtg_data_row(const struct mtg_dataset *ds, int i)
{
    return ds->x + (size_t)i * (size_t)ds->dim;
}

int mtg_data_class_count(const struct mtg_dataset *ds, int label)
{
    int c = 0;
    for (int i = 0; i < ds->n; i++)
        c += ds->labels[i] == label;
    return c;
}

int mtg_data_subset(const struct mtg_dataset *ds, const int *idx, int n,
                    struct mtg_dataset **out, struct mtg_err *err)
{
    if (!ds || !out || (n > 0 && !idx))
        return mtg_err_set(err, MTG_EINVAL, "dataset subset: NULL argument");
    *out = NULL;
    for (int i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= ds->n)
            return mtg_err_set(err, MTG_ERANGE, "dataset subset: index %d (position %d) outside [0, %d)",
                               idx[i], i, ds->n);
    struct mtg_dataset *sub;
    int rc = dataset_alloc(n, ds->dim, ds->n_classes, &sub, err);
    if (rc != MTG_OK)
        return rc;
    size_t row = (size_t)ds->dim * sizeof *ds->x;
    for (int i = 0; i < n; i++) {
        memcpy(sub->x + (size_t)i * (size_t)ds->dim, mtg_data_row(ds, idx[i]), row);
        sub->labels[i] = ds->labels[idx[i]];
    }
    *out = sub;
    return MTG_OK;
}

int mtg_data_class_indices(const struct mtg_dataset *ds, int label, int **idx, int *n,
                           struct mtg_err *err)
{
    if (!ds || !idx || !n)
        return mtg_err_set(err, MTG_EINVAL, "dataset class indices: NULL argument");
    *idx = NULL;
    *n = 0;
    if (label < 0 || label >= ds->n_classes)
        return mtg_err_set(err, MTG_ERANGE, "dataset: class %d outside [0, %d)", label,
                           ds->n_classes);
    int c = mtg_data_class_count(ds, label);
    if (c == 0)
        return MTG_OK;
    int *v = malloc((size_t)c * sizeof *v);
    if (!v)
        return mtg_err_set(err, MTG_ENOMEM, "dataset: out of memory for %d indices", c);
    int k = 0;
    for (int i = 0; i < ds->n; i++)
        if (ds->labels[i] == label)
            v[k++] = i;
    *idx = v;
    *n = c;
    return MTG_OK;
}

int mtg_data_class_subset(const struct mtg_dataset *ds, int label, struct mtg_dataset **out,
                          struct mtg_err *err)
{
    int *idx = NULL;
    int n = 0;
    if (out)
        *out = NULL;
    int rc = mtg_data_class_indices(ds, label, &idx, &n, err);
    if (rc != MTG_OK)
        return rc;
    rc = mtg_data_subset(ds, idx, n, out, err);
    free(idx);
    return rc;
}

int mtg_data_split(const struct mtg_dataset *ds, int every, struct mtg_dataset **train,
                   struct mtg_dataset **heldout, struct mtg_err *err)
{
    int rc = MTG_OK;
    int *seen = NULL, *tr_idx = NULL, *ho_idx = NULL;
    if (!ds || !train || !heldout)
        return mtg_err_set(err, MTG_EINVAL, "dataset split: NULL argument");
    *train = NULL;
    *heldout = NULL;
    if (every < 2)
        return mtg_err_set(err, MTG_EINVAL, "dataset split: every=%d, need >= 2", every);
    seen = calloc((size_t)ds->n_classes, sizeof *seen);
    tr_idx = malloc(((size_t)ds->n + 1) * sizeof *tr_idx);
    ho_idx = malloc(((size_t)ds->n + 1) * sizeof *ho_idx);
    if (!seen || !tr_idx || !ho_idx) {
        rc = mtg_err_set(err, MTG_ENOMEM, "dataset split: out of memory");
        goto fail;
    }
    int n_tr = 0, n_ho = 0;
    for (int i = 0; i < ds->n; i++) {
        int k = seen[ds->labels[i]]++;
        if (k % every == every - 1)
            ho_idx[n_ho++] = i;
        else
            tr_idx[n_tr++] = i;
    }
    rc = mtg_data_subset(ds, tr_idx, n_tr, train, err);
    if (rc != MTG_OK)
        goto fail;
    rc = mtg_data_subset(ds, ho_idx, n_ho, heldout, err);
    if (rc != MTG_OK)
        goto fail;
    free(seen);
    free(tr_idx);
    free(ho_idx);
    return MTG_OK;
fail:
    mtg_data_free(*train);
    *train = NULL;
    free(seen);
    free(tr_idx);
    free(ho_idx);
    return rc;
}

int mtg_data_first_per_class(const struct mtg_dataset *ds, int limit, struct mtg_dataset **out,
                             struct mtg_err *err)
{
    if (!ds || !out)
        return mtg_err_set(err, MTG_EINVAL, "dataset first per class: NULL argument");
    *out = NULL;
    if (limit < 0)
        return mtg_err_set(err, MTG_EINVAL, "dataset: per-class limit %d, need >= 0", limit);
    int *seen = calloc((size_t)ds->n_classes, sizeof *seen);
    int *idx = malloc(((size_t)ds->n + 1) * sizeof *idx);
    int rc = MTG_OK, n = 0;
    if (!seen || !idx) {
        rc = mtg_err_set(err, MTG_ENOMEM, "dataset first per class: out of memory");
        goto done;
    }
    for (int i = 0; i < ds->n; i++)
        if (limit == 0 || seen[ds->labels[i]]++ < limit)
            idx[n++] = i;
    rc = mtg_data_subset(ds, idx, n, out, err);
done:
    free(seen);
    free(idx);
    return rc;
}

static const struct mtg_data_kind_info kinds[] = {
    [MTG_DATA_KIND_DIGITS] = {"digits", "digit", MTG_DATA_DIGITS_SIDE, MTG_DATA_DIGITS_DIM,
                              MTG_DATA_DIGITS_CLASSES},
    [MTG_DATA_KIND_RING] = {"ring", "ring", 0, MTG_DATA_RING_DIM, 1},
    [MTG_DATA_KIND_FASHION] = {"fashion-mnist", MTG_DATA_FASHION_TASK_PREFIX,
                               MTG_DATA_FASHION_SIDE, MTG_DATA_FASHION_DIM,
                               MTG_DATA_FASHION_CLASSES},
};
#define N_KINDS ((int)(sizeof kinds / sizeof kinds[0]))

const struct mtg_data_kind_info *mtg_data_kind_info(int kind)
{
    return kind >= 0 && kind < N_KINDS ? &kinds[kind] : NULL;
}

int mtg_data_kind_task_label(int kind, const char *task_id)
{
    const struct mtg_data_kind_info *k = mtg_data_kind_info(kind);
    if (!k || k->side == 0 || !task_id)
        return -1;
    size_t p = strlen(k->task_prefix);
    if (strncmp(task_id, k->task_prefix, p) != 0 || task_id[p] != '-')
        return -1;
    const char *d = task_id + p + 1;
    /* Plain decimal, no sign, no leading zero: "digit-03" is not digit-3's id. */
    if (d[0] < '0' || d[0] > '9' || (d[0] == '0' && d[1] != '\0'))
        return -1;
    long c = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9' || c > MTG_DATA_MAX_CLASSES)
            return -1;
        c = c * 10 + (*d - '0');
    }
    return c < k->n_classes ? (int)c : -1;
}

int mtg_data_kind_task_id(int kind, int label, char *buf, size_t n)
{
    const struct mtg_data_kind_info *k = mtg_data_kind_info(kind);
    if (!k || k->side == 0 || !buf || label < 0 || label >= k->n_classes)
        return MTG_ERANGE;
    int w = snprintf(buf, n, "%s-%d", k->task_prefix, label);
    return w < 0 || (size_t)w >= n ? MTG_ERANGE : MTG_OK;
}

int mtg_data_kind_parse(const char *name, int *kind, struct mtg_err *err)
{
    for (int k = 0; name && kind && k < N_KINDS; k++)
        if (strcmp(name, kinds[k].name) == 0) {
            *kind = k;
            return MTG_OK;
        }
    return mtg_err_set(err, MTG_EINVAL,
                       "dataset \"%s\": unknown, expected digits, ring or fashion-mnist",
                       name ? name : "(null)");
}

/* digits: the held-out rule of mtg_data_split, so every process agrees on the halves. */
static int load_digits_split(const char *path, int split, struct mtg_dataset **out,
                             struct mtg_err *err)
{
    struct mtg_dataset *all = NULL, *train = NULL, *held = NULL;
    if (!path || !path[0])
        return mtg_err_set(err, MTG_EINVAL, "digits: no file given (data.path)");
    int rc = mtg_data_digits_load(path, &all, err);
    if (rc == MTG_OK && split == MTG_DATA_ALL) {
        *out = all;
        return MTG_OK;
    }
    if (rc == MTG_OK)
        rc = mtg_data_split(all, MTG_DATA_HELDOUT_EVERY, &train, &held, err);
    mtg_data_free(all);
    if (rc != MTG_OK)
        return rc;
    *out = split == MTG_DATA_TRAIN ? train : held;
    mtg_data_free(split == MTG_DATA_TRAIN ? held : train);
    return MTG_OK;
}

int mtg_data_load(int kind, const char *path, int split, int limit_per_class,
                  struct mtg_dataset **out, struct mtg_err *err)
{
    if (!out)
        return mtg_err_set(err, MTG_EINVAL, "dataset load: NULL argument");
    *out = NULL;
    if (split != MTG_DATA_TRAIN && split != MTG_DATA_TEST && split != MTG_DATA_ALL)
        return mtg_err_set(err, MTG_EINVAL, "dataset load: split %d is neither train, test nor all",
                           split);
    if (split == MTG_DATA_ALL && kind != MTG_DATA_KIND_DIGITS)
        return mtg_err_set(err, MTG_EINVAL, "dataset load: only digits files can be read whole "
                           "(data.holdout false)");
    if (limit_per_class < 0)
        return mtg_err_set(err, MTG_EINVAL, "dataset: per-class limit %d, need >= 0",
                           limit_per_class);
    if (kind == MTG_DATA_KIND_FASHION)
        return mtg_data_fashion_load(path, split, limit_per_class, out, err);
    if (kind != MTG_DATA_KIND_DIGITS)
        return mtg_err_set(err, MTG_EINVAL, "dataset load: kind %d is not a file-backed image set",
                           kind);
    struct mtg_dataset *ds = NULL;
    int rc = load_digits_split(path, split, &ds, err);
    if (rc != MTG_OK || limit_per_class == 0) {
        *out = ds;
        return rc;
    }
    rc = mtg_data_first_per_class(ds, limit_per_class, out, err);
    mtg_data_free(ds);
    return rc;
}
